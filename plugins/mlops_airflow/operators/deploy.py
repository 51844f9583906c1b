"""Deploy operators: challenger -> champion, rollback of the champion, the champion's health check.

Each works in a data engineer's own DAG: configured by the model name, connection ids and
templated (or ``XComArg``) inputs, and it returns the typed payload of ``include.deploy.payloads``.
Refusals raise ``include.errors.RefusedMove`` (or ``HealthCheckFailed``): the task fails at once,
without retries. Only the operators that move a stage open the audit database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from include.contracts import CHAMPION, REJECTED
from mlops_airflow.hooks.audit import AuditHook
from mlops_airflow.hooks.registry import MlflowHook, audited_registry
from mlops_airflow.links import MlflowVersionLink, push_mlflow_links
from mlops_airflow.operators.base import MlopsBaseOperator, truthy

if TYPE_CHECKING:
    from include.deploy.payloads import HealthCheckPayload, PromotionPayload, ReconcilePayload, RollbackPayload

DEFAULT_AUDIT_CONN_ID = AuditHook.default_conn_name


def _actor(context: Any) -> str:
    return f"airflow:{context['dag'].dag_id}/{context['run_id']}"


def _audited_champion(registry: Any, model: str) -> str:
    """The champion version by the audit trail ('' when it has none or cannot be read: this only
    labels the metrics of a rollback that is already recorded)."""
    try:
        current = registry.audit.current(model) if registry.audit is not None else {}
    except Exception:
        return ""
    return next((version for version, stage in current.items() if stage == CHAMPION), "")


class _DeployOperator(MlopsBaseOperator):
    def __init__(
        self,
        *,
        model_name: str,
        mlflow_conn_id: str | None = MlflowHook.default_conn_name,
        audit_conn_id: str | None = DEFAULT_AUDIT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.mlflow_conn_id = mlflow_conn_id
        self.audit_conn_id = audit_conn_id

    def audited_registry(self) -> Any:
        return audited_registry(mlflow_conn_id=self.mlflow_conn_id, audit_conn_id=self.audit_conn_id)

    def log_audit_trail(self, registry: Any, context: Any) -> None:
        """Log the audit-trail records this run wrote, read back from the audit database. Only a
        report: the move is done, so a failed read is a warning, never the task's failure."""
        from include.deploy.messages import audit_trail_lines

        if registry.audit is None:
            return
        try:
            rows = registry.audit.history(self.model_name, actor=_actor(context))
        except Exception as error:  # the move succeeded; a read that fails must not undo the task
            self.log.warning("audit trail not read back (the move is recorded): %s", error)
            return
        for line in audit_trail_lines(rows):
            self.log.info("%s", line)

    def push_metrics(self, registry: Any, champion: str, action: str) -> None:
        """The move and the audit trail's stage changes to the Pushgateway. The move is done and
        the health check comes next: nothing here fails the task. An outage is a warning
        (include/observe/push.py); a wrong Pushgateway address is an error line saying what to fix."""
        from include.errors import MetricsConfigError
        from mlops_airflow.hooks.metrics import push_deploy_metrics

        try:
            history = registry.audit.history(self.model_name) if registry.audit is not None else []
            push_deploy_metrics(self.model_name, champion, action, history)
        except MetricsConfigError as error:
            self.log.error("metrics not pushed: %s", error)
        except Exception as error:  # the audit trail could not be read back: the move is recorded
            self.log.warning("metrics not pushed (audit trail not read back): %s", error)


class PromoteChallengerOperator(_DeployOperator):
    """Make the challenger champion when its verdict is ready, by compare-and-set.

    The move happens only if the champion is still the version the evidence was measured
    against and the challenger is still in shadow in the audit table; of two concurrent
    promotions exactly one wins. Refused inside a freeze window (the day the DAG run is for,
    UTC) unless ``freeze_override_reason`` is given; the override and the approval are recorded
    with the move. The model cards of both versions are re-published.

    :param model_name: model config to promote (templated)
    :param evidence: what ``include.deploy.evidence.collect_evidence`` returned: the verdict on
        the challenger and its live metrics (templated; an ``XComArg`` of the gathering task)
    :param freeze_override_reason: promote inside a freeze window; recorded with the move (templated)
    :param approval: who approved and why (``include.deploy.payloads.ApprovalAnswer``), e.g. the
        ``approval`` XCom of ``RecordedApprovalOperator``; None when nobody was asked (templated)
    :param mlflow_conn_id: MLflow connection of the registry
    :param audit_conn_id: connection of the audit database the move is written to
    :param dry_run: move nothing: the task is skipped, saying what would be promoted (templated)
    """

    template_fields: Sequence[str] = ("model_name", "evidence", "freeze_override_reason", "approval", "dry_run")
    ui_color = "#dff5e1"
    operator_extra_links = (MlflowVersionLink(),)

    def __init__(
        self,
        *,
        evidence: Any,
        freeze_override_reason: str | None = None,
        approval: Any = None,
        dry_run: Any = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.evidence = evidence
        self.freeze_override_reason = freeze_override_reason
        self.approval = approval
        # Named like the DAG Param; shadows BaseOperator.dry_run(), which Airflow 3 never calls.
        self.dry_run = dry_run  # type: ignore[method-assign]

    def execute(self, context: Any) -> PromotionPayload:
        from include.config import get_config
        from include.deploy.messages import dry_run_message
        from include.deploy.moves import promote_challenger
        from include.platform.mlflow_links import version_url

        if truthy(self.dry_run):
            raise AirflowSkipException(dry_run_message(self.evidence["verdict"]))
        registry = self.audited_registry()
        promoted = promote_challenger(
            registry,
            get_config(self.model_name),
            self.evidence,
            day=context["dag_run"].run_after.date(),
            freeze_override_reason=self.freeze_override_reason,
            approval=self.approval or None,
            actor=_actor(context),
        )
        self.log_audit_trail(registry, context)
        self.push_metrics(registry, promoted["version"], "promote")
        what = f"{self.model_name} v{promoted['version']} is champion (was v{promoted['previous']})"
        url = version_url(self.model_name, promoted["version"], registry.tracking_uri)
        push_mlflow_links(context, what, version_url=url, logger=self.log)
        return promoted


class RollbackChampionOperator(_DeployOperator):
    """Move the champion alias back to a former champion in one step.

    Only a version that was champion and is archived can be restored; the replaced champion
    goes to ``bad_version_stage``. Every move is recorded with the reason in MLflow and the
    audit tables, and the model cards of both versions are re-published.

    :param model_name: model config to roll back (templated)
    :param reason: why; required, recorded with the moves (templated)
    :param target_version: version to restore; empty: the previous champion (templated)
    :param bad_version_stage: stage of the replaced champion, ``rejected`` (default) or
        ``archived`` (templated)
    :param mlflow_conn_id: MLflow connection of the registry
    :param audit_conn_id: connection of the audit database the moves are written to
    """

    template_fields: Sequence[str] = ("model_name", "reason", "target_version", "bad_version_stage")
    ui_color = "#fde2e1"
    operator_extra_links = (MlflowVersionLink(),)

    def __init__(
        self,
        *,
        reason: str,
        target_version: str | None = None,
        bad_version_stage: str = REJECTED,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.reason = reason
        self.target_version = target_version
        self.bad_version_stage = bad_version_stage

    def execute(self, context: Any) -> RollbackPayload:
        from include.config import get_config
        from include.deploy.moves import rollback_champion
        from include.platform.mlflow_links import version_url

        registry = self.audited_registry()
        result = rollback_champion(
            registry,
            get_config(self.model_name),
            target=self.target_version or None,
            reason=self.reason,
            actor=_actor(context),
            bad_stage=self.bad_version_stage or REJECTED,
        )
        self.log_audit_trail(registry, context)
        self.push_metrics(registry, result["restored"], "rollback")
        url = version_url(self.model_name, result["restored"], registry.tracking_uri)
        push_mlflow_links(
            context, f"{self.model_name} v{result['restored']} is champion again", version_url=url, logger=self.log
        )
        return result


class ModelHealthCheckOperator(_DeployOperator):
    """Load ``models:/<model>@champion``, score the sample saved at training, compare with the
    scores recorded then; fail (without retries) when they differ beyond ``deploy.health_tolerance``.

    With ``rollback_on_failure`` a failing champion is rolled back first (to ``restore_version``,
    empty: the previous champion; the failing version becomes ``rejected``) and a ``rollback``
    notification is sent; only then is the audit database opened.

    :param model_name: model config whose champion is checked (templated)
    :param rollback_on_failure: roll the champion back when the check fails
    :param restore_version: version to restore on failure; empty: the previous champion (templated)
    :param mlflow_conn_id: MLflow connection of the registry
    :param audit_conn_id: connection of the audit database a rollback is written to
    """

    template_fields: Sequence[str] = ("model_name", "restore_version")
    ui_color = "#e6f1f2"

    def __init__(self, *, rollback_on_failure: bool = False, restore_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rollback_on_failure = rollback_on_failure
        self.restore_version = restore_version

    def execute(self, context: Any) -> HealthCheckPayload:
        from include.config import get_config
        from include.deploy.health import check_champion_health
        from include.errors import HealthCheckFailed
        from mlops_airflow.hooks.connections import connection_dict

        registry = (
            self.audited_registry()
            if self.rollback_on_failure
            else MlflowHook(mlflow_conn_id=self.mlflow_conn_id).get_conn()
        )
        try:
            return check_champion_health(
                registry,
                get_config(self.model_name),
                rollback_on_failure=self.rollback_on_failure,
                restore_version=self.restore_version or None,
                actor=_actor(context),
                resolve=connection_dict,
            )
        except HealthCheckFailed:
            if self.rollback_on_failure:  # rolled back before raising: the move's numbers too
                self.push_metrics(registry, _audited_champion(registry, self.model_name), "health_rollback")
            raise


class ReconcileRegistryOperator(_DeployOperator):
    """Bring MLflow back to the audit trail for one model (``include.deploy.reconcile``).

    Settles moves left pending by a dead worker (MLflow complete: finished; otherwise failed and
    MLflow put back), rolls MLflow stage tags and aliases to the audit trail, and with
    ``restore_aliases`` also puts back aliases moved outside the pipeline. Fails (without
    retries) when something is left apart, naming it and the fix. Returns ``ReconcilePayload``.

    :param model_name: model config to reconcile (templated)
    :param repair: settle and repair; False only reports (templated)
    :param restore_aliases: put aliases moved outside the pipeline back (templated)
    :param stale_after: seconds after which another worker's pending move is settled (templated)
    :param mlflow_conn_id: MLflow connection of the registry
    :param audit_conn_id: connection of the audit database
    """

    template_fields: Sequence[str] = ("model_name", "repair", "restore_aliases", "stale_after")
    ui_color = "#eef0f8"

    def __init__(
        self, *, repair: Any = True, restore_aliases: Any = False, stale_after: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.repair = repair
        self.restore_aliases = restore_aliases
        self.stale_after = stale_after

    def execute(self, context: Any) -> ReconcilePayload:
        from include.deploy.reconcile import STALE_AFTER, check_reconciled, reconcile

        stale = STALE_AFTER if self.stale_after in (None, "") else float(self.stale_after)
        result = reconcile(
            self.audited_registry(),
            self.model_name,
            repair=truthy(self.repair),
            restore_aliases=truthy(self.restore_aliases),
            by=_actor(context),
            stale_after=stale,
        )
        for key, value in result.items():
            if isinstance(value, list) and value:
                self.log.warning("%s %s: %s", self.model_name, key, value)
        context["ti"].xcom_push(key="return_value", value=result)
        check_reconciled(result)
        return result
