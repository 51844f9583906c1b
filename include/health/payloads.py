"""What the "Model health" view shows, as typed dataclasses: the pages render them, the JSON API
returns ``dataclasses.asdict`` of them. Only the standard library is imported here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

# The one-line status of a model, worst first (``status.model_status``).
NO_CHAMPION: Final = "no champion"
DEGRADED: Final = "degraded"
DRIFTING: Final = "drifting"
HEALTHY: Final = "healthy"
STATUSES: Final = (NO_CHAMPION, DEGRADED, DRIFTING, HEALTHY)


@dataclass(frozen=True)
class StageMove:
    """One row of the audit trail: a version moved (or tried to move) from one stage to another."""

    deployment_id: int
    version: str
    from_stage: str | None
    to_stage: str
    status: str  # pending | succeeded | failed
    actor: str  # "airflow:<dag_id>/<run_id>" for the pipelines' moves
    reason: str
    created_at: str  # ISO 8601 UTC
    finished_at: str | None
    error: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    """A registered version: its stage (the audit trail's, else MLflow's tag) and its moves."""

    version: str
    stage: str | None
    created_at: str | None = None  # registration time in MLflow
    run_id: str | None = None  # its training run in MLflow
    mlflow_url: str | None = None
    moves: list[StageMove] = field(default_factory=list)  # oldest first


@dataclass(frozen=True)
class DriftingColumn:
    column: str
    stattest: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class MonitorPoint:
    """One monitored day, from its ``summary.json``; None where that day did not compute it."""

    ds: str
    champion_version: str | None
    quality_failed: bool
    quality_summary: str
    drift_share: float | None
    dataset_drift: bool | None
    drift_threshold: float | None  # the share of drifted columns that counts as dataset drift
    top_drifting: list[DriftingColumn]
    prediction_drift_score: float | None
    prediction_drifted: bool | None
    # The prediction drift test: its name, threshold and kind ("pvalue": drift below the
    # threshold; "distance": drift at or above it; None in summaries written before it was kept).
    prediction_stattest: str | None
    prediction_threshold: float | None
    prediction_kind: str | None
    metric: str | None
    live_metric: float | None
    holdout_metric: float | None
    performance_flagged: bool
    performance_message: str
    retrain: bool
    decision: str
    airflow_run_id: str | None


@dataclass(frozen=True)
class ScoringPoint:
    """One scored day, from its predictions manifest's ``meta["summary"]``."""

    ds: str
    model_version: str | None
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    rows_flagged: int
    quarantine_share: float
    latency_ms_per_1k: float | None
    rows_per_second: float | None  # 1e6 / latency_ms_per_1k: scoring throughput of one worker
    airflow_run_id: str | None


@dataclass(frozen=True)
class DagRunInfo:
    """A run of one of the model's DAGs, as Airflow's metadata DB holds it, with its links."""

    dag_id: str
    run_id: str
    state: str | None
    run_type: str | None
    logical_date: str | None
    start_date: str | None
    end_date: str | None
    airflow_url: str | None = None
    mlflow_url: str | None = None


@dataclass(frozen=True)
class Status:
    status: str  # one of STATUSES
    reason: str


@dataclass
class ModelHealth:
    """Everything the model's page shows."""

    model: str
    description: str
    status: Status
    champion: str | None
    challenger: str | None
    versions: list[VersionInfo]  # newest first
    monitor: list[MonitorPoint]  # oldest first
    scoring: list[ScoringPoint]  # oldest first
    runs: dict[str, list[DagRunInfo]] = field(default_factory=dict)  # dag id -> newest first
    max_quarantine_fraction: float | None = None
    problems: list[str] = field(default_factory=list)  # a source that could not be read, and why


@dataclass(frozen=True)
class ModelSummary:
    """One line of the model list."""

    model: str
    description: str
    status: Status
    champion: str | None
    last_monitored: str | None
    last_scored: str | None


def as_json(value: Any) -> Any:
    """A payload as JSON-able data (dataclasses to dicts)."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value
