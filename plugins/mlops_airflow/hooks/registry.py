"""MLflow tracking/registry client for tasks."""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import BaseHook

from mlops_airflow.hooks.connections import optional_connection

PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


class MlflowHook(BaseHook):
    """``include.platform.registry.ModelRegistry`` on the tracking server of ``mlflow_conn_id``.

    The registry it gives has no audit trail: tasks that move a version's stage use
    ``audited_registry()``, the only place that opens the audit database. The connection's host
    (e.g. ``http://mlflow:5000``) wins; without the connection ``$MLFLOW_TRACKING_URI`` is used
    (the embedded default is a SQLite file). The connection's login and password are given to
    that registry's MLflow client alone (basic auth); the credentials never enter the process
    environment. MLflow's artifact progress bars (one log line per update, at ERROR) are turned
    off in task processes unless ``$MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR`` says otherwise.
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    hook_name = "MLflow"

    def __init__(self, *, mlflow_conn_id: str | None = default_conn_name) -> None:
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id
        # A progress bar in a task log is one line per update, logged at ERROR: never useful there.
        os.environ.setdefault(PROGRESS_BAR_ENV, "false")

    def tracking_uri(self) -> str:
        conn = optional_connection(self.mlflow_conn_id)
        if conn is not None and conn.host:
            host = conn.host if "://" in conn.host else f"http://{conn.host}"
            return f"{host}:{conn.port}" if conn.port else host
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise RuntimeError(f"no MLflow connection {self.mlflow_conn_id!r} and MLFLOW_TRACKING_URI is not set")
        return uri

    def basic_auth(self) -> Any:
        """``BasicAuth`` from the connection's login and password, or None (no connection, no login)."""
        from include.platform.mlflow_client import BasicAuth

        conn = optional_connection(self.mlflow_conn_id)
        if conn is None or not conn.host or not conn.login:
            return None
        return BasicAuth(conn.login, conn.password or "")

    def get_conn(self) -> Any:
        """The registry (reads, runs, registration); no audit trail attached."""
        from include.platform.registry import ModelRegistry

        return ModelRegistry(self.tracking_uri(), auth=self.basic_auth())


def audited_registry(
    *, mlflow_conn_id: str | None = MlflowHook.default_conn_name, audit_conn_id: str | None = "mlops_audit"
) -> Any:
    """The registry with the audit trail of ``audit_conn_id`` attached: every stage move is also
    written to the audit database. For tasks that move stages (register, qualify, promote,
    reject, rollback, reconcile) and for batch scoring's ``resolve_models``, which reads it to
    check ``@champion``; everything else uses ``MlflowHook().get_conn()`` and never opens it."""
    from mlops_airflow.hooks.audit import AuditHook

    registry = MlflowHook(mlflow_conn_id=mlflow_conn_id).get_conn()
    registry.audit = AuditHook(audit_conn_id=audit_conn_id).get_conn() if audit_conn_id else None
    return registry
