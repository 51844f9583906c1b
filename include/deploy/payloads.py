"""What the deploy steps return (and Airflow keeps in XCom): plain dicts, typed.

TypedDicts are ordinary dicts at runtime, so XCom, JSON and the audit evidence see no change;
mypy checks the keys the DAGs and operators read.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class CriterionPayload(TypedDict):
    """One ``deploy`` criterion with its numbers (``dataclasses.asdict`` of ``Criterion``)."""

    name: str
    passed: bool
    value: Any
    threshold: Any
    detail: str


class PromotionVerdictPayload(TypedDict):
    """``PromotionVerdict.to_dict()``; a stale challenger's verdict holds only the first two keys."""

    ready: bool
    challenger: str | None
    champion: NotRequired[str | None]
    failed: NotRequired[list[str]]
    criteria: NotRequired[list[CriterionPayload]]


class ShadowEvidencePayload(TypedDict):
    """Shadow batches of the challenger measured against one champion, aggregated."""

    batches: int
    rows: int
    hours: float
    dates: list[str]
    agreement: float | None
    error_rate: float | None
    latency_ms_per_1k: float | None
    score_diff: NotRequired[float | None]  # mean |challenger - champion| score on the same rows


class LiveMetricsPayload(TypedDict, total=False):
    """Primary metric of champion and challenger on labelled rows (empty: no labels yet)."""

    champion: float
    challenger: float
    rows: int


class ExperimentPayload(TypedDict):
    """``deploy.strategy: ab``: this run's decision with its numbers (include/deploy/ab.py)."""

    outcome: str  # keep_running | promote | reject
    reason: str
    test: str  # the registered test, e.g. two_proportion_z
    outcome_name: str  # what one labelled prediction contributes: correct prediction / absolute error
    plan: dict[str, Any]  # SampleSizePlan: n_control, n_treatment, ..., and "describe"
    arms: dict[str, Any]  # ArmOutcomes.counts(): published, labelled, outside_split, n_control, n_treatment
    comparison: dict[str, Any] | None  # ArmComparison.to_dict() (None before both arms have 2 outcomes)
    quality: list[CriterionPayload]  # error rate and latency of the published challenger
    recorded: NotRequired[bool]  # the decision was read back from ml_ab_decisions (final, or a retry)


class GatheredEvidencePayload(TypedDict):
    """What ``gather_evidence`` hands to the rest of the promote DAG."""

    verdict: PromotionVerdictPayload
    summary: str
    rejected: bool
    evidence: NotRequired[ShadowEvidencePayload]
    live: NotRequired[LiveMetricsPayload]
    # deploy.strategy canary: this run's step (include/deploy/canary.py CanaryStep.to_dict()).
    canary: NotRequired[dict[str, Any]]
    # deploy.strategy ab: this run's decision (include/deploy/ab.py).
    experiment: NotRequired[ExperimentPayload]


class FreezePayload(TypedDict):
    """The freeze check of a promotion day; an override is recorded only inside a freeze."""

    frozen: bool
    freeze_reason: str | None
    override_reason: str | None


class ApprovalAnswer(TypedDict):
    """Who answered the approval step, what (``Approve`` / ``Reject``), when and why."""

    choice: str | None
    by: str | None
    at: str
    reason: str


class ChampionMovePayload(TypedDict):
    """A challenger made champion (``resumed``: a retried task found its own finished move)."""

    action: str
    version: str
    previous: str | None
    resumed: NotRequired[bool]


class PromotionPayload(ChampionMovePayload):
    """The move plus the MLflow / audit-table disagreements after it (empty when consistent)."""

    disagreements: list[dict[str, Any]]


class RollbackMovePayload(TypedDict):
    """The champion alias back on ``restored``; ``replaced`` went to ``bad_stage``."""

    action: str
    restored: str
    replaced: str | None
    bad_stage: str
    resumed: NotRequired[bool]


class RollbackPayload(RollbackMovePayload):
    """The rollback plus the MLflow / audit-table disagreements after it."""

    disagreements: list[dict[str, Any]]


class HealthCheckPayload(TypedDict):
    """The champion's health check: ``ok`` when it reproduces training's scores."""

    ok: bool
    version: str | None
    problems: list[str]
    rows: NotRequired[int]
    max_abs_diff: NotRequired[float]


class RejectionPayload(TypedDict):
    """A challenger retired (shadow -> rejected) by a reviewer's answer."""

    version: str
    reason: str
    resumed: NotRequired[bool]


class SettledMovePayload(TypedDict):
    """A pending (claimed, unfinished) move settled by ``include.deploy.reconcile``."""

    deployment_id: int
    version: str
    from_stage: str | None
    to_stage: str
    actor: str
    outcome: str  # succeeded: MLflow had the move; failed: MLflow was put back to the audit trail


class StageRepairPayload(TypedDict):
    """A version whose MLflow stage tag was rolled to the audit trail's stage."""

    version: str
    audit: str | None
    registry: str | None


class AliasDriftPayload(TypedDict):
    """An alias whose MLflow holder is not the audit trail's holder of its stage."""

    alias: str
    registry: str | None
    audit: str | None


class ReconcilePayload(TypedDict):
    """What reconciling one model's audit trail and MLflow found and did (the XCom of ``reconcile``).

    ``ok``: nothing is left apart; ``in_flight``: pending moves younger than ``stale_after``
    seconds, left alone (another worker may still be making them).
    """

    model: str
    audited: bool
    repair: bool
    adopted: list[str]
    settled: list[SettledMovePayload]
    repaired: list[StageRepairPayload]
    aliases_moved: list[AliasDriftPayload]
    alias_drift: list[AliasDriftPayload]
    in_flight: list[int]
    disagreements: list[dict[str, Any]]
    ok: bool
