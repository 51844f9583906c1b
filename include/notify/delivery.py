"""Notifications to the targets a model config lists (log, file, webhook, Slack, SMTP, ...).

Delivery problems are logged, never raised: a broken Slack webhook must not fail a pipeline
that otherwise worked. Secrets (webhook URLs, SMTP passwords) come from environment variables
or Airflow connections resolved by the caller (``resolve``), never from the config. Each target
type is one registered function (``include/notify/targets.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from include.config import ModelConfig
from include.notify.notification import ConnectionResolver, Notification
from include.notify.targets import delivery_for

__all__ = ["ConnectionResolver", "Notification", "send"]

log = logging.getLogger(__name__)


def send(config: ModelConfig, note: Notification, resolve: ConnectionResolver | None = None) -> list[dict[str, Any]]:
    """Deliver to every target subscribed to the event; returns one outcome per target."""
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
    return outcomes
