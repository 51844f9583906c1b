"""evidently's binning (``get_binned_data``) and numpy's Sturges edges, rebuilt from sorted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift import binning
from include.monitor.drift.pairs import make_pair


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(size=5000),
        np.random.default_rng(2).integers(-50, 50, 7000),
        np.random.default_rng(3).integers(0, 25, 2_200_000),  # integer data: width < 1 -> 1
        np.array([3.0] * 40),  # single value: range expanded by +-0.5
        np.array([7] * 40),
        np.random.default_rng(4).lognormal(size=3000) * 1e6,
    ],
)
def test_sturges_edges_equal_numpys(values: np.ndarray) -> None:
    expected = np.histogram_bin_edges(values, bins="sturges")
    ours = binning.sturges_edges(values.min(), values.max(), values.size, values.dtype)
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(
        binning.histogram_sorted(np.sort(values), expected), np.histogram(values, expected)[0]
    )


def test_integer_range_wider_than_its_type_is_subtracted_unsigned() -> None:
    values = np.array([-120, 0, 120], dtype=np.int8)  # 240 does not fit in int8
    np.testing.assert_array_equal(
        binning.sturges_edges(values.min(), values.max(), values.size, values.dtype),
        np.histogram_bin_edges(values, bins="sturges"),
    )


def test_fill_zeros_like_evidently() -> None:
    from evidently.legacy.calculations.stattests.utils import get_binned_data
    from evidently.legacy.core import ColumnType

    # a share of 1e-4 or below elsewhere -> fill is (that smallest share) / 1e6
    ref = pd.Series(["a"] * 9999 + ["b"])
    cur = pd.Series(["a"] * 500 + ["c"] * 500)
    ev_r, ev_c = get_binned_data(ref, cur, ColumnType.Categorical, 30)
    pair = make_pair(ref, cur, "cat")
    r, c = binning.binned_shares(pair, fill=True)
    key_order = pair.keys
    assert sorted(r.tolist()) == sorted(ev_r.tolist())
    assert sorted(c.tolist()) == sorted(ev_c.tolist())
    assert min(r) == pytest.approx(1e-4 / 1e6) and 1e-4 in c.tolist()
    assert len(key_order) == 3


def test_numerical_columns_bin_above_twenty_distinct_reference_values() -> None:
    from evidently.legacy.calculations.stattests.utils import get_binned_data
    from evidently.legacy.core import ColumnType

    r = np.random.default_rng(6)
    for n_values, binned in ((20, False), (21, True)):
        ref = pd.Series(r.integers(0, n_values, 3000).astype(float))
        cur = pd.Series(r.integers(0, n_values, 2000).astype(float) + 0.5)
        ev_r, ev_c = get_binned_data(ref, cur, ColumnType.Numerical, 30, feel_zeroes=False)
        ours_r, ours_c = binning.binned_shares(make_pair(ref, cur, "num"), fill=False)
        assert (len(ours_r) < n_values * 2) == binned
        np.testing.assert_allclose(np.sort(ours_r), np.sort(np.asarray(ev_r)), rtol=1e-12)
        np.testing.assert_allclose(np.sort(ours_c), np.sort(np.asarray(ev_c)), rtol=1e-12)
