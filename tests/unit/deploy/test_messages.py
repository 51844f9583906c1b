"""What the deploy pipeline says: task messages, move reasons and notifications, per outcome."""

from __future__ import annotations

import pytest

from include.config import NOTIFY_EVENTS
from include.config.notifications import DEFAULT_EVENTS
from include.deploy.criteria import evaluate_promotion
from include.deploy.messages import (
    approval_rejection_reason,
    audit_trail_lines,
    dry_run_message,
    health_rollback_note,
    health_rollback_reason,
    hold_message,
    is_ready_to_promote,
    is_rejected_at_approval,
    not_ready_message,
    promotion_note,
    promotion_outcome,
    promotion_reason,
    rollback_note,
    unhealthy_message,
)
from include.deploy.payloads import ApprovalAnswer, FreezePayload, HealthCheckPayload, PromotionPayload
from tests.unit.deploy.helpers import churn_config, gathered

OPEN: FreezePayload = {"frozen": False, "freeze_reason": None, "override_reason": None}
PROMOTED: PromotionPayload = {"action": "champion", "version": "2", "previous": "1", "disagreements": []}
UNHEALTHY: HealthCheckPayload = {
    "ok": False,
    "version": "2",
    "rows": 200,
    "max_abs_diff": 0.2,
    "problems": ["non-finite scores", "scores differ from training's by up to 0.2 (tolerance 1e-06)"],
}


def answer(choice: str | None, reason: str = "", by: str = "reviewer") -> ApprovalAnswer:
    return {"choice": choice, "by": by, "at": "2026-02-14T10:00:00+00:00", "reason": reason}


@pytest.fixture(scope="module")
def config():
    return churn_config()


@pytest.fixture(scope="module")
def ready(config):
    return gathered(config)


@pytest.fixture(scope="module")
def held(config):
    return gathered(config, batches=1)


@pytest.fixture(scope="module")
def no_challenger(config):
    verdict = evaluate_promotion(config, None, "1", {})
    return {"verdict": verdict.to_dict(), "summary": verdict.summary(), "rejected": False}


@pytest.fixture(scope="module")
def stale():
    reason = "in shadow 31 days > reject_after_days 30"
    return {"verdict": {"ready": False, "challenger": "2"}, "summary": reason, "rejected": True}


# -- the promote DAG's decisions ---------------------------------------------------------------------
def test_readiness_and_the_hold_message(ready, held, no_challenger, stale):
    assert is_ready_to_promote(ready)
    assert not any(is_ready_to_promote(g) for g in (held, no_challenger, stale))
    assert (
        hold_message(held)
        == "challenger stays where it is: challenger v2 vs champion v1: not ready: min_shadow_batches"
    )
    assert hold_message(stale) == "challenger stays where it is: in shadow 31 days > reject_after_days 30"
    assert not_ready_message(held) == "promotion refused: challenger v2 vs champion v1: not ready: min_shadow_batches"


def test_dry_run_message(ready):
    assert dry_run_message(ready["verdict"]) == "dry run: v2 would be promoted"


def test_promotion_reason_names_the_override_and_the_approver():
    base = "shadow evidence passed every criterion"
    overridden: FreezePayload = {"frozen": True, "freeze_reason": "x", "override_reason": "hotfix"}

    assert promotion_reason(OPEN, None) == base
    assert promotion_reason(overridden, None) == f"{base}; freeze override: hotfix"
    assert promotion_reason(OPEN, answer("Approve", "looks good")) == f"{base}; approved by reviewer: looks good"
    assert promotion_reason(overridden, answer("Approve")) == f"{base}; freeze override: hotfix; approved by reviewer"


@pytest.mark.parametrize(
    ("approval", "rejected"),
    [(None, False), ({}, False), (answer("Approve"), False), (answer(None), False), (answer("Reject"), True)],
)
def test_only_a_reject_answer_is_a_rejection(approval, rejected):
    assert is_rejected_at_approval(approval) is rejected


def test_rejection_reason_says_who_and_why():
    assert (
        approval_rejection_reason(answer("Reject", "one more week"))
        == "rejected at approval by reviewer: one more week"
    )
    assert approval_rejection_reason(answer("Reject")) == "rejected at approval by reviewer: no reason given"


# -- the promote DAG's notification ----------------------------------------------------------------------
def test_promoted(ready):
    note = promotion_note("churn", ready, PROMOTED, None)

    assert promotion_outcome(ready, PROMOTED, None) == "promoted"
    assert (note.model, note.event, note.subject) == ("churn", "promotion", "v2 is champion (was v1)")
    assert note.body == ready["summary"] and note.fields == dict(ready)


def test_promoted_after_approval_is_a_promotion(ready):
    assert promotion_note("churn", ready, PROMOTED, answer("Approve")).event == "promotion"


def test_rejected_at_approval_keeps_the_champion_and_leads_with_the_reason(ready):
    approval = answer("Reject", "the retention team wants one more week")

    note = promotion_note("churn", ready, None, approval)

    assert promotion_outcome(ready, None, approval) == "rejected_at_approval"
    assert note.event == "refused"
    assert note.subject == "promotion refused: v2 rejected at approval by reviewer; champion kept"
    assert note.body == f"the retention team wants one more week\n\n{ready['summary']}"
    assert note.fields["summary"] == note.body and note.fields["verdict"] == ready["verdict"]
    assert ready["summary"].startswith("challenger v2")  # the payload itself is left as it was


def test_rejected_without_a_reason(ready):
    assert promotion_note("churn", ready, None, answer("Reject")).body.startswith("no reason given\n\n")


def test_held_on_its_criteria(held):
    note = promotion_note("churn", held, None, None)

    assert promotion_outcome(held, None, None) == "held"
    assert note.event == "refused"
    assert note.subject == "promotion refused: challenger v2 vs champion v1: not ready: min_shadow_batches"
    assert "  [FAIL] min_shadow_batches: 1 shadow batches, needs 3" in note.body.splitlines()


def test_no_challenger_is_info_without_vnone(no_challenger):
    note = promotion_note("churn", no_challenger, None, None)

    assert promotion_outcome(no_challenger, None, None) == "no_challenger"
    assert (note.event, note.subject) == ("info", "no challenger to promote; champion v1 stays")
    assert note.body == "No version holds the challenger alias: a retrain that passes its gates registers one."
    assert "vNone" not in note.text() and "[FAIL]" not in note.text()
    assert "info" not in DEFAULT_EVENTS  # the default targets do not send it


def test_a_stale_challenger_retired(stale):
    note = promotion_note("churn", stale, None, None)

    assert promotion_outcome(stale, None, None) == "retired"
    assert (note.event, note.subject, note.body) == (
        "refused",
        "promotion refused: in shadow 31 days > reject_after_days 30",
        "in shadow 31 days > reject_after_days 30",
    )


def test_a_ready_challenger_not_promoted_says_so(ready):
    """A dry run, or an approval that timed out (no answer recorded): nothing moved."""
    note = promotion_note("churn", ready, None, None)

    assert promotion_outcome(ready, None, None) == "held"
    assert note.event == "refused"
    assert note.subject == "promotion refused: challenger v2 vs champion v1: ready to promote"


# -- health check and rollback ---------------------------------------------------------------------------
def test_health_failure_messages():
    assert health_rollback_reason(UNHEALTHY) == (
        "health check failed for v2: non-finite scores; scores differ from training's by up to 0.2 (tolerance 1e-06)"
    )
    assert unhealthy_message(UNHEALTHY) == (
        "champion v2 failed its health check: "
        "['non-finite scores', \"scores differ from training's by up to 0.2 (tolerance 1e-06)\"]"
    )


def test_health_rollback_note():
    rolled = {"action": "rollback", "restored": "1", "replaced": "2", "bad_stage": "rejected"}

    note = health_rollback_note("churn", UNHEALTHY, rolled)

    assert note.event == "rollback"
    assert note.subject == "health check failed after promoting v2; rolled back to v1"
    assert note.body.splitlines() == UNHEALTHY["problems"]
    assert note.fields == {"health": UNHEALTHY, "rollback": rolled}


def test_rollback_note():
    result = {"action": "rollback", "restored": "1", "replaced": "3", "bad_stage": "archived", "disagreements": []}
    health: HealthCheckPayload = {"ok": True, "version": "1", "problems": []}

    note = rollback_note("churn", result, health, "bad rankings since v3")

    assert note.event == "rollback"
    assert note.subject == "rolled back: v1 is champion again (v3 archived)"
    assert note.body == "reason: bad rankings since v3\nhealth check of v1: passed"
    assert note.fields == {**result, "health": health}


def test_every_event_is_one_the_config_knows(ready, held):
    notes = [
        promotion_note("churn", ready, PROMOTED, None),
        promotion_note("churn", held, None, None),
        health_rollback_note(
            "churn", UNHEALTHY, {"action": "rollback", "restored": "1", "replaced": "2", "bad_stage": "rejected"}
        ),
    ]
    assert {n.event for n in notes} <= set(NOTIFY_EVENTS)


def test_audit_trail_lines_are_oldest_first_what_why_then_who():
    mine = "airflow:rollback_churn/manual__1"
    rows = [  # newest first, as AuditStore.history returns them
        {"deployment_id": 9, "version": "1", "from_stage": "archived", "to_stage": "champion",
         "status": "succeeded", "actor": mine, "reason": "rollback: bad rankings"},
        {"deployment_id": 8, "version": "2", "from_stage": "champion", "to_stage": "rejected",
         "status": "succeeded", "actor": mine, "reason": ""},
        {"deployment_id": 7, "version": "3", "from_stage": None, "to_stage": "candidate",
         "status": "succeeded", "actor": mine, "reason": "registered"},
    ]  # fmt: skip
    assert audit_trail_lines(rows) == [
        f"audit trail #7: v3 (new) -> candidate succeeded: registered (by {mine})",
        f"audit trail #8: v2 champion -> rejected succeeded: no reason given (by {mine})",
        f"audit trail #9: v1 archived -> champion succeeded: rollback: bad rankings (by {mine})",
    ]
    assert audit_trail_lines([]) == []
