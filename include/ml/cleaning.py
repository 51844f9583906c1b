"""Column values as evidently 0.7.23 cleans them before a drift test: +-inf and NaN/None dropped.

Shared by the reference profile built at training (``include.ml.profile``) and the drift tests
that compare with it (``include.monitor.drift``), so both sides clean a column the same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from include.errors import DataError


def as_series(values: Any) -> pd.Series:
    """``values`` (a Series, Index, Categorical, numpy array, list or tuple) as a pandas Series."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, (pd.Index, pd.Categorical)):
        return pd.Series(values)
    return pd.Series(np.asarray(values) if not isinstance(values, (list, tuple)) else values)


def _not_numeric(name: str, side: str) -> DataError:
    return DataError(f"Column '{name}' in {side} dataset should contain numerical values only.")


def _numeric_array(values: Any, name: str, side: str) -> np.ndarray:
    if isinstance(values, pd.Series):
        if not pd.api.types.is_numeric_dtype(values.dtype):
            raise _not_numeric(name, side)
        if isinstance(values.dtype, np.dtype):
            return values.to_numpy()
        # pandas extension dtypes (Int64, Float64, boolean) may hold pd.NA
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(values)
    if arr.dtype == object:
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise _not_numeric(name, side) from exc
    if arr.dtype.kind not in "biuf":
        raise _not_numeric(name, side)
    return arr


def clean_numeric(values: Any, *, name: str = "column", side: str = "reference") -> np.ndarray:
    """Finite values of a numerical column as a 1-d numpy array (int dtypes kept, bool -> int64).

    evidently drops +-inf and NaN (``replace([-inf, inf], nan).dropna()``) and requires a numeric
    dtype (``pd.api.types.is_numeric_dtype``); so does this (``DataError`` otherwise).
    """
    arr = np.ravel(_numeric_array(values, name, side))
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            arr = arr[finite]
    return arr


def _is_inf(key: Any) -> bool:
    return isinstance(key, (float, np.floating)) and math.isinf(key)


def value_counts(values: Any) -> tuple[list[Any], np.ndarray]:
    """(distinct values, counts) of a column, NaN/None and +-inf dropped, zero counts dropped."""
    s = as_series(values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(s.cat.categories))
        nz = np.flatnonzero(counts)
        keys = s.cat.categories[nz].tolist()
        counts = counts[nz]
    else:
        vc = s.value_counts(dropna=True, sort=False)
        keys = vc.index.tolist()
        counts = vc.to_numpy()
    counts = np.asarray(counts, dtype=np.int64)
    inf = [i for i, k in enumerate(keys) if _is_inf(k)]
    if inf:
        keep = np.ones(len(keys), dtype=bool)
        keep[inf] = False
        keys = [k for i, k in enumerate(keys) if keep[i]]
        counts = counts[keep]
    return keys, counts


def json_scalar(x: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (JSON-native); anything else unchanged."""
    return x.item() if isinstance(x, np.generic) else x
