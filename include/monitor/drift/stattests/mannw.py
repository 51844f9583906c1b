"""``mannw``: Mann-Whitney U rank test p-value (``scipy.stats.mannwhitneyu(alternative="less")``);
numerical columns; drift when p < threshold (0.05)."""

from __future__ import annotations

from typing import Any

from include.monitor.drift.pairs import Pair, need_numeric
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _mannw(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import mannwhitneyu

    p = need_numeric(pair, "mannw")
    p_value = float(mannwhitneyu(x=p.ref, y=p.cur, alternative="less")[1])
    return p_value, p_value < threshold


MANNW = register_stattest(StatTest("mannw", "Mann-Whitney U-rank test", 0.05, "pvalue", ("num",), _mannw))


def mannw(reference: Any, current: Any, threshold: float = 0.05, column_type: str = "num") -> tuple[float, bool]:
    """Mann-Whitney U (alternative "less") p-value; drift when p < threshold."""
    return MANNW(reference, current, threshold, column_type)
