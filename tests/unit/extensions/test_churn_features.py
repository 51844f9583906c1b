"""docs/extending.md, "A model with its own feature transformer": the example model code trains
through the project's training code, needs its type in skops_trusted_types to be saved, and
loads back (as scoring loads it: with the config's list only) to the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from include.dev.sample_data import generate_frames
from include.errors import TrainingError
from include.ml import evaluation, training
from tests.unit.conftest import CHURN, small_churn_config

pytestmark = pytest.mark.usefixtures("one_thread")

TRANSFORMER = "include.extensions.churn_features.ChargeRatios"
ESTIMATOR = {
    "class_path": "include.extensions.churn_features.churn_pipeline",
    "preprocessing": False,
    "params": {"max_iter": 30},
}


def _config(trusted):
    return small_churn_config(ESTIMATOR, replace={"skops_trusted_types": trusted})


@pytest.fixture(scope="module")
def frame():
    features, labels = generate_frames("2026-01-01", 6, customers=2000, rows_per_day=300)
    return features.assign(churned=labels["churned"])


@pytest.fixture(scope="module")
def fitted(frame):
    config = _config([*CHURN["skops_trusted_types"], TRANSFORMER])
    train, holdout = training.split_holdout(config, frame)
    return config, training.fit(config, train), holdout


def test_the_factory_builds_the_whole_pipeline(fitted):
    config, model, holdout = fitted
    assert [name for name, _ in model.steps] == ["ratios", "encode", "model"]
    assert "paid_ratio" in model.named_steps["ratios"].transform(holdout.head(3)).columns
    assert evaluation.holdout_metrics(config, model, holdout)["roc_auc"] > 0.6


def test_saving_needs_the_transformer_in_skops_trusted_types(fitted):
    _, model, _ = fitted
    with pytest.raises(TrainingError, match=r"skops_trusted_types must list \[.*ChargeRatios"):
        training.check_trusted_types(_config(list(CHURN["skops_trusted_types"])), model)


def test_loads_back_with_the_config_list_only_and_scores_the_same(fitted):
    import skops.io

    config, model, holdout = fitted
    assert TRANSFORMER in training.check_trusted_types(config, model)
    blob = skops.io.dumps(model)
    with pytest.raises(skops.io.exceptions.UntrustedTypesFoundException):
        skops.io.loads(blob, trusted=list(CHURN["skops_trusted_types"]))
    loaded = skops.io.loads(blob, trusted=list(config.skops_trusted_types))
    np.testing.assert_array_equal(
        evaluation.predict_scores(config, loaded, holdout), evaluation.predict_scores(config, model, holdout)
    )
