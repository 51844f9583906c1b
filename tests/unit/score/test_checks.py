"""Hard row checks against the training contract (include/score/checks.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from include.config import parse_config
from include.score.checks import REASON, RowChecks, problem_kind, quarantine_schema

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


STRICT = parse_config(
    {
        "name": "tiny",
        "task": "classification",
        "entity_id": "id",
        "timestamp": "ts",
        "target": "y",
        "features": {"numeric": ["x"], "categorical": ["c", "open"]},
        "scoring": {"range_tolerance": 0.5, "out_of_range": "quarantine", "unseen_category": "quarantine"},
    }
)
DS = "2026-01-01"


def frame(**columns):
    rows = {"id": [1, 2], "ts": pd.to_datetime(["2026-01-01 08:00", "2026-01-01 20:00"], utc=True), "x": [1.0, 2.0]}
    rows |= {"c": ["a", "b"], "open": ["p", "q"]}
    return pd.DataFrame({**rows, **columns})


def test_clean_rows_have_no_reason_and_no_flag():
    verdicts = RowChecks(CONFIG, CONTRACT, ds=DS, now="2026-01-02").verdicts(frame())
    assert list(verdicts.reasons) == ["", ""] and list(verdicts.flags) == ["", ""]


def test_range_is_widened_by_the_tolerance_and_out_of_range_is_flagged_by_default():
    checks = RowChecks(CONFIG, CONTRACT)
    assert checks.bounds == {"x": (-5.0, 15.0)}
    verdicts = checks.verdicts(frame(x=[15.0, 15.5]))
    assert list(verdicts.reasons) == ["", ""]  # scored: a valid value the world moved to
    assert list(verdicts.flags) == ["", "out_of_range:x"]
    below = checks.verdicts(frame(x=[-5.5, np.nan]))  # a null is not out of range
    assert list(below.reasons) == ["", ""] and list(below.flags) == ["out_of_range:x", ""]


def test_out_of_range_is_quarantined_when_configured():
    verdicts = RowChecks(STRICT, CONTRACT).verdicts(frame(x=[15.0, 15.5]))
    assert list(verdicts.reasons) == ["", "out of range: x"]
    assert list(verdicts.flags) == ["", ""]


def test_unseen_category_only_against_a_complete_list():
    checks = RowChecks(CONFIG, CONTRACT)
    assert set(checks.categories) == {"c"}
    verdicts = checks.verdicts(frame(c=["z", None], open=["never", "seen"]))
    assert list(verdicts.reasons) == ["", ""]
    assert list(verdicts.flags) == ["unseen_category:c", ""]
    strict = RowChecks(STRICT, CONTRACT).verdicts(frame(c=["z", None], open=["never", "seen"]))
    assert list(strict.reasons) == ["unseen category: c", ""]


def test_flags_of_one_row_are_joined():
    verdicts = RowChecks(CONFIG, CONTRACT).verdicts(frame(x=[99.0, 1.0], c=["z", "a"]))
    assert list(verdicts.flags) == ["out_of_range:x;unseen_category:c", ""]


def test_infinite_values_are_named_and_always_quarantined():
    for config in (CONFIG, STRICT):
        verdicts = RowChecks(config, CONTRACT).verdicts(frame(x=[np.inf, -np.inf]))
        assert list(verdicts.reasons) == ["infinite value: x", "infinite value: x"]
        assert list(verdicts.flags) == ["", ""]
    # a column without a training range is checked too
    no_range = {"features": {**CONTRACT["features"], "x": {"kind": "numeric", "min": None, "max": None}}}
    assert list(RowChecks(CONFIG, no_range).reasons(frame(x=[np.inf, 1.0]))) == ["infinite value: x", ""]


def test_timestamps_in_the_future_or_outside_the_day_are_quarantined():
    checks = RowChecks(CONFIG, CONTRACT, ds=DS, now="2026-01-05T00:00:00+00:00")
    stamps = pd.to_datetime(
        ["2036-01-01 00:00", "2026-01-04 12:00", "2025-12-30 23:59", "2025-12-31 00:00", "2026-01-02 23:59"], utc=True
    )
    rows = pd.concat([frame()] * 3, ignore_index=True).iloc[:5].assign(ts=stamps)
    assert list(checks.reasons(rows)) == [
        "timestamp in the future",
        "timestamp outside ds=2026-01-01 by more than 24 h",
        "timestamp outside ds=2026-01-01 by more than 24 h",
        "",  # 24 h before the day: within the tolerance
        "",
    ]
    naive = rows.assign(ts=stamps.tz_localize(None))  # naive timestamps are UTC
    assert list(checks.reasons(naive)) == list(checks.reasons(rows))


def test_the_timestamp_tolerance_is_configurable():
    config = parse_config({**_tiny(), "scoring": {"timestamp_tolerance_hours": 0}})
    checks = RowChecks(config, CONTRACT, ds=DS)
    rows = frame(ts=pd.to_datetime(["2026-01-01 00:00", "2025-12-31 23:59"], utc=True))
    assert list(checks.reasons(rows)) == ["", "timestamp outside ds=2026-01-01 by more than 0 h"]


def _tiny():
    return {
        "name": "tiny",
        "task": "classification",
        "entity_id": "id",
        "timestamp": "ts",
        "target": "y",
        "features": {"numeric": ["x"], "categorical": ["c", "open"]},
    }


def test_the_first_failing_check_wins_and_quarantined_rows_carry_no_flag():
    checks = RowChecks(STRICT, CONTRACT, ds=DS, now="2026-01-02")
    reasons = checks.reasons(frame(id=[None, 2], x=[99.0, 99.0], c=["z", "z"]))
    assert list(reasons) == ["null entity_id or timestamp", "out of range: x"]
    verdicts = RowChecks(CONFIG, CONTRACT, ds=DS).verdicts(frame(id=[None, 2], x=[99.0, np.inf]))
    assert list(verdicts.reasons) == ["null entity_id or timestamp", "infinite value: x"]
    assert list(verdicts.flags) == ["", ""]


def test_a_duplicate_reason_from_the_plan_is_applied():
    superseded = np.array(["duplicate entity_id: superseded by a later row", ""], dtype=object)
    verdicts = RowChecks(CONFIG, CONTRACT, ds=DS).verdicts(frame(x=[99.0, 99.0]), superseded)
    assert list(verdicts.reasons) == ["duplicate entity_id: superseded by a later row", ""]
    assert list(verdicts.flags) == ["", "out_of_range:x"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("null entity_id or timestamp", "null_key"),
        ("timestamp in the future", "timestamp"),
        ("timestamp outside ds=2026-01-01 by more than 24 h", "timestamp"),
        ("duplicate entity_id: superseded by a later row", "duplicate"),
        ("infinite value: x", "infinite"),
        ("out of range: x", "out_of_range"),
        ("out_of_range:x", "out_of_range"),
        ("unseen category: c", "unseen_category"),
        ("unseen_category:c", "unseen_category"),
    ],
)
def test_every_reason_and_flag_has_its_kind(text, kind):
    assert problem_kind(text) == kind


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


def test_an_unreadable_timestamp_is_quarantined_by_name():
    rows = frame(ts=["2026-01-01T08:00:00+00:00", "soon"])
    assert list(RowChecks(CONFIG, CONTRACT, ds=DS).reasons(rows)) == ["", "timestamp not readable as a date and time"]
