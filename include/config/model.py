"""``ModelConfig``: one model's whole configuration, with the checks that span sections."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from include.config.checks import COLUMN_RE, fail, is_number
from include.config.lifecycle import DeployConfig, MonitoringConfig
from include.config.notifications import NotificationTarget
from include.config.sections import (
    EstimatorConfig,
    EvaluationConfig,
    FeaturesConfig,
    GatesConfig,
    SchedulesConfig,
    ScoringConfig,
    TrainingConfig,
)

TASKS = ("classification", "regression")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

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
UNIT_METRICS = {"roc_auc", "average_precision", "f1", "precision", "recall", "accuracy", "brier"}


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
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            fail(f"{s}: name", f"must match {NAME_RE.pattern} (used in DAG ids and paths), got {self.name!r}")
        if self.task not in TASKS:
            fail(f"{s}: task", f"must be one of {list(TASKS)}, got {self.task!r}")
        for key in ("entity_id", "timestamp", "target"):
            value = getattr(self, key)
            if not isinstance(value, str) or not COLUMN_RE.match(value):
                fail(f"{s}: {key}", f"must be a column name, got {value!r}")
        reserved = {self.entity_id, self.timestamp, self.target}
        clash = reserved & set(self.features.all)
        if clash:
            fail(f"{s}: features", f"{sorted(clash)} is the entity, timestamp or target column")
        self._check_evaluation()
        self._check_gates()
        for column in self.monitoring.stattests:
            if column not in self.features.all:
                fail(f"{s}: monitoring.stattests.{column}", "is not a feature column")
        for name in self.skops_trusted_types:
            if not isinstance(name, str) or "." not in name:
                fail(f"{s}: skops_trusted_types", f"entries are dotted type names, got {name!r}")

    def _check_evaluation(self) -> None:
        s, ev = self.source, self.evaluation
        known = METRICS[self.task]
        if not ev.metrics:
            fail(f"{s}: evaluation.metrics", "needs at least one metric")
        for metric in ev.metrics:
            if metric not in known:
                fail(f"{s}: evaluation.metrics", f"unknown {self.task} metric {metric!r}; known: {sorted(known)}")
        if ev.primary_metric not in ev.metrics:
            fail(f"{s}: evaluation.primary_metric", f"{ev.primary_metric!r} is not in evaluation.metrics {ev.metrics}")
        if ev.slice_column is not None and ev.slice_column not in self.features.categorical:
            fail(f"{s}: evaluation.slice_column", f"{ev.slice_column!r} is not a categorical feature")

    def _check_gates(self) -> None:
        s, g = self.source, self.gates
        for metric, threshold in g.min_metrics.items():
            where = f"{s}: gates.min_metrics.{metric}"
            if metric not in self.evaluation.metrics:
                fail(where, f"is not in evaluation.metrics {self.evaluation.metrics}")
            if not is_number(threshold):
                fail(where, f"must be a number, got {threshold!r}")
            if metric in UNIT_METRICS and not 0 <= threshold <= 1:
                fail(where, f"must be a number in [0, 1], got {threshold!r}")
        if not is_number(g.max_regression) or g.max_regression < 0:
            fail(f"{s}: gates.max_regression", f"must be a number >= 0, got {g.max_regression!r}")
        if g.min_slice_metric is not None and not is_number(g.min_slice_metric):
            fail(f"{s}: gates.min_slice_metric", f"must be a number or null, got {g.min_slice_metric!r}")
        for name in ("max_latency_ms_per_1k", "max_model_size_mb"):
            value = getattr(g, name)
            if not is_number(value) or value <= 0:
                fail(f"{s}: gates.{name}", f"must be a number > 0, got {value!r}")
        if not isinstance(g.min_slice_rows, int) or g.min_slice_rows < 1:
            fail(f"{s}: gates.min_slice_rows", f"must be a positive integer, got {g.min_slice_rows!r}")

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
