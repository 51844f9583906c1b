"""The result every experiment test returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ArmComparison:
    """``effect``: improvement of treatment over control in the metric's good direction, with
    its ``1 - 2 alpha`` interval; ``p_value``: one-sided, against the hypothesis's null."""

    method: str
    control_value: float
    treatment_value: float
    n_control: int
    n_treatment: int
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    statistic: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
