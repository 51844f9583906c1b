"""Canary rollout (``deploy.strategy: canary``): the challenger's scores are *published* for a
share of entities chosen by a salted hash of the entity id, ramped one step per promote run.

* **Who is in the canary**: ``bucket(entity, salt) < share`` (``include/deploy/experiment/
  assignment.py``), salt ``<model>:canary:v<version>``: the same entities every day, and a larger
  share only adds entities (none moves back to the champion while the canary ramps).
* **The share**: the version's latest row in the audit table ``ml_canary_steps``; none yet: the
  ramp's first share (``deploy.canary_ramp``, e.g. 5% -> 25% -> 50% -> 100%); halted: 0.
* **A step** (each promote run, ``canary_step``): the dates batch scoring published at the
  current share are its evidence. Fewer than ``deploy.canary_min_batches``: *hold*. Otherwise
  every criterion must hold: error rate, agreement with the champion, latency, the mean
  |challenger - champion| score on the same rows (``deploy.canary_max_score_diff``) and, where
  labels arrived, the live metric. One fails: *halt* (share 0, the challenger rejected, audited,
  notified). All pass: *advance* to the next share, or at the last share (100%) *promote*
  through the usual path (freeze window, approval, compare-and-set, health check).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from include.config import ModelConfig
from include.contracts import REJECTED
from include.deploy.criteria import Criterion, PromotionVerdict, live_metric_criterion
from include.deploy.payloads import GatheredEvidencePayload

if TYPE_CHECKING:
    from include.platform.registry import ModelRegistry
    from include.platform.storage import Storage

log = logging.getLogger(__name__)

HOLD, ADVANCE, HALT, PROMOTE = "hold", "advance", "halt", "promote"


def next_share(config: ModelConfig, share: float) -> float | None:
    """The ramp's next share after ``share``; None at the last one."""
    return next((float(s) for s in config.deploy.canary_ramp if s > share + 1e-12), None)


@dataclass
class CanaryStep:
    """What a promote run does with a canary, and why."""

    action: str  # hold | advance | halt | promote
    share: float
    next_share: float
    criteria: list[Criterion] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def canary_step(config: ModelConfig, share: float, evidence: dict[str, Any], live: dict[str, Any] | None) -> CanaryStep:
    """The decision for a canary at ``share`` on the evidence of the dates published at it."""
    d = config.deploy
    batches = int(evidence.get("batches") or 0)
    if batches < d.canary_min_batches:
        reason = f"canary at {share:.0%}: {batches} of {d.canary_min_batches} scored dates at this share so far; holds"
        return CanaryStep(HOLD, share, share, reason=reason)
    criteria = step_criteria(config, evidence, live)
    failed = [c for c in criteria if not c.passed]
    if failed:
        reason = f"canary halted at {share:.0%}: " + "; ".join(c.detail for c in failed)
        return CanaryStep(HALT, share, 0.0, criteria, reason)
    following = next_share(config, share)
    if following is None:
        reason = f"canary at {share:.0%} passed every criterion on {batches} dates: ready to promote"
        return CanaryStep(PROMOTE, share, share, criteria, reason)
    reason = f"canary advances {share:.0%} -> {following:.0%}: every criterion passed on {batches} dates"
    return CanaryStep(ADVANCE, share, following, criteria, reason)


def step_criteria(config: ModelConfig, evidence: dict[str, Any], live: dict[str, Any] | None) -> list[Criterion]:
    """A step's quality criteria (its volume is ``canary_min_batches``)."""
    d = config.deploy
    error_rate, agreement = evidence.get("error_rate"), evidence.get("agreement")
    latency, diff = evidence.get("latency_ms_per_1k"), evidence.get("score_diff")
    criteria = [
        _at_most("max_error_rate", error_rate, d.max_error_rate, f"error rate {_fmt(error_rate)}"),
        _at_least("min_agreement", agreement, d.min_agreement, f"agreement {_fmt(agreement)} with the champion"),
        _at_most("max_latency", latency, d.max_latency_ms_per_1k, f"{_fmt(latency, 1)} ms per 1,000 rows"),
        _at_most(
            "canary_max_score_diff",
            diff,
            d.canary_max_score_diff,
            f"mean |challenger - champion| score {_fmt(diff)} on the same rows",
        ),
    ]
    live_criterion = live_metric_criterion(config, live)
    return [*criteria, *([live_criterion] if live_criterion is not None else [])]


def canary_evidence(
    registry: ModelRegistry,
    config: ModelConfig,
    version: str,
    champion: str | None,
    open_storage: Callable[[], Storage],
    *,
    actor: str,
    dry_run: bool = False,
) -> GatheredEvidencePayload:
    """The canary's step on the dates published at its current share, recorded (unless
    ``dry_run``); the verdict is ready only when the last share passed (then the usual promotion
    path runs)."""
    from include.deploy.evidence import live_metrics, shadow_evidence, shadow_runs
    from include.platform.audit.canary import CanarySteps, share_of

    state = CanarySteps(registry.audit).latest(config.name, version) if registry.audit is not None else None
    share = share_of(config.deploy.canary_ramp, state)
    at_share = [r for r in shadow_runs(registry, config, version) if _same_share(r.get("canary_share"), share)]
    evidence = shadow_evidence(at_share, champion)
    live = live_metrics(open_storage(), config, evidence["dates"])
    step = canary_step(config, share, dict(evidence), dict(live))
    if not dry_run:
        apply_step(registry, config, version, step, actor=actor)
    verdict = PromotionVerdict(challenger=version, champion=champion, criteria=list(step.criteria))
    if step.action != PROMOTE:
        verdict.criteria.append(Criterion("canary_ramp", False, share, 1.0, step.reason))
    summary = "\n".join([step.reason, *(f"[{'PASS' if c.passed else 'FAIL'}] {c.detail}" for c in step.criteria)])
    return {
        "verdict": verdict.to_dict(),
        "summary": summary,
        "evidence": evidence,
        "live": live,
        "rejected": step.action == HALT,
        "canary": step.to_dict(),
    }


def _same_share(tag: str | None, share: float) -> bool:
    try:
        return tag is not None and abs(float(tag) - share) < 1e-9
    except ValueError:
        return False


def apply_step(
    registry: ModelRegistry, config: ModelConfig, version: str, step: CanaryStep, *, actor: str
) -> dict[str, Any] | None:
    """Record an advance or a halt (a halt also moves the challenger to ``rejected``, audited);
    nothing for hold and promote. A retry of the same run finds its step recorded and adds none.
    Returns the recorded row."""
    from include.platform.audit.canary import CanarySteps
    from include.platform.audit.schema import CANARY_HALTED, CANARY_RUNNING

    if step.action not in (ADVANCE, HALT):
        return None
    steps = CanarySteps(registry.audit)
    latest = steps.latest(config.name, version)
    if latest is not None and latest["actor"] == actor:
        log.info("canary step of %s v%s already recorded by this run: %s", config.name, version, latest["reason"])
        return latest
    status = CANARY_HALTED if step.action == HALT else CANARY_RUNNING
    evidence = {"criteria": [asdict(c) for c in step.criteria], "from_share": step.share}
    row = steps.record(
        config.name, version, share=step.next_share, status=status, reason=step.reason, actor=actor, evidence=evidence
    )
    if step.action == HALT:
        registry.record_move(config.name, version, REJECTED, reason=step.reason, actor=actor, evidence=evidence)
    log.info("%s v%s: %s", config.name, version, step.reason)
    return row


def _at_most(name: str, value: float | None, limit: float, what: str) -> Criterion:
    return Criterion(name, value is not None and value <= limit, value, limit, f"{what}, limit {limit}")


def _at_least(name: str, value: float | None, minimum: float, what: str) -> Criterion:
    return Criterion(name, value is not None and value >= minimum, value, minimum, f"{what}, needs {minimum}")


def _fmt(value: Any, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
