"""The pull stage: the window's joined training data lands in storage under training_prefix."""

from __future__ import annotations

import datetime as dt

import pytest

from include.contracts import training_prefix
from include.dev.sample_data import write_sample_data
from include.platform.parquet import read_parquet_frame
from include.platform.storage import LocalStorage
from include.retrain.features import TrainingWindow, frame_hash, pull_training_data
from include.retrain.pull import dataset_key, pull
from tests.unit.conftest import small_churn_config

START = dt.date(2026, 1, 1)
WINDOW = TrainingWindow(start=START + dt.timedelta(days=8), end=START + dt.timedelta(days=12))


@pytest.fixture(scope="module")
def config():
    return small_churn_config()


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    storage = LocalStorage(tmp_path_factory.mktemp("data"))
    write_sample_data(storage, start=START, days=12, rows_per_day=150, customers=400)
    return storage


@pytest.fixture(scope="module")
def pulled(storage, config):
    return pull(storage, config, WINDOW)


def test_pull_writes_the_joined_frame_under_the_training_prefix(storage, config, pulled):
    assert pulled["dataset_key"] == dataset_key(config, "2026-01-13")
    assert pulled["dataset_key"] == f"{training_prefix('churn', '2026-01-13')}/dataset.parquet"
    frame = read_parquet_frame(storage.read_bytes(pulled["dataset_key"]))
    assert len(frame) == pulled["rows"] > 0
    assert frame_hash(frame) == pulled["data_hash"]  # what is stored is what was hashed


def test_pull_returns_the_pull_statistics(storage, config, pulled):
    _, stats = pull_training_data(storage, config, WINDOW)
    assert {k: v for k, v in pulled.items() if k != "dataset_key"} == stats.to_dict()
    assert (pulled["window_start"], pulled["window_end"]) == ("2026-01-09", "2026-01-13")
