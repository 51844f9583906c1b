"""
### rollback_&lt;model&gt;: back to the last known-good model in one manual trigger

One DAG per model config; manual only (no schedule). Trigger it from the web UI form:

* `reason` (required): recorded with every move, in MLflow and the audit tables.
* `target_version`: the version to restore; empty = the previous champion (the most recent
  version that was champion and was archived). Only a former champion can be restored.
* `bad_version_stage`: what happens to the current champion: `rejected` (default) or
  `archived`.

`rollback` (pool `mlops_deploy`) -> `health_check` -> `notify`. The champion alias moves in
one step, so the next batch scoring run uses the restored model. Versions are never deleted.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowFailException

from include.config import ModelConfig, load_all
from include.contracts import ARCHIVED, REJECTED
from mlops_airflow.dag_defaults import DEPLOY_POOL, mlops_dag, model_asset


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "rollback",
        doc_md=__doc__,
        description=f"Roll {name} back to a previous champion",
        schedule=None,
        params={
            "reason": Param(type="string", minLength=3, maxLength=500, title="Why roll back (required)"),
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

        @task(multiple_outputs=False, pool=DEPLOY_POOL, outlets=[model_asset(name)])
        def rollback(params=None, dag_run=None) -> dict:
            from include.deploy.steps import rollback as rollback_step
            from include.ml import model_card
            from mlops_airflow.hooks.registry import audited_registry

            registry = audited_registry()
            result = rollback_step(
                registry,
                config,
                target=params.get("target_version"),
                reason=params["reason"],
                actor=f"airflow:{dag_run.dag_id}/{dag_run.run_id}",
                bad_stage=params.get("bad_version_stage") or REJECTED,
            )
            for version in filter(None, (result["restored"], result["replaced"])):
                model_card.publish_card(registry, config, version)
            return {**result, "disagreements": registry.disagreements(name)}

        @task(multiple_outputs=False)
        def health_check(result: dict) -> dict:
            from include.deploy.steps import health_check as check
            from mlops_airflow.hooks.registry import MlflowHook

            health = check(MlflowHook().get_conn(), config)
            if not health["ok"]:
                raise AirflowFailException(
                    f"restored v{health['version']} failed its health check: {health['problems']}"
                )
            return health

        @task(multiple_outputs=False)
        def notify(result: dict, health: dict, params=None) -> dict:
            from include.notify.delivery import Notification, send
            from mlops_airflow.hooks.connections import connection_dict

            subject = (
                f"rolled back: v{result['restored']} is champion again (v{result['replaced']} {result['bad_stage']})"
            )
            note = Notification(
                model=name,
                event="rollback",
                subject=subject,
                body=params["reason"],
                fields={**result, "health": health},
            )
            return {"subject": subject, "notifications": send(config, note, resolve=connection_dict)}

        result = rollback()
        notify(result, health_check(result))
    return dag


for _config in load_all():
    build(_config)
