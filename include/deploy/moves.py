"""Deploy moves: challenger -> champion (compare-and-set), rollback to a former champion, and a
reviewer's rejection of the challenger. Every move goes to the MLflow tags and the audit tables
through a claim (``include/deploy/claims.py``): pending in the audit trail first, then MLflow,
then finished; a claim left pending by a dead worker is settled by ``include/deploy/reconcile.py``.

A retried Airflow task whose first try already finished its move reports that move (``resumed``)
instead of refusing its own work: actors name one DAG run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

from include.config import ModelConfig
from include.contracts import ARCHIVED, CHAMPION, CHAMPION_ALIAS, REJECTED, SHADOW, Tag
from include.deploy.claims import PROMOTE_POINTS, REJECT_POINTS, ROLLBACK_POINTS, Move, claimed_move
from include.deploy.freeze import check_freeze
from include.deploy.messages import approval_rejection_reason, not_ready_message, promotion_reason
from include.deploy.payloads import (
    ApprovalAnswer,
    ChampionMovePayload,
    GatheredEvidencePayload,
    PromotionPayload,
    RejectionPayload,
    RollbackMovePayload,
    RollbackPayload,
)
from include.deploy.reconcile import settle_pending
from include.errors import RefusedMove

if TYPE_CHECKING:
    from include.platform.registry import ModelRegistry

log = logging.getLogger(__name__)


# -- challenger -> champion ------------------------------------------------------------------------
def promote_challenger(
    registry: ModelRegistry,
    config: ModelConfig,
    gathered: GatheredEvidencePayload,
    *,
    day: dt.date,
    freeze_override_reason: str | None,
    approval: ApprovalAnswer | None,
    actor: str,
) -> PromotionPayload:
    """The challenger of a ready verdict becomes champion; the model cards of both versions are
    re-published.

    Refused (``RefusedMove``) when the verdict is not ready, inside a freeze window of ``day``
    without an override reason, or when the compare-and-set of ``promote_champion`` fails.
    The reason and the audit evidence name the criteria, the freeze check (and its override)
    and the approval, when there was one.
    """
    verdict = gathered["verdict"]
    if not verdict.get("ready") or verdict["challenger"] is None:
        raise RefusedMove(not_ready_message(gathered))
    freeze = check_freeze(config, day, freeze_override_reason)
    evidence: dict[str, Any] = {"criteria": verdict.get("criteria"), "freeze": freeze, "live": gathered.get("live")}
    experiment = gathered.get("experiment")
    if experiment:
        evidence["experiment"] = experiment
    if approval:
        evidence["approval"] = approval
    result = promote_champion(
        registry,
        config,
        verdict["challenger"],
        verdict.get("champion"),
        reason=promotion_reason(freeze, approval, experiment),
        actor=actor,
        evidence=evidence,
    )
    publish_model_cards(registry, config, result["version"], result["previous"])
    return {**result, "disagreements": registry.disagreements(config.name)}


def promote_champion(
    registry: ModelRegistry,
    config: ModelConfig,
    version: str,
    expected_champion: str | None,
    *,
    reason: str,
    actor: str,
    evidence: dict[str, Any],
) -> ChampionMovePayload:
    """shadow -> champion, only if the champion is still the one the evidence was measured on.

    Compare-and-set twice over: the champion alias must still point at ``expected_champion``,
    and the audit claim (``claimed_move``) checks in one transaction that ``version`` is still
    ``shadow`` and ``expected_champion`` still champion there, so of two concurrent promotions
    exactly one wins. A retry of the same task settles its own pending claim first.
    """
    name = config.name
    settle_pending(registry, name, by=actor, actor=actor)
    current = registry.alias_version(name, CHAMPION_ALIAS)
    current_version = str(current.version) if current is not None else None
    if current_version == str(version) and _last_move_by(registry, name, version, actor, SHADOW) is not None:
        # A retried task whose first try finished the move: report it, do not refuse own work.
        return {
            "action": CHAMPION,
            "version": str(version),
            "previous": _superseded_by(registry, name, version, actor),
            "resumed": True,
        }
    if current_version != (str(expected_champion) if expected_champion is not None else None):
        raise RefusedMove(
            f"champion is v{current_version}, not v{expected_champion} the evidence was measured against: refused"
        )
    stage = registry.stage_of(name, version)
    if stage != SHADOW:
        raise RefusedMove(f"v{version} is {stage!r}, not 'shadow': a version reaches champion only from shadow")
    claimed_move(
        registry,
        name,
        str(version),
        SHADOW,
        CHAMPION,
        Move(actor=actor, reason=reason, evidence=evidence, points=PROMOTE_POINTS, champion=current_version),
        lost=f"v{version} was moved by a concurrent promotion: refused (the other one won)",
    )
    return {"action": CHAMPION, "version": str(version), "previous": current_version}


# -- rollback ----------------------------------------------------------------------------------------
def rollback_champion(
    registry: ModelRegistry,
    config: ModelConfig,
    *,
    target: str | None,
    reason: str,
    actor: str,
    bad_stage: str = REJECTED,
) -> RollbackPayload:
    """``rollback`` and the model cards of both versions re-published."""
    result = rollback(registry, config, target=target, reason=reason, actor=actor, bad_stage=bad_stage)
    publish_model_cards(registry, config, result["restored"], result["replaced"])
    return {**result, "disagreements": registry.disagreements(config.name)}


def rollback(
    registry: ModelRegistry,
    config: ModelConfig,
    *,
    target: str | None,
    reason: str,
    actor: str,
    bad_stage: str = REJECTED,
    points: str = ROLLBACK_POINTS,
) -> RollbackMovePayload:
    """Champion alias back to ``target`` (default: the previous champion) in one move.

    Compare-and-set like a promotion: the audit claim checks that the champion is still the one
    this rollback replaces and ``target`` still archived. ``points`` names the fail points.
    """
    if not (reason and reason.strip()):
        raise RefusedMove("rollback needs a reason")
    name = config.name
    settle_pending(registry, name, by=actor, actor=actor)
    current = registry.alias_version(name, CHAMPION_ALIAS)
    resumed = _resumed_rollback(registry, name, current, target, actor=actor, bad_stage=bad_stage)
    if resumed is not None:
        return resumed
    target = str(target) if target else previous_champion(registry, config)
    if target is None:
        raise RefusedMove(f"{name}: no earlier champion to roll back to; name a target version")
    if current is not None and str(current.version) == target:
        raise RefusedMove(f"v{target} is already the champion")
    stage = registry.stage_of(name, target)
    if stage != ARCHIVED or not any(h.get("to") == CHAMPION for h in _history(registry, name, target)):
        raise RefusedMove(f"v{target} is {stage!r} and was never champion: only a former champion can be restored")
    replaced = str(current.version) if current is not None else None
    claimed_move(
        registry,
        name,
        target,
        ARCHIVED,
        CHAMPION,
        Move(
            actor=actor,
            reason=f"rollback: {reason}",
            evidence={"replaced": replaced, "bad_stage": bad_stage},
            points=points,
            champion=replaced,
            supersede_to=bad_stage,
        ),
        lost=f"v{target} or the champion v{replaced} was moved by a concurrent move: refused",
    )
    return {
        "action": "rollback",
        "restored": target,
        "replaced": str(current.version) if current else None,
        "bad_stage": bad_stage,
    }


def _resumed_rollback(
    registry: ModelRegistry, name: str, current: Any, target: str | None, *, actor: str, bad_stage: str
) -> RollbackMovePayload | None:
    """The rollback a retried task's first try already made (same actor, same target), or None."""
    if current is None or _last_move_by(registry, name, str(current.version), actor, ARCHIVED) is None:
        return None
    restored = str(current.version)
    if target and str(target) != restored:
        return None
    return {
        "action": "rollback",
        "restored": restored,
        "replaced": _superseded_by(registry, name, restored, actor),
        "bad_stage": bad_stage,
        "resumed": True,
    }


def previous_champion(registry: ModelRegistry, config: ModelConfig) -> str | None:
    """The most recent version that was champion and was archived (never a rejected one)."""
    best, best_at = None, ""
    current = registry.alias_version(config.name, CHAMPION_ALIAS)
    for version, stage in registry.stages(config.name).items():
        if stage != ARCHIVED or (current is not None and str(current.version) == version):
            continue
        history = _history(registry, config.name, version)
        ends = [h["at"] for h in history if h.get("from") == CHAMPION and h.get("to") == ARCHIVED]
        if ends and max(ends) > best_at:
            best, best_at = version, max(ends)
    return best


# -- a reviewer's Reject -----------------------------------------------------------------------------
def reject_at_approval(
    registry: ModelRegistry, config: ModelConfig, version: str, approval: ApprovalAnswer, *, actor: str
) -> RejectionPayload:
    """shadow -> rejected with who rejected it and why, so the next run does not ask again."""
    reason = approval_rejection_reason(approval)
    settle_pending(registry, config.name, by=actor, actor=actor)
    stage = registry.stage_of(config.name, version)
    if stage == REJECTED and _last_entry(registry, config.name, version).get("by") == actor:
        return {"version": version, "reason": reason, "resumed": True}  # a retry of a finished rejection
    if stage != SHADOW:
        raise RefusedMove(f"v{version} is no longer in shadow: the rejection was not recorded")
    claimed_move(
        registry,
        config.name,
        str(version),
        SHADOW,
        REJECTED,
        Move(actor=actor, reason=reason, evidence={"approval": dict(approval)}, points=REJECT_POINTS),
        lost=f"v{version} was moved by a concurrent move: the rejection was not recorded",
    )
    log.info("v%s %s", version, reason)
    return {"version": version, "reason": reason}


# -- shared ----------------------------------------------------------------------------------------
def publish_model_cards(registry: ModelRegistry, config: ModelConfig, *versions: str | None) -> None:
    """Re-render the model card of every version a move touched (their stage changed)."""
    from include.ml import model_card

    for version in filter(None, versions):
        model_card.publish_card(registry, config, version)


def _history(registry: ModelRegistry, name: str, version: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = json.loads(registry.get(name, version).tags.get(Tag.HISTORY, "[]"))
    return history


def _last_move_by(
    registry: ModelRegistry, name: str, version: str, actor: str, from_stage: str
) -> dict[str, Any] | None:
    """The version's latest move if it was ``from_stage`` -> champion made by ``actor``.

    Actors name one DAG run, so this tells a retried promote/rollback task that its first try
    already made the move (the alias moved, then the worker died or the callback failed).
    """
    last = _last_entry(registry, name, version)
    if last.get("to") == CHAMPION and last.get("from") == from_stage and last.get("by") == actor:
        return last
    return None


def _last_entry(registry: ModelRegistry, name: str, version: str) -> dict[str, Any]:
    history = _history(registry, name, str(version))
    return history[-1] if history else {}


def _superseded_by(registry: ModelRegistry, name: str, version: str, actor: str) -> str | None:
    """The former champion that ``actor`` moved out when ``version`` took the alias."""
    reason = f"superseded by v{version}"
    for other in registry.stages(name):
        if other == str(version):
            continue
        last = (_history(registry, name, other) or [{}])[-1]
        if last.get("from") == CHAMPION and last.get("by") == actor and last.get("reason") == reason:
            return other
    return None
