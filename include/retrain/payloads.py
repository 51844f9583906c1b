"""What the retraining stages hand each other (through XCom): plain JSON-able dicts, typed.

TypedDicts are ordinary dicts at runtime, so XCom, ``json.dumps`` and the templated operator
arguments see exactly what they saw before; the types only tell readers and mypy which keys a
stage may rely on.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class PulledDataset(TypedDict):
    """``pull``: where the joined training data was written, and its statistics."""

    dataset_key: str
    window_start: str
    window_end: str  # exclusive
    label_partitions: list[str]
    feature_partitions: list[str]
    labels_read: int
    labels_without_features: int
    duplicates_dropped: int
    rows: int
    data_hash: str
    positive_rate: float | None
    extra: dict[str, Any]


class TrainedRun(TypedDict):
    """``train``: the MLflow run holding the model, and the hold-out kept beside the data."""

    run_id: str
    model_uri: str
    holdout_key: str
    run_key: str
    reused: bool  # the same window, data and config were trained before: that run is reused


class ChampionEvaluation(TypedDict):
    version: str
    metrics: dict[str, float]


class Evaluation(TypedDict):
    """``evaluate_candidate``: the candidate (and the current champion) on the same hold-out."""

    metrics: dict[str, float]
    slices: dict[str, dict[str, float]]
    latency_ms_per_1k: float
    size_mb: float
    holdout_rows: int
    champion: ChampionEvaluation | None


class GateResultDict(TypedDict):
    name: str
    kind: str
    passed: bool
    value: float | None
    threshold: float | None
    detail: str


class GateReportDict(TypedDict):
    """``check_gates``: every verdict, and the names of the gates that failed."""

    passed: bool
    failed: list[str]
    results: list[GateResultDict]


class RegisteredVersion(TypedDict):
    """``register_candidate``: the version registered from the training run."""

    version: str
    stage: str | None
    model_card: str


class Qualification(TypedDict):
    """``qualify``: where the candidate went (challenger, rejected, bootstrap champion or nowhere)."""

    action: str
    stage: str | None
    version: str
    reason: str


class RunSummary(TypedDict):
    """``summarize_run``: one retraining run, stored as JSON and sent with the notification."""

    model: str
    window: str
    rows: int
    data_hash: str
    run_id: str
    reused_run: bool
    metrics: dict[str, float]
    champion_before: ChampionEvaluation | None
    latency_ms_per_1k: float
    size_mb: float
    gates: GateReportDict
    version: str | None
    stage: str | None
    action: str
    tracking_uri: str
    summary_uri: NotRequired[str]
    notifications: NotRequired[list[dict[str, Any]]]
