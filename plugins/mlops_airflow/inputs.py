"""Scheduled runs over a day whose input is not there yet skip instead of failing.

A scheduled run (``run_type`` ``scheduled``) starts on the clock, whether or not the day's data
was committed; failing and retrying it holds the DAG's one active run slot for nothing, and a
person's manual run waits behind it. So the first task of ``batch_score``, ``monitor`` and
``retrain`` calls ``skip_scheduled_run_without_input``: on a scheduled run with no committed
partition of its input in the range, the task raises ``AirflowSkipException`` (the rest of the
run is skipped, the run ends ``success``) after a log line naming the missing partitions and
how to commit them. Any other run (manual, backfill, asset-triggered) is someone asking for
those dates: it goes on and fails with the pipeline's own error.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from include.platform.partitions import list_partitions, not_committed_message
from include.platform.storage import Storage

log = logging.getLogger("airflow.task")

SCHEDULED = "scheduled"  # DagRunType.SCHEDULED's value


def is_scheduled(dag_run: Any) -> bool:
    """True for a run the scheduler started on the DAG's timetable."""
    run_type = getattr(dag_run, "run_type", None)
    return getattr(run_type, "value", run_type) == SCHEDULED


def day_after(ds: str | dt.date) -> dt.date:
    """The exclusive end of a range whose last day is ``ds``."""
    day = ds if isinstance(ds, dt.date) else dt.date.fromisoformat(ds)
    return day + dt.timedelta(days=1)


def skip_scheduled_run_without_input(
    storage: Storage, dataset: str, model: str, start: str | dt.date, end: str | dt.date, dag_run: Any
) -> None:
    """Skip a scheduled run when ``<dataset>/<model>`` has no committed partition in ``[start, end)``.

    Returns when the run is not scheduled or a partition is there.
    """
    if not is_scheduled(dag_run) or list_partitions(storage, dataset, model, start, end):
        return
    dag_id = getattr(dag_run, "dag_id", "the DAG")
    message = (
        f"scheduled run skipped, input not there yet: {not_committed_message(storage, dataset, model, start, end)}. "
        f"Once committed, trigger {dag_id} for these dates (manual runs are not skipped)."
    )
    log.warning("%s", message)
    raise AirflowSkipException(message)
