"""The audit tables (latest schema) and the frozen schema version 1 the migrations build on."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from include.platform.audit.columns import JSONDocument, UTCDateTime
from include.platform.stages import ALIAS_FOR_STAGE

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
STATUSES = (PENDING, SUCCEEDED, FAILED)
FINAL_STATUSES = (SUCCEEDED, FAILED)
SINGLE_HOLDER_STAGES = tuple(ALIAS_FOR_STAGE)  # shadow, champion: at most one version each

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid on SQLite


def schema_v1(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
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


CLAIM_TRAINING, CLAIM_REGISTERING, CLAIM_REGISTERED = "training", "registering", "registered"
CLAIM_STATUSES = (CLAIM_TRAINING, CLAIM_REGISTERING, CLAIM_REGISTERED)


def schema_v3_claims(metadata: sa.MetaData) -> sa.Table:
    """Schema version 3, frozen: one retrain claim per (model, run key), the idempotency key of
    a retrain (same window, data and config), held by one DAG run under a lease."""
    return sa.Table(
        "ml_retrain_claims",
        metadata,
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("run_key", sa.String(500), primary_key=True),  # the primary key is the unique claim
        sa.Column("claimed_by", sa.String(500), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("takeovers", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("status IN ('training', 'registering', 'registered')", name="ck_ml_retrain_claims_status"),
    )


CANARY_RUNNING, CANARY_HALTED = "running", "halted"
CANARY_STATUSES = (CANARY_RUNNING, CANARY_HALTED)


def schema_v4_canary(metadata: sa.MetaData) -> sa.Table:
    """Schema version 4, frozen: the canary steps of a challenger, one row per decision (an
    advance to the next share, or a halt), newest last; the latest row of a version is its state
    (no row: the ramp's first share)."""
    table = sa.Table(
        "ml_canary_steps",
        metadata,
        sa.Column("step_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(500), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("evidence", JSONDocument(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'halted')", name="ck_ml_canary_steps_status"),
        sa.CheckConstraint("share >= 0 AND share <= 1", name="ck_ml_canary_steps_share"),
        sqlite_autoincrement=True,
    )
    sa.Index("ix_ml_canary_steps_model_version", table.c.model, table.c.version)
    return table


# An A/B test's decision at each promote run (include/deploy/experiment/decision.py names them).
AB_OUTCOMES = ("keep_running", "promote", "reject")


def schema_v5_ab(metadata: sa.MetaData) -> sa.Table:
    """Schema version 5, frozen: the decisions of an A/B test, one row per promote run (keep
    running while the outcomes are short of the plan, then promote or reject once), with the
    numbers (plan, per-arm outcomes, interval, p-value) in ``evidence``."""
    table = sa.Table(
        "ml_ab_decisions",
        metadata,
        sa.Column("decision_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(500), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("evidence", JSONDocument(), nullable=True),
        sa.CheckConstraint("outcome IN ('keep_running', 'promote', 'reject')", name="ck_ml_ab_decisions_outcome"),
        sqlite_autoincrement=True,
    )
    sa.Index("ix_ml_ab_decisions_model_version", table.c.model, table.c.version)
    return table


_metadata = sa.MetaData()
# The tables as queried (latest schema): version 1 plus indexes (2) plus the claims (3) plus the
# canary steps (4) plus the A/B decisions (5).
deployments_table, registry_table = schema_v1(_metadata)
claims_table = schema_v3_claims(_metadata)
canary_table = schema_v4_canary(_metadata)
ab_table = schema_v5_ab(_metadata)
schema_version_table = sa.Table(
    "ml_schema_version",
    _metadata,
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("applied_at", UTCDateTime(), nullable=False),
)


def create_tables(conn: Connection, *tables: sa.Table) -> None:
    for table in tables:
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
