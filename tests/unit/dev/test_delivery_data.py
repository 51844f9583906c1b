"""The regression sample data (include/dev/delivery_data.py): schema, determinism, label delay,
drift options that move only what they should."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.config import load_config
from include.dev import delivery_data as dd
from include.platform.partitions import list_partitions, read_partition
from include.platform.storage import LocalStorage

PROJECT = Path(__file__).resolve().parents[3]
START = dt.date(2026, 1, 1)


def test_columns_match_the_model_config():
    config = load_config(PROJECT / "include" / "models" / "delivery_time.yaml")
    assert (config.entity_id, config.timestamp, config.target) == (dd.ENTITY_ID, dd.TIMESTAMP, dd.TARGET)
    assert config.features.numeric == dd.NUMERIC and config.features.categorical == dd.CATEGORICAL
    features, labels = dd.generate_delivery_day(START, rows_per_day=500)
    assert list(features.columns) == dd.FEATURE_COLUMNS and list(labels.columns) == dd.LABEL_COLUMNS
    assert str(features[dd.TIMESTAMP].dtype) == "datetime64[ns, UTC]"
    assert all(features[c].dtype == "float64" for c in dd.NUMERIC)
    assert labels[dd.TARGET].dtype == "float64" and labels[dd.TARGET].between(5, 200).all()
    assert features[dd.TIMESTAMP].is_monotonic_increasing and features[dd.ENTITY_ID].is_unique
    assert (features[dd.TIMESTAMP].dt.date == START).all()
    for column, (low, high) in config.features.ranges.items():
        assert features[column].dropna().between(low, high).all(), column
    for column, allowed in config.features.allowed_values.items():
        assert set(features[column].dropna()) <= set(allowed), column


def test_a_pure_function_of_seed_and_day():
    first = dd.generate_delivery_day("2026-01-05", rows_per_day=300)
    again = dd.generate_delivery_day("2026-01-05", rows_per_day=300)
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other_seed = dd.generate_delivery_day("2026-01-05", rows_per_day=300, seed=8)[1]
    assert not other_seed[dd.TARGET].equals(first[1][dd.TARGET])


def test_drift_options_move_only_what_they_say():
    day = "2026-01-10"
    features, labels = dd.generate_delivery_day(day, rows_per_day=2000)
    before = dd.generate_delivery_day(day, rows_per_day=2000, concept_drift_from="2026-01-11")
    pd.testing.assert_frame_equal(before[1], labels)  # not active yet: the clean day
    concept_f, concept_l = dd.generate_delivery_day(day, rows_per_day=2000, concept_drift_from=day)
    pd.testing.assert_frame_equal(concept_f, features)  # features unchanged
    assert concept_l[dd.TARGET].mean() > labels[dd.TARGET].mean() + 5  # slower deliveries
    covariate_f, _ = dd.generate_delivery_day(day, rows_per_day=2000, covariate_drift_from=day)
    assert covariate_f["distance_km"].mean() > 1.3 * features["distance_km"].mean()
    noisy = dd.generate_delivery_day(day, rows_per_day=2000, label_noise_from=day, label_noise=0.5)[1]
    changed = (noisy[dd.TARGET] != labels[dd.TARGET]).mean()
    assert 0.4 < changed < 0.6


def test_labels_arrive_after_the_delay(tmp_path):
    storage = LocalStorage(tmp_path)
    summary = dd.write_delivery_data(storage, start=START, days=5, rows_per_day=100, label_delay_days=2)
    assert list_partitions(storage, "features", dd.MODEL) == [
        (START + dt.timedelta(days=i)).isoformat() for i in range(5)
    ]
    assert list_partitions(storage, "labels", dd.MODEL) == ["2026-01-03", "2026-01-04", "2026-01-05"]
    # labels of day D (in ds=D+2) join the features of day D on (order_id, order_ts)
    joined = read_partition(storage, "features", dd.MODEL, "2026-01-01").merge(
        read_partition(storage, "labels", dd.MODEL, "2026-01-03"), on=[dd.ENTITY_ID, dd.TIMESTAMP]
    )
    assert len(joined) == 100 and np.isfinite(joined[dd.TARGET]).all()
    assert summary["label_rows"] == 300 and summary["mean_target"] > 10


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="rows_per_day"):
        dd.generate_delivery_day(START, rows_per_day=0)
    with pytest.raises(ValueError, match="label_noise"):
        dd.generate_delivery_day(START, label_noise=2.0)
    with pytest.raises(ValueError, match="days"):
        dd.write_delivery_data(LocalStorage(tmp_path), start=START, days=0)


def test_module_import_is_light():
    code = "import sys, include.dev.delivery_data; assert 'pandas' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT, check=True)
