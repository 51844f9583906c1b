"""
### rollback_&lt;model&gt;: back to the last known-good model in one manual trigger

One DAG per model config; manual only (no schedule). Trigger it from the web UI form:

* `reason` (required, the only required Param of the project's DAGs: Trigger stays disabled
  until it is filled in, on purpose, since a rollback without a reason cannot be audited):
  recorded with every move, in MLflow and the audit tables.
* `target_version`: the version to restore; empty = the previous champion (the most recent
  version that was champion and was archived). Only a former champion can be restored.
* `bad_version_stage`: what happens to the current champion: `rejected` (default) or
  `archived`.

`reconcile` -> `rollback` (both pool `mlops_deploy`) -> `health_check` -> `notify`.

* **reconcile**: MLflow back to the audit trail first (as the `reconcile_<model>` DAG): moves
  left pending by a dead worker are settled, lagging tags and aliases rolled to the trail.
* **rollback**: compare-and-set like a promotion: a pending claim in the audit trail (only if
  the champion is still the one replaced and the target still archived), then the champion
  alias moves in one step, then the claim is finished. The next batch scoring run uses the
  restored model. Versions are never deleted. The move and the audit trail's stage changes go
  to the Pushgateway (docs/production.md, "Metrics"; never fails the task).

`rollback` and `health_check` are `RollbackChampionOperator` and `ModelHealthCheckOperator`
(`plugins/mlops_airflow/operators/deploy.py`).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from include.config import ModelConfig, load_valid
from include.contracts import ARCHIVED, REJECTED
from mlops_airflow.dag_defaults import DEPLOY_POOL, mlops_dag, model_asset
from mlops_airflow.operators.deploy import (
    ModelHealthCheckOperator,
    ReconcileRegistryOperator,
    RollbackChampionOperator,
)


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "rollback",
        doc_md=__doc__,
        description=f"Roll {name} back to a previous champion",
        schedule=None,
        params={
            "reason": Param(
                type="string",
                minLength=3,
                maxLength=500,
                title="Why roll back (required)",
                description="Required on purpose: every rollback is recorded with its reason (3 to 500 characters).",
            ),
            "target_version": Param(
                None,
                type=["null", "string"],
                pattern=r"^[0-9]+$",
                title="Version to restore",
                description="Empty: the previous champion.",
            ),
            "bad_version_stage": Param(
                REJECTED, type="string", enum=[REJECTED, ARCHIVED], title="Stage for the replaced champion"
            ),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def notify(result: dict, health: dict, params=None) -> dict:
            from include.deploy.messages import rollback_note
            from include.notify.delivery import deliver
            from mlops_airflow.hooks.connections import connection_dict

            note = rollback_note(name, result, health, params["reason"])
            return deliver(config, note, resolve=connection_dict)

        result = RollbackChampionOperator(
            task_id="rollback",
            model_name=name,
            reason="{{ params.reason }}",
            target_version="{{ params.target_version or '' }}",
            bad_version_stage="{{ params.bad_version_stage or '' }}",
            pool=DEPLOY_POOL,
            outlets=[model_asset(name)],
        )
        health = ModelHealthCheckOperator(task_id="health_check", model_name=name)
        ReconcileRegistryOperator(task_id="reconcile", model_name=name, pool=DEPLOY_POOL) >> result >> health
        notify(result.output, health.output)
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
