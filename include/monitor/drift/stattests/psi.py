"""``psi``: population stability index, sum((r - c) * ln(r / c)) of the binned shares with zeros
filled (``include.monitor.drift.binning``); both column types; drift when >= threshold (0.1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from include.monitor.drift.binning import binned_shares
from include.monitor.drift.pairs import Pair
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _psi(pair: Pair, threshold: float) -> tuple[float, bool]:
    ref, cur = binned_shares(pair, fill=True)
    value = float(np.sum((ref - cur) * np.log(ref / cur)))
    return value, value >= threshold


PSI = register_stattest(StatTest("psi", "PSI", 0.1, "distance", ("cat", "num"), _psi))


def psi(reference: Any, current: Any, threshold: float = 0.1, column_type: str = "num") -> tuple[float, bool]:
    """Population stability index of the binned shares; drift when >= threshold."""
    return PSI(reference, current, threshold, column_type)
