"""The run's summary (stored under report_prefix) and its notification: success, gate failure,
dry run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.contracts import report_prefix
from include.platform.storage import LocalStorage
from include.retrain.report import report_run, run_notification, summarize_run, summary_key
from tests.unit.conftest import small_churn_config

PULLED = {
    "dataset_key": "training/churn/window_end=2026-02-10/dataset.parquet",
    "window_start": "2026-01-13",
    "window_end": "2026-02-10",
    "rows": 1234,
    "data_hash": "ab" * 32,
}
TRAINED = {"run_id": "run-1", "model_uri": "models:/m-1", "holdout_key": "k", "run_key": "key", "reused": False}
EVALUATED = {
    "metrics": {"roc_auc": 0.8123, "average_precision": 0.5},
    "slices": {},
    "latency_ms_per_1k": 12.5,
    "size_mb": 0.75,
    "holdout_rows": 300,
    "champion": {"version": "1", "metrics": {"roc_auc": 0.8}},
}
PASSED = {
    "passed": True,
    "failed": [],
    "results": [
        {"name": "min_roc_auc", "kind": "absolute", "passed": True, "value": 0.81, "threshold": 0.7, "detail": "ok"},
        {
            "name": "no_regression",
            "kind": "regression",
            "passed": True,
            "value": 0.81,
            "threshold": 0.79,
            "detail": "ok",
        },
    ],
}
FAILED = {
    "passed": False,
    "failed": ["min_roc_auc"],
    "results": [
        {
            "name": "min_roc_auc",
            "kind": "absolute",
            "passed": False,
            "value": 0.61,
            "threshold": 0.7,
            "detail": "roc_auc 0.6100 must be >= 0.7",
        },
        {"name": "max_latency", "kind": "latency", "passed": True, "value": 12.5, "threshold": 500, "detail": "ok"},
    ],
}
REGISTERED = {"version": "2", "stage": "candidate", "model_card": "<html>"}
CHALLENGER = {"action": "challenger", "stage": "shadow", "version": "2", "reason": "passed every gate"}
REJECTED = {"action": "rejected", "stage": "rejected", "version": "2", "reason": "gates failed: min_roc_auc"}


@pytest.fixture(scope="module")
def config():
    return small_churn_config()  # notifications: log and file


def test_summary_key_is_under_the_report_prefix(config):
    key = summary_key(config, "2026-02-10")
    assert key == f"{report_prefix('churn', 'retrain', 'window_end=2026-02-10')}/summary.json"
    assert key == "reports/churn/retrain/window_end=2026-02-10/summary.json"  # where readers look


def test_summary_of_a_run_that_made_a_challenger(config):
    summary = summarize_run(config, PULLED, TRAINED, EVALUATED, PASSED, REGISTERED, CHALLENGER, "http://mlflow")
    assert summary["model"] == "churn"
    assert summary["window"] == "2026-01-13..2026-02-10"
    assert (summary["rows"], summary["data_hash"], summary["run_id"]) == (1234, "ab" * 32, "run-1")
    assert summary["reused_run"] is False
    assert summary["metrics"] == EVALUATED["metrics"]
    assert summary["champion_before"] == {"version": "1", "metrics": {"roc_auc": 0.8}}
    assert (summary["latency_ms_per_1k"], summary["size_mb"]) == (12.5, 0.75)
    assert summary["gates"] == PASSED
    assert (summary["version"], summary["stage"], summary["action"]) == ("2", "shadow", "challenger")
    assert summary["tracking_uri"] == "http://mlflow"


def test_summary_of_a_dry_run_and_of_an_unqualified_version(config):
    dry = summarize_run(config, PULLED, TRAINED, EVALUATED, PASSED, None, None, "uri")
    assert (dry["version"], dry["stage"], dry["action"]) == (None, None, "dry_run")
    unqualified = summarize_run(config, PULLED, TRAINED, EVALUATED, PASSED, REGISTERED, None, "uri")
    assert (unqualified["version"], unqualified["stage"], unqualified["action"]) == ("2", "candidate", "none")


def test_success_notification(config):
    summary = summarize_run(config, PULLED, TRAINED, EVALUATED, PASSED, REGISTERED, CHALLENGER, "uri")
    note = run_notification(config, summary)
    assert note.event == "success"
    assert note.subject == "retrain 2026-01-13..2026-02-10: v2 -> shadow (roc_auc=0.8123)"
    assert note.body.splitlines() == ["all 2 gates passed", f"1234 rows, data hash {'ab' * 6}, MLflow run run-1"]
    assert note.fields["action"] == "challenger"


@pytest.mark.parametrize(
    ("gates", "event", "tail"),
    [
        (PASSED, "success", "dry run, nothing registered (roc_auc=0.8123)"),
        (FAILED, "gate_failure", "gates failed (min_roc_auc); dry run, nothing registered"),
    ],
)
def test_a_dry_run_notification_says_nothing_was_registered(config, gates, event, tail):
    note = run_notification(config, summarize_run(config, PULLED, TRAINED, EVALUATED, gates, None, None, "uri"))
    assert (note.event, note.subject) == (event, f"retrain 2026-01-13..2026-02-10: {tail}")
    assert "vNone" not in note.text() and note.body


def test_gate_failure_notification_names_each_failed_gate_with_its_numbers(config):
    summary = summarize_run(config, PULLED, TRAINED, EVALUATED, FAILED, REGISTERED, REJECTED, "uri")
    note = run_notification(config, summary)
    assert note.event == "gate_failure"
    assert note.subject == "retrain 2026-01-13..2026-02-10: gates failed (min_roc_auc); v2 not promoted"
    assert note.body.splitlines()[0] == "- min_roc_auc: roc_auc 0.6100 must be >= 0.7"


def test_report_run_stores_the_summary_and_notifies(config, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_NOTIFY_DIR", str(tmp_path / "notify"))
    storage = LocalStorage(tmp_path / "data")
    summary = report_run(
        storage, config, PULLED, TRAINED, EVALUATED, FAILED, REGISTERED, REJECTED, tracking_uri="http://mlflow"
    )
    key = "reports/churn/retrain/window_end=2026-02-10/summary.json"
    assert summary["summary_uri"] == storage.uri(key)
    stored = json.loads(storage.read_text(key))
    assert stored["action"] == "rejected" and stored["gates"]["failed"] == ["min_roc_auc"]
    assert "summary_uri" not in stored and "notifications" not in stored  # written before both

    assert [(n["type"], n["ok"]) for n in summary["notifications"]] == [("log", True), ("file", True)]
    [line] = Path(tmp_path / "notify" / "churn.jsonl").read_text().splitlines()
    sent = json.loads(line)
    assert sent["event"] == "gate_failure" and "min_roc_auc" in sent["subject"]
    assert sent["fields"]["summary_uri"] == summary["summary_uri"]  # the note links the stored summary
    assert sent["body"].splitlines()[-1] == f"summary: {summary['summary_uri']}"
