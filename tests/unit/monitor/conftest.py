"""A champion to monitor against, in a real (SQLite) MLflow registry, and feature partitions in a
local data root: what the monitoring steps read, without training a model.

The champion's run holds what retrain logs for monitoring: hold-out metrics, the scoring
contract, the reference profile and sample of its training features, the hold-out scores.
Feature days: ``CLEAN_DS`` like the training days, ``DRIFT_DS`` with the generator's covariate
drift, ``BROKEN_DS`` without ``contract_type``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from include.contracts import CHAMPION_ALIAS, Artifact, Column, Dataset, Tag, split_artifact

MODEL = "churn"
TRAIN_DAYS = [dt.date(2026, 2, 1) + dt.timedelta(days=i) for i in range(5)]
TRAINED_UNTIL = "2026-02-06"
CLEAN_DS = "2026-02-10"
DRIFT_DS = "2026-02-11"
BROKEN_DS = "2026-02-12"
ROWS = 600
HOLDOUT_ROC_AUC = 0.81


@dataclass
class World:
    config: Any
    storage: Any
    registry: Any
    run_id: str
    version: str
    tracking_uri: str
    root: Path


def _features(day: dt.date | str, **options: Any) -> Any:
    from include.dev.sample_data import generate_day

    return generate_day(day, customers=2000, rows_per_day=ROWS, **options)[0]


def _log_bytes(registry: Any, run_id: str, path: str, data: bytes, tmp: Path) -> None:
    folder, name = split_artifact(path)
    local = tmp / name
    local.write_bytes(data)
    registry.client.log_artifact(run_id, str(local), folder)


def _champion_run(registry: Any, config: Any, tmp: Path) -> str:
    import numpy as np
    import pandas as pd

    from include.ml.contract import scoring_contract
    from include.ml.profile import build_profile, reference_sample
    from include.platform.parquet import frame_to_parquet

    train = pd.concat([_features(d) for d in TRAIN_DAYS], ignore_index=True)
    run_id = registry.client.create_run(registry.experiment_id(MODEL)).info.run_id
    profile = build_profile(train, config.features.numeric, config.features.categorical)
    sample = reference_sample(train, config.features.all)
    scores = pd.DataFrame({Column.SCORE: np.random.default_rng(3).beta(2, 5, 1500)})
    registry.client.log_text(run_id, json.dumps({"metrics": {"roc_auc": HOLDOUT_ROC_AUC}}), Artifact.EVALUATION)
    registry.client.log_text(run_id, json.dumps(scoring_contract(config, train)), Artifact.SCORING_CONTRACT)
    registry.client.log_text(run_id, json.dumps(profile), Artifact.REFERENCE_PROFILE)
    _log_bytes(registry, run_id, Artifact.REFERENCE_SAMPLE, frame_to_parquet(sample), tmp)
    _log_bytes(registry, run_id, Artifact.HOLDOUT_SCORES, frame_to_parquet(scores), tmp)
    registry.client.set_terminated(run_id)
    return run_id


def _register_champion(registry: Any, run_id: str) -> str:
    client = registry.client
    client.create_registered_model(MODEL)
    version = client.create_model_version(
        MODEL, f"runs:/{run_id}/model", run_id=run_id, tags={Tag.WINDOW: f"2026-01-07..{TRAINED_UNTIL}"}
    )
    client.set_registered_model_alias(MODEL, CHAMPION_ALIAS, version.version)
    return str(version.version)


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from include.platform.partitions import publish_frame
    from include.platform.registry import ModelRegistry
    from include.platform.storage import LocalStorage
    from tests.unit.conftest import small_churn_config

    root = tmp_path_factory.mktemp("monitor-world")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPS_MLFLOW_ARTIFACT_ROOT", str(root / "artifacts"))
        tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
        registry = ModelRegistry(tracking_uri)
        config = small_churn_config()
        run_id = _champion_run(registry, config, root)
        version = _register_champion(registry, run_id)
        storage = LocalStorage(root / "data")
        publish_frame(storage, Dataset.FEATURES, MODEL, CLEAN_DS, _features(CLEAN_DS))
        publish_frame(storage, Dataset.FEATURES, MODEL, DRIFT_DS, _features(DRIFT_DS, covariate_drift_from=DRIFT_DS))
        broken = _features(BROKEN_DS, corrupt={"day": BROKEN_DS, "kind": "drop_column"})
        publish_frame(storage, Dataset.FEATURES, MODEL, BROKEN_DS, broken)
        yield World(config, storage, registry, run_id, version, tracking_uri, root)


def read_json(storage: Any, key: str) -> Any:
    return json.loads(storage.read_text(key))


def parquet_frame(data: bytes) -> Any:
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))
