"""Settings every MLOps DAG shares: start date, retries, failure notifications, docs, tags."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronDataIntervalTimetable, CronTriggerTimetable, Param

from include.config import ModelConfig
from include.errors import ParamError
from include.platform.termination import request_stop, stop_on_sigterm
from mlops_airflow.notifiers.mlops import MlopsNotifier
from mlops_airflow.operators.base import MlopsBaseOperator
from mlops_airflow.retry import retry_args

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
# One promotion or rollback at a time per deployment (create it with: make pools).
DEPLOY_POOL = os.environ.get("MLOPS_DEPLOY_POOL", "mlops_deploy")


def default_args(config: ModelConfig) -> dict[str, Any]:
    return {
        "owner": config.owner,
        **retry_args(),
        # SIGTERM stops the task (``airflow dags test`` has no supervisor to follow up with SIGKILL).
        "pre_execute": stop_on_sigterm,
        "on_failure_callback": MlopsNotifier(model_name=config.name, event="failure"),
    }


@contextmanager
def mlops_dag(
    config: ModelConfig, kind: str, *, doc_md: str, description: str, schedule: Any, params: dict
) -> Iterator[DAG]:
    """``with mlops_dag(...) as dag:``: ``<kind>_<model>`` with the settings every MLOps DAG shares.

    One run at a time per DAG, no catchup, retries and failure notifications from
    ``default_args``, the DAG file's docstring plus the model's description as ``doc_md``; on
    leaving the block every task's ``on_kill`` also stops the process (``stop_on_kill``).
    """
    with DAG(
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
    ) as dag:
        yield dag
    for task in dag.tasks:
        stop_on_kill(task)


def stop_on_kill(task: Any) -> None:
    """Make ``task.on_kill`` record the stop (``include/platform/termination.py``): a SIGTERM that
    lands after Airflow installed its handler but before ``pre_execute`` reaches only ``on_kill``.
    ``MlopsBaseOperator`` does this itself; ``@task`` operators get a wrapper here. A mapped task
    is unmapped into a fresh operator at run time, so its gap stays (its writes are atomic and
    idempotent: ``include/score/writer.py``)."""
    if isinstance(task, MlopsBaseOperator) or not hasattr(task, "on_kill"):
        return
    original = task.on_kill

    def on_kill() -> None:
        request_stop()
        original()

    task.on_kill = on_kill


# Trigger-form Params. What Airflow 3.3's form (FlexibleForm) does with a Param's schema:
# * a ``type`` without "null" makes the field required: an empty box (sent as null) keeps Trigger
#   disabled and the form opens red. Optional Params are ``["null", <type>]`` with default None.
# * ``format: "date"`` renders the browser's date picker, which shows the browser's locale format
#   (mm/dd/yyyy in en-US) and sends YYYY-MM-DD.
# * a number field clamps to the schema's top-level ``minimum``/``maximum`` on blur, silently
#   (0 becomes 1). So bounds go in an ``allOf`` sub-schema: the form leaves the number as typed,
#   and the API refuses the trigger with "Invalid input for param <name>: 0 is less than the
#   minimum of 1", shown at the top of the form (as is "2.5 is not of type 'null', 'integer'").
DATE_HELP = (
    "Pick a day (the box shows your browser's date format, e.g. mm/dd/yyyy; the value is sent as "
    "YYYY-MM-DD: write it that way in the JSON conf, the API or the CLI)."
)


def date_param(title: str, description: str) -> Param:
    """An optional date Param: a date picker in the trigger form, empty by default so that
    scheduled runs take their dates from the data interval."""
    return Param(None, type=["null", "string"], format="date", title=title, description=f"{DATE_HELP} {description}")


def text_param(title: str, description: str | None = None, *, max_length: int = 500) -> Param:
    """An optional free-text Param: an empty box is valid (the value is None)."""
    return Param(None, type=["null", "string"], maxLength=max_length, title=title, description=description)


def count_param(
    default: int | None, title: str, description: str, *, minimum: int, maximum: int | None = None
) -> Param:
    """A whole-number Param in ``[minimum, maximum]``; with default None, empty is valid.

    The bounds are refused when the run is triggered (not clamped by the form: see above) and
    are stated in the description.
    """
    bounds: dict[str, int] = {"minimum": minimum} if maximum is None else {"minimum": minimum, "maximum": maximum}
    span = f"at least {minimum}" if maximum is None else f"{minimum} to {maximum}"
    kinds = "integer" if default is not None else ["null", "integer"]
    return Param(default, type=kinds, allOf=[bounds], title=title, description=f"A whole number, {span}. {description}")


def checked_count(params: Any, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    """The ``name`` Param as an int, or None when empty; out of range or not a whole number
    raises ParamError naming the Param (for runs whose conf skipped the trigger-time check)."""
    value = (params or {}).get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise ParamError(f"Param {name} must be a whole number, got {value!r}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        span = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ParamError(f"Param {name} must be {span}, got {number}")
    return number


# Asset URIs use "x-" schemes: Airflow leaves those as they are, instead of loading every
# provider's URI normaliser while the DAG file is parsed (about 0.25 s per file).


def model_asset(name: str) -> Asset:
    """Emitted when the registry's aliases for a model may have changed."""
    return Asset(name=f"model_registry/{name}", uri=f"x-mlflow://models/{name}")


def predictions_asset(name: str) -> Asset:
    """Emitted when a model's predictions partitions were published."""
    return Asset(name=f"predictions/{name}", uri=f"x-mlops://predictions/{name}")


def retrain_request_asset(name: str) -> Asset:
    """Emitted at most once per monitor run when ``monitor_<model>`` asks for a retrain; the
    event's extra holds ``window_end`` and ``reason`` (``include/monitor/retrain_request.py``)."""
    return Asset(name=f"retrain_request/{name}")  # no URI scheme: no provider lookup at parse time


def retrain_schedule(cron: str | None, name: str) -> Any:
    """``retrain_<model>`` runs on its cron (a trigger timetable, as a plain cron string
    schedules) or when a monitor run requests a retrain; without a cron, on requests only."""
    asset = retrain_request_asset(name)
    if cron is None:
        return asset
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=asset)


def requested_retrain(triggering_asset_events: Any, name: str) -> dict[str, Any]:
    """``window_end`` and ``reason`` of the retrain request that started this run, from the
    triggering event's extra (the latest window end when several requests queued up); ``{}``
    for a run that no request started (cron, manual trigger).

    Call with the task's ``triggering_asset_events`` context value.
    """
    if not triggering_asset_events:
        return {}
    try:
        events = triggering_asset_events[retrain_request_asset(name)]
    except KeyError:
        return {}
    extras = [e.extra for e in events if e.extra and e.extra.get("window_end")]
    if not extras:
        return {}
    latest = max(extras, key=lambda extra: str(extra["window_end"]))
    return {"window_end": str(latest["window_end"]), "reason": str(latest.get("reason") or "")}


_PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"}


def daily_timetable(cron: str | None) -> CronDataIntervalTimetable | None:
    """Data-interval timetable: a run at 05:00 covers the day that just ended."""
    if cron is None:
        return None
    return CronDataIntervalTimetable(_PRESETS.get(cron, cron), timezone="UTC")
