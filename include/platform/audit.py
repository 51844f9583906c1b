"""The deployment audit trail in a real database (SQLite by default, PostgreSQL in production).

Two tables, written with SQLAlchemy Core:

``ml_deployments``
    one row per attempted move of a model version: who (``actor``, e.g. the DAG run), why
    (``reason``), on what evidence (JSON), from which stage to which, and how it ended
    (``status``: ``pending`` -> ``succeeded`` | ``failed``, with ``error``).
``ml_model_registry``
    the stage each version is in according to the trail, primary key ``(model, version)``,
    with the ``deployment_id`` of the last successful change.

MLflow stays the source of truth for serving; this trail is what an auditor reads, and
``reconcile`` tells whether the two agree. Like ``ModelRegistry.record_move``, a version
entering an aliased stage (``shadow`` = challenger, ``champion``) pushes the previous holder
to ``archived``, and the database refuses two holders (partial unique index).

Migrations are a versioned list in this module, applied by ``migrate()`` and recorded in
``ml_schema_version``. Concurrent ``migrate()`` calls (several workers starting at once) are
serialised by the database: a transaction-scoped advisory lock on PostgreSQL, a ``BEGIN
IMMEDIATE`` write lock on SQLite; both databases have transactional DDL, so a migration is
applied completely or not at all, and a process that lost the race finds the work done.

Timestamps are timezone-aware UTC datetimes. Versions are strings (as in MLflow).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from include.errors import AuditError
from include.platform.stages import ALIAS_FOR_STAGE, ARCHIVED, STAGES

log = logging.getLogger(__name__)

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
STATUSES = (PENDING, SUCCEEDED, FAILED)
FINAL_STATUSES = (SUCCEEDED, FAILED)
SINGLE_HOLDER_STAGES = tuple(ALIAS_FOR_STAGE)  # shadow, champion: at most one version each

_ERROR_LIMIT = 8000
_SQLITE_BUSY_TIMEOUT_S = 30.0


def default_url() -> str:
    """``$MLOPS_AUDIT_DB_URL``, else the SQLite file ``$MLOPS_STATE_DIR/audit.db``."""
    url = os.environ.get("MLOPS_AUDIT_DB_URL")
    if url:
        return url
    state = os.environ.get("MLOPS_STATE_DIR") or str(Path(__file__).resolve().parents[2] / ".local")
    return f"sqlite:///{Path(state).resolve() / 'audit.db'}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- column types ----------------------------------------------------------------------------
class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out (TIMESTAMPTZ on PostgreSQL, text on SQLite)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the audit trail stores UTC-aware timestamps")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, non-finite floats as strings (JSON has none)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return _jsonable(value.item())
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy array
        return _jsonable(value.tolist())
    raise TypeError(f"evidence value of type {type(value).__name__} is not JSON serialisable: {value!r:.200}")


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _dumps_for_jsonb(value: Any) -> str:
    """JSON for a JSONB column. JSONB keeps numbers as ``numeric``, which prints ``6.02e+23`` as
    ``602000000000000000000000``: that would come back as an int. Large floats are therefore
    written as their exact integer digits plus ``.0``, which comes back as the same float."""
    return _encode_exact(_jsonable(value))


def _encode_exact(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)
        return f"{int(value)}.0" if "e+" in text else text
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}:{_encode_exact(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode_exact(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class JSONDocument(TypeDecorator):
    """JSON: ``JSONB`` on PostgreSQL, ``TEXT`` elsewhere (SQLite's ``JSON`` type name has numeric affinity)."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return _jsonable(value)  # JSONB's bind processor serialises, with _dumps_for_jsonb (see engine)
        return _dumps(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, (str, bytes)) and dialect.name != "postgresql":
            return json.loads(value)
        return value


# -- schema ----------------------------------------------------------------------------------
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid on SQLite


def _schema_v1(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Schema version 1, frozen: a later migration adds to it, it never edits this function."""
    deployments = sa.Table(
        "ml_deployments",
        metadata,
        sa.Column("deployment_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("from_stage", sa.String(32), nullable=True),
        sa.Column("to_stage", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("actor", sa.String(500), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("evidence", JSONDocument(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="ck_ml_deployments_status"),
        sqlite_autoincrement=True,  # ids never reused: they are quoted in MLflow tags and logs
    )
    sa.Index("ix_ml_deployments_model_version", deployments.c.model, deployments.c.version)
    registry = sa.Table(
        "ml_model_registry",
        metadata,
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deployment_id", _ID, sa.ForeignKey("ml_deployments.deployment_id"), nullable=True),
    )
    return deployments, registry


_metadata = sa.MetaData()
# The tables as queried (latest schema). Today that is exactly version 1 plus indexes.
deployments_table, registry_table = _schema_v1(_metadata)
schema_version_table = sa.Table(
    "ml_schema_version",
    _metadata,
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("applied_at", UTCDateTime(), nullable=False),
)


def _create_tables(conn: Connection, *tables: sa.Table) -> None:
    for table in tables:
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _migration_1(conn: Connection) -> None:
    md = sa.MetaData()
    _create_tables(conn, *_schema_v1(md))


def _migration_2(conn: Connection) -> None:
    md = sa.MetaData()
    _, registry = _schema_v1(md)
    for stage in SINGLE_HOLDER_STAGES:
        where = registry.c.stage == sa.literal_column(f"'{stage}'")
        index = sa.Index(
            f"ux_ml_model_registry_one_{stage}",
            registry.c.model,
            unique=True,
            postgresql_where=where,
            sqlite_where=where,
        )
        conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "ml_deployments and ml_model_registry", _migration_1),
    Migration(2, "at most one version per model in each aliased stage (shadow, champion)", _migration_2),
)
LATEST_VERSION = MIGRATIONS[-1].version


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(f"mlops-audit:{name}".encode()).digest()[:8], "big", signed=True)


class _Lost(Exception):
    """The compare-and-set found another stage: roll back and report False."""


# -- the store -------------------------------------------------------------------------------
class AuditStore:
    """The deployment audit trail at a SQLAlchemy URL (see the module docstring)."""

    def __init__(self, url: str | sa.URL | None = None, **engine_kwargs: Any) -> None:
        self.url = sa.make_url(url or default_url())
        self.engine = self._make_engine(self.url, engine_kwargs)
        self.dialect = self.engine.dialect.name
        self._migrated = False
        self._migrate_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AuditStore({self.safe_url!r})"

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- engine and transactions -------------------------------------------------------------
    @staticmethod
    def _make_engine(url: sa.URL, engine_kwargs: dict[str, Any]) -> Engine:
        backend = url.get_backend_name()
        kwargs: dict[str, Any] = {"json_serializer": _dumps_for_jsonb if backend == "postgresql" else _dumps}
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

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction. On SQLite a write transaction takes the write lock up front
        (``BEGIN IMMEDIATE``), so two writers queue on the busy timeout instead of failing
        with "database is locked" when a read lock cannot be upgraded."""
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(mlops_sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin():
                yield conn

    def _lock_model(self, conn: Connection, model: str) -> None:
        """Serialise writers of one model's rows (PostgreSQL; SQLite already has one writer)."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(f"model:{model}")})

    # -- migrations --------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The highest applied migration, 0 for an empty database."""
        for attempt in (1, 2):
            try:
                with self._transaction(write=False) as conn:
                    return int(conn.execute(sa.select(sa.func.max(schema_version_table.c.version))).scalar() or 0)
            except exc.DBAPIError:
                if not sa.inspect(self.engine).has_table(schema_version_table.name):
                    return 0
                if attempt == 2:
                    raise
                # The table appeared between the failed read and the check: another process is
                # migrating right now. Read again; its transaction has committed.
        raise AssertionError("unreachable")

    def applied_migrations(self) -> list[dict[str, Any]]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(sa.select(schema_version_table).order_by(schema_version_table.c.version))
            return [dict(r._mapping) for r in rows]

    def migrate(self, *, attempts: int = 5) -> int:
        """Apply the migrations this database lacks; safe to call from many processes at once.

        Returns the schema version. A database newer than this code is left alone (error).
        """
        with self._migrate_lock:
            if self._migrated:
                return LATEST_VERSION
            current = self.schema_version()
            if current < LATEST_VERSION:
                current = self._migrate_locked(attempts)
            if current > LATEST_VERSION:
                raise AuditError(
                    f"audit database {self.safe_url} is at schema version {current}, newer than this code "
                    f"({LATEST_VERSION}): upgrade the project"
                )
            self._migrated = True
            return current

    def _migrate_locked(self, attempts: int) -> int:
        for attempt in range(1, attempts + 1):
            try:
                with self._transaction(write=True) as conn:
                    if self.dialect == "postgresql":
                        # Every migrator queues here until the previous one committed or rolled back.
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key("migrate")})
                    conn.execute(sa.schema.CreateTable(schema_version_table, if_not_exists=True))
                    done = set(conn.execute(sa.select(schema_version_table.c.version)).scalars())
                    for migration in MIGRATIONS:
                        if migration.version in done:
                            continue
                        log.info(
                            "audit db %s: applying migration %d (%s)",
                            self.safe_url,
                            migration.version,
                            migration.description,
                        )
                        migration.apply(conn)
                        conn.execute(
                            schema_version_table.insert().values(
                                version=migration.version, description=migration.description, applied_at=utcnow()
                            )
                        )
                    return max(done | {m.version for m in MIGRATIONS})
            except (exc.IntegrityError, exc.OperationalError, exc.ProgrammingError) as error:
                # Only reachable without the lock above (another backend, or a lock timeout):
                # another process created the same objects first. Its transaction committed, so
                # the next attempt sees its work.
                if attempt == attempts:
                    raise
                log.warning(
                    "audit db %s: migration attempt %d raced another process (%s); retrying",
                    self.safe_url,
                    attempt,
                    type(error).__name__,
                )
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    # -- writing -----------------------------------------------------------------------------
    def begin(
        self,
        model: str,
        version: str | int,
        from_stage: str | None,
        to_stage: str,
        actor: str = "",
        reason: str = "",
        evidence: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a move that is starting (status ``pending``); returns its ``deployment_id``."""
        self.migrate()
        with self._transaction(write=True) as conn:
            return self._insert_deployment(conn, model, version, from_stage, to_stage, actor, reason, evidence)

    def finish(self, deployment_id: int, status: str, error: str | None = None) -> None:
        """Close a pending deployment. ``succeeded`` also sets the version's stage.

        Finishing again with the same status is a no-op (task retries); another status is an error.
        """
        if status not in FINAL_STATUSES:
            raise AuditError(f"finish status must be one of {list(FINAL_STATUSES)}, not {status!r}")
        self.migrate()
        with self._transaction(write=True) as conn:
            row = self._deployment_row(conn, deployment_id)
            self._lock_model(conn, row["model"])
            row = self._deployment_row(conn, deployment_id, for_update=True)
            if row["status"] == status:
                return
            if row["status"] != PENDING:
                raise AuditError(
                    f"deployment {deployment_id} already finished as {row['status']!r}; cannot mark it {status!r}"
                )
            self._finish(conn, row, status, error)

    def record(
        self,
        model: str,
        version: str | int,
        from_stage: str | None,
        to_stage: str,
        actor: str = "",
        reason: str = "",
        evidence: Mapping[str, Any] | None = None,
    ) -> int:
        """A move that already happened: ``begin`` + ``finish(succeeded)`` in one transaction."""
        self.migrate()
        with self._transaction(write=True) as conn:
            self._lock_model(conn, model)
            deployment_id = self._insert_deployment(conn, model, version, from_stage, to_stage, actor, reason, evidence)
            self._finish(conn, self._deployment_row(conn, deployment_id), SUCCEEDED, None)
            return deployment_id

    def compare_and_set_stage(
        self,
        model: str,
        version: str | int,
        expected_stage: str | None,
        new_stage: str,
        actor: str = "",
        reason: str = "",
        evidence: Mapping[str, Any] | None = None,
    ) -> bool:
        """Move the version to ``new_stage`` only if its stored stage is ``expected_stage``.

        ``expected_stage=None`` means "not in the table yet". Returns True and records a
        succeeded deployment when this call made the move; returns False, changing nothing,
        when the stage was different (e.g. a concurrent promotion got there first). The check
        and the update are one statement (``UPDATE ... WHERE stage = :expected`` + rowcount);
        on PostgreSQL the row is also locked first (``SELECT ... FOR UPDATE``).
        """
        version = str(version)
        _check_stage(new_stage)
        if expected_stage is not None:
            _check_stage(expected_stage)
        self.migrate()
        r = registry_table.c
        try:
            with self._transaction(write=True) as conn:
                self._lock_model(conn, model)
                key = (r.model == model) & (r.version == version)
                query = sa.select(r.stage).where(key)
                if self.dialect == "postgresql":
                    query = query.with_for_update()
                if conn.execute(query).scalar() != expected_stage:
                    raise _Lost
                deployment_id = self._insert_deployment(
                    conn, model, version, expected_stage, new_stage, actor, reason, evidence, status=SUCCEEDED
                )
                self._supersede(conn, model, version, new_stage, deployment_id, actor)
                now = utcnow()
                values = {"stage": new_stage, "updated_at": now, "deployment_id": deployment_id}
                if expected_stage is None:
                    result = conn.execute(
                        self._insert(registry_table)
                        .values(model=model, version=version, **values)
                        .on_conflict_do_nothing(index_elements=["model", "version"])
                    )
                else:
                    result = conn.execute(
                        registry_table.update().where(key & (r.stage == expected_stage)).values(**values)
                    )
                if result.rowcount != 1:
                    raise _Lost
        except _Lost:
            return False
        except exc.IntegrityError:
            # Another transaction made a different version the single holder of new_stage.
            log.info("compare_and_set_stage %s v%s -> %s lost to a concurrent move", model, version, new_stage)
            return False
        return True

    # -- reading -----------------------------------------------------------------------------
    def history(self, model: str, version: str | int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Deployments of a model (or one version), newest first."""
        d = deployments_table.c
        query = sa.select(deployments_table).where(d.model == model)
        if version is not None:
            query = query.where(d.version == str(version))
        query = query.order_by(d.created_at.desc(), d.deployment_id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [_deployment_dict(row) for row in conn.execute(query)]

    def get(self, deployment_id: int) -> dict[str, Any]:
        with self._read() as conn:
            return self._deployment_row(conn, deployment_id)

    def stage_of(self, model: str, version: str | int) -> str | None:
        r = registry_table.c
        with self._read() as conn:
            return conn.execute(sa.select(r.stage).where((r.model == model) & (r.version == str(version)))).scalar()

    def current(self, model: str) -> dict[str, str]:
        """``{version: stage}`` for every version of the model in the table."""
        r = registry_table.c
        with self._read() as conn:
            rows = conn.execute(sa.select(r.version, r.stage).where(r.model == model)).all()
        return {v: s for v, s in sorted(rows, key=lambda row: _version_key(row[0]))}

    def registry_rows(self, model: str) -> list[dict[str, Any]]:
        r = registry_table.c
        with self._read() as conn:
            rows = conn.execute(sa.select(registry_table).where(r.model == model)).all()
        return sorted((dict(row._mapping) for row in rows), key=lambda row: _version_key(row["version"]))

    def reconcile(self, model: str, registry_stages: Mapping[str | int, str | None]) -> list[dict[str, Any]]:
        """Where the table and ``registry_stages`` (``{version: stage}``, e.g. from MLflow's
        ``mlops.stage`` tags) disagree: ``[{"version", "audit", "registry"}]``, a side that does
        not know the version shows None. An empty list means they agree."""
        ours = self.current(model)
        theirs = {str(v): s for v, s in registry_stages.items()}
        return [
            {"model": model, "version": v, "audit": ours.get(v), "registry": theirs.get(v)}
            for v in sorted(set(ours) | set(theirs), key=_version_key)
            if ours.get(v) != theirs.get(v)
        ]

    # -- internals ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        self.migrate()
        with self._transaction(write=False) as conn:
            yield conn

    def _insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        if self.dialect == "sqlite":
            return sqlite_dialect.insert(table)
        raise AuditError(f"audit store supports sqlite and postgresql, not {self.dialect}")

    def _insert_deployment(
        self,
        conn: Connection,
        model: str,
        version: str | int,
        from_stage: str | None,
        to_stage: str,
        actor: str,
        reason: str,
        evidence: Mapping[str, Any] | None,
        status: str = PENDING,
    ) -> int:
        if not model:
            raise AuditError("model name is empty")
        _check_stage(to_stage)
        if from_stage is not None:
            _check_stage(from_stage)
        if evidence is not None and not isinstance(evidence, Mapping):
            raise TypeError(f"evidence must be a mapping, not {type(evidence).__name__}")
        evidence = _jsonable(evidence or {})  # fail here, with a clear TypeError, not inside the driver
        now = utcnow()
        result = conn.execute(
            deployments_table.insert()
            .values(
                model=model,
                version=str(version),
                from_stage=from_stage,
                to_stage=to_stage,
                created_at=now,
                finished_at=now if status != PENDING else None,
                actor=actor or "",
                reason=reason or "",
                evidence=evidence,
                status=status,
            )
            .returning(deployments_table.c.deployment_id)
        )
        return int(result.scalar_one())

    def _deployment_row(self, conn: Connection, deployment_id: int, *, for_update: bool = False) -> dict[str, Any]:
        query = sa.select(deployments_table).where(deployments_table.c.deployment_id == deployment_id)
        if for_update and self.dialect == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise AuditError(f"no deployment {deployment_id} in {self.safe_url}")
        return _deployment_dict(row)

    def _finish(self, conn: Connection, row: dict[str, Any], status: str, error: str | None) -> None:
        now = utcnow()
        conn.execute(
            deployments_table.update()
            .where(deployments_table.c.deployment_id == row["deployment_id"])
            .values(status=status, finished_at=now, error=(error or None) and str(error)[:_ERROR_LIMIT])
        )
        if status != SUCCEEDED:
            return
        model, version, stage = row["model"], row["version"], row["to_stage"]
        self._supersede(conn, model, version, stage, row["deployment_id"], row["actor"])
        values = {"stage": stage, "updated_at": now, "deployment_id": row["deployment_id"]}
        conn.execute(
            self._insert(registry_table)
            .values(model=model, version=version, **values)
            .on_conflict_do_update(index_elements=["model", "version"], set_=values)
        )

    def _supersede(self, conn: Connection, model: str, version: str, stage: str, by: int, actor: str) -> None:
        """The previous holder of an aliased stage moves to archived (as ModelRegistry.record_move does)."""
        if stage not in SINGLE_HOLDER_STAGES:
            return
        r = registry_table.c
        holders = conn.execute(
            sa.select(r.version).where((r.model == model) & (r.stage == stage) & (r.version != version))
        ).scalars()
        for holder in list(holders):
            moved = self._insert_deployment(
                conn,
                model,
                holder,
                stage,
                ARCHIVED,
                actor,
                f"superseded by v{version}",
                {"superseded_by_deployment": by, "superseded_by_version": version},
                status=SUCCEEDED,
            )
            conn.execute(
                registry_table.update()
                .where((r.model == model) & (r.version == holder) & (r.stage == stage))
                .values(stage=ARCHIVED, updated_at=utcnow(), deployment_id=moved)
            )


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


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise AuditError(f"unknown stage {stage!r}; stages: {list(STAGES)}")


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if str(version).isdigit() else (1, str(version))


def _deployment_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["evidence"] = data.get("evidence") or {}
    return data
