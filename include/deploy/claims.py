"""How every deploy move (promote, rollback, reject, a health check's rollback) reaches both stores.

1. **claim**: the audit trail gets a ``pending`` deployment (from/to stage, actor, reason,
   evidence), written only if the version is still in the expected stage, the champion is still
   the expected one and no conflicting move is pending: one transaction, so of two concurrent
   moves exactly one wins (``AuditStore.claim``). Fail point ``<points>.after_audit_pending``.
2. **MLflow**: aliases, then tags; the version's stage tag last (fail point
   ``<points>.after_alias`` between the alias and the tags, ``<points>.after_mlflow`` after).
3. **finish**: the deployment ``succeeded``; only now the audit stage changes.

A worker that dies in between leaves the claim ``pending``. ``include.deploy.reconcile``
settles it by one rule: MLflow side complete (stage tag and alias on the version) -> finished
``succeeded``; otherwise -> ``failed`` and MLflow is put back where the audit trail is. A retry
of the same task settles its own claim at once, then moves again from scratch (its checks
still hold, so it completes the move); anyone else's claim is settled by reconcile (the first
task of the promote and rollback DAGs, the ``reconcile_<model>`` DAG, the CLI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from include.contracts import ALIAS_FOR_STAGE, ARCHIVED, CHAMPION
from include.deploy.reconcile import adopt, restore_mlflow, stale_claim_message
from include.errors import RefusedMove
from include.platform.audit.schema import FAILED, SUCCEEDED
from include.platform.failpoints import failpoint

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from include.platform.registry import ModelRegistry

PROMOTE_POINTS = "deploy.promote"
ROLLBACK_POINTS = "deploy.rollback"
HEALTH_ROLLBACK_POINTS = "deploy.health_rollback"
REJECT_POINTS = "deploy.reject"


@dataclass(frozen=True)
class Move:
    """Who moves, why, on what evidence; ``champion``: the champion the move expects (checked
    in the audit claim when the move takes or leaves the champion alias)."""

    actor: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    points: str = "deploy.move"
    champion: str | None = None
    supersede_to: str = ARCHIVED


def claimed_move(
    registry: ModelRegistry, name: str, version: str, from_stage: str, target: str, move: Move, *, lost: str
) -> None:
    """Claim in the audit trail, move MLflow, finish the claim (see the module docstring).

    Raises ``RefusedMove`` with ``lost`` (or what blocks the claim) when the claim is refused.
    A failed MLflow move finishes the claim ``failed`` and puts MLflow back, then re-raises.
    """
    audit = registry.audit
    deployment = None
    if audit is not None:
        adopt(registry, name, by=move.actor)  # a model the trail has never seen: recorded as it is first
        holders = {CHAMPION: move.champion} if CHAMPION in (from_stage, target) else None
        deployment = audit.claim(
            name,
            version,
            from_stage,
            target,
            holders=holders,
            actor=move.actor,
            reason=move.reason,
            evidence=move.evidence,
        )
        if deployment is None:
            raise RefusedMove(_refusal(registry, name, version, from_stage, target, holders, lost))
        failpoint(f"{move.points}.after_audit_pending")
    try:
        registry.record_move(
            name,
            version,
            target,
            reason=move.reason,
            actor=move.actor,
            evidence=move.evidence,
            rollback=(from_stage, target) == (ARCHIVED, CHAMPION),
            supersede_to=move.supersede_to,
            audited=False,
            points=move.points,
        )
    except Exception as exc:
        if deployment is not None:
            audit.finish(deployment, FAILED, error=f"{type(exc).__name__}: {exc}")
            _put_back(registry, name, move.actor)
        raise
    failpoint(f"{move.points}.after_mlflow")
    if deployment is not None:
        audit.finish(deployment, SUCCEEDED, supersede_to=move.supersede_to)


def _put_back(registry: ModelRegistry, name: str, actor: str) -> None:
    """MLflow back to the audit trail after a failed move; if MLflow is still failing, reconcile
    (the next promote/rollback run's first task) does it later."""
    try:
        restore_mlflow(registry, name, by=actor, aliases=True)
    except Exception as exc:  # the original error is the one to raise
        log.warning("%s: MLflow could not be put back to the audit trail (%s); reconcile_%s will", name, exc, name)


def _refusal(
    registry: ModelRegistry,
    name: str,
    version: str,
    from_stage: str,
    target: str,
    holders: dict[str, str | None] | None,
    lost: str,
) -> str:
    """Why the audit claim was refused: a pending move, a stage that changed, another champion."""
    audit = registry.audit
    slots = {from_stage, target} & set(ALIAS_FOR_STAGE)
    for row in audit.pending(name):
        if row["version"] == version or slots & {row["from_stage"], row["to_stage"]}:
            return stale_claim_message(name, row)
    current = audit.current(name)
    if current.get(version) != from_stage:
        return lost
    for stage, expected in (holders or {}).items():
        held = [v for v, s in current.items() if s == stage]
        if held != ([expected] if expected is not None else []):
            return (
                f"{name}: the audit trail's {stage} is {', '.join('v' + v for v in held) or 'none'}, "
                f"but MLflow's alias points at v{expected}: the alias was moved outside the pipeline or a move "
                f"was interrupted; trigger reconcile_{name} (restore_aliases=true puts the audit "
                f"trail's champion back) and run this again"
            )
    return lost
