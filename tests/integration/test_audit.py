"""The deployment audit store against real databases: a SQLite file and a real PostgreSQL.

Every test runs on both backends. PostgreSQL is the server on 127.0.0.1:5432 (override with
``MLOPS_TEST_POSTGRES_ADMIN_URL``): the session creates a fresh database
``mlops_audit_test_<random>`` there and drops it at the end; each test starts from an empty
schema. An unreachable server fails the PostgreSQL tests with the host and port in the message.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from include.platform.audit import LATEST_VERSION, MIGRATIONS, AuditStore
from tests.fixtures.services import ServiceUnavailable, fresh_postgres_db, postgres_admin

PROJECT_DIR = Path(__file__).resolve().parents[2]
TABLES = ("ml_retrain_claims", "ml_model_registry", "ml_deployments", "ml_schema_version")


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server for this session; dropped at teardown."""
    try:
        admin = postgres_admin("the audit store tests")
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        with fresh_postgres_db("mlops_audit_test", admin) as url:
            yield url
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'audit.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def make_store(db_url: str) -> Iterator[Callable[[], AuditStore]]:
    """New, independent stores on the test database (own engine and connections, like another process)."""
    stores: list[AuditStore] = []

    def make() -> AuditStore:
        store = AuditStore(db_url)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], AuditStore]) -> AuditStore:
    s = make_store()
    s.migrate()
    return s


def run_threads(n: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in n threads released together; re-raise the first error."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        raise errors[0]
    return results


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- migrations ------------------------------------------------------------------------------
def test_migrate_is_idempotent_and_records_the_schema_version(make_store, db_url):
    store = make_store()
    assert store.schema_version() == 0
    assert store.migrate() == LATEST_VERSION
    assert store.migrate() == LATEST_VERSION  # same instance
    assert make_store().migrate() == LATEST_VERSION  # another process, already migrated
    applied = store.applied_migrations()
    assert [row["version"] for row in applied] == [m.version for m in MIGRATIONS]
    assert [row["description"] for row in applied] == [m.description for m in MIGRATIONS]
    assert all(row["applied_at"].tzinfo == dt.UTC for row in applied)
    assert set(TABLES) <= table_names(db_url)


def test_migrate_applies_only_what_is_missing(make_store, db_url):
    store = make_store()
    store.migrate()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # as if this database had stopped at version 1
        conn.execute(sa.text("DELETE FROM ml_schema_version WHERE version > 1"))
        for stage in ("shadow", "champion"):
            conn.execute(sa.text(f"DROP INDEX ux_ml_model_registry_one_{stage}"))
    engine.dispose()
    later = make_store()
    assert later.schema_version() == 1
    assert later.migrate() == LATEST_VERSION
    assert [row["version"] for row in later.applied_migrations()] == [m.version for m in MIGRATIONS]


def test_database_newer_than_the_code_is_refused(make_store, db_url):
    make_store().migrate()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO ml_schema_version (version, description, applied_at) VALUES (:v, 'future', :t)"),
            {"v": LATEST_VERSION + 1, "t": dt.datetime(2030, 1, 1)},
        )
    engine.dispose()
    with pytest.raises(match="newer than this code"):
        make_store().migrate()


def test_concurrent_migrate_from_threads(make_store):
    stores = [make_store() for _ in range(6)]
    versions = run_threads(len(stores), lambda i: stores[i].migrate())
    assert versions == [LATEST_VERSION] * len(stores)
    assert [row["version"] for row in stores[0].applied_migrations()] == [m.version for m in MIGRATIONS]


def test_concurrent_migrate_from_processes(make_store, db_url, tmp_path):
    start_at = time.time() + 2.0  # every process starts migrating at the same moment
    script = textwrap.dedent(
        f"""
        import sys, time
        from include.platform.audit import AuditStore
        store = AuditStore(sys.argv[1])
        time.sleep(max(0.0, {start_at!r} - time.time()))
        print(store.migrate())
        store.close()
        """
    )
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_DIR}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == str(LATEST_VERSION)
    assert [row["version"] for row in make_store().applied_migrations()] == [m.version for m in MIGRATIONS]


# -- begin / finish / record / history -------------------------------------------------------
def test_begin_finish_and_history(store):
    before = dt.datetime.now(dt.UTC)
    first = store.begin("churn", "1", None, "candidate", actor="retrain/run_1", reason="registered")
    assert store.stage_of("churn", "1") is None  # pending changes no stage
    [pending] = store.history("churn")
    assert pending["deployment_id"] == first
    assert pending["status"] == "pending"
    assert pending["finished_at"] is None
    assert pending["actor"] == "retrain/run_1"
    assert pending["evidence"] == {}

    store.finish(first, "succeeded")
    assert store.stage_of("churn", 1) == "candidate"  # int versions are the same as strings
    second = store.record("churn", 1, "candidate", "shadow", actor="retrain/run_1", reason="passed gates")
    third = store.record("churn", 1, "shadow", "champion", actor="deploy/run_2", reason="won shadow")
    after = dt.datetime.now(dt.UTC)

    history = store.history("churn")
    assert [h["deployment_id"] for h in history] == [third, second, first]  # newest first
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [
        ("shadow", "champion"),
        ("candidate", "shadow"),
        (None, "candidate"),
    ]
    assert all(h["status"] == "succeeded" and h["error"] is None for h in history)
    for h in history:
        assert h["created_at"].tzinfo == dt.UTC and h["finished_at"].tzinfo == dt.UTC
        assert before <= h["created_at"] <= h["finished_at"] <= after
    assert history[0]["model"] == "churn" and history[0]["version"] == "1"
    assert store.get(third)["reason"] == "won shadow"
    assert store.stage_of("churn", "1") == "champion"
    [row] = store.registry_rows("churn")
    assert row["deployment_id"] == third and row["stage"] == "champion"


def test_history_filters_by_model_and_version(store):
    store.record("churn", "1", None, "candidate")
    store.record("churn", "2", None, "candidate")
    store.record("fraud", "1", None, "candidate")
    store.record("churn", "1", "candidate", "rejected", reason="failed gates", actor="airflow:retrain_churn/r1")
    assert len(store.history("churn")) == 3
    # One actor's records (a DAG run's moves, as the deploy operators log them); someone else's: none.
    assert [h["to_stage"] for h in store.history("churn", actor="airflow:retrain_churn/r1")] == ["rejected"]
    assert store.history("churn", actor="someone else") == []
    assert [h["to_stage"] for h in store.history("churn", "1")] == ["rejected", "candidate"]
    assert [h["version"] for h in store.history("churn", limit=1)] == ["1"]
    assert len(store.history("fraud")) == 1
    assert store.history("nobody") == []


def test_stage_of_and_current(store):
    assert store.current("churn") == {}
    assert store.stage_of("churn", "1") is None
    store.record("churn", "1", None, "candidate")
    store.record("churn", "1", "candidate", "champion", reason="bootstrap")
    store.record("churn", "2", None, "candidate")
    store.record("churn", "2", "candidate", "shadow")
    store.record("churn", "10", None, "candidate")
    store.record("other", "1", None, "candidate")
    assert store.current("churn") == {"1": "champion", "2": "shadow", "10": "candidate"}
    assert list(store.current("churn")) == ["1", "2", "10"]  # numeric version order
    assert store.stage_of("churn", "2") == "shadow"
    assert store.current("other") == {"1": "candidate"}


def test_a_new_holder_of_an_aliased_stage_archives_the_previous_one(store):
    store.record("churn", "1", None, "candidate")
    store.record("churn", "1", "candidate", "champion", actor="a", reason="bootstrap")
    store.record("churn", "2", None, "candidate")
    store.record("churn", "2", "candidate", "shadow")
    promoted = store.record("churn", "2", "shadow", "champion", actor="deploy/run_3", reason="won")
    assert store.current("churn") == {"1": "archived", "2": "champion"}
    archived = store.history("churn", "1")[0]
    assert (archived["from_stage"], archived["to_stage"], archived["status"]) == ("champion", "archived", "succeeded")
    assert archived["reason"] == "superseded by v2"
    assert archived["actor"] == "deploy/run_3"
    assert archived["evidence"] == {"superseded_by_deployment": promoted, "superseded_by_version": "2"}


def test_the_database_refuses_two_champions(store):
    store.record("churn", "1", None, "champion")
    store.record("churn", "2", None, "candidate")
    with store.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text("UPDATE ml_model_registry SET stage = 'champion' WHERE model = 'churn' AND version = '2'"))
    assert store.current("churn") == {"1": "champion", "2": "candidate"}


def test_failed_deployment_keeps_the_previous_stage(store):
    store.record("churn", "1", None, "candidate")
    shadowed = store.record("churn", "1", "candidate", "shadow")
    attempt = store.begin("churn", "1", "shadow", "champion", actor="deploy/run_9", evidence={"auc": 0.91})
    store.finish(attempt, "failed", error="MlflowException: alias update failed")
    assert store.stage_of("churn", "1") == "shadow"
    [row] = store.registry_rows("churn")
    assert row["deployment_id"] == shadowed
    latest = store.history("churn")[0]
    assert latest["deployment_id"] == attempt
    assert latest["status"] == "failed"
    assert latest["error"] == "MlflowException: alias update failed"
    assert latest["finished_at"] is not None
    assert latest["evidence"] == {"auc": 0.91}


def test_finish_is_idempotent_and_checked(store):
    deployment = store.begin("churn", "1", None, "candidate")
    store.finish(deployment, "succeeded")
    store.finish(deployment, "succeeded")  # a retried task
    assert [h["status"] for h in store.history("churn")] == ["succeeded"]
    with pytest.raises(match="already finished as 'succeeded'"):
        store.finish(deployment, "failed", error="late")
    with pytest.raises(match="must be one of"):
        store.finish(deployment, "pending")
    with pytest.raises(match="no deployment 999999"):
        store.finish(999999, "failed")
    with pytest.raises(match="unknown stage 'production'"):
        store.begin("churn", "1", "candidate", "production")
    assert store.stage_of("churn", "1") == "candidate"


# -- reconcile -------------------------------------------------------------------------------
def test_reconcile_finds_the_differences_with_the_registry(store):
    store.record("churn", "1", None, "champion", reason="bootstrap")
    store.record("churn", "1", "champion", "archived")
    store.record("churn", "2", None, "champion")
    store.record("churn", "3", None, "shadow")
    assert store.reconcile("churn", {"1": "archived", "2": "champion", 3: "shadow"}) == []
    diffs = store.reconcile("churn", {"1": "archived", "2": "shadow", "4": "candidate"})
    assert diffs == [
        {"model": "churn", "version": "2", "audit": "champion", "registry": "shadow"},
        {"model": "churn", "version": "3", "audit": "shadow", "registry": None},
        {"model": "churn", "version": "4", "audit": None, "registry": "candidate"},
    ]
    assert store.reconcile("empty", {}) == []


# -- compare and set -------------------------------------------------------------------------
def test_compare_and_set_stage(store):
    assert store.compare_and_set_stage("churn", "1", None, "candidate", actor="a")
    assert not store.compare_and_set_stage("churn", "1", None, "candidate", actor="b")  # already there
    assert not store.compare_and_set_stage("churn", "1", "shadow", "champion")  # wrong expectation
    assert store.stage_of("churn", "1") == "candidate"
    assert store.compare_and_set_stage("churn", "1", "candidate", "shadow", reason="gates", evidence={"auc": 0.9})
    assert store.stage_of("churn", "1") == "shadow"
    history = store.history("churn")
    assert [(h["from_stage"], h["to_stage"], h["status"]) for h in history] == [
        ("candidate", "shadow", "succeeded"),
        (None, "candidate", "succeeded"),
    ]
    assert history[0]["evidence"] == {"auc": 0.9}
    [row] = store.registry_rows("churn")
    assert row["deployment_id"] == history[0]["deployment_id"]


def test_racing_compare_and_set_has_exactly_one_winner(make_store):
    setup = make_store()
    setup.record("churn", "1", None, "candidate")
    setup.record("churn", "1", "candidate", "shadow")
    racers = [make_store() for _ in range(8)]  # each with its own engine and connection
    for racer in racers:
        racer.migrate()

    won = run_threads(
        len(racers),
        lambda i: racers[i].compare_and_set_stage("churn", "1", "shadow", "champion", actor=f"deploy/run_{i}"),
    )
    assert sorted(won) == [False] * (len(racers) - 1) + [True]
    assert setup.current("churn") == {"1": "champion"}
    promotions = [h for h in setup.history("churn") if h["to_stage"] == "champion"]
    assert len(promotions) == 1
    assert promotions[0]["actor"] == f"deploy/run_{won.index(True)}"


def test_concurrent_promotions_of_different_versions_leave_one_champion(make_store):
    setup = make_store()
    versions = [str(v) for v in range(1, 7)]
    for v in versions:
        setup.record("churn", v, None, "candidate")
    racers = [make_store() for _ in versions]
    for racer in racers:
        racer.migrate()

    def promote(i: int) -> bool:
        return racers[i].compare_and_set_stage("churn", versions[i], "candidate", "champion", reason="bootstrap")

    assert all(run_threads(len(racers), promote))  # each promotion archives the one before it
    stages = setup.current("churn")
    assert sorted(stages.values()) == ["archived"] * (len(versions) - 1) + ["champion"]
    champion = next(v for v, s in stages.items() if s == "champion")
    # The last promotion committed is the champion; every other version was superseded.
    last = max((h for h in setup.history("churn") if h["to_stage"] == "champion"), key=lambda h: h["deployment_id"])
    assert last["version"] == champion
    superseded = [h for h in setup.history("churn") if h["reason"].startswith("superseded")]
    assert sorted(h["version"] for h in superseded) == sorted(v for v in versions if v != champion)


def test_concurrent_records_of_champions_leave_one_champion(make_store):
    setup = make_store()
    setup.migrate()
    racers = [make_store() for _ in range(6)]
    ids = run_threads(
        len(racers),
        lambda i: racers[i].record("churn", str(i + 1), "candidate", "champion", actor=f"run_{i}"),
    )
    assert len(set(ids)) == len(racers)
    assert list(setup.current("churn").values()).count("champion") == 1
    assert all(h["status"] == "succeeded" for h in setup.history("churn"))


# -- evidence --------------------------------------------------------------------------------
def test_evidence_json_round_trips(store):
    evidence = {
        "metrics": {"auc": 0.9123456789012345, "third": 1 / 3, "tiny": -2.5e-08, "big": 6.02e23, "huge": 1e300},
        "gates": [{"name": "min_auc", "passed": True, "threshold": 0.75}, {"name": "drift", "passed": False}],
        "counts": {"rows": 12345, "big_int": 10**20, "zero": 0.0, "whole": 2.0},
        "nothing": None,
        "text": 'Zürich · 模型 · 🚀 · "quoted" \\ back\nslash',
        "ключ": {"вложенный": {"deeper": [1, [2, [3.5]]]}},
    }
    deployment = store.record("churn", "1", None, "candidate", evidence=evidence)
    [back] = store.history("churn")
    assert back["evidence"] == evidence
    assert store.get(deployment)["evidence"] == evidence
    # Types survive too: floats stay floats (JSONB would turn 6.02e23 into an int), ints stay ints.
    assert isinstance(back["evidence"]["metrics"]["big"], float)
    assert isinstance(back["evidence"]["metrics"]["huge"], float)
    assert isinstance(back["evidence"]["counts"]["whole"], float)
    assert isinstance(back["evidence"]["counts"]["big_int"], int)


def test_evidence_without_json_equivalent(store):
    evidence = {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "when": dt.date(2024, 1, 2)}
    store.record("churn", "1", None, "candidate", evidence=evidence)
    assert store.history("churn")[0]["evidence"] == {
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "when": "2024-01-02",
    }
    with pytest.raises(TypeError, match="not JSON serialisable"):
        store.record("churn", "2", None, "candidate", evidence={"obj": object()})
    assert store.stage_of("churn", "2") is None


# -- claims: the pending row a deploy move writes first (include/deploy/claims.py) -----------------
def test_a_claim_is_pending_until_finished_and_checks_stage_and_champion(store):
    store.record("churn", "1", None, "champion")
    store.record("churn", "2", None, "shadow")
    assert store.claim("churn", "2", "candidate", "champion", holders={"champion": "1"}) is None  # wrong stage
    assert store.claim("churn", "2", "shadow", "champion", holders={"champion": "3"}) is None  # other champion
    claimed = store.claim("churn", "2", "shadow", "champion", holders={"champion": "1"}, actor="a", evidence={"x": 1})
    assert claimed is not None
    assert [p["deployment_id"] for p in store.pending("churn")] == [claimed]
    assert store.current("churn") == {"1": "champion", "2": "shadow"}  # nothing moved yet
    assert store.claim("churn", "2", "shadow", "champion", holders={"champion": "1"}, actor="b") is None  # pending
    store.finish(claimed, "succeeded")
    assert store.current("churn") == {"1": "archived", "2": "champion"} and store.pending("churn") == []


def test_a_failed_claim_changes_no_stage_and_frees_the_slot(store):
    store.record("churn", "1", None, "champion")
    store.record("churn", "2", None, "shadow")
    claimed = store.claim("churn", "2", "shadow", "champion", holders={"champion": "1"})
    store.finish(claimed, "failed", error="worker died")
    assert store.current("churn") == {"1": "champion", "2": "shadow"}
    assert store.claim("churn", "2", "shadow", "champion", holders={"champion": "1"}) is not None


def test_a_claim_does_not_wait_for_unrelated_pending_moves(store):
    store.record("churn", "1", None, "champion")
    store.record("churn", "2", None, "shadow")
    store.begin("churn", "3", None, "candidate", actor="retrain")  # a registration in flight
    assert store.claim("churn", "2", "shadow", "champion", holders={"champion": "1"}) is not None


def test_finishing_a_rollback_claim_rejects_the_replaced_champion(store):
    store.record("churn", "1", None, "champion")
    store.record("churn", "2", None, "champion")  # 1 archived
    claimed = store.claim("churn", "1", "archived", "champion", holders={"champion": "2"})
    store.finish(claimed, "succeeded", supersede_to="rejected")
    assert store.current("churn") == {"1": "champion", "2": "rejected"}


def test_racing_claims_have_exactly_one_winner(make_store):
    setup = make_store()
    setup.record("churn", "1", None, "champion")
    setup.record("churn", "2", None, "shadow")
    racers = [make_store() for _ in range(8)]
    for racer in racers:
        racer.migrate()

    claims = run_threads(
        len(racers),
        lambda i: racers[i].claim("churn", "2", "shadow", "champion", holders={"champion": "1"}, actor=f"run_{i}"),
    )

    won = [c for c in claims if c is not None]
    assert len(won) == 1 and [p["deployment_id"] for p in setup.pending("churn")] == won
