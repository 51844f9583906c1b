"""The decisions of A/B tests in the audit database (table ``ml_ab_decisions``, migration 5).

One row per promote run of a challenger under ``deploy.strategy: ab``: ``keep_running`` while
its arms hold fewer delayed outcomes than planned, then ``promote`` or ``reject``, made once at
the horizon; every row keeps the numbers (the plan, both arms' outcomes, the interval and the
p-value) in ``evidence``. Rows are only ever added: the table is the test's history. The salt of a
version's split lives here too, beside the canary's (batch scoring reads it when it pins).
"""

from __future__ import annotations

from typing import Any

from include.platform.audit.columns import utcnow
from include.platform.audit.schema import AB_OUTCOMES, ab_table
from include.platform.audit.version_log import VersionLog


def experiment_salt(model: str, version: str | int) -> str:
    """The hash salt of a version's A/B split: its own arms, independent of earlier tests."""
    return f"{model}:ab:v{version}"


def experiment_split(model: str, version: str | int, share: float) -> dict[str, Any]:
    """The challenger's arm for batch scoring: its share of entities and the hash salt (batch
    scoring publishes with it, the promote DAG reads the outcomes with it)."""
    return {"share": float(share), "salt": experiment_salt(model, version)}


class ExperimentDecisions(VersionLog):
    """The A/B decisions in an ``AuditStore``'s database (migrated on first use)."""

    table = ab_table
    key = "decision_id"

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
        return self.add(values)
