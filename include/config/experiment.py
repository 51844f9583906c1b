"""The checks of ``deploy.ab_*``, the A/B test of ``deploy.strategy: ab`` (include/deploy/ab.py).

The numbers are checked for every config (a typo fails at once, whatever the strategy); what
depends on the model's task (which tests suit its outcome, where the baseline comes from) only
when the strategy is ``ab``. Names only: reading a config never imports scipy or statsmodels.
"""

from __future__ import annotations

from typing import Any

from include.config.checks import fail, is_number
from include.contracts import AB

SUPERIORITY, NON_INFERIORITY = "superiority", "non_inferiority"
AB_HYPOTHESES = (SUPERIORITY, NON_INFERIORITY)
# The tests of include/deploy/experiment/stattests/ that suit each task's outcome (a test keeps
# the names equal to the registry), the default first: a classifier's outcome is 1 for a correct
# prediction and 0 otherwise (a success rate), a regressor's the absolute error.
AB_TESTS: dict[str, tuple[str, ...]] = {
    "classification": ("two_proportion_z", "bootstrap"),
    "regression": ("welch_t", "bootstrap"),
}
# Hold-out metrics the baseline is derived from when ``ab_baseline`` is empty: the champion's
# accuracy (a success rate), or the standard deviation of its absolute error, sqrt(rmse^2 - mae^2).
BASELINE_METRICS: dict[str, tuple[str, ...]] = {"classification": ("accuracy",), "regression": ("rmse", "mae")}


def check_ab_numbers(deploy: Any) -> None:
    """The ``ab_*`` fields of a deploy section, whatever its strategy."""
    w = deploy._where
    share = deploy.ab_treatment_share
    if not is_number(share) or not 0 < share < 1:
        fail(f"{w}.ab_treatment_share", f"must be a number between 0 and 1 (exclusive), got {share!r}")
    if deploy.ab_hypothesis not in AB_HYPOTHESES:
        fail(f"{w}.ab_hypothesis", f"must be one of {list(AB_HYPOTHESES)}, got {deploy.ab_hypothesis!r}")
    if not is_number(deploy.ab_alpha) or not 0 < deploy.ab_alpha < 0.5:
        fail(f"{w}.ab_alpha", f"must be a number between 0 and 0.5 (one-sided), got {deploy.ab_alpha!r}")
    if not is_number(deploy.ab_power) or not 0.5 <= deploy.ab_power < 1:
        fail(f"{w}.ab_power", f"must be a number from 0.5 to below 1, got {deploy.ab_power!r}")
    if not is_number(deploy.ab_margin) or deploy.ab_margin < 0:
        fail(f"{w}.ab_margin", f"must be a number >= 0, got {deploy.ab_margin!r}")
    if deploy.ab_hypothesis == NON_INFERIORITY and deploy.ab_margin == 0:
        fail(f"{w}.ab_margin", "a non_inferiority test needs a margin > 0: how much worse is still acceptable")
    effect = deploy.ab_min_detectable_effect
    if effect is not None and (not is_number(effect) or effect + deploy.ab_margin <= 0):
        fail(
            f"{w}.ab_min_detectable_effect",
            f"must be a number above -ab_margin (an improvement > 0 for superiority), got {effect!r}",
        )
    if deploy.ab_baseline is not None and (not is_number(deploy.ab_baseline) or deploy.ab_baseline <= 0):
        fail(f"{w}.ab_baseline", f"must be a number > 0 or empty, got {deploy.ab_baseline!r}")


def check_ab_for_task(deploy: Any, task: str, metrics: list[str], source: str) -> None:
    """What ``strategy: ab`` needs of a model of ``task`` with hold-out ``metrics``."""
    if deploy.strategy != AB:
        return
    where = f"{source}: deploy"
    if deploy.ab_min_detectable_effect is None:
        fail(
            f"{where}.ab_min_detectable_effect",
            "strategy ab needs the improvement the test must detect (in the outcome's unit: success rate "
            "for a classifier, absolute error for a regressor), e.g. 0.02",
        )
    tests = AB_TESTS[task]
    if deploy.ab_test is not None and deploy.ab_test not in tests:
        fail(
            f"{where}.ab_test", f"a {task} model's outcome is tested with one of {list(tests)}, got {deploy.ab_test!r}"
        )
    baseline = deploy.ab_baseline
    if task == "classification" and baseline is not None and not baseline < 1:
        fail(f"{where}.ab_baseline", f"a classifier's baseline is a success rate below 1, got {baseline!r}")
    needed = [m for m in BASELINE_METRICS[task] if m not in metrics]
    if baseline is None and needed:
        fail(
            f"{where}.ab_baseline",
            f"empty, so it comes from the champion's hold-out {' and '.join(BASELINE_METRICS[task])}, but "
            f"evaluation.metrics lacks {needed}: add them, or set ab_baseline (the champion's "
            + ("success rate, e.g. 0.8)" if task == "classification" else "standard deviation of its absolute error)"),
        )


def ab_test_name(deploy: Any, task: str) -> str:
    """The configured test, or the default for the task's outcome."""
    return deploy.ab_test or AB_TESTS[task][0]
