"""
### promote_&lt;model&gt;: challenger -> champion on shadow evidence

One DAG per model config. Runs on `schedules.promote` and on demand.

`gather_evidence` -> `decide` -> `check_freeze` -> [`approve`] -> `promote` -> `health_check` ->
[`record_rejection`] -> `notify`

* **gather_evidence**: the challenger's shadow records from batch scoring (batches, rows,
  hours of data, agreement with the champion, error rate, latency) and, where labels arrived,
  its live primary metric against the champion's on the same rows. A challenger in shadow
  longer than `deploy.reject_after_days` is rejected.
* **decide**: every criterion of the `deploy` config section with its numbers; a challenger
  that fails one stays in shadow (the rest of the run is skipped).
* **check_freeze**: no promotion on `deploy.freeze_weekdays` / `deploy.freeze_dates` (UTC)
  unless the `freeze_override_reason` Param is given; the override is recorded.
* **approve**: when `deploy.approval_required`, the run waits for a person in the web UI
  (Required Actions) showing the evidence; Reject keeps the champion; no answer within
  `deploy.approval_timeout_hours` keeps the champion too. The reviewer may give a reason.
  Approve: who and why go into the promotion's audit record. Reject: `record_rejection`
  moves the challenger to `rejected` with who and why (audited), so it is not asked again.
* **promote**: in pool `mlops_deploy` (one slot), compare-and-set: promoted only if the
  champion is still the version the evidence was measured against and the challenger is still
  in shadow in the audit table. Every move is written to MLflow tags and the audit tables.
* **health_check**: loads `models:/<name>@champion`, scores the sample saved at training and
  compares with the scores recorded then; on failure it rolls back to the previous champion
  and notifies.
"""

from __future__ import annotations

import datetime as dt
import json

from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from include.config import ModelConfig, load_all
from include.contracts import CHALLENGER_ALIAS, CHAMPION_ALIAS, Tag
from mlops_airflow.dag_defaults import DEPLOY_POOL, mlops_dag, model_asset
from mlops_airflow.operators.approval import APPROVAL_XCOM_KEY, RecordedApprovalOperator


def _actor(dag_run) -> str:
    return f"airflow:{dag_run.dag_id}/{dag_run.run_id}"


def _approval(config: ModelConfig, ti) -> dict | None:
    """Who answered the approve task, what and when (None when the DAG has no approval step)."""
    if not config.deploy.approval_required:
        return None
    return ti.xcom_pull(task_ids="approve", key=APPROVAL_XCOM_KEY) or None


def build(config: ModelConfig) -> DAG:
    name = config.name
    with mlops_dag(
        config,
        "promote",
        doc_md=__doc__,
        description=f"Promote {name}'s challenger to champion on shadow evidence",
        schedule=config.schedules.promote,
        params={
            "freeze_override_reason": Param(
                "",
                type="string",
                maxLength=500,
                title="Freeze override reason",
                description="Promote inside a freeze window; the reason is recorded with the move.",
            ),
            "dry_run": Param(False, type="boolean", title="Dry run: evaluate the evidence, move nothing"),
        },
    ) as dag:

        @task(multiple_outputs=False)
        def gather_evidence(dag_run=None) -> dict:
            from include.deploy import steps as deploy
            from include.platform import stages
            from mlops_airflow.hooks.registry import audited_registry
            from mlops_airflow.hooks.storage import MlopsStorageHook

            registry = audited_registry()
            champion = registry.alias_version(name, CHAMPION_ALIAS)
            challenger = registry.alias_version(name, CHALLENGER_ALIAS)
            champion_v = str(champion.version) if champion else None
            if challenger is None:
                verdict = deploy.evaluate_promotion(config, None, champion_v, {})
                return {"verdict": verdict.to_dict(), "summary": verdict.summary(), "rejected": False}
            version = str(challenger.version)
            # Age in shadow: from the move into shadow recorded on the version, to this run.
            history = json.loads(challenger.tags.get(Tag.HISTORY, "[]"))
            since = [h["at"] for h in history if h.get("to") == stages.SHADOW]
            age_days = (dag_run.run_after - dt.datetime.fromisoformat(since[-1])).days if since else 0
            if age_days > config.deploy.reject_after_days:
                reason = f"in shadow {age_days} days > reject_after_days {config.deploy.reject_after_days}"
                registry.record_move(name, version, stages.REJECTED, reason=reason, actor=_actor(dag_run))
                return {"verdict": {"ready": False, "challenger": version}, "summary": reason, "rejected": True}
            evidence = deploy.shadow_evidence(deploy.shadow_runs(registry, config, version), champion_v)
            live = deploy.live_metrics(MlopsStorageHook().get_conn(), config, evidence["dates"])
            verdict = deploy.evaluate_promotion(config, version, champion_v, evidence, live)
            return {
                "verdict": verdict.to_dict(),
                "summary": verdict.summary(),
                "evidence": evidence,
                "live": live,
                "rejected": False,
            }

        @task(multiple_outputs=False)
        def decide(gathered: dict) -> dict:
            for line in gathered["summary"].splitlines():
                print(line)
            if not gathered["verdict"].get("ready"):
                raise AirflowSkipException(f"challenger stays where it is: {gathered['summary'].splitlines()[0]}")
            return gathered

        @task(multiple_outputs=False)
        def check_freeze(gathered: dict, params=None, dag_run=None) -> dict:
            from include.deploy.steps import check_freeze as freeze

            return freeze(config, dag_run.run_after.date(), params.get("freeze_override_reason"))

        @task(multiple_outputs=False, pool=DEPLOY_POOL)
        def promote(gathered: dict, freeze: dict, params=None, dag_run=None, ti=None) -> dict:
            from include.deploy.steps import promote_champion
            from include.ml import model_card
            from mlops_airflow.hooks.registry import audited_registry

            verdict = gathered["verdict"]
            if params.get("dry_run"):
                raise AirflowSkipException(f"dry run: v{verdict['challenger']} would be promoted")
            registry = audited_registry()
            reason = "shadow evidence passed every criterion"
            if freeze.get("override_reason"):
                reason += f"; freeze override: {freeze['override_reason']}"
            evidence = {"criteria": verdict["criteria"], "freeze": freeze, "live": gathered.get("live")}
            if approval := _approval(config, ti):
                reason += f"; approved by {approval['by']}" + (f": {approval['reason']}" if approval["reason"] else "")
                evidence["approval"] = approval
            result = promote_champion(
                registry,
                config,
                verdict["challenger"],
                verdict["champion"],
                reason=reason,
                actor=_actor(dag_run),
                evidence=evidence,
            )
            for version in filter(None, (result["version"], result["previous"])):
                model_card.publish_card(registry, config, version)
            return {**result, "disagreements": registry.disagreements(name)}

        @task(multiple_outputs=False, pool=DEPLOY_POOL, outlets=[model_asset(name)])
        def health_check(promoted: dict, dag_run=None) -> dict:
            from include.deploy import steps as deploy
            from include.notify.delivery import Notification, send
            from mlops_airflow.hooks.connections import connection_dict
            from mlops_airflow.hooks.registry import audited_registry

            registry = audited_registry()
            health = deploy.health_check(registry, config)
            if health["ok"]:
                return health
            rolled = deploy.rollback(
                registry,
                config,
                target=promoted.get("previous"),
                reason=f"health check failed for v{health['version']}: {'; '.join(health['problems'])}",
                actor=_actor(dag_run),
            )
            note = Notification(
                model=name,
                event="rollback",
                subject=(
                    f"health check failed after promoting v{health['version']}; rolled back to v{rolled['restored']}"
                ),
                body="\n".join(health["problems"]),
                fields={"health": health, "rollback": rolled},
            )
            send(config, note, resolve=connection_dict)
            raise AirflowFailException(f"{note.subject}: {note.body}")

        @task(trigger_rule="none_failed", multiple_outputs=False, pool=DEPLOY_POOL)
        def record_rejection(gathered: dict, dag_run=None, ti=None) -> dict | None:
            """A reviewer's Reject retires the challenger (shadow -> rejected) with the reason,
            so the next scheduled run does not ask about it again; the champion stays."""
            from include.platform import stages
            from mlops_airflow.hooks.registry import audited_registry

            approval = _approval(config, ti)
            if not approval or approval["choice"] != "Reject":
                raise AirflowSkipException("no rejection to record")
            version = gathered["verdict"]["challenger"]
            reason = f"rejected at approval by {approval['by']}: {approval['reason'] or 'no reason given'}"
            registry = audited_registry()
            if registry.stage_of(name, version) != stages.SHADOW:
                raise AirflowFailException(f"v{version} is no longer in shadow: the rejection was not recorded")
            registry.record_move(
                name, version, stages.REJECTED, reason=reason, actor=_actor(dag_run), evidence={"approval": approval}
            )
            return {"version": version, "reason": reason}

        @task(trigger_rule="none_failed", multiple_outputs=False)
        def notify(gathered: dict, ti=None) -> dict:
            from include.notify.delivery import Notification, send
            from mlops_airflow.hooks.connections import connection_dict

            promoted = ti.xcom_pull(task_ids="promote")
            approval = _approval(config, ti)
            if promoted:
                subject = f"v{promoted['version']} is champion (was v{promoted['previous']})"
                event = "promotion"
            elif approval and approval["choice"] != "Approve":
                challenger = gathered["verdict"].get("challenger")
                subject = f"no promotion: v{challenger} rejected at approval by {approval['by']}; champion kept"
                event = "success"
                gathered = {
                    **gathered,
                    "summary": f"{approval['reason'] or 'no reason given'}\n\n{gathered['summary']}",
                }
            else:
                subject = f"no promotion: {gathered['summary'].splitlines()[0]}"
                event = "success"
            note = Notification(model=name, event=event, subject=subject, body=gathered["summary"], fields=gathered)
            return {"subject": subject, "notifications": send(config, note, resolve=connection_dict)}

        gathered = gather_evidence()
        decided = decide(gathered)
        freeze = check_freeze(decided)
        if config.deploy.approval_required:
            approve = RecordedApprovalOperator(
                task_id="approve",
                subject=f"Promote {name} challenger to champion?",
                body="{{ ti.xcom_pull(task_ids='gather_evidence')['summary'] }}",
                params={
                    "reason": Param(
                        "", type="string", maxLength=500, title="Reason", description="Recorded with your answer."
                    )
                },
                response_timeout=dt.timedelta(hours=config.deploy.approval_timeout_hours),
                retries=0,  # a person's answer (or its timeout) is final: never ask again
            )
            freeze >> approve
            promoted = promote(decided, freeze)
            approve >> promoted
            health = health_check(promoted)
            health >> record_rejection(gathered) >> notify(gathered)
        else:
            health = health_check(promote(decided, freeze))
            health >> notify(gathered)
    return dag


for _config in load_all():
    build(_config)
