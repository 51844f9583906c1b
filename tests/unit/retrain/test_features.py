"""Point-in-time feature join, dedupe, content hash and the training-data pull."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from include.config import load_config, parse_config
from include.dev.sample_data import generate_day, write_sample_data
from include.platform.partitions import publish_frame, read_partition, read_range
from include.platform.storage import LocalStorage
from include.retrain.features import (
    FeaturePullError,
    TrainingWindow,
    dedupe_entities,
    frame_hash,
    point_in_time_join,
    pull_training_data,
)

PROJECT = Path(__file__).resolve().parents[3]
T0 = pd.Timestamp("2026-03-01 00:00", tz="UTC")
H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)


def tiny_config(**training):
    return parse_config(
        {
            "name": "tiny",
            "task": "classification",
            "entity_id": "id",
            "timestamp": "ts",
            "target": "y",
            "features": {"numeric": ["x"], "categorical": ["c"]},
            "training": {"max_feature_age_days": 7, **training},
        }
    )


def features_frame(rows):
    return pd.DataFrame(rows, columns=["id", "ts", "x", "c"])


def labels_frame(rows):
    return pd.DataFrame(rows, columns=["id", "ts", "y"])


# -- point_in_time_join -----------------------------------------------------------------------


def test_join_never_takes_a_feature_row_from_after_the_label():
    t1, t2, t3 = T0, T0 + 5 * H, T0 + 10 * H
    features = features_frame([("A", t3, 3.0, "late"), ("A", t1, 1.0, "early"), ("A", t2, 2.0, "mid")])
    labels = labels_frame([("A", t2 + H, 1)])
    joined, unmatched = point_in_time_join(tiny_config(), labels, features)
    assert unmatched == 0
    assert len(joined) == 1
    row = joined.iloc[0]
    assert (row["x"], row["c"]) == (2.0, "mid")
    assert row["ts"] == t2 + H  # the row keeps the label's timestamp
    assert row["y"] == 1


def test_each_label_gets_its_own_point_in_time_row():
    features = features_frame([("A", T0 + i * D, float(i), "v") for i in range(5)])
    labels = labels_frame([("A", T0 + i * D + H, i % 2) for i in range(5)])
    joined, unmatched = point_in_time_join(tiny_config(), labels, features)
    assert unmatched == 0
    assert joined["x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_join_does_not_cross_entities():
    features = features_frame([("B", T0, 9.0, "b")])
    labels = labels_frame([("A", T0 + H, 0)])
    joined, unmatched = point_in_time_join(tiny_config(), labels, features)
    assert joined.empty
    assert unmatched == 1


def test_exact_timestamp_match_is_allowed():
    features = features_frame([("A", T0, 1.0, "a"), ("A", T0 + H, 2.0, "b")])
    labels = labels_frame([("A", T0 + H, 1)])
    joined, _ = point_in_time_join(tiny_config(), labels, features)
    assert joined["x"].tolist() == [2.0]


def test_timezones_are_compared_in_utc():
    # 12:00 in Paris (UTC+1 in March) is 11:00 UTC: the 11:30 UTC row is in the label's future.
    label_ts = pd.Timestamp("2026-03-02 12:00", tz="Europe/Paris")
    features = features_frame(
        [
            ("A", pd.Timestamp("2026-03-02 10:30", tz="UTC"), 1.0, "a"),
            ("A", pd.Timestamp("2026-03-02 11:30", tz="UTC"), 2.0, "b"),
        ]
    )
    joined, _ = point_in_time_join(tiny_config(), labels_frame([("A", label_ts, 0)]), features)
    assert joined["x"].tolist() == [1.0]


def test_label_with_only_stale_features_is_dropped_and_counted():
    features = features_frame(
        [
            ("stale", T0, 1.0, "a"),
            ("edge", T0, 2.0, "b"),
            ("fresh", T0 + 6 * D, 3.0, "c"),
            ("future", T0 + 8 * D + H, 4.0, "d"),
        ]
    )
    labels = labels_frame(
        [
            ("stale", T0 + 7 * D + pd.Timedelta(seconds=1), 1),  # 7 days and a second: too old
            ("edge", T0 + 7 * D, 0),  # exactly max_feature_age_days: still usable
            ("fresh", T0 + 8 * D, 1),
            ("future", T0 + 8 * D, 0),  # only a feature row from after the label
        ]
    )
    joined, unmatched = point_in_time_join(tiny_config(), labels, features)
    assert sorted(joined["id"]) == ["edge", "fresh"]
    assert unmatched == 2


def test_max_feature_age_comes_from_the_config():
    features = features_frame([("A", T0, 1.0, "a")])
    labels = labels_frame([("A", T0 + 3 * D, 1)])
    assert len(point_in_time_join(tiny_config(max_feature_age_days=7), labels, features)[0]) == 1
    joined, unmatched = point_in_time_join(tiny_config(max_feature_age_days=2), labels, features)
    assert joined.empty and unmatched == 1


def test_duplicated_feature_rows_last_one_wins():
    features = features_frame([("A", T0, 1.0, "first"), ("B", T0, 5.0, "b"), ("A", T0, 10.0, "second")])
    labels = labels_frame([("A", T0 + H, 1), ("B", T0 + H, 0)])
    joined, unmatched = point_in_time_join(tiny_config(), labels, features)
    assert unmatched == 0
    assert len(joined) == 2  # the duplicate does not duplicate the label
    a = joined[joined["id"] == "A"].iloc[0]
    assert (a["x"], a["c"]) == (10.0, "second")


def test_join_output_columns():
    features = features_frame([("A", T0, 1.0, "a")]).assign(unused=1)
    labels = labels_frame([("A", T0, 1)]).assign(extra="x")
    joined, _ = point_in_time_join(tiny_config(), labels, features)
    assert list(joined.columns) == ["id", "ts", "y", "x", "c"]
    assert str(joined["ts"].dtype) == "datetime64[ns, UTC]"


# -- dedupe_entities --------------------------------------------------------------------------


def test_dedupe_latest_keeps_the_latest_label_per_entity():
    frame = pd.DataFrame(
        {
            "id": ["A", "B", "A", "A"],
            "ts": [T0 + 2 * D, T0, T0 + 5 * D, T0 + D],  # A's latest is not its last row
            "y": [0, 1, 1, 0],
            "x": [2.0, 9.0, 5.0, 1.0],
            "c": ["a", "b", "a", "a"],
        }
    )
    deduped, dropped = dedupe_entities(tiny_config(), frame)
    assert dropped == 2
    assert sorted(deduped["id"]) == ["A", "B"]
    assert deduped.set_index("id").loc["A", "x"] == 5.0
    assert deduped["id"].is_unique


def test_dedupe_none_keeps_every_row():
    frame = pd.DataFrame(
        {"id": ["A", "A", "B"], "ts": [T0, T0 + D, T0], "y": [0, 1, 0], "x": [1.0, 2.0, 3.0], "c": "a"}
    )
    kept, dropped = dedupe_entities(tiny_config(dedupe="none"), frame)
    assert dropped == 0
    assert len(kept) == 3


# -- frame_hash -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def day_frame():
    features, labels = generate_day("2026-01-05", customers=600, rows_per_day=200)
    return features.assign(churned=labels["churned"])


def test_frame_hash_is_order_independent(day_frame):
    shuffled = day_frame.sample(frac=1.0, random_state=3)
    assert not shuffled.index.equals(day_frame.index)
    assert frame_hash(shuffled) == frame_hash(day_frame)
    assert frame_hash(shuffled.reset_index(drop=True)) == frame_hash(day_frame)


def test_frame_hash_is_order_independent_with_ties_in_the_leading_columns():
    # dedupe: none keeps several rows of one entity; the same (entity, ts) may appear twice.
    frame = pd.DataFrame({"id": ["A", "A", "B"], "ts": [T0, T0, T0], "y": [0, 1, 1], "x": [1.0, 2.0, 3.0]})
    assert frame_hash(frame) == frame_hash(frame.iloc[[1, 0, 2]])
    assert frame_hash(frame) == frame_hash(frame.iloc[[2, 1, 0]])


def test_frame_hash_changes_when_one_value_changes(day_frame):
    base = frame_hash(day_frame)
    changed = day_frame.copy()
    changed.loc[17, "monthly_charges"] += 0.01
    assert frame_hash(changed) != base
    relabeled = day_frame.copy()
    relabeled.loc[3, "churned"] = 1 - relabeled.loc[3, "churned"]
    assert frame_hash(relabeled) != base
    assert frame_hash(day_frame.drop(index=5)) != base
    assert frame_hash(day_frame.rename(columns={"churned": "target"})) != base


def test_frame_hash_detects_values_swapped_between_rows(day_frame):
    swapped = day_frame.copy()
    swapped.loc[[0, 1], "monthly_charges"] = swapped.loc[[1, 0], "monthly_charges"].to_numpy()
    assert frame_hash(swapped) != frame_hash(day_frame)


# -- pull_training_data -----------------------------------------------------------------------

START = dt.date(2026, 1, 1)
WINDOW = TrainingWindow(start=START + dt.timedelta(days=10), end=START + dt.timedelta(days=15))


def day(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()


@pytest.fixture(scope="module")
def churn_config():
    return load_config(PROJECT / "include" / "models" / "churn.yaml")


@pytest.fixture(scope="module")
def sample_storage(tmp_path_factory):
    storage = LocalStorage(tmp_path_factory.mktemp("data"))
    # Features for days 0..19; labels of day D arrive (are published) on D + 7: ds 7..19.
    write_sample_data(storage, start=START, days=20, rows_per_day=300, customers=800)
    return storage


@pytest.fixture(scope="module")
def pulled(sample_storage, churn_config):
    return pull_training_data(sample_storage, churn_config, WINDOW)


def test_pull_reads_only_labels_that_arrived_in_the_window(sample_storage, pulled):
    joined, stats = pulled
    assert stats.label_partitions == [day(n) for n in range(10, 15)]
    window_labels, _ = read_range(sample_storage, "labels", "churn", WINDOW.start, WINDOW.end)
    outside = pd.concat(
        [read_partition(sample_storage, "labels", "churn", ds) for ds in (day(9), day(15))], ignore_index=True
    )
    key = ["customer_id", "event_ts"]
    merged = joined[[*key, "churned"]].merge(window_labels, on=key, how="left", suffixes=("", "_label"))
    assert merged["churned_label"].notna().all(), "a training row comes from a label outside the window"
    assert (merged["churned"] == merged["churned_label"]).all()
    assert joined[key].merge(outside[key], on=key).empty
    # Label timestamps are the snapshot days of the labels that arrived: days 3..7.
    assert joined["event_ts"].min() >= pd.Timestamp(day(3), tz="UTC")
    assert joined["event_ts"].max() < pd.Timestamp(day(8), tz="UTC")


def test_pull_never_attaches_features_from_after_the_label(sample_storage, pulled, churn_config):
    joined, _ = pulled
    features, _ = read_range(sample_storage, "features", "churn", day(0), day(20))
    # Columns never null in the sample data identify the snapshot a row's values came from.
    identify = [
        "customer_id",
        "tenure_months",
        "monthly_charges",
        "support_tickets_90d",
        "logins_30d",
        "late_payments_12m",
        "discount_pct",
        "contract_type",
        "region",
        "plan_tier",
    ]
    source = features[[*identify, "event_ts"]].rename(columns={"event_ts": "feature_ts"})
    matched = joined.reset_index().merge(source, on=identify, how="left")
    assert matched["feature_ts"].notna().all()
    assert matched["index"].is_unique, "a joined row matches several snapshots: identify columns too weak"
    assert (matched["feature_ts"] <= matched["event_ts"]).all()
    # The sample labels refer to an exact snapshot: that is the row that must be joined, even
    # though most customers have later snapshots (up to day 19) in the feature store.
    assert (matched["feature_ts"] == matched["event_ts"]).all()
    later = source.merge(joined[["customer_id", "event_ts"]], on="customer_id")
    assert (later["feature_ts"] > later["event_ts"]).any()


def test_pull_keeps_one_row_per_entity_the_latest_label(sample_storage, pulled):
    joined, stats = pulled
    assert joined["customer_id"].is_unique
    window_labels, _ = read_range(sample_storage, "labels", "churn", WINDOW.start, WINDOW.end)
    latest = window_labels.groupby("customer_id")["event_ts"].max()
    assert len(joined) == len(latest)
    assert (joined.set_index("customer_id")["event_ts"] == latest.loc[joined["customer_id"]]).all()
    assert stats.duplicates_dropped > 0


def test_pull_stats_are_consistent(sample_storage, pulled, churn_config):
    joined, stats = pulled
    assert stats.window_start == "2026-01-11"
    assert stats.window_end == "2026-01-16"
    assert stats.labels_read == 5 * 300
    assert stats.labels_without_features == 0
    assert stats.labels_read - stats.labels_without_features - stats.duplicates_dropped == stats.rows
    assert stats.rows == len(joined)
    assert stats.data_hash == frame_hash(joined)
    assert stats.positive_rate == pytest.approx(joined["churned"].mean())
    assert 0 < stats.positive_rate < 0.5
    # Features from (oldest label - max_feature_age_days) to the newest label's day.
    assert stats.feature_partitions == [day(n) for n in range(0, 8)]
    assert set(stats.to_dict()) >= {"rows", "data_hash", "label_partitions", "feature_partitions"}
    assert list(joined.columns) == ["customer_id", "event_ts", "churned", *churn_config.features.all]


def test_pull_is_repeatable(sample_storage, pulled, churn_config):
    joined, stats = pulled
    again, again_stats = pull_training_data(sample_storage, churn_config, WINDOW)
    pd.testing.assert_frame_equal(again, joined)
    assert again_stats.data_hash == stats.data_hash
    _, other_stats = pull_training_data(sample_storage, churn_config, TrainingWindow.ending(day(16), 5))
    assert other_stats.data_hash != stats.data_hash


def test_pull_without_label_partitions_names_model_and_window(sample_storage, churn_config):
    window = TrainingWindow(start=START, end=START + dt.timedelta(days=7))  # labels start on day 7
    with pytest.raises(FeaturePullError) as excinfo:
        pull_training_data(sample_storage, churn_config, window)
    message = str(excinfo.value)
    assert "'churn'" in message
    assert "2026-01-01" in message and "2026-01-08" in message


def test_pull_with_feature_partition_missing_a_column(tmp_path, churn_config):
    storage = LocalStorage(tmp_path)
    write_sample_data(storage, start=START, days=10, rows_per_day=100, customers=300)
    features, _ = generate_day(day(1), rows_per_day=100, customers=300)
    publish_frame(storage, "features", "churn", day(1), features.drop(columns=["contract_type"]))
    with pytest.raises(FeaturePullError) as excinfo:
        pull_training_data(
            storage, churn_config, TrainingWindow(start=START + dt.timedelta(days=7), end=START + dt.timedelta(days=10))
        )
    message = str(excinfo.value)
    assert "contract_type" in message
    assert day(1) in message


def test_pull_with_label_partition_missing_the_target(tmp_path, churn_config):
    storage = LocalStorage(tmp_path)
    write_sample_data(storage, start=START, days=9, rows_per_day=100, customers=300)
    _, labels = generate_day(day(1), rows_per_day=100, customers=300)
    publish_frame(storage, "labels", "churn", day(8), labels.drop(columns=["churned"]))
    with pytest.raises(FeaturePullError, match="churned"):
        pull_training_data(storage, churn_config, TrainingWindow.ending(day(9), 3))
