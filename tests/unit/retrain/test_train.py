"""What the train stage derives without training: the run key that makes reruns reuse a run,
the hold-out key, the MLflow params and tags, the model's pinned requirements."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from include.contracts import Tag, training_prefix
from include.retrain.train import config_hash, holdout_key, model_requirements, run_key, run_params, run_tags
from tests.unit.conftest import small_churn_config

PULLED = {
    "dataset_key": "training/churn/window_end=2026-02-10/dataset.parquet",
    "window_start": "2026-01-13",
    "window_end": "2026-02-10",
    "rows": 1234,
    "data_hash": "ab" * 32,
}


@pytest.fixture(scope="module")
def config():
    return small_churn_config()


def test_run_key_names_model_window_data_and_config(config):
    key = run_key(config, PULLED)
    assert key == f"churn/2026-02-10/{'ab' * 8}/{config_hash(config)[:12]}"
    assert run_key(config, dict(PULLED)) == key  # deterministic


def test_run_key_changes_with_the_data_or_the_config(config):
    key = run_key(config, PULLED)
    assert run_key(config, {**PULLED, "data_hash": "cd" * 32}) != key
    assert run_key(config, {**PULLED, "window_end": "2026-02-17"}) != key
    other = small_churn_config(training={"seed": 7})
    assert config_hash(other) != config_hash(config)
    assert run_key(other, PULLED) != key


def test_holdout_sits_beside_the_pulled_dataset(config):
    assert holdout_key(config, "2026-02-10") == f"{training_prefix('churn', '2026-02-10')}/holdout.parquet"
    assert holdout_key(config, "2026-02-10").rsplit("/", 1)[0] == PULLED["dataset_key"].rsplit("/", 1)[0]


def test_run_params(config):
    params = run_params(config, PULLED, train_rows=1000, holdout_rows=234)
    assert params["estimator.max_iter"] == 30
    assert params["estimator.class_path"] == config.estimator.class_path
    assert (params["window_start"], params["window_end"], params["rows"]) == ("2026-01-13", "2026-02-10", 1234)
    assert (params["train_rows"], params["holdout_rows"]) == (1000, 234)
    assert params["seed"] == config.training.seed
    assert params["features.numeric"] == ",".join(config.features.numeric)
    assert params["features.categorical"] == ",".join(config.features.categorical)


def test_run_tags(config, monkeypatch):
    monkeypatch.setenv("MLOPS_CODE_VERSION", "abc123")
    tags = run_tags(config, PULLED, "the-key", "airflow:retrain_churn/run1")
    assert tags == {
        Tag.RUN_KEY: "the-key",
        Tag.MODEL: "churn",
        Tag.DATA_HASH: "ab" * 32,
        Tag.WINDOW: "2026-01-13..2026-02-10",
        Tag.CODE_VERSION: "abc123",
        Tag.CONFIG_HASH: config_hash(config),
        Tag.ACTOR: "airflow:retrain_churn/run1",
    }


def test_model_requirements_are_pinned_to_the_installed_versions():
    pins = dict(line.split("==") for line in model_requirements())
    assert set(pins) == {"scikit-learn", "skops", "pandas", "numpy", "scipy"}
    assert pins["scikit-learn"] == version("scikit-learn")


def test_library_versions_name_python_and_the_installed_libraries():
    from include.retrain.train import LINEAGE_LIBRARIES, library_versions

    found = library_versions()
    assert set(found) == {"python", *LINEAGE_LIBRARIES}
    assert found["scikit-learn"] == version("scikit-learn") and found["numpy"] == version("numpy")
