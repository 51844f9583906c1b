"""``wasserstein``: first Wasserstein distance normed by the reference std, W1(ref, cur) /
max(std(ref, ddof=0), 0.001); numerical columns; drift when >= threshold (0.1).

W1 is computed on the sorted samples (``wasserstein_sorted``) instead of scipy's CDF integral:
equal up to rounding, without scipy's argsorts and searchsorted over the merged sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from include.monitor.drift.pairs import Pair, need_numeric
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """First Wasserstein distance of two sorted samples: the integral of |Q_u(t) - Q_v(t)| over t.

    Equals ``scipy.stats.wasserstein_distance(u, v)`` (its CDF integral) up to rounding.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    n, m = u.size, v.size
    if n == m:
        return float(np.abs(u - v).mean())
    g = math.gcd(n, m)
    su, sv = m // g, n // g  # one u value spans su units of t, one v value sv units; total n*m/g
    total = n * su
    bounds = np.concatenate((np.arange(1, n + 1, dtype=np.int64) * su, np.arange(1, m + 1, dtype=np.int64) * sv))
    bounds.sort()
    widths = np.diff(bounds, prepend=0)
    keep = widths > 0
    bounds, widths = bounds[keep], widths[keep]
    iu = (bounds - 1) // su
    iv = (bounds - 1) // sv
    return float(np.dot(np.abs(u[iu] - v[iv]), widths.astype(np.float64)) / total)


def _wasserstein(pair: Pair, threshold: float) -> tuple[float, bool]:
    p = need_numeric(pair, "wasserstein")
    norm = max(p.ref_std, 0.001)
    value = wasserstein_sorted(p.ref, p.cur) / norm
    return value, value >= threshold


WASSERSTEIN = register_stattest(
    StatTest("wasserstein", "Wasserstein distance (normed)", 0.1, "distance", ("num",), _wasserstein)
)


def wasserstein(reference: Any, current: Any, threshold: float = 0.1, column_type: str = "num") -> tuple[float, bool]:
    """Wasserstein-1 distance normed by the reference std (floor 0.001); drift when >= threshold."""
    return WASSERSTEIN(reference, current, threshold, column_type)
