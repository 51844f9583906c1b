"""Storage for the data root, with S3 credentials from an Airflow AWS connection."""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import BaseHook

from mlops_airflow.hooks.connections import optional_connection


class MlopsStorageHook(BaseHook):
    """Builds ``include.platform.storage.Storage`` for ``data_root`` (default ``$MLOPS_DATA_ROOT``).

    For ``s3://`` roots the AWS connection ``aws_conn_id`` supplies credentials (login /
    password), ``region_name`` and ``endpoint_url`` (extras); without that connection boto3's
    usual chain (environment, profile, instance role) applies.
    """

    conn_name_attr = "aws_conn_id"
    default_conn_name = "aws_default"
    hook_name = "MLOps storage"

    def __init__(self, *, data_root: str | None = None, aws_conn_id: str | None = default_conn_name) -> None:
        super().__init__()
        self.data_root = data_root or os.environ.get("MLOPS_DATA_ROOT", "")
        self.aws_conn_id = aws_conn_id

    def client_kwargs(self) -> dict[str, Any]:
        conn = optional_connection(self.aws_conn_id)
        if conn is None:
            return {}
        extra = conn.extra_dejson
        kwargs = {
            "aws_access_key_id": conn.login or None,
            "aws_secret_access_key": conn.password or None,
            "region_name": extra.get("region_name"),
            "endpoint_url": extra.get("endpoint_url")
            or (extra.get("service_config", {}).get("s3", {}) or {}).get("endpoint_url"),
        }
        return {k: v for k, v in kwargs.items() if v}

    def get_conn(self) -> Any:
        from include.platform.storage import get_storage

        if self.data_root.startswith("s3://"):
            return get_storage(self.data_root, **self.client_kwargs())
        return get_storage(self.data_root)
