"""Where the "Model health" view reads, inside the Airflow api-server: the same connections the
tasks use (``aws_default`` for S3, ``mlops_audit``, ``mlflow_default``; without them the
environment of ``scripts/env.sh``), and the model's DAG runs from Airflow's metadata DB.

Nothing here writes: the audit database is opened without migrating (``include.health.audit_read``)
and a local MLflow SQLite store that does not exist yet is not created (MLflow's client would
create its tables on a new file).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
RUNS_PER_DAG = 5


def _registry() -> Any:
    """The MLflow registry of ``mlflow_default`` (else ``$MLFLOW_TRACKING_URI``); None without one."""
    from mlops_airflow.hooks.registry import MlflowHook

    hook = MlflowHook()
    try:
        uri = hook.tracking_uri()
    except RuntimeError:
        return None
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None  # nothing trained yet; opening it would create the database
    from include.platform.registry import ModelRegistry

    return ModelRegistry(uri, auth=hook.basic_auth())


def sources() -> Any:
    """``include.health.gather.Sources`` from the Airflow connections (or the environment)."""
    from include.health.gather import Sources
    from mlops_airflow.hooks.audit import AuditHook
    from mlops_airflow.hooks.storage import MlopsStorageHook

    return Sources(storage=MlopsStorageHook().get_conn(), audit_url=AuditHook().sqlalchemy_url(), registry=_registry())


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def dag_runs(dag_ids: list[str], per_dag: int = RUNS_PER_DAG) -> dict[str, list[Any]]:
    """The newest ``per_dag`` runs of each DAG (``DagRunInfo``, newest first), from the metadata DB."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from include.health.payloads import DagRunInfo

    found: dict[str, list[Any]] = {}
    with create_session() as session:
        for dag_id in dag_ids:
            query = select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(per_dag)
            found[dag_id] = [
                DagRunInfo(
                    dag_id=run.dag_id,
                    run_id=run.run_id,
                    state=str(run.state) if run.state is not None else None,
                    run_type=str(run.run_type) if run.run_type is not None else None,
                    logical_date=_iso(run.logical_date),
                    start_date=_iso(run.start_date),
                    end_date=_iso(run.end_date),
                )
                for run in session.scalars(query)
            ]
    return found
