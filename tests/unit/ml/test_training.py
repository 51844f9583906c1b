"""Estimator construction, determinism, out-of-time split, trusted types, evaluation numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.dev.sample_data import generate_frames
from include.ml import evaluation, training
from include.ml.training import TrainingError
from tests.unit.conftest import small_churn_config

pytestmark = pytest.mark.usefixtures("one_thread")

PROJECT = Path(__file__).resolve().parents[3]


make_config = small_churn_config


@pytest.fixture(scope="module")
def config():
    return make_config()


@pytest.fixture(scope="module")
def frame():
    features, labels = generate_frames("2026-01-01", 8, customers=3000, rows_per_day=400)
    assert (features["customer_id"] == labels["customer_id"]).all()
    return features.assign(churned=labels["churned"])


@pytest.fixture(scope="module")
def split(config, frame):
    return training.split_holdout(config, frame)


@pytest.fixture(scope="module")
def model(config, split):
    return training.fit(config, split[0])


# -- build_estimator --------------------------------------------------------------------------


def test_build_estimator_is_a_pipeline_ending_in_the_configured_class(config):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    pipeline = training.build_estimator(config)
    assert isinstance(pipeline, Pipeline)
    assert [name for name, _ in pipeline.steps] == ["preprocess", "model"]
    final = pipeline.steps[-1][1]
    assert type(final) is HistGradientBoostingClassifier
    assert final.random_state == 42
    assert final.max_iter == 30
    assert final.class_weight == "balanced"
    columns = {name: cols for name, _, cols in pipeline.named_steps["preprocess"].transformers}
    assert columns == {"numeric": config.features.numeric, "categorical": config.features.categorical}


def test_build_estimator_seed_and_explicit_random_state():
    assert training.build_estimator(make_config(training={"seed": 7})).steps[-1][1].random_state == 7
    explicit = make_config(
        estimator={"class_path": "sklearn.linear_model.LogisticRegression", "params": {"random_state": 3}}
    )
    assert training.build_estimator(explicit).steps[-1][1].random_state == 3


def test_build_estimator_without_preprocessing():
    from sklearn.linear_model import LogisticRegression

    config = make_config(estimator={"class_path": "sklearn.linear_model.LogisticRegression", "preprocessing": False})
    estimator = training.build_estimator(config)
    assert type(estimator) is LogisticRegression
    assert estimator.random_state == 42


def test_estimator_without_random_state_is_built():
    config = make_config(
        estimator={"class_path": "sklearn.neighbors.KNeighborsClassifier", "params": {"n_neighbors": 5}}
    )
    final = training.build_estimator(config).steps[-1][1]
    assert final.n_neighbors == 5
    assert not hasattr(final, "random_state")


@pytest.mark.parametrize("class_path", ["sklearn.ensemble.NoSuchClassifier", "include.extensions.no_such_module.Model"])
def test_bad_class_path_raises_training_error_with_the_path(class_path):
    config = make_config(estimator={"class_path": class_path})
    with pytest.raises(TrainingError) as excinfo:
        training.build_estimator(config)
    assert class_path in str(excinfo.value)


def test_unknown_param_raises_training_error_with_the_path():
    config = make_config(
        estimator={"class_path": "sklearn.ensemble.HistGradientBoostingClassifier", "params": {"n_trees": 10}}
    )
    with pytest.raises(TrainingError) as excinfo:
        training.build_estimator(config)
    assert "sklearn.ensemble.HistGradientBoostingClassifier" in str(excinfo.value)
    assert "n_trees" in str(excinfo.value)


def test_invalid_param_value_raises_training_error_on_fit(split):
    config = make_config(
        estimator={"class_path": "sklearn.ensemble.HistGradientBoostingClassifier", "params": {"max_iter": -5}}
    )
    with pytest.raises(TrainingError, match=r"fitting sklearn\.ensemble\.HistGradientBoostingClassifier failed"):
        training.fit(config, split[0])


# -- determinism ------------------------------------------------------------------------------


def test_training_twice_gives_identical_predictions(config, split, model):
    train, holdout = split
    again = training.fit(config, train)
    first = evaluation.predict_scores(config, model, holdout)
    second = evaluation.predict_scores(config, again, holdout)
    assert np.array_equal(first, second)


def test_seed_drives_a_randomised_estimator(split):
    """With an estimator that uses its seed, same seed -> same model, other seed -> other model."""
    train, holdout = split[0].iloc[:1500], split[1]

    def scores(seed: int) -> np.ndarray:
        config = make_config(
            estimator={
                "class_path": "sklearn.ensemble.RandomForestClassifier",
                "params": {"n_estimators": 15, "max_depth": 6},
            },
            training={"seed": seed},
        )
        return evaluation.predict_scores(config, training.fit(config, train), holdout)

    assert np.array_equal(scores(1), scores(1))
    assert not np.array_equal(scores(1), scores(2))


# -- split_holdout ----------------------------------------------------------------------------


def test_split_is_out_of_time(config, frame, split):
    train, holdout = split
    assert len(train) + len(holdout) == len(frame)
    assert len(holdout) == round(len(frame) * config.training.holdout_fraction)
    assert holdout["event_ts"].min() >= train["event_ts"].max()
    merged = pd.concat([train, holdout]).sort_values(["event_ts", "customer_id"]).reset_index(drop=True)
    expected = frame.sort_values(["event_ts", "customer_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, expected)


def test_split_is_the_same_on_reshuffled_input(config, frame):
    # Coarse timestamps: many rows share one, so ties must be broken the same way every time.
    coarse = frame.assign(event_ts=frame["event_ts"].dt.floor("6h"))
    assert coarse["event_ts"].duplicated().sum() > len(coarse) * 0.9
    train, holdout = training.split_holdout(config, coarse)
    for seed in (1, 2):
        shuffled = coarse.sample(frac=1.0, random_state=seed)
        train2, holdout2 = training.split_holdout(config, shuffled)
        pd.testing.assert_frame_equal(train2, train)
        pd.testing.assert_frame_equal(holdout2, holdout)
    assert holdout["event_ts"].min() >= train["event_ts"].max()


def test_single_class_training_data_raises(config, frame):
    with pytest.raises(TrainingError, match="single class"):
        training.split_holdout(config, frame.assign(churned=0))


def test_single_class_holdout_raises(config, frame):
    cut = frame["event_ts"].quantile(0.7)
    late_negatives = frame.assign(churned=frame["churned"].where(frame["event_ts"] < cut, 0))
    with pytest.raises(TrainingError, match="hold-out split has a single class"):
        training.split_holdout(config, late_negatives)


# -- skops trusted types ----------------------------------------------------------------------


def test_check_trusted_types_accepts_the_sample_config(config, model):
    needed = training.check_trusted_types(config, model)
    assert needed == training.untrusted_types(model)
    assert set(needed) <= set(config.skops_trusted_types)
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in needed


def test_check_trusted_types_refuses_an_untrusted_type(model):
    config = make_config(skops_trusted_types=["numpy.dtype"])
    with pytest.raises(TrainingError) as excinfo:
        training.check_trusted_types(config, model)
    message = str(excinfo.value)
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in message
    assert "test/churn.yaml" in message
    assert "'numpy.dtype'" not in message  # only what is missing is named


# -- evaluation -------------------------------------------------------------------------------


def test_evaluate_returns_sane_metrics(config, model, split):
    holdout = split[1]
    metrics = evaluation.holdout_metrics(config, model, holdout)
    assert set(metrics) == set(config.evaluation.metrics)
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert holdout["churned"].mean() < metrics["average_precision"] <= 1.0
    assert 0.0 < metrics["f1"] <= 1.0
    assert 0.0 < metrics["log_loss"] < math.log(2) * 2
    scores = evaluation.predict_scores(config, model, holdout)
    assert scores.shape == (len(holdout),)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_a_shuffled_label_model_is_no_better_than_chance(config, split):
    train, holdout = split
    noise = train.assign(churned=train["churned"].sample(frac=1.0, random_state=0).to_numpy())
    metrics = evaluation.holdout_metrics(config, training.fit(config, noise), holdout)
    assert 0.4 < metrics["roc_auc"] < 0.62


def test_slice_metrics_cover_the_holdout(config, model, split):
    holdout = split[1]
    slices = evaluation.slice_metrics(config, model, holdout)
    assert set(slices) == set(holdout["region"].dropna().unique())
    assert sum(s["rows"] for s in slices.values()) == len(holdout)
    for region, values in slices.items():
        assert values["rows"] == (holdout["region"] == region).sum()
        assert 0.0 <= values["roc_auc"] <= 1.0
        assert set(values) == {"rows", *config.evaluation.metrics}


@pytest.mark.filterwarnings("ignore:Only one class:UserWarning", "ignore:No positive class:UserWarning")
def test_slice_metrics_missing_values_and_single_class_slices(config, model, split):
    holdout = split[1].copy()
    holdout.loc[holdout.index[:40], "region"] = None
    only_negative = holdout.index[(holdout["region"] == "west") & (holdout["churned"] == 1)]
    holdout = holdout.drop(index=only_negative)
    slices = evaluation.slice_metrics(config, model, holdout)
    assert slices["__missing__"]["rows"] == 40
    assert sum(s["rows"] for s in slices.values()) == len(holdout)
    assert math.isnan(slices["west"]["roc_auc"])  # undefined on one class: NaN, not an error


def test_no_slices_without_a_slice_column(model, split):
    config = make_config(evaluation={"slice_column": None}, gates={"min_slice_metric": None})
    assert evaluation.slice_metrics(config, model, split[1]) == {}


def test_latency_and_size(config, model, split):
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(2):  # the module runs on one thread; the caller's setting must come back
        latency = evaluation.latency_ms_per_1k(config, model, split[1], repeats=3)
        assert {pool["num_threads"] for pool in threadpool_info()} == {2}
    assert math.isfinite(latency) and latency > 0
    size = evaluation.model_size_mb(model)
    assert 0.01 < size < config.gates.max_model_size_mb
    bigger = training.fit(
        make_config(
            estimator={"class_path": "sklearn.ensemble.HistGradientBoostingClassifier", "params": {"max_iter": 90}}
        ),
        split[0],
    )
    assert evaluation.model_size_mb(bigger) > size
