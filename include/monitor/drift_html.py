"""The drift report's HTML around evidently's: a ``<title>`` naming the model and day, and the
project's own verdicts on top (column, test, threshold, statistic, verdict), with evidently run
with the same per-column tests and thresholds those verdicts used.

The verdicts (``include.monitor.drift.detect``) run on the whole window against the champion's
reference; evidently's report runs on samples (``monitoring.report_sample_rows``), where its
automatic choice of test can differ (it picks by the reference's row count), so each column's
test and threshold are passed to it explicitly (``DataDriftPreset(per_column_method=...,
per_column_threshold=...)``). A test evidently does not know (a project's own, registered in
``include/monitor/drift/stattests/``) is left to evidently's choice there; the table above names
the one that decided.
"""

from __future__ import annotations

import html
from typing import Any

from include.config import ModelConfig
from include.monitor.payloads import DriftResult

_EVIDENTLY_TYPES = {"num": "num", "cat": "cat"}  # our column type -> evidently ColumnType value

STYLE = (
    "<style>.mlops-verdicts{font-family:system-ui,sans-serif;max-width:1100px;margin:1em auto;padding:0 1em}"
    ".mlops-verdicts table{border-collapse:collapse;max-width:100%}"
    ".mlops-verdicts th,.mlops-verdicts td{border:1px solid #d0d7de;padding:2px 8px;text-align:left;"
    "overflow-wrap:anywhere}.mlops-verdicts th{background:#f6f8fa}.mlops-drifted{color:#b42318;font-weight:600}"
    "</style>"
)


def report_title(config: ModelConfig, ds: str) -> str:
    return f"Drift report: {config.name}, ds={ds}"


def evidently_test_options(drift: DriftResult | None) -> dict[str, dict[str, Any]]:
    """``per_column_method`` and ``per_column_threshold`` for evidently's ``DataDriftPreset``:
    each column's test and threshold as the verdict used them (tests evidently knows only)."""
    methods: dict[str, str] = {}
    thresholds: dict[str, float] = {}
    if not drift:
        return {"per_column_method": methods, "per_column_threshold": thresholds}
    known = _evidently_tests()
    for column in drift["features"]["columns"]:
        if _EVIDENTLY_TYPES.get(column["type"]) in known.get(column["stattest"], ()):
            methods[column["column"]] = column["stattest"]
            thresholds[column["column"]] = float(column["threshold"])
    return {"per_column_method": methods, "per_column_threshold": thresholds}


def _evidently_tests() -> dict[str, set[str]]:
    """evidently's registered tests: name -> column types (``num``, ``cat``, ``text``)."""
    import evidently.legacy.calculations.stattests  # noqa: F401 (registers the built-in tests)
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests

    return {name: {str(getattr(t, "value", t)) for t in types} for name, types in _registered_stat_tests.items()}


def verdicts_html(config: ModelConfig, ds: str, drift: DriftResult | None, sample_rows: int) -> str:
    """The project's section above evidently's report: what decided each column."""
    parts = [f"<section class='mlops-verdicts'><h1>{html.escape(report_title(config, ds))}</h1>"]
    if not drift:
        parts.append("<p>No drift verdicts for this day (the drift check did not run).</p></section>")
        return "".join(parts)
    features = drift["features"]
    dataset = "drifted" if features["dataset_drift"] else "not drifted"
    parts.append(
        f"<p>Champion v{html.escape(str(drift['champion_version']))}, window {html.escape(drift['window'])}: "
        f"{features['n_drifted']} of {features['n_columns']} columns drifted "
        f"({features['share_drifted']:.0%}; the dataset counts as drifted at {features['drift_share']:.0%}): "
        f"<b>{dataset}</b>. These verdicts ran on every row of the window; the evidently report below "
        f"runs on samples of up to {sample_rows} rows with the same test and threshold per column.</p>"
    )
    header = ["column", "type", "test", "threshold", "statistic", "kind", "verdict", "rows (ref / cur)"]
    rows = []
    for c in features["columns"]:
        verdict = "<span class='mlops-drifted'>drifted</span>" if c["drifted"] else "not drifted"
        cells = [
            html.escape(c["column"]),
            html.escape(c["type"]),
            html.escape(c["stattest"]),
            f"{c['threshold']:g}",
            f"{c['score']:.4g}",
            html.escape(c["kind"]),
            verdict,
            f"{c['n_reference']} / {c['n_current']}",
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"
    parts.append(f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></section>")
    return "".join(parts)


def wrap_report(evidently_html: str, config: ModelConfig, ds: str, drift: DriftResult | None, sample_rows: int) -> str:
    """evidently's page with a ``<title>`` and the verdicts section at the top of its body."""
    title = f"<title>{html.escape(report_title(config, ds))}</title>{STYLE}"
    page = evidently_html.replace("<head>", "<head>" + title, 1)
    return page.replace("<body>", "<body>" + verdicts_html(config, ds, drift, sample_rows), 1)
