"""A/B test building blocks (include/deploy/experiment): the hash split, the sample-size plan,
the registered tests and the fixed-horizon decision, on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from include.deploy.experiment import (
    CONTROL,
    KEEP_RUNNING,
    PROMOTE,
    REJECT,
    TREATMENT,
    Hypothesis,
    arm_of,
    assign_arms,
    bucket,
    compare,
    decide_experiment,
    experiment_test_names,
    plan_means,
    plan_proportions,
)
from include.deploy.experiment.stattests.two_proportion_z import from_counts
from include.errors import ConfigError

ENTITIES = [f"cust-{n:06d}" for n in range(100_000)]


def test_split_is_balanced_at_the_configured_share():
    for share in (0.5, 0.2):
        arms = assign_arms(ENTITIES, "churn-exp-1", share)
        treated = arms.count(TREATMENT)
        # Binomial(100k, share): within 4 standard deviations.
        assert abs(treated - share * len(ENTITIES)) < 4 * np.sqrt(len(ENTITIES) * share * (1 - share))
    # Uniform buckets: a Kolmogorov-Smirnov test cannot tell them from U(0, 1).
    buckets = [bucket(e, "churn-exp-1") for e in ENTITIES[:20_000]]
    assert stats.kstest(buckets, "uniform").pvalue > 0.001


def test_an_entity_never_changes_arm():
    first = assign_arms(ENTITIES[:5000], "churn-exp-1", 0.5)
    # Another day, another order, another process: the same arm for each entity.
    again = {e: arm_of(e, "churn-exp-1", 0.5) for e in reversed(ENTITIES[:5000])}
    assert first == [again[e] for e in ENTITIES[:5000]]
    # A ramp (larger treatment share) only adds entities to treatment: none moves back.
    small, large = assign_arms(ENTITIES, "s", 0.05), assign_arms(ENTITIES, "s", 0.25)
    assert all(b == TREATMENT for a, b in zip(small, large, strict=True) if a == TREATMENT)


def test_a_new_salt_reshuffles_independently():
    a, b = assign_arms(ENTITIES[:20_000], "exp-1", 0.5), assign_arms(ENTITIES[:20_000], "exp-2", 0.5)
    agreement = np.mean([x == y for x, y in zip(a, b, strict=True)])
    assert 0.48 < agreement < 0.52  # independent halves agree about half the time


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: arm_of("x", "", 0.5), "non-empty salt"),
        (lambda: arm_of("x", "s", 1.0), "treatment_share"),
        (lambda: Hypothesis(kind="better"), "hypothesis must be one of"),
        (lambda: Hypothesis(kind="non_inferiority"), "needs margin > 0"),
        (lambda: Hypothesis(alpha=0.7), "alpha"),
        (lambda: plan_proportions(0.3, 0.0, Hypothesis()), "must exceed the null"),
        (lambda: plan_proportions(0.98, 0.05, Hypothesis()), "leaves (0, 1)"),
        (lambda: plan_means(0.0, 1.0, Hypothesis()), "standard deviation"),
        (lambda: compare("t_test", np.zeros(5), np.zeros(5), Hypothesis()), "known: bootstrap, two_proportion_z"),
        (lambda: compare("two_proportion_z", np.array([0, 2.0]), np.zeros(5), Hypothesis()), "0/1 outcomes"),
    ],
)
def test_bad_settings_name_what_to_fix(call, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_plan_matches_statsmodels_and_grows_with_a_margin_or_an_unequal_split():
    from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

    plan = plan_proportions(0.30, 0.05, Hypothesis())
    reference = samplesize_proportions_2indep_onetail(0.05, 0.30, 0.8, alpha=0.05, alternative="larger")
    assert abs(plan.n_treatment - reference) / reference < 0.005
    assert plan.n_control == plan.n_treatment and plan.total == 2 * plan.n_treatment
    unequal = plan_proportions(0.30, 0.05, Hypothesis(), treatment_share=0.2)
    assert unequal.n_control == pytest.approx(4 * unequal.n_treatment, abs=4) and unequal.total > plan.total
    # Non-inferiority with margin 0.02 and no true gain: the effect to detect is 0.02, not 0.05.
    ni = plan_proportions(0.30, 0.0, Hypothesis(kind="non_inferiority", margin=0.02))
    assert ni.n_treatment > 5 * plan.n_treatment
    assert "1,082 outcomes in the challenger's arm" in plan.describe()


def test_each_registered_test_agrees_on_a_clear_difference():
    rng = np.random.default_rng(7)
    control, treatment = rng.binomial(1, 0.30, 4000).astype(float), rng.binomial(1, 0.36, 4000).astype(float)
    results = {name: compare(name, control, treatment, Hypothesis()) for name in ("two_proportion_z", "bootstrap")}
    for result in results.values():
        assert result.effect == pytest.approx(treatment.mean() - control.mean())
        assert result.ci_low > 0 and result.p_value < 0.01
    assert abs(results["bootstrap"].ci_low - results["two_proportion_z"].ci_low) < 0.005
    errors_c, errors_t = np.abs(rng.normal(0, 10, 3000)), np.abs(rng.normal(0, 9, 3000))
    lower = Hypothesis(higher_is_better=False)
    welch = compare("welch_t", errors_c, errors_t, lower)
    assert welch.effect == pytest.approx(errors_c.mean() - errors_t.mean()) and welch.effect > 0
    scipy_p = stats.ttest_ind(errors_c, errors_t, equal_var=False, alternative="greater").pvalue
    assert welch.p_value == pytest.approx(scipy_p)
    assert experiment_test_names() == ["bootstrap", "two_proportion_z", "welch_t"]


def test_lower_is_better_flips_the_direction_not_the_verdict():
    # An error rate that fell from 30 % to 25 %: an improvement of +0.05 either way it is stated.
    higher = from_counts(700, 1000, 750, 1000, Hypothesis())  # success rate 0.70 -> 0.75
    lower = from_counts(300, 1000, 250, 1000, Hypothesis(higher_is_better=False))  # error rate 0.30 -> 0.25
    assert higher.effect == pytest.approx(lower.effect) == pytest.approx(0.05)
    assert higher.p_value == pytest.approx(lower.p_value, rel=1e-6)
    # The score interval is computed numerically: equal to within its solver's tolerance.
    assert (higher.ci_low, higher.ci_high) == pytest.approx((lower.ci_low, lower.ci_high), abs=1e-3)


def test_decision_waits_for_the_horizon_then_decides_once():
    plan = plan_proportions(0.30, 0.05, Hypothesis())
    early = decide_experiment(from_counts(100, 300, 140, 300, Hypothesis()), plan)  # p tiny, but 300 < 1,082
    assert early.outcome == KEEP_RUNNING and "300/1,082" in early.reason and "not acted on" in early.reason
    better = decide_experiment(from_counts(330, 1100, 400, 1100, Hypothesis()), plan)
    assert better.outcome == PROMOTE and better.reason.startswith("promote: superiority shown")
    equal = decide_experiment(from_counts(330, 1100, 335, 1100, Hypothesis()), plan)
    assert equal.outcome == REJECT and "not shown at the horizon" in equal.reason
    record = better.to_dict()
    assert record["plan"]["total"] == 2164 and record["comparison"]["method"] == "two_proportion_z"


def test_non_inferiority_accepts_a_slightly_worse_challenger_within_the_margin():
    hypothesis = Hypothesis(kind="non_inferiority", margin=0.03)
    plan = plan_proportions(0.30, 0.0, hypothesis)
    n = plan.n_treatment
    within = decide_experiment(from_counts(int(0.30 * n), n, int(0.295 * n), n, hypothesis), plan)
    assert within.outcome == PROMOTE and "non-inferiority within 0.03" in within.reason
    worse = decide_experiment(from_counts(int(0.30 * n), n, int(0.26 * n), n, hypothesis), plan)
    assert worse.outcome == REJECT
    assert CONTROL == "control"
