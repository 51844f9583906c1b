"""Canary rollout (``deploy.strategy: canary``): the challenger's scores are *published* for a
share of entities chosen by a salted hash of the entity id, ramped one step per promote run.

* **Who is in the canary**: ``bucket(entity, salt) < share`` (``include/platform/
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
from include.deploy.criteria import Criterion, PromotionVerdict, live_metric_criterion, quality_criteria
from include.deploy.payloads import GatheredEvidencePayload, LiveMetricsPayload
from include.platform.failpoints import failpoint

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
    """A step's criteria: the shadow quality criteria, the score difference to the champion on
    the same rows and the live metric where labels arrived (its volume is ``canary_min_batches``)."""
    limit, diff = config.deploy.canary_max_score_diff, evidence.get("score_diff")
    score_diff = Criterion(
        "canary_max_score_diff",
        diff is not None and diff <= limit,
        diff,
        limit,
        f"mean |challenger - champion| score {'n/a' if diff is None else f'{diff:.4f}'} on the same rows, "
        f"limit {limit}",
    )
    live_criterion = live_metric_criterion(config, live)
    return [*quality_criteria(config, evidence), score_diff, *([live_criterion] if live_criterion else [])]


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
    from include.deploy.evidence import live_metrics, shadow_evidence
    from include.platform.audit.canary import CanarySteps, share_of

    live: LiveMetricsPayload = {}
    state = CanarySteps(registry.audit).latest(config.name, version) if registry.audit is not None else None
    if state is not None and state["actor"] == actor:  # a retry of this run: its step is decided
        step = recorded_step(state)
        evidence = shadow_evidence(_runs_at(registry, config, version, step.share), champion)
    else:
        share = share_of(config.deploy.canary_ramp, state)
        evidence = shadow_evidence(_runs_at(registry, config, version, share), champion)
        live = live_metrics(open_storage(), config, evidence["dates"])
        step = canary_step(config, share, dict(evidence), dict(live))
    if not dry_run:
        apply_step(registry, config, version, step, actor=actor)
    share = step.share
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


def _runs_at(registry: ModelRegistry, config: ModelConfig, version: str, share: float) -> list[dict[str, Any]]:
    """The challenger's shadow records of the dates published at ``share``."""
    from include.deploy.evidence import shadow_runs

    return [r for r in shadow_runs(registry, config, version) if _same_share(r.get("canary_share"), share)]


def recorded_step(row: dict[str, Any]) -> CanaryStep:
    """The step an ``ml_canary_steps`` row recorded (what a retried promote task decided before)."""
    from include.platform.audit.schema import CANARY_HALTED

    evidence = row.get("evidence") or {}
    return CanaryStep(
        HALT if row["status"] == CANARY_HALTED else ADVANCE,
        float(evidence.get("from_share", row["share"])),
        float(row["share"]),
        [Criterion(**c) for c in evidence.get("criteria", [])],
        row["reason"],
    )


def _same_share(tag: str | None, share: float) -> bool:
    try:
        return tag is not None and abs(float(tag) - share) < 1e-9
    except ValueError:
        return False


def apply_step(
    registry: ModelRegistry, config: ModelConfig, version: str, step: CanaryStep, *, actor: str
) -> dict[str, Any] | None:
    """Record an advance or a halt (a halt then moves the challenger to ``rejected``, audited);
    nothing for hold and promote. A retry of the same run (a worker killed between the two
    writes) finds its step recorded, adds none and finishes the rejection. Returns the row."""
    from include.platform.audit.canary import CanarySteps
    from include.platform.audit.schema import CANARY_HALTED, CANARY_RUNNING

    if step.action not in (ADVANCE, HALT):
        return None
    steps = CanarySteps(registry.audit)
    row = steps.latest(config.name, version)
    if row is None or row["actor"] != actor:
        status = CANARY_HALTED if step.action == HALT else CANARY_RUNNING
        evidence = {"criteria": [asdict(c) for c in step.criteria], "from_share": step.share}
        row = steps.record(
            config.name,
            version,
            share=step.next_share,
            status=status,
            reason=step.reason,
            actor=actor,
            evidence=evidence,
        )
        log.info("%s v%s: %s", config.name, version, step.reason)
    failpoint("deploy.canary.after_step")
    if step.action == HALT and registry.audit.stage_of(config.name, version) != REJECTED:
        registry.record_move(config.name, version, REJECTED, reason=step.reason, actor=actor, evidence=row["evidence"])
    return row
