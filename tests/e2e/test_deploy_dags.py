"""promote_churn and rollback_churn end to end, built up like a real deployment.

Airflow runs the DAGs (`airflow dags test`) against a real MLflow server of this module, data in
a local data root, and the audit trail in a real database (a SQLite file of this module; one run
through a PostgreSQL Airflow connection). Nothing touches the developer's ``.local`` state.

The module follows the life of the ``churn`` model: v1 champion, v2 challenger with three days of
shadow scoring, then promotions, refusals, a freeze, a failed health check, rollbacks and an
approval through the REST API. Each test brings the registry to the state it needs (a ready
challenger is trained and shadow-scored when there is none) and asserts its own behaviour.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sqlite3
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from include.config import ModelConfig, load_config, parse_config
from include.deploy import moves as deploy
from include.deploy.evidence import shadow_evidence, shadow_runs
from include.errors import RefusedMove
from include.platform.audit import AuditStore
from include.platform.registry import ModelRegistry
from include.platform.stages import StageTransitionError
from tests.e2e.conftest import AIRFLOW, PROJECT, AirflowProject, DagRunResult
from tests.fixtures.services import (
    LOOPBACK,
    ServiceUnavailable,
    free_port,
    fresh_postgres_db,
    postgres_admin,
    start_mlflow,
    start_service,
)

MODEL = "churn"
CONFIG_FILE = PROJECT / "include" / "models" / f"{MODEL}.yaml"
TRAIN_END = "2026-02-10"
SHADOW = ("2026-02-11", "2026-02-13")  # three days of shadow evidence: enough for every criterion
EXTRA_DAY = "2026-02-14"
LATENCY_LIMIT = 60_000  # ms per 1,000 rows
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
CANARY_RUNBOOKS = ("canary-halt.md", "canary-advanced.md")  # run by the canary test on its canary
AB_RUNBOOKS = ("ab-decision.md",)  # run by the A/B test on the test it rejected


# -- the deployment ----------------------------------------------------------------------------
@dataclass
class Deployment:
    project: AirflowProject
    env: dict[str, str]
    tmp: Path
    tracking_uri: str
    audit_url: str
    config: ModelConfig
    registry: ModelRegistry  # MLflow + the same audit store the DAGs write to
    notify_path: Path

    @property
    def audit(self) -> AuditStore:
        return self.registry.audit

    def run(self, dag_id: str, conf: dict | None = None, **env: str) -> DagRunResult:
        return self.project.run(dag_id, conf=conf, extra_env={**self.env, **env})

    def notes(self) -> list[dict[str, Any]]:
        if not self.notify_path.exists():
            return []
        return [json.loads(line) for line in self.notify_path.read_text().splitlines()]

    def config_dir(self, label: str, **deploy_settings: Any) -> str:
        """A copy of the model config with ``deploy`` settings changed (for MLOPS_CONFIG_DIR)."""
        return write_config(self.tmp / "configs" / label, **deploy_settings)

    def task_states(self, dag_id: str) -> dict[str, str | None]:
        """Task states of the latest run of ``dag_id`` in the Airflow metadata DB."""
        path = self.project.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as db:
            (run_id,) = db.execute(
                "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
            ).fetchone()
            rows = db.execute(
                "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
            ).fetchall()
        return dict(rows)


def write_config(directory: Path, **deploy_settings: Any) -> str:
    """The churn config for these tests, ``deploy`` settings changed.

    Model quality and speed are not under test here: fewer, larger boosting steps make every
    retrain (fit, permutation importance, scoring) several times faster, and the latency limits
    are relaxed so that a loaded CI machine cannot turn a gate or a shadow criterion red.
    """
    data = yaml.safe_load(CONFIG_FILE.read_text())
    data["estimator"]["params"].update(max_iter=40, learning_rate=0.2)
    data["gates"]["max_latency_ms_per_1k"] = LATENCY_LIMIT
    data["deploy"]["max_latency_ms_per_1k"] = LATENCY_LIMIT
    data["deploy"].update(deploy_settings)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return str(directory)


def model_source(dep: Deployment) -> str:
    """v1's logged model: a source for versions registered by the tests themselves."""
    return dep.registry.get(MODEL, "1").source


def bare_version(registry: ModelRegistry, name: str, source: str) -> str:
    """A new version of ``source`` (``models:/<model id>``), no stage yet. MLflow links it to the
    run that logged the model; no test here re-registers that run, so the link is harmless."""
    model_id = source.removeprefix("models:/")
    return str(registry.client.create_model_version(name, source, model_id=model_id).version)


def _version(mv: Any) -> str | None:
    return str(mv.version) if mv is not None else None


def champion(dep: Deployment) -> str | None:
    return _version(dep.registry.alias_version(MODEL, "champion"))


def challenger(dep: Deployment) -> str | None:
    return _version(dep.registry.alias_version(MODEL, "challenger"))


def score(dep: Deployment, ds: str, ds_end: str | None = None) -> None:
    conf = {"ds": ds, **({"ds_end": ds_end} if ds_end else {})}
    run = dep.run(f"batch_score_{MODEL}", conf=conf)
    assert run.succeeded, run.tail()


def new_challenger(dep: Deployment) -> str:
    """retrain_churn force=True: same window, a new run and version that passes every gate."""
    before = challenger(dep)
    run = dep.run(f"retrain_{MODEL}", conf={"window_end": TRAIN_END, "force": True, "reason": "e2e challenger"})
    assert run.succeeded, run.tail()
    version = challenger(dep)
    assert version is not None and version != before, (before, version)
    return version


def ready_challenger(dep: Deployment) -> str:
    """The challenger, trained if there is none, with >= 3 shadow batches against the champion."""
    version = challenger(dep) or new_challenger(dep)
    evidence = shadow_evidence(shadow_runs(dep.registry, dep.config, version), champion(dep))
    if evidence["batches"] < dep.config.deploy.min_shadow_batches:
        score(dep, *SHADOW)
    return version


def previous_champion(dep: Deployment) -> str:
    """The version a rollback restores by default; promotes the challenger first if there is none."""
    if deploy.previous_champion(dep.registry, dep.config) is None:
        ready_challenger(dep)
        run = dep.run(f"promote_{MODEL}")
        assert run.succeeded, run.tail()
    target = deploy.previous_champion(dep.registry, dep.config)
    assert target is not None and target != champion(dep)
    return target


def moves(audit: AuditStore, version: str) -> list[tuple[str | None, str, str]]:
    """(from, to, status) of a version's audited moves, oldest first."""
    return [(h["from_stage"], h["to_stage"], h["status"]) for h in reversed(audit.history(MODEL, version))]


def assert_consistent(dep: Deployment) -> None:
    """MLflow and the audit table agree, and exactly one version is champion in both."""
    assert dep.registry.disagreements(MODEL) == []
    stages = dep.registry.stages(MODEL)
    assert [v for v, s in stages.items() if s == "champion"] == [champion(dep)]
    assert [v for v, s in dep.audit.current(MODEL).items() if s == "champion"] == [champion(dep)]


@contextlib.contextmanager
def postgres_db(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    try:
        admin = postgres_admin("the deploy e2e tests")
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        with fresh_postgres_db(prefix, admin) as url:
            yield url
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def mlflow_deploy(tmp_path_factory):
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-deploy"), name="mlflow-deploy")
    yield server
    server.service.stop()


@pytest.fixture(scope="module")
def dep(airflow_project, mlflow_deploy, tmp_path_factory) -> Deployment:
    """v1 champion, v2 challenger shadow-scored on three days: the start of every test here."""
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import LocalStorage

    tmp = tmp_path_factory.mktemp("deploy")
    storage = LocalStorage(tmp / "data")
    write_sample_data(storage, start=dt.date(2026, 1, 1), days=50, rows_per_day=600, customers=2000)
    audit_path = tmp / "state" / "audit.db"
    audit_url = f"sqlite:///{audit_path}"
    env = {
        "MLOPS_STATE_DIR": str(tmp / "state"),
        "MLOPS_DATA_ROOT": storage.root,
        "MLOPS_CONFIG_DIR": write_config(tmp / "configs" / "base"),
        "MLOPS_NOTIFY_DIR": str(tmp / "notifications"),
        "MLFLOW_TRACKING_URI": mlflow_deploy.tracking_uri,
        "MLOPS_AUDIT_DB_URL": audit_url,
        # Connections win over the variables: pin them too, whatever the caller's env holds.
        "AIRFLOW_CONN_MLOPS_AUDIT": json.dumps({"conn_type": "sqlite", "host": str(audit_path)}),
        "AIRFLOW_CONN_MLFLOW_DEFAULT": json.dumps({"conn_type": "http", "host": mlflow_deploy.tracking_uri}),
        "MLOPS_DEPLOY_POOL": "mlops_deploy",
    }
    airflow_project.cli("pools", "set", "mlops_deploy", "1", "one promotion or rollback at a time", extra_env=env)
    registry = ModelRegistry(mlflow_deploy.tracking_uri, audit=AuditStore(audit_url))
    d = Deployment(
        project=airflow_project,
        env=env,
        tmp=tmp,
        tracking_uri=mlflow_deploy.tracking_uri,
        audit_url=audit_url,
        config=load_config(Path(env["MLOPS_CONFIG_DIR"]) / CONFIG_FILE.name),
        registry=registry,
        notify_path=tmp / "notifications" / f"{MODEL}.jsonl",
    )
    first = d.run(f"retrain_{MODEL}", conf={"window_end": TRAIN_END})
    assert first.succeeded, first.tail()
    assert champion(d) == "1"
    assert new_challenger(d) == "2"
    score(d, *SHADOW)
    yield d
    registry.audit.close()


# -- 1. a good challenger is promoted ------------------------------------------------------------
def test_good_challenger_passes_shadow_and_is_promoted(dep):
    import mlflow

    old, new = champion(dep), ready_challenger(dep)
    notes_before = len(dep.notes())

    run = dep.run(f"promote_{MODEL}")

    assert run.succeeded, run.tail()
    assert "ready to promote" in run.log and "[FAIL]" not in run.log
    assert champion(dep) == new and challenger(dep) is None
    assert dep.registry.stage_of(MODEL, new) == "champion"
    assert dep.registry.stage_of(MODEL, old) == "archived"
    # The audit trail: both moves, succeeded, with who and on what evidence.
    assert moves(dep.audit, new)[-1] == ("shadow", "champion", "succeeded")
    assert moves(dep.audit, old)[-1] == ("champion", "archived", "succeeded")
    assert {h["status"] for h in dep.audit.history(MODEL)} == {"succeeded"}  # nothing pending or failed
    promoted = dep.audit.history(MODEL, new)[0]
    assert promoted["actor"].startswith(f"airflow:promote_{MODEL}/")
    criteria = {c["name"]: c for c in promoted["evidence"]["criteria"]}
    assert {"min_shadow_batches", "min_shadow_rows", "min_shadow_hours", "min_agreement"} <= set(criteria)
    assert all(c["passed"] for c in criteria.values())
    assert criteria["min_shadow_batches"]["value"] >= 3
    assert_consistent(dep)
    # The model card of the new champion shows its stage and the shadow evidence.
    run_id = dep.registry.get(MODEL, new).run_id
    card = Path(
        mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model_card/model_card.md", tracking_uri=dep.tracking_uri)
    ).read_text()
    assert f"v{new}" in card and "stage: **champion**" in card and "## Shadow evidence" in card
    html = mlflow.artifacts.download_artifacts(
        f"runs:/{run_id}/model_card/model_card.html", tracking_uri=dep.tracking_uri
    )
    assert Path(html).stat().st_size > 0
    note = [n for n in dep.notes()[notes_before:] if n["event"] == "promotion"]
    assert len(note) == 1 and note[0]["subject"] == f"v{new} is champion (was v{old})"


def test_a_retried_promote_task_resumes_its_own_finished_move(dep):
    """Airflow retries a task whose worker died after the alias moved: the retry reports the
    move instead of refusing it (``champion is vN, not vM``); another run is still refused."""
    if not dep.audit.history(MODEL, champion(dep))[0]["actor"].startswith(f"airflow:promote_{MODEL}/"):
        ready_challenger(dep)
        assert dep.run(f"promote_{MODEL}").succeeded
    new = champion(dep)
    promoted = dep.audit.history(MODEL, new)[0]
    (previous,) = [
        d["version"] for d in dep.audit.history(MODEL) if d["actor"] == promoted["actor"] and d["version"] != new
    ]
    rows_before = len(dep.audit.history(MODEL))

    retried = deploy.promote_champion(
        dep.registry, dep.config, new, previous, reason="retry", actor=promoted["actor"], evidence={}
    )

    assert retried == {"action": "champion", "version": new, "previous": previous, "resumed": True}
    assert champion(dep) == new and len(dep.audit.history(MODEL)) == rows_before  # nothing recorded twice
    with pytest.raises(RefusedMove, match=f"champion is v{new}"):
        deploy.promote_champion(
            dep.registry, dep.config, new, previous, reason="x", actor=f"airflow:promote_{MODEL}/other", evidence={}
        )


# -- 2. a challenger short of evidence is held, the failing criterion named -----------------------
def test_challenger_with_too_few_shadow_batches_is_held(dep):
    held = champion(dep)
    fresh = new_challenger(dep)
    score(dep, EXTRA_DAY)  # one day only
    notes_before = len(dep.notes())

    run = dep.run(f"promote_{MODEL}")

    assert run.succeeded, run.tail()  # holding a challenger is not a failure
    assert "[FAIL] min_shadow_batches: 1 shadow batches, needs 3" in run.log
    states = dep.task_states(f"promote_{MODEL}")
    assert states["decide"] == "skipped" and states["promote"] == "skipped", states
    assert states["notify"] == "success", states
    note = dep.notes()[notes_before:][-1]
    assert note["event"] == "refused"
    assert note["subject"].startswith(f"promotion refused: challenger v{fresh} vs champion v{held}: not ready:")
    assert "min_shadow_batches" in note["subject"]
    assert "[FAIL] min_shadow_batches: 1 shadow batches, needs 3" in note["body"]
    assert champion(dep) == held and challenger(dep) == fresh
    assert dep.registry.stage_of(MODEL, fresh) == dep.audit.stage_of(MODEL, fresh) == "shadow"
    assert_consistent(dep)


# -- 3. no stage can be skipped ------------------------------------------------------------------
def test_skipping_a_stage_is_refused(dep):
    registry, config = dep.registry, dep.config
    current = champion(dep)
    # A fresh candidate (registered, gates never passed): it may not jump to champion.
    candidate = bare_version(registry, MODEL, model_source(dep))
    registry.record_move(MODEL, candidate, "candidate", reason="registered by the e2e test", actor="e2e")

    def promote(version: str) -> None:
        deploy.promote_champion(
            registry, config, version, current, reason="skip shadow", actor="e2e", evidence={"test": True}
        )

    with pytest.raises(RefusedMove, match=rf"v{candidate} is 'candidate', not 'shadow'"):
        promote(candidate)
    with pytest.raises(StageTransitionError, match=r"from 'candidate' to 'champion'"):
        registry.record_move(MODEL, candidate, "champion", reason="skip shadow", actor="e2e")
    registry.record_move(MODEL, candidate, "rejected", reason="e2e: not good enough", actor="e2e")
    with pytest.raises(RefusedMove, match=rf"v{candidate} is 'rejected', not 'shadow'"):
        promote(candidate)
    with pytest.raises(StageTransitionError, match=r"from 'rejected' to 'champion'"):
        registry.record_move(MODEL, candidate, "champion", reason="come back", actor="e2e")
    # Refused moves leave no trace but the allowed ones.
    assert moves(dep.audit, candidate) == [(None, "candidate", "succeeded"), ("candidate", "rejected", "succeeded")]
    assert champion(dep) == current

    # Rollback restores only a former champion.
    run = dep.run(f"rollback_{MODEL}", conf={"reason": "e2e: restore a never-champion", "target_version": candidate})

    assert not run.succeeded
    assert f"v{candidate} is 'rejected' and was never champion" in run.log
    assert dep.task_states(f"rollback_{MODEL}")["rollback"] == "failed"
    assert champion(dep) == current and registry.stage_of(MODEL, candidate) == "rejected"
    assert_consistent(dep)


# -- 4. freeze windows ---------------------------------------------------------------------------
def test_promotion_in_a_freeze_window_is_refused_unless_overridden(dep):
    frozen = dep.config_dir("frozen", freeze_weekdays=WEEKDAYS)
    held, ready = champion(dep), ready_challenger(dep)

    refused = dep.run(f"promote_{MODEL}", MLOPS_CONFIG_DIR=frozen)

    assert not refused.succeeded
    assert "promotion refused" in refused.log and "promotions are frozen on mon, tue" in refused.log
    states = dep.task_states(f"promote_{MODEL}")
    assert states["check_freeze"] == "failed" and states["promote"] == "upstream_failed", states
    assert champion(dep) == held and challenger(dep) == ready
    assert dep.audit.stage_of(MODEL, ready) == "shadow"

    reason = "hotfix approved by X"
    overridden = dep.run(f"promote_{MODEL}", conf={"freeze_override_reason": reason}, MLOPS_CONFIG_DIR=frozen)

    assert overridden.succeeded, overridden.tail()
    assert champion(dep) == ready
    row = dep.audit.history(MODEL, ready)[0]
    assert (row["from_stage"], row["to_stage"], row["status"]) == ("shadow", "champion", "succeeded")
    assert row["evidence"]["freeze"]["override_reason"] == reason and row["evidence"]["freeze"]["frozen"] is True
    assert reason in row["reason"]
    tags = dep.registry.get(MODEL, ready).tags
    assert json.loads(tags["mlops.evidence.champion"])["freeze"]["override_reason"] == reason
    assert reason in json.loads(tags["mlops.history"])[-1]["reason"]
    assert_consistent(dep)


# -- 7. a failed health check rolls back ---------------------------------------------------------
def test_health_check_failure_rolls_back(dep):
    import mlflow
    import pandas as pd

    from include.contracts import Column

    previous, bad = champion(dep), ready_challenger(dep)
    # The champion-to-be no longer reproduces the scores recorded at training.
    run_id = dep.registry.get(MODEL, bad).run_id
    local = mlflow.artifacts.download_artifacts(
        f"runs:/{run_id}/data/health_sample.parquet", tracking_uri=dep.tracking_uri
    )
    sample = pd.read_parquet(local)
    sample[Column.EXPECTED_SCORE] = (sample[Column.EXPECTED_SCORE] + 0.3).clip(upper=1.0) - 0.1
    tampered = dep.tmp / "tampered" / "health_sample.parquet"
    tampered.parent.mkdir(exist_ok=True)
    sample.to_parquet(tampered)
    dep.registry.client.log_artifact(run_id, str(tampered), "data")
    notes_before = len(dep.notes())

    run = dep.run(f"promote_{MODEL}")

    assert not run.succeeded
    assert f"health check failed after promoting v{bad}; rolled back to v{previous}" in run.log
    states = dep.task_states(f"promote_{MODEL}")
    assert states["promote"] == "success" and states["health_check"] == "failed", states
    assert champion(dep) == previous
    assert dep.registry.stage_of(MODEL, bad) == "rejected"
    rollbacks = [n for n in dep.notes()[notes_before:] if n["event"] == "rollback"]
    assert len(rollbacks) == 1 and f"rolled back to v{previous}" in rollbacks[0]["subject"]
    assert "scores differ from training's" in rollbacks[0]["body"]
    assert moves(dep.audit, bad)[-2:] == [("shadow", "champion", "succeeded"), ("champion", "rejected", "succeeded")]
    assert moves(dep.audit, previous)[-2:] == [
        ("champion", "archived", "succeeded"),
        ("archived", "champion", "succeeded"),
    ]
    assert dep.audit.history(MODEL, previous)[0]["reason"].startswith(f"rollback: health check failed for v{bad}")
    assert_consistent(dep)


# -- 8. rollback_churn ---------------------------------------------------------------------------
def test_rollback_restores_the_previous_champion(dep):
    from include.platform.partitions import read_manifest, read_partition
    from include.platform.storage import LocalStorage

    target = previous_champion(dep)
    replaced = champion(dep)
    notes_before = len(dep.notes())

    without_reason = dep.run(f"rollback_{MODEL}")
    assert not without_reason.succeeded
    assert "Invalid input for param reason: No value passed" in without_reason.log
    assert champion(dep) == replaced

    reason = "e2e: retention team reports bad rankings"
    run = dep.run(f"rollback_{MODEL}", conf={"reason": reason})

    assert run.succeeded, run.tail()
    assert champion(dep) == target
    assert dep.registry.stage_of(MODEL, replaced) == "rejected"
    assert dep.audit.stage_of(MODEL, replaced) == "rejected"
    assert moves(dep.audit, target)[-1] == ("archived", "champion", "succeeded")
    assert moves(dep.audit, replaced)[-1] == ("champion", "rejected", "succeeded")
    restored = dep.audit.history(MODEL, target)[0]
    assert restored["reason"] == f"rollback: {reason}" and restored["actor"].startswith(f"airflow:rollback_{MODEL}/")
    # The rollback task's log reads the records back from the audit database, for the person.
    record = f"audit trail #{restored['deployment_id']}: v{target} archived -> champion succeeded"
    assert f"{record}: rollback: {reason} (by {restored['actor']})" in run.log
    note = [n for n in dep.notes()[notes_before:] if n["event"] == "rollback"]
    assert note and note[-1]["subject"] == f"rolled back: v{target} is champion again (v{replaced} rejected)"
    # The body says why and how the restored version's health check went, then links the run.
    body = note[-1]["body"]
    assert f"reason: {reason}" in body and f"health check of v{target}: passed" in body
    assert_consistent(dep)

    # The next scoring run uses the restored model.
    day = "2026-02-15"
    score(dep, day)
    storage = LocalStorage(dep.env["MLOPS_DATA_ROOT"])
    assert set(read_partition(storage, "predictions", MODEL, day)["model_version"]) == {target}
    assert read_manifest(storage, "predictions", MODEL, day).meta["model_version"] == target


def test_a_retried_rollback_task_resumes_its_own_finished_move(dep):
    if not dep.audit.history(MODEL, champion(dep))[0]["actor"].startswith(f"airflow:rollback_{MODEL}/"):
        assert dep.run(f"rollback_{MODEL}", conf={"reason": "e2e: set up a rollback"}).succeeded
    restored = champion(dep)
    moved = dep.audit.history(MODEL, restored)[0]
    (replaced,) = [
        d["version"] for d in dep.audit.history(MODEL) if d["actor"] == moved["actor"] and d["version"] != restored
    ]
    rows_before = len(dep.audit.history(MODEL))

    retried = deploy.rollback(dep.registry, dep.config, target=None, reason="retry", actor=moved["actor"])

    assert retried == {
        "action": "rollback",
        "restored": restored,
        "replaced": replaced,
        "bad_stage": "rejected",
        "resumed": True,
    }
    assert champion(dep) == restored and len(dep.audit.history(MODEL)) == rows_before
    with pytest.raises(RefusedMove, match="already the champion"):
        deploy.rollback(dep.registry, dep.config, target=restored, reason="x", actor=f"airflow:rollback_{MODEL}/other")


# -- 5. approval through the REST API, as the web UI does it ---------------------------------------
@dataclass
class ApiServer:
    url: str
    token: str

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def api_server(dep, tmp_path_factory) -> Iterator[ApiServer]:
    """``airflow api-server`` on the same metadata DB, with a password user of the simple auth manager."""
    tmp = tmp_path_factory.mktemp("api-server")
    passwords = tmp / "passwords.json"
    passwords.write_text(json.dumps({"reviewer": "e2e-secret"}))
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    env = {
        **dep.project.env,
        **dep.env,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "reviewer:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__API__BASE_URL": url,
    }
    service = start_service(
        "airflow-api-server",
        [AIRFLOW, "api-server", "--host", LOOPBACK, "--port", str(port), "--workers", "1"],
        ready_url=f"{url}/api/v2/monitor/health",
        log_dir=tmp,
        timeout=120,
        env=env,
        cwd=PROJECT,
    )
    try:
        # Log in as the UI's login form does: POST /auth/token with the user's credentials.
        request = urllib.request.Request(
            f"{url}/auth/token",
            data=json.dumps({"username": "reviewer", "password": "e2e-secret"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            token = json.loads(response.read())["access_token"]
        yield ApiServer(url=url, token=token)
    finally:
        service.stop()


def _answer_approval(dep: Deployment, api: ApiServer, choice: str, reason: str) -> tuple[DagRunResult, dict]:
    """Start promote_churn in the background, answer its approval over the REST API."""
    approval_dir = dep.config_dir("approval", approval_required=True)
    background = dep.project.start(f"promote_{MODEL}", extra_env={**dep.env, "MLOPS_CONFIG_DIR": approval_dir})
    try:
        deadline = time.monotonic() + 240
        waiting = None
        while waiting is None:
            assert background.process.poll() is None, background.log()[-4000:]
            assert time.monotonic() < deadline, "the approve task never waited for input:\n" + background.log()[-4000:]
            listed = api.call("GET", f"/api/v2/dags/promote_{MODEL}/dagRuns/~/hitlDetails?response_received=false")
            waiting = next((h for h in listed["hitl_details"] if h["task_instance"]["state"] == "awaiting_input"), None)
            if waiting is None:
                time.sleep(1)
        ti = waiting["task_instance"]
        assert ti["task_id"] == "approve" and waiting["options"] == ["Approve", "Reject"]
        assert waiting["subject"] == f"Promote {MODEL} challenger to champion?"
        assert "ready to promote" in waiting["body"]  # the evidence summary is shown to the approver
        path = f"/api/v2/dags/promote_{MODEL}/dagRuns/{ti['dag_run_id']}/taskInstances/approve/-1/hitlDetails"
        assert "reason" in waiting["params"]  # the form asks for a reason
        answered = api.call("PATCH", path, {"chosen_options": [choice], "params_input": {"reason": reason}})
        assert answered["chosen_options"] == [choice] and answered["responded_by"]["name"] == "reviewer"
        result = background.wait(timeout=300)
    finally:
        background.stop()
    return result, api.call("GET", path)


def test_approval_rejected_then_approved_through_the_rest_api(dep, api_server):
    held, doubtful = champion(dep), ready_challenger(dep)
    notes_before = len(dep.notes())

    rejected, detail = _answer_approval(dep, api_server, "Reject", "e2e: the retention team wants one more week")

    assert rejected.succeeded, rejected.tail()
    assert detail["response_received"] and detail["chosen_options"] == ["Reject"]
    assert detail["responded_by_user"]["name"] == "reviewer"
    states = dep.task_states(f"promote_{MODEL}")
    assert states["approve"] == "success" and states["promote"] == "skipped", states
    assert states["health_check"] == "skipped" and states["record_rejection"] == "success", states
    assert states["notify"] == "success", states
    assert "Skipping downstream tasks" in rejected.log
    # The champion stays; the challenger is retired with who rejected it and why, on record.
    assert champion(dep) == held and challenger(dep) is None
    assert dep.registry.stage_of(MODEL, doubtful) == "rejected"
    assert moves(dep.audit, doubtful)[-1] == ("shadow", "rejected", "succeeded")
    retired = dep.audit.history(MODEL, doubtful)[0]
    assert retired["reason"] == "rejected at approval by reviewer: e2e: the retention team wants one more week"
    assert retired["evidence"]["approval"]["choice"] == "Reject" and retired["evidence"]["approval"]["by"] == "reviewer"
    notes = dep.notes()[notes_before:]
    assert [(n["event"], n["subject"]) for n in notes] == [
        ("refused", f"promotion refused: v{doubtful} rejected at approval by reviewer; champion kept")
    ]  # no failure, and not "ready to promote"
    assert notes[0]["body"].startswith("e2e: the retention team wants one more week")
    assert_consistent(dep)
    notes_before = len(dep.notes())

    ready = ready_challenger(dep)
    approved, detail = _answer_approval(dep, api_server, "Approve", "shadow week looks good")

    assert approved.succeeded, approved.tail()
    assert detail["chosen_options"] == ["Approve"] and detail["responded_by_user"]["name"] == "reviewer"
    states = dep.task_states(f"promote_{MODEL}")
    assert states["promote"] == "success" and states["record_rejection"] == "skipped", states
    assert champion(dep) == ready
    assert moves(dep.audit, ready)[-1] == ("shadow", "champion", "succeeded")
    promoted = dep.audit.history(MODEL, ready)[0]  # the approver is part of the audit record
    assert promoted["evidence"]["approval"]["by"] == "reviewer"
    assert promoted["evidence"]["approval"]["choice"] == "Approve"
    assert promoted["reason"].endswith("; approved by reviewer: shadow week looks good")
    assert [n["subject"] for n in dep.notes()[notes_before:] if n["event"] == "promotion"] == [
        f"v{ready} is champion (was v{held})"
    ]
    assert_consistent(dep)


# -- 6. concurrent promotions --------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def race_audit_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'race-audit.db'}"
        return
    with postgres_db("mlops_e2e_race") as url:
        yield url


def test_concurrent_promotions_leave_one_champion(dep, race_audit_url):
    """Two promoters, each with its own registry and audit connection, race for one challenger."""
    backend = sa.make_url(race_audit_url).get_backend_name()
    data = yaml.safe_load((Path(dep.env["MLOPS_CONFIG_DIR"]) / CONFIG_FILE.name).read_text())
    data["name"] = name = f"{MODEL}_race_{backend}_{uuid.uuid4().hex[:6]}"
    config = parse_config(data, source="e2e")
    setup = ModelRegistry(dep.tracking_uri, audit=AuditStore(race_audit_url))
    source = model_source(dep)
    setup.client.create_registered_model(name)

    def candidate() -> str:
        version = bare_version(setup, name, source)
        setup.record_move(name, version, "candidate", reason="registered", actor="e2e")
        return version

    current = candidate()
    setup.record_move(name, current, "champion", reason="bootstrap", actor="e2e", bootstrap=True)
    for round_ in range(3):
        contender = candidate()
        setup.record_move(name, contender, "shadow", reason="passed every gate", actor="e2e")
        racers = [ModelRegistry(dep.tracking_uri, audit=AuditStore(race_audit_url)) for _ in range(2)]
        start = threading.Barrier(len(racers))

        def promote(i: int, racers=racers, start=start, contender=contender, expected=current) -> Any:
            start.wait()
            try:
                return deploy.promote_champion(
                    racers[i], config, contender, expected, reason=f"race {i}", actor=f"e2e:{i}", evidence={"i": i}
                )
            except RefusedMove as exc:
                return exc

        with ThreadPoolExecutor(len(racers)) as pool:
            results = list(pool.map(promote, range(len(racers))))
        for racer in racers:
            racer.audit.close()

        won = [r for r in results if isinstance(r, dict)]
        refused = [r for r in results if isinstance(r, RefusedMove)]
        assert len(won) == 1 and len(refused) == 1, (round_, results)
        assert won[0]["version"] == contender and won[0]["previous"] == current
        aliases = {alias: str(v) for alias, v in setup.client.get_registered_model(name).aliases.items()}
        assert aliases == {"champion": contender}  # one champion, and the challenger alias is gone
        holders = [v for v in setup.stages(name) if "champion" in setup.get(name, v).aliases]
        assert holders == [contender]
        stages = setup.stages(name)
        assert [v for v, s in stages.items() if s == "champion"] == [contender]
        assert stages[current] == "archived"
        assert setup.disagreements(name) == []
        promotions = [h for h in setup.audit.history(name, contender) if h["to_stage"] == "champion"]
        assert [(h["from_stage"], h["status"]) for h in promotions] == [("shadow", "succeeded")]
        assert {h["status"] for h in setup.audit.history(name)} == {"succeeded"}
        current = contender
    setup.audit.close()


# -- 7. a worker killed between the alias and the audit, then reconcile_churn --------------------------
def test_a_promote_task_killed_after_the_alias_is_repaired_by_reconcile(dep):
    """The promote task dies (SIGKILL) after moving the alias, before finishing its audit claim:
    MLflow and the audit trail are apart; reconcile_churn puts MLflow back and settles the claim,
    and the next promote run promotes the challenger."""
    held, ready = champion(dep), ready_challenger(dep)

    crashed = dep.run(f"promote_{MODEL}", MLOPS_FAILPOINTS="deploy.promote.after_alias")

    assert not crashed.succeeded and "failpoint deploy.promote.after_alias" in crashed.log, crashed.tail()
    assert champion(dep) == ready  # the alias moved ...
    assert [p["version"] for p in dep.audit.pending(MODEL)] == [ready]  # ... the audit claim did not finish
    assert dep.audit.stage_of(MODEL, held) == "champion"

    repaired = dep.run(f"reconcile_{MODEL}", conf={"stale_after_seconds": 0})

    assert repaired.succeeded, repaired.tail()
    assert champion(dep) == held and dep.audit.pending(MODEL) == []
    assert moves(dep.audit, ready)[-1] == ("shadow", "champion", "failed")
    assert_consistent(dep)
    promoted = dep.run(f"promote_{MODEL}")
    assert promoted.succeeded, promoted.tail()
    assert champion(dep) == ready and moves(dep.audit, ready)[-1] == ("shadow", "champion", "succeeded")
    assert_consistent(dep)


# -- 8b. the runbooks of the deploy and scoring notifications, on this module's state -----------
def latest_run_id(dep: Deployment, dag_id: str) -> str | None:
    path = dep.project.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)).fetchone()
    return row[0] if row else None


def test_the_deploy_and_scoring_runbooks_run(dep):
    """docs/runbooks: the bash blocks of the runbooks of retrain, scoring and deploy
    notifications, as a person would run them (placeholders filled in from this module's runs),
    against its MLflow server, audit trail, data root and Airflow database. The registry/audit
    mismatch runbook runs on a real mismatch (``@champion`` moved by hand, as MLflow's UI would):
    its check reports it, its fix (reconcile with restore_aliases) repairs it, its verify agrees."""
    from tests.fixtures import runbooks

    promote_run = latest_run_id(dep, f"promote_{MODEL}") or dep.run(f"promote_{MODEL}").run_id
    held = champion(dep)
    values = {
        "model": MODEL,
        "ds": SHADOW[0],
        "window_end": TRAIN_END,
        "version": held,
        "dag_id": f"promote_{MODEL}",
        "run_id": promote_run,
    }
    runner = runbooks.Runner({**dep.project.env, **dep.env})
    scoring_run = {"run_id": latest_run_id(dep, f"batch_score_{MODEL}")}
    outputs = {
        name: runner.run(name, values | (scoring_run if name == "failed-scoring-day.md" else {}))
        for name in runbooks.RUN_BY["tests/e2e/test_deploy_dags.py"]
        if name not in ("registry-audit-mismatch.md", *CANARY_RUNBOOKS, *AB_RUNBOOKS)
    }
    print("runbook seconds:", {n: round(t, 1) for n, t in runner.seconds.items()})

    gates = outputs["gate-failure.md"]
    assert f"@champion: v{held}" in gates and "[PASS] no_regression" in gates
    assert "gates passed: True, failed: none" in gates
    assert "committed" in outputs["failed-scoring-day.md"] and "predictions: v" in outputs["failed-scoring-day.md"]
    assert "resolve_models" in outputs["failed-scoring-day.md"]  # tasks states-for-dag-run
    for name in ("health-check-rollback.md", "rollback.md", "promotion.md", "promotion-refused.md"):
        assert "MLflow vs audit trail: agree" in outputs[name] and "audit trail #" in outputs[name], name
    assert f"champion v{held}: healthy" in outputs["promotion.md"]
    assert "health_check" in outputs["health-check-rollback.md"] and "health_check" in outputs["task-failure.md"]
    assert re.search(r"needs:|no challenger", outputs["promotion-refused.md"])  # the evidence so far
    assert f"{SHADOW[0]}: v" in outputs["success.md"] and "summary.json" in outputs["success.md"]

    # A real mismatch: @champion moved outside the pipeline; check, fix and verify as written.
    other = next(v for v, s in dep.registry.stages(MODEL).items() if v != held and s != "champion")
    dep.registry.client.set_registered_model_alias(MODEL, "champion", other)
    out = runbooks.Runner(runner.env).run("registry-audit-mismatch.md", values)  # a new state: a new runner
    assert "reconcile: MLflow and the audit trail disagree (exit status 1)" in out
    assert f"MLflow @champion: v{other}" in out
    assert champion(dep) == held and '"ok": true' in out
    assert_consistent(dep)


# -- canary (deploy.strategy: canary) ----------------------------------------------------------------
def test_a_canary_failing_its_step_is_published_for_its_share_then_halted(dep):
    """batch_score publishes the canary challenger's scores for the ramp's first share (5%) of
    entities, each row naming its version; the next promote run finds it slower than the limit
    (a latency regression): halted (share 0 in ml_canary_steps), rejected in MLflow and the
    audit trail, a canary_halted notification; the champion never changed."""
    from include.platform.audit.canary import CanarySteps
    from include.platform.partitions import read_partition
    from include.platform.storage import LocalStorage

    canary = dep.config_dir("canary", strategy="canary", max_latency_ms_per_1k=0.001)
    held, fresh = champion(dep), new_challenger(dep)
    run = dep.run(f"batch_score_{MODEL}", conf={"ds": EXTRA_DAY}, MLOPS_CONFIG_DIR=canary)
    assert run.succeeded, run.tail()
    assert f"canary v{fresh} published for 5% of entities" in run.log
    published = read_partition(LocalStorage(dep.env["MLOPS_DATA_ROOT"]), "predictions", MODEL, EXTRA_DAY)
    share = (published["model_version"] == fresh).mean()
    assert 0.02 < share < 0.09 and set(published["model_version"]) == {held, fresh}, share
    notes_before = len(dep.notes())

    promote = dep.run(f"promote_{MODEL}", MLOPS_CONFIG_DIR=canary)

    assert promote.succeeded, promote.tail()  # a halted canary is a decision, not a failure
    states = dep.task_states(f"promote_{MODEL}")
    assert states["decide"] == "skipped" and states["promote"] == "skipped" and states["notify"] == "success"
    latest = CanarySteps(dep.audit).latest(MODEL, fresh)
    assert (latest["share"], latest["status"]) == (0.0, "halted") and "max_latency" in str(latest["evidence"])
    assert latest["actor"].startswith(f"airflow:promote_{MODEL}/")
    assert dep.registry.stage_of(MODEL, fresh) == dep.audit.stage_of(MODEL, fresh) == "rejected"
    assert champion(dep) == held and challenger(dep) is None
    note = dep.notes()[notes_before:][-1]
    assert note["event"] == "canary_halted" and note["runbook"] == "docs/runbooks/canary-halt.md"
    assert note["subject"] == f"canary v{fresh} halted at 5%: every entity back to champion v{held}"
    assert_consistent(dep)

    # Its runbooks, as a person on call runs them, on this canary.
    from tests.fixtures import runbooks

    runner = runbooks.Runner({**dep.project.env, **dep.env})
    values = {"model": MODEL, "ds": EXTRA_DAY}
    halted, advanced = (runner.run(name, values) for name in CANARY_RUNBOOKS)
    assert f"canary v{fresh} halted share 0%: canary halted at 5%" in halted and "[PASS]" not in halted
    assert f"{fresh}" in halted.split("model_version")[1] and "@challenger: none" in halted
    assert "MLflow vs audit trail: agree" in halted and f"canary v{fresh} now halted at 0%" in advanced


# -- A/B test (deploy.strategy: ab) -------------------------------------------------------------------
AB_DAYS = ("2026-02-11", "2026-02-12")  # labels arrive seven days later, within the sample data
AB_PLAN = {"strategy": "ab", "ab_baseline": 0.8, "ab_treatment_share": 0.5}


def ab_scored(dep: Deployment, config_dir: str, version: str) -> None:
    """batch_score over AB_DAYS with the A/B split: each row's version is its entity's arm."""
    from include.platform.assignment import arm_of
    from include.platform.audit.experiments import experiment_salt
    from include.platform.partitions import read_partition
    from include.platform.storage import LocalStorage

    run = dep.run(f"batch_score_{MODEL}", conf={"ds": AB_DAYS[0], "ds_end": AB_DAYS[1]}, MLOPS_CONFIG_DIR=config_dir)
    assert run.succeeded, run.tail()
    assert f"A/B test v{version} published for its arm, 50% of entities" in run.log
    rows = read_partition(LocalStorage(dep.env["MLOPS_DATA_ROOT"]), "predictions", MODEL, AB_DAYS[0])
    arms = [arm_of(e, experiment_salt(MODEL, version), 0.5) for e in rows["customer_id"]]
    assert [v == version for v in rows["model_version"]] == [a == "treatment" for a in arms]
    assert 0.4 < (rows["model_version"] == version).mean() < 0.6


def test_ab_tests_decide_on_the_delayed_outcomes_of_both_arms(dep):
    """An equal challenger (the same training again) under superiority is rejected at the
    horizon: rejected in both stores, an ab_decision notification with its runbook, run here.
    The next one under non-inferiority within 0.1 is promoted through the usual path, with the
    test's numbers as the audit reason."""
    from include.platform.audit.experiments import ExperimentDecisions

    decisions = ExperimentDecisions(dep.audit)
    superiority = dep.config_dir("ab-superiority", **AB_PLAN, ab_min_detectable_effect=0.1)
    held, fresh = champion(dep), new_challenger(dep)
    ab_scored(dep, superiority, fresh)
    notes_before = len(dep.notes())

    promote = dep.run(f"promote_{MODEL}", MLOPS_CONFIG_DIR=superiority)

    assert promote.succeeded, promote.tail()  # a rejection is a decision, not a failure
    states = dep.task_states(f"promote_{MODEL}")
    assert states["decide"] == "skipped" and states["promote"] == "skipped" and states["notify"] == "success"
    latest = decisions.latest(MODEL, fresh)
    numbers = latest["evidence"]
    assert latest["outcome"] == "reject" and "superiority not shown at the horizon" in latest["reason"]
    assert numbers["arms"]["n_treatment"] >= numbers["plan"]["n_treatment"] and numbers["comparison"]["p_value"] >= 0.05
    assert numbers["arms"]["labelled"] == numbers["arms"]["published"] > 1000 and numbers["arms"]["outside_split"] == 0
    assert latest["actor"].startswith(f"airflow:promote_{MODEL}/")
    assert dep.registry.stage_of(MODEL, fresh) == dep.audit.stage_of(MODEL, fresh) == "rejected"
    assert champion(dep) == held and challenger(dep) is None
    note = dep.notes()[notes_before:][-1]
    assert note["event"] == "ab_decision" and note["runbook"] == "docs/runbooks/ab-decision.md"
    assert note["subject"] == f"A/B test rejected v{fresh}: every entity back to champion v{held}"
    assert_consistent(dep)

    from tests.fixtures import runbooks

    runner = runbooks.Runner({**dep.project.env, **dep.env, "MLOPS_CONFIG_DIR": superiority})
    (out,) = (runner.run(name, {"model": MODEL, "ds": AB_DAYS[0]}) for name in AB_RUNBOOKS)
    assert f"decision v{fresh} reject" in out and f"v{fresh} reject: p " in out and "@challenger: none" in out
    assert "MLflow vs audit trail: agree" in out and "no A/B test running" in out

    non_inferiority = dep.config_dir(
        "ab-non-inferiority", **AB_PLAN, ab_hypothesis="non_inferiority", ab_margin=0.1, ab_min_detectable_effect=0.0
    )
    better = new_challenger(dep)
    ab_scored(dep, non_inferiority, better)

    promote = dep.run(f"promote_{MODEL}", MLOPS_CONFIG_DIR=non_inferiority)

    assert promote.succeeded, promote.tail()
    assert champion(dep) == better and dep.audit.stage_of(MODEL, held) == "archived"
    assert decisions.latest(MODEL, better)["outcome"] == "promote"
    moved = dep.audit.history(MODEL, better)[0]
    assert moved["to_stage"] == "champion" and moved["reason"].startswith(
        "A/B test promote: non-inferiority within 0.1"
    )
    assert moved["evidence"]["experiment"]["comparison"]["ci_low"] > -0.1
    assert dep.notes()[-1]["event"] == "promotion"
    assert_consistent(dep)


# -- 9. the audit trail in PostgreSQL through the Airflow connection -------------------------------
def test_rollback_audited_in_postgres_through_the_airflow_connection(dep):
    """Last in the module: it moves the champion with the trail in another database."""
    target = previous_champion(dep)
    replaced = champion(dep)
    sqlite_rows = len(dep.audit.history(MODEL))
    with postgres_db("mlops_e2e_audit") as url:
        pg = sa.make_url(url)
        conn_uri = f"postgresql://{pg.username}@{pg.host}:{pg.port or 5432}/{pg.database}"

        run = dep.run(
            f"rollback_{MODEL}",
            conf={"reason": "e2e: audited in PostgreSQL", "bad_version_stage": "archived"},
            AIRFLOW_CONN_MLOPS_AUDIT=conn_uri,
        )

        assert run.succeeded, run.tail()
        assert champion(dep) == target and dep.registry.stage_of(MODEL, replaced) == "archived"
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.dialect.name == "postgresql"
                rows = conn.execute(
                    sa.text("SELECT version, from_stage, to_stage, status, reason FROM ml_deployments ORDER BY 1")
                ).all()
                registry_rows = dict(conn.execute(sa.text("SELECT version, stage FROM ml_model_registry")).all())
        finally:
            engine.dispose()
        moved = {(r.version, r.from_stage, r.to_stage, r.status) for r in rows}
        assert (target, "archived", "champion", "succeeded") in moved
        assert (replaced, "champion", "archived", "succeeded") in moved
        # A new audit database: reconcile (the DAG's first task) adopted MLflow's stages first.
        assert {v: s for v, s in registry_rows.items() if v in (target, replaced)} == {
            target: "champion",
            replaced: "archived",
        }
        assert registry_rows == dep.registry.stages(MODEL)
        assert any(r.reason == "rollback: e2e: audited in PostgreSQL" for r in rows)
        with AuditStore(url) as store:
            assert store.history(MODEL, target)[0]["actor"].startswith(f"airflow:rollback_{MODEL}/")
    assert len(dep.audit.history(MODEL)) == sqlite_rows  # the connection won over MLOPS_AUDIT_DB_URL
