"""``jensenshannon``: ``scipy.spatial.distance.jensenshannon`` (natural log) of the binned shares
(``include.monitor.drift.binning``, no zero fill); both column types; drift when >= threshold (0.1)."""

from __future__ import annotations

from typing import Any

from include.monitor.drift.binning import binned_shares
from include.monitor.drift.pairs import Pair
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _jensenshannon(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.spatial import distance

    ref, cur = binned_shares(pair, fill=False)
    value = float(distance.jensenshannon(ref, cur))
    return value, value >= threshold


JENSENSHANNON = register_stattest(
    StatTest("jensenshannon", "Jensen-Shannon distance", 0.1, "distance", ("cat", "num"), _jensenshannon)
)


def jensenshannon(reference: Any, current: Any, threshold: float = 0.1, column_type: str = "num") -> tuple[float, bool]:
    """Jensen-Shannon distance of the binned shares; drift when >= threshold."""
    return JENSENSHANNON(reference, current, threshold, column_type)
