"""``ed``: energy distance (``scipy.stats.energy_distance``); numerical columns; drift when
> threshold (0.1), strictly, as evidently."""

from __future__ import annotations

from typing import Any

from include.monitor.drift.pairs import Pair, need_numeric
from include.monitor.drift.stattests.registry import StatTest, register_stattest


def _energy(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import energy_distance

    p = need_numeric(pair, "ed")
    value = float(energy_distance(p.ref, p.cur))
    return value, value > threshold


ED = register_stattest(StatTest("ed", "Energy-distance", 0.1, "distance", ("num",), _energy))


def ed(reference: Any, current: Any, threshold: float = 0.1, column_type: str = "num") -> tuple[float, bool]:
    """Energy distance; drift when > threshold (strictly, as evidently)."""
    return ED(reference, current, threshold, column_type)
