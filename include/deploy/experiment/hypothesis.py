"""What an experiment tests, stated before it starts.

The effect is always *improvement* of the challenger (treatment) over the champion (control)
in the metric's good direction: ``treatment - control`` when higher is better (a success rate),
``control - treatment`` when lower is better (an error). So ``effect > 0`` is better whatever the
metric, and the one-sided tests below are the same for both directions.

``superiority``: promote when the improvement is significantly above 0.
``non_inferiority``: promote when it is significantly above ``-margin`` (the challenger may be
worse by less than the margin, e.g. cheaper or simpler and no worse in practice).
"""

from __future__ import annotations

from dataclasses import dataclass

from include.config.experiment import AB_HYPOTHESES as KINDS
from include.config.experiment import NON_INFERIORITY, SUPERIORITY
from include.errors import ConfigError


@dataclass(frozen=True)
class Hypothesis:
    """``kind`` with its ``margin`` (non-inferiority only), one-sided ``alpha`` and the ``power``
    wanted at the minimum detectable effect; ``higher_is_better`` gives the metric's direction."""

    kind: str = SUPERIORITY
    alpha: float = 0.05
    power: float = 0.8
    margin: float = 0.0
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"hypothesis must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not 0.0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must be in (0, 0.5), got {self.alpha!r}")
        if not 0.5 <= self.power < 1.0:
            raise ConfigError(f"power must be in [0.5, 1), got {self.power!r}")
        if self.margin < 0:
            raise ConfigError(f"margin is a size and must be >= 0, got {self.margin!r}")
        if self.kind == NON_INFERIORITY and self.margin == 0:
            raise ConfigError("a non-inferiority test needs margin > 0 (how much worse is still acceptable)")

    @property
    def null_effect(self) -> float:
        """The improvement the null hypothesis allows at most: 0, or ``-margin``."""
        return -self.margin if self.kind == NON_INFERIORITY else 0.0
