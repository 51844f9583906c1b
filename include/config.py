"""Model configuration: one YAML file per model under ``include/models/``.

Adding a model is adding a file; nothing else changes. Each section is a dataclass that
validates itself in ``__post_init__`` and every error names the file and the field, e.g.
``include/models/churn.yaml: gates.min_metrics.roc_auc: must be a number in [0, 1], got 7``.

Only the standard library and PyYAML are imported here: DAG files read configs at parse time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from include.errors import ConfigError

TASKS = ("classification", "regression")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Metric name -> True when higher is better. Gates and comparisons read the direction here.
METRICS: dict[str, dict[str, bool]] = {
    "classification": {
        "roc_auc": True,
        "average_precision": True,
        "f1": True,
        "precision": True,
        "recall": True,
        "accuracy": True,
        "log_loss": False,
        "brier": False,
    },
    "regression": {"rmse": False, "mae": False, "r2": True},
}
# Metrics bounded to [0, 1], so a threshold outside that range is a typo.
_UNIT_METRICS = {"roc_auc", "average_precision", "f1", "precision", "recall", "accuracy", "brier"}

NOTIFY_TYPES = ("log", "file", "webhook", "smtp", "slack")
NOTIFY_EVENTS = ("success", "gate_failure", "failure", "drift", "promotion", "rollback")


def _fail(where: str, message: str) -> None:
    raise ConfigError(f"{where}: {message}")


def _check_columns(where: str, columns: Any) -> list[str]:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        _fail(where, f"must be a list of column names, got {columns!r}")
    for column in columns:
        if not _COLUMN_RE.match(column):
            _fail(where, f"{column!r} is not a valid column name")
    if len(set(columns)) != len(columns):
        _fail(where, f"lists a column twice: {columns}")
    return columns


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_ints(section: Any, names: tuple[str, ...], minimum: int = 1) -> None:
    """Integer fields of a section, each >= ``minimum``."""
    for name in names:
        value = getattr(section, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            _fail(f"{section._where}.{name}", f"must be {wanted}, got {value!r}")


def _check_fractions(section: Any, names: tuple[str, ...]) -> None:
    """Number fields of a section, each in [0, 1]."""
    for name in names:
        value = getattr(section, name)
        if not _is_number(value) or not 0 <= value <= 1:
            _fail(f"{section._where}.{name}", f"must be in [0, 1], got {value!r}")


def _check_non_negative(section: Any, names: tuple[str, ...]) -> None:
    """Number fields of a section, each >= 0."""
    for name in names:
        value = getattr(section, name)
        if not _is_number(value) or value < 0:
            _fail(f"{section._where}.{name}", f"must be a number >= 0, got {value!r}")


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
        _check_columns(f"{w}.numeric", self.numeric)
        _check_columns(f"{w}.categorical", self.categorical)
        if not self.numeric and not self.categorical:
            _fail(w, "needs at least one numeric or categorical feature")
        both = set(self.numeric) & set(self.categorical)
        if both:
            _fail(w, f"columns listed as both numeric and categorical: {sorted(both)}")
        for column, bounds in self.ranges.items():
            if column not in self.numeric:
                _fail(f"{w}.ranges.{column}", "is not a numeric feature")
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(_is_number(b) for b in bounds)
                or bounds[0] > bounds[1]
            ):
                _fail(f"{w}.ranges.{column}", f"must be [min, max] with min <= max, got {bounds!r}")
        for column, values in self.allowed_values.items():
            if column not in self.categorical:
                _fail(f"{w}.allowed_values.{column}", "is not a categorical feature")
            if not isinstance(values, list) or not values:
                _fail(f"{w}.allowed_values.{column}", f"must be a non-empty list, got {values!r}")
        if not _is_number(self.max_null_fraction) or not 0 <= self.max_null_fraction <= 1:
            _fail(f"{w}.max_null_fraction", f"must be in [0, 1], got {self.max_null_fraction!r}")

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
        if not re.match(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$", str(self.class_path)):
            _fail(f"{self._where}.class_path", f"must be a dotted import path, got {self.class_path!r}")
        if not isinstance(self.params, dict):
            _fail(f"{self._where}.params", f"must be a mapping, got {self.params!r}")


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
        _check_ints(self, ("window_days", "min_rows", "max_feature_age_days"))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            _fail(f"{w}.seed", f"must be an integer, got {self.seed!r}")
        if not _is_number(self.holdout_fraction) or not 0.05 <= self.holdout_fraction <= 0.5:
            _fail(f"{w}.holdout_fraction", f"must be in [0.05, 0.5], got {self.holdout_fraction!r}")
        if self.dedupe not in ("latest", "none"):
            _fail(f"{w}.dedupe", f"must be 'latest' or 'none', got {self.dedupe!r}")


@dataclass
class EvaluationConfig:
    metrics: list[str] = field(default_factory=lambda: ["roc_auc"])
    primary_metric: str = "roc_auc"
    # Categorical column whose values get their own metrics (and a slice gate).
    slice_column: str | None = None
    _where: str = field(default="evaluation", repr=False, compare=False)


@dataclass
class GatesConfig:
    # Absolute thresholds: {metric: threshold}; direction comes from the metric.
    min_metrics: dict[str, float] = field(default_factory=dict)
    # Challenger may be at most this much worse than the champion on the primary metric.
    max_regression: float = 0.01
    # Every slice must reach this on the primary metric (when a slice column is set).
    min_slice_metric: float | None = None
    # Slices with fewer hold-out rows than this are reported but not gated.
    min_slice_rows: int = 50
    max_latency_ms_per_1k: float = 500.0
    max_model_size_mb: float = 50.0
    _where: str = field(default="gates", repr=False, compare=False)


@dataclass
class ScoringConfig:
    # Rows per chunk read, validated and scored at a time: bounds memory whatever the input size.
    chunk_rows: int = 100_000
    # Upper bound on mapped scoring tasks per run (Airflow caps mapping at 1,024 by default).
    max_parallel: int = 8
    # A partition with more quarantined rows than this share fails and publishes nothing.
    max_quarantine_fraction: float = 0.05
    # Numeric values beyond the training [min, max] by more than this share of the span are
    # quarantined as out of range.
    range_tolerance: float = 0.5
    # A feature whose null rate exceeds the training null rate by more than this fails the run.
    max_null_increase: float = 0.3
    _where: str = field(default="scoring", repr=False, compare=False)  # noqa: contract

    def __post_init__(self) -> None:
        w = self._where
        _check_ints(self, ("chunk_rows", "max_parallel"))
        if self.max_parallel > 512:
            _fail(f"{w}.max_parallel", f"must be <= 512 (Airflow caps mapped tasks), got {self.max_parallel}")
        _check_fractions(self, ("max_quarantine_fraction", "max_null_increase"))
        _check_non_negative(self, ("range_tolerance",))


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RETRAIN_TRIGGERS = ("dataset_drift", "performance_drop", "new_labels", "model_age", "manual")


@dataclass
class MonitoringConfig:
    """What monitor_<model> checks and when it asks for a retrain (see include/monitor/steps.py)."""

    # Current window: the feature partitions of the last window_days days up to the run's day.
    window_days: int = 1
    # Dataset drift when at least this share of features drift (evidently's DataDriftPreset).
    drift_share: float = 0.5
    # Per-column test overrides, e.g. {monthly_charges: {stattest: psi, threshold: 0.2}}.
    stattests: dict[str, dict[str, Any]] = field(default_factory=dict)
    null_rate_margin: float = 0.1
    row_count_tolerance: float = 0.5
    trailing_partitions: int = 7
    # Performance on delayed labels over this many days of predictions.
    performance_window_days: int = 14
    max_performance_drop: float = 0.05
    concept_detector: str = "adwin"
    min_new_labels: int = 20000
    max_model_age_days: int = 30
    triggers: list[str] = field(default_factory=lambda: list(RETRAIN_TRIGGERS))
    report_sample_rows: int = 5000
    _where: str = field(default="monitoring", repr=False, compare=False)  # noqa: contract

    def __post_init__(self) -> None:
        w = self._where
        _check_ints(
            self,
            (
                "window_days",
                "trailing_partitions",
                "performance_window_days",
                "min_new_labels",
                "max_model_age_days",
                "report_sample_rows",
            ),
        )
        _check_fractions(self, ("drift_share", "null_rate_margin", "max_performance_drop"))
        _check_non_negative(self, ("row_count_tolerance",))
        if self.concept_detector not in ("adwin", "page_hinkley", "ddm"):
            _fail(f"{w}.concept_detector", f"must be adwin, page_hinkley or ddm, got {self.concept_detector!r}")
        unknown = sorted(set(self.triggers) - set(RETRAIN_TRIGGERS))
        if unknown:
            _fail(f"{w}.triggers", f"unknown trigger(s) {unknown}; known: {list(RETRAIN_TRIGGERS)}")
        if not isinstance(self.stattests, dict):
            _fail(f"{w}.stattests", f"must be a mapping of column -> {{stattest, threshold}}, got {self.stattests!r}")
        for column, spec in self.stattests.items():
            if not isinstance(spec, dict) or not set(spec) <= {"stattest", "threshold"}:
                _fail(f"{w}.stattests.{column}", f"must hold stattest and/or threshold, got {spec!r}")


@dataclass
class DeployConfig:
    """When a challenger may replace the champion (see include/deploy/steps.py)."""

    # Shadow evidence the challenger needs: batches and rows scored beside the champion,
    # spanning at least min_hours of data.
    min_shadow_batches: int = 3
    min_shadow_rows: int = 1000
    min_shadow_hours: float = 48.0
    min_agreement: float = 0.8
    max_error_rate: float = 0.0
    max_latency_ms_per_1k: float = 500.0
    # Where labels have arrived: challenger's live primary metric may trail the champion's by
    # at most this much.
    max_live_regression: float = 0.02
    # A challenger still in shadow after this many days is rejected.
    reject_after_days: int = 30
    # No promotions on these weekdays (mon..sun) or dates (YYYY-MM-DD), UTC.
    freeze_weekdays: list[str] = field(default_factory=list)
    freeze_dates: list[str] = field(default_factory=list)
    approval_required: bool = False
    approval_timeout_hours: float = 24.0
    # Post-promotion health check: champion scores of the saved sample must match the scores
    # recorded at training time within this absolute tolerance.
    health_tolerance: float = 1e-6
    _where: str = field(default="deploy", repr=False, compare=False)

    def __post_init__(self) -> None:
        w = self._where
        _check_ints(self, ("min_shadow_batches", "min_shadow_rows", "reject_after_days"), minimum=0)
        _check_fractions(self, ("min_agreement", "max_error_rate"))
        _check_non_negative(
            self,
            (
                "min_shadow_hours",
                "max_latency_ms_per_1k",
                "max_live_regression",
                "approval_timeout_hours",
                "health_tolerance",
            ),
        )
        bad = [d for d in self.freeze_weekdays if d not in _WEEKDAYS]
        if bad:
            _fail(f"{w}.freeze_weekdays", f"unknown weekday(s) {bad}; use {list(_WEEKDAYS)}")
        for day in self.freeze_dates:
            try:
                dt.date.fromisoformat(str(day))
            except ValueError:
                _fail(f"{w}.freeze_dates", f"{day!r} is not a YYYY-MM-DD date")
        if not isinstance(self.approval_required, bool):
            _fail(f"{w}.approval_required", f"must be true or false, got {self.approval_required!r}")


@dataclass
class SchedulesConfig:
    retrain: str | None = "@weekly"
    score: str | None = "@daily"
    monitor: str | None = "@daily"
    promote: str | None = "@daily"
    _where: str = field(default="schedules", repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("retrain", "score", "monitor", "promote"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                _fail(f"{self._where}.{name}", f"must be a cron string, preset or null, got {value!r}")


@dataclass
class NotificationTarget:
    type: str
    events: list[str] = field(default_factory=lambda: list(NOTIFY_EVENTS))
    # file: path (default: $MLOPS_NOTIFY_DIR/<model>.jsonl); webhook: url or url_env;
    # smtp: to + conn_id; slack: conn_id or url_env. Secrets never live here: only the
    # name of the Airflow connection or environment variable that holds them.
    path: str | None = None
    url_env: str | None = None
    conn_id: str | None = None
    to: list[str] = field(default_factory=list)
    _where: str = field(default="notifications", repr=False, compare=False)

    def __post_init__(self) -> None:
        w = self._where
        if self.type not in NOTIFY_TYPES:
            _fail(f"{w}.type", f"must be one of {list(NOTIFY_TYPES)}, got {self.type!r}")
        unknown = set(self.events) - set(NOTIFY_EVENTS)
        if unknown:
            _fail(f"{w}.events", f"unknown events {sorted(unknown)}; known: {list(NOTIFY_EVENTS)}")
        if self.type == "webhook" and not self.url_env:
            _fail(w, "a webhook target needs url_env (the environment variable holding the URL)")
        if self.type == "smtp" and not self.to:
            _fail(f"{w}.to", "an smtp target needs at least one recipient")
        if self.type == "slack" and not (self.conn_id or self.url_env):
            _fail(w, "a slack target needs conn_id or url_env")


@dataclass
class ModelConfig:
    name: str
    task: str
    entity_id: str
    timestamp: str
    target: str
    features: FeaturesConfig
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    gates: GatesConfig = field(default_factory=GatesConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    schedules: SchedulesConfig = field(default_factory=SchedulesConfig)
    notifications: list[NotificationTarget] = field(
        default_factory=lambda: [NotificationTarget(type="log"), NotificationTarget(type="file")]
    )
    # Types skops may load beyond its defaults (checked when saving and loading the model).
    skops_trusted_types: list[str] = field(default_factory=list)
    description: str = ""
    intended_use: str = ""
    owner: str = "data-team"
    tags: list[str] = field(default_factory=list)
    source: str = field(default="<config>", compare=False)

    def __post_init__(self) -> None:
        s = self.source
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            _fail(f"{s}: name", f"must match {_NAME_RE.pattern} (used in DAG ids and paths), got {self.name!r}")
        if self.task not in TASKS:
            _fail(f"{s}: task", f"must be one of {list(TASKS)}, got {self.task!r}")
        for key in ("entity_id", "timestamp", "target"):
            value = getattr(self, key)
            if not isinstance(value, str) or not _COLUMN_RE.match(value):
                _fail(f"{s}: {key}", f"must be a column name, got {value!r}")
        reserved = {self.entity_id, self.timestamp, self.target}
        clash = reserved & set(self.features.all)
        if clash:
            _fail(f"{s}: features", f"{sorted(clash)} is the entity, timestamp or target column")
        self._check_evaluation()
        self._check_gates()
        for column in self.monitoring.stattests:
            if column not in self.features.all:
                _fail(f"{s}: monitoring.stattests.{column}", "is not a feature column")
        for name in self.skops_trusted_types:
            if not isinstance(name, str) or "." not in name:
                _fail(f"{s}: skops_trusted_types", f"entries are dotted type names, got {name!r}")

    def _check_evaluation(self) -> None:
        s, ev = self.source, self.evaluation
        known = METRICS[self.task]
        if not ev.metrics:
            _fail(f"{s}: evaluation.metrics", "needs at least one metric")
        for metric in ev.metrics:
            if metric not in known:
                _fail(f"{s}: evaluation.metrics", f"unknown {self.task} metric {metric!r}; known: {sorted(known)}")
        if ev.primary_metric not in ev.metrics:
            _fail(f"{s}: evaluation.primary_metric", f"{ev.primary_metric!r} is not in evaluation.metrics {ev.metrics}")
        if ev.slice_column is not None and ev.slice_column not in self.features.categorical:
            _fail(f"{s}: evaluation.slice_column", f"{ev.slice_column!r} is not a categorical feature")

    def _check_gates(self) -> None:
        s, g = self.source, self.gates
        for metric, threshold in g.min_metrics.items():
            where = f"{s}: gates.min_metrics.{metric}"
            if metric not in self.evaluation.metrics:
                _fail(where, f"is not in evaluation.metrics {self.evaluation.metrics}")
            if not _is_number(threshold):
                _fail(where, f"must be a number, got {threshold!r}")
            if metric in _UNIT_METRICS and not 0 <= threshold <= 1:
                _fail(where, f"must be a number in [0, 1], got {threshold!r}")
        if not _is_number(g.max_regression) or g.max_regression < 0:
            _fail(f"{s}: gates.max_regression", f"must be a number >= 0, got {g.max_regression!r}")
        if g.min_slice_metric is not None and not _is_number(g.min_slice_metric):
            _fail(f"{s}: gates.min_slice_metric", f"must be a number or null, got {g.min_slice_metric!r}")
        for name in ("max_latency_ms_per_1k", "max_model_size_mb"):
            value = getattr(g, name)
            if not _is_number(value) or value <= 0:
                _fail(f"{s}: gates.{name}", f"must be a number > 0, got {value!r}")
        if not isinstance(g.min_slice_rows, int) or g.min_slice_rows < 1:
            _fail(f"{s}: gates.min_slice_rows", f"must be a positive integer, got {g.min_slice_rows!r}")

    @property
    def higher_is_better(self) -> dict[str, bool]:
        return METRICS[self.task]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for MLflow params/artifacts), without private bookkeeping fields."""

        def clean(value: Any) -> Any:
            if dataclasses.is_dataclass(value):
                return {
                    f.name: clean(getattr(value, f.name))
                    for f in dataclasses.fields(value)
                    if not f.name.startswith("_") and f.name != "source"
                }
            if isinstance(value, list):
                return [clean(v) for v in value]
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            return value

        return clean(self)


_SECTIONS: dict[str, type] = {
    "features": FeaturesConfig,
    "estimator": EstimatorConfig,
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "gates": GatesConfig,
    "scoring": ScoringConfig,
    "deploy": DeployConfig,
    "monitoring": MonitoringConfig,
    "schedules": SchedulesConfig,
}


def _build(cls: type, data: Any, where: str) -> Any:
    """Instantiate a section dataclass from a mapping, refusing unknown keys by name."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        _fail(where, f"must be a mapping, got {type(data).__name__}")
    allowed = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    unknown = sorted(set(data) - allowed)
    if unknown:
        _fail(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - set(data))
    if missing:
        _fail(where, f"missing required key(s) {missing}")
    try:
        return cls(**data, _where=where)
    except TypeError as exc:  # e.g. a wrong type a section cannot coerce
        _fail(where, str(exc))


def parse_config(data: Any, source: str = "<config>") -> ModelConfig:
    """Validate a config mapping (as read from YAML) into a ModelConfig."""
    if not isinstance(data, dict):
        _fail(source, f"must be a YAML mapping, got {type(data).__name__}")
    top = {f.name for f in dataclasses.fields(ModelConfig) if f.name != "source"}
    unknown = sorted(set(data) - top)
    if unknown:
        _fail(source, f"unknown key(s) {unknown}; allowed: {sorted(top)}")
    missing = sorted({"name", "task", "entity_id", "timestamp", "target", "features"} - set(data))  # noqa: contract
    if missing:
        _fail(source, f"missing required key(s) {missing}")
    kwargs: dict[str, Any] = {k: v for k, v in data.items() if k not in _SECTIONS and k != "notifications"}
    for key, cls in _SECTIONS.items():
        if key in data:
            kwargs[key] = _build(cls, data[key], f"{source}: {key}")
    if "notifications" in data:
        targets = data["notifications"]
        if not isinstance(targets, list):
            _fail(f"{source}: notifications", "must be a list of targets")
        kwargs["notifications"] = [
            _build(NotificationTarget, t, f"{source}: notifications[{i}]") for i, t in enumerate(targets)
        ]
    for key in ("skops_trusted_types", "tags"):
        if key in kwargs and not isinstance(kwargs[key], list):
            _fail(f"{source}: {key}", f"must be a list, got {kwargs[key]!r}")
    return ModelConfig(**kwargs, source=source)


def load_config(path: str | os.PathLike) -> ModelConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    config = parse_config(data, source=str(path))
    if config.name != path.stem:
        _fail(f"{path}: name", f"must equal the file name {path.stem!r}, got {config.name!r}")
    return config


def config_dir() -> Path:
    default = Path(__file__).resolve().parent / "models"
    return Path(os.environ.get("MLOPS_CONFIG_DIR") or default)


def load_all(directory: str | os.PathLike | None = None) -> list[ModelConfig]:
    """Every ``*.yaml`` model config in the directory, sorted by name."""
    directory = Path(directory) if directory else config_dir()
    return [load_config(p) for p in sorted(directory.glob("*.yaml"))]


def get_config(name: str, directory: str | os.PathLike | None = None) -> ModelConfig:
    directory = Path(directory) if directory else config_dir()
    path = directory / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"no model config {path}")
    return load_config(path)
