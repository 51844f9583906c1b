"""The "Model health" view's wiring: the plugin registers the app and the navigation entry
without importing anything heavy, and every data route refuses a request without Airflow's
token (the real ``GetUserDep``; the routes with a token are tested end to end in
tests/e2e/test_monitor_dag.py and on the stack)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.unit.conftest import CHURN_YAML

PROJECT = CHURN_YAML.parents[2]


def test_the_plugin_module_imports_nothing_heavy():
    code = (
        "import sys, json, mlops_airflow_plugin as p;"
        "heavy = [m for m in ('fastapi', 'pandas', 'mlflow', 'boto3', 'sklearn') if m in sys.modules];"
        "plugin = p.MlopsAirflowPlugin;"
        "print(json.dumps({'heavy': heavy, 'views': plugin.external_views,"
        " 'apps': [{k: v for k, v in a.items() if k != 'app'} for a in plugin.fastapi_apps]}))"
    )
    env = {"PYTHONPATH": f"{PROJECT}:{PROJECT / 'plugins'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["heavy"] == []
    assert found["apps"] == [{"url_prefix": "/mlops-health", "name": "Model health"}]
    (view,) = found["views"]
    assert (view["name"], view["href"], view["destination"], view["url_route"]) == (
        "Model health",
        "/mlops-health/",
        "nav",
        "model-health",
    )


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/models",
        "/api/models/churn",
        "/models/churn",
        "/models/churn/drift/2026-02-01",
        "/models/churn/versions/1/card",
    ],
)
def test_every_data_route_refuses_a_request_without_a_token(path):
    from fastapi.testclient import TestClient

    from mlops_airflow.health_view import create_app

    client = TestClient(create_app())
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}).status_code == 401


def test_the_navigation_icon_is_public_and_holds_no_data():
    from fastapi.testclient import TestClient

    from mlops_airflow.health_view import create_app

    answer = TestClient(create_app()).get("/icon.svg")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
