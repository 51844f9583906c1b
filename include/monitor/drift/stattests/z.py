"""``z``: two-proportion z-test on "value == smallest value", p = 2 * (1 - Phi(|z|)), and p = 1
when both sides hold one and the same single value; categorical columns; drift when p < threshold
(0.05). evidently's default choice also applies it to numerical columns with <= 2 values."""

from __future__ import annotations

from typing import Any

import numpy as np

from include.monitor.drift.pairs import Pair, as_counts, make_pair
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _z(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import norm

    c = as_counts(pair)
    ref_present = np.flatnonzero(c.ref_counts)
    cur_present = np.flatnonzero(c.cur_counts)
    if ref_present.size == 1 and cur_present.size == 1 and ref_present[0] == cur_present[0]:
        p_value = 1.0
    else:
        first = c.keys.index(sorted(c.keys)[0])
        n1, n2 = c.n_ref, c.n_cur
        # evidently maps value == smallest key -> 0, else 1, and takes the mean of that.
        p1 = float(n1 - int(c.ref_counts[first])) / n1
        p2 = float(n2 - int(c.cur_counts[first])) / n2
        big_p = float(p1 * n1 + p2 * n2) / (n1 + n2)
        z_stat = (p1 - p2) / np.sqrt(big_p * (1 - big_p) * (1.0 / n1 + 1.0 / n2))
        p_value = float(2 * (1 - norm.cdf(np.abs(z_stat))))
    return p_value, p_value < threshold


Z = register_stattest(StatTest("z", "Z-test p_value", 0.05, "pvalue", ("cat",), _z))


def z(reference: Any, current: Any, threshold: float = 0.05, column_type: str = "cat") -> tuple[float, bool]:
    """Two-proportion z-test (share of the smallest value); drift when p < threshold."""
    return Z.impl(make_pair(reference, current, column_type), threshold)
