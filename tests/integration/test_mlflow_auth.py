"""MLflow's own basic authentication (``mlflow server --app-name basic-auth``), as in compose.

The server runs with the committed docker/mlflow/basic_auth.ini (its user store moved to tmp)
and an admin whose password the test generates. The pipeline's account is made by the committed
docker/mlflow/pipeline_account.py, as the compose ``mlflow-init`` service does. What is checked:
nobody anonymous, and no read-only user, can move ``@champion``; the pipeline's account, given
to ``ModelRegistry`` as ``BasicAuth`` (from the ``mlflow_default`` connection through
``MlflowHook``), can log, register, move aliases and load, with its credentials reaching that
client alone (never the process environment) and never a log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from include.contracts import CHAMPION, CHAMPION_ALIAS, SHADOW, Tag
from include.platform.mlflow_client import BasicAuth, mlflow_client
from include.platform.registry import ModelRegistry
from tests.fixtures.mlflow_auth import (
    AuthSetup,
    basic_auth_setup,
    create_pipeline_account,
    create_user,
    new_password,
)
from tests.fixtures.services import MlflowServer, start_mlflow

pytestmark = pytest.mark.integration

ENV_NAMES = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
# A password with characters that need care in headers and URIs; generated part so it is never a default.
PIPELINE = BasicAuth("mlops-pipeline", "s3cr:t p@ss/w%rd-" + new_password())
READER = BasicAuth("analyst", new_password())
MODEL = "churn_auth"


@dataclass
class AuthServer:
    tracking_uri: str
    artifacts_dir: Path
    setup: AuthSetup
    server: MlflowServer
    account_output: str  # what pipeline_account.py printed (stdout + stderr)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    root = tmp_path_factory.mktemp("mlflow-auth")
    setup = basic_auth_setup(root / "auth")
    server = start_mlflow(root, "mlflow-basic-auth", setup.server_args(), setup.server_env())
    try:
        made = create_pipeline_account(server.tracking_uri, setup.admin, PIPELINE)
        create_user(server.tracking_uri, setup.admin, READER)
        yield AuthServer(server.tracking_uri, server.artifacts_dir, setup, server, made.stdout + made.stderr)
    finally:
        server.service.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def _refused(exc: BaseException, code: int) -> bool:
    text = str(exc)
    names = {401: ("401", "Unauthorized", "UNAUTHENTICATED", "not authenticated"), 403: ("403", "Permission denied")}
    return any(name in text for name in names[code])


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


def alias_request(server: AuthServer, auth: BasicAuth | None, version: str) -> requests.Response:
    """POST registered-models/alias (what the MLflow UI's alias editor sends) as ``auth``."""
    return requests.post(
        f"{server.tracking_uri}/api/2.0/mlflow/registered-models/alias",
        json={"name": MODEL, "alias": CHAMPION_ALIAS, "version": version},
        auth=(auth.username, auth.password) if auth else None,
        timeout=30,
    )


def api_get(server: AuthServer, path: str, params: dict[str, str], auth: BasicAuth) -> requests.Response:
    return requests.get(server.tracking_uri + path, params=params, auth=(auth.username, auth.password), timeout=30)


def test_anonymous_and_wrong_password_are_refused(auth_server, clean_env):
    with pytest.raises(Exception) as anonymous:
        mlflow_client(auth_server.tracking_uri).search_experiments()
    assert _refused(anonymous.value, 401)
    with pytest.raises(Exception) as wrong:
        ModelRegistry(auth_server.tracking_uri, auth=BasicAuth(PIPELINE.username, "not the password")).experiment_id(
            "churn"
        )
    assert _refused(wrong.value, 401)
    # MLflow ships no default admin password, and the configured one works (the test made it).
    legacy = BasicAuth("admin", "password1234")
    assert api_get(auth_server, "/api/2.0/mlflow/users/get", {"username": "admin"}, legacy).status_code == 401
    found = api_get(auth_server, "/api/2.0/mlflow/users/get", {"username": PIPELINE.username}, auth_server.setup.admin)
    assert found.status_code == 200 and found.json()["user"]["is_admin"] is False


def test_pipeline_account_registers_and_moves_aliases(auth_server, clean_env, tmp_path):
    registry = ModelRegistry(auth_server.tracking_uri, auth=PIPELINE)
    experiment = registry.experiment_id(MODEL)
    run_id = registry.client.create_run(experiment, run_name="auth test").info.run_id
    registry.client.log_dict(run_id, {"rows": 60}, "data/pull_stats.json")
    path, trusted = saved_model(tmp_path)
    model_uri = registry.log_model_dir(run_id, path)
    registry.client.set_terminated(run_id)

    version = registry.register(MODEL, model_uri, run_id, tags={"mlops.actor": "test"})
    assert registry.stage_of(MODEL, version.version) == "candidate"
    assert registry.register(MODEL, model_uri, run_id, tags={}).version == version.version  # once
    registry.record_move(MODEL, version.version, SHADOW, reason="auth test", actor="test")
    registry.record_move(MODEL, version.version, CHAMPION, reason="auth test", actor="test")
    assert str(registry.alias_version(MODEL, CHAMPION_ALIAS).version) == str(version.version)

    model = registry.load_version(MODEL, version.version, trusted)
    assert model.predict([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]).tolist() == [1, 0]
    assert registry.load_model(model_uri, trusted).coef_.shape == (1, 3)
    stats = registry.download_artifact(run_id, "data/pull_stats.json")
    assert stats.read_text().strip() == '{\n  "rows": 60\n}'
    # Artifacts really went through the server, to its artifacts destination.
    assert list(auth_server.artifacts_dir.rglob("pull_stats.json"))
    # Nothing leaked into the process: a client without credentials is still refused.
    assert not [name for name in ENV_NAMES if name in os.environ]
    with pytest.raises(Exception) as anonymous:
        mlflow_client(auth_server.tracking_uri).get_run(run_id)
    assert _refused(anonymous.value, 401)


def test_nobody_else_can_move_champion(auth_server, clean_env):
    """Anonymous: 401. A signed-in user with READ (the default for people): 403, as the UI's
    alias editor would get. The alias stays where the pipeline put it."""
    pipeline = mlflow_client(auth_server.tracking_uri, PIPELINE)
    if not pipeline.search_registered_models(f"name = '{MODEL}'"):
        pytest.skip("needs test_pipeline_account_registers_and_moves_aliases (the model)")
    holder = str(pipeline.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version)
    first = pipeline.get_model_version(MODEL, holder)
    other = pipeline.create_model_version(
        MODEL, first.source, first.run_id, model_id=first.source.removeprefix("models:/")
    )
    assert alias_request(auth_server, None, str(other.version)).status_code == 401

    reader = mlflow_client(auth_server.tracking_uri, READER)
    assert str(reader.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == holder  # READ works
    assert alias_request(auth_server, READER, str(other.version)).status_code == 403
    for move in (
        lambda: reader.set_registered_model_alias(MODEL, CHAMPION_ALIAS, str(other.version)),
        lambda: reader.delete_registered_model_alias(MODEL, CHAMPION_ALIAS),
        lambda: reader.set_model_version_tag(MODEL, str(other.version), Tag.STAGE, CHAMPION),
    ):
        with pytest.raises(Exception) as refused:
            move()
        assert _refused(refused.value, 403)
    assert str(pipeline.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == holder


def test_pipeline_account_script_is_idempotent_and_quiet(auth_server):
    """Re-running it (every `docker compose up`) changes nothing but the password it is given;
    wrong admin credentials or missing variables fail with a message naming what to fix.
    No password is ever printed."""
    admin = auth_server.setup.admin
    again = create_pipeline_account(auth_server.tracking_uri, admin, PIPELINE)
    assert "password updated" in again.stdout
    roles = api_get(auth_server, "/api/3.0/mlflow/users/roles/list", {"username": PIPELINE.username}, admin).json()
    # Besides MLflow's own per-user role (__user_<id>__: MANAGE on what the account created), one role.
    named = [role for role in roles["roles"] if not role["name"].startswith("__user_")]
    assert [role["name"] for role in named] == ["mlops-pipeline"]
    grants = {(p["resource_type"], p["resource_pattern"], p["permission"]) for p in named[0]["permissions"]}
    assert grants == {("registered_model", "*", "MANAGE"), ("experiment", "*", "MANAGE")}

    wrong_admin = BasicAuth(auth_server.setup.admin.username, new_password())
    failed = create_pipeline_account(auth_server.tracking_uri, wrong_admin, PIPELINE, check=False)
    assert failed.returncode == 1 and "MLFLOW_AUTH_ADMIN_PASSWORD" in failed.stderr
    missing = create_pipeline_account(auth_server.tracking_uri, admin, BasicAuth("x", ""), check=False)
    assert missing.returncode == 2 and "MLFLOW_PIPELINE_PASSWORD" in missing.stderr

    secrets_ = (PIPELINE.password, admin.password, wrong_admin.password, READER.password)
    for output in (auth_server.account_output, again.stdout + again.stderr, failed.stdout + failed.stderr):
        assert not [s for s in secrets_ if s in output]
    # The server's own log has none of them either.
    server_log = auth_server.server.service.log_path.read_text(encoding="utf-8", errors="replace")
    assert not [s for s in secrets_ if s in server_log]


def test_hook_passes_connection_credentials_to_the_registry_only(auth_server, clean_env, monkeypatch, caplog):
    from airflow.sdk import Connection

    from mlops_airflow.hooks.registry import MlflowHook

    host, port = auth_server.tracking_uri.rsplit(":", 1)
    conn = Connection(
        conn_id="mlflow_auth_test",
        conn_type="http",
        host=host,
        port=int(port),
        login=PIPELINE.username,
        password=PIPELINE.password,
    )
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_AUTH_TEST", conn.as_json())
    caplog.set_level(logging.DEBUG)
    hook = MlflowHook(mlflow_conn_id="mlflow_auth_test")
    assert hook.tracking_uri() == auth_server.tracking_uri  # no credentials in the URI
    registry = hook.get_conn()
    assert registry.experiment_id("hooked")
    # The pipeline's account through the connection may move aliases (MANAGE on every model).
    if registry.client.search_registered_models(f"name = '{MODEL}'"):
        holder = registry.alias_version(MODEL, CHAMPION_ALIAS)
        registry.client.set_registered_model_alias(MODEL, CHAMPION_ALIAS, holder.version)
    assert not [name for name in ENV_NAMES if name in os.environ]
    assert PIPELINE.password not in repr(registry) and PIPELINE.password not in repr(hook.basic_auth())
    assert PIPELINE.password not in caplog.text
