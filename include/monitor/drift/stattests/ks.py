"""``ks``: two-sample Kolmogorov-Smirnov p-value (``scipy.stats.ks_2samp``, two-sided, method
auto); numerical columns; drift when p <= threshold (0.05)."""

from __future__ import annotations

from typing import Any

from include.monitor.drift.pairs import Pair, need_numeric
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _ks(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import ks_2samp

    p = need_numeric(pair, "ks")
    p_value = float(ks_2samp(p.ref, p.cur)[1])
    return p_value, p_value <= threshold


KS = register_stattest(StatTest("ks", "K-S p_value", 0.05, "pvalue", ("num",), _ks))


def ks(reference: Any, current: Any, threshold: float = 0.05, column_type: str = "num") -> tuple[float, bool]:
    """Two-sample Kolmogorov-Smirnov p-value; drift when p <= threshold."""
    return KS(reference, current, threshold, column_type)
