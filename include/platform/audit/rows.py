"""Row-level writes and reads shared by the store's operations, each inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from include.errors import AuditError
from include.platform.audit.columns import jsonable, utcnow
from include.platform.audit.schema import PENDING, SINGLE_HOLDER_STAGES, SUCCEEDED, deployments_table, registry_table
from include.platform.stages import ARCHIVED, STAGES

_ERROR_LIMIT = 8000


def check_audit_stage(stage: str) -> None:
    if stage not in STAGES:
        raise AuditError(f"unknown stage {stage!r}; stages: {list(STAGES)}")


def version_sort_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if str(version).isdigit() else (1, str(version))


def deployment_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["evidence"] = data.get("evidence") or {}
    return data


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """INSERT with the dialect's ON CONFLICT clauses."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite_dialect.insert(table)
    raise AuditError(f"audit store supports sqlite and postgresql, not {conn.dialect.name}")


def insert_deployment(
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
    check_audit_stage(to_stage)
    if from_stage is not None:
        check_audit_stage(from_stage)
    if evidence is not None and not isinstance(evidence, Mapping):
        raise TypeError(f"evidence must be a mapping, not {type(evidence).__name__}")
    evidence = jsonable(evidence or {})  # fail here, with a clear TypeError, not inside the driver
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


def finish_deployment(
    conn: Connection, row: dict[str, Any], status: str, error: str | None, supersede_to: str = ARCHIVED
) -> None:
    """Close the deployment ``row``; a success also sets the version's stage (the previous
    holder of an aliased stage goes to ``supersede_to``)."""
    now = utcnow()
    conn.execute(
        deployments_table.update()
        .where(deployments_table.c.deployment_id == row["deployment_id"])
        .values(status=status, finished_at=now, error=(error or None) and str(error)[:_ERROR_LIMIT])
    )
    if status != SUCCEEDED:
        return
    model, version, stage = row["model"], row["version"], row["to_stage"]
    supersede_holders(conn, model, version, stage, row["deployment_id"], row["actor"], to_stage=supersede_to)
    values = {"stage": stage, "updated_at": now, "deployment_id": row["deployment_id"]}
    conn.execute(
        dialect_insert(conn, registry_table)
        .values(model=model, version=version, **values)
        .on_conflict_do_update(index_elements=["model", "version"], set_=values)
    )


def supersede_holders(
    conn: Connection, model: str, version: str, stage: str, by: int, actor: str, *, to_stage: str = ARCHIVED
) -> None:
    """The previous holder of an aliased stage moves to ``to_stage`` (archived; a rollback may
    reject it), as ModelRegistry.record_move does."""
    if stage not in SINGLE_HOLDER_STAGES:
        return
    r = registry_table.c
    holders = conn.execute(
        sa.select(r.version).where((r.model == model) & (r.stage == stage) & (r.version != version))
    ).scalars()
    for holder in list(holders):
        moved = insert_deployment(
            conn,
            model,
            holder,
            stage,
            to_stage,
            actor,
            f"superseded by v{version}",
            {"superseded_by_deployment": by, "superseded_by_version": version},
            status=SUCCEEDED,
        )
        conn.execute(
            registry_table.update()
            .where((r.model == model) & (r.version == holder) & (r.stage == stage))
            .values(stage=to_stage, updated_at=utcnow(), deployment_id=moved)
        )
