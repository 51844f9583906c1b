"""A notification: what happened to which model, as delivered to every subscribed target."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# conn_id -> {"host", "port", "login", "password", "extra": {...}} or None when it does not exist.
ConnectionResolver = Callable[[str], dict[str, Any] | None]


@dataclass
class Notification:
    model: str
    event: str  # one of include.config.NOTIFY_EVENTS
    subject: str
    body: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> int:
        return logging.INFO if self.event in ("success", "promotion") else logging.WARNING

    def text(self) -> str:
        lines = [f"[{self.model}] {self.subject}"]
        if self.body:
            lines.append(self.body)
        return "\n".join(lines)
