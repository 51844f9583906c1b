"""Notifications to the targets a model config lists (log, file, webhook, Slack, SMTP).

Delivery problems are logged, never raised: a broken Slack webhook must not fail a pipeline
that otherwise worked. Secrets (webhook URLs, SMTP passwords) come from environment variables
or Airflow connections resolved by the caller (``resolve_connection``), never from the config.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import smtplib
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from include.config import ModelConfig, NotificationTarget

log = logging.getLogger(__name__)

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


def _file_target(target: NotificationTarget, note: Notification) -> str:
    directory = Path(os.environ.get("MLOPS_NOTIFY_DIR", ".local/notifications"))
    path = Path(target.path) if target.path else directory / f"{note.model}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **asdict(note)}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, default=str) + "\n")
    return str(path)


def _post_json(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload, default=str).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _url(target: NotificationTarget, resolve: ConnectionResolver | None) -> str:
    if target.url_env:
        url = os.environ.get(target.url_env)
        if not url:
            raise LookupError(f"environment variable {target.url_env} is not set")
        return url
    conn = resolve(target.conn_id) if (resolve and target.conn_id) else None
    if not conn:
        raise LookupError(f"connection {target.conn_id!r} not found")
    # Slack-style webhook connections keep the URL in host, the token part in password.
    host = conn.get("host") or ""
    if conn.get("password") and not host.rstrip("/").endswith(conn["password"]):
        host = host.rstrip("/") + "/" + conn["password"].lstrip("/")
    return host if host.startswith("http") else f"https://{host}"


def _smtp_target(target: NotificationTarget, note: Notification, resolve: ConnectionResolver | None) -> None:
    conn = (resolve(target.conn_id or "smtp_default") if resolve else None) or {}
    host = conn.get("host") or os.environ.get("MLOPS_SMTP_HOST")
    if not host:
        raise LookupError(f"no SMTP host: connection {target.conn_id or 'smtp_default'!r} or MLOPS_SMTP_HOST")
    message = EmailMessage()
    message["Subject"] = f"[mlops:{note.model}] {note.subject}"
    message["From"] = (conn.get("extra") or {}).get("from_email") or f"mlops@{host}"
    message["To"] = ", ".join(target.to)
    message.set_content(note.text() + "\n\n" + json.dumps(note.fields, indent=2, default=str))
    with smtplib.SMTP(host, int(conn.get("port") or 25), timeout=10) as smtp:
        if conn.get("login"):
            smtp.starttls()
            smtp.login(conn["login"], conn.get("password") or "")
        smtp.send_message(message)


def send(config: ModelConfig, note: Notification, resolve: ConnectionResolver | None = None) -> list[dict[str, Any]]:
    """Deliver to every target subscribed to the event; returns one outcome per target."""
    outcomes = []
    for target in config.notifications:
        if note.event not in target.events:
            continue
        outcome: dict[str, Any] = {"type": target.type, "ok": True}
        try:
            if target.type == "log":
                log.log(note.level, "%s | %s", note.text(), json.dumps(note.fields, default=str))
            elif target.type == "file":
                outcome["path"] = _file_target(target, note)
            elif target.type in ("webhook", "slack"):
                payload = {"text": note.text()} if target.type == "slack" else asdict(note)
                _post_json(_url(target, resolve), payload)
            elif target.type == "smtp":
                _smtp_target(target, note, resolve)
        except Exception as exc:  # delivery is best effort: report, do not fail the pipeline
            outcome = {"type": target.type, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            log.warning("notification to %s target failed: %s", target.type, outcome["error"])
        outcomes.append(outcome)
    return outcomes
