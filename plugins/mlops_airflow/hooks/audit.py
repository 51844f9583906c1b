"""The deployment audit trail (``include.platform.audit.AuditStore``) on an Airflow connection."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseHook

from mlops_airflow.hooks.connections import optional_connection

log = logging.getLogger(__name__)

# libpq options that may be given in the connection's extras (anything else there is ignored).
_POSTGRES_QUERY_EXTRAS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
)


def url_from_connection(conn: Any) -> str:
    """The SQLAlchemy URL of an Airflow connection of type ``sqlite`` or ``postgres``.

    ``sqlite``: the database file is the host (Airflow's convention), else the schema;
    ``postgres``/``postgresql``: ``postgresql+psycopg2://login:password@host:port/schema``.
    The result holds the password: log ``safe_url(...)`` instead.
    """
    from sqlalchemy.engine import URL

    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        path = conn.host or conn.schema or ""
        if not path:
            raise ValueError(f"sqlite connection {conn.conn_id!r} has no database path (set host)")
        if path.startswith("sqlite:"):
            return path
        return f"sqlite:///{path}"
    if conn_type in {"postgres", "postgresql"}:
        extra = conn.extra_dejson or {}
        query = {key: str(extra[key]) for key in _POSTGRES_QUERY_EXTRAS if extra.get(key) not in (None, "")}
        url = URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=int(conn.port) if conn.port else None,
            database=conn.schema or None,
            query=query,
        )
        return url.render_as_string(hide_password=False)
    raise ValueError(
        f"connection {conn.conn_id!r} has conn_type {conn.conn_type!r}; the audit store needs 'sqlite' or 'postgres'"
    )


def safe_url(url: str) -> str:
    """``url`` with the password masked, for logs and error messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: show only the scheme
        return url.split("://", 1)[0] + "://***" if "://" in url else "***"


class AuditHook(BaseHook):
    """``include.platform.audit.AuditStore`` (migrated) on the database of ``audit_conn_id``.

    Without that connection, ``include.platform.audit.default_url()`` applies: ``$MLOPS_AUDIT_DB_URL``
    or the SQLite file ``$MLOPS_STATE_DIR/audit.db``.
    """

    conn_name_attr = "audit_conn_id"
    default_conn_name = "mlops_audit"
    hook_name = "MLOps audit trail"

    def __init__(self, *, audit_conn_id: str | None = default_conn_name) -> None:
        super().__init__()
        self.audit_conn_id = audit_conn_id

    def sqlalchemy_url(self) -> str:
        conn = optional_connection(self.audit_conn_id)
        if conn is not None:
            url = url_from_connection(conn)
            log.debug("audit store from connection %s: %s", self.audit_conn_id, safe_url(url))
            return url
        from include.platform.audit import default_url

        url = default_url()
        log.debug("no connection %s; audit store at %s", self.audit_conn_id, safe_url(url))
        return url

    def get_conn(self) -> Any:
        from include.platform.audit import AuditStore

        store = AuditStore(self.sqlalchemy_url())
        version = store.migrate()
        log.info("audit store %s at schema version %d", store.safe_url, version)
        return store
