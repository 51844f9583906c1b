"""monitor_churn end to end through Airflow (`airflow dags test`), with a real MLflow server of
this module and data in a local data root; nothing touches the developer's ``.local`` state.

The champion is trained by retrain_churn on clean labels; batch_score_churn publishes its
predictions for eight days. Labels arrive 7 days after each snapshot and, from ``NOISE_FROM``
on, 45% of them are flipped: the champion's live ROC AUC on those days collapses while the
features stay the same. One feature partition has lost a column. Three monitor runs:

* a performance drop emits exactly one event on the asset ``retrain_request/churn`` with the
  reason and the training window end in its extra, and queues retrain_churn (scheduled on its
  cron or that asset); running the task again for the same monitor run emits none;
* a missing column gives a clear report and no retrain (although the labels would call for one);
* a healthy day: HTML drift report in the data root and in MLflow with the run's metrics,
  no retrain.

There is no scheduler to start the queued retrain run: the event and the queue entry are what
is asserted, straight from the Airflow metadata DB of the test session (retrain_churn is
unpaused there, as it would be in production, so that the event queues it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from urllib.parse import quote

import pytest

from include.config import load_config
from include.monitor.live_performance import check_performance
from include.monitor.reference import load_reference
from include.platform.registry import ModelRegistry
from tests.e2e.conftest import PROJECT
from tests.fixtures.services import start_mlflow

MODEL = "churn"
CONFIG_FILE = PROJECT / "include" / "models" / f"{MODEL}.yaml"
TRAIN_END = "2026-02-10"  # labels of snapshots up to Feb 2: clean
SCORED = ("2026-02-14", "2026-02-21")  # one batch_score run over the range
NOISE_FROM = dt.date(2026, 2, 17)
LAST_DAY = dt.date(2026, 3, 2)  # the data ends here: labels of snapshots up to Feb 23 have arrived
HEALTHY_DS = "2026-02-21"  # clean labels of the Feb 14 predictions have arrived (7-day delay)
DROP_DS = LAST_DAY.isoformat()  # performance window Feb 17 .. Mar 2: the noisy predictions
BROKEN_DS = "2026-02-25"  # contract_type is missing from this day's features
ROWS_PER_DAY = 600


@pytest.fixture(scope="module")
def mlflow_monitor(tmp_path_factory):
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-monitor"), name="mlflow-monitor")
    yield server
    server.service.stop()


@pytest.fixture(scope="module")
def deployment(airflow_project, mlflow_monitor, tmp_path_factory):
    """Sample data, a champion trained through Airflow, two weeks of its predictions."""
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import LocalStorage

    tmp = tmp_path_factory.mktemp("monitor")
    storage = LocalStorage(tmp / "data")
    write_sample_data(
        storage,
        start=dt.date(2026, 1, 1),
        days=(LAST_DAY - dt.date(2026, 1, 1)).days + 1,
        rows_per_day=ROWS_PER_DAY,
        customers=2000,
        label_noise_from=NOISE_FROM,
        label_noise=0.45,
        corrupt={"day": BROKEN_DS, "kind": "drop_column"},
    )
    audit_path = tmp / "state" / "audit.db"
    env = {
        "MLOPS_STATE_DIR": str(tmp / "state"),
        "MLOPS_DATA_ROOT": storage.root,
        "MLOPS_NOTIFY_DIR": str(tmp / "notifications"),
        "MLFLOW_TRACKING_URI": mlflow_monitor.tracking_uri,
        "MLOPS_AUDIT_DB_URL": f"sqlite:///{audit_path}",
        # The connection wins over MLOPS_AUDIT_DB_URL: pin it too, whatever the caller's env holds.
        "AIRFLOW_CONN_MLOPS_AUDIT": json.dumps({"conn_type": "sqlite", "host": str(audit_path)}),
    }
    trained = airflow_project.run(f"retrain_{MODEL}", conf={"window_end": TRAIN_END}, extra_env=env)
    assert trained.succeeded, trained.tail()
    airflow_project.cli("dags", "unpause", f"retrain_{MODEL}", extra_env=env)
    scored = airflow_project.run(f"batch_score_{MODEL}", conf={"ds": SCORED[0], "ds_end": SCORED[1]}, extra_env=env)
    assert scored.succeeded, scored.tail()
    return {
        "env": env,
        "storage": storage,
        "registry": ModelRegistry(mlflow_monitor.tracking_uri),
        "notify_path": tmp / "notifications" / f"{MODEL}.jsonl",
    }


def _monitor(airflow_project, deployment, ds: str) -> tuple[str, list[dict]]:
    """Run monitor_churn for ``ds``: (its run id, the retrain requests it emitted)."""
    before = {e["id"] for e in _requests(airflow_project)}
    run = airflow_project.run(f"monitor_{MODEL}", conf={"ds": ds}, extra_env=deployment["env"])
    assert run.succeeded, run.tail()
    with _db(airflow_project) as db:
        run_id, conf = db.execute(
            "SELECT run_id, conf FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (f"monitor_{MODEL}",)
        ).fetchone()
    assert json.loads(conf)["ds"] == ds
    return run_id, [e for e in _requests(airflow_project) if e["id"] not in before]


def _db(airflow_project) -> sqlite3.Connection:
    return sqlite3.connect(airflow_project.home / "airflow.db")


def _requests(airflow_project) -> list[dict]:
    """Events on the asset ``retrain_request/<model>`` in the Airflow metadata DB, oldest first."""
    with _db(airflow_project) as db:
        rows = db.execute(
            "SELECT e.id, e.source_dag_id, e.source_run_id, e.source_task_id, e.extra FROM asset_event e "
            "JOIN asset a ON a.id = e.asset_id WHERE a.name = ? ORDER BY e.id",
            (f"retrain_request/{MODEL}",),
        ).fetchall()
    keys = ("id", "dag_id", "run_id", "task_id", "extra")
    return [dict(zip(keys, (*r[:4], json.loads(r[4]) if r[4] else {}), strict=True)) for r in rows]


def _retrain_queued(airflow_project) -> bool:
    """Whether a retrain_request event queued retrain_churn for the scheduler."""
    with _db(airflow_project) as db:
        return bool(
            db.execute(
                "SELECT COUNT(*) FROM asset_dag_run_queue q JOIN asset a ON a.id = q.asset_id "
                "WHERE a.name = ? AND q.target_dag_id = ?",
                (f"retrain_request/{MODEL}", f"retrain_{MODEL}"),
            ).fetchone()[0]
        )


def _summary(deployment, ds: str) -> dict:
    return json.loads(deployment["storage"].read_text(f"reports/{MODEL}/monitor/ds={ds}/summary.json"))


def _mlflow_run(deployment, ds: str):
    registry = deployment["registry"]
    runs = registry.client.search_runs(
        [registry.experiment_id(MODEL)],
        filter_string=f"tags.`mlops.kind` = 'monitoring' and tags.`mlops.ds` = '{ds}'",
    )
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def _notes(deployment) -> list[dict]:
    path = deployment["notify_path"]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _task_state(airflow_project, dag_run_id: str, task_id: str) -> str:
    with _db(airflow_project) as db:
        row = db.execute(
            "SELECT state FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            (f"monitor_{MODEL}", dag_run_id, task_id),
        ).fetchone()
    return row[0]


def test_performance_drop_requests_exactly_one_retrain_with_the_reason(airflow_project, deployment):
    monitor_run_id, added = _monitor(airflow_project, deployment, DROP_DS)

    summary = _summary(deployment, DROP_DS)
    performance, decision = summary["performance"], summary["decision"]
    assert performance["rows"] == 5 * ROWS_PER_DAY  # Feb 17 .. Feb 21: scored, labels arrived
    assert performance["flagged"] and performance["drop"] > 0.05
    assert not summary["drift"]["features"]["dataset_drift"]  # features unchanged: labels only
    assert decision["retrain"] and [r["trigger"] for r in decision["reasons"]] == ["performance_drop"]
    assert summary["airflow_run_id"] == monitor_run_id

    # Exactly one request from this monitor run, with the reason and window end; retrain queued.
    assert len(added) == 1, added
    request = added[0]
    assert (request["dag_id"], request["run_id"], request["task_id"]) == (
        f"monitor_{MODEL}",
        monitor_run_id,
        "request_retrain",
    )
    extra = request["extra"]
    assert extra["reason"].startswith(f"monitor_{MODEL} {DROP_DS}: roc_auc")
    assert "drop" in extra["reason"] and "exceeds margin 0.0500" in extra["reason"]
    assert extra["reason"] == decision["retrain_reason"]
    assert extra["window_end"] == "2026-03-03" == decision["window_end"]  # the monitored day included
    assert (extra["model"], extra["ds"], extra["triggers"]) == (MODEL, DROP_DS, ["performance_drop"])
    assert _retrain_queued(airflow_project)
    assert _task_state(airflow_project, monitor_run_id, "request_retrain") == "success"
    assert "retrain triggered (performance_drop)" in [n["subject"] for n in _notes(deployment)]

    # The same monitor run requesting again (a cleared task) finds its own event and skips.
    again = airflow_project.cli(
        "tasks", "test", f"monitor_{MODEL}", "request_retrain", monitor_run_id, extra_env=deployment["env"]
    )
    assert re.search(r"already requested a retrain", again), again[-3000:]
    assert [e for e in _requests(airflow_project) if e["run_id"] == monitor_run_id] == [request]


def test_missing_column_gives_a_clear_report_and_no_retrain(airflow_project, deployment):
    monitor_run_id, added = _monitor(airflow_project, deployment, BROKEN_DS)

    assert added == []
    summary = _summary(deployment, BROKEN_DS)
    quality = summary["quality"]
    assert quality["failed"]
    assert [(i["check"], i["column"]) for i in quality["issues"] if i["severity"] == "error"] == [
        ("missing_column", "contract_type")
    ]
    assert "column 'contract_type' is missing" in quality["summary"]
    assert summary["drift"] is None and summary["performance"] is None  # not computed on broken data
    decision = summary["decision"]
    assert decision["retrain"] is False and decision["reasons"] == []
    assert decision["blocked_by"] == "data quality" and decision["summary"] == quality["summary"]
    # The noisy labels of the window would have called for a retrain: the broken day blocks it.
    config = load_config(CONFIG_FILE)
    reference = load_reference(deployment["registry"], config)
    assert check_performance(deployment["storage"], config, reference, BROKEN_DS)["flagged"]
    assert not deployment["storage"].exists(f"reports/{MODEL}/monitor/ds={BROKEN_DS}/drift_report.html")
    assert _task_state(airflow_project, monitor_run_id, "request_retrain") == "skipped"
    note = _notes(deployment)[-1]
    assert note["event"] == "failure" and "contract_type" in note["subject"]
    metrics = _mlflow_run(deployment, BROKEN_DS).data.metrics
    assert metrics["quality_issues"] >= 1 and metrics["retrain"] == 0.0


def test_healthy_day_reports_to_storage_and_mlflow_without_retrain(airflow_project, deployment):
    monitor_run_id, added = _monitor(airflow_project, deployment, HEALTHY_DS)

    assert added == []
    summary = _summary(deployment, HEALTHY_DS)
    assert not summary["quality"]["failed"]
    features = summary["drift"]["features"]
    assert not features["dataset_drift"] and features["n_columns"] == 14
    assert summary["drift"]["prediction"]["rows"] == ROWS_PER_DAY and not summary["drift"]["prediction"]["drifted"]
    performance = summary["performance"]
    # Point in time: only labels that arrived by the monitored day (those of Feb 14) count.
    assert performance["rows"] == ROWS_PER_DAY and performance["status"] == "ok"
    assert summary["decision"]["retrain"] is False and summary["decision"]["reasons"] == []
    assert summary["champion_version"] == "1"

    storage = deployment["storage"]
    html = storage.read_text(f"reports/{MODEL}/monitor/ds={HEALTHY_DS}/drift_report.html")
    assert "<html" in html.lower() and "monthly_charges" in html

    mlflow_run = _mlflow_run(deployment, HEALTHY_DS)
    assert mlflow_run.data.tags["mlops.model_version"] == "1"
    metrics = mlflow_run.data.metrics
    assert metrics["drift_share"] == pytest.approx(features["share_drifted"])
    assert metrics["dataset_drift"] == 0.0 and metrics["retrain"] == 0.0
    assert metrics["labelled_rows"] == ROWS_PER_DAY
    assert metrics["live_roc_auc"] == pytest.approx(performance["value"])
    assert "drift_score.monthly_charges" in metrics and "prediction_drift_score" in metrics
    registry = deployment["registry"]
    artifacts = {a.path for a in registry.client.list_artifacts(mlflow_run.info.run_id, "monitor")}
    assert artifacts == {"monitor/drift_report.html", "monitor/summary.json"}
    assert _task_state(airflow_project, monitor_run_id, "request_retrain") == "skipped"
    assert _notes(deployment)[-1]["event"] == "success"


def _health_view(airflow_project, deployment, *paths: str) -> dict[str, dict]:
    """The "Model health" view's answers (tests/e2e/health_view_client.py: Airflow's API app with
    the project's plugin, called in a process with this Airflow home's environment), by path."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.health_view_client", *paths],
        env={**airflow_project.env, **deployment["env"]},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {a["path"]: a for a in answers}


def _airflow_runs(airflow_project, dag_id: str, limit: int = 5) -> list[tuple[str, str]]:
    """(run id, state) of the newest runs of ``dag_id`` in this Airflow home's metadata DB."""
    import contextlib
    import sqlite3

    path = airflow_project.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT ?", (dag_id, limit)
        ).fetchall()
    return [(run_id, state) for run_id, state in rows]


def test_model_health_view_shows_what_the_runs_left(airflow_project, deployment):
    """After the runs above (retrain, batch_score over eight days, three monitor runs): the view's
    JSON API and pages, behind Airflow's authentication, agree with the audit trail, the
    summaries and manifests, and Airflow's own runs."""
    from include.platform.audit import AuditStore
    from include.platform.partitions import read_manifest

    model_path = f"/mlops-health/api/models/{MODEL}"
    page_path = f"/mlops-health/models/{MODEL}"
    drift_path = f"{page_path}/drift/{HEALTHY_DS}"
    card_path = f"{page_path}/versions/1/card"
    answers = _health_view(
        airflow_project,
        deployment,
        "/mlops-health/api/models",
        model_path,
        "/mlops-health/",
        page_path,
        drift_path,
        card_path,
        "/api/v2/plugins",
    )
    for answer in answers.values():  # Airflow's authentication: none, 401; bearer or UI cookie, 200
        assert (answer["anonymous"], answer["status"], answer["cookie_status"]) == (401, 200, 200), answer

    listed = {m["model"]: m for m in answers["/mlops-health/api/models"]["body"]["models"]}
    assert listed[MODEL]["status"]["status"] == "degraded", listed[MODEL]
    assert listed[MODEL]["status"]["reason"].startswith(f"live performance dropped on {DROP_DS}")
    assert (listed[MODEL]["champion"], listed[MODEL]["last_monitored"]) == ("1", DROP_DS)

    health = answers[model_path]["body"]
    assert health["problems"] == [] and health["champion"] == "1"
    with AuditStore(deployment["env"]["MLOPS_AUDIT_DB_URL"]) as audit:
        trail = audit.history(MODEL)
    shown = [m for v in health["versions"] for m in v["moves"]]
    assert sorted(m["deployment_id"] for m in shown) == sorted(r["deployment_id"] for r in trail)
    champion = next(v for v in health["versions"] if v["version"] == "1")
    assert champion["stage"] == "champion" and champion["moves"][-1]["to_stage"] == "champion"
    assert champion["moves"][-1]["actor"].startswith(f"airflow:retrain_{MODEL}/")

    monitored = {p["ds"]: p for p in health["monitor"]}
    assert sorted(monitored) == [HEALTHY_DS, BROKEN_DS, DROP_DS]
    for ds in (HEALTHY_DS, DROP_DS):
        summary = _summary(deployment, ds)
        assert monitored[ds]["drift_share"] == summary["drift"]["features"]["share_drifted"]
        assert monitored[ds]["live_metric"] == summary["performance"]["value"]
        assert monitored[ds]["prediction_drift_score"] == (summary["drift"]["prediction"] or {}).get("score")
    assert monitored[BROKEN_DS]["quality_failed"] and monitored[BROKEN_DS]["drift_share"] is None
    assert monitored[DROP_DS]["performance_flagged"] and len(monitored[DROP_DS]["top_drifting"]) == 3

    scored = {p["ds"]: p for p in health["scoring"]}
    assert len(scored) == 8 and min(scored) == SCORED[0] and max(scored) == SCORED[1]
    for ds, point in scored.items():
        manifest = read_manifest(deployment["storage"], "predictions", MODEL, ds)
        assert point["rows_scored"] == manifest.meta["summary"]["rows_scored"] == ROWS_PER_DAY
        assert point["rows_per_second"] and point["rows_per_second"] > 0

    # The newest five runs of each of the model's DAGs, as Airflow's metadata DB has them (the
    # session's Airflow home also holds the runs of other e2e modules on this worker).
    runs = health["runs"]
    for dag_id, shown in runs.items():
        assert [(r["run_id"], r["state"]) for r in shown] == _airflow_runs(airflow_project, dag_id), dag_id
    # This module's runs are the ones its MLflow server knows (each links its MLflow run).
    tracking = deployment["env"]["MLFLOW_TRACKING_URI"]
    ours = {kind: [r for r in runs[f"{kind}_{MODEL}"] if (r["mlflow_url"] or "").startswith(tracking)]
            for kind in ("retrain", "batch_score", "monitor")}  # fmt: skip
    assert [len(ours[kind]) for kind in ("retrain", "batch_score", "monitor")] == [1, 1, 3], ours
    assert {r["state"] for found in ours.values() for r in found} == {"success"}
    for run in [r for found in runs.values() for r in found]:
        assert run["airflow_url"] == f"/dags/{run['dag_id']}/runs/{quote(run['run_id'], safe='')}"

    page = answers[page_path]["body"]
    assert page.count("<svg") == 6 and "<circle" in page and "degraded" in page
    assert f'href="/mlops-health/models/{MODEL}/drift/{HEALTHY_DS}"' in page
    assert "<h1>Model health</h1>" in answers["/mlops-health/"]["body"]
    assert f"Drift report: {MODEL}, ds={HEALTHY_DS}" in answers[drift_path]["body"]
    # The reports run their own scripts in a sandbox: an opaque origin, no access to Airflow's token.
    for path in (drift_path, card_path):
        assert (
            answers[path]["csp"].startswith("sandbox allow-scripts") and "allow-same-origin" not in answers[path]["csp"]
        )
    assert f"Model card: {MODEL} v1" in answers[card_path]["body"]

    plugin = next(p for p in answers["/api/v2/plugins"]["body"]["plugins"] if p["name"] == "mlops_airflow")
    assert [(v["name"], v["href"], v["destination"]) for v in plugin["external_views"]] == [
        ("Model health", "/mlops-health/", "nav")
    ]


def test_the_monitoring_runbooks_run(airflow_project, deployment):
    """docs/runbooks: the bash blocks of the monitoring runbooks, as a person would run them
    after this module's notifications (placeholders filled in), on its state: the reports of
    the performance drop and of the broken day, the champion's retrain summary."""
    from tests.fixtures import runbooks

    for ds in (DROP_DS, BROKEN_DS):  # run alone (-k), the module's runs are not there yet
        if not deployment["storage"].exists(f"reports/{MODEL}/monitor/ds={ds}/summary.json"):
            _monitor(airflow_project, deployment, ds)
    runner = runbooks.Runner({**airflow_project.env, **deployment["env"]})
    values = {"model": MODEL, "window_end": TRAIN_END}
    outputs = {
        name: runner.run(name, {**values, "ds": BROKEN_DS if name.startswith("data-quality") else DROP_DS})
        for name in runbooks.RUN_BY["tests/e2e/test_monitor_dag.py"]
    }
    print("runbook seconds:", {n: round(t, 1) for n, t in runner.seconds.items()})

    assert "retrain: True | window_end: 2026-03-03" in outputs["drift.md"]
    assert f"retrain_{MODEL}" in outputs["drift.md"]  # dags list-runs
    assert "v1 champion (champion)" in outputs["drift.md"] and "@champion: v1" in outputs["drift.md"]
    assert "trigger performance_drop: roc_auc" in outputs["performance-drop.md"]
    assert "flagged: True" in outputs["performance-drop.md"] and "target mean" in outputs["performance-drop.md"]
    quality = outputs["data-quality-failure.md"]
    assert "FAILED" in quality and "[error] missing_column contract_type" in quality
    assert "missing columns: ['contract_type']" in quality and "quality failed: True" in quality
