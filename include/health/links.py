"""Which MLflow run (or model version) each Airflow run of a model made, for the view's links.

The pipelines leave these traces: scoring runs carry the Airflow run id as a tag
(``Tag.AIRFLOW_RUN_ID``); a monitor run's ``summary.json`` names its Airflow run and MLflow's
monitoring run of that day carries the day (``Tag.DS``); a retrain, promote or rollback run is
the audit trail's actor (``airflow:<dag_id>/<run_id>``) of the version it moved. Without an
MLflow UI (a local SQLite store) there is nothing to link to and nothing is looked up.
"""

from __future__ import annotations

from typing import Any

from include.contracts import RunKind, Tag, experiment_name
from include.health.payloads import ModelHealth
from include.platform import mlflow_links

ACTOR_PREFIX = "airflow:"  # the pipelines' audit actor: "airflow:<dag_id>/<run_id>"
RUNS_SEARCHED = 500


def actor_run(actor: str) -> tuple[str, str] | None:
    """``(dag_id, run_id)`` of an audit actor written by a DAG run, else None (a person, a script)."""
    if not actor.startswith(ACTOR_PREFIX) or "/" not in actor:
        return None
    dag_id, _, run_id = actor.removeprefix(ACTOR_PREFIX).partition("/")
    return dag_id, run_id


def _tracked_runs(registry: Any, experiment_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """``({airflow run id: mlflow run id}, {monitored day: mlflow run id})`` of the newest runs."""
    by_airflow_run: dict[str, str] = {}
    by_day: dict[str, str] = {}
    runs = registry.client.search_runs(
        [experiment_id], max_results=RUNS_SEARCHED, order_by=["attributes.start_time DESC"]
    )
    for run in runs:
        tags = run.data.tags
        if tags.get(Tag.AIRFLOW_RUN_ID):
            by_airflow_run.setdefault(tags[Tag.AIRFLOW_RUN_ID], run.info.run_id)
        if tags.get(Tag.KIND) == RunKind.MONITOR and tags.get(Tag.DS):
            by_day.setdefault(tags[Tag.DS], run.info.run_id)
    return by_airflow_run, by_day


def mlflow_run_urls(registry: Any, health: ModelHealth) -> dict[str, str]:
    """``{airflow run id: MLflow UI URL}`` for the model's Airflow runs that made something in MLflow."""
    tracking_uri = getattr(registry, "tracking_uri", None)
    if registry is None or mlflow_links.ui_base(tracking_uri) is None:
        return {}
    experiment = registry.client.get_experiment_by_name(experiment_name(health.model))
    if experiment is None:
        return {}
    exp_id = experiment.experiment_id
    by_airflow_run, by_day = _tracked_runs(registry, exp_id)
    urls: dict[str, str] = {}
    for point in health.monitor:
        if point.airflow_run_id and point.ds in by_day:
            by_airflow_run.setdefault(point.airflow_run_id, by_day[point.ds])
    for airflow_run, mlflow_run in by_airflow_run.items():
        urls[airflow_run] = mlflow_links.run_url(exp_id, mlflow_run, tracking_uri) or ""
    for version in health.versions:
        for move in version.moves:
            found = actor_run(move.actor)
            if found is None or found[1] in urls:
                continue
            if found[0].startswith("retrain_") and version.run_id:
                urls[found[1]] = mlflow_links.run_url(exp_id, version.run_id, tracking_uri) or ""
            else:
                urls[found[1]] = mlflow_links.version_url(health.model, version.version, tracking_uri) or ""
    return {k: v for k, v in urls.items() if v}
