"""A canary (``deploy.strategy: canary``) stepped through its ramp by promote runs, against a real
MLflow tracking store (SQLite file) and a real SQLite audit database.

The shadow records batch scoring logs per date (MLflow runs tagged with the share the date was
published at) are the evidence; ``canary_evidence`` is what the promote DAG's gather_evidence
task calls. A good canary advances 5% -> 25% -> 50% -> 100% one run at a time (batch scoring pins
each new share), then is ready for the usual promotion; a retried task does not step twice; a
canary whose scores stray from the champion's is halted: share 0, rejected in MLflow and the
audit trail (which agree), notified as ``canary_halted``, and scoring publishes only the champion.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from include.config.notifications import Event
from include.contracts import CHALLENGER_ALIAS, REJECTED, RunKind, Tag
from include.deploy.canary import ADVANCE, HALT, HOLD, PROMOTE, canary_evidence
from include.deploy.messages import promotion_note
from include.platform.audit import AuditStore
from include.platform.audit.canary import CanarySteps
from include.platform.registry import ModelRegistry
from include.score.pinning import pin_models
from tests.fixtures import registries
from tests.unit.conftest import small_churn_config

MODEL = "churn"
CONFIG = small_churn_config(deploy={"strategy": "canary", "canary_min_batches": 1})
DATES = {"ds": "2026-02-02", "ds_end": None, "interval_start": None, "run_after": None}
GOOD = {"shadow_rows": 600.0, "shadow_agreement": 0.95, "shadow_error_rate": 0.0,
        "shadow_latency_ms_per_1k": 20.0, "shadow_mean_abs_score_diff": 0.03}  # fmt: skip


@pytest.fixture(scope="module")
def empty_mlflow_db(tmp_path_factory) -> Path:
    return registries.empty_mlflow_db(tmp_path_factory.mktemp("mlflow-template"))


@pytest.fixture
def registry(tmp_path, empty_mlflow_db, monkeypatch) -> ModelRegistry:
    """``churn`` v1 champion, v2 challenger (shadow) in MLflow and the audit trail."""
    shutil.copy(empty_mlflow_db, tmp_path / "mlflow.db")
    monkeypatch.setenv("MLOPS_MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", audit=AuditStore(f"sqlite:///{tmp_path}/a.db"))
    registries.champion_and_shadow(registry, MODEL, tmp_path)
    return registry


def scored(registry: ModelRegistry, ds: str, share: float, **metrics: float) -> None:
    """What batch scoring records for a date published with the canary at ``share``."""
    tags = {Tag.KIND: RunKind.SHADOW, Tag.DS: ds, Tag.SHADOW_VERSION: "2", Tag.SHADOW_CHAMPION_VERSION: "1",
            Tag.CANARY_SHARE: f"{share:g}"}  # fmt: skip
    experiment = registry.experiment_id(MODEL)
    registry.upsert_run(experiment, f"shadow/{ds}/v2", f"shadow {ds} v2", tags, {**GOOD, **metrics})


def promote_run(registry: ModelRegistry, actor: str, tmp_path: Path) -> dict[str, Any]:
    from include.platform.storage import LocalStorage

    return dict(canary_evidence(registry, CONFIG, "2", "1", lambda: LocalStorage(tmp_path / "data"), actor=actor))


def test_a_good_canary_ramps_one_step_per_run_then_is_ready(registry, tmp_path):
    steps = CanarySteps(registry.audit)
    first = promote_run(registry, "airflow:promote_churn/run_0", tmp_path)  # nothing scored yet
    assert first["canary"]["action"] == HOLD and not first["verdict"]["ready"]
    assert promotion_note(MODEL, first, None, None).event == Event.INFO

    ramp = CONFIG.deploy.canary_ramp
    for n, share in enumerate(ramp, start=1):
        assert pin_models(registry, CONFIG, **DATES)["canary"]["share"] == share  # what scoring publishes
        scored(registry, f"2026-02-0{n}", share)
        gathered = promote_run(registry, f"airflow:promote_churn/run_{n}", tmp_path)
        if share < 1:
            assert gathered["canary"]["action"] == ADVANCE and not gathered["verdict"]["ready"]
            assert gathered["canary"]["next_share"] == ramp[n]
            assert promotion_note(MODEL, gathered, None, None).event == Event.CANARY_ADVANCED
            # Airflow retries the task: the step is recorded once.
            promote_run(registry, f"airflow:promote_churn/run_{n}", tmp_path)
        else:
            assert gathered["canary"]["action"] == PROMOTE and gathered["verdict"]["ready"]
    assert [row["share"] for row in steps.history(MODEL, "2")] == ramp[1:]
    assert {row["status"] for row in steps.history(MODEL, "2")} == {"running"}


def test_a_straying_canary_is_halted_and_rejected(registry, tmp_path):
    scored(registry, "2026-02-01", 0.05, shadow_mean_abs_score_diff=0.4)  # far from the champion
    gathered = promote_run(registry, "airflow:promote_churn/run_1", tmp_path)
    step = gathered["canary"]
    assert step["action"] == HALT and step["next_share"] == 0 and gathered["rejected"]
    assert "canary_max_score_diff" in [c["name"] for c in step["criteria"] if not c["passed"]]
    assert "score 0.4000 on the same rows, limit 0.1" in step["reason"]

    latest = CanarySteps(registry.audit).latest(MODEL, "2")
    assert (latest["share"], latest["status"]) == (0.0, "halted")
    assert registry.audit.stage_of(MODEL, "2") == REJECTED and registry.stages(MODEL)["2"] == REJECTED
    assert registry.alias_version(MODEL, CHALLENGER_ALIAS) is None
    assert registry.disagreements(MODEL) == []
    assert pin_models(registry, CONFIG, **DATES)["challenger"] is None  # scoring: champion only
    note = promotion_note(MODEL, gathered, None, None)
    assert note.event == Event.CANARY_HALTED and "every entity back to champion v1" in note.subject


_STEP = r"""
import sys
from include.deploy.canary import canary_evidence
from include.platform.audit import AuditStore
from include.platform.registry import ModelRegistry
from include.platform.storage import LocalStorage
from tests.integration.test_canary import CONFIG

uri, audit_url, data, actor = sys.argv[1:5]
registry = ModelRegistry(uri, audit=AuditStore(audit_url))
canary_evidence(registry, CONFIG, "2", "1", lambda: LocalStorage(data), actor=actor)
print("finished")
"""


def test_a_worker_killed_between_the_halt_and_the_rejection_is_finished_by_the_retry(registry, tmp_path):
    """The promote task's worker dies (SIGKILL at ``deploy.canary.after_step``) after the halt is
    recorded and before the challenger is rejected; the retried task (same run) finds its step,
    records no second one and finishes the rejection: MLflow and the audit trail agree."""
    import os
    import subprocess
    import sys

    scored(registry, "2026-02-01", 0.05, shadow_error_rate=0.2)  # the challenger fails 20% of rows
    actor = "airflow:promote_churn/run_killed"
    killed = subprocess.run(
        [sys.executable, "-c", _STEP, registry.tracking_uri, registry.audit.safe_url, str(tmp_path / "data"), actor],
        env={**os.environ, "MLOPS_FAILPOINTS": "deploy.canary.after_step"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    steps = CanarySteps(registry.audit)
    assert [row["status"] for row in steps.history(MODEL, "2")] == ["halted"]
    assert registry.audit.stage_of(MODEL, "2") == "shadow"  # the rejection never happened

    retried = promote_run(registry, actor, tmp_path)

    assert retried["canary"]["action"] == HALT and "error rate 0.2000, limit 0.0" in retried["canary"]["reason"]
    assert [row["status"] for row in steps.history(MODEL, "2")] == ["halted"]  # not recorded twice
    assert registry.audit.stage_of(MODEL, "2") == REJECTED and registry.stages(MODEL)["2"] == REJECTED
    assert registry.disagreements(MODEL) == []
