"""Basic auth in front of a real MLflow server: the credentials reach the registry's own MLflow
client (tracking, registry and proxied-artifact requests), never the process environment.

MLflow's own ``--app-name basic-auth`` needs Flask-WTF, which is not a project dependency, so the
server here sits behind a small authenticating reverse proxy, as in production behind an
ingress: every request without the right ``Authorization: Basic`` header gets 401.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from include.platform.mlflow_client import BasicAuth, mlflow_client
from include.platform.registry import ModelRegistry
from tests.fixtures.services import MlflowServer, start_mlflow

pytestmark = pytest.mark.integration

ADMIN, PASSWORD = "mlops-admin", "s3cr:t p@ss/w%rd"
ENV_NAMES = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


EXPECTED = "Basic " + base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()


class _AuthProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = urllib.parse.urlparse(upstream)
        self.allowed = 0
        self.refused = 0


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _AuthProxy

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Authorization") != EXPECTED:
            self.server.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.allowed += 1
        upstream = http.client.HTTPConnection(self.server.upstream.hostname, self.server.upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "authorization", "connection"}}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class AuthServer:
    tracking_uri: str
    artifacts_dir: Path
    proxy: _AuthProxy = field(repr=False)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    server: MlflowServer = start_mlflow(tmp_path_factory.mktemp("mlflow-auth"), "mlflow-behind-auth")
    proxy = _AuthProxy(server.tracking_uri)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield AuthServer(f"http://127.0.0.1:{proxy.server_address[1]}", server.artifacts_dir, proxy)
    finally:
        proxy.shutdown()
        proxy.server_close()
        server.service.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def _unauthorized(exc: BaseException) -> bool:
    return "401" in str(exc) or "Unauthorized" in str(exc) or "UNAUTHENTICATED" in str(exc)


def saved_model(tmp_path: Path) -> tuple[Path, list[str]]:
    import mlflow.sklearn
    import numpy as np
    import skops.io
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 3))
    model = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    path = tmp_path / "model"
    mlflow.sklearn.save_model(model, str(path), serialization_format="skops", skops_trusted_types=trusted)
    return path, trusted


def test_anonymous_and_wrong_password_are_refused(auth_server, clean_env):
    with pytest.raises(Exception) as anonymous:
        mlflow_client(auth_server.tracking_uri).search_experiments()
    assert _unauthorized(anonymous.value)
    with pytest.raises(Exception) as wrong:
        ModelRegistry(auth_server.tracking_uri, auth=BasicAuth(ADMIN, "not the password")).experiment_id("churn")
    assert _unauthorized(wrong.value)


def test_registry_with_credentials_logs_registers_moves_and_loads(auth_server, clean_env, tmp_path):
    registry = ModelRegistry(auth_server.tracking_uri, auth=BasicAuth(ADMIN, PASSWORD))
    experiment = registry.experiment_id("churn")
    run_id = registry.client.create_run(experiment, run_name="auth test").info.run_id
    registry.client.log_dict(run_id, {"rows": 60}, "data/pull_stats.json")
    path, trusted = saved_model(tmp_path)
    model_uri = registry.log_model_dir(run_id, path)
    registry.client.set_terminated(run_id)

    version = registry.register("churn", model_uri, run_id, tags={"mlops.actor": "test"})
    assert registry.stage_of("churn", version.version) == "candidate"
    assert registry.register("churn", model_uri, run_id, tags={}).version == version.version  # once
    logged = registry.client.get_logged_model(model_uri.removeprefix("models:/"))
    assert logged.status == "READY" and logged.source_run_id == run_id
    listed = json.loads(logged.tags["mlflow.modelVersions"])
    assert [(entry["name"], str(entry["version"])) for entry in listed] == [("churn", str(version.version))]
    model = registry.load_version("churn", version.version, trusted)
    assert model.predict([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]).tolist() == [1, 0]
    assert registry.load_model(model_uri, trusted).coef_.shape == (1, 3)
    stats = registry.download_artifact(run_id, "data/pull_stats.json")
    assert stats.read_text().strip() == '{\n  "rows": 60\n}'
    # Artifacts really went through the server, to its artifacts destination.
    assert list(auth_server.artifacts_dir.rglob("pull_stats.json"))

    assert auth_server.proxy.allowed > 10
    # Nothing leaked into the process: a client without credentials is still refused.
    assert not [name for name in ENV_NAMES if name in os.environ]
    with pytest.raises(Exception) as anonymous:
        mlflow_client(auth_server.tracking_uri).get_run(run_id)
    assert _unauthorized(anonymous.value)


def test_hook_passes_connection_credentials_to_the_registry_only(auth_server, clean_env, monkeypatch, caplog):
    from airflow.sdk import Connection

    from mlops_airflow.hooks.registry import MlflowHook

    host, port = auth_server.tracking_uri.rsplit(":", 1)
    conn = Connection(
        conn_id="mlflow_auth_test", conn_type="http", host=host, port=int(port), login=ADMIN, password=PASSWORD
    )
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_AUTH_TEST", conn.as_json())
    caplog.set_level(logging.DEBUG)
    hook = MlflowHook(mlflow_conn_id="mlflow_auth_test")
    assert hook.tracking_uri() == auth_server.tracking_uri  # no credentials in the URI
    registry = hook.get_conn()
    assert registry.experiment_id("hooked")
    assert not [name for name in ENV_NAMES if name in os.environ]
    assert PASSWORD not in repr(registry) and PASSWORD not in repr(hook.basic_auth())
    assert PASSWORD not in caplog.text
