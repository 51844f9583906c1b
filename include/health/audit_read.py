"""The audit trail, read without writing: the view never creates or migrates the database.

``AuditStore``'s readers migrate first (a worker starting on an empty database creates the
tables); the view must not. An SQLite file that does not exist and a database without the
tables are an empty trail (nothing has moved yet), not an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from include.health.payloads import StageMove


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value is not None else None)


def stage_move(row: dict[str, Any]) -> StageMove:
    """One ``ml_deployments`` row (``AuditStore.history``) as the view shows it."""
    return StageMove(
        deployment_id=int(row["deployment_id"]),
        version=str(row["version"]),
        from_stage=row.get("from_stage"),
        to_stage=str(row["to_stage"]),
        status=str(row["status"]),
        actor=str(row.get("actor") or ""),
        reason=str(row.get("reason") or ""),
        created_at=_iso(row["created_at"]) or "",
        finished_at=_iso(row.get("finished_at")),
        error=row.get("error"),
    )


def _missing_sqlite_file(url: Any) -> bool:
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or database.startswith("file::memory:")
    return not in_memory and not Path(database).expanduser().exists()


def read_trail(url: str, model: str) -> tuple[dict[str, str], list[StageMove]]:
    """``({version: stage}, moves newest first)`` of ``model`` in the audit database at ``url``."""
    import sqlalchemy as sa

    from include.platform.audit import AuditStore

    if _missing_sqlite_file(sa.make_url(url)):
        return {}, []
    store = AuditStore(url, read_only=True)  # an older trail is read as it is: its columns exist since migration 1
    try:
        if store.schema_version() == 0:
            return {}, []
        return store.current(model), [stage_move(row) for row in store.history(model)]
    finally:
        store.close()
