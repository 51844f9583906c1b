"""The "Model health" view as the api-server serves it, for the e2e tests: run as
``python -m tests.e2e.health_view_client PATH...`` in the environment of a test's Airflow home.

It builds Airflow's own API app (``create_app``: the project's plugin mounted as the api-server
mounts it, the configured auth manager) and calls it in-process with ``TestClient``. A token
comes from Airflow's ``POST /auth/token`` with the SimpleAuthManager's generated password, as a
script gets one. Each path is requested three times: without credentials, with the bearer
token, and with the ``_token`` cookie the UI sets (what the iframe sends). One JSON line per
path on stdout: ``{"path", "anonymous", "status", "cookie_status", "content_type", "csp", "body"}``.
"""

from __future__ import annotations

import json
import sys


def main(paths: list[str]) -> None:
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from fastapi.testclient import TestClient

    client = TestClient(create_app("core"))
    user = "admin"  # [core] simple_auth_manager_users default: admin:admin
    password = SimpleAuthManager.get_passwords()[user]
    answer = client.post("/auth/token", json={"username": user, "password": password})
    assert answer.status_code == 201, answer.text
    token = answer.json()["access_token"]
    for path in paths:
        anonymous = client.get(path)
        with_bearer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        client.cookies.set("_token", token)
        with_cookie = client.get(path)
        client.cookies.clear()
        is_json = with_bearer.headers.get("content-type", "").startswith("application/json")
        record = {
            "path": path,
            "anonymous": anonymous.status_code,
            "status": with_bearer.status_code,
            "cookie_status": with_cookie.status_code,
            "content_type": with_bearer.headers.get("content-type", ""),
            "csp": with_bearer.headers.get("content-security-policy", ""),
            "body": with_bearer.json() if is_json else with_bearer.text,
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
