"""Outages of MLflow and of the audit database, on real processes, are named as outages
(``RegistryUnavailable``, ``DatabaseUnavailable``: Transient, retried by Airflow with backoff)
and a retry after the outage succeeds; deterministic errors are not named outages.

* MLflow: a real tracking server killed in the middle of a run, restarted on the same port and
  backend store.
* SQLite audit DB: another process holds a write transaction open past the busy timeout.
* PostgreSQL audit DB: nothing listens on the port; the database was dropped.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.errors import DatabaseUnavailable, NotRetryable, RegistryStateError, RegistryUnavailable, Transient
from include.platform.audit import AuditStore
from include.platform.registry import ModelRegistry
from mlops_airflow.retry import RETRY_POLICY
from tests.fixtures.services import (
    LOOPBACK,
    ServiceUnavailable,
    free_port,
    fresh_postgres_db,
    postgres_admin,
    start_service,
    venv_executable,
)

SECRET = "s3cr3t-pw"


def _retry_action(error: BaseException) -> str:
    return RETRY_POLICY.evaluate(error, 1, 4).action.value


# -- MLflow ------------------------------------------------------------------------------------
def _start_mlflow(root: Path, port: int) -> object:
    """A tracking server on ``port`` over the backend store in ``root`` (kept across restarts)."""
    cmd = [
        venv_executable("mlflow"),
        "server",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--serve-artifacts",
        "--workers",
        "1",
    ]
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    url = f"http://{LOOPBACK}:{port}"
    return start_service("mlflow-faults", cmd, ready_url=f"{url}/health", log_dir=root, timeout=120, env=env, cwd=root)


@pytest.fixture
def fast_mlflow_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """What scripts/env.sh sets, shorter: a dead server is named in seconds."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


def test_mlflow_killed_mid_run_is_an_outage_and_the_retry_succeeds(tmp_path, fast_mlflow_client):
    from mlflow.entities import Param

    port = free_port()
    uri = f"http://{LOOPBACK}:{port}"
    server = _start_mlflow(tmp_path, port)
    try:
        registry = ModelRegistry(uri)
        run_id = registry.client.create_run(registry.experiment_id("faults")).info.run_id
        registry.client.log_batch(run_id, params=[Param("a", "1")])
    finally:
        server.stop()  # killed in the middle of the run

    with pytest.raises(RegistryUnavailable) as caught:
        registry.client.log_batch(run_id, params=[Param("b", "2")])
    assert f"MLflow at {uri} did not answer (log_batch)" in str(caught.value)
    assert isinstance(caught.value, Transient) and _retry_action(caught.value) == "retry"
    with pytest.raises(RegistryUnavailable):  # an outage never reads as "no champion yet"
        registry.had_champion("faults")

    server = _start_mlflow(tmp_path, port)  # back, same port, same backend store
    try:
        registry.client.log_batch(run_id, params=[Param("b", "2")])  # the retry
        registry.client.set_terminated(run_id)
        assert registry.client.get_run(run_id).data.params == {"a": "1", "b": "2"}
        # Deterministic errors stay what they are: not outages.
        with pytest.raises(RegistryStateError) as missing:
            registry.get("no-such-model", 1)
        assert _retry_action(missing.value) == "fail"
    finally:
        server.stop()


def test_mlflow_credentials_are_not_in_the_outage_message(fast_mlflow_client):
    uri = f"http://mlops:{SECRET}@{LOOPBACK}:{free_port()}"
    with pytest.raises(RegistryUnavailable) as caught:
        ModelRegistry(uri).client.search_experiments()
    assert SECRET not in str(caught.value) and f"{LOOPBACK}" in str(caught.value)


# -- SQLite audit database -------------------------------------------------------------------
_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO ml_schema_version VALUES (999, 'held', '2026-01-01 00:00:00')")
    print("locked", flush=True)
    sys.stdin.readline()  # hold the write lock until told to go
    conn.execute("ROLLBACK")
    """
)


def test_sqlite_audit_db_locked_beyond_the_busy_timeout_is_an_outage(tmp_path):
    path = tmp_path / "audit.db"
    url = f"sqlite:///{path}"
    AuditStore(url).migrate()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        store = AuditStore(url, connect_args={"timeout": 0.5, "check_same_thread": False})
        with pytest.raises(DatabaseUnavailable) as caught:
            store.record("churn", "1", None, "candidate", actor="test", reason="locked")
        assert f"audit database {url} did not answer: database is locked" in str(caught.value)
        assert _retry_action(caught.value) == "retry"
    finally:
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    store.record("churn", "1", None, "candidate", actor="test", reason="after the lock")  # the retry
    assert store.stage_of("churn", "1") == "candidate"
    store.close()


def test_a_deterministic_sqlite_error_is_not_an_outage(tmp_path):
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    store.migrate()
    from include.platform.audit.engine import audit_transaction

    with (
        pytest.raises(sa.exc.OperationalError, match="no such table"),
        audit_transaction(store.engine, write=False) as conn,
    ):
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    store.close()


# -- PostgreSQL audit database ---------------------------------------------------------------
@pytest.fixture
def pg_admin() -> Iterator[sa.Engine]:
    try:
        admin = postgres_admin("the audit database fault tests")
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield admin
    admin.dispose()


def test_postgres_audit_db_down_is_an_outage_naming_host_and_port():
    port = free_port()
    url = f"postgresql+psycopg2://mlops:{SECRET}@{LOOPBACK}:{port}/audit"
    with pytest.raises(DatabaseUnavailable) as caught:
        AuditStore(url).migrate()
    message = str(caught.value)
    assert f"audit database postgresql+psycopg2://mlops:***@{LOOPBACK}:{port}/audit did not answer" in message
    assert SECRET not in message and _retry_action(caught.value) == "retry"
    assert not isinstance(caught.value, NotRetryable)


def test_postgres_audit_db_dropped_is_an_outage_and_comes_back(pg_admin):
    with fresh_postgres_db("mlops_faults_test", pg_admin) as url:
        store = AuditStore(url)
        store.record("churn", "1", None, "candidate", actor="test", reason="before")
        name = sa.make_url(url).database
        with pg_admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        with pytest.raises(DatabaseUnavailable) as caught:
            store.history("churn")
        assert f"{sa.make_url(url).host}:{sa.make_url(url).port}" in str(caught.value)
        with pg_admin.connect() as conn:  # restored (empty): the retry migrates and writes again
            conn.execute(sa.text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
        fresh = AuditStore(url)
        fresh.record("churn", "2", None, "candidate", actor="test", reason="after")
        assert fresh.stage_of("churn", "2") == "candidate"
        store.close()
        fresh.close()
