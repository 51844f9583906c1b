"""The one place where the core's error families become Airflow's retry decisions.

* ``include.errors.NotRetryable`` (bad data, bad config, a refused move): the task fails at
  once, without retries; the message says what to fix.
* ``include.errors.Transient`` (storage, MLflow or a database did not answer): retried with
  exponential backoff (``retry_delay`` x 2 per try, at most ``MAX_RETRY_DELAY``).
* Anything else keeps Airflow's retries: it may be an outage the core did not recognise.

Every MLOps DAG gets this through ``dag_defaults.default_args``; the project's operators set it
too, so a data engineer's own DAG composed from them behaves the same.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

from include.errors import NotRetryable, Transient

RETRIES = 3
RETRY_DELAY = dt.timedelta(seconds=int(os.environ.get("MLOPS_RETRY_DELAY_SECONDS", "60")))
BACKOFF = 2.0  # retry_exponential_backoff: delay x 2 per try
MAX_RETRY_DELAY = dt.timedelta(minutes=30)

RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=NotRetryable,
            action=RetryAction.FAIL,
            reason="not retryable: the same input fails the same way; fix what the error says, then run again",
        ),
        RetryRule(
            exception=Transient,
            action=RetryAction.RETRY,
            reason="outage: a service did not answer; retrying with backoff",
        ),
    ],
)


def retry_args() -> dict[str, object]:
    """Task arguments for the retry behaviour above (``default_args`` and operator defaults)."""
    return {
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": BACKOFF,
        "max_retry_delay": MAX_RETRY_DELAY,
        "retry_policy": RETRY_POLICY,
    }
