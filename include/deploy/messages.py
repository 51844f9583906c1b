"""What the deploy pipeline says: reasons recorded with moves, task messages, notifications.

Pure functions of the payloads the steps return, so every text is decided (and tested) here and
the DAGs and operators only pass it on.
"""

from __future__ import annotations

from typing import Any, Literal

from include.config.notifications import Event
from include.deploy.experiment.decision import PROMOTE as AB_PROMOTE
from include.deploy.experiment.decision import REJECT as AB_REJECT
from include.deploy.payloads import (
    ApprovalAnswer,
    ExperimentPayload,
    FreezePayload,
    GatheredEvidencePayload,
    HealthCheckPayload,
    PromotionPayload,
    PromotionVerdictPayload,
    RollbackMovePayload,
)
from include.notify.delivery import Notification
from include.notify.runbooks import Alert

APPROVE = "Approve"
REJECT = "Reject"
NO_REASON = "no reason given"

PromotionOutcome = Literal["promoted", "rejected_at_approval", "no_challenger", "retired", "held"]


# -- the promote DAG's decisions ----------------------------------------------------------------------
def verdict_headline(gathered: GatheredEvidencePayload) -> str:
    """The first line of the evidence summary: the verdict in one line."""
    return gathered["summary"].splitlines()[0]


def is_ready_to_promote(gathered: GatheredEvidencePayload) -> bool:
    """Every criterion passed (a stale or missing challenger never is)."""
    return bool(gathered["verdict"].get("ready"))


def hold_message(gathered: GatheredEvidencePayload) -> str:
    """Why the rest of the promote run is skipped: the challenger stays where it is."""
    return f"challenger stays where it is: {verdict_headline(gathered)}"


def not_ready_message(gathered: GatheredEvidencePayload) -> str:
    """The refusal of a promotion asked for on a verdict that is not ready."""
    return f"promotion refused: {verdict_headline(gathered)}"


def dry_run_message(verdict: PromotionVerdictPayload) -> str:
    return f"dry run: v{verdict['challenger']} would be promoted"


def promotion_reason(
    freeze: FreezePayload, approval: ApprovalAnswer | None, experiment: ExperimentPayload | None = None
) -> str:
    """The reason recorded with a promotion: the evidence (an A/B test's decision with its
    numbers), a freeze override, the approver."""
    reason = f"A/B test {experiment['reason']}" if experiment else "shadow evidence passed every criterion"
    if freeze.get("override_reason"):
        reason += f"; freeze override: {freeze['override_reason']}"
    if approval:
        reason += f"; approved by {approval['by']}" + (f": {approval['reason']}" if approval["reason"] else "")
    return reason


def is_rejected_at_approval(approval: ApprovalAnswer | None) -> bool:
    """A reviewer chose Reject (no answer, a timeout or Approve are not rejections)."""
    if not approval:
        return False
    return approval["choice"] == REJECT


def approval_rejection_reason(approval: ApprovalAnswer) -> str:
    return f"rejected at approval by {approval['by']}: {approval['reason'] or NO_REASON}"


# -- the promote DAG's notification ---------------------------------------------------------------------
def promotion_outcome(
    gathered: GatheredEvidencePayload, promoted: PromotionPayload | None, approval: ApprovalAnswer | None
) -> PromotionOutcome:
    """How a promote run ended, for its notification."""
    if promoted:
        return "promoted"
    if approval and approval["choice"] != APPROVE:
        return "rejected_at_approval"
    if gathered["verdict"].get("challenger") is None:
        return "no_challenger"
    if gathered.get("rejected"):
        return "retired"
    return "held"


def promotion_note(
    model: str,
    gathered: GatheredEvidencePayload,
    promoted: PromotionPayload | None,
    approval: ApprovalAnswer | None,
) -> Notification:
    """The notification of a promote run: ``promotion`` when the champion changed; ``refused``
    with why not (held on its criteria, retired as stale, not approved, or rejected by a
    reviewer, whose reason heads the body); ``info`` when there was no challenger at all (the
    default targets do not send it: a daily run without a challenger is not news)."""
    outcome = promotion_outcome(gathered, promoted, approval)
    fields: dict[str, Any] = dict(gathered)
    step = gathered.get("canary")
    if step is not None and outcome != "promoted" and step["action"] != "promote":
        return canary_note(model, gathered, step)
    experiment = gathered.get("experiment")
    if experiment is not None and experiment["outcome"] != AB_PROMOTE:
        return experiment_note(model, gathered, experiment)
    if outcome == "promoted" and promoted is not None:
        subject = f"v{promoted['version']} is champion (was v{promoted['previous']})"
        return Notification(
            model=model, event=Event.PROMOTION, subject=subject, body=gathered["summary"], fields=fields
        )
    if outcome == "no_challenger":
        champion = gathered["verdict"].get("champion")
        subject = f"no challenger to promote; champion v{champion} stays" if champion else "no challenger to promote"
        body = "No version holds the challenger alias: a retrain that passes its gates registers one."
        return Notification(model=model, event=Event.INFO, subject=subject, body=body, fields=fields)
    if outcome == "rejected_at_approval" and approval is not None:
        challenger = gathered["verdict"].get("challenger")
        subject = f"promotion refused: v{challenger} rejected at approval by {approval['by']}; champion kept"
        fields["summary"] = f"{approval['reason'] or NO_REASON}\n\n{gathered['summary']}"
        return Notification(model=model, event=Event.REFUSED, subject=subject, body=fields["summary"], fields=fields)
    subject = f"promotion refused: {verdict_headline(gathered)}"
    return Notification(model=model, event=Event.REFUSED, subject=subject, body=gathered["summary"], fields=fields)


def canary_note(model: str, gathered: GatheredEvidencePayload, step: dict[str, Any]) -> Notification:
    """A canary's step: ``canary`` when it advanced, ``canary_halted`` when it failed (every
    entity back to the champion), ``info`` while it holds for more scored dates."""
    version = gathered["verdict"].get("challenger")
    champion = gathered["verdict"].get("champion")
    fields: dict[str, Any] = dict(gathered)
    if step["action"] == "advance":
        subject = f"canary v{version} advances to {step['next_share']:.0%} of entities (was {step['share']:.0%})"
        event = Event.CANARY_ADVANCED
    elif step["action"] == "halt":
        subject = f"canary v{version} halted at {step['share']:.0%}: every entity back to champion v{champion}"
        event = Event.CANARY_HALTED
    else:
        subject = f"canary v{version} holds at {step['share']:.0%}: waiting for scored dates"
        event = Event.INFO
    return Notification(model=model, event=event, subject=subject, body=gathered["summary"], fields=fields)


def experiment_note(model: str, gathered: GatheredEvidencePayload, experiment: ExperimentPayload) -> Notification:
    """An A/B test that did not promote: ``ab_decision`` when it rejected the challenger (every
    entity back to the champion), ``info`` while it keeps running."""
    version = gathered["verdict"].get("challenger")
    champion = gathered["verdict"].get("champion")
    arms, plan = experiment["arms"], experiment["plan"]
    alert = ""
    if experiment["outcome"] == AB_REJECT:
        subject = f"A/B test rejected v{version}: every entity back to champion v{champion}"
        event = Event.AB_DECISION
    else:
        alert = Alert.AB_TEST_RUNNING
        subject = (
            f"A/B test v{version} keeps running: {arms['n_treatment']:,}/{plan['n_treatment']:,} challenger and "
            f"{arms['n_control']:,}/{plan['n_control']:,} champion outcomes"
        )
        event = Event.INFO
    body, fields = gathered["summary"], dict(gathered)
    return Notification(model=model, event=event, subject=subject, body=body, fields=fields, alert=alert)


# -- health check and rollback ---------------------------------------------------------------------------
def _problems_text(health: HealthCheckPayload) -> str:
    return "; ".join(health["problems"])


def unhealthy_message(health: HealthCheckPayload) -> str:
    """The failure of a health check that rolls nothing back."""
    return f"champion v{health['version']} failed its health check: {health['problems']}"


def health_rollback_reason(health: HealthCheckPayload) -> str:
    """The reason recorded with the automatic rollback after a failed health check."""
    return f"health check failed for v{health['version']}: {_problems_text(health)}"


def health_rollback_note(model: str, health: HealthCheckPayload, rolled: RollbackMovePayload) -> Notification:
    """The ``rollback`` notification after a failed health check rolled the champion back."""
    return Notification(
        model=model,
        event=Event.ROLLBACK,
        subject=f"health check failed after promoting v{health['version']}; rolled back to v{rolled['restored']}",
        body="\n".join(health["problems"]),
        fields={"health": health, "rollback": rolled},
        alert=Alert.HEALTH_CHECK_ROLLBACK,
    )


def rollback_note(model: str, result: RollbackMovePayload, health: HealthCheckPayload, reason: str) -> Notification:
    """The ``rollback`` notification of a requested rollback; the body is the requester's reason
    and the health check of the restored champion."""
    subject = f"rolled back: v{result['restored']} is champion again (v{result['replaced']} {result['bad_stage']})"
    checked = "passed" if health["ok"] else f"failed: {_problems_text(health)}"
    body = f"reason: {reason or NO_REASON}\nhealth check of v{health['version']}: {checked}"
    return Notification(
        model=model, event=Event.ROLLBACK, subject=subject, body=body, fields={**result, "health": health}
    )


# -- audit trail -----------------------------------------------------------------------------------
def audit_trail_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Audit-trail records (``rows`` as the audit store's ``history``, newest first) oldest first,
    one line each (what, why, then who): what a person checks after a promotion or rollback."""
    return [
        f"audit trail #{row['deployment_id']}: v{row['version']} {row.get('from_stage') or '(new)'} -> "
        f"{row['to_stage']} {row['status']}: {row.get('reason') or NO_REASON} (by {row['actor']})"
        for row in reversed(rows)
    ]
