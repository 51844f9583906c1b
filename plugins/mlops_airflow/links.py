"""Links from an Airflow task to its MLflow run and model version ("Extra Links" in the task view).

A task that has an MLflow run or a model version pushes its UI address (``push_mlflow_links``)
under the XCom keys of ``include.platform.mlflow_links`` and says it in its last log line.

* The project's operators declare ``MlflowRunLink`` / ``MlflowVersionLink`` in
  ``operator_extra_links``: when the task ends the worker calls ``get_link`` (it reads the XCom)
  and Airflow stores the result for the UI.
* ``@task`` functions (``_PythonDecoratedOperator``) cannot declare links, so the plugin
  (``plugins/mlops_airflow_plugin.py``) also registers ``MlflowRunGlobalLink`` /
  ``MlflowVersionGlobalLink`` as global links, read by the API server from the same XCom keys.
  Same names as the operator links: an operator shows one button of each, not two. A task
  that pushed no URL (every non-MLflow task) has no button.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from airflow.sdk import BaseOperatorLink

from include.platform.mlflow_links import RUN_URL_KEY, VERSION_URL_KEY, with_url

RUN_LINK_NAME = "MLflow run"
VERSION_LINK_NAME = "MLflow model version"

log = logging.getLogger(__name__)


def _xcom_url(ti_key: Any, key: str) -> str:
    from airflow.sdk.execution_time.xcom import XCom

    value = XCom.get_value(ti_key=ti_key, key=key)
    return str(value) if value else ""


class MlflowRunLink(BaseOperatorLink):
    """The task's MLflow run (XCom ``mlflow_run_url``); evaluated on the worker when the task ends."""

    name = RUN_LINK_NAME
    url_key: ClassVar[str] = RUN_URL_KEY

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return _xcom_url(ti_key, self.url_key)


class MlflowVersionLink(MlflowRunLink):
    """The model version the task registered or moved (XCom ``mlflow_version_url``)."""

    name = VERSION_LINK_NAME
    url_key: ClassVar[str] = VERSION_URL_KEY


class MlflowRunGlobalLink(BaseOperatorLink):
    """``MlflowRunLink`` for any task (``@task`` functions): read by the API server from the
    metadata database, as Airflow reads an operator's stored links."""

    name = RUN_LINK_NAME
    url_key: ClassVar[str] = RUN_URL_KEY

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.serialization.definitions.operatorlink import XComOperatorLink

        return XComOperatorLink(name=self.name, xcom_key=self.url_key).get_link(operator, ti_key=ti_key)


class MlflowVersionGlobalLink(MlflowRunGlobalLink):
    """``MlflowVersionLink`` for any task."""

    name = VERSION_LINK_NAME
    url_key: ClassVar[str] = VERSION_URL_KEY


def push_mlflow_links(
    context: Any,
    what: str,
    *,
    run_url: str | None = None,
    version_url: str | None = None,
    logger: Any = None,
    append_urls: bool = True,
) -> str:
    """Push the task's MLflow URLs for its extra links and log ``what`` (followed by them unless
    ``append_urls`` is false: ``what`` names them already) as the task's last line; the line.
    ``context``: the task's context (its ``ti``)."""
    ti = context["ti"]
    if run_url:
        ti.xcom_push(key=RUN_URL_KEY, value=run_url)
    if version_url:
        ti.xcom_push(key=VERSION_URL_KEY, value=version_url)
    urls = " ".join(url for url in (version_url, run_url) if url) if append_urls else ""
    line = with_url(what, urls or None)
    (logger or log).info("%s", line)
    return line


def announce_run(registry: Any, run_id: str, what: str) -> str:
    """``push_mlflow_links`` from inside a ``@task`` function: ``what`` with the run's URL."""
    from airflow.sdk import get_current_context

    from include.platform.mlflow_links import registry_run_url

    return push_mlflow_links(get_current_context(), what, run_url=registry_run_url(registry, run_id))


def announce_scoring_runs(registry: Any, model: str, recorded: Any) -> str:
    """The ``record`` task's last line: each date's scoring run with its URL. The extra link is
    the run of a single date, or the experiment's run list for a range."""
    from airflow.sdk import get_current_context

    from include.platform.mlflow_links import experiment_url, run_url

    context, runs = get_current_context(), recorded.get("runs") or {}
    if not runs:
        what = "dry run: nothing recorded" if recorded.get("dry_run") else "no published date: nothing recorded"
        return push_mlflow_links(context, what)
    experiment = registry.experiment_id(model)
    urls = {ds: run_url(experiment, r["scoring_run_id"], registry.tracking_uri) for ds, r in sorted(runs.items())}
    listed = ", ".join(f"{ds} {url or runs[ds]['scoring_run_id']}" for ds, url in urls.items())
    link = next(iter(urls.values())) if len(urls) == 1 else experiment_url(experiment, registry.tracking_uri)
    what = f"Recorded {len(runs)} scoring run(s) of {model}: {listed}"
    return push_mlflow_links(context, what, run_url=link, append_urls=False)
