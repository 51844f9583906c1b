"""Hard row checks against the training contract (include/score/checks.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from include.config import parse_config
from include.score.checks import REASON, RowChecks, quarantine_schema

CONFIG = parse_config(
    {
        "name": "tiny",
        "task": "classification",
        "entity_id": "id",
        "timestamp": "ts",
        "target": "y",
        "features": {"numeric": ["x"], "categorical": ["c", "open"]},
        "scoring": {"range_tolerance": 0.5},
    }
)
CONTRACT = {
    "features": {
        "x": {"kind": "numeric", "min": 0.0, "max": 10.0, "null_fraction": 0.0},
        "c": {"kind": "categorical", "categories": ["a", "b"], "n_categories": 2, "null_fraction": 0.0},
        # Only the most frequent of 5000 categories were kept: no value can be called unseen.
        "open": {"kind": "categorical", "categories": ["p"], "n_categories": 5000, "null_fraction": 0.0},
    }
}


def frame(**columns):
    rows = {"id": [1, 2], "ts": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True), "x": [1.0, 2.0]}
    rows |= {"c": ["a", "b"], "open": ["p", "q"]}
    return pd.DataFrame({**rows, **columns})


def test_clean_rows_have_no_reason():
    assert list(RowChecks(CONFIG, CONTRACT).reasons(frame())) == ["", ""]


def test_range_is_widened_by_the_tolerance():
    checks = RowChecks(CONFIG, CONTRACT)
    assert checks.bounds == {"x": (-5.0, 15.0)}
    assert list(checks.reasons(frame(x=[15.0, 15.5]))) == ["", "out of range: x"]
    assert list(checks.reasons(frame(x=[-5.5, np.nan]))) == ["out of range: x", ""]  # a null is not out of range


def test_unseen_category_only_against_a_complete_list():
    checks = RowChecks(CONFIG, CONTRACT)
    assert set(checks.categories) == {"c"}
    assert list(checks.reasons(frame(c=["z", None], open=["never", "seen"]))) == ["unseen category: c", ""]


def test_the_first_failing_check_wins():
    reasons = RowChecks(CONFIG, CONTRACT).reasons(frame(id=[None, 2], x=[99.0, 99.0], c=["z", "z"]))
    assert list(reasons) == ["null entity_id or timestamp", "out of range: x"]


def test_quarantine_schema_keeps_input_types_and_types_all_null_columns():
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("ts", pa.timestamp("ns", tz="UTC")),
            ("x", pa.null()),
            ("c", pa.dictionary(pa.int32(), pa.string())),
            ("open", pa.null()),
            ("unused", pa.int8()),
        ]
    )
    result = quarantine_schema(CONFIG, schema)
    assert result.names == ["id", "ts", "x", "c", "open", REASON]
    assert result.types == [
        pa.int64(),
        pa.timestamp("ns", tz="UTC"),
        pa.float64(),
        pa.string(),
        pa.string(),
        pa.string(),
    ]
