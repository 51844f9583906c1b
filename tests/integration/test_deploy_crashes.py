"""A worker killed (SIGKILL) at each step of each deploy move, then repaired.

Every move (promote, rollback, a health check's rollback, a reviewer's reject) runs in a real
subprocess against a real MLflow tracking store (SQLite file) and a real SQLite audit database,
with one named fail point armed (``MLOPS_FAILPOINTS``); the process dies with returncode -9
at that point. Then either the same task is retried (same actor, in this process) or
``include.deploy.reconcile`` repairs; afterwards MLflow and the audit trail agree, the
``champion`` alias is the audit trail's champion, and the next move is not refused.

Before the claims (``include/deploy/claims.py``) a worker killed between the audit
compare-and-set and the MLflow alias left the audit trail ahead of MLflow for good: every
retry and every later run was refused with "moved by a concurrent promotion (the other one won)".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from include.contracts import CHALLENGER_ALIAS, CHAMPION_ALIAS
from include.deploy import moves
from include.deploy.reconcile import check_reconciled, reconcile
from include.errors import RefusedMove, RegistryStateError
from include.platform.audit import AuditStore
from include.platform.registry import ModelRegistry
from include.score.pinning import pin_models
from tests.fixtures import registries

PROJECT = Path(__file__).resolve().parents[2]
MODEL = "churn"
# The moves read only the model name; scoring's pin_models also the deploy strategy.
CONFIG: Any = types.SimpleNamespace(name=MODEL, deploy=types.SimpleNamespace(strategy="shadow"))
CRASHED = "airflow:crash_test/run_1"  # the actor of the killed task (a DAG run)
DATES = {"ds": "2026-02-02", "ds_end": None, "interval_start": None, "run_after": None}

# The subprocess: one move with the state set up by the test.
_MOVE = r"""
import sys, types
from include.deploy import moves
from include.deploy.claims import HEALTH_ROLLBACK_POINTS
from include.platform.audit import AuditStore
from include.platform.registry import ModelRegistry

uri, audit_url, move, actor = sys.argv[1:5]
registry = ModelRegistry(uri, audit=AuditStore(audit_url))
config = types.SimpleNamespace(name="churn")
if move == "promote":
    moves.promote_champion(registry, config, "2", "1", reason="crash test", actor=actor, evidence={"crash": 1})
elif move == "rollback":
    moves.rollback(registry, config, target="1", reason="crash test", actor=actor)
elif move == "health_rollback":
    moves.rollback(registry, config, target="1", reason="crash test", actor=actor, points=HEALTH_ROLLBACK_POINTS)
elif move == "reject":
    answer = {"choice": "Reject", "by": "reviewer", "at": "2026-02-02T00:00:00+00:00", "reason": "crash test"}
    moves.reject_at_approval(registry, config, "2", answer, actor=actor)
print("finished")
"""

POINTS = [
    ("promote", "deploy.promote.after_audit_pending"),
    ("promote", "deploy.promote.after_alias"),
    ("promote", "deploy.promote.after_mlflow"),
    ("rollback", "deploy.rollback.after_audit_pending"),
    ("rollback", "deploy.rollback.after_alias"),
    ("rollback", "deploy.rollback.after_mlflow"),
    ("health_rollback", "deploy.health_rollback.after_audit_pending"),
    ("health_rollback", "deploy.health_rollback.after_alias"),
    ("health_rollback", "deploy.health_rollback.after_mlflow"),
    ("reject", "deploy.reject.after_audit_pending"),
    ("reject", "deploy.reject.after_mlflow"),
]


# -- state ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def empty_mlflow_db(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its schema (made once: the migrations take seconds)."""
    return registries.empty_mlflow_db(tmp_path_factory.mktemp("mlflow-template"))


@pytest.fixture
def stores(tmp_path, empty_mlflow_db, monkeypatch) -> tuple[str, str]:
    """(tracking URI, audit URL) of fresh stores in tmp: ``churn`` v1 champion, v2 shadow."""
    shutil.copy(empty_mlflow_db, tmp_path / "mlflow.db")
    monkeypatch.setenv("MLOPS_MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    uri, audit_url = f"sqlite:///{tmp_path / 'mlflow.db'}", f"sqlite:///{tmp_path / 'audit.db'}"
    registry = ModelRegistry(uri, audit=AuditStore(audit_url))
    registries.champion_and_shadow(registry, MODEL, tmp_path)
    registry.audit.close()
    return uri, audit_url


def open_registry(stores: tuple[str, str]) -> ModelRegistry:
    return ModelRegistry(stores[0], audit=AuditStore(stores[1]))


def promote_v2(registry: ModelRegistry) -> None:
    """v2 champion, v1 archived (a former champion a rollback can restore)."""
    moves.promote_champion(registry, CONFIG, "2", "1", reason="setup", actor="setup:promote", evidence={})


def run_move(stores: tuple[str, str], move: str, actor: str, point: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "MLOPS_FAILPOINTS": point or ""}
    return subprocess.run(
        [sys.executable, "-c", _MOVE, *stores, move, actor],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
        timeout=300,
        check=False,
    )


def alias(registry: ModelRegistry, name: str) -> str | None:
    holder = registry.alias_version(MODEL, name)
    return str(holder.version) if holder is not None else None


def audit_holder(registry: ModelRegistry, stage: str) -> str | None:
    held = [v for v, s in registry.audit.current(MODEL).items() if s == stage]
    assert len(held) <= 1, held
    return held[0] if held else None


def assert_consistent(registry: ModelRegistry) -> None:
    """MLflow and the audit trail agree: stages, aliases, nothing pending."""
    assert registry.disagreements(MODEL) == []
    assert registry.audit.pending(MODEL) == []
    assert alias(registry, CHAMPION_ALIAS) == audit_holder(registry, "champion") is not None
    assert alias(registry, CHALLENGER_ALIAS) == audit_holder(registry, "shadow")


def next_move(registry: ModelRegistry, move: str) -> None:
    """The move (or its opposite, when the first one went through) succeeds for a new actor."""
    stage = registry.audit.stage_of(MODEL, "2")
    if move == "promote":
        if stage == "shadow":
            promote_v2(registry)
        else:
            moves.rollback(registry, CONFIG, target="1", reason="next", actor="airflow:next/run")
    elif move == "reject":
        assert stage in ("shadow", "rejected")
        if stage == "shadow":
            answer = {"choice": "Reject", "by": "reviewer", "at": "2026-02-02T00:00:00+00:00", "reason": "next"}
            moves.reject_at_approval(registry, CONFIG, "2", answer, actor="airflow:next/run")
    elif alias(registry, CHAMPION_ALIAS) == "2":  # a rollback reverted: the rollback again
        moves.rollback(registry, CONFIG, target="1", reason="next", actor="airflow:next/run")
    assert_consistent(registry)


# -- the crashes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("recovery", ["retry", "reconcile"])
@pytest.mark.parametrize(("move", "point"), POINTS, ids=[p for _, p in POINTS])
def test_a_move_killed_at_a_fail_point_is_repaired(stores, move, point, recovery):
    registry = open_registry(stores)
    if move in ("rollback", "health_rollback"):
        promote_v2(registry)

    crashed = run_move(stores, move, CRASHED, point)

    assert crashed.returncode == -9, (crashed.returncode, crashed.stderr[-2000:])
    assert f"failpoint {point}: killing process" in crashed.stderr and "finished" not in crashed.stdout
    assert len(registry.audit.pending(MODEL)) == 1  # the claim is on record, unfinished
    if recovery == "retry":  # Airflow retries the same task: same actor
        retried = run_move(stores, move, CRASHED, None)
        assert retried.returncode == 0, retried.stderr[-3000:]
        assert_consistent(registry)
        moved = {"promote": "champion", "reject": "rejected"}.get(move, "champion")
        assert registry.audit.stage_of(MODEL, "2" if move != "rollback" and move != "health_rollback" else "1") == moved
    else:
        result = reconcile(registry, MODEL, repair=True, by="test:reconcile", stale_after=0)
        assert result["ok"], result
        assert [s["deployment_id"] for s in result["settled"]] and result["in_flight"] == []
        check_reconciled(result)
        assert_consistent(registry)
    next_move(registry, move)
    registry.audit.close()


def test_a_fresh_pending_move_of_another_worker_is_left_alone_and_blocks_with_a_message(stores):
    """A claim younger than ``stale_after`` may have a live worker: reconcile leaves it, a
    competing move is refused naming it and the fix; once stale it is settled."""
    registry = open_registry(stores)
    crashed = run_move(stores, "promote", CRASHED, "deploy.promote.after_audit_pending")
    assert crashed.returncode == -9

    fresh = reconcile(registry, MODEL, repair=True, by="test:reconcile")  # default: 300 s
    assert fresh["settled"] == [] and len(fresh["in_flight"]) == 1 and not fresh["ok"]
    check_reconciled(fresh)  # in flight alone does not fail the promote DAG's first task
    with pytest.raises(RefusedMove, match=rf"by {CRASHED} .* is still pending.*reconcile_churn"):
        moves.promote_champion(registry, CONFIG, "2", "1", reason="other", actor="airflow:other/run", evidence={})

    stale = reconcile(registry, MODEL, repair=True, by="test:reconcile", stale_after=0)
    assert [s["outcome"] for s in stale["settled"]] == ["failed"] and stale["ok"]
    promote_v2(registry)
    assert_consistent(registry)


def test_concurrent_claims_have_exactly_one_winner(stores):
    """Two promotions (separate processes) with the same expectation: one claim, one refusal."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MOVE, *stores, "promote", f"airflow:race/run_{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT), "MLOPS_FAILPOINTS": ""},
            cwd=PROJECT,
        )
        for i in range(2)
    ]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _, _ in results) == [0, 1], results
    assert any("RefusedMove" in err for code, _, err in results if code == 1)
    registry = open_registry(stores)
    assert_consistent(registry)
    assert alias(registry, CHAMPION_ALIAS) == "2"
    assert {h["status"] for h in registry.audit.history(MODEL)} == {"succeeded"}


# -- the audit trail ahead of MLflow (finding 2 on the old code) -------------------------------------
def test_audit_ahead_of_mlflow_is_rolled_forward(stores):
    """The state the old code left for good: the audit compare-and-set done, MLflow not moved."""
    registry = open_registry(stores)
    assert registry.audit.compare_and_set_stage(MODEL, "2", "shadow", "champion", actor="old-code")
    assert alias(registry, CHAMPION_ALIAS) == "1" and registry.disagreements(MODEL)
    with pytest.raises(RegistryStateError, match="audit trail's champion is v2"):
        pin_models(registry, CONFIG, **DATES)  # scoring does not follow the stale alias

    result = reconcile(registry, MODEL, repair=True, by="test:reconcile")

    assert {r["version"] for r in result["repaired"]} == {"1", "2"} and result["ok"], result
    assert_consistent(registry)
    assert alias(registry, CHAMPION_ALIAS) == "2" and registry.stage_of(MODEL, "1") == "archived"
    moves.rollback(registry, CONFIG, target="1", reason="not refused", actor="airflow:next/run")
    assert_consistent(registry)


# -- an alias moved outside the pipeline ---------------------------------------------------------------
def test_champion_alias_moved_outside_the_pipeline_is_refused_by_scoring_until_restored(stores):
    registry = open_registry(stores)
    registry.client.set_registered_model_alias(MODEL, CHAMPION_ALIAS, "2")  # MLflow UI "Promote"

    with pytest.raises(RegistryStateError) as refused:
        pin_models(registry, CONFIG, **DATES)
    message = str(refused.value)
    assert "@champion points at v2" in message and "audit trail's champion is v1" in message
    assert "reconcile_churn" in message and "promote_churn" in message and "rollback_churn" in message

    reported = reconcile(registry, MODEL, repair=True, by="test:reconcile")
    assert not reported["ok"] and reported["repaired"] == []
    assert {"alias": CHAMPION_ALIAS, "registry": "2", "audit": "1"} in reported["alias_drift"]
    with pytest.raises(RegistryStateError, match="restore_aliases=true"):
        check_reconciled(reported)
    assert alias(registry, CHAMPION_ALIAS) == "2"  # reported, not moved without the option
    with pytest.raises(RefusedMove):  # no promotion on top of a tampered alias
        promote_v2(registry)

    restored = reconcile(registry, MODEL, repair=True, restore_aliases=True, by="test:reconcile")

    assert restored["ok"] and {"alias": CHAMPION_ALIAS, "registry": "2", "audit": "1"} in restored["aliases_moved"]
    assert_consistent(registry)
    assert pin_models(registry, CONFIG, **DATES)["champion"]["version"] == "1"


def test_scoring_without_an_audit_trail_uses_the_alias(stores):
    registry = ModelRegistry(stores[0])
    registry.client.set_registered_model_alias(MODEL, CHAMPION_ALIAS, "2")
    assert pin_models(registry, CONFIG, **DATES)["champion"]["version"] == "2"


def test_the_cli_reports_and_repairs(stores):
    registry = open_registry(stores)
    registry.client.set_registered_model_alias(MODEL, CHAMPION_ALIAS, "2")
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "MLFLOW_TRACKING_URI": stores[0], "MLOPS_AUDIT_DB_URL": stores[1]}

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "include.deploy.reconcile", MODEL, *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=PROJECT, timeout=300, check=False)

    reported = cli()
    assert reported.returncode == 1 and '"alias_drift"' in reported.stdout, reported.stderr[-2000:]
    assert alias(registry, CHAMPION_ALIAS) == "2"
    repaired = cli("--repair", "--restore-aliases")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr[-2000:]
    assert_consistent(registry)


def test_a_model_the_audit_trail_never_saw_is_adopted_before_a_move(stores, tmp_path):
    """A new audit database: the first move (or reconcile) records MLflow's stages as they are,
    then the compare-and-set applies as usual."""
    fresh = ModelRegistry(stores[0], audit=AuditStore(f"sqlite:///{tmp_path / 'new-audit.db'}"))
    assert fresh.audit.current(MODEL) == {}

    promote_v2(fresh)

    assert fresh.audit.current(MODEL) == {"1": "archived", "2": "champion"}
    assert_consistent(fresh)
    adopted = [h for h in fresh.audit.history(MODEL) if h["reason"].startswith("adopted from MLflow")]
    assert sorted(h["version"] for h in adopted) == ["1", "2"]
    fresh.audit.close()


def test_an_mlflow_error_mid_move_fails_the_claim_and_reconcile_puts_mlflow_back(stores, monkeypatch):
    """Not a crash: MLflow refuses writes after the alias moved (an outage). The claim is
    finished ``failed`` at once; once MLflow is back, reconcile puts it back to the audit trail
    and the move runs again."""
    registry = open_registry(stores)
    real = registry.client.set_model_version_tag

    def outage(name: str, version: str, key: str, value: str) -> None:
        if key == "mlops.stage":
            raise RuntimeError("MLflow is down")
        real(name, version, key, value)

    monkeypatch.setattr(registry.client, "set_model_version_tag", outage)
    with pytest.raises(RuntimeError, match="MLflow is down"):
        promote_v2(registry)
    monkeypatch.undo()  # MLflow answers again

    assert registry.audit.history(MODEL, "2")[0]["status"] == "failed" and registry.audit.pending(MODEL) == []
    assert registry.audit.current(MODEL) == {"1": "champion", "2": "shadow"}
    result = reconcile(registry, MODEL, repair=True, by="test:reconcile")
    assert result["ok"], result
    assert_consistent(registry)
    assert alias(registry, CHAMPION_ALIAS) == "1"
    promote_v2(registry)
    assert_consistent(registry)
    assert alias(registry, CHAMPION_ALIAS) == "2"
