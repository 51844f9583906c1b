"""``t_test``: Student's t-test p-value (``scipy.stats.ttest_ind``, equal variances); numerical
columns; drift when p < threshold (0.05)."""

from __future__ import annotations

from typing import Any

from include.monitor.drift.pairs import Pair, need_numeric
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _t_test(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import ttest_ind

    p = need_numeric(pair, "t_test")
    p_value = float(ttest_ind(p.ref, p.cur)[1])
    return p_value, p_value < threshold


T_TEST = register_stattest(StatTest("t_test", "t_test", 0.05, "pvalue", ("num",), _t_test))


def t_test(reference: Any, current: Any, threshold: float = 0.05, column_type: str = "num") -> tuple[float, bool]:
    """Student's t-test p-value; drift when p < threshold."""
    return T_TEST(reference, current, threshold, column_type)
