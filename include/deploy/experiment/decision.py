"""Promote, reject or keep running: the decision of a fixed-horizon experiment.

Before both arms hold the planned outcomes the answer is ``keep_running`` (the interim numbers
are reported, never acted on: acting on them would inflate the false-positive rate). At the
horizon the one-sided test is made once: ``promote`` when the p-value is below ``alpha`` (the
interval's lower bound is above the null), ``reject`` otherwise. The decision carries every
number, for the audit trail and the notification.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from include.deploy.experiment.hypothesis import NON_INFERIORITY, Hypothesis
from include.deploy.experiment.power import SampleSizePlan
from include.deploy.experiment.stattests import ArmComparison

# As the audit table ml_ab_decisions stores them (include/platform/audit/schema.py AB_OUTCOMES).
PROMOTE = "promote"
REJECT = "reject"
KEEP_RUNNING = "keep_running"


@dataclass(frozen=True)
class ExperimentDecision:
    outcome: str
    reason: str
    comparison: ArmComparison
    plan: SampleSizePlan

    def to_dict(self) -> dict[str, Any]:
        plan = asdict(self.plan)
        plan["total"] = self.plan.total
        return {"outcome": self.outcome, "reason": self.reason, "comparison": self.comparison.to_dict(), "plan": plan}


def decide_experiment(comparison: ArmComparison, plan: SampleSizePlan) -> ExperimentDecision:
    """The decision for ``comparison`` (the test on every outcome so far) under ``plan``."""
    hypothesis = plan.hypothesis
    numbers = _numbers(comparison, hypothesis)
    if not plan.reached(comparison.n_control, comparison.n_treatment):
        reason = (
            f"keep running: {comparison.n_treatment:,}/{plan.n_treatment:,} challenger and "
            f"{comparison.n_control:,}/{plan.n_control:,} champion outcomes of the fixed horizon; "
            f"interim {numbers} (not acted on)"
        )
        return ExperimentDecision(KEEP_RUNNING, reason, comparison, plan)
    claim = _claim(hypothesis)
    if comparison.p_value < hypothesis.alpha:
        return ExperimentDecision(PROMOTE, f"promote: {claim} shown, {numbers}", comparison, plan)
    return ExperimentDecision(REJECT, f"reject: {claim} not shown at the horizon, {numbers}", comparison, plan)


def _claim(hypothesis: Hypothesis) -> str:
    if hypothesis.kind == NON_INFERIORITY:
        return f"non-inferiority within {hypothesis.margin:g}"
    return "superiority"


def _numbers(comparison: ArmComparison, hypothesis: Hypothesis) -> str:
    level = 1 - 2 * hypothesis.alpha
    return (
        f"challenger {comparison.treatment_value:.4g} vs champion {comparison.control_value:.4g}, "
        f"improvement {comparison.effect:+.4g} ({level:.0%} CI {comparison.ci_low:+.4g} to {comparison.ci_high:+.4g}), "
        f"one-sided p {comparison.p_value:.3g} vs alpha {hypothesis.alpha:g} ({comparison.method})"
    )
