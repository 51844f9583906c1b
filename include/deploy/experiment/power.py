"""How many outcomes each arm needs, computed before the experiment starts (fixed horizon).

``plan_proportions``: a success rate (classification outcome) with the control's baseline rate
and the minimum detectable improvement, from the normal approximation of the difference of two
independent proportions (unpooled variances; the same number as statsmodels'
``samplesize_proportions_2indep_onetail`` to within 0.5 %, which cannot shift the null for a
non-inferiority margin). ``plan_means``: a mean error (regression), from its standard deviation,
with statsmodels' power of the two-sample t-test (Welch's test needs about the same when the
arms' variances are close). Both are one-sided at ``alpha`` against the hypothesis's null
(``0``, or ``-margin`` for non-inferiority) and use the arms' allocation ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from include.deploy.experiment.hypothesis import Hypothesis
from include.errors import ConfigError


@dataclass(frozen=True)
class SampleSizePlan:
    """Outcomes needed in each arm before the test is made, and what the number rests on."""

    n_control: int
    n_treatment: int
    metric: str
    min_detectable_effect: float
    baseline: float
    hypothesis: Hypothesis

    @property
    def total(self) -> int:
        return self.n_control + self.n_treatment

    def reached(self, n_control: int, n_treatment: int) -> bool:
        return n_control >= self.n_control and n_treatment >= self.n_treatment

    def describe(self) -> str:
        return (
            f"{self.n_treatment:,} outcomes in the challenger's arm and {self.n_control:,} in the champion's "
            f"to detect an improvement of {self.min_detectable_effect:g} in {self.metric} (baseline "
            f"{self.baseline:g}) with power {self.hypothesis.power:.0%} at one-sided alpha {self.hypothesis.alpha:g}"
            + (f", non-inferiority margin {self.hypothesis.margin:g}" if self.hypothesis.margin else "")
        )


def plan_proportions(
    baseline: float, min_detectable_effect: float, hypothesis: Hypothesis, treatment_share: float = 0.5
) -> SampleSizePlan:
    """Outcomes per arm for a success rate ``baseline`` (control) and an improvement of
    ``min_detectable_effect`` (absolute, in the metric's good direction)."""
    from scipy.stats import norm

    _check_effect(min_detectable_effect, hypothesis)
    if not 0.0 < baseline < 1.0:
        raise ConfigError(f"baseline rate must be in (0, 1), got {baseline!r}")
    treated = baseline + (1.0 if hypothesis.higher_is_better else -1.0) * min_detectable_effect
    if not 0.0 < treated < 1.0:
        raise ConfigError(f"baseline {baseline} with effect {min_detectable_effect} leaves (0, 1)")
    ratio = (1.0 - treatment_share) / treatment_share  # control outcomes per treatment outcome
    z = norm.ppf(1 - hypothesis.alpha) + norm.ppf(hypothesis.power)
    variance = treated * (1 - treated) + baseline * (1 - baseline) / ratio
    n_treatment = z**2 * variance / (min_detectable_effect - hypothesis.null_effect) ** 2
    return _plan(n_treatment, ratio, "success rate", min_detectable_effect, baseline, hypothesis)


def plan_means(
    std: float, min_detectable_effect: float, hypothesis: Hypothesis, treatment_share: float = 0.5
) -> SampleSizePlan:
    """Outcomes per arm for a mean (e.g. absolute error) with standard deviation ``std`` and an
    improvement of ``min_detectable_effect`` in its unit."""
    from statsmodels.stats.power import TTestIndPower

    _check_effect(min_detectable_effect, hypothesis)
    if std <= 0:
        raise ConfigError(f"standard deviation must be > 0, got {std!r}")
    ratio = (1.0 - treatment_share) / treatment_share
    effect_size = (min_detectable_effect - hypothesis.null_effect) / std
    n_treatment = TTestIndPower().solve_power(
        effect_size=effect_size, alpha=hypothesis.alpha, power=hypothesis.power, ratio=ratio, alternative="larger"
    )
    return _plan(float(n_treatment), ratio, "mean error", min_detectable_effect, std, hypothesis)


def _plan(
    n_treatment: float, ratio: float, metric: str, effect: float, baseline: float, hypothesis: Hypothesis
) -> SampleSizePlan:
    return SampleSizePlan(
        n_control=math.ceil(n_treatment * ratio),
        n_treatment=math.ceil(n_treatment),
        metric=metric,
        min_detectable_effect=effect,
        baseline=baseline,
        hypothesis=hypothesis,
    )


def _check_effect(effect: float, hypothesis: Hypothesis) -> None:
    if effect - hypothesis.null_effect <= 0:
        raise ConfigError(
            f"the minimum detectable effect ({effect!r}) must exceed the null ({hypothesis.null_effect!r}): "
            "an improvement > 0 for superiority, > -margin for non-inferiority"
        )
