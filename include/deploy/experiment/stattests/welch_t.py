"""Welch's t-test on per-entity errors (regression: absolute or squared error), unequal variances,
with the Welch-Satterthwaite interval; the null may be shifted by the non-inferiority margin."""

from __future__ import annotations

import math

import numpy as np

from include.deploy.experiment.hypothesis import Hypothesis
from include.deploy.experiment.stattests import register_experiment_test
from include.deploy.experiment.stattests.comparison import ArmComparison

NAME = "welch_t"


@register_experiment_test(NAME)
def welch_t(control: np.ndarray, treatment: np.ndarray, hypothesis: Hypothesis) -> ArmComparison:
    from scipy import stats

    # better - worse in the good direction: improvement = better arm's gain over the other.
    gain, base = (treatment, control) if hypothesis.higher_is_better else (control, treatment)
    result = stats.ttest_ind(gain - hypothesis.null_effect, base, equal_var=False, alternative="greater")
    effect = float(gain.mean() - base.mean())
    var_g, var_b = gain.var(ddof=1) / len(gain), base.var(ddof=1) / len(base)
    se = math.sqrt(var_g + var_b)
    df = (var_g + var_b) ** 2 / (var_g**2 / (len(gain) - 1) + var_b**2 / (len(base) - 1)) if se > 0 else 1.0
    half = float(stats.t.ppf(1 - hypothesis.alpha, df)) * se
    return ArmComparison(
        method=NAME,
        control_value=float(control.mean()),
        treatment_value=float(treatment.mean()),
        n_control=len(control),
        n_treatment=len(treatment),
        effect=effect,
        ci_low=effect - half,
        ci_high=effect + half,
        p_value=float(result.pvalue),
        statistic=float(result.statistic),
    )
