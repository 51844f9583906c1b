"""Models for the batch-scoring tests, trained once for the whole package.

A real (small) model trained with ``include.ml.training.fit`` on generated data, and its
scoring contract from ``include.ml.contract.scoring_contract``. Nothing is mocked.
"""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from include.dev.sample_data import generate_frames
from include.ml import training
from include.ml.contract import scoring_contract
from include.platform.storage import LocalStorage
from tests.unit.conftest import CHURN
from tests.unit.score.helpers import CUSTOMERS, make_config


def _fit(config, frame):
    with threadpool_limits(1):  # small fits on a busy machine; results do not change
        return training.fit(config, frame)


@pytest.fixture(scope="package")
def config():
    return make_config()


@pytest.fixture(scope="package")
def strict_config():
    """Out-of-range values and unseen categories quarantined (the default flags them)."""
    return make_config(out_of_range="quarantine", unseen_category="quarantine")


@pytest.fixture(scope="package")
def train_frame():
    features, labels = generate_frames("2026-01-01", 8, customers=CUSTOMERS, rows_per_day=400)
    return features.assign(churned=labels["churned"])


@pytest.fixture(scope="package")
def model(config, train_frame):
    return _fit(config, train_frame)


@pytest.fixture(scope="package")
def contract(config, train_frame):
    return scoring_contract(config, train_frame)


@pytest.fixture(scope="package")
def challenger(train_frame):
    """A different model of the same features: other hyper-parameters, other seed."""
    other = make_config(
        estimator={
            "class_path": "sklearn.ensemble.HistGradientBoostingClassifier",
            "params": {"max_iter": 10, "learning_rate": 0.3, "max_leaf_nodes": 7, "random_state": 1},
        }
    )
    return _fit(other, train_frame)


@pytest.fixture(scope="package")
def broken_challenger(train_frame):
    """A real model trained on other columns (numeric only, no preprocessing): it raises when
    given the champion's features (unknown columns, strings where it expects numbers)."""
    numeric_only = make_config(
        estimator={
            "class_path": "sklearn.ensemble.HistGradientBoostingClassifier",
            "params": {"max_iter": 5},
            "preprocessing": False,
        },
        features={"numeric": list(CHURN["features"]["numeric"]), "categorical": []},
    )
    return _fit(numeric_only, train_frame)


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "data")
