"""Where the run metrics go: the Pushgateway of an Airflow connection, or of the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseHook

from mlops_airflow.hooks.connections import optional_connection

log = logging.getLogger(__name__)
PUSHGATEWAY_URL_ENV = "MLOPS_PUSHGATEWAY_URL"


class PushgatewayHook(BaseHook):
    """Pushes a run's series (``include.observe``) to a Prometheus Pushgateway.

    The address: the connection ``pushgateway_conn_id``'s host (``http://`` added when it has no
    scheme) and port, with its login and password as basic auth; without that connection
    ``$MLOPS_PUSHGATEWAY_URL``. Neither set: nothing is pushed, and one log line says so (a
    local setup without Prometheus is a normal setup). Outages are warnings
    (``include/observe/push.py``): the run's data is already published when it pushes.
    """

    conn_name_attr = "pushgateway_conn_id"
    default_conn_name = "pushgateway_default"
    hook_name = "Prometheus Pushgateway"

    def __init__(self, *, pushgateway_conn_id: str | None = default_conn_name) -> None:
        super().__init__()
        self.pushgateway_conn_id = pushgateway_conn_id

    def _connection(self) -> Any | None:
        conn = optional_connection(self.pushgateway_conn_id)
        return conn if conn is not None and conn.host else None

    def url(self) -> str | None:
        conn = self._connection()
        if conn is not None:
            host = conn.host if "://" in conn.host else f"http://{conn.host}"
            return f"{host}:{conn.port}" if conn.port else host
        return os.environ.get("MLOPS_PUSHGATEWAY_URL") or None  # PUSHGATEWAY_URL_ENV

    def auth(self) -> tuple[str, str] | None:
        conn = self._connection()
        return (conn.login, conn.password or "") if conn is not None and conn.login else None

    def push(self, job: str, model: str, series: Sequence[Any]) -> bool:
        """Replace the group ``job`` + ``model`` with ``series``; False when nothing was pushed."""
        from include.observe.push import push

        url = self.url()
        if not url:
            where = f"connection {self.pushgateway_conn_id} or " if self.pushgateway_conn_id else ""
            log.info("metrics not pushed: no Pushgateway configured (%s%s)", where, PUSHGATEWAY_URL_ENV)
            return False
        return push(url, job, {"model": model}, series, auth=self.auth())


# -- one function per pipeline: what the tasks call once their data is published -------------------
def push_monitor_metrics(summary: dict[str, Any], hook: PushgatewayHook | None = None) -> bool:
    """A monitor run's ``summary.json`` (``include/monitor/report.py``) to the Pushgateway."""
    import time

    from include.observe.families import monitor_series
    from include.observe.names import Job

    return (hook or PushgatewayHook()).push(Job.MONITOR, summary["model"], monitor_series(summary, time.time()))


def push_scoring_metrics(
    model: str, version: str, published: dict[str, Any], hook: PushgatewayHook | None = None
) -> bool:
    """A scoring run's published dates (their manifest summaries) and failed dates; nothing for
    a dry run (it published nothing)."""
    import time

    from include.observe.families import scoring_series
    from include.observe.names import Job

    if published.get("dry_run"):
        return False
    series = scoring_series(model, version, published["dates"], published.get("failed") or {}, pushed_at=time.time())
    return (hook or PushgatewayHook()).push(Job.SCORING, model, series)


def push_deploy_metrics(
    model: str, champion: str, action: str, history: list[dict[str, Any]], hook: PushgatewayHook | None = None
) -> bool:
    """A deploy move (``promote`` / ``rollback``) with the model's audit trail."""
    import time

    from include.observe.families import deploy_series
    from include.observe.names import Job

    series = deploy_series(model, champion, action, history, time.time())
    return (hook or PushgatewayHook()).push(Job.DEPLOY, model, series)
