"""``AuditStore``: the deployment audit trail at a SQLAlchemy URL (see the package docstring)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection

from include.errors import AuditError
from include.platform.audit.columns import utcnow
from include.platform.audit.engine import advisory_lock, audit_engine, audit_transaction, default_url
from include.platform.audit.migrations import LATEST_VERSION, apply_migrations, read_schema_version
from include.platform.audit.rows import (
    check_audit_stage,
    deployment_dict,
    dialect_insert,
    finish_deployment,
    insert_deployment,
    supersede_holders,
    version_sort_key,
)
from include.platform.audit.schema import (
    FINAL_STATUSES,
    PENDING,
    SINGLE_HOLDER_STAGES,
    SUCCEEDED,
    deployments_table,
    registry_table,
    schema_version_table,
)
from include.platform.stages import ARCHIVED

log = logging.getLogger(__name__)


class _Lost(Exception):
    """The compare-and-set found another stage: roll back and report False."""


class AuditStore:
    """The deployment audit trail at a SQLAlchemy URL (see the package docstring)."""

    def __init__(self, url: str | sa.URL | None = None, *, read_only: bool = False, **engine_kwargs: Any) -> None:
        """``read_only``: the readers read the database as it is and never migrate it (the Model
        health view must not create or change tables); writers still migrate first."""
        self.url = sa.make_url(url or default_url())
        self.engine = audit_engine(self.url, engine_kwargs)
        self.dialect = self.engine.dialect.name
        self.read_only = read_only
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

    # -- migrations --------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The highest applied migration, 0 for an empty database."""
        return read_schema_version(self.engine)

    def applied_migrations(self) -> list[dict[str, Any]]:
        with audit_transaction(self.engine, write=False) as conn:
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
                current = apply_migrations(self.engine, self.safe_url, attempts)
            if current > LATEST_VERSION:
                raise AuditError(
                    f"audit database {self.safe_url} is at schema version {current}, newer than this code "
                    f"({LATEST_VERSION}): upgrade the project"
                )
            self._migrated = True
            return current

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
        with audit_transaction(self.engine, write=True) as conn:
            return insert_deployment(conn, model, version, from_stage, to_stage, actor, reason, evidence)

    def finish(
        self, deployment_id: int, status: str, error: str | None = None, *, supersede_to: str = ARCHIVED
    ) -> None:
        """Close a pending deployment. ``succeeded`` also sets the version's stage (and moves the
        previous holder of an aliased stage to ``supersede_to``).

        Finishing again with the same status is a no-op (task retries); another status is an error.
        """
        if status not in FINAL_STATUSES:
            raise AuditError(f"finish status must be one of {list(FINAL_STATUSES)}, not {status!r}")
        self.migrate()
        with audit_transaction(self.engine, write=True) as conn:
            row = self._deployment_row(conn, deployment_id)
            self._lock_model(conn, row["model"])
            row = self._deployment_row(conn, deployment_id, for_update=True)
            if row["status"] == status:
                return
            if row["status"] != PENDING:
                raise AuditError(
                    f"deployment {deployment_id} already finished as {row['status']!r}; cannot mark it {status!r}"
                )
            finish_deployment(conn, row, status, error, supersede_to)

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
        with audit_transaction(self.engine, write=True) as conn:
            self._lock_model(conn, model)
            deployment_id = insert_deployment(conn, model, version, from_stage, to_stage, actor, reason, evidence)
            finish_deployment(conn, self._deployment_row(conn, deployment_id), SUCCEEDED, None)
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
        check_audit_stage(new_stage)
        if expected_stage is not None:
            check_audit_stage(expected_stage)
        self.migrate()
        r = registry_table.c
        try:
            with audit_transaction(self.engine, write=True) as conn:
                self._lock_model(conn, model)
                key = (r.model == model) & (r.version == version)
                query = sa.select(r.stage).where(key)
                if self.dialect == "postgresql":
                    query = query.with_for_update()
                if conn.execute(query).scalar() != expected_stage:
                    raise _Lost
                deployment_id = insert_deployment(
                    conn, model, version, expected_stage, new_stage, actor, reason, evidence, status=SUCCEEDED
                )
                supersede_holders(conn, model, version, new_stage, deployment_id, actor)
                now = utcnow()
                values = {"stage": new_stage, "updated_at": now, "deployment_id": deployment_id}
                if expected_stage is None:
                    result = conn.execute(
                        dialect_insert(conn, registry_table)
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

    def claim(
        self,
        model: str,
        version: str | int,
        expected_stage: str | None,
        new_stage: str,
        *,
        holders: Mapping[str, str | None] | None = None,
        actor: str = "",
        reason: str = "",
        evidence: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Claim a move: a ``pending`` deployment, only if the version's stored stage is
        ``expected_stage``, every ``holders`` stage is held by the given version (None: by
        none) and no conflicting move is pending (one of the same version, or one taking or
        leaving the same aliased stage). Returns its ``deployment_id``, or None
        (nothing written) when a check failed, e.g. a concurrent promotion claimed first.

        The checks and the insert are one write transaction (SQLite: ``BEGIN IMMEDIATE``;
        PostgreSQL: the model's advisory lock), so of two concurrent claims exactly one wins.
        The stage changes only when the claim is finished ``succeeded``; a claim left pending by
        a dead worker is settled by ``include.deploy.reconcile``.
        """
        version = str(version)
        check_audit_stage(new_stage)
        self.migrate()
        r, d = registry_table.c, deployments_table.c
        with audit_transaction(self.engine, write=True) as conn:
            self._lock_model(conn, model)
            stages = dict(conn.execute(sa.select(r.version, r.stage).where(r.model == model)).all())
            if stages.get(version) != expected_stage:
                return None
            for stage, holder in (holders or {}).items():
                held = sorted(v for v, s in stages.items() if s == stage)
                if held != ([str(holder)] if holder is not None else []):
                    return None
            pending = conn.execute(
                sa.select(d.version, d.from_stage, d.to_stage).where((d.model == model) & (d.status == PENDING))
            ).all()
            slots = {expected_stage, new_stage} & set(SINGLE_HOLDER_STAGES)
            if any(p.version == version or slots & {p.from_stage, p.to_stage} for p in pending):
                return None
            return insert_deployment(conn, model, version, expected_stage, new_stage, actor, reason, evidence)

    # -- reading -----------------------------------------------------------------------------
    def history(
        self, model: str, version: str | int | None = None, limit: int | None = None, actor: str | None = None
    ) -> list[dict[str, Any]]:
        """Deployments of a model (or one version; or those one actor, e.g. a DAG run, made),
        newest first."""
        d = deployments_table.c
        query = sa.select(deployments_table).where(d.model == model)
        if version is not None:
            query = query.where(d.version == str(version))
        if actor is not None:
            query = query.where(d.actor == actor)
        query = query.order_by(d.created_at.desc(), d.deployment_id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [deployment_dict(row) for row in conn.execute(query)]

    def get(self, deployment_id: int) -> dict[str, Any]:
        with self._read() as conn:
            return self._deployment_row(conn, deployment_id)

    def pending(self, model: str) -> list[dict[str, Any]]:
        """The model's deployments still ``pending`` (claimed moves not finished), oldest first."""
        d = deployments_table.c
        query = sa.select(deployments_table).where((d.model == model) & (d.status == PENDING))
        with self._read() as conn:
            return [deployment_dict(row) for row in conn.execute(query.order_by(d.deployment_id))]

    def stage_of(self, model: str, version: str | int) -> str | None:
        r = registry_table.c
        with self._read() as conn:
            return conn.execute(sa.select(r.stage).where((r.model == model) & (r.version == str(version)))).scalar()

    def current(self, model: str) -> dict[str, str]:
        """``{version: stage}`` for every version of the model in the table."""
        r = registry_table.c
        with self._read() as conn:
            rows = conn.execute(sa.select(r.version, r.stage).where(r.model == model)).all()
        return {v: s for v, s in sorted(rows, key=lambda row: version_sort_key(row[0]))}

    def registry_rows(self, model: str) -> list[dict[str, Any]]:
        r = registry_table.c
        with self._read() as conn:
            rows = conn.execute(sa.select(registry_table).where(r.model == model)).all()
        return sorted((dict(row._mapping) for row in rows), key=lambda row: version_sort_key(row["version"]))

    def reconcile(self, model: str, registry_stages: Mapping[str | int, str | None]) -> list[dict[str, Any]]:
        """Where the table and ``registry_stages`` (``{version: stage}``, e.g. from MLflow's
        ``mlops.stage`` tags) disagree: ``[{"version", "audit", "registry"}]``, a side that does
        not know the version shows None. An empty list means they agree."""
        ours = self.current(model)
        theirs = {str(v): s for v, s in registry_stages.items()}
        return [
            {"model": model, "version": v, "audit": ours.get(v), "registry": theirs.get(v)}
            for v in sorted(set(ours) | set(theirs), key=version_sort_key)
            if ours.get(v) != theirs.get(v)
        ]

    # -- internals ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        if not self.read_only:
            self.migrate()
        with audit_transaction(self.engine, write=False) as conn:
            yield conn

    def _lock_model(self, conn: Connection, model: str) -> None:
        """Serialise writers of one model's rows (PostgreSQL; SQLite already has one writer)."""
        advisory_lock(conn, f"model:{model}")

    def _deployment_row(self, conn: Connection, deployment_id: int, *, for_update: bool = False) -> dict[str, Any]:
        query = sa.select(deployments_table).where(deployments_table.c.deployment_id == deployment_id)
        if for_update and self.dialect == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise AuditError(f"no deployment {deployment_id} in {self.safe_url}")
        return deployment_dict(row)
