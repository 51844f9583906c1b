"""Retrain operators: the gates, the registration of a new version and its qualification
(candidate -> challenger, rejected, or the bootstrap champion).

Each one calls one function of ``include/retrain/``; the registry comes from the hook in
``execute``. The two that move a version's stage use ``audited_registry()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from mlops_airflow.hooks.audit import AuditHook
from mlops_airflow.hooks.registry import MlflowHook, audited_registry
from mlops_airflow.links import MlflowRunLink, MlflowVersionLink, push_mlflow_links
from mlops_airflow.operators.base import MlopsBaseOperator, truthy

if TYPE_CHECKING:
    from include.retrain.payloads import (
        Evaluation,
        GateReportDict,
        PulledDataset,
        Qualification,
        RegisteredVersion,
        TrainedRun,
    )


def _actor(context: Any) -> str:
    return f"airflow:{context['dag'].dag_id}/{context['run_id']}"


class ModelGateOperator(MlopsBaseOperator):
    """Run every registered gate (``include/retrain/gates.py``) on an evaluated model and record
    each verdict on its training run in MLflow.

    Returns the gate report (pushed to XCom); it does not fail the task when a gate fails,
    because the version is still registered (and rejected) so the evidence is kept.

    :param model_name: model config whose gate thresholds apply (templated)
    :param trained: the ``train`` payload: run id, model URI, hold-out key (templated)
    :param evaluated: the ``evaluate`` payload: metrics, slices, latency, size (templated)
    :param mlflow_conn_id: MLflow connection; without it ``$MLFLOW_TRACKING_URI``
    """

    template_fields: Sequence[str] = ("model_name", "trained", "evaluated")
    ui_color = "#fff3d6"
    operator_extra_links = (MlflowRunLink(),)

    def __init__(
        self,
        *,
        model_name: str,
        trained: Any,
        evaluated: Any,
        mlflow_conn_id: str | None = MlflowHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.trained: TrainedRun = trained
        self.evaluated: Evaluation = evaluated
        self.mlflow_conn_id = mlflow_conn_id

    def execute(self, context: Any) -> GateReportDict:
        from include.config import get_config
        from include.platform.mlflow_links import registry_run_url
        from include.retrain.gates import check_gates

        registry = MlflowHook(mlflow_conn_id=self.mlflow_conn_id).get_conn()
        report = check_gates(registry, get_config(self.model_name), self.trained, self.evaluated)
        for line in report.summary().splitlines():
            self.log.info("%s", line)
        verdict = "all passed" if report.passed else f"failed: {', '.join(r.name for r in report.failures)}"
        run_url = registry_run_url(registry, self.trained["run_id"])
        push_mlflow_links(context, f"Gates {verdict}; verdicts on the run", run_url=run_url, logger=self.log)
        return report.to_dict()


class RegisterModelOperator(MlopsBaseOperator):
    """Register the trained model as a ``candidate`` version (once per training run), with its
    lineage and gate verdicts as tags and a model card. Skipped in a dry run.

    :param model_name: registered model name, and the model config to read (templated)
    :param pulled: the ``pull_features`` payload: window and data hash (templated)
    :param trained: the ``train`` payload: run id, model URI, run key (templated)
    :param gates: the gate report of ``ModelGateOperator`` (templated)
    :param dry_run: true-ish (e.g. ``"{{ params.dry_run }}"``): register nothing, skip (templated)
    :param mlflow_conn_id: MLflow connection; without it ``$MLFLOW_TRACKING_URI``
    :param audit_conn_id: audit database connection the stage move is recorded in; None: no audit
    """

    template_fields: Sequence[str] = ("model_name", "pulled", "trained", "gates", "dry_run")
    operator_extra_links = (MlflowRunLink(), MlflowVersionLink())

    def __init__(
        self,
        *,
        model_name: str,
        pulled: Any,
        trained: Any,
        gates: Any,
        dry_run: Any = False,
        mlflow_conn_id: str | None = MlflowHook.default_conn_name,
        audit_conn_id: str | None = AuditHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.pulled: PulledDataset = pulled
        self.trained: TrainedRun = trained
        self.gates: GateReportDict = gates
        # Named like the DAG Param; shadows BaseOperator.dry_run(), which Airflow 3 never calls.
        self.dry_run = dry_run  # type: ignore[method-assign]
        self.mlflow_conn_id = mlflow_conn_id
        self.audit_conn_id = audit_conn_id

    def execute(self, context: Any) -> RegisteredVersion:
        from include.config import get_config
        from include.platform.mlflow_links import registry_run_url, version_url
        from include.retrain.register import register_candidate

        if truthy(self.dry_run):
            raise AirflowSkipException("dry run: nothing is registered")
        registry = audited_registry(mlflow_conn_id=self.mlflow_conn_id, audit_conn_id=self.audit_conn_id)
        config = get_config(self.model_name)
        registered = register_candidate(registry, config, self.pulled, self.trained, self.gates, actor=_actor(context))
        run_id = self.trained["run_id"]
        push_mlflow_links(
            context,
            f"Registered {self.model_name} v{registered['version']} ({registered['stage']}) from run {run_id}",
            run_url=registry_run_url(registry, self.trained["run_id"]),
            version_url=version_url(self.model_name, registered["version"], registry.tracking_uri),
            logger=self.log,
        )
        return registered


class QualifyCandidateOperator(MlopsBaseOperator):
    """Move a ``candidate`` version on by its gate verdicts: to ``shadow`` (alias
    ``challenger``) when every gate passed, to ``rejected`` when not. The first model of a name
    that passes every gate becomes ``champion`` directly (bootstrap). Promotion of a challenger
    is the deploy pipeline's, not this operator's.

    Stage moves are checked against ``include/platform/stages.py``; rerunning is a no-op.

    :param model_name: registered model name, and the model config to read (templated)
    :param registered: the ``RegisterModelOperator`` payload: the version (templated)
    :param gates: the gate report of ``ModelGateOperator`` (templated)
    :param mlflow_conn_id: MLflow connection; without it ``$MLFLOW_TRACKING_URI``
    :param audit_conn_id: audit database connection the stage move is recorded in; None: no audit
    """

    template_fields: Sequence[str] = ("model_name", "registered", "gates")
    ui_color = "#dff5e1"
    operator_extra_links = (MlflowVersionLink(),)

    def __init__(
        self,
        *,
        model_name: str,
        registered: Any,
        gates: Any,
        mlflow_conn_id: str | None = MlflowHook.default_conn_name,
        audit_conn_id: str | None = AuditHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.registered: RegisteredVersion = registered
        self.gates: GateReportDict = gates
        self.mlflow_conn_id = mlflow_conn_id
        self.audit_conn_id = audit_conn_id

    def execute(self, context: Any) -> Qualification:
        from include.config import get_config
        from include.platform.mlflow_links import version_url
        from include.retrain.qualify import qualify

        registry = audited_registry(mlflow_conn_id=self.mlflow_conn_id, audit_conn_id=self.audit_conn_id)
        decision = qualify(registry, get_config(self.model_name), self.registered, self.gates, actor=_actor(context))
        what = f"{self.model_name} v{decision['version']}: {decision['action']} ({decision['reason']})"
        url = version_url(self.model_name, decision["version"], registry.tracking_uri)
        push_mlflow_links(context, what, version_url=url, logger=self.log)
        return decision
