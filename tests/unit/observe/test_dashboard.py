"""The Grafana dashboard (docker/grafana/dashboards/model-health.json) uses only the metrics the
pipelines push (include/observe/names.py), and shows every one of them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from include.observe.names import EMITTED

DASHBOARD = Path(__file__).resolve().parents[3] / "docker" / "grafana" / "dashboards" / "model-health.json"
# PromQL words that are not metric names: aggregation modifiers, operators, keywords.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
# Emitted metrics the dashboard need not show (none today: each would need its reason here).
NOT_ON_DASHBOARD: dict[str, str] = {}


def expressions(node: Any) -> Iterator[str]:
    """Every PromQL of the dashboard: panel targets' ``expr`` and template variables' queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            # A variable's query is PromQL when it calls something (label_values(...)).
            if isinstance(value, str) and (key == "expr" or (key == "query" and "(" in value)):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from expressions(value)


def metric_names(expr: str) -> set[str]:
    """The metric identifiers of one PromQL expression (label matchers, grouping labels,
    strings, ranges, variables, functions and keywords removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery durations
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\$\w+|\$\{[^}]*\}", "", text)  # Grafana variables
    found = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name in KEYWORDS:
            continue
        found.add(name)
    return found


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def test_the_parser_finds_metric_names_and_nothing_else() -> None:
    expr = 'time() - max by (model, version) (rate(a_total{model=~"$model",x="y"}[5m]) * 1000) / on(job) b_c'
    assert metric_names(expr) == {"a_total", "b_c"}
    # label_values' second argument is a label name: test_dashboard_uses_only_emitted_metrics drops it.
    assert metric_names("label_values(mlops_last_success_timestamp_seconds, model)") == {
        "mlops_last_success_timestamp_seconds",
        "model",
    }


def test_dashboard_uses_only_emitted_metrics(dashboard) -> None:
    exprs = list(expressions(dashboard))
    assert len(exprs) >= 15, "the dashboard's queries were not found"
    for expr in exprs:
        names = metric_names(expr)
        if expr.startswith("label_values("):
            names -= {re.fullmatch(r"label_values\(\s*[\w:]+\s*,\s*(\w+)\s*\)", expr).group(1)}  # type: ignore[union-attr]
        unknown = names - EMITTED
        assert names, f"no metric in {expr!r}"
        assert not unknown, f"{expr!r} uses {sorted(unknown)}, which no pipeline pushes (include/observe/names.py)"


def test_every_emitted_metric_is_on_the_dashboard(dashboard) -> None:
    shown = set().union(*(metric_names(e) for e in expressions(dashboard)))
    missing = EMITTED - shown - NOT_ON_DASHBOARD.keys()
    assert not missing, (
        f"pushed but not on the dashboard (add a panel or a reason to NOT_ON_DASHBOARD): {sorted(missing)}"
    )
    assert not NOT_ON_DASHBOARD.keys() & shown, "on the dashboard now: remove it from NOT_ON_DASHBOARD"


def test_every_panel_has_a_query_and_a_unique_id(dashboard) -> None:
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert all(p.get("targets") for p in panels)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
