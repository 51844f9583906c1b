"""Look up an Airflow connection without failing when it does not exist."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def optional_connection(conn_id: str | None) -> Any | None:
    if not conn_id:
        return None
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException, or no API server outside a task
        log.debug("connection %s not found; falling back to the environment", conn_id)
        return None


def connection_dict(conn_id: str) -> dict[str, Any] | None:
    """The fields a notifier needs, as a plain dict (include/ never sees Airflow objects)."""
    conn = optional_connection(conn_id)
    if conn is None:
        return None
    return {
        "host": conn.host,
        "port": conn.port,
        "login": conn.login,
        "password": conn.password,
        "extra": conn.extra_dejson,
    }
