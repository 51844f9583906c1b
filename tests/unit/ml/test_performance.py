"""Performance on delayed labels: exact join, label windows, trailing metrics, drops, error stream."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from include.config import parse_config
from include.dev.sample_data import (
    ENTITY_ID,
    TARGET,
    TIMESTAMP,
    generate_day,
    generate_frames,
    write_sample_data,
)
from include.ml.evaluation import predict_scores
from include.ml.performance import (
    PerformanceError,
    error_stream,
    join_predictions_labels,
    load_scored_labels,
    performance_drop,
    trailing_performance,
)
from include.ml.training import fit
from include.platform.partitions import publish_frame, read_partition
from include.platform.storage import LocalStorage
from tests.unit.conftest import linear_churn_config

T0 = pd.Timestamp("2026-03-01 09:30", tz="UTC")
SEC = pd.Timedelta(seconds=1)


def tiny_config(task: str = "classification", metrics: list[str] | None = None):
    metrics = metrics or (["roc_auc", "log_loss", "accuracy"] if task == "classification" else ["rmse", "mae"])
    return parse_config(
        {
            "name": "tiny",
            "task": task,
            "entity_id": "id",
            "timestamp": "ts",
            "target": "y",
            "features": {"numeric": ["x"]},
            "evaluation": {"metrics": metrics, "primary_metric": metrics[0]},
        }
    )


def predictions_frame(rows):
    frame = pd.DataFrame(rows, columns=["id", "ts", "score"])
    frame["prediction"] = (frame["score"] >= 0.5).astype("int8")
    frame["model_name"], frame["model_version"], frame["run_id"] = "tiny", "1", "run-1"
    return frame


def labels_frame(rows):
    return pd.DataFrame(rows, columns=["id", "ts", "y"])


# -- join_predictions_labels ----------------------------------------------------------------------


def test_join_matches_entity_and_exact_timestamp_only():
    predictions = predictions_frame([("A", T0, 0.9), ("B", T0, 0.2), ("C", T0 + SEC, 0.4)])
    labels = labels_frame(
        [
            ("A", T0, 1),  # the snapshot A was scored for
            ("B", T0 + SEC, 1),  # one second off: another snapshot, not this prediction's label
            ("A", T0 + pd.Timedelta(days=1), 0),  # a later snapshot of A
            ("D", T0, 0),  # an entity never scored
        ]
    )
    joined = join_predictions_labels(predictions, labels, tiny_config())
    assert joined[["id", "y"]].values.tolist() == [["A", 1]]
    assert joined.loc[0, "score"] == 0.9 and joined.loc[0, "model_version"] == "1"
    assert joined.attrs["join"] == {
        "predictions": 3,
        "labels": 4,
        "matched": 1,
        "predictions_without_label": 2,
        "labels_without_prediction": 3,
        "labels_missing_target": 0,
        "duplicate_labels_dropped": 0,
    }


def test_join_compares_instants_across_time_zones():
    predictions = predictions_frame([("A", T0, 0.7)])
    labels = labels_frame([("A", T0.tz_convert("America/New_York"), 1)])
    joined = join_predictions_labels(predictions, labels, tiny_config())
    assert len(joined) == 1
    assert str(joined["ts"].dtype) == "datetime64[ns, UTC]"


def test_join_keeps_one_row_per_prediction_and_drops_labels_without_target():
    predictions = predictions_frame([("A", T0, 0.7), ("B", T0, 0.3)])
    labels = labels_frame([("A", T0, 0), ("A", T0, 1), ("B", T0, None)])  # A republished; B's target lost
    joined = join_predictions_labels(predictions, labels, tiny_config())
    assert joined[["id", "y"]].values.tolist() == [["A", 1]]  # the last publication wins
    stats = joined.attrs["join"]
    assert stats["duplicate_labels_dropped"] == 1
    assert stats["labels_missing_target"] == 1
    assert stats["predictions_without_label"] == 1


def test_join_names_missing_columns():
    predictions = predictions_frame([("A", T0, 0.7)]).drop(columns=["score"])
    with pytest.raises(PerformanceError, match=r"predictions lack column\(s\) \['score'\]"):
        join_predictions_labels(predictions, labels_frame([("A", T0, 1)]), tiny_config())
    with pytest.raises(PerformanceError, match=r"labels lack column\(s\) \['y'\]"):
        join_predictions_labels(
            predictions_frame([("A", T0, 0.7)]), pd.DataFrame({"id": ["A"], "ts": [T0]}), tiny_config()
        )


# -- load_scored_labels on published partitions --------------------------------------------------

START = dt.date(2026, 3, 1)
DAYS = 12
ROWS = 200
DELAY = 3


def day(offset: int) -> dt.date:
    return START + dt.timedelta(days=offset)


@pytest.fixture(scope="module")
def model():
    """A churn model trained on clean sample data of the days before the monitored window."""
    config = linear_churn_config()
    features, labels = generate_frames(START - dt.timedelta(days=10), 8, rows_per_day=ROWS, customers=1000)
    return fit(config, features.merge(labels, on=[ENTITY_ID, TIMESTAMP]))


def publish_predictions(storage, model, offsets, version="1", drop_rows=0):
    """Score the published feature partitions like the scoring DAG does, one partition per day."""
    config = linear_churn_config()
    for offset in offsets:
        features = read_partition(storage, "features", "churn", day(offset)).iloc[drop_rows:]
        scores = predict_scores(config, model, features)
        out = pd.DataFrame(
            {
                ENTITY_ID: features[ENTITY_ID].to_numpy(),
                TIMESTAMP: features[TIMESTAMP].to_numpy(),
                "prediction": (scores >= 0.5).astype("int8"),
                "score": scores,
                "model_name": "churn",
                "model_version": version,
                "run_id": f"score-{day(offset)}",
            }
        )
        publish_frame(storage, "predictions", "churn", day(offset), out)


@pytest.fixture(scope="module")
def scored_store(tmp_path_factory, model):
    """12 days of sample data, labels 3 days late; days 1-5 scored (v1 for 1-3, v2 for 4-5)."""
    storage = LocalStorage(tmp_path_factory.mktemp("scored"))
    write_sample_data(storage, start=START, days=DAYS, rows_per_day=ROWS, customers=1000, label_delay_days=DELAY)
    publish_predictions(storage, model, [1, 2, 3], version="1")
    publish_predictions(storage, model, [4], version="2")
    publish_predictions(storage, model, [5], version="2", drop_rows=7)  # 7 rows quarantined
    return storage


def test_load_scored_labels_joins_every_prediction_to_its_late_label(scored_store):
    config = linear_churn_config()
    joined = load_scored_labels(scored_store, config, day(1), day(6))
    stats = joined.attrs["join"]
    assert stats["prediction_partitions"] == [day(i).isoformat() for i in range(1, 6)]
    # Labels of days 1..5 arrive on days 4..8; the label window [day 1, day 6 + 30) reads all
    # published label partitions (days 3..11 = snapshots of days 0..8).
    assert stats["label_partitions"] == [day(i).isoformat() for i in range(DELAY, DAYS)]
    assert len(joined) == stats["matched"] == 5 * ROWS - 7
    assert stats["predictions_without_label"] == 0
    # Snapshots of days 0, 6, 7, 8 are labelled but outside the window; the 7 quarantined rows
    # of day 5 are labelled, inside the window, and have no prediction.
    assert stats["labels_without_prediction"] == 4 * ROWS + 7
    assert stats["labels_without_prediction_in_window"] == 7
    # Every label came from the partition of its snapshot day + the delay, with the true target.
    snapshot_day = pd.to_datetime(joined["ds"]).dt.date
    assert (pd.to_datetime(joined["label_ds"]).dt.date == snapshot_day + dt.timedelta(days=DELAY)).all()
    truth = pd.concat([generate_day(day(i), rows_per_day=ROWS, customers=1000)[1] for i in range(1, 6)])
    expected = joined[[ENTITY_ID, TIMESTAMP]].merge(truth, on=[ENTITY_ID, TIMESTAMP], how="left")
    assert expected[TARGET].tolist() == joined[TARGET].tolist()
    assert joined[TIMESTAMP].is_monotonic_increasing


def test_load_scored_labels_reads_labels_only_up_to_the_delay_bound(scored_store):
    joined = load_scored_labels(scored_store, linear_churn_config(), day(1), day(6), max_label_delay_days=2)
    stats = joined.attrs["join"]
    # Label partitions [day 1, day 8): day 5's labels (published on day 8) are not read yet.
    assert stats["labels_read_until"] == day(8).isoformat()
    assert stats["predictions_without_label"] == ROWS - 7
    assert set(joined["ds"]) == {day(i).isoformat() for i in range(1, 5)}


def test_load_scored_labels_with_nothing_scored_is_empty_not_an_error(scored_store):
    joined = load_scored_labels(scored_store, linear_churn_config(), day(8), day(10))
    assert joined.empty and joined.attrs["join"]["prediction_partitions"] == []
    perf = trailing_performance(joined, linear_churn_config())
    assert perf["rows"] == 0 and perf["value"] is None
    with pytest.raises(PerformanceError, match="empty window"):
        load_scored_labels(scored_store, linear_churn_config(), day(3), day(3))


# -- trailing_performance ---------------------------------------------------------------------------


def test_trailing_metric_equals_sklearn_on_the_same_rows(scored_store):
    config = linear_churn_config()
    joined = load_scored_labels(scored_store, config, day(1), day(6))
    y, s = joined[TARGET].to_numpy(), joined["score"].to_numpy()
    perf = trailing_performance(joined, config)
    assert perf["metric"] == "roc_auc" and perf["higher_is_better"] is True
    assert perf["rows"] == len(joined)
    assert perf["value"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert perf["metrics"]["log_loss"] == pytest.approx(log_loss(y, s), abs=1e-12)
    assert perf["positive_rate"] == pytest.approx(y.mean())
    assert 0.7 < perf["value"] < 0.95  # a real model on real-looking data, not a constant
    assert perf["join"]["matched"] == len(joined)
    # A metric the config does not list is computed too, direction from include.config.METRICS.
    brier = trailing_performance(joined, config, metric="brier")
    assert brier["value"] == pytest.approx(brier_score_loss(y, s)) and brier["higher_is_better"] is False
    json.dumps(perf)  # plain types, ready for XCom / MLflow


def test_trailing_performance_breaks_down_by_model_version(scored_store):
    config = linear_churn_config()
    joined = load_scored_labels(scored_store, config, day(1), day(6))
    perf = trailing_performance(joined, config)
    assert sorted(perf["by_model_version"]) == ["1", "2"]
    for version, expected_rows in (("1", 3 * ROWS), ("2", 2 * ROWS - 7)):
        part = joined[joined["model_version"] == version]
        entry = perf["by_model_version"][version]
        assert entry["rows"] == expected_rows == len(part)
        assert entry["value"] == pytest.approx(roc_auc_score(part[TARGET], part["score"]), abs=1e-12)


def test_trailing_performance_refuses_unknown_metrics():
    joined = join_predictions_labels(predictions_frame([("A", T0, 0.7)]), labels_frame([("A", T0, 1)]), tiny_config())
    with pytest.raises(PerformanceError, match="unknown classification metric 'rmse'"):
        trailing_performance(joined, tiny_config(), metric="rmse")
    single_class = trailing_performance(joined, tiny_config())
    assert single_class["rows"] == 1 and single_class["value"] is None  # ROC AUC of one class


# -- performance_drop -------------------------------------------------------------------------------


def test_performance_drop_follows_the_metric_direction():
    config = tiny_config()
    worse_auc = performance_drop(0.70, 0.80, "roc_auc", config, margin=0.05)
    assert worse_auc["drop"] == pytest.approx(0.10) and worse_auc["flagged"] and worse_auc["status"] == "degraded"
    assert "0.8000" in worse_auc["message"] and "0.7000" in worse_auc["message"]
    better_auc = performance_drop(0.85, 0.80, "roc_auc", config, margin=0.05)
    assert better_auc["drop"] == pytest.approx(-0.05) and not better_auc["flagged"]
    # log loss: higher is worse, so the same numbers mean the opposite.
    worse_loss = performance_drop(0.50, 0.40, "log_loss", config, margin=0.05)
    assert worse_loss["drop"] == pytest.approx(0.10) and worse_loss["flagged"]
    assert worse_loss["higher_is_better"] is False
    better_loss = performance_drop(0.30, 0.40, "log_loss", config, margin=0.05)
    assert better_loss["drop"] == pytest.approx(-0.10) and not better_loss["flagged"]
    within = performance_drop(0.78, 0.80, "roc_auc", config, margin=0.05)
    assert not within["flagged"] and within["status"] == "ok"
    assert within["relative_drop"] == pytest.approx(0.025)


def test_regression_drop_is_in_the_metrics_units_or_relative():
    """Issue 11: rmse in minutes. Absolute: 1.5 minutes worse is within a margin of 2 (the [0, 1]
    bound of a bounded metric does not apply); relative: 1.5 on 4.0 is 37.5% worse."""
    from include.config import load_config
    from tests.unit.conftest import DELIVERY_YAML

    delivery = load_config(DELIVERY_YAML)
    absolute = performance_drop(5.5, 4.0, "rmse", delivery, margin=2.0)
    assert (absolute["drop"], absolute["flagged"], absolute["mode"]) == (1.5, False, "absolute")
    assert absolute["relative_drop"] == pytest.approx(0.375)
    assert "lower is better" in absolute["message"] and "within margin 2.0000" in absolute["message"]
    assert performance_drop(6.5, 4.0, "rmse", delivery, margin=2.0)["flagged"]
    assert not performance_drop(2.0, 4.0, "rmse", delivery, margin=0.0)["flagged"]  # lower rmse: better
    relative = performance_drop(5.5, 4.0, "rmse", delivery, margin=0.3, mode="relative")
    assert relative["flagged"] and relative["status"] == "degraded"
    assert "+37.5% relative" in relative["message"] and "margin 30.0% (relative)" in relative["message"]
    assert not performance_drop(5.0, 4.0, "rmse", delivery, margin=0.3, mode="relative")["flagged"]
    zero = performance_drop(0.1, 0.0, "rmse", delivery, margin=0.3, mode="relative")
    assert zero["status"] == "unknown" and not zero["flagged"] and zero["drop"] == pytest.approx(0.1)
    with pytest.raises(PerformanceError, match="mode"):
        performance_drop(5.0, 4.0, "rmse", delivery, margin=0.3, mode="percent")


def test_performance_drop_without_a_value_is_unknown_not_flagged():
    out = performance_drop(float("nan"), 0.8, "roc_auc", tiny_config(), margin=0.01)
    assert out["status"] == "unknown" and out["flagged"] is False and out["drop"] is None
    assert performance_drop(0.8, None, "roc_auc", tiny_config(), margin=0.01)["status"] == "unknown"
    with pytest.raises(PerformanceError, match="margin"):
        performance_drop(0.8, 0.8, "roc_auc", tiny_config(), margin=-1)
    with pytest.raises(PerformanceError, match="unknown classification metric"):
        performance_drop(0.8, 0.8, "mae", tiny_config(), margin=0.1)


def test_flipped_labels_produce_a_drop_beyond_the_margin(tmp_path, model):
    """Label noise from day 5 on (35% of labels flipped): same model, same features, worse metrics."""
    config = linear_churn_config()
    storage = LocalStorage(tmp_path)
    write_sample_data(
        storage,
        start=START,
        days=DAYS,
        rows_per_day=ROWS,
        customers=1000,
        label_delay_days=DELAY,
        label_noise_from=day(5),
        label_noise=0.35,
    )
    publish_predictions(storage, model, range(1, 9))
    reference = trailing_performance(load_scored_labels(storage, config, day(1), day(3)), config)
    control = trailing_performance(load_scored_labels(storage, config, day(3), day(5)), config)
    current = trailing_performance(load_scored_labels(storage, config, day(5), day(9)), config)
    assert reference["rows"] == control["rows"] == 2 * ROWS and current["rows"] == 4 * ROWS
    auc = performance_drop(current["value"], reference["value"], "roc_auc", config, margin=0.05)
    assert auc["flagged"], auc
    assert auc["drop"] > 0.1
    loss_current, loss_reference = current["metrics"]["log_loss"], reference["metrics"]["log_loss"]
    loss = performance_drop(loss_current, loss_reference, "log_loss", config, margin=0.05)
    assert loss["flagged"] and loss_current > loss_reference
    # Control: another clean window of the same model stays within the margin.
    assert not performance_drop(control["value"], reference["value"], "roc_auc", config, margin=0.05)["flagged"]


# -- error_stream -----------------------------------------------------------------------------------


def test_error_stream_classification_is_time_ordered_misclassification_at_half():
    predictions = predictions_frame(
        [("C", T0 + 2 * SEC, 0.2), ("A", T0, 0.9), ("B", T0 + SEC, 0.5), ("D", T0 + 3 * SEC, 0.49)]
    )
    labels = labels_frame([("A", T0, 1), ("B", T0 + SEC, 0), ("C", T0 + 2 * SEC, 1), ("D", T0 + 3 * SEC, 0)])
    joined = join_predictions_labels(predictions, labels, tiny_config()).sample(frac=1, random_state=3)
    errors = error_stream(joined, tiny_config())
    # A: 0.9 -> 1 right; B: 0.5 -> 1 wrong (the threshold is inclusive); C: 0.2 -> 0 wrong; D right.
    assert errors.tolist() == [0, 1, 1, 0]
    assert errors.dtype == np.int8
    accuracy = trailing_performance(joined, tiny_config(), metric="accuracy")["value"]
    assert accuracy == pytest.approx(1 - errors.mean())


def test_error_stream_regression_is_absolute_error():
    config = tiny_config("regression")
    predictions = predictions_frame([("A", T0 + SEC, 3.0), ("B", T0, 10.0)])
    labels = labels_frame([("A", T0 + SEC, 5.5), ("B", T0, 9.0)])
    joined = join_predictions_labels(predictions, labels, config)
    errors = error_stream(joined, config)
    assert errors.tolist() == [1.0, 2.5] and errors.dtype == np.float64
    perf = trailing_performance(joined, config)
    assert perf["metric"] == "rmse" and perf["value"] == pytest.approx(math.sqrt((1 + 2.5**2) / 2))
    assert error_stream(joined.iloc[:0], config).size == 0
