"""Settings every MLOps DAG shares: start date, retries, failure notifications, docs, tags."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable

from include.config import ModelConfig
from mlops_airflow.notifiers.mlops import MlopsNotifier

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
RETRY_DELAY = dt.timedelta(seconds=int(os.environ.get("MLOPS_RETRY_DELAY_SECONDS", "300")))
# One promotion or rollback at a time per deployment (create it with: make pools).
DEPLOY_POOL = os.environ.get("MLOPS_DEPLOY_POOL", "mlops_deploy")


def default_args(config: ModelConfig) -> dict[str, Any]:
    return {
        "owner": config.owner,
        "retries": 2,
        "retry_delay": RETRY_DELAY,
        "on_failure_callback": MlopsNotifier(model_name=config.name, event="failure"),
    }


def doc(module_doc: str, config: ModelConfig) -> str:
    return f"{module_doc}\n\n**Model:** `{config.name}` ({config.source}): {config.description}"


def tags(kind: str, config: ModelConfig) -> list[str]:
    return ["mlops", kind, config.name, *config.tags]


def model_asset(name: str) -> Asset:
    """Emitted when the registry's aliases for a model may have changed."""
    return Asset(name=f"model_registry/{name}", uri=f"mlflow://models/{name}")


def predictions_asset(name: str) -> Asset:
    """Emitted when a model's predictions partitions were published."""
    return Asset(name=f"predictions/{name}", uri=f"mlops://predictions/{name}")


_PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"}


def daily_timetable(cron: str | None) -> CronDataIntervalTimetable | None:
    """Data-interval timetable: a run at 05:00 covers the day that just ended."""
    if cron is None:
        return None
    return CronDataIntervalTimetable(_PRESETS.get(cron, cron), timezone="UTC")
