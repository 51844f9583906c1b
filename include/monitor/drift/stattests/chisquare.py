"""``chisquare``: chi-square goodness of fit of the current counts to the reference counts scaled
to the current size (``scipy.stats.chisquare(f_obs=current, f_exp=reference * n_cur / n_ref)``)
over the union of values (not a contingency test); categorical columns; drift when p < threshold
(0.05). evidently's default choice also applies it to numerical columns with 3 to 5 values."""

from __future__ import annotations

from typing import Any

import numpy as np

from include.monitor.drift.pairs import Pair, as_counts, make_pair
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _chisquare(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import chisquare as scipy_chisquare

    c = as_counts(pair)
    k_norm = c.n_cur / c.n_ref
    f_exp = c.ref_counts * k_norm
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = float(scipy_chisquare(c.cur_counts, f_exp)[1])
    return p_value, p_value < threshold


CHISQUARE = register_stattest(StatTest("chisquare", "chi-square p_value", 0.05, "pvalue", ("cat",), _chisquare))


def chisquare(reference: Any, current: Any, threshold: float = 0.05, column_type: str = "cat") -> tuple[float, bool]:
    """Chi-square goodness of fit of current counts to scaled reference counts; drift when p < threshold."""
    return CHISQUARE.impl(make_pair(reference, current, column_type), threshold)
