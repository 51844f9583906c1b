"""``anderson``: Anderson-Darling k-sample test of the two samples (``scipy.stats.anderson_ksamp``);
numerical columns; drift when p < threshold (0.1), as evidently's ``anderson``.

The worked example of docs/extending.md, "A new drift test": this file is all it took. Dropped
into this folder, it registers itself when the package is imported; a model then names it in
``monitoring.stattests``. scipy reports the p-value clipped to [0.001, 0.25] (its table's range).
"""

from __future__ import annotations

import warnings
from typing import Any

from include.monitor.drift.pairs import Pair, need_numeric
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _anderson(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import anderson_ksamp

    p = need_numeric(pair, "anderson")
    with warnings.catch_warnings():  # "p-value capped/floored": the documented clipping
        warnings.simplefilter("ignore", UserWarning)
        p_value = float(anderson_ksamp([p.ref, p.cur]).pvalue)
    return p_value, p_value < threshold


ANDERSON = register_stattest(StatTest("anderson", "Anderson-Darling", 0.1, "pvalue", ("num",), _anderson))


def anderson(reference: Any, current: Any, threshold: float = 0.1, column_type: str = "num") -> tuple[float, bool]:
    """Anderson-Darling k-sample p-value; drift when p < threshold."""
    return ANDERSON(reference, current, threshold, column_type)
