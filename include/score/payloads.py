"""What the batch-scoring tasks pass to each other (XCom): plain dicts at runtime, typed here.

``pin_models`` -> :class:`PinnedModels`; ``plan`` -> :class:`ScoringPlan` (a list of
:class:`PlannedUnit` and the dates that failed at plan); ``score_unit`` -> :class:`UnitStats` per
unit; ``publish`` -> :class:`PublishResult` (a :class:`DateSummary` per published date, a
:class:`DateFailure` per failed date); ``record_scoring_runs`` -> :class:`RecordResult`.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class ModelPin(TypedDict):
    """One registered version, pinned for the whole run (``ModelRef`` fields)."""

    name: str
    version: str
    run_id: str


class CanaryPin(TypedDict):
    """A canary challenger's published share (``deploy.strategy: canary``), pinned for the run."""

    share: float
    salt: str


class PinnedModels(TypedDict):
    """The champion (and challenger) resolved once, and the dates the run scores."""

    champion: ModelPin
    challenger: ModelPin | None
    dates: list[str]
    # The challenger's scores are published for this share of entities (canary only).
    canary: NotRequired[CanaryPin | None]
    # The run's time (ISO 8601, UTC): a row timestamped later is "in the future".
    run_after: NotRequired[str]


class InputFile(TypedDict):
    """A feature file a unit reads: its lineage in the published manifest."""

    ds: str
    key: str
    rows: int
    sha256: str


class PlannedUnit(TypedDict):
    """One mapped scoring task: row-group ranges of one date's feature files."""

    ds: str
    parts: list[list[Any]]  # [[key, [first_row_group, end_row_group]], ...]
    rows: int
    index: int
    inputs: list[InputFile]
    # The date's dropped duplicate rows (include/score/duplicates.py); absent: no duplicates.
    duplicates: NotRequired[str]


class DateFailure(TypedDict):
    """Why one date of a run published nothing: the stage it failed at and the reasons."""

    stage: str  # "plan", "score" or "publish"
    reasons: list[str]


class ScoringPlan(TypedDict):
    """The ``plan`` task: the units to score (one mapped task each) and the dates that failed."""

    units: list[PlannedUnit]
    failed: dict[str, DateFailure]


class PartFile(TypedDict):
    """A written, not yet published, output file (a manifest entry)."""

    name: str
    rows: int
    bytes: int
    sha256: str


class ShadowStats(TypedDict):
    """The challenger's running counts over one unit."""

    version: str
    rows: int
    agree: int
    abs_diff: float
    errors: int
    seconds: float  # wall time of the challenger's scoring (all threads, however busy the machine)
    latency_ms_per_1k: NotRequired[float | None]  # include/score/unit.py shadow_latency; None: not yet


class ScoreStats(TypedDict):
    """A unit's (or a date's merged) score distribution, see include/score/summary.py."""

    histogram: list[int]  # counts in SCORE_BINS equal bins over score_range
    score_range: list[float]  # [low, high]: [0, 1], or a regressor's hold-out prediction range
    score_underflow: int  # scores below / above the range
    score_overflow: int
    score_min: float | None  # exact, None before any score
    score_max: float | None


class UnitStats(ScoreStats):
    """What one scored unit reports: counts, score distribution, its unpublished files."""

    ds: str
    index: int
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    reasons: dict[str, int]
    nulls: dict[str, int]
    positives: int
    score_seconds: float
    shadow: ShadowStats | None
    files: dict[str, PartFile | None]  # dataset -> file (None: nothing written)
    seconds: float
    error: NotRequired[str]  # the unit's input could not be read: its date fails at publish
    rows_flagged: NotRequired[int]  # scored rows published with a flag
    flags: NotRequired[dict[str, int]]  # rows per flag, e.g. "out_of_range:tenure_months"
    kinds: NotRequired[dict[str, int]]  # rows per problem kind (checks.Problem), flagged or quarantined
    rows_canary: NotRequired[int]  # published rows scored by the canary challenger


class ShadowSummary(TypedDict):
    """The challenger against the champion over one date."""

    version: str
    rows: int
    agreement: float | None
    mean_abs_score_diff: float | None
    error_rate: float
    latency_ms_per_1k: float | None


class DateSummary(TypedDict):
    """One date's counts, rates and score distribution (stored in the manifests and MLflow)."""

    rows_in: int
    rows_scored: int
    rows_quarantined: int
    quarantine_share: float
    reasons: dict[str, int]
    # Flagged rows: scored and published with a ``flags`` value; not counted as quarantined.
    rows_flagged: NotRequired[int]
    rows_canary: NotRequired[int]  # rows published with the canary challenger's scores
    flagged_share: NotRequired[float]
    flags: NotRequired[dict[str, int]]
    # Rows per problem kind, flagged or quarantined: rows_null_key, rows_timestamp,
    # rows_duplicate, rows_infinite, rows_out_of_range, rows_unseen_category.
    rows_null_key: NotRequired[int]
    rows_timestamp: NotRequired[int]
    rows_duplicate: NotRequired[int]
    rows_infinite: NotRequired[int]
    rows_out_of_range: NotRequired[int]
    rows_unseen_category: NotRequired[int]
    null_rates: dict[str, float]
    histogram: list[int]
    score_range: list[float]
    score_underflow: int
    score_overflow: int
    score_min: NotRequired[float]  # exact; absent, as the quantiles, when nothing was scored
    score_max: NotRequired[float]
    score_p10: NotRequired[float]  # the quantiles: absent when nothing was scored
    score_p25: NotRequired[float]
    score_p50: NotRequired[float]
    score_p75: NotRequired[float]
    score_p90: NotRequired[float]
    problems: list[str]
    positive_share: NotRequired[float]  # classification only
    shadow: NotRequired[ShadowSummary]  # with a challenger only
    latency_ms_per_1k: float | None


class PublishResult(TypedDict):
    """Every published date's summary (in a dry run: every date that passed its checks), and
    the dates that failed with their reasons; ``token`` names the committed files (absent in a
    dry run)."""

    dates: dict[str, DateSummary]
    dry_run: bool
    failed: NotRequired[dict[str, DateFailure]]  # per date that published nothing: stage, reasons
    token: NotRequired[str]
    replaced: NotRequired[dict[str, str | None]]  # per date: the run id of the replaced manifest


class RecordedRuns(TypedDict):
    """The MLflow runs written for one date."""

    scoring_run_id: str
    shadow_run_id: NotRequired[str]


class PredictionsEvent(TypedDict):
    """The ``extra`` of the predictions asset event."""

    dates: list[str]
    model_version: str


class RecordResult(TypedDict):
    """The runs recorded per date and the asset event's extra (None in a dry run: nothing published)."""

    dry_run: bool
    runs: dict[str, RecordedRuns]
    asset_extra: PredictionsEvent | None
