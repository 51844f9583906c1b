"""Settings every MLOps DAG shares: start date, retries, failure notifications, docs, tags."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param

from include.config import ModelConfig
from mlops_airflow.notifiers.mlops import MlopsNotifier
from mlops_airflow.retry import retry_args

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
# One promotion or rollback at a time per deployment (create it with: make pools).
DEPLOY_POOL = os.environ.get("MLOPS_DEPLOY_POOL", "mlops_deploy")


def default_args(config: ModelConfig) -> dict[str, Any]:
    return {
        "owner": config.owner,
        **retry_args(),
        "on_failure_callback": MlopsNotifier(model_name=config.name, event="failure"),
    }


def mlops_dag(config: ModelConfig, kind: str, *, doc_md: str, description: str, schedule: Any, params: dict) -> DAG:
    """``<kind>_<model>`` with the settings every MLOps DAG shares (use as a context manager).

    One run at a time per DAG, no catchup, retries and failure notifications from
    ``default_args``, the DAG file's docstring plus the model's description as ``doc_md``.
    """
    return DAG(
        dag_id=f"{kind}_{config.name}",
        description=description[:200],
        doc_md=f"{doc_md}\n\n**Model:** `{config.name}` ({config.source}): {config.description}",
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["mlops", kind, config.name, *config.tags],
        default_args=default_args(config),
        params=params,
    )


def date_param(title: str, description: str) -> Param:
    """An optional YYYY-MM-DD Param: a date picker in the trigger form, empty by default so that
    scheduled runs take their dates from the data interval."""
    return Param(None, type=["null", "string"], format="date", title=title, description=description)


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
