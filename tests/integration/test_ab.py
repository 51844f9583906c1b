"""An A/B test (``deploy.strategy: ab``) decided by promote runs, against a real MLflow tracking
store (SQLite file), a real SQLite audit database and published partitions on local storage.

Each date is published as batch scoring publishes it under the test: the challenger's rows for
the entities of its arm (the salted hash), the champion's for the rest, each row naming its
version; the labels arrive in later partitions. Outcomes are drawn with a known accuracy per
arm (seeded). ``ab_evidence`` is what the promote DAG's gather_evidence task calls.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from include.config.notifications import Event
from include.contracts import CHALLENGER_ALIAS, REJECTED, RunKind, Tag
from include.deploy.ab import ab_evidence
from include.deploy.experiment.decision import KEEP_RUNNING as AB_KEEP_RUNNING
from include.deploy.experiment.decision import PROMOTE as AB_PROMOTE
from include.deploy.experiment.decision import REJECT as AB_REJECT
from include.deploy.messages import promotion_note
from include.notify.runbooks import runbook_file
from include.platform.assignment import arm_of
from include.platform.audit import AuditStore
from include.platform.audit.experiments import ExperimentDecisions, experiment_salt
from include.platform.partitions import publish_frame, read_partition
from include.platform.registry import ModelRegistry
from include.platform.storage import LocalStorage
from include.score.pinning import pin_models
from tests.fixtures import registries
from tests.unit.conftest import small_churn_config

MODEL = "churn"
AB = {"strategy": "ab", "ab_min_detectable_effect": 0.1, "ab_baseline": 0.7, "min_shadow_batches": 1}
CONFIG = small_churn_config(deploy=AB)
DATES = {"ds": "2026-02-02", "ds_end": None, "interval_start": None, "run_after": None}
GOOD = {"shadow_rows": 400.0, "shadow_agreement": 0.8, "shadow_error_rate": 0.0, "shadow_latency_ms_per_1k": 20.0}
ROWS_PER_DAY = 400
SALT = experiment_salt(MODEL, "2")


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


def publish_day(registry: ModelRegistry, storage: LocalStorage, n: int, accuracy: dict[str, float], **metrics) -> str:
    """Day ``n``'s published predictions (challenger v2 for its arm), its shadow record, and its
    labels seven days later, each prediction right with its version's ``accuracy``."""
    ds = (dt.date(2026, 2, 1) + dt.timedelta(days=n)).isoformat()
    rng = np.random.default_rng(n)
    entities = [f"c{n:02d}-{i:05d}" for i in range(ROWS_PER_DAY)]
    versions = np.array(["2" if arm_of(e, SALT, 0.5) == "treatment" else "1" for e in entities])
    predicted = rng.integers(0, 2, ROWS_PER_DAY)
    right = rng.random(ROWS_PER_DAY) < np.where(versions == "2", accuracy["2"], accuracy["1"])
    ts = pd.Timestamp(ds, tz="UTC") + pd.to_timedelta(np.arange(ROWS_PER_DAY), unit="s")
    predictions = pd.DataFrame({"customer_id": entities, "event_ts": ts, "prediction": predicted.astype("int8"),
                                "score": predicted * 0.8 + 0.1, "model_name": MODEL, "model_version": versions,
                                "run_id": "r", "flags": ""})  # fmt: skip
    publish_frame(storage, "predictions", MODEL, ds, predictions)
    labels = pd.DataFrame(
        {"customer_id": entities, "event_ts": ts, "churned": np.where(right, predicted, 1 - predicted)}
    )
    publish_frame(storage, "labels", MODEL, (dt.date.fromisoformat(ds) + dt.timedelta(days=7)).isoformat(), labels)
    tags = {Tag.KIND: RunKind.SHADOW, Tag.DS: ds, Tag.SHADOW_VERSION: "2", Tag.SHADOW_CHAMPION_VERSION: "1",
            Tag.CANARY_SHARE: "0.5"}  # fmt: skip
    registry.upsert_run(registry.experiment_id(MODEL), f"shadow/{ds}/v2", f"shadow {ds} v2", tags, {**GOOD, **metrics})
    return ds


def promote_run(registry: ModelRegistry, storage: LocalStorage, actor: str, config=CONFIG) -> dict[str, Any]:
    return dict(ab_evidence(registry, config, "2", "1", lambda: storage, actor=actor))


def test_a_better_challenger_keeps_running_until_the_horizon_then_is_promoted(registry, tmp_path):
    storage = LocalStorage(tmp_path / "data")
    decisions = ExperimentDecisions(registry.audit)
    pinned = pin_models(registry, CONFIG, **DATES)["canary"]  # what batch scoring publishes with
    assert pinned == {"share": 0.5, "salt": "churn:ab:v2"}

    ds = publish_day(registry, storage, 1, {"1": 0.7, "2": 0.8})
    published = read_partition(storage, "predictions", MODEL, ds)
    assert 0.4 < (published["model_version"] == "2").mean() < 0.6  # the split is balanced
    first = promote_run(registry, storage, "airflow:promote_churn/run_1")
    experiment = first["experiment"]
    plan = experiment["plan"]
    assert experiment["outcome"] == AB_KEEP_RUNNING and not first["verdict"]["ready"]
    assert 200 < plan["n_treatment"] == plan["n_control"] < 260  # 0.7 -> 0.8 at power 0.8, alpha 0.05
    assert experiment["arms"]["n_treatment"] + experiment["arms"]["n_control"] == ROWS_PER_DAY
    assert experiment["arms"]["outside_split"] == 0
    assert "keep running" in first["summary"].splitlines()[0] and "(not acted on)" in first["summary"]
    assert promotion_note(MODEL, first, None, None).event == Event.INFO
    promote_run(registry, storage, "airflow:promote_churn/run_1")  # a retried task: recorded once
    assert [row["outcome"] for row in decisions.history(MODEL, "2")] == [AB_KEEP_RUNNING]
    assert decisions.latest(MODEL, "2")["evidence"]["plan"]["n_treatment"] == plan["n_treatment"]  # shown up front

    for n in (2, 3):
        publish_day(registry, storage, n, {"1": 0.7, "2": 0.8})
    second = promote_run(registry, storage, "airflow:promote_churn/run_2")

    experiment = second["experiment"]
    print(second["summary"])
    assert experiment["outcome"] == AB_PROMOTE and second["verdict"]["ready"], second["summary"]
    comparison = experiment["comparison"]
    assert comparison["n_treatment"] >= plan["n_treatment"] and comparison["p_value"] < 0.05
    assert comparison["ci_low"] > 0 and 0.05 < comparison["effect"] < 0.16  # true effect 0.1
    assert [row["outcome"] for row in decisions.history(MODEL, "2")] == [AB_KEEP_RUNNING, AB_PROMOTE]
    # A later run (the promotion held by a freeze window, say) reads the decision back.
    publish_day(registry, storage, 4, {"1": 0.7, "2": 0.6})
    later = promote_run(registry, storage, "airflow:promote_churn/run_3")
    assert later["experiment"]["outcome"] == AB_PROMOTE and later["experiment"]["recorded"]
    assert later["experiment"]["comparison"] == comparison and len(decisions.history(MODEL, "2")) == 2


def test_an_equal_challenger_is_rejected_at_the_horizon(registry, tmp_path):
    storage = LocalStorage(tmp_path / "data")
    for n in (1, 2, 3):
        publish_day(registry, storage, n, {"1": 0.7, "2": 0.7})

    gathered = promote_run(registry, storage, "airflow:promote_churn/run_1")

    experiment = gathered["experiment"]
    assert experiment["outcome"] == AB_REJECT and gathered["rejected"], gathered["summary"]
    assert (
        experiment["comparison"]["p_value"] >= 0.05 and "superiority not shown at the horizon" in experiment["reason"]
    )
    assert registry.audit.stage_of(MODEL, "2") == REJECTED and registry.stages(MODEL)["2"] == REJECTED
    assert registry.audit.history(MODEL, "2")[0]["reason"].startswith("A/B test reject: superiority not shown")
    assert registry.alias_version(MODEL, CHALLENGER_ALIAS) is None and registry.disagreements(MODEL) == []
    assert pin_models(registry, CONFIG, **DATES)["challenger"] is None  # scoring: the champion for everyone
    note = promotion_note(MODEL, gathered, None, None)
    assert note.event == Event.AB_DECISION and note.subject == "A/B test rejected v2: every entity back to champion v1"
    assert runbook_file(note.event) == "ab-decision.md"


def test_non_inferiority_promotes_an_equal_challenger_within_the_margin(registry, tmp_path):
    storage = LocalStorage(tmp_path / "data")
    config = small_churn_config(deploy={**AB, "ab_hypothesis": "non_inferiority", "ab_margin": 0.1,
                                        "ab_min_detectable_effect": 0.0})  # fmt: skip
    for n in (1, 2, 3):
        publish_day(registry, storage, n, {"1": 0.7, "2": 0.7})

    gathered = promote_run(registry, storage, "airflow:promote_churn/run_1", config)

    experiment = gathered["experiment"]
    assert experiment["outcome"] == AB_PROMOTE and gathered["verdict"]["ready"], gathered["summary"]
    assert experiment["comparison"]["ci_low"] > -0.1 and "non-inferiority within 0.1 shown" in experiment["reason"]


def test_a_published_challenger_that_errs_is_rejected_without_waiting(registry, tmp_path):
    storage = LocalStorage(tmp_path / "data")
    publish_day(registry, storage, 1, {"1": 0.7, "2": 0.9}, shadow_error_rate=0.2)

    gathered = promote_run(registry, storage, "airflow:promote_churn/run_1")

    assert gathered["experiment"]["outcome"] == AB_REJECT and gathered["experiment"]["comparison"]
    assert "published challenger failed error rate 0.2000, limit 0.0" in gathered["experiment"]["reason"]
    assert registry.audit.stage_of(MODEL, "2") == REJECTED


_DECIDE = r"""
import sys
from include.deploy.ab import ab_evidence
from include.platform.audit import AuditStore
from include.platform.registry import ModelRegistry
from include.platform.storage import LocalStorage
from tests.integration.test_ab import CONFIG

uri, audit_url, data, actor = sys.argv[1:5]
registry = ModelRegistry(uri, audit=AuditStore(audit_url))
ab_evidence(registry, CONFIG, "2", "1", lambda: LocalStorage(data), actor=actor)
print("finished")
"""


def test_a_worker_killed_between_the_decision_and_the_rejection_is_finished_by_the_retry(registry, tmp_path):
    """SIGKILL at ``deploy.ab.after_decision``: the reject decision is recorded, the challenger
    still in shadow; the retried task (same run) reads its decision back, records no second one
    and finishes the rejection, so MLflow and the audit trail agree."""
    storage = LocalStorage(tmp_path / "data")
    for n in (1, 2, 3):
        publish_day(registry, storage, n, {"1": 0.7, "2": 0.7})
    actor = "airflow:promote_churn/run_killed"
    killed = subprocess.run(
        [sys.executable, "-c", _DECIDE, registry.tracking_uri, registry.audit.safe_url, str(storage.root), actor],
        env={**os.environ, "MLOPS_FAILPOINTS": "deploy.ab.after_decision"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    decisions = ExperimentDecisions(registry.audit)
    assert [row["outcome"] for row in decisions.history(MODEL, "2")] == [AB_REJECT]
    assert registry.audit.stage_of(MODEL, "2") == "shadow"  # the rejection never happened

    retried = promote_run(registry, storage, actor)

    assert retried["experiment"]["recorded"] and retried["experiment"]["outcome"] == AB_REJECT
    assert [row["outcome"] for row in decisions.history(MODEL, "2")] == [AB_REJECT]  # not recorded twice
    assert registry.audit.stage_of(MODEL, "2") == REJECTED and registry.stages(MODEL)["2"] == REJECTED
    assert registry.disagreements(MODEL) == []
