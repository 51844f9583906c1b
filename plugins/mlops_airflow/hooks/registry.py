"""MLflow tracking/registry client for tasks."""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import BaseHook

from mlops_airflow.hooks.connections import optional_connection


class MlflowHook(BaseHook):
    """``include.platform.registry.ModelRegistry`` on the tracking server of ``mlflow_conn_id``.

    Stage moves are also recorded in the audit trail of ``audit_conn_id`` (SQLite under the
    project by default). The connection's host (e.g. ``http://mlflow:5000``) wins; without the connection
    ``$MLFLOW_TRACKING_URI`` is used (the embedded default is a SQLite file). Basic-auth
    credentials in the connection are passed through MLflow's own environment variables.
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    hook_name = "MLflow"

    def __init__(
        self, *, mlflow_conn_id: str | None = default_conn_name, audit_conn_id: str | None = "mlops_audit"
    ) -> None:
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id
        self.audit_conn_id = audit_conn_id

    def tracking_uri(self) -> str:
        conn = optional_connection(self.mlflow_conn_id)
        if conn is not None and conn.host:
            if conn.login:
                os.environ["MLFLOW_TRACKING_USERNAME"] = conn.login
                os.environ["MLFLOW_TRACKING_PASSWORD"] = conn.password or ""
            host = conn.host if "://" in conn.host else f"http://{conn.host}"
            return f"{host}:{conn.port}" if conn.port else host
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise RuntimeError(f"no MLflow connection {self.mlflow_conn_id!r} and MLFLOW_TRACKING_URI is not set")
        return uri

    def get_conn(self) -> Any:
        """The registry; every stage move is also written to the audit trail (``mlops_audit``)."""
        from include.platform.registry import ModelRegistry
        from mlops_airflow.hooks.audit import AuditHook

        audit = AuditHook(audit_conn_id=self.audit_conn_id).get_conn() if self.audit_conn_id else None
        return ModelRegistry(self.tracking_uri(), audit=audit)
