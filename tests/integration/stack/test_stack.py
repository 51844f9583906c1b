"""The MLOps cycle on the distributed stack, driven as it is in production: the scheduler's and
scripts' part through the Airflow REST API, a person's part in the web UI (headless Chromium).

The stack (conftest.py, airflow_stack.py) is the docker compose topology from local processes:
CeleryExecutor with a Redis broker and two workers, PostgreSQL for Airflow, MLflow and the
audit trail, S3 (moto) for data and MLflow artifacts. The tests run in file order, each a step
of the model's life that the next one builds on:

1. the stack is up: components healthy, both workers answer, connections and pool in place;
2. ``retrain_churn``: the first model (v1) becomes champion;
3. ``batch_score_churn`` on three days: one mapped ``score`` task per unit, spread over both
   Celery workers (the task instances' hostnames), predictions published to S3 with manifests;
4. in the browser: sign in, trigger ``retrain_churn`` from its Params form (the challenger v2)
   while ``monitor_churn`` runs; the run page, the form's values in the run, the qualify log;
5. shadow scoring of three more days (progress read in a score task's log), then in the
   browser: ``promote_churn`` from its form, approved in Required Actions (the evidence as a
   list); the promote log shows the audit records and the champion, its extra link opens the
   version in MLflow;
6. in the browser: ``rollback_churn`` from its form with a reason: v1 champion again, the
   rollback in the audit trail (the task's log reads it back from the audit database);
7. the reports a person opens: the model card and the drift report, rendered in the browser;
8. Prometheus (Debian's prometheus scraping Debian's prometheus-pushgateway, started with the
   stack) holds the numbers the runs pushed, equal to their manifests, summary and audit trail;
9. in the browser: the "Model health" view from the Airflow navigation (model list, the model's
   champion, drift plot and stage timeline) and its JSON API against the audit tables and S3.

Afterwards the outputs are where a person would look: S3 (partitions and manifests), the MLflow
registry (aliases) and the audit tables in PostgreSQL. Screenshots of every browser step:
``test-artifacts/stack/ui-*.png``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from include.platform.partitions import read_manifest
from tests.integration.stack.airflow_stack import ADMIN, DAG_IDS, MODEL, Stack
from tests.integration.stack.web_ui import WebUI

TRAIN_END = "2026-02-10"
SCORE_DAYS = ("2026-02-11", "2026-02-12", "2026-02-13")
SHADOW_DAYS = ("2026-02-14", "2026-02-15", "2026-02-16")
WINDOW_DAYS = 28  # typed into the form (the config's value: a forced retrain of v1's window)
RETRAIN_TASKS = 8
RETRAIN_REASON = "web UI: challenger on the latest window"
APPROVAL_REASON = "web UI: shadow evidence reviewed"
ROLLBACK_REASON = "web UI: v2 misbehaves in production"

# What each step found, for the steps after it (a step that failed makes the next ones fail).
STATE: dict[str, Any] = {}


def needs(*keys: str) -> None:
    missing = [key for key in keys if key not in STATE]
    if missing:
        pytest.fail(f"an earlier step of the cycle failed (missing {missing}); see its report", pytrace=False)


def aliases(stack: Stack) -> dict[str, str | None]:
    from mlflow.exceptions import MlflowException

    # As the read-only user (MLflow runs with basic auth); both URIs explicit.
    client = stack.mlflow()
    found: dict[str, str | None] = {}
    for alias in ("champion", "challenger"):
        try:
            found[alias] = str(client.get_model_version_by_alias(MODEL, alias).version)
        except MlflowException:
            found[alias] = None
    return found


def audit_rows(stack: Stack) -> list[dict[str, Any]]:
    """ml_deployments, oldest first, straight from the audit database."""
    engine = sa.create_engine(stack.databases["audit"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT deployment_id, version, from_stage, to_stage, status, actor, reason "
                    "FROM ml_deployments WHERE model = :model ORDER BY deployment_id"
                ),
                {"model": MODEL},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def audit_stages(stack: Stack) -> dict[str, str]:
    engine = sa.create_engine(stack.databases["audit"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version, stage FROM ml_model_registry WHERE model = :m"), {"m": MODEL})
            return {str(version): stage for version, stage in rows}
    finally:
        engine.dispose()


def moves(rows: list[dict[str, Any]], version: str) -> list[tuple[str | None, str, str]]:
    return [(r["from_stage"], r["to_stage"], r["status"]) for r in rows if r["version"] == version]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            todo += [int(child) for child in children.read_text().split()]
    return found


def mapped_files(pid: int) -> set[str] | None:
    """The files ``pid`` has mapped; None when it has exited since it was listed."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except FileNotFoundError:
        return None
    return {line.split()[-1] for line in maps.splitlines() if "/" in line}


def s3_json(stack: Stack, key: str) -> dict[str, Any]:
    body = stack.s3().get_object(Bucket=stack.bucket, Key=f"data/{key}")["Body"].read()
    return json.loads(body)


def s3_keys(stack: Stack, prefix: str) -> list[str]:
    keys = []
    for page in stack.s3().get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=f"data/{prefix}"):
        keys += [item["Key"].removeprefix("data/") for item in page.get("Contents", [])]
    return keys


def check_scoring(stack: Stack, run_id: str, days: tuple[str, ...], version: str) -> dict[str, list[int]]:
    """The mapped score tasks and the published partitions of one batch_score run."""
    tis = stack.task_instances(f"batch_score_{MODEL}", run_id)
    scores = [ti for ti in tis if ti["task_id"] == "score"]
    assert len(scores) >= 2 and all(ti["map_index"] >= 0 for ti in scores), f"score not mapped: {scores}"
    assert {ti["state"] for ti in scores} == {"success"}
    by_host: dict[str, list[int]] = {}
    for ti in sorted(scores, key=lambda t: t["map_index"]):
        by_host.setdefault(ti["hostname"], []).append(ti["map_index"])
    storage = stack.storage()
    for ds in days:
        manifest = read_manifest(storage, "predictions", MODEL, ds)
        assert manifest is not None, f"predictions/{MODEL}/ds={ds} was not published (no manifest)"
        assert str(manifest.meta["model_version"]) == version, (ds, manifest.meta["model_version"])
        assert manifest.meta["summary"]["rows_scored"] > 0 and manifest.rows > 0, manifest.meta["summary"]
        published = set(s3_keys(stack, f"predictions/{MODEL}/ds={ds}/"))
        for entry in manifest.files:  # every file the manifest lists is there
            assert f"predictions/{MODEL}/ds={ds}/{entry['name']}" in published, (ds, entry, published)
    return by_host


def score_days(stack: Stack, days: tuple[str, ...], label: str) -> dict[str, list[int]]:
    """One batch_score run over ``days`` with v1 as champion, checked; map indexes by worker."""
    run_id, _ = stack.run_dag(
        f"batch_score_{MODEL}", {"ds": days[0], "ds_end": days[-1]}, label=f"batch_score ({label})"
    )
    by_host = check_scoring(stack, run_id, days, version="1")
    stack.evidence[f"mapped score tasks by worker ({label} run)"] = by_host
    return by_host


# -- 1 ---------------------------------------------------------------------------------------------
def test_stack_runs_the_celery_topology(stack: Stack):
    health = stack.api("GET", "/monitor/health")
    assert health["metadatabase"]["status"] == "healthy"
    for component in ("scheduler", "triggerer", "dag_processor"):
        assert health[component]["status"] == "healthy", (component, health[component])
    # Both workers answer a Celery ping on the broker, as the compose worker healthcheck asks.
    replies = stack.celery_ping()
    assert set(stack.worker_names.values()) <= set(replies), replies
    # Each worker imported the pipelines' libraries before Celery forked its pool (as the compose
    # airflow-worker, PYTHONPATH): the worker and its pool process have scikit-learn's and
    # pyarrow's compiled modules mapped before any task ran, so a task does not import them.
    for worker in stack.worker_names:
        tree = process_tree(stack.processes[f"worker-{worker}"].process.pid)
        assert len(tree) >= 2, f"worker {worker}: no pool process under {tree}"
        for pid in tree:
            files = mapped_files(pid)
            if files is not None:
                assert any("/sklearn/" in f for f in files) and any("/pyarrow/" in f for f in files), (worker, pid)
    # What the compose airflow-init creates: the connections the hooks use and the deploy pool.
    aws = stack.api("GET", "/connections/aws_default")
    assert aws["conn_type"] == "aws" and json.loads(aws["extra"])["endpoint_url"] == stack.s3_endpoint
    mlflow_conn = stack.api("GET", "/connections/mlflow_default")
    assert mlflow_conn["host"] == stack.mlflow_url and mlflow_conn["login"] == stack.mlflow_pipeline.username
    # MLflow asks who is calling (basic auth): anonymous requests are refused.
    anonymous = requests.get(f"{stack.mlflow_url}/api/2.0/mlflow/registered-models/search", timeout=30)
    assert anonymous.status_code == 401, anonymous.text[:200]
    audit = stack.api("GET", "/connections/mlops_audit")
    assert audit["conn_type"] == "postgres" and audit["schema"] == sa.make_url(stack.databases["audit"]).database
    assert stack.api("GET", "/pools/mlops_deploy")["slots"] == 1
    dags = {d["dag_id"]: d for d in stack.api("GET", "/dags", params={"limit": 100})["dags"]}
    assert set(DAG_IDS) <= dags.keys()
    for dag_id in DAG_IDS:
        assert dags[dag_id]["is_paused"], f"{dag_id} should start paused (DAGS_ARE_PAUSED_AT_CREATION)"
        stack.unpause(dag_id)
    STATE["up"] = True


# -- 2 ---------------------------------------------------------------------------------------------
def test_retrain_makes_the_first_champion(stack: Stack):
    needs("up")
    run_id, _ = stack.run_dag(
        f"retrain_{MODEL}", {"window_end": TRAIN_END, "reason": "stack suite: first model"}, label="retrain v1"
    )
    assert aliases(stack) == {"champion": "1", "challenger": None}
    summary = s3_json(stack, f"reports/{MODEL}/retrain/window_end={TRAIN_END}/summary.json")
    assert summary["version"] == "1" and summary["gates"]["passed"], summary["gates"]
    hosts = {ti["hostname"] for ti in stack.task_instances(f"retrain_{MODEL}", run_id)}
    assert hosts <= set(stack.worker_names.values()), f"tasks ran outside the Celery workers: {hosts}"
    # The pipeline's account (mlflow_default) moved the alias; a person (READ) cannot, as the MLflow
    # UI's alias editor would try to: 403, and the alias stays.
    reader = stack.mlflow_reader
    refused = requests.post(
        f"{stack.mlflow_url}/api/2.0/mlflow/registered-models/alias",
        json={"name": MODEL, "alias": "champion", "version": "1"},
        auth=(reader.username, reader.password),
        timeout=30,
    )
    assert refused.status_code == 403, refused.text[:200]
    assert aliases(stack)["champion"] == "1"
    STATE["v1"] = "1"


# -- 3 ---------------------------------------------------------------------------------------------
def test_batch_score_maps_over_both_workers(stack: Stack):
    needs("v1")
    by_host = score_days(stack, SCORE_DAYS, "champion")
    assert set(by_host) == set(stack.worker_names.values()), (
        f"mapped score tasks did not run on both workers: {by_host}"
    )
    STATE["scored"] = by_host


# -- 4 ---------------------------------------------------------------------------------------------
def test_monitor_runs_while_a_person_trains_a_challenger(stack: Stack, web: WebUI):
    """A person triggers ``retrain_churn`` from its Params form while ``monitor_churn`` runs (two
    DAG runs share the two workers); the form's values reach the run, the run page shows every
    task *Success*, and the qualify task's log says what became of v2, with its MLflow URL."""
    needs("scored")
    dag_id = f"retrain_{MODEL}"
    with stack.phase("web UI: retrain form + monitor (concurrent)"):
        dialog = web.trigger_form(dag_id)
        # Optional Params are optional: the form opens without an error and could be sent as is.
        expect(dialog.get_by_text("This field is required")).to_have_count(0)
        expect(dialog.get_by_test_id("trigger-dag-submit")).to_be_enabled()
        web.shot("02-retrain-form-defaults")
        dialog.locator("input[name=element_window_end]").fill(TRAIN_END)
        dialog.locator("input[name=element_window_days]").fill(str(WINDOW_DAYS))
        dialog.get_by_text("Retrain even if this window was already trained").click()
        dialog.locator("input[name=element_reason]").fill(RETRAIN_REASON)
        expect(dialog.locator("input[name=element_force]")).to_be_checked()
        web.shot("03-retrain-form-filled")
        retrain = web.submit_trigger(dialog, dag_id)
        monitor = stack.trigger(f"monitor_{MODEL}", {"ds": SCORE_DAYS[-1]})
        stack.wait_run(f"monitor_{MODEL}", monitor)
        stack.wait_run(dag_id, retrain)
        # The run page (opened by the form) shows it without a reload: every task and the badge.
        expect(web.page.get_by_text("Success", exact=True)).to_have_count(RETRAIN_TASKS + 1, timeout=30_000)
        web.shot("04-retrain-success")

    run = stack.api("GET", f"/dags/{dag_id}/dagRuns/{retrain}")
    assert run["triggered_by"] == "ui" and run["triggering_user_name"] == ADMIN, run
    assert run["conf"]["window_end"] == TRAIN_END and run["conf"]["window_days"] == WINDOW_DAYS, run["conf"]
    assert run["conf"]["force"] is True and run["conf"]["reason"] == RETRAIN_REASON, run["conf"]
    pulled = stack.api("GET", f"/dags/{dag_id}/dagRuns/{retrain}/taskInstances/pull_features/xcomEntries/return_value")
    start = (dt.date.fromisoformat(TRAIN_END) - dt.timedelta(days=WINDOW_DAYS)).isoformat()
    assert str(pulled["value"]["window_start"]).startswith(start), pulled["value"]

    log = web.log_lines(dag_id, retrain, "qualify")
    web.shot("05-qualify-log")
    v2_url = f"{stack.mlflow_url}/#/models/{MODEL}/versions/2"
    qualified = rf"{MODEL} v2: challenger \(passed every gate.*\): {re.escape(v2_url)}"
    assert re.search(qualified, log), log

    report = s3_json(stack, f"reports/{MODEL}/monitor/ds={SCORE_DAYS[-1]}/summary.json")
    assert str(report["champion_version"]) == "1"
    assert report["decision"]["summary"], report["decision"]
    assert f"reports/{MODEL}/monitor/ds={SCORE_DAYS[-1]}/drift_report.html" in s3_keys(
        stack, f"reports/{MODEL}/monitor/"
    )
    assert aliases(stack) == {"champion": "1", "challenger": "2"}
    stack.evidence["monitor decision"] = report["decision"]["summary"]
    window = [pulled["value"]["window_start"], pulled["value"]["window_end"]]
    stack.evidence["web UI retrain"] = {"run_id": retrain, "conf": run["conf"], "training window": window}
    STATE["v2"] = "2"


# -- 5 ---------------------------------------------------------------------------------------------
def test_shadow_evidence_then_a_person_approves_the_promotion(stack: Stack, web: WebUI):
    """Shadow scoring (the scheduler's part), its progress in a score task's log; then a person
    triggers ``promote_churn`` from its form with the defaults, reads the evidence in Required
    Actions and approves; the promote task's log shows the audit records and the new champion,
    and its extra link opens the model version in MLflow."""
    needs("v2")
    run_id, _ = stack.run_dag(
        f"batch_score_{MODEL}", {"ds": SHADOW_DAYS[0], "ds_end": SHADOW_DAYS[-1]}, label="batch_score (shadow)"
    )
    check_scoring(stack, run_id, SHADOW_DAYS, version="1")
    for ds in SHADOW_DAYS:
        assert s3_keys(stack, f"shadow_predictions/{MODEL}/ds={ds}/"), f"no shadow predictions for {ds}"
    progress = web.log_lines(f"batch_score_{MODEL}", run_id, "score", map_index=0)
    web.shot("06-score-progress-log")
    per_chunk = r"unit 0 of \d{4}-\d\d-\d\d: [\d,]+/[\d,]+ rows done \(\d+%\), [\d,]+ rows/s, ETA \d+m\d\ds"
    assert re.search(per_chunk, progress), progress

    dag_id = f"promote_{MODEL}"
    with stack.phase("web UI: promote form + approval"):
        promote = web.submit_trigger(web.trigger_form(dag_id), dag_id)  # every Param at its default
        stack.wait_task(dag_id, promote, "approve", "awaiting_input")  # a HITL task parks
        shown = web.answer_required_action(f"Promote {MODEL} challenger to champion?", "Approve", APPROVAL_REASON)
        stack.wait_run(dag_id, promote)
    assert "challenger v2 vs champion v1: ready to promote" in shown, shown
    assert "[PASS] min_shadow_batches: 3 shadow batches, needs 3" in shown, shown
    assert "This field is required" not in shown

    log = web.log_lines(dag_id, promote, "promote")
    web.shot("07-promote-log")
    actor = f"airflow:{dag_id}/{promote}"
    assert "v2 shadow -> champion succeeded: shadow evidence passed every criterion" in log, log
    assert f"approved by {ADMIN}: {APPROVAL_REASON} (by {actor})" in log, log
    assert f"v1 champion -> archived succeeded: superseded by v2 (by {actor})" in log, log
    assert f"{MODEL} v2 is champion (was v1): {stack.mlflow_url}/#/models/{MODEL}/versions/2" in log, log

    mlflow_page = web.follow_extra_link(dag_id, promote, "promote", "MLflow model version")
    # MLflow's UI is a JavaScript app that loads its page after the tab opens: a busy machine
    # takes well over the default 5 s (seen: still "Page loading..." at load 10).
    expect(mlflow_page.get_by_text("Version 2", exact=True).first).to_be_visible(timeout=60_000)
    expect(mlflow_page.get_by_text("@ champion").first).to_be_visible()
    expect(mlflow_page.get_by_text("Validation gates: all passed.").first).to_be_visible()
    web.shot("08-mlflow-version", page=mlflow_page)
    mlflow_page.close()

    assert aliases(stack) == {"champion": "2", "challenger": None}
    rows = audit_rows(stack)
    assert moves(rows, "2")[-1] == ("shadow", "champion", "succeeded"), moves(rows, "2")
    assert moves(rows, "1")[-1] == ("champion", "archived", "succeeded"), moves(rows, "1")
    promoted = [r for r in rows if r["version"] == "2" and r["to_stage"] == "champion"][-1]
    assert promoted["actor"] == actor and APPROVAL_REASON in promoted["reason"], promoted
    STATE["promoted"] = True


# -- 6 ---------------------------------------------------------------------------------------------
def test_a_person_rolls_back_from_the_form(stack: Stack, web: WebUI):
    """``rollback_churn`` from its form: Trigger waits for the (required) reason; the rollback
    task's log shows the audit records it wrote, read back from the audit database."""
    needs("promoted")
    dag_id = f"rollback_{MODEL}"
    with stack.phase("web UI: rollback form"):
        dialog = web.trigger_form(dag_id)
        submit = dialog.get_by_test_id("trigger-dag-submit")
        expect(submit).to_be_disabled()  # the one required Param: a rollback is audited with its reason
        dialog.locator("input[name=element_reason]").fill(ROLLBACK_REASON)
        web.shot("09-rollback-form")
        rollback = web.submit_trigger(dialog, dag_id)
        stack.wait_run(dag_id, rollback)

    log = web.log_lines(dag_id, rollback, "rollback")
    web.shot("10-rollback-audit-trail")
    actor = f"airflow:{dag_id}/{rollback}"
    assert f"v1 archived -> champion succeeded: rollback: {ROLLBACK_REASON} (by {actor})" in log, log
    assert "v2 champion -> rejected succeeded: " in log, log

    assert aliases(stack)["champion"] == "1"
    rows = audit_rows(stack)
    stack.evidence["audit trail (ml_deployments)"] = [
        f"v{r['version']} {r['from_stage']} -> {r['to_stage']} {r['status']}" for r in rows
    ]
    assert {row["status"] for row in rows} == {"succeeded"}, "a move is pending or failed"
    assert moves(rows, "1") == [
        (None, "candidate", "succeeded"),
        ("candidate", "champion", "succeeded"),
        ("champion", "archived", "succeeded"),
        ("archived", "champion", "succeeded"),
    ]
    assert moves(rows, "2") == [
        (None, "candidate", "succeeded"),
        ("candidate", "shadow", "succeeded"),
        ("shadow", "champion", "succeeded"),
        ("champion", "rejected", "succeeded"),
    ]
    rolled = [r for r in rows if r["version"] == "1" and r["to_stage"] == "champion"][-1]
    assert ROLLBACK_REASON in rolled["reason"] and rolled["actor"] == actor, rolled
    assert audit_stages(stack) == {"1": "champion", "2": "rejected"}
    stack.evidence["MLflow aliases after rollback"] = aliases(stack)


# -- 7 ---------------------------------------------------------------------------------------------
def test_a_person_reads_the_model_card_and_the_drift_report(stack: Stack, web: WebUI):
    """The HTML reports the pipelines wrote, in the browser: the model card (MLflow artifact of the
    version's run) with its evidence as tables and fitting the window, and the drift report
    (S3) with its title and the test that decided each column (the config's PSI for
    ``discount_pct``)."""
    needs("v2")
    reader = stack.mlflow_reader
    assert reader is not None
    run_id = stack.mlflow().get_model_version(MODEL, "2").run_id
    download = requests.get(  # the MLflow UI's artifact download, as the read-only user
        f"{stack.mlflow_url}/get-artifact",
        params={"path": "model_card/model_card.html", "run_uuid": run_id},
        auth=(reader.username, reader.password),
        timeout=60,
    )
    assert download.status_code == 200, download.text[:300]
    card = web.show_document(download.text, "11-model-card")
    assert card.title() == f"Model card: {MODEL} v2", card.title()
    for heading in ("Validation gates", "Shadow evidence", "Promotion history"):
        expect(card.get_by_role("heading", name=heading)).to_be_visible()
    expect(card.get_by_role("table").first).to_be_visible()
    assert "**" not in card.inner_text("body") and not web.overflows_horizontally(card)
    card.close()

    day = SCORE_DAYS[-1]
    body = stack.s3().get_object(Bucket=stack.bucket, Key=f"data/reports/{MODEL}/monitor/ds={day}/drift_report.html")
    report = web.show_document(body["Body"].read().decode(), "12-drift-report")
    assert report.title() == f"Drift report: {MODEL}, ds={day}", report.title()
    verdicts = report.locator("section.mlops-verdicts")
    expect(verdicts.get_by_role("heading", name=f"Drift report: {MODEL}, ds={day}")).to_be_visible()
    discount = verdicts.get_by_role("row").filter(has_text="discount_pct")
    expect(discount.get_by_role("cell").nth(2)).to_have_text("psi")
    report.close()


# -- 8 ---------------------------------------------------------------------------------------------
def test_prometheus_has_the_numbers_of_the_runs(stack: Stack):
    """What the runs above pushed (connection ``pushgateway_default``), read back from Prometheus's
    HTTP API, equals what they wrote: the last batch_score run's manifest summaries, the monitor
    run's summary.json and the audit trail of the deploy moves (docs/production.md, "Metrics")."""
    from include.observe.names import Job
    from tests.fixtures.services import wait_for_series

    needs("v2")
    url = stack.prometheus_url

    def value(query: str, expected: float) -> float:
        def equal(result: list) -> bool:
            return len(result) == 1 and float(result[0]["value"][1]) == pytest.approx(expected)

        (series,) = wait_for_series(url, query, equal, timeout=60)
        return float(series["value"][1])

    def midnight(ds: str) -> float:
        return dt.datetime.fromisoformat(f"{ds}T00:00:00+00:00").timestamp()

    # Batch scoring: the last run (the group holds one run), every date it published, summed.
    storage = stack.storage()
    manifests = {ds: read_manifest(storage, "predictions", MODEL, ds) for ds in (*SCORE_DAYS, *SHADOW_DAYS)}
    last_day = max(ds for ds, m in manifests.items() if m is not None)
    last_run = manifests[last_day].meta["run_id"]  # type: ignore[union-attr]
    summaries = [m.meta["summary"] for m in manifests.values() if m is not None and m.meta["run_id"] == last_run]
    version = str(manifests[last_day].meta["model_version"])  # type: ignore[union-attr]
    scoring = f'job="{Job.SCORING}",model="{MODEL}",version="{version}"'
    for key in ("rows_in", "rows_scored", "rows_quarantined", "rows_flagged"):
        total = sum(s[key] for s in summaries)
        assert value(f"mlops_scoring_{key}{{{scoring}}}", total) == total
    assert value(f"mlops_scoring_ds_timestamp_seconds{{{scoring}}}", midnight(last_day)) == midnight(last_day)
    assert value(f'mlops_scoring_dates{{{scoring},outcome="published"}}', len(summaries)) == len(summaries)

    # Monitor: the day it checked, as its summary.json says.
    report = s3_json(stack, f"reports/{MODEL}/monitor/ds={SCORE_DAYS[-1]}/summary.json")
    monitor = f'job="{Job.MONITOR}",model="{MODEL}",version="{report["champion_version"]}"'
    features = report["drift"]["features"]
    assert value(f"mlops_monitor_drift_share{{{monitor}}}", features["share_drifted"]) == pytest.approx(
        features["share_drifted"]
    )
    for column in features["columns"]:
        flag = float(column["drifted"])
        assert value(f'mlops_monitor_column_drift{{{monitor},column="{column["column"]}"}}', flag) == flag
    trained = dt.datetime.fromisoformat(report["champion_created"]).timestamp()
    assert value(f"mlops_champion_trained_timestamp_seconds{{{monitor}}}", trained) == trained

    # Deploy: the last move (the rollback to v1) and the audit trail's stage changes, each once.
    rows = audit_rows(stack)
    champion = audit_stages(stack)
    (current,) = [v for v, stage in champion.items() if stage == "champion"]
    deploy = f'job="{Job.DEPLOY}",model="{MODEL}",version="{current}"'
    assert value(f"mlops_deploy_champion_version{{{deploy}}}", int(current)) == int(current)
    for stage in {r["to_stage"] for r in rows}:
        count = len([r for r in rows if r["to_stage"] == stage and r["status"] == "succeeded"])
        assert value(f'mlops_deploy_stage_changes_total{{{deploy},to_stage="{stage}"}}', count) == count
    moved = wait_for_series(url, f'mlops_deploy_last_move_timestamp_seconds{{{deploy},action="rollback"}}', timeout=60)
    assert len(moved) == 1, moved
    stack.evidence["Prometheus series checked"] = {
        "scoring": {"run": last_run, "dates": len(summaries), "version": version},
        "monitor": {"ds": SCORE_DAYS[-1], "columns": len(features["columns"])},
        "deploy": {"champion": current, "stage changes": len(rows)},
    }


# -- 9 ---------------------------------------------------------------------------------------------
def test_a_person_checks_model_health_in_the_airflow_ui(stack: Stack, web: WebUI):
    """The "Model health" view (plugins/mlops_airflow/health_view.py), opened from the Airflow
    navigation: the model list with the model's status and why, then the model's page with the
    champion (v1 again after step 6), the drift plot of the monitored day and the stage changes
    of steps 2-6 with who made them and why. Its JSON API, with the REST API's bearer token,
    agrees with the audit tables, the monitor summary and the manifests in S3; without a token
    it answers 401. Screenshots: ``ui-model-health-*.png``."""
    needs("promoted")
    view = f"{stack.api_url}/mlops-health"
    assert requests.get(f"{view}/api/models/{MODEL}", timeout=30).status_code == 401
    answer = requests.get(
        f"{view}/api/models/{MODEL}", headers={"Authorization": f"Bearer {stack.token()}"}, timeout=120
    )
    assert answer.status_code == 200, answer.text[:1000]
    health = answer.json()
    assert health["problems"] == [] and health["champion"] == "1", health["problems"]
    rows = audit_rows(stack)
    stages = {v["version"]: v["stage"] for v in health["versions"]}
    assert stages == audit_stages(stack) == {"1": "champion", "2": "rejected"}
    for version in health["versions"]:
        shown = [(m["from_stage"], m["to_stage"], m["status"]) for m in version["moves"]]
        assert shown == moves(rows, version["version"]), version
    monitored = [p["ds"] for p in health["monitor"]]
    assert SCORE_DAYS[-1] in monitored, monitored
    day = next(p for p in health["monitor"] if p["ds"] == SCORE_DAYS[-1])
    summary = s3_json(stack, f"reports/{MODEL}/monitor/ds={SCORE_DAYS[-1]}/summary.json")
    assert day["drift_share"] == summary["drift"]["features"]["share_drifted"], day
    assert [p["ds"] for p in health["scoring"]] == [*SCORE_DAYS, *SHADOW_DAYS]
    manifest = read_manifest(stack.storage(), "predictions", MODEL, SCORE_DAYS[0])
    assert health["scoring"][0]["rows_scored"] == manifest.meta["summary"]["rows_scored"]
    for kind in ("retrain", "batch_score", "monitor", "promote", "rollback"):
        runs = health["runs"][f"{kind}_{MODEL}"]
        assert runs and runs[0]["state"] == "success" and runs[0]["airflow_url"], (kind, runs)
    assert health["runs"][f"retrain_{MODEL}"][0]["mlflow_url"].startswith(stack.mlflow_url)

    with stack.phase("web UI: model health view"):
        web.goto("/dags")
        web.page.get_by_role("link", name="Model health").first.click()
        web.page.wait_for_url(re.compile(r".*/plugin/model-health$"))
        frame = web.page.frame_locator("iframe")
        expect(frame.get_by_role("heading", name="Model health")).to_be_visible()
        row = frame.get_by_role("row").filter(has=frame.get_by_role("link", name=MODEL, exact=True))
        expect(row.locator(".status")).to_have_text(health["status"]["status"])
        expect(row.get_by_text(health["status"]["reason"])).to_be_visible()
        web.shot("model-health-1-list")

        row.get_by_role("link", name=MODEL, exact=True).click()
        expect(frame.get_by_role("heading", name="Versions and stage timeline")).to_be_visible()
        expect(frame.get_by_text("champion v1", exact=True)).to_be_visible()
        drift = frame.locator("#chart-drift-share")
        expect(drift.locator("circle")).to_have_count(len(monitored))
        expect(drift.locator("circle title").last).to_contain_text(f"drift share {monitored[-1]}: ")
        web.shot("model-health-2-model")
        rollback = frame.locator("#version-1 + table").get_by_role("row").filter(has_text=ROLLBACK_REASON)
        expect(rollback.get_by_text("archived")).to_be_visible()
        expect(rollback.get_by_role("link", name=f"rollback_{MODEL} / ")).to_be_visible()
        rollback.scroll_into_view_if_needed()
        web.shot("model-health-3-stage-timeline")
        assert not web.page.evaluate(
            "() => { const d = document.querySelector('iframe').contentDocument.documentElement;"
            " return d.scrollWidth > d.clientWidth; }"
        ), "the view is wider than the iframe"
