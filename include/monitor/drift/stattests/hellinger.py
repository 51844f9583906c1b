"""``hellinger``: Hellinger distance; both column types; drift when >= threshold (0.1).

Categorical: sqrt(1 - sum sqrt(p * q)) of the value shares. Numerical: densities over Sturges
bins computed on the *distinct* values of both sides (evidently's choice), times the bin width.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from include.monitor.drift.binning import histogram_sorted
from include.monitor.drift.pairs import CategoricalPair, NumericPair, Pair
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _categorical_overlap(pair: CategoricalPair) -> float:
    ref = pair.ref_counts / pair.n_ref
    cur = pair.cur_counts / pair.n_cur
    total = 0.0
    for a, b in zip(ref.tolist(), cur.tolist(), strict=True):
        total += math.sqrt(a * b)
    return total


def _numeric_overlap(pair: NumericPair) -> float:
    keys = np.asarray(pair.counts().keys)
    bins = np.histogram_bin_edges(keys, bins="sturges")
    widths = np.diff(bins)
    h_ref = histogram_sorted(pair.ref, bins)
    h_cur = histogram_sorted(pair.cur, bins)
    d_ref = h_ref / widths / h_ref.sum()  # np.histogram(density=True): n / db / n.sum()
    d_cur = h_cur / widths / h_cur.sum()
    bin_width = (max(bins) - min(bins)) / (len(bins) - 1)
    total = 0.0
    for a, b in zip(d_ref.tolist(), d_cur.tolist(), strict=True):
        total += math.sqrt(float(a) * float(b)) * bin_width
    return total


def _hellinger(pair: Pair, threshold: float) -> tuple[float, bool]:
    total = _categorical_overlap(pair) if isinstance(pair, CategoricalPair) else _numeric_overlap(pair)
    value = math.sqrt(1 - float(np.clip(total, 0, 1)))
    return value, value >= threshold


HELLINGER = register_stattest(StatTest("hellinger", "Hellinger distance", 0.1, "distance", ("cat", "num"), _hellinger))


def hellinger(reference: Any, current: Any, threshold: float = 0.1, column_type: str = "num") -> tuple[float, bool]:
    """Hellinger distance; drift when >= threshold."""
    return HELLINGER(reference, current, threshold, column_type)
