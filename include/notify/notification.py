"""A notification: what happened to which model, as delivered to every subscribed target."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from include.config.notifications import GOOD_EVENTS
from include.notify.runbooks import runbook_link

# conn_id -> {"host", "port", "login", "password", "extra": {...}} or None when it does not exist.
ConnectionResolver = Callable[[str], dict[str, Any] | None]


@dataclass
class Notification:
    model: str
    event: str  # one of include.notify.events.NOTIFY_EVENTS
    subject: str
    body: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    # The Airflow run it is about (include.notify.links.run_link); ``send`` fills it from the
    # task's environment when the producer left it empty.
    link: str = ""
    # What it is about when the event is too coarse (include.notify.runbooks.Alert): it picks
    # the runbook, e.g. a ``failure`` that is a failed scoring day.
    alert: str = ""
    # The runbook's link (include.notify.runbooks.RUNBOOKS): filled from the alert, else the event.
    runbook: str = ""

    def __post_init__(self) -> None:
        if not self.runbook:
            self.runbook = runbook_link(self.alert or self.event)

    @property
    def level(self) -> int:
        return logging.INFO if self.event in GOOD_EVENTS else logging.WARNING

    def text(self) -> str:
        """``[model] subject``, the body, ``Airflow run: <link>`` and ``Runbook: <link>`` (what chat
        and mail show)."""
        lines = [f"[{self.model}] {self.subject}"]
        if self.body:
            lines.append(self.body)
        if self.link:
            lines.append(f"Airflow run: {self.link}")
        if self.runbook:
            lines.append(f"Runbook: {self.runbook}")
        return "\n".join(lines)


class NotifyOutcome(TypedDict):
    """What a notify task returns (its XCom): the message as sent and one outcome per target."""

    event: str
    subject: str
    body: str
    link: str
    runbook: str
    notifications: list[dict[str, Any]]
