"""Create or update the pipeline's own account on an MLflow server running ``--app-name basic-auth``.

Run once after the server is up (docker-compose.yaml: service ``mlflow-init``;
tests/integration/stack/airflow_stack.py runs it the same way). Idempotent: safe on every start.

As the MLflow admin it
  1. creates the user ``$MLFLOW_PIPELINE_USERNAME`` with ``$MLFLOW_PIPELINE_PASSWORD``, or sets
     that password if the user exists (rotating the password in .env and re-running rotates it);
  2. creates the role ``mlops-pipeline`` with MANAGE on every registered model and every
     experiment (so the pipeline may also move aliases on models created before authentication
     was switched on), and assigns it to that user.
Everyone else keeps the server's ``default_permission`` (READ, docker/mlflow/basic_auth.ini): the
promote, rollback and reconcile DAGs, which run as this account, are the only ones that move
aliases (docs/production.md, "Who can move aliases").

Environment (no defaults for secrets):
  MLFLOW_TRACKING_URI          the server, e.g. http://mlflow:5000
  MLFLOW_AUTH_ADMIN_USERNAME   the admin the server bootstrapped (same variables as the server)
  MLFLOW_AUTH_ADMIN_PASSWORD
  MLFLOW_PIPELINE_USERNAME     the pipeline's account (Airflow connection mlflow_default)
  MLFLOW_PIPELINE_PASSWORD     at least 12 characters (MLflow's password rule)
  MLFLOW_INIT_WAIT_SECONDS     how long to wait for the server (default 120)

Standard library only; passwords are never printed.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

ROLE = "mlops-pipeline"
WORKSPACE = "default"  # MLflow's workspace when workspaces are not enabled
GRANTS = (("registered_model", "*", "MANAGE"), ("experiment", "*", "MANAGE"))
REQUIRED = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_AUTH_ADMIN_USERNAME",
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "MLFLOW_PIPELINE_USERNAME",
    "MLFLOW_PIPELINE_PASSWORD",
)


class InitError(Exception):
    """The account could not be set up; the message says what to fix (never a password)."""


class AuthApi:
    """The admin side of MLflow's basic-auth REST API."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._header = f"Basic {token}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of one request; 4xx answers are returned, not raised."""
        url = self.url + path
        data = None
        if body is not None and method == "GET":
            url += "?" + urllib.parse.urlencode(body)
        elif body is not None:
            data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", self._header)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise InitError(
                    f"MLflow at {self.url} refused the admin credentials ({exc.code} on {path}): "
                    "check MLFLOW_AUTH_ADMIN_USERNAME/MLFLOW_AUTH_ADMIN_PASSWORD (the admin is created "
                    "on the server's first start; later changes need the update-password API)"
                ) from None
            return exc.code, _json(exc.read())

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        status, answer = self.call(method, path, body)
        if status != 200:
            raise InitError(f"MLflow at {self.url}: {method} {path} answered {status}: {answer.get('message', answer)}")
        return answer


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {"message": raw[:200].decode(errors="replace")}
    return value if isinstance(value, dict) else {"message": str(value)}


def wait_for_server(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5):
                return
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() > deadline:
                raise InitError(f"MLflow at {url} not reachable after {seconds:.0f}s: {exc}") from None
            time.sleep(2)


def ensure_user(api: AuthApi, username: str, password: str) -> str:
    """Create the user, or set its password if it exists. Returns what was done."""
    status, answer = api.call("POST", "/api/2.0/mlflow/users/create", {"username": username, "password": password})
    if status == 200:
        return "created"
    if answer.get("error_code") != "RESOURCE_ALREADY_EXISTS":
        raise InitError(f"creating MLflow user {username!r} failed ({status}): {answer.get('message', answer)}")
    api.ok("PATCH", "/api/2.0/mlflow/users/update-password", {"username": username, "password": password})
    return "password updated"


def ensure_role(api: AuthApi) -> int:
    """The id of role ``ROLE`` holding every grant of ``GRANTS`` (created as needed)."""
    roles = api.ok("GET", "/api/3.0/mlflow/roles/list", {"workspace": WORKSPACE}).get("roles", [])
    role = next((r for r in roles if r.get("name") == ROLE), None)
    if role is None:
        body = {"workspace": WORKSPACE, "name": ROLE, "description": "Airflow MLOps pipeline (mlflow_default)"}
        role = api.ok("POST", "/api/3.0/mlflow/roles/create", body)["role"]
    role_id = int(role["id"])
    held = {(p["resource_type"], p["resource_pattern"]): p for p in role.get("permissions") or []}
    for resource_type, pattern, permission in GRANTS:
        current = held.get((resource_type, pattern))
        if current is None:
            grant = {"resource_type": resource_type, "resource_pattern": pattern, "permission": permission}
            api.ok("POST", "/api/3.0/mlflow/roles/permissions/add", {"role_id": role_id, **grant})
        elif current["permission"] != permission:
            update = {"role_permission_id": current["id"], "permission": permission}
            api.ok("PATCH", "/api/3.0/mlflow/roles/permissions/update", update)
    return role_id


def ensure_assigned(api: AuthApi, username: str, role_id: int) -> None:
    status, answer = api.call("POST", "/api/3.0/mlflow/roles/assign", {"username": username, "role_id": role_id})
    if status != 200 and answer.get("error_code") != "RESOURCE_ALREADY_EXISTS":
        raise InitError(f"assigning role {ROLE!r} to {username!r} failed ({status}): {answer.get('message', answer)}")


def main(env: dict[str, str] | os._Environ[str] = os.environ) -> int:
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        print(f"pipeline_account: set {', '.join(missing)}", file=sys.stderr)
        return 2
    url, username = env["MLFLOW_TRACKING_URI"], env["MLFLOW_PIPELINE_USERNAME"]
    if username == env["MLFLOW_AUTH_ADMIN_USERNAME"]:
        print("pipeline_account: MLFLOW_PIPELINE_USERNAME must differ from the admin user", file=sys.stderr)
        return 2
    try:
        wait_for_server(url, float(env.get("MLFLOW_INIT_WAIT_SECONDS") or 120))
        api = AuthApi(url, env["MLFLOW_AUTH_ADMIN_USERNAME"], env["MLFLOW_AUTH_ADMIN_PASSWORD"])
        done = ensure_user(api, username, env["MLFLOW_PIPELINE_PASSWORD"])
        ensure_assigned(api, username, ensure_role(api))
    except InitError as exc:
        print(f"pipeline_account: {exc}", file=sys.stderr)
        return 1
    grants = ", ".join(f"{p} on {t} {pat!r}" for t, pat, p in GRANTS)
    print(f"pipeline_account: MLflow user {username!r} {done}; role {ROLE!r} ({grants}) assigned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
