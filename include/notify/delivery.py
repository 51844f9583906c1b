"""Notifications to the targets a model config lists (log, file, webhook, Slack, SMTP, ...).

Delivery problems are logged, never raised: a broken Slack webhook must not fail a pipeline
that otherwise worked. Secrets (webhook URLs, SMTP passwords) come from environment variables
or Airflow connections resolved by the caller (``resolve``), never from the config. Each target
type is one registered function (``include/notify/targets.py``); the events are listed in
``include/config/notifications.py``, and every message links its runbook
(``include/notify/runbooks.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from include.config import ModelConfig
from include.notify.links import current_run_link
from include.notify.notification import ConnectionResolver, Notification, NotifyOutcome
from include.notify.targets import delivery_for

__all__ = ["ConnectionResolver", "Notification", "NotifyOutcome", "deliver", "send"]

log = logging.getLogger(__name__)


def with_link(note: Notification) -> Notification:
    """The note with the Airflow run link of this task when the producer gave none."""
    return note if note.link else dataclasses.replace(note, link=current_run_link())


def send(config: ModelConfig, note: Notification, resolve: ConnectionResolver | None = None) -> list[dict[str, Any]]:
    """Deliver to every target subscribed to the event; returns one outcome per target.

    One log line says what was sent and to how many targets (none for an event no target lists,
    e.g. ``info``)."""
    note = with_link(note)
    outcomes = []
    for target in config.notifications:
        if note.event not in target.events:
            continue
        outcome: dict[str, Any] = {"type": target.type, "ok": True}
        try:
            outcome.update(delivery_for(target.type)(target, note, resolve) or {})
        except Exception as exc:  # delivery is best effort: report, do not fail the pipeline
            outcome = {"type": target.type, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            log.warning("notification to %s target failed: %s", target.type, outcome["error"])
        outcomes.append(outcome)
    log.info("notification %s of %s sent to %d target(s): %s", note.event, note.model, len(outcomes), note.subject)
    return outcomes


def deliver(config: ModelConfig, note: Notification, resolve: ConnectionResolver | None = None) -> NotifyOutcome:
    """``send``, returning the message with the outcomes (what a notify task keeps in XCom)."""
    note = with_link(note)
    outcomes = send(config, note, resolve)
    return {
        "event": note.event,
        "subject": note.subject,
        "body": note.body,
        "link": note.link,
        "runbook": note.runbook,
        "notifications": outcomes,
    }
