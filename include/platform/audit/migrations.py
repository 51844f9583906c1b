"""Versioned migrations of the audit database, recorded in ``ml_schema_version``.

Concurrent migrators (several workers starting at once) are serialised by the database: a
transaction-scoped advisory lock on PostgreSQL, a ``BEGIN IMMEDIATE`` write lock on SQLite;
both databases have transactional DDL, so a migration is applied completely or not at all,
and a process that lost the race finds the work done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from include.platform.audit.columns import utcnow
from include.platform.audit.engine import advisory_lock, audit_transaction
from include.platform.audit.schema import (
    SINGLE_HOLDER_STAGES,
    create_tables,
    schema_v1,
    schema_v3_claims,
    schema_v4_canary,
    schema_v5_ab,
    schema_version_table,
)

log = logging.getLogger(__name__)


def _migration_1(conn: Connection) -> None:
    md = sa.MetaData()
    create_tables(conn, *schema_v1(md))


def _migration_2(conn: Connection) -> None:
    md = sa.MetaData()
    _, registry = schema_v1(md)
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


def _migration_3(conn: Connection) -> None:
    create_tables(conn, schema_v3_claims(sa.MetaData()))


def _migration_4(conn: Connection) -> None:
    create_tables(conn, schema_v4_canary(sa.MetaData()))


def _migration_5(conn: Connection) -> None:
    create_tables(conn, schema_v5_ab(sa.MetaData()))


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "ml_deployments and ml_model_registry", _migration_1),
    Migration(2, "at most one version per model in each aliased stage (shadow, champion)", _migration_2),
    Migration(3, "ml_retrain_claims: one retrain per (model, run key) at a time", _migration_3),
    Migration(4, "ml_canary_steps: a canary challenger's share of entities, step by step", _migration_4),
    Migration(5, "ml_ab_decisions: an A/B test's decisions with their numbers", _migration_5),
)
LATEST_VERSION = MIGRATIONS[-1].version


def read_schema_version(engine: Engine) -> int:
    """The highest applied migration, 0 for an empty database."""
    for attempt in (1, 2):
        try:
            with audit_transaction(engine, write=False) as conn:
                return int(conn.execute(sa.select(sa.func.max(schema_version_table.c.version))).scalar() or 0)
        except exc.DBAPIError:
            if not sa.inspect(engine).has_table(schema_version_table.name):
                return 0
            if attempt == 2:
                raise
            # The table appeared between the failed read and the check: another process is
            # migrating right now. Read again; its transaction has committed.
    raise AssertionError("unreachable")


def apply_migrations(engine: Engine, safe_url: str, attempts: int) -> int:
    """Apply the migrations the database lacks, under the database's lock; returns the version."""
    for attempt in range(1, attempts + 1):
        try:
            with audit_transaction(engine, write=True) as conn:
                # Every migrator queues here until the previous one committed or rolled back.
                advisory_lock(conn, "migrate")
                return _apply_missing(conn, safe_url)
        except (exc.IntegrityError, exc.OperationalError, exc.ProgrammingError) as error:
            # Only reachable without the lock above (another backend, or a lock timeout):
            # another process created the same objects first. Its transaction committed, so
            # the next attempt sees its work.
            if attempt == attempts:
                raise
            log.warning(
                "audit db %s: migration attempt %d raced another process (%s); retrying",
                safe_url,
                attempt,
                type(error).__name__,
            )
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _apply_missing(conn: Connection, safe_url: str) -> int:
    conn.execute(sa.schema.CreateTable(schema_version_table, if_not_exists=True))
    done = set(conn.execute(sa.select(schema_version_table.c.version)).scalars())
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        log.info("audit db %s: applying migration %d (%s)", safe_url, migration.version, migration.description)
        migration.apply(conn)
        conn.execute(
            schema_version_table.insert().values(
                version=migration.version, description=migration.description, applied_at=utcnow()
            )
        )
    return max(done | {m.version for m in MIGRATIONS})
