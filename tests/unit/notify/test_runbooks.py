"""Every notification links its runbook, and every runbook is there and complete.

The mapping is ``include/notify/runbooks.py``; the files are ``docs/runbooks/*.md`` (their
``bash`` blocks run in tests/e2e, see tests/fixtures/runbooks.py ``RUN_BY``).
"""

from __future__ import annotations

import ast
import json
import re
from types import SimpleNamespace

import pytest

from include.config.notifications import NOTIFY_EVENTS
from include.errors import DataValidationError, RegistryAuditMismatch, ScoringInputError, StorageUnavailable
from include.monitor.notification import monitor_notification
from include.notify.delivery import Notification, send
from include.notify.runbooks import RUNBOOK_DIR, RUNBOOKS, Alert, alert_for_error, runbook_link
from include.score.messages import scoring_notification
from mlops_airflow.notifiers.mlops import failure_note
from tests.fixtures.runbooks import (
    INDEX,
    PLACEHOLDERS,
    PROJECT,
    RUN_BY,
    RUNBOOKS_DIR,
    SECTIONS,
    blocks,
    placeholders,
    runbook_files,
)
from tests.unit.conftest import small_churn_config
from tests.unit.notify.test_events_and_links import _producers

ALERTS = [value for key, value in vars(Alert).items() if not key.startswith("_")]


@pytest.fixture(autouse=True)
def repo_links(monkeypatch):
    monkeypatch.delenv("MLOPS_RUNBOOK_BASE_URL", raising=False)


# -- the mapping and the files --------------------------------------------------------------------
def test_every_event_and_alert_has_a_runbook_file():
    for key in [*NOTIFY_EVENTS, *ALERTS]:
        assert key in RUNBOOKS, f"{key!r} has no runbook in include/notify/runbooks.py RUNBOOKS"
        assert (PROJECT / RUNBOOK_DIR / RUNBOOKS[key]).is_file(), f"{key!r}: {RUNBOOKS[key]} is not in {RUNBOOK_DIR}"
        assert (PROJECT / runbook_link(key)).is_file()  # the default link is the path in the repo


def test_every_runbook_file_is_mapped_indexed_and_run_by_a_test():
    files = {p.name for p in runbook_files()}
    assert files == set(RUNBOOKS.values()), "a runbook file that no event or alert links (or the reverse)"
    index = (RUNBOOKS_DIR / INDEX).read_text()
    assert {name for name in re.findall(r"\]\(([a-z-]+\.md)\)", index)} == files, "docs/runbooks/README.md table"
    run = [name for names in RUN_BY.values() for name in names]
    assert sorted(run) == sorted(files), "tests/fixtures/runbooks.py RUN_BY: each runbook run by exactly one e2e test"
    for module in RUN_BY:
        assert f'RUN_BY["{module}"]' in (PROJECT / module).read_text(), f"{module} does not run its runbooks"


@pytest.mark.parametrize("path", runbook_files(), ids=lambda p: p.name)
def test_a_runbook_has_the_four_sections_and_runnable_commands(path):
    text = path.read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == list(SECTIONS), f"{path.name}: sections {headings}"
    assert text.startswith("# ") and "Notification:" in text.split("## ")[0], f"{path.name}: title and notification"
    sections = dict(zip(SECTIONS, re.split(r"^## .*$", text, flags=re.M)[1:], strict=True))
    for heading in ("## How to check", "## How to verify"):
        assert blocks(sections[heading]), f"{path.name}: {heading} has no bash block"
    commands = "\n".join(blocks(text) + blocks(text, "console"))
    assert placeholders(commands) <= set(PLACEHOLDERS), f"{path.name}: unknown placeholder"
    assert not set(re.findall(r"```(\w*)\n", text)) - {"bash", "console", ""}, "bash (run) or console (shown)"


@pytest.mark.parametrize("path", [*runbook_files(), RUNBOOKS_DIR / INDEX], ids=lambda p: p.name)
def test_every_link_of_a_runbook_resolves(path):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
        if not target.startswith("http"):
            assert (path.parent / target).exists(), f"{path.name}: link {target} goes nowhere"


def _dag_params(pipeline: str) -> set[str]:
    """The Params of ``dags/<pipeline>.py``: the keys of ``mlops_dag(..., params={...})``."""
    tree = ast.parse((PROJECT / "dags" / f"{pipeline}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "mlops_dag":
            for keyword in node.keywords:
                if keyword.arg == "params" and isinstance(keyword.value, ast.Dict):
                    return {k.value for k in keyword.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError(f"dags/{pipeline}.py: no mlops_dag(params=...)")


@pytest.mark.parametrize("path", runbook_files(), ids=lambda p: p.name)
def test_dag_commands_name_a_dag_and_its_params(path):
    """``scripts/airflow dags test <pipeline>_<model> --conf '{...}'``: the pipeline exists and
    the conf's keys are its Params (the ``console`` blocks are not run: this keeps them true)."""
    text = path.read_text()
    commands = re.findall(r"scripts/airflow dags (?:test|trigger) (\S+)(?: --conf '([^']*)')?", text)
    for dag_id, conf in commands:
        pipeline = re.sub(r"_(<model>|<dag_id>|churn)$", "", dag_id)
        if pipeline == "<dag_id>":
            continue
        assert (PROJECT / "dags" / f"{pipeline}.py").is_file(), f"{path.name}: no DAG {dag_id}"
        unknown = set(json.loads(conf or "{}")) - _dag_params(pipeline)
        assert not unknown, f"{path.name}: {dag_id} has no Params {sorted(unknown)}"


# -- every notification links its runbook -----------------------------------------------------------
EXPECTED = {
    "promotion": "promotion.md",
    "refused (criteria)": "promotion-refused.md",
    "refused (approval)": "promotion-refused.md",
    "info (no challenger)": "promotion-refused.md",
    "rollback (health)": "health-check-rollback.md",
    "rollback (requested)": "rollback.md",
    "retrain": "gate-failure.md",
    "monitor": "drift.md",
    "score": "success.md",
    "failure callback": "task-failure.md",
}


def _monitor_note(config, *, failed=False, triggers=()):
    quality = {"rows": 1, "failed": failed, "summary": "", "dates": [], "issues": []}
    if failed:
        quality["issues"] = [
            {
                "check": "missing_column",
                "column": "tenure",
                "severity": "error",
                "value": None,
                "threshold": None,
                "detail": "column tenure is missing",
            }
        ]
    decision = {"retrain": bool(triggers), "reasons": [{"trigger": t, "detail": t} for t in triggers], "summary": "s"}
    return monitor_notification(config, quality, None, decision, {"summary": "file:///s.json", "mlflow_run_id": "m"})


def _failure_of(error):
    context = {
        "dag": SimpleNamespace(dag_id="batch_score_churn"),
        "run_id": "r",
        "ti": SimpleNamespace(task_id="t", try_number=1),
        "exception": error,
    }
    return failure_note("churn", "failure", context)


def test_every_producer_links_the_runbook_of_what_it_reports(tmp_path):
    config = small_churn_config(
        replace={"notifications": [{"type": "file", "path": str(tmp_path / "n.jsonl"), "events": list(NOTIFY_EVENTS)}]}
    )
    notes = dict(_producers(config))
    pinned = {"champion": {"name": "churn", "version": "3", "run_id": "r"}, "challenger": None, "dates": []}
    failed_day = {
        "dates": {},
        "failed": {"2026-02-02": {"stage": "plan", "reasons": ["not committed"]}},
        "dry_run": False,
    }
    notes |= {
        "monitor (quality)": _monitor_note(config, failed=True),
        "monitor (performance drop)": _monitor_note(config, triggers=("dataset_drift", "performance_drop")),
        "monitor (new labels)": _monitor_note(config, triggers=("new_labels",)),
        "score (failed day)": scoring_notification("churn", pinned, failed_day),
        "callback (mismatch)": _failure_of(RegistryAuditMismatch("@champion points at v2")),
        "callback (validation)": _failure_of(DataValidationError("3 expectations failed")),
        "callback (scoring input)": _failure_of(ScoringInputError("2026-02-02 failed at plan")),
        "callback (outage)": _failure_of(StorageUnavailable("s3 down")),
    }
    expected = EXPECTED | {
        "monitor (quality)": "data-quality-failure.md",
        "monitor (performance drop)": "performance-drop.md",
        "monitor (new labels)": "drift.md",
        "score (failed day)": "failed-scoring-day.md",
        "callback (mismatch)": "registry-audit-mismatch.md",
        "callback (validation)": "data-quality-failure.md",
        "callback (scoring input)": "failed-scoring-day.md",
        "callback (outage)": "task-failure.md",
    }
    assert set(notes) == set(expected)
    for name, note in notes.items():
        link = f"{RUNBOOK_DIR}/{expected[name]}"
        assert note.runbook == link, name
        assert note.text().splitlines()[-1] == f"Runbook: {link}", name
        send(config, note)
        assert json.loads((tmp_path / "n.jsonl").read_text().splitlines()[-1])["runbook"] == link, name


def test_the_link_base_is_configurable(monkeypatch):
    monkeypatch.setenv("MLOPS_RUNBOOK_BASE_URL", "https://git.example.com/mlops/-/blob/main/docs/runbooks/")
    note = Notification(model="churn", event="drift", subject="s", alert=Alert.PERFORMANCE_DROP)
    assert note.runbook == "https://git.example.com/mlops/-/blob/main/docs/runbooks/performance-drop.md"
    assert Notification(model="churn", event="drift", subject="s", runbook="kept").runbook == "kept"


def test_an_error_picks_its_alert_by_class():
    assert alert_for_error(RegistryAuditMismatch("x")) == Alert.REGISTRY_AUDIT_MISMATCH
    assert alert_for_error(DataValidationError("x")) == Alert.DATA_QUALITY
    assert alert_for_error(ScoringInputError("x")) == Alert.FAILED_SCORING_DAY
    assert alert_for_error(ValueError("x")) == "" and alert_for_error(None) == ""
