"""MlflowHook: the connection's basic-auth credentials reach the registry's MLflow client only."""

from __future__ import annotations

import os

import pytest
from airflow.sdk import Connection

from include.platform.mlflow_client import BasicAuth, mlflow_client
from mlops_airflow.hooks import registry as registry_hook
from mlops_airflow.hooks.registry import MlflowHook

PASSWORD = "s3cr:t p@ss/w%rd"
ENV_NAMES = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch):
    import mlflow

    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    # ModelRegistry points the fluent API at its server (mlflow.set_tracking_uri): undo it after.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///unused.db"))
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()

    def use(**fields) -> None:
        conn = Connection(conn_id="mlflow_default", conn_type="http", **fields)
        monkeypatch.setattr(registry_hook, "optional_connection", lambda conn_id: conn)

    yield use
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_credentials_go_to_the_registry_client_not_the_environment(connection):
    connection(host="mlflow.internal", port=5000, login="mlops", password=PASSWORD)
    hook = MlflowHook()
    assert hook.tracking_uri() == "http://mlflow.internal:5000"
    registry = hook.get_conn()  # no request is made until used
    for store in (registry.client._tracking_client.store, registry.client._get_registry_client().store):
        creds = store.get_host_creds()
        assert (creds.host, creds.username, creds.password) == ("http://mlflow.internal:5000", "mlops", PASSWORD)
    assert not [name for name in ENV_NAMES if name in os.environ]
    # Another client in the same process has no credentials.
    assert mlflow_client("http://mlflow.internal:5000")._tracking_client.store.get_host_creds().username is None
    assert PASSWORD not in repr(registry) and PASSWORD not in repr(hook.basic_auth())
    assert PASSWORD not in repr(registry.client)


def test_no_login_means_no_basic_auth(connection):
    connection(host="https://mlflow.example.com")
    assert MlflowHook().basic_auth() is None
    assert MlflowHook().tracking_uri() == "https://mlflow.example.com"


def test_credentials_are_ignored_for_a_local_tracking_store(tmp_path):
    client = mlflow_client(f"sqlite:///{tmp_path / 'mlflow.db'}", BasicAuth("u", "p"))
    assert type(client._client).__name__ == "MlflowClient"  # inside the outage-naming wrapper
