"""Column values cleaned as evidently cleans them before a drift test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.errors import DataError
from include.ml.cleaning import as_series, clean_numeric, json_scalar, value_counts


def test_clean_numeric_drops_nan_and_inf_keeps_int_dtypes() -> None:
    out = clean_numeric(pd.Series([1.5, np.nan, np.inf, -np.inf, 2.5]))
    assert out.tolist() == [1.5, 2.5]
    ints = clean_numeric(pd.Series([3, 1, 2], dtype="int32"))
    assert ints.dtype == np.int32 and ints.tolist() == [3, 1, 2]
    assert clean_numeric(np.array([True, False])).dtype == np.int64
    nullable = clean_numeric(pd.Series([1, None, 3], dtype="Int64"))
    assert nullable.dtype == np.float64 and nullable.tolist() == [1.0, 3.0]
    assert clean_numeric(np.array([1, None, 2.0], dtype=object)).tolist() == [1.0, 2.0]


def test_clean_numeric_refuses_text_naming_the_column_and_side() -> None:
    with pytest.raises(DataError, match="Column 'plan' in current dataset should contain numerical values only"):
        clean_numeric(pd.Series(["a", "b"]), name="plan", side="current")
    with pytest.raises(DataError, match="numerical values only"):
        clean_numeric(np.array(["a", 1], dtype=object))
    with pytest.raises(DataError, match="numerical values only"):
        clean_numeric(np.array(["2026-01-01"], dtype="datetime64[D]"))


def test_value_counts_drop_missing_inf_and_unused_categories() -> None:
    keys, counts = value_counts(np.array(["a", None, "b", np.inf, "a", -np.inf], dtype=object))
    assert dict(zip(keys, counts.tolist(), strict=True)) == {"a": 2, "b": 1}
    cat = pd.Series(pd.Categorical(["x", "y", "x", None], categories=["x", "y", "z"]))
    keys, counts = value_counts(cat)
    assert keys == ["x", "y"] and counts.tolist() == [2, 1]
    keys, counts = value_counts([1.0, np.nan, 1.0, 2.0])
    assert dict(zip(keys, counts.tolist(), strict=True)) == {1.0: 2, 2.0: 1}


def test_as_series_and_json_scalar() -> None:
    assert as_series((1, 2)).tolist() == [1, 2]
    assert as_series(pd.Index(["a"])).tolist() == ["a"]
    assert as_series(np.arange(3)).tolist() == [0, 1, 2]
    value = json_scalar(np.int64(3))
    assert value == 3 and type(value) is int
    assert json_scalar("x") == "x"
