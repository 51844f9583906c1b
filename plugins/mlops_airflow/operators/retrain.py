"""Retrain operators: gates, registration and the first stage move of a new model version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from mlops_airflow.hooks.registry import MlflowHook, audited_registry
from mlops_airflow.operators.base import MlopsBaseOperator


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _actor(context: Any) -> str:
    return f"airflow:{context['dag'].dag_id}/{context['run_id']}"


class _RegistryOperator(MlopsBaseOperator):
    def __init__(
        self, *, model_name: str, mlflow_conn_id: str | None = MlflowHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.mlflow_conn_id = mlflow_conn_id


class ModelGateOperator(_RegistryOperator):
    """Run the validation gates on an evaluated model and record every verdict in MLflow.

    Returns the gate report (and pushes it to XCom); it does not fail the task when a gate
    fails, because the version is still registered (and rejected) so the evidence is kept.
    """

    template_fields: Sequence[str] = ("model_name", "trained", "evaluated")
    ui_color = "#fff3d6"

    def __init__(self, *, trained: Any, evaluated: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trained = trained
        self.evaluated = evaluated

    def execute(self, context: Any) -> dict[str, Any]:
        from include.config import get_config
        from include.retrain.steps import check_gates

        config = get_config(self.model_name)
        registry = MlflowHook(mlflow_conn_id=self.mlflow_conn_id).get_conn()
        report = check_gates(registry, config, self.trained, self.evaluated)
        for line in report.summary().splitlines():
            self.log.info("%s", line)
        return report.to_dict()


class RegisterModelOperator(_RegistryOperator):
    """Register the trained model as a ``candidate`` version (once per training run)."""

    template_fields: Sequence[str] = ("model_name", "pulled", "trained", "gates", "dry_run")

    def __init__(self, *, pulled: Any, trained: Any, gates: Any, dry_run: Any = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pulled = pulled
        self.trained = trained
        self.gates = gates
        self.dry_run = dry_run

    def execute(self, context: Any) -> dict[str, Any]:
        from include.config import get_config
        from include.retrain.steps import register

        if _truthy(self.dry_run):
            raise AirflowSkipException("dry run: nothing is registered")
        registry = audited_registry(mlflow_conn_id=self.mlflow_conn_id)
        registered = register(
            registry, get_config(self.model_name), self.pulled, self.trained, self.gates, actor=_actor(context)
        )
        self.log.info("Model %s version %s is %s", self.model_name, registered["version"], registered["stage"])
        return registered


class PromoteModelOperator(_RegistryOperator):
    """Move a candidate to ``challenger`` when its gates passed, or to ``rejected`` when not.

    The first model of a name that passes every gate becomes ``champion`` directly (bootstrap).
    Stage moves are checked against ``include/platform/stages.py``; rerunning is a no-op.
    """

    template_fields: Sequence[str] = ("model_name", "registered", "gates")
    ui_color = "#dff5e1"

    def __init__(self, *, registered: Any, gates: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registered = registered
        self.gates = gates

    def execute(self, context: Any) -> dict[str, Any]:
        from include.config import get_config
        from include.retrain.steps import promote

        registry = audited_registry(mlflow_conn_id=self.mlflow_conn_id)
        decision = promote(registry, get_config(self.model_name), self.registered, self.gates, actor=_actor(context))
        self.log.info("Version %s: %s (%s)", decision["version"], decision["action"], decision["reason"])
        return decision
