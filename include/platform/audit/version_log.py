"""An append-only table of decisions about a model version (canary steps, A/B decisions): the
latest row of a version is its state, all rows its history. Rows are only ever added."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from include.platform.audit.engine import advisory_lock, audit_transaction


class VersionLog:
    """Rows of ``table`` (with ``model``, ``version`` and the autoincrement ``key``) in an
    ``AuditStore``'s database (migrated on first use)."""

    table: sa.Table
    key: str

    def __init__(self, store: Any) -> None:
        self.store = store

    def latest(self, model: str, version: str | int) -> dict[str, Any] | None:
        """The version's newest row, None before its first."""
        c = self.table.c
        query = (
            sa.select(self.table)
            .where((c.model == model) & (c.version == str(version)))
            .order_by(c[self.key].desc())
            .limit(1)
        )
        self.store.migrate()
        with audit_transaction(self.store.engine, write=False) as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row is not None else None

    def history(self, model: str, version: str | int | None = None) -> list[dict[str, Any]]:
        """Rows of a model (or one version), oldest first."""
        c = self.table.c
        query = sa.select(self.table).where(c.model == model)
        if version is not None:
            query = query.where(c.version == str(version))
        self.store.migrate()
        with audit_transaction(self.store.engine, write=False) as conn:
            return [dict(row._mapping) for row in conn.execute(query.order_by(c[self.key]))]

    def add(self, values: dict[str, Any]) -> dict[str, Any]:
        """Add a row under the model's advisory lock; the row as written."""
        self.store.migrate()
        with audit_transaction(self.store.engine, write=True) as conn:
            advisory_lock(conn, f"model:{values['model']}")
            inserted = conn.execute(self.table.insert().values(**values)).inserted_primary_key
        return {self.key: inserted[0] if inserted is not None else None, **values}
