"""Retrain idempotency claimed atomically (``include/platform/audit/claims.py``), with real
processes: two retrains of the same window at once register one version; a retrain killed
before its registration registers nothing, and the next run of the window registers exactly one.

Each retrain is ``tests/integration/retrain_worker.py`` in its own process (pull -> train ->
register) against the session's real MLflow server, a real audit database (a SQLite file, or a
fresh PostgreSQL database on 127.0.0.1:5432) and sample data on local disk. Each test uses its
own window, so versions are counted per window on the shared server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from include.contracts import Tag
from include.errors import RetrainClaimed, RunTerminated
from include.platform.audit import AuditStore
from include.platform.audit.claims import RetrainClaims
from include.platform.audit.columns import utcnow
from include.platform.registry import ModelRegistry
from tests.fixtures.services import ServiceUnavailable, fresh_postgres_db, postgres_admin

PROJECT_DIR = Path(__file__).resolve().parents[2]
MODEL = "churn"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import LocalStorage

    storage = LocalStorage(tmp_path_factory.mktemp("claims-data") / "data")
    write_sample_data(storage, start=dt.date(2026, 1, 1), days=50, rows_per_day=300, customers=1500)
    return str(storage.root)


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    try:
        admin = postgres_admin("the retrain claim tests")
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        with fresh_postgres_db("mlops_claims_test", admin) as url:
            yield url
    finally:
        admin.dispose()


def _env(data_root: str, tracking_uri: str, audit_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_DIR}:{PROJECT_DIR / 'plugins'}"}
    env.update(MLOPS_DATA_ROOT=data_root, MLFLOW_TRACKING_URI=tracking_uri, MLOPS_AUDIT_DB_URL=audit_url)
    env.pop("MLOPS_FAILPOINTS", None)
    env.update(extra)
    return env


def _start(env: dict[str, str], window_end: str, actor: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.integration.retrain_worker", MODEL, window_end, actor, *extra]
    return subprocess.Popen(cmd, env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def _result(out: str) -> dict:
    """The worker's JSON line (MLflow prints its run links before it)."""
    return json.loads(out.strip().splitlines()[-1])


def _versions(tracking_uri: str, window_end: str) -> list[str]:
    """Versions of the model registered from this window."""
    registry = ModelRegistry(tracking_uri)
    found = registry.client.search_model_versions(f"name = '{MODEL}'")
    return sorted(str(v.version) for v in found if v.tags.get(Tag.WINDOW, "").endswith(f"..{window_end}"))


def _window(audit_url: str, sqlite_end: str, postgres_end: str) -> str:
    return sqlite_end if audit_url.startswith("sqlite") else postgres_end


def test_two_concurrent_retrains_of_one_window_register_one_version(data_root, audit_url, mlflow_server, tmp_path):
    window_end = _window(audit_url, "2026-02-05", "2026-02-06")
    env = _env(data_root, mlflow_server.tracking_uri, audit_url, WORKERS="2")
    ready = tmp_path / "ready"
    ready.mkdir()
    # Both pull, then wait for each other before training: the trainings overlap.
    first, second = (_start(env, window_end, f"airflow:retrain_churn/run-{n}", str(ready)) for n in (1, 2))
    results = {"run-1": _finish(first), "run-2": _finish(second)}

    winners = {name: _result(out) for name, (code, out, _) in results.items() if code == 0}
    losers = {name: err for name, (code, _, err) in results.items() if code != 0}
    assert winners, results
    for err in losers.values():  # the other run was told the window is being retrained
        assert f"{RetrainClaimed.__name__}: model churn: the same window and data" in err, err[-3000:]
    # The loser's retry (Airflow retries RetrainClaimed) reuses the winner's run and version.
    for name in losers:
        code, out, err = _finish(_start(env, window_end, f"airflow:retrain_churn/{name}"))
        assert code == 0, err[-3000:]
        winners[name] = _result(out)

    versions = _versions(mlflow_server.tracking_uri, window_end)
    assert len(versions) == 1, versions
    assert {w["registered"]["version"] for w in winners.values()} == set(versions)
    assert len({w["trained"]["run_id"] for w in winners.values()}) == 1


def test_a_killed_retrain_registers_nothing_and_the_next_run_registers_once(data_root, audit_url, mlflow_server):
    window_end = _window(audit_url, "2026-02-08", "2026-02-09")
    lease = "3"
    killed_env = _env(
        data_root,
        mlflow_server.tracking_uri,
        audit_url,
        MLOPS_FAILPOINTS="retrain.register.before_version",
        MLOPS_RETRAIN_LEASE_SECONDS=lease,
    )
    code, _, err = _finish(_start(killed_env, window_end, "airflow:retrain_churn/killed"))
    assert code == -9 and "failpoint retrain.register.before_version" in err, err[-3000:]
    assert _versions(mlflow_server.tracking_uri, window_end) == []

    store = AuditStore(audit_url)
    claims = RetrainClaims(store, lease_s=float(lease))
    claim = _claim_of(claims, window_end)
    assert claim is not None and claim.claimed_by == "airflow:retrain_churn/killed" and claim.status == "registering"
    while claim.expires_at > utcnow():  # the killed holder never renews: its lease runs out
        time.sleep(0.2)

    env = _env(data_root, mlflow_server.tracking_uri, audit_url, MLOPS_RETRAIN_LEASE_SECONDS=lease)
    code, out, err = _finish(_start(env, window_end, "airflow:retrain_churn/next"))
    assert code == 0, err[-3000:]
    versions = _versions(mlflow_server.tracking_uri, window_end)
    assert versions == [_result(out)["registered"]["version"]]

    # Had the killed run gone on (the old SIGTERM behaviour), its registration now refuses or
    # reuses: no second version.
    after = _claim_of(claims, window_end)
    assert after is not None and after.done and after.claimed_by == "airflow:retrain_churn/next"
    reused = claims.begin_register(MODEL, claim.run_key, "airflow:retrain_churn/killed", claim.run_id or "")
    assert reused.done and reused.version == versions[0]
    store.close()


def _claim_of(claims: RetrainClaims, window_end: str):
    import sqlalchemy as sa

    from include.platform.audit.schema import claims_table

    with claims.store.engine.connect() as conn:
        keys = conn.execute(sa.select(claims_table.c.run_key).where(claims_table.c.run_key.contains(window_end)))
        found = [k for (k,) in keys]
    assert len(found) <= 1, found
    return claims.get(MODEL, found[0]) if found else None


def test_a_run_whose_claim_was_taken_over_registers_nothing(audit_url):
    store = AuditStore(audit_url)
    claims = RetrainClaims(store, lease_s=0.0)  # every lease has expired at once
    key = "churn/2026-02-01/abc/def"
    assert claims.claim(MODEL, key, "run-a").claimed_by == "run-a"
    assert claims.claim(MODEL, key, "run-b").claimed_by == "run-b"  # run-a went silent: taken over
    with pytest.raises(RunTerminated, match="held by run-b"):
        claims.begin_register(MODEL, key, "run-a", "mlflow-run-a")
    held = RetrainClaims(store, lease_s=600.0)
    assert held.claim(MODEL, key, "run-b").claimed_by == "run-b"  # renewed by its holder
    with pytest.raises(RetrainClaimed, match="being retrained by run-b"):
        held.claim(MODEL, key, "run-c")
    held.begin_register(MODEL, key, "run-b", "mlflow-run-b")
    held.registered(MODEL, key, "run-b", "7")
    done = held.claim(MODEL, key, "run-c")  # a later run of the window reuses it
    assert done.done and done.version == "7" and done.run_id == "mlflow-run-b"
    forced = held.claim(MODEL, key, "run-d", force=True)  # forced: a new training run
    assert (forced.claimed_by, forced.status, forced.version) == ("run-d", "training", None)
    store.close()
