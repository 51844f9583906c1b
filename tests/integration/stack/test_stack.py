"""The MLOps cycle on the distributed stack, driven like a user drives it: the Airflow REST API.

The stack (conftest.py, airflow_stack.py) is the docker compose topology from local processes:
CeleryExecutor with a Redis broker and two workers, PostgreSQL for Airflow, MLflow and the
audit trail, S3 (moto) for data and MLflow artifacts. The tests run in file order, each a step
of the model's life that the next one builds on:

1. the stack is up: components healthy, both workers answer, connections and pool in place;
2. ``retrain_churn``: the first model (v1) becomes champion;
3. ``batch_score_churn`` on three days: one mapped ``score`` task per unit, spread over both
   Celery workers (the task instances' hostnames), predictions published to S3 with manifests;
4. ``monitor_churn`` while a second ``retrain_churn`` (force) trains the challenger (v2);
5. shadow scoring of three more days, then ``promote_churn``: v2 champion on that evidence;
6. ``rollback_churn`` with a reason: v1 champion again.

Afterwards the outputs are where a person would look: S3 (partitions and manifests), the MLflow
registry (aliases) and the audit tables in PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from include.platform.partitions import read_manifest
from tests.integration.stack.airflow_stack import DAG_IDS, MODEL, Stack

TRAIN_END = "2026-02-10"
SCORE_DAYS = ("2026-02-11", "2026-02-12", "2026-02-13")
SHADOW_DAYS = ("2026-02-14", "2026-02-15", "2026-02-16")

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
def test_monitor_runs_while_a_challenger_trains(stack: Stack):
    """Two DAG runs at once share the two workers: monitoring v1 while v2 trains."""
    needs("scored")
    with stack.phase("monitor + retrain v2 (concurrent)"):
        retrain = stack.trigger(f"retrain_{MODEL}", {"window_end": TRAIN_END, "force": True, "reason": "challenger"})
        monitor = stack.trigger(f"monitor_{MODEL}", {"ds": SCORE_DAYS[-1]})
        stack.wait_run(f"monitor_{MODEL}", monitor)
        stack.wait_run(f"retrain_{MODEL}", retrain)
    report = s3_json(stack, f"reports/{MODEL}/monitor/ds={SCORE_DAYS[-1]}/summary.json")
    assert str(report["champion_version"]) == "1"
    assert report["decision"]["summary"], report["decision"]
    assert f"reports/{MODEL}/monitor/ds={SCORE_DAYS[-1]}/drift_report.html" in s3_keys(
        stack, f"reports/{MODEL}/monitor/"
    )
    assert aliases(stack) == {"champion": "1", "challenger": "2"}
    stack.evidence["monitor decision"] = report["decision"]["summary"]
    STATE["v2"] = "2"


# -- 5 ---------------------------------------------------------------------------------------------
def test_shadow_evidence_then_promotion(stack: Stack):
    needs("v2")
    score_days(stack, SHADOW_DAYS, "shadow")
    for ds in SHADOW_DAYS:
        assert s3_keys(stack, f"shadow_predictions/{MODEL}/ds={ds}/"), f"no shadow predictions for {ds}"

    stack.run_dag(f"promote_{MODEL}", {}, label="promote")

    assert aliases(stack) == {"champion": "2", "challenger": None}
    rows = audit_rows(stack)
    assert moves(rows, "2")[-1] == ("shadow", "champion", "succeeded"), moves(rows, "2")
    assert moves(rows, "1")[-1] == ("champion", "archived", "succeeded"), moves(rows, "1")
    STATE["promoted"] = True


# -- 6 ---------------------------------------------------------------------------------------------
def test_rollback_restores_the_previous_champion(stack: Stack):
    needs("promoted")
    reason = "stack suite: v2 misbehaves in production"
    stack.run_dag(f"rollback_{MODEL}", {"reason": reason}, label="rollback")

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
    v2 = moves(rows, "2")
    assert v2[:3] == [
        (None, "candidate", "succeeded"),
        ("candidate", "shadow", "succeeded"),
        ("shadow", "champion", "succeeded"),
    ]
    assert v2[-1][:2] in {("champion", "rejected"), ("champion", "archived")}, v2
    rollback = [r for r in rows if r["version"] == "1" and r["to_stage"] == "champion"][-1]
    assert reason in rollback["reason"] and rollback["actor"].startswith(f"airflow:rollback_{MODEL}/"), rollback
    stages = audit_stages(stack)
    assert stages["1"] == "champion" and stages["2"] == v2[-1][1], stages
    stack.evidence["MLflow aliases after rollback"] = aliases(stack)
