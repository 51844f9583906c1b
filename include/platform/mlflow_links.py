"""Links into the MLflow web UI: the one place their address is built.

The base is ``$MLOPS_MLFLOW_UI_URL`` when set (the address a person's browser reaches, e.g.
``http://localhost:5000`` while the workers talk to ``http://mlflow:5000``); else the tracking
URI when it is an http(s) server; else there is no UI to link to (a local SQLite or file
store) and every function returns None. Routes are MLflow 3's (hash router):
``#/experiments/<id>/runs/<run_id>`` and ``#/models/<name>/versions/<version>``.

Tasks push the URLs under the XCom keys below; the Airflow plugin's extra links read them
(``plugins/mlops_airflow/links.py``).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

UI_URL_ENV = "MLOPS_MLFLOW_UI_URL"
# XCom keys a task pushes its MLflow URLs under (read by the "MLflow run" / "MLflow model version" links).
RUN_URL_KEY = "mlflow_run_url"
VERSION_URL_KEY = "mlflow_version_url"


def ui_base(tracking_uri: str | None = None) -> str | None:
    """The MLflow UI's address without a trailing slash, or None when there is none.

    :param tracking_uri: the tracking URI in use (None: ``$MLFLOW_TRACKING_URI``)
    """
    configured = os.environ.get("MLOPS_MLFLOW_UI_URL", "").strip()  # UI_URL_ENV
    if configured:
        return configured.rstrip("/")
    uri = (tracking_uri if tracking_uri is not None else os.environ.get("MLFLOW_TRACKING_URI", "")).strip()
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    return None


def run_url(experiment_id: str, run_id: str, tracking_uri: str | None = None) -> str | None:
    """The run's page in the MLflow UI (None: no UI configured)."""
    base = ui_base(tracking_uri)
    if base is None:
        return None
    return f"{base}/#/experiments/{quote(str(experiment_id), safe='')}/runs/{quote(str(run_id), safe='')}"


def experiment_url(experiment_id: str, tracking_uri: str | None = None) -> str | None:
    """The experiment's run list in the MLflow UI (None: no UI configured)."""
    base = ui_base(tracking_uri)
    return f"{base}/#/experiments/{quote(str(experiment_id), safe='')}" if base else None


def version_url(name: str, version: str | int, tracking_uri: str | None = None) -> str | None:
    """The registered model version's page in the MLflow UI (None: no UI configured)."""
    base = ui_base(tracking_uri)
    if base is None:
        return None
    return f"{base}/#/models/{quote(name, safe='')}/versions/{quote(str(version), safe='')}"


def artifact_url(experiment_id: str, run_id: str, path: str, tracking_uri: str | None = None) -> str | None:
    """The run's page with the artifact ``path`` open (None: no UI configured)."""
    page = run_url(experiment_id, run_id, tracking_uri)
    return f"{page}/artifactPath/{quote(path)}" if page else None


def registry_run_url(registry: Any, run_id: str, artifact: str | None = None) -> str | None:
    """``run_url`` (or ``artifact_url`` of ``artifact``) for a run of ``registry`` (a
    ``ModelRegistry``), its experiment looked up; None without a UI (nothing is looked up)."""
    tracking_uri = getattr(registry, "tracking_uri", None)
    if ui_base(tracking_uri) is None:
        return None
    experiment_id = registry.client.get_run(run_id).info.experiment_id
    if artifact:
        return artifact_url(experiment_id, run_id, artifact, tracking_uri)
    return run_url(experiment_id, run_id, tracking_uri)


def with_url(what: str, url: str | None) -> str:
    """``what``, followed by `` : <url>`` when there is a URL: the last line of a task's log."""
    return f"{what}: {url}" if url else what
