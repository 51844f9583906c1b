"""Fixtures shared by unit-test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_thread():
    """BLAS/OpenMP pools capped at one thread for the module (use with ``usefixtures``).

    Thread pools only slow small fits down on a busy 2-core machine; results do not change.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def linear_churn_config():
    """The sample model's columns with a fast linear estimator (tests that need real scores, fast)."""
    from include.config import parse_config
    from include.sample_data import CATEGORICAL, ENTITY_ID, NUMERIC, TARGET, TIMESTAMP

    return parse_config(
        {
            "name": "churn",
            "task": "classification",
            "entity_id": ENTITY_ID,
            "timestamp": TIMESTAMP,
            "target": TARGET,
            "features": {"numeric": NUMERIC, "categorical": CATEGORICAL},
            "estimator": {
                "class_path": "sklearn.linear_model.LogisticRegression",
                "params": {"class_weight": "balanced", "max_iter": 1000},
            },
            "evaluation": {"metrics": ["roc_auc", "average_precision", "log_loss"], "primary_metric": "roc_auc"},
        }
    )
