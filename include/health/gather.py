"""A model's health from what the pipelines wrote: monitor summaries and predictions manifests
(storage), the audit trail, the MLflow registry. Read only; a source that cannot be read is
named in ``ModelHealth.problems`` and the rest is still shown (the view is where a person looks
when something is broken)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any, Final

from include.config import ModelConfig
from include.contracts import (
    CHALLENGER_ALIAS,
    CHAMPION,
    CHAMPION_ALIAS,
    SHADOW,
    Dataset,
    monitor_report,
    monitor_reports,
)
from include.health.audit_read import read_trail
from include.health.payloads import (
    DagRunInfo,
    ModelHealth,
    ModelSummary,
    MonitorPoint,
    ScoringPoint,
    StageMove,
    VersionInfo,
)
from include.health.series import monitor_point, scoring_point
from include.health.status import model_status
from include.platform.storage import Storage

log = logging.getLogger(__name__)

# The DAGs every model gets (plugins/mlops_airflow/dag_defaults.py: "<kind>_<model>").
DAG_KINDS: Final = ("retrain", "batch_score", "monitor", "promote", "rollback", "reconcile", "reproduce")
DAYS: Final = 60  # newest monitored / scored days read per model


def dag_ids(model: str) -> list[str]:
    return [f"{kind}_{model}" for kind in DAG_KINDS]


@dataclass
class Sources:
    """Where the view reads: the data root, the audit database URL, the MLflow registry
    (``include.platform.registry.ModelRegistry``; None: not configured)."""

    storage: Storage
    audit_url: str
    registry: Any = None


def _days(names: list[str], limit: int) -> list[str]:
    return sorted(n.removeprefix("ds=") for n in names if n.startswith("ds="))[-limit:]


def read_monitor(storage: Storage, model: str, limit: int = DAYS) -> list[MonitorPoint]:
    """The newest ``limit`` monitored days, oldest first."""
    points = []
    for ds in _days(storage.list_dirs(monitor_reports(model)), limit):
        key = monitor_report(model, ds, "summary.json")
        if storage.exists(key):
            points.append(monitor_point(json.loads(storage.read_text(key))))
    return points


def read_scoring(storage: Storage, model: str, limit: int = DAYS) -> list[ScoringPoint]:
    """The newest ``limit`` published days of predictions, oldest first."""
    from include.platform.partitions import list_partitions, read_manifest

    points = []
    for ds in list_partitions(storage, Dataset.PREDICTIONS, model)[-limit:]:
        manifest = read_manifest(storage, Dataset.PREDICTIONS, model, ds)
        if manifest is not None:
            points.append(scoring_point(ds, manifest.meta, manifest.rows))
    return points


def _registry_versions(registry: Any, model: str) -> dict[str, dict[str, Any]]:
    """``{version: {stage, created_at, run_id}}`` as MLflow holds them ({} without the model)."""
    import datetime as dt

    from include.contracts import Tag

    found = {}
    for mv in registry.client.search_model_versions(f"name = '{model}'"):
        created = dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=dt.UTC).isoformat()
        found[str(mv.version)] = {"stage": mv.tags.get(Tag.STAGE), "created_at": created, "run_id": mv.run_id}
    return found


def _version_key(version: VersionInfo) -> tuple[int, int | str]:
    return (0, int(version.version)) if version.version.isdigit() else (1, version.version)


def _versions(
    model: str, stages: dict[str, str], moves: list[StageMove], registered: dict[str, dict[str, Any]]
) -> list[VersionInfo]:
    """Every version the audit trail or MLflow knows, newest first; the stage is the audit
    trail's (what an auditor reads), MLflow's ``mlops.stage`` tag for a version it lacks."""
    from include.platform.mlflow_links import version_url

    versions = []
    for version in set(stages) | set(registered) | {m.version for m in moves}:
        mlflow = registered.get(version, {})
        versions.append(
            VersionInfo(
                version=version,
                stage=stages.get(version, mlflow.get("stage")),
                created_at=mlflow.get("created_at"),
                run_id=mlflow.get("run_id"),
                mlflow_url=version_url(model, version) if mlflow else None,
                moves=sorted((m for m in moves if m.version == version), key=lambda m: m.deployment_id),
            )
        )
    return sorted(versions, key=_version_key, reverse=True)


def _holder(versions: list[VersionInfo], stage: str) -> str | None:
    return next((v.version for v in versions if v.stage == stage), None)


def _alias(registry: Any, model: str, alias: str) -> str | None:
    mv = registry.alias_version(model, alias)
    return str(mv.version) if mv is not None else None


def _read(problems: list[str], what: str, read: Any, default: Any) -> Any:
    """``read()``, or ``default`` with the error named in ``problems``."""
    try:
        return read()
    except Exception as exc:
        log.warning("model health: cannot read %s: %s", what, exc)
        problems.append(f"{what}: {type(exc).__name__}: {exc}")
        return default


def model_health(
    sources: Sources, config: ModelConfig, runs: dict[str, list[DagRunInfo]] | None = None, *, days: int = DAYS
) -> ModelHealth:
    """Everything the model's page shows (``runs``: the DAG runs, read by the Airflow side;
    ``days``: the newest monitored and scored days read, 1 for the model list's status line)."""
    problems: list[str] = []
    model = config.name
    stages, moves = _read(problems, "audit trail", lambda: read_trail(sources.audit_url, model), ({}, []))
    registered: dict[str, dict[str, Any]] = {}
    if sources.registry is not None:
        registered = _read(problems, "MLflow registry", lambda: _registry_versions(sources.registry, model), {})
    versions = _versions(model, stages, moves, registered)
    monitor = _read(problems, "monitor summaries", lambda: read_monitor(sources.storage, model, days), [])
    scoring = _read(problems, "predictions manifests", lambda: read_scoring(sources.storage, model, days), [])
    champion, challenger = _holder(versions, CHAMPION), _holder(versions, SHADOW)
    if champion is None and sources.registry is not None and registered:
        champion = _read(problems, "MLflow alias", lambda: _alias(sources.registry, model, CHAMPION_ALIAS), None)
        challenger = challenger or _read(
            problems, "MLflow alias", lambda: _alias(sources.registry, model, CHALLENGER_ALIAS), None
        )
    max_quarantine = config.scoring.max_quarantine_fraction
    return ModelHealth(
        model=model,
        description=config.description,
        status=model_status(champion, monitor, scoring, max_quarantine),
        champion=champion,
        challenger=challenger,
        versions=versions,
        monitor=monitor,
        scoring=scoring,
        runs=runs or {},
        max_quarantine_fraction=max_quarantine,
        problems=problems,
    )


def summary_of(health: ModelHealth) -> ModelSummary:
    """The model list's line of a model."""
    return ModelSummary(
        model=health.model,
        description=health.description,
        status=health.status,
        champion=health.champion,
        last_monitored=health.monitor[-1].ds if health.monitor else None,
        last_scored=health.scoring[-1].ds if health.scoring else None,
    )


def with_run_links(health: ModelHealth, registry: Any, airflow_url: Any) -> ModelHealth:
    """The DAG runs with their Airflow page (``airflow_url(dag_id, run_id)``) and, when MLflow has
    a UI, the MLflow run they made (see ``mlflow_links``)."""
    from include.health.links import mlflow_run_urls

    urls = _read(health.problems, "MLflow runs", lambda: mlflow_run_urls(registry, health), {})
    health.runs = {
        dag_id: [replace(r, airflow_url=airflow_url(r.dag_id, r.run_id), mlflow_url=urls.get(r.run_id)) for r in runs]
        for dag_id, runs in health.runs.items()
    }
    return health
