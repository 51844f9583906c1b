"""Which runbook a notification links: one markdown file per alert under ``docs/runbooks/``.

A notification's runbook is chosen by its ``alert`` when the producer set one (a finer kind of
event: ``failure`` is a data quality failure, a failed scoring day, a registry/audit mismatch or
any other failed task), else by its ``event``. ``RUNBOOKS`` is the one mapping; adding a
runbook is one markdown file in ``docs/runbooks/`` (the sections *What it means*, *How to
check*, *How to fix*, *How to verify*) and one line here (plus, for a new alert, the producer
that sets it). ``tests/unit/notify/test_runbooks.py`` checks that every event and alert has a
file with those sections, and ``tests/e2e`` runs the files' ``bash`` blocks.

The link is ``$MLOPS_RUNBOOK_BASE_URL/<file>``: set it to where people read the docs (e.g.
``https://github.com/<org>/<repo>/blob/main/docs/runbooks``); unset, it is the path in the
repository, ``docs/runbooks/<file>``.

Only the standard library, ``include.errors`` and the event names are imported here.
"""

from __future__ import annotations

import os

from include.config.notifications import Event
from include.errors import DataValidationError, RegistryAuditMismatch, ScoringInputError

RUNBOOK_BASE_ENV = "MLOPS_RUNBOOK_BASE_URL"
RUNBOOK_DIR = "docs/runbooks"  # in the repository, also the link base when the variable is unset


class Alert:
    """What a notification is about when its event is too coarse to choose the runbook."""

    DATA_QUALITY = "data_quality"  # failure: the monitor's quality check, or retrain's data validation
    PERFORMANCE_DROP = "performance_drop"  # drift: the live metric fell; a retrain was requested
    FAILED_SCORING_DAY = "failed_scoring_day"  # failure: a scoring date published nothing
    HEALTH_CHECK_ROLLBACK = "health_check_rollback"  # rollback: a promotion failed its health check
    REGISTRY_AUDIT_MISMATCH = "registry_audit_mismatch"  # failure: MLflow and the audit trail disagree
    AB_TEST_RUNNING = "ab_test_running"  # info: an A/B test is short of its planned outcomes


# event or alert -> its runbook's file in docs/runbooks/ (an alert wins over its event).
RUNBOOKS: dict[str, str] = {
    Event.SUCCESS: "success.md",
    Event.GATE_FAILURE: "gate-failure.md",
    Event.FAILURE: "task-failure.md",
    Event.DRIFT: "drift.md",
    Event.PROMOTION: "promotion.md",
    Event.REFUSED: "promotion-refused.md",
    Event.ROLLBACK: "rollback.md",
    Event.INFO: "promotion-refused.md",
    Event.CANARY_ADVANCED: "canary-advanced.md",
    Event.CANARY_HALTED: "canary-halt.md",
    Event.AB_DECISION: "ab-decision.md",
    Alert.DATA_QUALITY: "data-quality-failure.md",
    Alert.PERFORMANCE_DROP: "performance-drop.md",
    Alert.FAILED_SCORING_DAY: "failed-scoring-day.md",
    Alert.HEALTH_CHECK_ROLLBACK: "health-check-rollback.md",
    Alert.REGISTRY_AUDIT_MISMATCH: "registry-audit-mismatch.md",
    Alert.AB_TEST_RUNNING: "ab-decision.md",
}

# A failed task's error -> its alert (the failure callback's runbook); the most specific class wins.
ALERT_FOR_ERROR: dict[type[BaseException], str] = {
    RegistryAuditMismatch: Alert.REGISTRY_AUDIT_MISMATCH,  # scoring refused @champion, reconcile found drift
    DataValidationError: Alert.DATA_QUALITY,  # retrain's validate_data
    ScoringInputError: Alert.FAILED_SCORING_DAY,  # batch_score's plan, publish or check_dates
}


def runbook_base() -> str:
    """``$MLOPS_RUNBOOK_BASE_URL`` without a trailing slash; ``docs/runbooks`` when unset."""
    return (os.environ.get(RUNBOOK_BASE_ENV) or RUNBOOK_DIR).rstrip("/")


def runbook_file(key: str) -> str | None:
    """The file name of the runbook of an event or alert; None when there is none."""
    return RUNBOOKS.get(key)


def runbook_link(key: str) -> str:
    """``<base>/<file>`` of the runbook of an event or alert; "" when there is none."""
    name = runbook_file(key)
    return f"{runbook_base()}/{name}" if name else ""


def alert_for_error(error: BaseException | None) -> str:
    """The alert of a task that failed with ``error`` ("" when its class names none)."""
    for cls in type(error).__mro__ if error is not None else ():
        if cls in ALERT_FOR_ERROR:
            return ALERT_FOR_ERROR[cls]
    return ""
