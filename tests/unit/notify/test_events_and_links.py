"""Every notification producer, delivered for real through the ``file`` target: its event is one
of include/notify/events.py, it has a body, and it links the Airflow run it came from."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from include.config import NOTIFY_EVENTS
from include.config.notifications import DEFAULT_EVENTS, EVENTS, Event
from include.deploy.criteria import evaluate_promotion
from include.deploy.messages import health_rollback_note, promotion_note, rollback_note
from include.monitor.notification import monitor_notification
from include.notify.delivery import Notification, deliver, send
from include.notify.links import run_link
from include.retrain.report import run_notification, summarize_run
from include.score.messages import scoring_notification
from mlops_airflow.notifiers.mlops import MlopsNotifier, failure_note
from tests.unit.conftest import small_churn_config
from tests.unit.deploy.helpers import gathered
from tests.unit.retrain.test_report import CHALLENGER, EVALUATED, FAILED, PULLED, REGISTERED, TRAINED

RUN_ID = "scheduled__2026-02-10T06:00:00+00:00"
BASE = "https://airflow.example.com"
LINK = f"{BASE}/dags/promote_churn/runs/scheduled__2026-02-10T06%3A00%3A00%2B00%3A00"


@pytest.fixture
def in_a_task(monkeypatch):
    """The environment Airflow's task runner exports to a running task."""
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "promote_churn")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", RUN_ID)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE + "/")


@pytest.fixture
def file_config(tmp_path):
    """churn with one ``file`` target subscribed to every event (info included)."""
    path = tmp_path / "notes.jsonl"
    config = small_churn_config(
        replace={"notifications": [{"type": "file", "path": str(path), "events": list(NOTIFY_EVENTS)}]}
    )
    return config, path


def delivered(config, path: Path, note: Notification) -> dict:
    before = len(path.read_text().splitlines()) if path.exists() else 0
    assert send(config, note) == [{"type": "file", "ok": True, "path": str(path)}]
    lines = path.read_text().splitlines()
    assert len(lines) == before + 1
    return json.loads(lines[-1])


def _producers(config) -> dict[str, Notification]:
    ready, held = gathered(config), gathered(config, batches=1)
    verdict = evaluate_promotion(config, None, "1", {})
    no_challenger = {"verdict": verdict.to_dict(), "summary": verdict.summary(), "rejected": False}
    promoted = {"action": "champion", "version": "2", "previous": "1", "disagreements": []}
    rolled = {"action": "rollback", "restored": "1", "replaced": "2", "bad_stage": "rejected"}
    unhealthy = {"ok": False, "version": "2", "problems": ["non-finite scores"]}
    healthy = {"ok": True, "version": "1", "problems": []}
    retrain = summarize_run(config, PULLED, TRAINED, EVALUATED, FAILED, REGISTERED, CHALLENGER, "uri")
    quality = {"rows": 1, "failed": False, "issues": [], "summary": "", "dates": []}
    decision = {
        "retrain": True,
        "reasons": [{"trigger": "dataset_drift", "detail": "3 of 7 drifted"}],
        "blocked_by": None,
        "summary": "3 of 7 drifted",
    }
    pinned = {"champion": {"name": "churn", "version": "3", "run_id": "r"}, "challenger": None, "dates": []}
    dates = {"2026-02-02": {"rows_in": 10, "rows_scored": 10, "rows_quarantined": 0}}
    failure_context = {
        "dag": SimpleNamespace(dag_id="promote_churn"),
        "run_id": RUN_ID,
        "ti": SimpleNamespace(task_id="promote", try_number=2),
        "exception": ValueError("no alias"),
    }
    return {
        "promotion": promotion_note("churn", ready, promoted, None),
        "refused (criteria)": promotion_note("churn", held, None, None),
        "refused (approval)": promotion_note(
            "churn", ready, None, {"choice": "Reject", "by": "ann", "at": "", "reason": ""}
        ),
        "info (no challenger)": promotion_note("churn", no_challenger, None, None),
        "rollback (health)": health_rollback_note("churn", unhealthy, rolled),
        "rollback (requested)": rollback_note("churn", {**rolled, "disagreements": []}, healthy, "bad rankings"),
        "retrain": run_notification(config, retrain),
        "monitor": monitor_notification(
            config, quality, None, decision, {"summary": "file:///s.json", "mlflow_run_id": "m"}
        ),
        "score": scoring_notification("churn", pinned, {"dates": dates, "dry_run": False}),
        "failure callback": failure_note("churn", "failure", failure_context),
    }


EXPECTED_EVENTS = {
    "promotion": "promotion",
    "refused (criteria)": "refused",
    "refused (approval)": "refused",
    "info (no challenger)": "info",
    "rollback (health)": "rollback",
    "rollback (requested)": "rollback",
    "retrain": "gate_failure",
    "monitor": "drift",
    "score": "success",
    "failure callback": "failure",
}


def test_every_producer_sends_its_event_a_body_and_the_run_link(file_config, in_a_task):
    config, path = file_config
    notes = _producers(config)
    assert set(notes) == set(EXPECTED_EVENTS)
    for name, note in notes.items():
        sent = delivered(config, path, note)
        assert sent["event"] == EXPECTED_EVENTS[name], name
        assert sent["event"] in EVENTS
        assert sent["subject"] and sent["body"].strip(), f"{name}: empty subject or body"
        assert "vNone" not in sent["subject"] + sent["body"], name
        assert sent["link"] == LINK, name


def test_a_refused_promotion_is_never_success(file_config):
    config, _ = file_config
    notes = _producers(config)
    assert all(notes[n].event == Event.REFUSED for n in ("refused (criteria)", "refused (approval)"))
    assert notes["refused (criteria)"].subject.startswith("promotion refused: challenger v2")


def test_info_is_not_sent_by_default_targets_and_logs_one_line(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MLOPS_NOTIFY_DIR", str(tmp_path))
    config = small_churn_config()  # churn.yaml: log and file targets, events not listed
    assert all(t.events == list(DEFAULT_EVENTS) for t in config.notifications)
    note = _producers(config)["info (no challenger)"]
    with caplog.at_level(logging.INFO):
        assert send(config, note) == []
    assert not list(tmp_path.iterdir())
    lines = [r.getMessage() for r in caplog.records if r.name == "include.notify.delivery"]
    assert lines == ["notification info of churn sent to 0 target(s): no challenger to promote; champion v1 stays"]


def test_the_text_targets_show_body_and_link(monkeypatch, caplog, in_a_task):
    """What log, Slack and mail show (``text()``): subject, body, run link, runbook link; the log
    target's fields on a line of their own."""
    monkeypatch.delenv("MLOPS_RUNBOOK_BASE_URL", raising=False)
    config = small_churn_config(replace={"notifications": [{"type": "log"}]})
    note = _producers(config)["score"]
    with caplog.at_level(logging.INFO, logger="include.notify.targets"):
        result = deliver(config, note)
    assert result["body"] == note.body and result["link"] == LINK and result["event"] == "success"
    [record] = [r for r in caplog.records if r.name == "include.notify.targets"]
    lines = record.getMessage().splitlines()
    assert lines[0] == f"[churn] {note.subject}"
    assert lines[1 : 1 + len(note.body.splitlines())] == note.body.splitlines()
    assert lines[-3] == f"Airflow run: {LINK}"
    assert lines[-2] == "Runbook: docs/runbooks/success.md"
    assert lines[-1].startswith("fields: {")


def test_run_link_with_and_without_a_base_url(monkeypatch):
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    assert run_link("retrain_churn", "manual__1", base_url="http://localhost:8080/") == (
        "http://localhost:8080/dags/retrain_churn/runs/manual__1"
    )
    assert run_link("retrain_churn", "manual__1", base_url="") == "dag retrain_churn, run manual__1"
    assert run_link(None, "manual__1") == ""


def test_outside_a_task_there_is_no_link(file_config, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_RUN_ID", raising=False)
    config, path = file_config
    sent = delivered(config, path, Notification(model="churn", event="success", subject="s", body="b"))
    assert sent["link"] == ""


def test_the_failure_callback_delivers_with_its_run_link(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_NOTIFY_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    context = {
        "dag": SimpleNamespace(dag_id="retrain_churn"),
        "run_id": "manual__1",
        "ti": SimpleNamespace(task_id="train", try_number=3),
        "exception": None,
    }
    MlopsNotifier(model_name="churn", event="failure").notify(context)
    [line] = (tmp_path / "churn.jsonl").read_text().splitlines()
    sent = json.loads(line)
    assert (sent["event"], sent["subject"]) == ("failure", "failure: retrain_churn.train in run manual__1")
    assert sent["body"].startswith("task train (try 3) failure: no exception recorded")
    assert sent["link"] == "dag retrain_churn, run manual__1"


def test_the_readme_lists_exactly_the_events():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Notifications\n", 1)[1].split("\n## ", 1)[0]
    listed = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
    assert listed == list(NOTIFY_EVENTS)
