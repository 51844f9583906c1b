"""Notification target types: a name -> the function that delivers to a target of that type.

Adding a target type is one function here (or in a module imported here)::

    @notification_target("teams")
    def _teams(target: NotificationTarget, note: Notification, resolve: ConnectionResolver | None) -> None:
        _post_json(_url(target, resolve), {"text": note.text()})

after which a model config may list ``{type: teams, url_env: TEAMS_WEBHOOK_URL}``. A delivery
function raises on failure (``send`` turns that into a failed outcome) and may return extra
outcome fields (the ``file`` target returns its path). The built-in names are also listed in
``include.config.NOTIFY_TYPES``, which DAG files read at parse time without importing this.

Only the standard library, and only what every target needs, is imported at the top.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.errors import ConfigError
from include.notify.notification import ConnectionResolver, Notification

if TYPE_CHECKING:
    from include.config import NotificationTarget

log = logging.getLogger(__name__)

# target, notification, connection resolver -> extra outcome fields (or None).
Delivery = Callable[["NotificationTarget", Notification, ConnectionResolver | None], dict[str, Any] | None]

_DELIVERIES: dict[str, Delivery] = {}


def notification_target(name: str) -> Callable[[Delivery], Delivery]:
    """Register the decorated function as the delivery of target type ``name``."""

    def register(deliver: Delivery) -> Delivery:
        if name in _DELIVERIES:
            raise ConfigError(f"notification target type {name!r} is already registered")
        _DELIVERIES[name] = deliver
        return deliver

    return register


def target_types() -> tuple[str, ...]:
    """The registered target types, in registration order (the built-ins first)."""
    return tuple(_DELIVERIES)


def delivery_for(name: str) -> Delivery:
    try:
        return _DELIVERIES[name]
    except KeyError:
        raise ConfigError(f"no notification target type {name!r}; registered: {list(_DELIVERIES)}") from None


# -- built-in targets (include.config.NOTIFY_TYPES) ---------------------------------------------
@notification_target("log")
def _log(target: NotificationTarget, note: Notification, resolve: ConnectionResolver | None) -> None:
    # The fields on a line of their own, after the body (not glued to its last line).
    log.log(note.level, "%s\nfields: %s", note.text(), json.dumps(note.fields, default=str))


@notification_target("file")
def _file(target: NotificationTarget, note: Notification, resolve: ConnectionResolver | None) -> dict[str, Any]:
    directory = Path(os.environ.get("MLOPS_NOTIFY_DIR", ".local/notifications"))
    path = Path(target.path) if target.path else directory / f"{note.model}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **asdict(note)}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, default=str) + "\n")
    return {"path": str(path)}


@notification_target("webhook")
def _webhook(target: NotificationTarget, note: Notification, resolve: ConnectionResolver | None) -> None:
    _post_json(_url(target, resolve), asdict(note))


@notification_target("smtp")
def _smtp(target: NotificationTarget, note: Notification, resolve: ConnectionResolver | None) -> None:
    import smtplib
    from email.message import EmailMessage

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


@notification_target("slack")
def _slack(target: NotificationTarget, note: Notification, resolve: ConnectionResolver | None) -> None:
    _post_json(_url(target, resolve), {"text": note.text()})


# -- helpers for HTTP targets -------------------------------------------------------------------
def _post_json(url: str, payload: dict[str, Any]) -> None:
    import urllib.request

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
