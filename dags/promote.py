"""
### promote_&lt;model&gt;: challenger -> champion on shadow evidence

One DAG per model config. Runs on `schedules.promote` and on demand.

`reconcile` -> `gather_evidence` -> `decide` -> `check_freeze` -> [`approve`] -> `promote` ->
`health_check` -> [`record_rejection`] -> `notify`

* **reconcile** (pool `mlops_deploy`): MLflow back to the audit trail first, as the
  `reconcile_<model>` DAG does: a move left pending by a worker that died is settled
  (MLflow complete: finished; otherwise failed and MLflow put back), lagging stage tags and
  aliases are rolled to the audit trail. An alias moved outside the pipeline fails the run
  (trigger `reconcile_<model>` with `restore_aliases`).
* **gather_evidence**: the challenger's shadow records from batch scoring (batches, rows,
  hours of data, agreement with the champion, error rate, latency) and, where labels arrived,
  its live primary metric against the champion's on the same rows. A challenger in shadow
  longer than `deploy.reject_after_days` is rejected.
* **decide**: every criterion of the `deploy` config section with its numbers; a challenger
  that fails one stays in shadow (the rest of the run is skipped).
* **canary** (`deploy.strategy: canary`): `gather_evidence` decides the canary's step instead,
  on the dates batch scoring published at its current share: *hold* (too few dates), *advance*
  to the next share of `deploy.canary_ramp`, *halt* (a criterion failed: share 0, the
  challenger rejected, audited in `ml_canary_steps` and `ml_deployments`, notified), or at the
  last share *promote* through the steps below (`include/deploy/canary.py`). A dry run records
  no step.
* **check_freeze**: no promotion on `deploy.freeze_weekdays` / `deploy.freeze_dates` (UTC)
  unless the `freeze_override_reason` Param is given; the override is recorded. Params (all
  optional; the form triggers with the defaults): `freeze_override_reason` (leave empty outside
  a freeze), `dry_run`.
* **approve**: when `deploy.approval_required`, the run waits for a person in the web UI
  (Required Actions) showing the evidence as a list (one line per criterion, PASS/FAIL);
  Reject keeps the champion; no answer within `deploy.approval_timeout_hours` keeps the
  champion too. The reviewer may give a reason (optional for Approve and Reject: the answer
  and who gave it are recorded either way; an empty reason is recorded as empty).
  Approve: who and why go into the promotion's audit record. Reject: `record_rejection`
  moves the challenger to `rejected` with who and why (audited), so it is not asked again.
* **promote**: in pool `mlops_deploy` (one slot), compare-and-set: promoted only if the
  champion is still the version the evidence was measured against and the challenger is still
  in shadow in the audit table. The audit trail gets a pending claim first (one transaction:
  of two concurrent promotions exactly one claims), then MLflow moves, then the claim is
  finished; a retry of the task settles its own claim and completes the move
  (`include/deploy/claims.py`). The move and the audit trail's stage changes go to the
  Pushgateway (docs/production.md, "Metrics"; never fails the task).
* **health_check**: loads `models:/<name>@champion`, scores the sample saved at training and
  compares with the scores recorded then; on failure it rolls back to the previous champion
  and notifies.

`promote` and `health_check` are `PromoteChallengerOperator` and `ModelHealthCheckOperator`
(`plugins/mlops_airflow/operators/deploy.py`); the decisions and messages live in `include/deploy/`.
"""

from __future__ import annotations

import datetime as dt
import logging

from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowSkipException

from include.config import ModelConfig, load_valid
from mlops_airflow.dag_defaults import DEPLOY_POOL, mlops_dag, model_asset, text_param
from mlops_airflow.operators.approval import APPROVAL_XCOM_KEY, RecordedApprovalOperator
from mlops_airflow.operators.deploy import (
    ModelHealthCheckOperator,
    PromoteChallengerOperator,
    ReconcileRegistryOperator,
)

log = logging.getLogger("airflow.task")


def _actor(dag_run) -> str:
    return f"airflow:{dag_run.dag_id}/{dag_run.run_id}"


def _approval(config: ModelConfig, ti) -> dict | None:
    """Who answered the approve task, what and when (None when the DAG has no approval step)."""
    if not config.deploy.approval_required:
        return None
    return ti.xcom_pull(task_ids="approve", key=APPROVAL_XCOM_KEY) or None


def _approve(config: ModelConfig) -> RecordedApprovalOperator:
    """The person's answer in the web UI (Required Actions), with the evidence summary shown."""
    return RecordedApprovalOperator(
        task_id="approve",
        subject=f"Promote {config.name} challenger to champion?",
        body="{{ ti.xcom_pull(task_ids='gather_evidence')['summary'] }}",
        params={"reason": text_param("Reason", "Optional, for Approve and Reject; recorded with your answer.")},
        response_timeout=dt.timedelta(hours=config.deploy.approval_timeout_hours),
        retries=0,  # a person's answer (or its timeout) is final: never ask again
    )


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "promote",
        doc_md=__doc__,
        description=f"Promote {name}'s challenger to champion on shadow evidence",
        schedule=config.schedules.promote,
        params={
            "freeze_override_reason": text_param(
                "Freeze override reason",
                "Optional: leave empty. Give it only to promote inside a freeze window "
                "(deploy.freeze_weekdays / freeze_dates); the reason is recorded with the move.",
            ),
            "dry_run": Param(False, type="boolean", title="Dry run: evaluate the evidence, move nothing"),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def gather_evidence(params=None, dag_run=None) -> dict:
            from include.deploy.evidence import collect_evidence
            from mlops_airflow.hooks.registry import audited_registry
            from mlops_airflow.hooks.storage import MlopsStorageHook

            storage = MlopsStorageHook().get_conn
            return collect_evidence(
                audited_registry(),
                config,
                open_storage=storage,
                now=dag_run.run_after,
                actor=_actor(dag_run),
                dry_run=bool(params.get("dry_run")),
            )

        @task(multiple_outputs=False)
        def decide(gathered: dict) -> dict:
            from include.deploy.messages import hold_message, is_ready_to_promote

            for line in gathered["summary"].splitlines():
                log.info("%s", line)
            if not is_ready_to_promote(gathered):
                raise AirflowSkipException(hold_message(gathered))
            return gathered

        @task(multiple_outputs=False)
        def check_freeze(gathered: dict, params=None, dag_run=None) -> dict:
            from include.deploy.freeze import check_freeze as freeze

            return freeze(config, dag_run.run_after.date(), params.get("freeze_override_reason"))

        @task(trigger_rule="none_failed", multiple_outputs=False, pool=DEPLOY_POOL)
        def record_rejection(gathered: dict, dag_run=None, ti=None) -> dict | None:
            """A reviewer's Reject retires the challenger (shadow -> rejected) with the reason,
            so the next scheduled run does not ask about it again; the champion stays."""
            from include.deploy.messages import is_rejected_at_approval
            from include.deploy.moves import reject_at_approval
            from mlops_airflow.hooks.registry import audited_registry

            approval = _approval(config, ti)
            if not is_rejected_at_approval(approval):
                raise AirflowSkipException("no rejection to record")
            version = gathered["verdict"]["challenger"]
            return reject_at_approval(audited_registry(), config, version, approval, actor=_actor(dag_run))

        @task(trigger_rule="none_failed", multiple_outputs=False)
        def notify(gathered: dict, ti=None) -> dict:
            from include.deploy.messages import promotion_note
            from include.notify.delivery import deliver
            from mlops_airflow.hooks.connections import connection_dict

            note = promotion_note(name, gathered, ti.xcom_pull(task_ids="promote"), _approval(config, ti))
            return deliver(config, note, resolve=connection_dict)

        reconciled = ReconcileRegistryOperator(task_id="reconcile", model_name=name, pool=DEPLOY_POOL)
        gathered = gather_evidence()
        reconciled >> gathered
        decided = decide(gathered)
        freeze = check_freeze(decided)
        approve = _approve(config) if config.deploy.approval_required else None
        promoted = PromoteChallengerOperator(
            task_id="promote",
            model_name=name,
            evidence=decided,
            freeze_override_reason="{{ params.freeze_override_reason or '' }}",
            approval=approve.output[APPROVAL_XCOM_KEY] if approve else None,
            dry_run="{{ params.dry_run }}",
            pool=DEPLOY_POOL,
        )
        health = ModelHealthCheckOperator(
            task_id="health_check",
            model_name=name,
            rollback_on_failure=True,  # back to the champion the promotion replaced
            restore_version="{{ ti.xcom_pull(task_ids='promote')['previous'] or '' }}",
            pool=DEPLOY_POOL,
            outlets=[model_asset(name)],
        )
        freeze >> promoted >> health
        if approve:
            freeze >> approve >> promoted
            health >> record_rejection(gathered) >> notify(gathered)
        else:
            health >> notify(gathered)
    return dag


for _config in load_valid().configs:  # a broken config: dags/model_configs.py reports it
    build(_config)
