"""A notification: what happened to which model, as delivered to every subscribed target."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from include.config.notifications import GOOD_EVENTS

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

    @property
    def level(self) -> int:
        return logging.INFO if self.event in GOOD_EVENTS else logging.WARNING

    def text(self) -> str:
        """``[model] subject``, the body, then ``Airflow run: <link>`` (what chat and mail show)."""
        lines = [f"[{self.model}] {self.subject}"]
        if self.body:
            lines.append(self.body)
        if self.link:
            lines.append(f"Airflow run: {self.link}")
        return "\n".join(lines)


class NotifyOutcome(TypedDict):
    """What a notify task returns (its XCom): the message as sent and one outcome per target."""

    event: str
    subject: str
    body: str
    link: str
    notifications: list[dict[str, Any]]
