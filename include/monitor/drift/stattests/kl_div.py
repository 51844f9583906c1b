"""``kl_div``: Kullback-Leibler divergence KL(reference || current), ``scipy.stats.entropy(r, c)``
of the binned shares with zeros filled (``include.monitor.drift.binning``); both column types;
drift when >= threshold (0.1)."""

from __future__ import annotations

from typing import Any

from include.monitor.drift.binning import binned_shares
from include.monitor.drift.pairs import Pair
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _kl_div(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import entropy

    ref, cur = binned_shares(pair, fill=True)
    value = float(entropy(ref, cur))
    return value, value >= threshold


KL_DIV = register_stattest(StatTest("kl_div", "Kullback-Leibler divergence", 0.1, "distance", ("cat", "num"), _kl_div))


def kl_div(reference: Any, current: Any, threshold: float = 0.1, column_type: str = "num") -> tuple[float, bool]:
    """Kullback-Leibler divergence KL(reference || current) of the binned shares; drift when >= threshold."""
    return KL_DIV(reference, current, threshold, column_type)
