"""Model configuration: one YAML file per model under ``include/models/``.

Adding a model is adding a file; nothing else changes. Each section is a dataclass that
validates itself in ``__post_init__`` and every error names the file and the field, e.g.
``include/models/churn.yaml: gates.min_metrics.roc_auc: must be a number in [0, 1], got 7``.

Only the standard library and PyYAML are imported here: DAG files read configs at parse time.

* ``checks``: the field checks every section uses.
* ``sections``: features, estimator, training, evaluation, gates, scoring, schedules.
* ``lifecycle``: monitoring and deploy.
* ``notifications``: the notification targets (types, events).
* ``model``: ``ModelConfig`` and the metric directions (``METRICS``).
* ``loading``: YAML -> ``ModelConfig`` (``parse_config``, ``load_config``, ``load_all``, ``get_config``;
  ``load_valid`` for the DAG files: the valid configs and the errors of the broken ones).
* ``imports``: what a config may name as code (``estimator.class_path`` prefixes, ``skops_trusted_types``).
"""

from __future__ import annotations

from include.config.imports import allowed_import_prefixes
from include.config.lifecycle import (
    DEFAULT_TRIGGERS,
    RETRAIN_TRIGGERS,
    DeployConfig,
    MonitoringConfig,
    stattest_module_names,
)
from include.config.loading import (
    LoadedConfigs,
    config_dir,
    get_config,
    load_all,
    load_config,
    load_valid,
    parse_config,
)
from include.config.model import METRICS, TASKS, ModelConfig
from include.config.notifications import NOTIFY_EVENTS, NOTIFY_TYPES, NotificationTarget, notify_types
from include.config.sections import (
    EstimatorConfig,
    EvaluationConfig,
    FeaturesConfig,
    GatesConfig,
    SchedulesConfig,
    ScoringConfig,
    TrainingConfig,
)
from include.errors import ConfigError

__all__ = [
    "DEFAULT_TRIGGERS",
    "METRICS",
    "NOTIFY_EVENTS",
    "NOTIFY_TYPES",
    "RETRAIN_TRIGGERS",
    "TASKS",
    "ConfigError",
    "DeployConfig",
    "EstimatorConfig",
    "EvaluationConfig",
    "FeaturesConfig",
    "GatesConfig",
    "LoadedConfigs",
    "ModelConfig",
    "MonitoringConfig",
    "NotificationTarget",
    "SchedulesConfig",
    "ScoringConfig",
    "TrainingConfig",
    "allowed_import_prefixes",
    "config_dir",
    "get_config",
    "load_all",
    "load_config",
    "load_valid",
    "notify_types",
    "parse_config",
    "stattest_module_names",
]
