"""The sections of a model config that describe the data, the estimator and the pipelines' limits.

Each section is a dataclass that validates itself in ``__post_init__``; ``_where`` is the
file and key path used in error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.config.checks import (
    MAX_DAYS,
    check_columns,
    check_cron,
    check_fractions,
    check_ints,
    check_mapping,
    check_non_negative,
    fail,
    is_number,
)
from include.config.imports import check_import_path


@dataclass
class FeaturesConfig:
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    # Optional per-column constraints checked by data validation: {column: [min, max]}.
    ranges: dict[str, list[float]] = field(default_factory=dict)
    # Optional allowed values for categorical columns: {column: [values]}.
    allowed_values: dict[str, list[str]] = field(default_factory=dict)
    # Largest share of nulls a feature may have in training data.
    max_null_fraction: float = 0.2
    _where: str = field(default="features", repr=False, compare=False)  # noqa: contract

    def __post_init__(self) -> None:
        w = self._where
        check_columns(f"{w}.numeric", self.numeric)
        check_columns(f"{w}.categorical", self.categorical)
        if not self.numeric and not self.categorical:
            fail(w, "needs at least one numeric or categorical feature")
        both = set(self.numeric) & set(self.categorical)
        if both:
            fail(w, f"columns listed as both numeric and categorical: {sorted(both)}")
        for column, bounds in check_mapping(f"{w}.ranges", self.ranges).items():
            if column not in self.numeric:
                fail(f"{w}.ranges.{column}", "is not a numeric feature")
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(is_number(b) for b in bounds)
                or bounds[0] > bounds[1]
            ):
                fail(f"{w}.ranges.{column}", f"must be two finite numbers, min then max, got {bounds!r}")
        for column, values in check_mapping(f"{w}.allowed_values", self.allowed_values).items():
            if column not in self.categorical:
                fail(f"{w}.allowed_values.{column}", "is not a categorical feature")
            if not isinstance(values, list) or not values:
                fail(f"{w}.allowed_values.{column}", f"must be a non-empty list, got {values!r}")
        if not is_number(self.max_null_fraction) or not 0 <= self.max_null_fraction <= 1:
            fail(f"{w}.max_null_fraction", f"must be a number from 0 to 1, got {self.max_null_fraction!r}")

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


@dataclass
class EstimatorConfig:
    # Import path of a scikit-learn estimator; it becomes the last step of a Pipeline whose
    # preprocessing (impute + scale numeric, impute + one-hot categorical) is built for you.
    # Set ``preprocessing: false`` when the class is itself a full pipeline factory.
    class_path: str = "sklearn.ensemble.HistGradientBoostingClassifier"
    params: dict[str, Any] = field(default_factory=dict)
    preprocessing: bool = True
    _where: str = field(default="estimator", repr=False, compare=False)

    def __post_init__(self) -> None:
        check_import_path(f"{self._where}.class_path", self.class_path)
        if not isinstance(self.params, dict):
            fail(f"{self._where}.params", f"must be a mapping, got {self.params!r}")


MAX_TRAINING_WINDOW_DAYS = 730


@dataclass
class TrainingConfig:
    window_days: int = 28
    holdout_fraction: float = 0.2
    seed: int = 42
    min_rows: int = 500
    # A feature row older than this (relative to the label's timestamp) is too stale to join.
    max_feature_age_days: int = 7
    # Keep one training row per entity: the one with the latest label in the window.
    dedupe: str = "latest"
    _where: str = field(default="training", repr=False, compare=False)

    def __post_init__(self) -> None:
        w = self._where
        # The retrain DAG's window_days Param allows the same range (dags/retrain.py).
        check_ints(self, ("window_days",), maximum=MAX_TRAINING_WINDOW_DAYS)
        check_ints(self, ("max_feature_age_days",), maximum=MAX_DAYS)
        check_ints(self, ("min_rows",))
        check_ints(self, ("seed",), minimum=0, maximum=2**32 - 1)  # numpy's seed range
        if not is_number(self.holdout_fraction) or not 0.05 <= self.holdout_fraction <= 0.5:
            fail(f"{w}.holdout_fraction", f"must be a number from 0.05 to 0.5, got {self.holdout_fraction!r}")
        if self.dedupe not in ("latest", "none"):
            fail(f"{w}.dedupe", f"must be 'latest' or 'none', got {self.dedupe!r}")


@dataclass
class EvaluationConfig:
    metrics: list[str] = field(default_factory=lambda: ["roc_auc"])
    primary_metric: str = "roc_auc"
    # Categorical column whose values get their own metrics (and a slice gate).
    slice_column: str | None = None
    _where: str = field(default="evaluation", repr=False, compare=False)


@dataclass
class GatesConfig:
    # Absolute thresholds, each in the direction of its metric (ModelConfig.higher_is_better):
    # min_metrics for higher-is-better metrics (roc_auc >= 0.7), max_metrics for lower-is-better
    # ones (rmse <= 6). A metric under the key of the other direction is refused by name.
    min_metrics: dict[str, float] = field(default_factory=dict)
    max_metrics: dict[str, float] = field(default_factory=dict)
    # Challenger may be at most this much worse than the champion on the primary metric, in the
    # metric's own units and direction (0.01 of roc_auc below, or 0.5 of rmse above, the champion).
    max_regression: float = 0.01
    # Every slice (when a slice column is set) must be at least this good on the primary metric,
    # in its direction: a floor for roc_auc, a ceiling for rmse. ``min_slice_metric`` is the older
    # name, kept for higher-is-better primary metrics only (for rmse it would read as a floor).
    slice_metric_threshold: float | None = None
    min_slice_metric: float | None = None
    # Slices with fewer hold-out rows than this are reported but not gated.
    min_slice_rows: int = 50
    max_latency_ms_per_1k: float = 500.0
    max_model_size_mb: float = 50.0
    _where: str = field(default="gates", repr=False, compare=False)

    @property
    def slice_threshold(self) -> float | None:
        """The slice gate's threshold, whichever key set it (ModelConfig refuses both at once)."""
        return self.slice_metric_threshold if self.slice_metric_threshold is not None else self.min_slice_metric


@dataclass
class ScoringConfig:
    # Rows per chunk read, validated and scored at a time: bounds memory whatever the input size.
    chunk_rows: int = 100_000
    # Mapped score tasks of one run that execute at once (max_active_tis_per_dagrun); the units
    # are cut to about total rows / max_parallel rows. Not a limit on the dates of a run.
    max_parallel: int = 8
    # A partition with more quarantined rows than this share fails and publishes nothing.
    max_quarantine_fraction: float = 0.05
    # Numeric values beyond the training [min, max] by more than this share of the span are
    # out of range.
    range_tolerance: float = 0.5
    # A feature whose null rate exceeds the training null rate by more than this fails the run.
    max_null_increase: float = 0.3
    # Out-of-range rows: "flag" (scored, published with a flag) or "quarantine".
    out_of_range: str = "flag"
    # Categories training never saw (when it listed every category): "flag" (scored through the
    # encoder's unknown handling, published with a flag) or "quarantine".
    unseen_category: str = "flag"
    # One entity id twice in a date's partition: "keep_latest" (the row with the latest
    # timestamp is scored, the others quarantined), "quarantine" (every row of the id) or "fail".
    duplicates: str = "keep_latest"
    # Rows timestamped outside the partition's day by more than this are quarantined.
    timestamp_tolerance_hours: float = 24.0
    _where: str = field(default="scoring", repr=False, compare=False)  # noqa: contract

    def __post_init__(self) -> None:
        w = self._where
        check_ints(self, ("chunk_rows", "max_parallel"))
        if self.max_parallel > 512:
            fail(f"{w}.max_parallel", f"must be <= 512 (score tasks of one run at once), got {self.max_parallel}")
        check_fractions(self, ("max_quarantine_fraction", "max_null_increase"))
        check_non_negative(self, ("range_tolerance",))
        check_non_negative(self, ("timestamp_tolerance_hours",), maximum=MAX_DAYS * 24)
        for name, choices in SCORING_POLICIES.items():
            if getattr(self, name) not in choices:
                fail(f"{w}.{name}", f"must be one of {list(choices)}, got {getattr(self, name)!r}")


class RowPolicy:
    """The values of the scoring row policies (``scoring.out_of_range`` ... ``scoring.duplicates``)."""

    FLAG = "flag"
    # A policy, not the dataset folder.
    QUARANTINE = "quarantine"  # noqa: contract
    KEEP_LATEST = "keep_latest"
    FAIL = "fail"


# Row policies of scoring: the allowed values of each key, the default first.
SCORING_POLICIES: dict[str, tuple[str, ...]] = {
    "out_of_range": (RowPolicy.FLAG, RowPolicy.QUARANTINE),
    "unseen_category": (RowPolicy.FLAG, RowPolicy.QUARANTINE),
    "duplicates": (RowPolicy.KEEP_LATEST, RowPolicy.QUARANTINE, RowPolicy.FAIL),
}


@dataclass
class SchedulesConfig:
    retrain: str | None = "@weekly"
    score: str | None = "@daily"
    monitor: str | None = "@daily"
    promote: str | None = "@daily"
    _where: str = field(default="schedules", repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("retrain", "score", "monitor", "promote"):
            check_cron(f"{self._where}.{name}", getattr(self, name))
