"""
### reconcile_&lt;model&gt;: bring MLflow back to the audit trail

One DAG per model config; manual only (no schedule). The audit trail is the source of truth;
`promote_<model>` and `rollback_<model>` run the same check as their first task.

* Moves left **pending** by a worker that died (between the audit claim and MLflow, or before
  the claim was finished): MLflow complete -> finished `succeeded`; otherwise -> `failed` and
  MLflow put back. Only moves older than `stale_after_seconds` (default 300) are settled:
  younger ones may still have a live worker.
* MLflow **stage tags and aliases** that lag the audit trail are rolled to it.
* An **alias moved outside the pipeline** (MLflow UI "Promote", the API) is reported and the
  task fails (batch scoring refuses such a champion too); `restore_aliases` puts the audit
  trail's versions back. To change the champion, run `promote_<model>` or `rollback_<model>`.

Params (all optional): `repair` (default true; false only reports), `restore_aliases`
(default false), `stale_after_seconds`. The result (`ReconcilePayload`) is the task's XCom.
`reconcile` is `ReconcileRegistryOperator` (`plugins/mlops_airflow/operators/deploy.py`); the
logic is `include/deploy/reconcile.py`, also a CLI: `python -m include.deploy.reconcile <model>`.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from include.config import ModelConfig, load_valid
from mlops_airflow.dag_defaults import DEPLOY_POOL, count_param, mlops_dag
from mlops_airflow.operators.deploy import ReconcileRegistryOperator

STALE_AFTER_SECONDS = 300  # include.deploy.reconcile.STALE_AFTER (not imported: parse time)


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "reconcile",
        doc_md=__doc__,
        description=f"Bring {name}'s MLflow registry back to the audit trail",
        schedule=None,
        params={
            "repair": Param(True, type="boolean", title="Repair (off: only report)"),
            "restore_aliases": Param(
                False,
                type="boolean",
                title="Put aliases moved outside the pipeline back",
                description="champion/challenger aliases back to the audit trail's versions.",
            ),
            "stale_after_seconds": count_param(
                STALE_AFTER_SECONDS, "Settle pending moves older than (seconds)", "Default 300.", minimum=0
            ),
        },
    ) as dag:
        ReconcileRegistryOperator(
            task_id="reconcile",
            model_name=name,
            repair="{{ params.repair }}",
            restore_aliases="{{ params.restore_aliases }}",
            stale_after="{{ params.stale_after_seconds }}",
            pool=DEPLOY_POOL,
        )
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
