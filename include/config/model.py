"""``ModelConfig``: one model's whole configuration, with the checks that span sections."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from include.config.checks import COLUMN_RE, MAX_COUNT, check_mapping, fail, is_number
from include.config.experiment import check_ab_for_task
from include.config.imports import check_trusted_type
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


def _direction_hint(metric: str, higher: bool) -> str:
    """Why a gate key contradicts its metric, and the key to use instead."""
    if higher:
        return f"{metric} is higher-is-better: put it under gates.min_metrics (a floor)"
    return f"{metric} is lower-is-better: put it under gates.max_metrics (a ceiling)"


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
            fail(
                f"{s}: name",
                "must be 1 to 63 lowercase letters, digits or underscores starting with a letter "
                f"(used in DAG ids and paths), got {self.name!r}",
            )
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
        self._check_monitoring()
        check_ab_for_task(self.deploy, self.task, self.evaluation.metrics, s)
        for column in self.monitoring.stattests:
            if column not in self.features.all:
                fail(f"{s}: monitoring.stattests.{column}", "is not a feature column")
        for name in self.skops_trusted_types:
            check_trusted_type(f"{s}: skops_trusted_types", name)
        if self.task == "classification" and self.deploy.health_tolerance >= 1:
            fail(
                f"{s}: deploy.health_tolerance",
                f"must be below 1 for a classification model (scores are probabilities: a tolerance "
                f"of 1 or more never fails the health check), got {self.deploy.health_tolerance!r}",
            )

    def _check_evaluation(self) -> None:
        s, ev = self.source, self.evaluation
        known = METRICS[self.task]
        if not isinstance(ev.metrics, list) or not ev.metrics:
            fail(f"{s}: evaluation.metrics", f"must be a list of at least one metric, got {ev.metrics!r}")
        for metric in ev.metrics:
            if metric not in known:
                fail(f"{s}: evaluation.metrics", f"unknown {self.task} metric {metric!r}; known: {sorted(known)}")
        if ev.primary_metric not in ev.metrics:
            fail(f"{s}: evaluation.primary_metric", f"{ev.primary_metric!r} is not in evaluation.metrics {ev.metrics}")
        if ev.slice_column is not None and ev.slice_column not in self.features.categorical:
            fail(f"{s}: evaluation.slice_column", f"{ev.slice_column!r} is not a categorical feature")

    def _check_gates(self) -> None:
        s, g = self.source, self.gates
        for key, higher in (("min_metrics", True), ("max_metrics", False)):
            for metric, threshold in check_mapping(f"{s}: gates.{key}", getattr(g, key)).items():
                where = f"{s}: gates.{key}.{metric}"
                if metric not in self.evaluation.metrics:
                    fail(where, f"is not in evaluation.metrics {self.evaluation.metrics}")
                self._check_threshold(where, metric, threshold)
                if self.higher_is_better[metric] != higher:
                    fail(where, _direction_hint(metric, self.higher_is_better[metric]))
        if not is_number(g.max_regression) or g.max_regression < 0:
            fail(f"{s}: gates.max_regression", f"must be a finite number >= 0, got {g.max_regression!r}")
        self._check_slice_threshold()
        for name in ("max_latency_ms_per_1k", "max_model_size_mb"):
            value = getattr(g, name)
            if not is_number(value) or value <= 0:
                fail(f"{s}: gates.{name}", f"must be a finite number > 0, got {value!r}")
        rows = g.min_slice_rows
        if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= MAX_COUNT:
            fail(f"{s}: gates.min_slice_rows", f"must be an integer from 1 to {MAX_COUNT}, got {rows!r}")

    def _check_slice_threshold(self) -> None:
        """``slice_metric_threshold`` (either direction) or its older name ``min_slice_metric``
        (a floor: refused for a lower-is-better primary metric), not both."""
        s, g = self.source, self.gates
        primary = self.evaluation.primary_metric
        if g.min_slice_metric is not None and g.slice_metric_threshold is not None:
            fail(f"{s}: gates.min_slice_metric", "set only one of min_slice_metric and slice_metric_threshold")
        for key in ("slice_metric_threshold", "min_slice_metric"):
            value = getattr(g, key)
            if value is None:
                continue
            where = f"{s}: gates.{key}"
            if not is_number(value):
                fail(where, f"must be a finite number or null, got {value!r}")
            self._check_threshold(where, primary, value)
            if key == "min_slice_metric" and not self.higher_is_better[primary]:
                fail(
                    where,
                    f"the primary metric {primary} is lower-is-better, so a slice threshold is a maximum: "
                    "put it under gates.slice_metric_threshold",
                )

    def _check_monitoring(self) -> None:
        """``max_performance_drop`` from 0 to 1 when it is relative or the primary metric is bounded;
        a concept drift detector that suits the task's errors."""
        m, primary = self.monitoring, self.evaluation.primary_metric
        if self.task == "regression" and m.concept_detector == "ddm":
            fail(
                f"{self.source}: monitoring.concept_detector",
                "ddm needs 0/1 errors and a regressor's errors are distances: use adwin or page_hinkley",
            )
        bounded = m.performance_drop_mode == "relative" or primary in UNIT_METRICS
        if bounded and m.max_performance_drop > 1:
            why = "a relative drop" if m.performance_drop_mode == "relative" else f"{primary} lies between 0 and 1"
            fail(
                f"{self.source}: monitoring.max_performance_drop",
                f"must be a number from 0 to 1 ({why}), got {m.max_performance_drop!r}",
            )

    @staticmethod
    def _check_threshold(where: str, metric: str, threshold: Any) -> None:
        """A gate on ``metric``: finite, and from 0 to 1 for a metric bounded to that range."""
        if not is_number(threshold):
            fail(where, f"must be a finite number, got {threshold!r}")
        if metric in UNIT_METRICS and not 0 <= threshold <= 1:
            fail(where, f"must be a number from 0 to 1 ({metric} lies between them), got {threshold!r}")

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
