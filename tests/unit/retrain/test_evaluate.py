"""The evaluation as MLflow metric names: hold-out, latency, size, slices, champion."""

from __future__ import annotations

import pytest

from include.platform.registry import metric_key
from include.retrain.evaluate import evaluation_metrics
from tests.unit.conftest import small_churn_config


@pytest.fixture(scope="module")
def config():
    return small_churn_config()  # slice column: region


EVALUATION = {
    "metrics": {"roc_auc": 0.81, "log_loss": 0.4},
    "slices": {"north": {"rows": 200.0, "roc_auc": 0.8}, "São/Paulo": {"rows": 30.0, "roc_auc": 0.7}},
    "latency_ms_per_1k": 12.5,
    "size_mb": 0.75,
    "holdout_rows": 230,
    "champion": None,
}


def test_metric_names(config):
    metrics = evaluation_metrics(config, EVALUATION)
    assert metrics == {
        "holdout_roc_auc": 0.81,
        "holdout_log_loss": 0.4,
        "latency_ms_per_1k": 12.5,
        "model_size_mb": 0.75,
        "slice.region.north.rows": 200.0,
        "slice.region.north.roc_auc": 0.8,
        metric_key("slice.region.São/Paulo.rows"): 30.0,
        metric_key("slice.region.São/Paulo.roc_auc"): 0.7,
    }


def test_champion_metrics_are_logged_beside_the_candidates(config):
    evaluation = {**EVALUATION, "champion": {"version": "3", "metrics": {"roc_auc": 0.79}}}
    metrics = evaluation_metrics(config, evaluation)
    assert metrics["champion_holdout_roc_auc"] == 0.79
    assert metrics["holdout_roc_auc"] == 0.81
    assert "champion_holdout_roc_auc" not in evaluation_metrics(config, EVALUATION)
