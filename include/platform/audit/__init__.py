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

Migrations are a versioned list (``migrations.py``), applied by ``migrate()`` and recorded in
``ml_schema_version``. Concurrent ``migrate()`` calls (several workers starting at once) are
serialised by the database: a transaction-scoped advisory lock on PostgreSQL, a ``BEGIN
IMMEDIATE`` write lock on SQLite; both databases have transactional DDL, so a migration is
applied completely or not at all, and a process that lost the race finds the work done.

Timestamps are timezone-aware UTC datetimes. Versions are strings (as in MLflow).

Modules: ``columns`` (UTC timestamps, JSON documents), ``schema`` (tables, statuses), ``engine``
(URL, engine, transactions, locks), ``migrations``, ``rows`` (row writes inside a transaction),
``store`` (``AuditStore``), ``claims`` (``RetrainClaims``: one retrain per model and run key at
a time, table ``ml_retrain_claims``, migration 3).
"""

from __future__ import annotations

from include.platform.audit.columns import JSONDocument, UTCDateTime, utcnow
from include.platform.audit.engine import default_url
from include.platform.audit.migrations import LATEST_VERSION, MIGRATIONS, Migration
from include.platform.audit.schema import (
    FAILED,
    FINAL_STATUSES,
    PENDING,
    SINGLE_HOLDER_STAGES,
    STATUSES,
    SUCCEEDED,
    deployments_table,
    registry_table,
    schema_version_table,
)
from include.platform.audit.store import AuditStore

__all__ = [
    "FAILED",
    "FINAL_STATUSES",
    "LATEST_VERSION",
    "MIGRATIONS",
    "PENDING",
    "SINGLE_HOLDER_STAGES",
    "STATUSES",
    "SUCCEEDED",
    "AuditStore",
    "JSONDocument",
    "Migration",
    "UTCDateTime",
    "default_url",
    "deployments_table",
    "registry_table",
    "schema_version_table",
    "utcnow",
]
