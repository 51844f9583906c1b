"""The Airflow run a notification is about: a link to it in the Airflow UI, or its ids as text.

Inside a task, Airflow exports the run's ids to the environment (``AIRFLOW_CTX_DAG_ID``,
``AIRFLOW_CTX_DAG_RUN_ID``), so a notification sent from any task finds its run without the
caller passing it. The base URL is ``[api] base_url`` (``AIRFLOW__API__BASE_URL``); Airflow's
own configuration is read only when Airflow is already loaded (this module never imports it).
"""

from __future__ import annotations

import os
import sys
from urllib.parse import quote

DAG_ID_ENV = "AIRFLOW_CTX_DAG_ID"
RUN_ID_ENV = "AIRFLOW_CTX_DAG_RUN_ID"
BASE_URL_ENV = "AIRFLOW__API__BASE_URL"


def airflow_base_url() -> str | None:
    """``AIRFLOW__API__BASE_URL``, else ``[api] base_url`` of a loaded Airflow; None when unset."""
    url = os.environ.get(BASE_URL_ENV)
    if not url and "airflow.configuration" in sys.modules:
        try:
            url = sys.modules["airflow.configuration"].conf.get("api", "base_url", fallback=None)
        except Exception:  # a broken Airflow config must not stop a notification
            url = None
    return url.rstrip("/") if url else None


def run_link(dag_id: str | None, run_id: str | None, base_url: str | None = None) -> str:
    """``<base>/dags/<dag_id>/runs/<run_id>``; without a base URL ``dag <dag_id>, run <run_id>``;
    "" when the run is not known."""
    if not dag_id or not run_id:
        return ""
    base = base_url if base_url is not None else airflow_base_url()
    if base:
        return f"{base.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    return f"dag {dag_id}, run {run_id}"


def current_run_link() -> str:
    """The link of the Airflow run this process is a task of ("" outside a task)."""
    return run_link(os.environ.get(DAG_ID_ENV), os.environ.get(RUN_ID_ENV))
