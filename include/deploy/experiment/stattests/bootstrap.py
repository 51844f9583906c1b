"""Percentile bootstrap of the difference in means (any per-entity outcome: 0/1 successes or
errors), for outcomes a normal approximation fits badly (small arms, skewed errors). Each arm is
resampled on its own; the one-sided p-value is the share of resampled improvements at or below
the null. Seeded, so a decision can be recomputed exactly."""

from __future__ import annotations

import numpy as np

from include.deploy.experiment.hypothesis import Hypothesis
from include.deploy.experiment.stattests import register_experiment_test
from include.deploy.experiment.stattests.comparison import ArmComparison

NAME = "bootstrap"
RESAMPLES = 2000
SEED = 20260301
_BLOCK = 200  # resamples drawn at once: bounded memory for large arms


def resampled_means(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    means = []
    for start in range(0, resamples, _BLOCK):
        size = min(_BLOCK, resamples - start)
        means.append(values[rng.integers(0, len(values), size=(size, len(values)))].mean(axis=1))
    return np.concatenate(means)


@register_experiment_test(NAME)
def bootstrap(
    control: np.ndarray, treatment: np.ndarray, hypothesis: Hypothesis, resamples: int = RESAMPLES, seed: int = SEED
) -> ArmComparison:
    rng = np.random.default_rng(seed)
    sign = 1.0 if hypothesis.higher_is_better else -1.0
    effects = sign * (resampled_means(treatment, resamples, rng) - resampled_means(control, resamples, rng))
    effect = sign * float(treatment.mean() - control.mean())
    low, high = np.quantile(effects, [hypothesis.alpha, 1 - hypothesis.alpha])
    p_value = (np.count_nonzero(effects <= hypothesis.null_effect) + 1) / (resamples + 1)
    return ArmComparison(
        method=NAME,
        control_value=float(control.mean()),
        treatment_value=float(treatment.mean()),
        n_control=len(control),
        n_treatment=len(treatment),
        effect=effect,
        ci_low=float(low),
        ci_high=float(high),
        p_value=float(p_value),
    )
