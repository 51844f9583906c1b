"""Binning of the binned drift tests, as evidently's ``get_binned_data`` bins.

A *numerical* column whose reference holds more than 20 distinct values is cut into Sturges
bins computed on reference and current together (``np.histogram_bin_edges(concat, "sturges")``);
anything else (categorical columns, numerical ones with <= 20 distinct reference values) is
compared value by value over the union of the values. Shares are counts / n of each side. PSI
and KL replace a zero share by 1e-4, or by (smallest non-zero share) / 1e6 when that smallest
share is itself <= 1e-4; Jensen-Shannon does not fill.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from include.monitor.drift.pairs import NumericPair, Pair, as_counts

N_BINS_UNIQUE_LIMIT = 20  # numerical columns with more distinct reference values are binned
PSI_FILL = 1e-4


def _unsigned_subtract(a: Any, b: Any) -> Any:
    """``a - b`` as numpy's histogram code subtracts (signed integers into their unsigned type,
    so that a range wider than the type still comes out right)."""
    dt = np.result_type(a, b)
    if np.issubdtype(dt, np.signedinteger):
        udt = np.dtype(dt.str.replace("i", "u"))
        return np.subtract(np.asarray(a, dtype=dt), np.asarray(b, dtype=dt), casting="unsafe", dtype=udt)
    return np.subtract(a, b, dtype=dt)


def sturges_edges(lo: Any, hi: Any, size: int, dtype: np.dtype) -> np.ndarray:
    """``np.histogram_bin_edges(a, bins="sturges")`` from min, max, size and dtype of ``a`` only."""
    dtype = np.dtype(dtype)
    a_min = np.asarray(lo, dtype=dtype)[()]
    a_max = np.asarray(hi, dtype=dtype)[()]
    first, last = a_min, a_max
    if first == last:
        first = first - 0.5
        last = last + 0.5
    width = _unsigned_subtract(a_max, a_min) / (np.log2(size) + 1.0)
    if width:
        if np.issubdtype(dtype, np.integer) and width < 1:
            width = 1
        n_bins = int(np.ceil(_unsigned_subtract(last, first) / width))
    else:
        n_bins = 1
    bin_type = np.result_type(first, last, np.empty(0, dtype=dtype))
    if np.issubdtype(bin_type, np.integer):
        bin_type = np.result_type(bin_type, float)
    return np.linspace(first, last, n_bins + 1, endpoint=True, dtype=bin_type)


def histogram_sorted(a_sorted: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(a, edges)[0]`` of a sorted array (bins [e_i, e_i+1), the last one closed)."""
    cum = np.concatenate((a_sorted.searchsorted(edges[:-1], "left"), a_sorted.searchsorted(edges[-1:], "right")))
    return np.diff(cum)


def fill_zeros(shares: np.ndarray) -> np.ndarray:
    """evidently's zero fill for PSI / KL: 1e-4, or min non-zero / 1e6 when that is <= 1e-4."""
    nonzero = shares[shares != 0]
    if nonzero.size == shares.size:
        return shares
    smallest = nonzero.min()
    fill = smallest / 10**6 if smallest <= PSI_FILL else PSI_FILL
    out = shares.copy()
    np.place(out, out == 0, fill)
    return out


def binned_shares(pair: Pair, *, fill: bool) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current shares per bin (evidently's ``get_binned_data``)."""
    if isinstance(pair, NumericPair) and pair.ref_nunique > N_BINS_UNIQUE_LIMIT:
        edges = sturges_edges(
            min(pair.ref[0], pair.cur[0]), max(pair.ref[-1], pair.cur[-1]), pair.n_ref + pair.n_cur, pair.combined_dtype
        )
        ref = histogram_sorted(pair.ref, edges) / pair.n_ref
        cur = histogram_sorted(pair.cur, edges) / pair.n_cur
    else:
        counts = as_counts(pair)
        ref = counts.ref_counts / counts.n_ref
        cur = counts.cur_counts / counts.n_cur
    if fill:
        ref, cur = fill_zeros(ref), fill_zeros(cur)
    return ref, cur
