"""The decisions of A/B tests in the audit database (table ``ml_ab_decisions``, migration 5).

One row per promote run of a challenger under ``deploy.strategy: ab``: ``keep_running`` while
its arms hold fewer delayed outcomes than planned, then ``promote`` or ``reject``, made once at
the horizon; every row keeps the numbers (the plan, both arms' outcomes, the interval and the
p-value) in ``evidence``. Rows are only ever added: the table is the test's history. The salt of a
version's split lives here too, beside the canary's (batch scoring reads it when it pins).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from include.platform.audit.columns import utcnow
from include.platform.audit.engine import advisory_lock, audit_transaction
from include.platform.audit.schema import AB_OUTCOMES, ab_table

_C = ab_table.c


def experiment_salt(model: str, version: str | int) -> str:
    """The hash salt of a version's A/B split: its own arms, independent of earlier tests."""
    return f"{model}:ab:v{version}"


class ExperimentDecisions:
    """The A/B decisions in an ``AuditStore``'s database (migrated on first use)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def latest(self, model: str, version: str | int) -> dict[str, Any] | None:
        """The version's newest decision, None before its first promote run."""
        query = (
            sa.select(ab_table)
            .where((_C.model == model) & (_C.version == str(version)))
            .order_by(_C.decision_id.desc())
            .limit(1)
        )
        self.store.migrate()
        with audit_transaction(self.store.engine, write=False) as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row is not None else None

    def history(self, model: str, version: str | int | None = None) -> list[dict[str, Any]]:
        """Decisions of a model (or one version), oldest first."""
        query = sa.select(ab_table).where(_C.model == model)
        if version is not None:
            query = query.where(_C.version == str(version))
        self.store.migrate()
        with audit_transaction(self.store.engine, write=False) as conn:
            return [dict(row._mapping) for row in conn.execute(query.order_by(_C.decision_id))]

    def record(
        self, model: str, version: str | int, *, outcome: str, reason: str, actor: str, evidence: dict[str, Any]
    ) -> dict[str, Any]:
        """Add a decision; the row as written."""
        if outcome not in AB_OUTCOMES:
            raise ValueError(f"A/B outcome must be one of {AB_OUTCOMES}, got {outcome!r}")
        values = {
            "model": model,
            "version": str(version),
            "outcome": outcome,
            "created_at": utcnow(),
            "actor": actor,
            "reason": reason,
            "evidence": evidence,
        }
        self.store.migrate()
        with audit_transaction(self.store.engine, write=True) as conn:
            advisory_lock(conn, f"model:{model}")
            key = conn.execute(ab_table.insert().values(**values)).inserted_primary_key
        return {"decision_id": key[0] if key is not None else None, **values}
