"""The canary steps of a challenger in the audit database (table ``ml_canary_steps``, migration 4).

One row per decision about a canary: each advance to the next share of the ramp, or a halt
(share 0: every entity back to the champion). The latest row of a version is its state; a
version without rows is at the ramp's first share. Batch scoring reads it once per run
(``include/score/pinning.py``), the promote DAG writes it (``include/deploy/canary.py``). Rows
are only ever added, so the table is the canary's history for an auditor as well.
"""

from __future__ import annotations

from typing import Any

from include.platform.audit.columns import utcnow
from include.platform.audit.schema import CANARY_STATUSES, canary_table
from include.platform.audit.version_log import VersionLog


def canary_salt(model: str, version: str | int) -> str:
    """The hash salt of a version's canary: its own entities, whatever earlier canaries had."""
    return f"{model}:canary:v{version}"


def share_of(ramp: list[float], state: dict[str, Any] | None) -> float:
    """The share a canary is published for: its latest step's, or the ramp's first before any."""
    return float(ramp[0]) if state is None else float(state["share"])


class CanarySteps(VersionLog):
    """The canary steps in an ``AuditStore``'s database (migrated on first use)."""

    table = canary_table
    key = "step_id"

    def record(
        self,
        model: str,
        version: str | int,
        *,
        share: float,
        status: str,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a step; the row as written."""
        if status not in CANARY_STATUSES:
            raise ValueError(f"canary status must be one of {CANARY_STATUSES}, got {status!r}")
        values = {
            "model": model,
            "version": str(version),
            "share": float(share),
            "status": status,
            "created_at": utcnow(),
            "actor": actor,
            "reason": reason,
            "evidence": evidence,
        }
        return self.add(values)
