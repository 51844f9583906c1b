"""What the monitoring steps hand each other (XCom) and write to ``summary.json``.

TypedDicts are plain dicts at runtime: XCom and JSON see no difference; mypy checks the keys.
Only the standard library is imported here.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Reference(TypedDict):
    """The champion everything is compared with (``reference.load_reference``)."""

    version: str
    run_id: str
    trained_until: str | None  # end of its training window (YYYY-MM-DD)
    created: str
    holdout_metrics: dict[str, Any]
    ds: NotRequired[str]  # the day a monitor run checks


class QualityIssuePayload(TypedDict):
    check: str
    column: str | None
    severity: str  # "error" | "warning"
    value: Any
    threshold: Any
    detail: str


class QualityResult(TypedDict):
    rows: int
    failed: bool
    issues: list[QualityIssuePayload]
    summary: str  # for people; never parsed
    dates: list[str]


class ColumnDriftPayload(TypedDict):
    column: str
    type: str  # "num" | "cat"
    stattest: str
    threshold: float
    score: float
    drifted: bool
    kind: str  # "pvalue" | "distance"
    n_reference: int
    n_current: int


class FeatureDrift(TypedDict):
    dataset_drift: bool
    share_drifted: float
    n_drifted: int
    n_columns: int
    drift_share: float
    drifted_columns: list[str]
    approximate: list[str]
    columns: list[ColumnDriftPayload]


class PredictionDrift(TypedDict):
    stattest: str
    threshold: float
    score: float
    drifted: bool
    kind: NotRequired[str]  # "pvalue" (drift when small) | "distance" (drift when large); absent before 2026-12
    rows: int


class DriftResult(TypedDict):
    """``DriftCheckOperator``'s return value: one window of a model against its champion."""

    model: str
    ds: str
    champion_version: str
    window: str  # [start, end) of the feature partitions compared, "YYYY-MM-DD..YYYY-MM-DD"
    features: FeatureDrift
    prediction: PredictionDrift | None  # published scores vs hold-out scores; None before scoring


class PerformanceResult(TypedDict, total=False):
    """Live performance on delayed labels; ``status`` "unknown" (with ``detail``) without labels."""

    rows: int
    metric: str
    status: str
    detail: str
    value: float
    window: str
    higher_is_better: bool
    current: float | None
    reference: float | None
    margin: float
    mode: str  # monitoring.performance_drop_mode: what margin bounds, "absolute" or "relative"
    drop: float | None
    relative_drop: float | None
    flagged: bool
    message: str
    concept_drift: dict[str, Any]


class RetrainReason(TypedDict):
    trigger: str  # one of include.config.RETRAIN_TRIGGERS
    detail: str
    share: NotRequired[float]
    drop: NotRequired[float | None]
    rows: NotRequired[int]
    days: NotRequired[int]
    # concept_drift: the detector, its increases of the error rate, where the first one was
    # flagged (row of the time-ordered error stream, and that row's timestamp) and the mean
    # error before and after it.
    detector: NotRequired[str]
    detections: NotRequired[int]
    at_row: NotRequired[int]
    at: NotRequired[str | None]
    error_before: NotRequired[float | None]
    error_after: NotRequired[float | None]


class Decision(TypedDict):
    retrain: bool
    reasons: list[RetrainReason]
    blocked_by: str | None
    summary: str
    window_end: str  # training window end (exclusive) of a retrain: the day after the checked day
    retrain_reason: str  # "monitor_<model> <ds>: <summary>", at most 500 characters


class ScoringCounts(TypedDict):
    """What the scoring run published for the monitored day (its predictions manifest's summary):
    rows quarantined (not scored) and flagged (scored, published with a ``flags`` value)."""

    model_version: str | None
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    quarantine_share: float
    rows_flagged: int
    flagged_share: float
    reasons: dict[str, int]  # quarantine reason -> rows
    flags: dict[str, int]  # flag -> rows


class ReportPaths(TypedDict):
    summary: str
    html: NotRequired[str]
    mlflow_run_id: str


class RetrainRequest(TypedDict):
    """The extra of the one ``retrain_request/<model>`` asset event a monitor run may emit."""

    model: str
    ds: str
    window_end: str
    reason: str
    triggers: list[str]
