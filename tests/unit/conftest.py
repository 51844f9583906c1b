"""Fixtures shared by unit-test modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

CHURN_YAML = Path(__file__).resolve().parents[2] / "include" / "models" / "churn.yaml"
CHURN = yaml.safe_load(CHURN_YAML.read_text())
# The regression sample model (include/dev/delivery_data.py generates its data).
DELIVERY_YAML = CHURN_YAML.parent / "delivery_time.yaml"


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
    from include.dev.sample_data import CATEGORICAL, ENTITY_ID, NUMERIC, TARGET, TIMESTAMP

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


def small_churn_config(
    estimator: dict[str, Any] | None = None, *, replace: dict[str, Any] | None = None, **sections: Any
):
    """churn.yaml with a small, fast estimator; ``estimator`` and the sections in ``replace``
    replace the file's, a dict in ``sections`` is merged into the file's section."""
    import copy

    from include.config import parse_config

    data = copy.deepcopy(CHURN)
    data["estimator"]["params"]["max_iter"] = 30
    if estimator is not None:
        data["estimator"] = estimator
    for section, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    data.update(replace or {})
    return parse_config(data, source="test/churn.yaml")
