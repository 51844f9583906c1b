"""What every operator of this project shares: the retry policy of ``mlops_airflow.retry``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from include.platform.termination import request_stop, stop_on_sigterm
from mlops_airflow.retry import RETRY_POLICY


def truthy(value: Any) -> bool:
    """A templated flag (``"{{ params.dry_run }}"`` renders as ``"True"``) as a bool."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class MlopsBaseOperator(BaseOperator):
    """``BaseOperator`` whose ``retry_policy`` defaults to the project's: ``NotRetryable`` errors
    fail at once, outages are retried. A DAG's ``default_args`` or an explicit argument wins."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("retry_policy", RETRY_POLICY)
        super().__init__(**kwargs)

    def pre_execute(self, context: Any) -> None:
        """SIGTERM stops this task: ``include/platform/termination.py``."""
        stop_on_sigterm()

    def on_kill(self) -> None:
        """Told to stop before ``pre_execute`` installed the handler: nothing more is written."""
        request_stop()
