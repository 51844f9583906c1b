"""A/B test (``deploy.strategy: ab``): the challenger is published for a fixed arm of entities
and promoted or rejected on the delayed outcomes of both arms, once, at a fixed horizon.

* **The split**: batch scoring publishes the challenger's scores for ``bucket(entity, salt) <
  deploy.ab_treatment_share`` (salt ``<model>:ab:v<version>``: stable across days and runs, and
  independent of any earlier test) and the champion's for the rest; every row names its version.
* **The plan** (``include/deploy/experiment/plan.py``): the outcomes each arm needs to detect
  ``ab_min_detectable_effect`` with ``ab_power`` at one-sided ``ab_alpha``, from the config and
  the champion's baseline, recorded with the first decision.
* **Each promote run** (``ab_evidence``): the published rows of the test's dates joined to the
  labels that arrived give each arm's outcomes (``outcomes.py``). Short of the plan: ``keep
  running`` (the interim numbers are shown and recorded, never acted on). At the horizon the
  configured test runs once: ``promote`` (then the usual path: freeze windows, approval,
  compare-and-set, health check) or ``reject`` (the challenger ``shadow -> rejected`` with the
  numbers, every entity back to the champion from the next scoring run). A published challenger
  that errs or is too slow (``max_error_rate``, ``max_latency_ms_per_1k``) is rejected at once.
* **Recorded**: every decision is a row of ``ml_ab_decisions`` with its numbers. A decision at
  the horizon is final: later runs read it back instead of testing again (a promotion held by a
  freeze window or an approval does not get a second look at the data), and a retried task reads
  back its own run's decision.

``python -m include.deploy.ab <model>`` prints the plan, the interim numbers and the decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from include.config import ModelConfig
from include.contracts import AB, CHAMPION_ALIAS, REJECTED
from include.deploy.criteria import Criterion, PromotionVerdict, quality_criteria
from include.deploy.experiment.decision import KEEP_RUNNING as AB_KEEP_RUNNING
from include.deploy.experiment.decision import PROMOTE as AB_PROMOTE
from include.deploy.experiment.decision import REJECT as AB_REJECT
from include.deploy.payloads import ExperimentPayload, GatheredEvidencePayload, ShadowEvidencePayload
from include.platform.failpoints import failpoint

if TYPE_CHECKING:
    from include.platform.registry import ModelRegistry
    from include.platform.storage import Storage

log = logging.getLogger(__name__)
AB_CRITERION = "ab_test"
# The published challenger's quality the test does not wait for (agreement is not one: a better
# challenger disagrees with the champion where the champion was wrong).
QUALITY = ("max_error_rate", "max_latency")


def ab_split(config: ModelConfig, version: str) -> dict[str, Any]:
    """The challenger's arm for batch scoring: its share of entities and the hash salt."""
    from include.platform.audit.experiments import experiment_split

    return experiment_split(config.name, version, config.deploy.ab_treatment_share)


def ab_evidence(
    registry: ModelRegistry,
    config: ModelConfig,
    version: str,
    champion: str | None,
    open_storage: Callable[[], Storage],
    *,
    actor: str,
    dry_run: bool = False,
) -> GatheredEvidencePayload:
    """This promote run's decision on the test, recorded (unless ``dry_run``); the verdict is
    ready only for ``promote``."""
    from include.deploy.evidence import shadow_evidence, shadow_runs

    evidence = shadow_evidence(shadow_runs(registry, config, version), champion)
    recorded = _recorded(registry, config, version, actor)
    payload = recorded if recorded is not None else measure(registry, config, version, champion, evidence, open_storage)
    if not dry_run:
        apply_decision(registry, config, version, payload, actor=actor)
    return gathered_payload(version, champion, evidence, payload)


def _recorded(registry: ModelRegistry, config: ModelConfig, version: str, actor: str) -> ExperimentPayload | None:
    """The decision to read back: this run's own (a retried task), or one made at the horizon."""
    from include.platform.audit.experiments import ExperimentDecisions

    if registry.audit is None:
        return None
    latest = ExperimentDecisions(registry.audit).latest(config.name, version)
    if latest is None or not (latest["actor"] == actor or latest["outcome"] != AB_KEEP_RUNNING):
        return None
    return cast(ExperimentPayload, {**latest["evidence"], "recorded": True})


def measure(
    registry: ModelRegistry,
    config: ModelConfig,
    version: str,
    champion: str | None,
    evidence: ShadowEvidencePayload,
    open_storage: Callable[[], Storage],
) -> ExperimentPayload:
    """Plan, outcomes of both arms, and the decision on them."""
    from include.deploy.experiment.outcomes import read_arm_outcomes
    from include.deploy.experiment.plan import plan_experiment

    metrics: dict[str, float] = {}
    if config.deploy.ab_baseline is None:  # the baseline comes from the champion's hold-out
        champion_version = registry.alias_version(config.name, CHAMPION_ALIAS)
        run_id = champion_version.run_id if champion_version is not None else None
        metrics = dict(registry.client.get_run(run_id).data.metrics) if run_id else {}
    plan = plan_experiment(config, metrics, champion)
    split = ab_split(config, version)
    outcomes = read_arm_outcomes(
        open_storage(),
        config,
        champion=str(champion),
        challenger=version,
        salt=split["salt"],
        share=split["share"],
        dates=list(evidence["dates"]),
    )
    return decide_ab(config, evidence, plan, outcomes)


def decide_ab(config: ModelConfig, evidence: ShadowEvidencePayload, plan: Any, outcomes: Any) -> ExperimentPayload:
    """The decision of one promote run: keep running, promote or reject, with every number."""
    from dataclasses import asdict

    from include.deploy.experiment import compare, decide_experiment
    from include.deploy.experiment.plan import experiment_test_of, outcome_name

    test = experiment_test_of(config)
    quality = [c for c in quality_criteria(config, evidence) if c.name in QUALITY]
    comparison = None
    if len(outcomes.control) >= 2 and len(outcomes.treatment) >= 2:
        comparison = compare(test, outcomes.control, outcomes.treatment, plan.hypothesis)
    failed = [c for c in quality if not c.passed]
    if not evidence["batches"]:
        outcome, reason = AB_KEEP_RUNNING, "keep running: no date scored with the split yet"
    elif failed:
        outcome = AB_REJECT
        reason = "reject: the published challenger failed " + "; ".join(c.detail for c in failed)
    elif comparison is None:
        outcome = AB_KEEP_RUNNING
        reason = (
            f"keep running: {len(outcomes.treatment):,}/{plan.n_treatment:,} challenger and "
            f"{len(outcomes.control):,}/{plan.n_control:,} champion outcomes of the fixed horizon (labels pending)"
        )
    else:
        decision = decide_experiment(comparison, plan)
        outcome, reason = decision.outcome, decision.reason
    return {
        "outcome": outcome,
        "reason": reason,
        "test": test,
        "outcome_name": outcome_name(config),
        "plan": {**asdict(plan), "total": plan.total, "describe": plan.describe()},
        "arms": outcomes.counts(),
        "comparison": comparison.to_dict() if comparison is not None else None,
        "quality": [asdict(c) for c in quality],  # type: ignore[misc]
    }


def apply_decision(
    registry: ModelRegistry, config: ModelConfig, version: str, payload: ExperimentPayload, *, actor: str
) -> None:
    """Record the decision (a decision read back adds no row); a rejection then moves the
    challenger ``shadow -> rejected`` with the numbers. A retry after a crash between the two
    writes reads its decision back and finishes the rejection."""
    from include.platform.audit.experiments import ExperimentDecisions

    if registry.audit is None:
        log.warning("%s v%s: no audit trail attached: the A/B decision is not recorded", config.name, version)
        return
    if not payload.get("recorded"):
        numbers = {k: v for k, v in payload.items() if k != "recorded"}
        ExperimentDecisions(registry.audit).record(
            config.name, version, outcome=payload["outcome"], reason=payload["reason"], actor=actor, evidence=numbers
        )
        log.info("%s v%s: A/B test: %s", config.name, version, payload["reason"])
    failpoint("deploy.ab.after_decision")
    if payload["outcome"] == AB_REJECT and registry.audit.stage_of(config.name, version) != REJECTED:
        evidence = {"experiment": {k: v for k, v in payload.items() if k != "recorded"}}
        registry.record_move(
            config.name, version, REJECTED, reason=f"A/B test {payload['reason']}", actor=actor, evidence=evidence
        )


def gathered_payload(
    version: str, champion: str | None, evidence: ShadowEvidencePayload, payload: ExperimentPayload
) -> GatheredEvidencePayload:
    """What the promote DAG's next tasks read: a verdict ready only for ``promote``."""
    comparison = payload["comparison"] or {}
    criteria = [Criterion(**c) for c in payload["quality"]]
    alpha = payload["plan"]["hypothesis"]["alpha"]
    criteria.append(
        Criterion(AB_CRITERION, payload["outcome"] == AB_PROMOTE, comparison.get("p_value"), alpha, payload["reason"])
    )
    verdict = PromotionVerdict(challenger=version, champion=champion, criteria=criteria)
    return {
        "verdict": verdict.to_dict(),
        "summary": summary(version, champion, payload),
        "evidence": evidence,
        "live": {},
        "rejected": payload["outcome"] == AB_REJECT,
        "experiment": payload,
    }


def summary(version: str, champion: str | None, payload: ExperimentPayload) -> str:
    """The decision first, then the plan, the arms and the quality criteria."""
    arms, plan = payload["arms"], payload["plan"]
    lines = [
        f"A/B test v{version} vs champion v{champion}: {payload['reason']}",
        f"plan: {plan['describe']} ({payload['test']})",
        f"outcomes ({payload['outcome_name']}): challenger {arms['n_treatment']:,}/{plan['n_treatment']:,}, "
        f"champion {arms['n_control']:,}/{plan['n_control']:,}, from {arms['labelled']:,} labelled of "
        f"{arms['published']:,} published rows on {len(arms['dates'])} date(s)"
        + (f"; {arms['outside_split']:,} rows outside the split left out" if arms["outside_split"] else ""),
    ]
    if payload.get("recorded"):
        lines.append("decision read back from ml_ab_decisions (made earlier, not tested again)")
    lines += [f"[{'PASS' if c['passed'] else 'FAIL'}] {c['detail']}" for c in payload["quality"]]
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Print the challenger's test as the next promote run would see it (nothing recorded), and
    the decisions so far."""
    import argparse

    from include.config import load_config
    from include.config.loading import config_dir
    from include.contracts import CHALLENGER_ALIAS
    from include.platform.audit import AuditStore
    from include.platform.audit.experiments import ExperimentDecisions
    from include.platform.registry import ModelRegistry
    from include.platform.storage import get_storage

    parser = argparse.ArgumentParser(prog="python -m include.deploy.ab", description=main.__doc__)
    parser.add_argument("model")
    args = parser.parse_args(argv)
    config = load_config(config_dir() / f"{args.model}.yaml")
    if config.deploy.strategy != AB:
        print(f"{config.name}: deploy.strategy is {config.deploy.strategy!r}, not {AB!r}: no A/B test")
        return 1
    with AuditStore() as audit:
        registry = ModelRegistry(audit=audit)
        for row in ExperimentDecisions(audit).history(config.name):
            print(f"decision v{row['version']} {row['outcome']} at {row['created_at']:%Y-%m-%d %H:%M}: {row['reason']}")
        challenger = registry.alias_version(config.name, CHALLENGER_ALIAS)
        champion = registry.alias_version(config.name, CHAMPION_ALIAS)
        if challenger is None or champion is None:
            print("no A/B test running: @challenger:", f"v{challenger.version}" if challenger else "none")
            return 0
        from include.deploy.evidence import shadow_evidence, shadow_runs

        version, held = str(challenger.version), str(champion.version)
        evidence = shadow_evidence(shadow_runs(registry, config, version), held)
        payload = measure(registry, config, version, held, evidence, get_storage)
        print(summary(version, held, payload))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
