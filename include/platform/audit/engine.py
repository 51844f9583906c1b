"""The audit database's engine: where it is, how it is opened, how transactions and locks work."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from include.errors import DatabaseUnavailable
from include.platform.audit.columns import json_text, jsonb_text

_SQLITE_BUSY_TIMEOUT_S = 30.0
_PROJECT_DIR = Path(__file__).resolve().parents[3]


def default_url() -> str:
    """``$MLOPS_AUDIT_DB_URL``, else the SQLite file ``$MLOPS_STATE_DIR/audit.db``."""
    url = os.environ.get("MLOPS_AUDIT_DB_URL")
    if url:
        return url
    state = os.environ.get("MLOPS_STATE_DIR") or str(_PROJECT_DIR / ".local")
    return f"sqlite:///{Path(state).resolve() / 'audit.db'}"


def audit_engine(url: sa.URL, engine_kwargs: dict[str, Any]) -> Engine:
    """An engine for the audit tables: JSON serialised for the backend; on SQLite a busy timeout,
    one shared in-memory database, and transactions that SQLAlchemy begins (see below)."""
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {"json_serializer": jsonb_text if backend == "postgresql" else json_text}
    if backend == "sqlite":
        database = url.database or ""
        memory = database in {"", ":memory:"} or database.startswith("file::memory:")
        kwargs["connect_args"] = {"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        if memory:
            kwargs["poolclass"] = sa.pool.StaticPool  # one shared in-memory database
        else:
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
    kwargs.update(engine_kwargs)
    engine = sa.create_engine(url, **kwargs)
    if backend == "sqlite":
        _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, issue BEGIN (so DDL stays inside transactions and
    write transactions can be ``BEGIN IMMEDIATE``); see SQLAlchemy's pysqlite documentation."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("mlops_sqlite_begin", "BEGIN"))


# SQLite's OperationalError also covers deterministic faults ("no such table", syntax): only
# these messages are the file being busy or unreachable.
_SQLITE_OUTAGES = ("database is locked", "unable to open database file", "disk i/o error", "database is busy")


def is_database_outage(error: BaseException) -> bool:
    """True when ``error`` says the database did not answer (refused, dropped connection, locked
    beyond the busy timeout), not that the statement was wrong."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.InterfaceError | exc.DisconnectionError):
        return True
    if not isinstance(error, exc.OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        return any(text in str(error.orig).lower() for text in _SQLITE_OUTAGES)
    return True  # PostgreSQL: connection refused/lost, database gone, admin shutdown, lock timeout


@contextlib.contextmanager
def audit_transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction. On SQLite a write transaction takes the write lock up front
    (``BEGIN IMMEDIATE``), so two writers queue on the busy timeout instead of failing
    with "database is locked" when a read lock cannot be upgraded.

    The one place where an outage becomes ``DatabaseUnavailable`` naming the database (password
    hidden): refused or lost connections, and SQLite locked beyond the busy timeout."""
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(mlops_sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin():
                yield conn
    except exc.DBAPIError as error:
        if not is_database_outage(error):
            raise
        detail = str(error.orig).strip().splitlines()[0][:300] if error.orig is not None else type(error).__name__
        raise DatabaseUnavailable(
            f"audit database {engine.url.render_as_string(hide_password=True)} did not answer: {detail}; "
            "retried with backoff"
        ) from error


def advisory_lock(conn: Connection, name: str) -> None:
    """Hold a transaction-scoped PostgreSQL advisory lock named ``name`` (no-op elsewhere:
    SQLite's write transactions already have one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(f"mlops-audit:{name}".encode()).digest()[:8], "big", signed=True)
