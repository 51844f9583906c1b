"""The monitor notification: event, subject and body from the structured results."""

from __future__ import annotations

import json

import pytest

from include.monitor.notification import monitor_notification, notify_outcome

PATHS = {"summary": "file:///r/summary.json", "mlflow_run_id": "m"}
WITH_HTML = {**PATHS, "html": "file:///r/drift_report.html"}


def quality(*issues: tuple[str, str]) -> dict:
    listed = [
        {"check": "c", "column": None, "severity": s, "value": None, "threshold": None, "detail": d} for s, d in issues
    ]
    failed = any(s == "error" for s, _ in issues)
    # The summary is for people: the subject must not depend on its layout.
    return {"rows": 1, "failed": failed, "issues": listed, "summary": "whatever\nlayout", "dates": []}


def decision(retrain: bool, *triggers: str) -> dict:
    reasons = [{"trigger": t, "detail": f"{t} fired"} for t in triggers]
    summary = "; ".join(r["detail"] for r in reasons) or "no retrain trigger fired"
    return {"retrain": retrain, "reasons": reasons, "blocked_by": None, "summary": summary}


def drift(n_drifted: int) -> dict:
    return {"features": {"n_drifted": n_drifted}}


@pytest.fixture
def config():
    from tests.unit.conftest import small_churn_config

    return small_churn_config()


def test_failed_quality_names_the_first_error(config) -> None:
    q = quality(("warning", "column 'a' is 30.0% null"), ("error", "column 'contract_type' is missing"))
    note = monitor_notification(config, q, None, decision(False), PATHS)  # type: ignore[arg-type]
    assert note.event == "failure"
    assert note.subject == "data quality failed: [error] column 'contract_type' is missing"
    assert note.body == "no retrain trigger fired\nreport: file:///r/summary.json"


def test_retrain_drift_and_quiet_days(config) -> None:
    ok = quality(("warning", "w"))
    retrain = monitor_notification(config, ok, drift(3), decision(True, "performance_drop", "manual"), WITH_HTML)  # type: ignore[arg-type]
    assert (retrain.event, retrain.subject) == ("drift", "retrain triggered (performance_drop, manual)")
    assert retrain.body.endswith("report: file:///r/drift_report.html")
    assert retrain.fields["decision"]["retrain"] is True
    drifted = monitor_notification(config, ok, drift(2), decision(False), WITH_HTML)  # type: ignore[arg-type]
    assert (drifted.event, drifted.subject) == ("drift", "2 feature(s) drifted; no retrain")
    quiet = monitor_notification(config, ok, drift(0), decision(False), PATHS)  # type: ignore[arg-type]
    assert (quiet.event, quiet.subject) == ("success", "monitoring: no issue")


def test_notify_outcome_delivers_to_the_configured_file(tmp_path, monkeypatch) -> None:
    from tests.unit.conftest import small_churn_config

    path = tmp_path / "notes.jsonl"
    config = small_churn_config(replace={"notifications": [{"type": "file", "path": str(path)}]})
    result = notify_outcome(config, quality(), drift(0), decision(False), PATHS)  # type: ignore[arg-type]
    assert (result["event"], result["subject"]) == ("success", "monitoring: no issue")
    assert [n["type"] for n in result["notifications"]] == ["file"] and result["notifications"][0]["ok"]
    (line,) = path.read_text().splitlines()
    assert json.loads(line)["subject"] == "monitoring: no issue"
