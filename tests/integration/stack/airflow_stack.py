"""The docker compose topology, started from local processes on loopback.

``start_stack`` brings up, each as a process of its own (by process id, in its own process group,
with its log in the stack's tmp dir):

* three fresh PostgreSQL databases on the server at ``MLOPS_TEST_POSTGRES_ADMIN_URL`` (default
  ``postgres@127.0.0.1:5432``): Airflow metadata (+ Celery result backend), MLflow backend store,
  audit trail; an unused Redis database index on ``MLOPS_TEST_REDIS_URL`` (default
  ``redis://127.0.0.1:6379``) as the Celery broker;
* a moto server as S3 (the bucket holds the data root and MLflow's artifacts), an MLflow tracking
  server on its PostgreSQL database with artifacts proxied to that bucket, running MLflow's basic
  authentication with docker/mlflow/basic_auth.ini (admin password generated here), the
  pipeline's account made by docker/mlflow/pipeline_account.py (what compose's ``mlflow-init``
  does) and a read-only user for the tests' own look at the registry;
* a Pushgateway and a Prometheus scraping it every second (Debian's binaries, as compose's
  pushgateway and prometheus services), the Pushgateway in the connection ``pushgateway_default``;
* Airflow with the CeleryExecutor: ``db migrate``, the connections ``aws_default`` (moto, with
  ``endpoint_url``), ``mlflow_default`` (the pipeline's MLflow account) and ``mlops_audit`` (PostgreSQL) and the pool
  ``mlops_deploy`` (what the compose ``airflow-init`` service does), then ``api-server``,
  ``scheduler``, ``dag-processor``, ``triggerer`` and two ``celery worker`` processes with
  distinct node names (``w1@<host>``, ``w2@<host>``), one task slot each.

Everything is torn down in reverse order by ``Stack.close`` (processes by pid, databases dropped,
the Redis database flushed), also when start-up fails half-way. ``python -m
tests.integration.stack.airflow_stack`` starts the same stack and keeps it up until Ctrl-C, to
look around in the UI.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import sqlalchemy as sa
import yaml

from include.dev.local_airflow import PRELOAD_DIR
from include.platform.mlflow_client import BasicAuth, mlflow_client
from tests.fixtures.mlflow_auth import basic_auth_setup, create_pipeline_account, create_user, new_password
from tests.fixtures.services import (
    FAKE_AWS,
    LOOPBACK,
    Service,
    ServiceError,
    ServiceUnavailable,
    free_port,
    fresh_postgres_db,
    host_port,
    postgres_admin,
    start_process,
    start_prometheus,
    start_pushgateway,
    venv_executable,
    wait_for_http,
)

PROJECT = Path(__file__).resolve().parents[3]
MODEL = "churn"
REDIS_URL = os.environ.get("MLOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_CLAIM_KEY = "airflow-mlops:stack-suite"
WORKERS = ("w1", "w2")
DAG_IDS = tuple(f"{kind}_{MODEL}" for kind in ("retrain", "batch_score", "monitor", "promote", "rollback"))
ADMIN = "admin"
# Latency limits relaxed (as in tests/e2e): a busy 2-core machine running nine Airflow, MLflow and
# moto processes must not turn a gate or a shadow criterion red; they are not under test here.
LATENCY_LIMIT_MS = 60_000


# -- external servers: PostgreSQL and Redis ----------------------------------------------------------
def redis_url(index: int) -> str:
    """REDIS_URL with database ``index`` (whatever database the configured URL names)."""
    return urlunsplit(urlsplit(REDIS_URL)._replace(path=f"/{index}"))


def redis_server() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as error:
        raise ServiceUnavailable(
            f"Redis is not reachable at {host_port(REDIS_URL, 6379)}: {error}\n"
            "The stack suite needs a Redis server there as Celery broker (set MLOPS_TEST_REDIS_URL to use another)."
        ) from error
    return client


def claim_redis_db(server: Any, owner: str) -> int:
    """An empty database index of the Redis server, flushed and marked as ours."""
    import redis

    try:
        count = int(server.config_get("databases").get("databases", 16))
    except redis.RedisError:  # CONFIG may be disabled: 16 is Redis' default
        count = 16
    candidates = list(range(1, count))  # 0 is everybody's default: leave it alone
    random.shuffle(candidates)
    for index in candidates:
        db = redis.Redis.from_url(redis_url(index), socket_connect_timeout=5)
        try:
            if db.dbsize() == 0 and db.set(REDIS_CLAIM_KEY, owner, nx=True):
                db.flushdb()
                db.set(REDIS_CLAIM_KEY, owner)
                return index
        finally:
            db.close()
    raise ServiceUnavailable(f"no empty database index on Redis at {host_port(REDIS_URL, 6379)} (tried 1..{count - 1})")


# -- the stack -------------------------------------------------------------------------------------
@dataclass
class Stack:
    root: Path
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)  # every Airflow process's environment
    api_url: str = ""
    mlflow_url: str = ""
    mlflow_admin: BasicAuth | None = None  # creates users and grants only
    mlflow_pipeline: BasicAuth | None = None  # the Airflow connection mlflow_default: moves aliases
    mlflow_reader: BasicAuth | None = None  # READ, as people get: what the tests look at MLflow with
    s3_endpoint: str = ""
    bucket: str = ""
    pushgateway_url: str = ""  # the connection pushgateway_default: the runs push their metrics here
    prometheus_url: str = ""  # scrapes the Pushgateway every second
    databases: dict[str, str] = field(default_factory=dict)  # role -> SQLAlchemy URL
    redis_db: int | None = None
    broker_url: str = ""
    password: str = ""
    processes: dict[str, Service] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    worker_names: dict[str, str] = field(default_factory=dict)  # w1 -> celery node name
    evidence: dict[str, Any] = field(default_factory=dict)  # what the tests saw, for the summary
    exit_stack: ExitStack = field(default_factory=ExitStack)
    _token: str | None = None

    # -- timings -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            self.timings[name] = self.timings.get(name, 0.0) + seconds
            print(f"[stack] {name}: {seconds:.1f}s", flush=True)

    # -- REST API --------------------------------------------------------------------------------
    def token(self) -> str:
        """A JWT from the SimpleAuthManager's token endpoint, as a script or the CLI gets one."""
        if self._token is None:
            response = requests.post(
                f"{self.api_url}/auth/token", json={"username": ADMIN, "password": self.password}, timeout=30
            )
            assert response.status_code == 201, f"POST /auth/token: {response.status_code} {response.text[:500]}"
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, expect: int | tuple[int, ...] = 200, **kwargs: Any) -> Any:
        """Call ``/api/v2<path>`` with the bearer token; the JSON answer."""
        response = requests.request(
            method,
            f"{self.api_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})},
            timeout=kwargs.pop("timeout", 30),
            **kwargs,
        )
        wanted = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in wanted, f"{method} /api/v2{path}: {response.status_code} {response.text[:1000]}"
        return response.json() if response.content else None

    def unpause(self, dag_id: str) -> None:
        dag = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        assert dag["is_paused"] is False

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, note: str | None = None) -> str:
        run_id = f"stack__{dag_id}__{uuid.uuid4().hex[:8]}"
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}, **({"note": note} if note else {})}
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 420) -> dict[str, Any]:
        """Poll the run until it finishes; a failed run raises with its failed tasks' logs."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{dag_id} {run_id} still {run['state']} after {timeout:.0f}s\n{self.describe_run(dag_id, run_id)}"
                )
            self.check_processes()
            time.sleep(2)
        if run["state"] != "success":
            raise AssertionError(f"{dag_id} {run_id} {run['state']}\n{self.describe_run(dag_id, run_id)}")
        return run

    def wait_task(self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float = 300) -> None:
        """Poll until ``task_id`` of the run is in ``state`` (a run that ends first fails)."""
        deadline = time.monotonic() + timeout
        while True:
            tis = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
            if tis.get(task_id) == state:
                return
            run_state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if run_state in ("success", "failed") or time.monotonic() > deadline:
                raise AssertionError(
                    f"{dag_id} {run_id}: {task_id} is {tis.get(task_id)}, not {state} (run {run_state})\n"
                    f"{self.describe_run(dag_id, run_id)}"
                )
            self.check_processes()
            time.sleep(2)

    def run_dag(
        self, dag_id: str, conf: dict[str, Any] | None = None, label: str | None = None, timeout: float = 420
    ) -> tuple[str, dict]:
        """Trigger ``dag_id`` and wait for success (timed as phase ``label``); (run id, run)."""
        with self.phase(label or dag_id):
            run_id = self.trigger(dag_id, conf)
            return run_id, self.wait_run(dag_id, run_id, timeout)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})[
            "task_instances"
        ]

    def task_log(self, dag_id: str, run_id: str, ti: dict[str, Any]) -> str:
        """The task's log through the API (as the UI shows it), flattened to text."""
        try_number = max(1, int(ti.get("try_number") or 1))
        answer = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{try_number}",
            params={"map_index": ti.get("map_index", -1), "full_content": "true"},
            expect=(200, 404),
        )
        content = (answer or {}).get("content") or []
        lines = []
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, dict):
                extra = {k: v for k, v in item.items() if k not in ("timestamp", "event", "level", "logger")}
                lines.append(f"{item.get('level', '')} {item.get('event', '')} {extra or ''}".rstrip())
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def describe_run(self, dag_id: str, run_id: str, log_lines: int = 60) -> str:
        """Task states and hosts, and the log tail of every task that did not succeed."""
        try:
            tis = self.task_instances(dag_id, run_id)
        except Exception as error:  # the API itself may be what broke
            return f"(task instances unavailable: {error})\n{self.process_logs()}"
        out = [
            f"  {ti['task_id']}[{ti['map_index']}] {ti['state']} try {ti['try_number']} on {ti.get('hostname')}"
            for ti in tis
        ]
        for ti in tis:
            if ti["state"] not in ("success", "skipped", None, "scheduled", "queued"):
                log = self.task_log(dag_id, run_id, ti).splitlines()[-log_lines:]
                out.append(f"--- log of {ti['task_id']}[{ti['map_index']}] ---\n" + "\n".join(log))
        return "\n".join(out)

    # -- processes -------------------------------------------------------------------------------
    def check_processes(self) -> None:
        dead = {name: svc.process.returncode for name, svc in self.processes.items() if not svc.running()}
        if dead:
            raise ServiceError(f"stack process(es) exited: {dead}\n{self.process_logs(names=list(dead))}")

    def process_logs(self, lines: int = 30, names: list[str] | None = None) -> str:
        parts = []
        for name, svc in self.processes.items():
            if names is None or name in names:
                state = "running" if svc.running() else f"exited {svc.process.returncode}"
                parts.append(f"--- {name} (pid {svc.pid}, {state}) {svc.log_path} ---\n{svc.log_tail(lines)}")
        return "\n".join(parts)

    def celery_ping(self, timeout: float = 2.0) -> dict[str, Any]:
        """Worker node name -> reply, as ``celery inspect ping`` (the compose healthcheck) gets it."""
        from celery import Celery

        app = Celery(broker=self.broker_url)
        try:
            replies = app.control.ping(timeout=timeout) or []
        finally:
            app.close()
        return {name: reply for item in replies for name, reply in item.items()}

    def mlflow(self, auth: BasicAuth | None = None) -> Any:
        """An MlflowClient on the stack's server, as ``auth`` (default: the read-only user)."""
        return mlflow_client(self.mlflow_url, auth or self.mlflow_reader)

    def s3(self) -> Any:
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.s3_endpoint, **FAKE_AWS)

    def storage(self) -> Any:
        from include.platform.storage import S3Storage

        return S3Storage(f"s3://{self.bucket}/data", client=self.s3())

    def stop_all(self, grace: float = 15.0) -> None:
        """SIGTERM every process group started here at once; SIGKILL what is left after ``grace``."""
        running = [svc for svc in self.processes.values() if svc.running()]

        def stop(svc: Service) -> str:
            began = time.perf_counter()
            code = svc.stop(grace)
            return f"{svc.name} {time.perf_counter() - began:.1f}s (exit {code})"

        if running:
            with ThreadPoolExecutor(max_workers=len(running)) as pool:
                print(f"[stack] stopped: {', '.join(pool.map(stop, running))}", flush=True)
        for svc in self.processes.values():  # a parent that exited may have left its group behind
            svc.stop(0.5)

    def close(self) -> None:
        with self.phase("teardown"):
            self.exit_stack.close()


def _airflow(*args: str) -> list[str]:
    return [venv_executable("airflow"), *args]


def _run(cmd: list[str], env: dict[str, str], log_path: Path, timeout: float = 300) -> None:
    """A one-shot command (like the compose airflow-init), its output in ``log_path``."""
    with open(log_path, "ab") as log:
        log.write(f"$ {shlex.join(cmd)}\n".encode())
        log.flush()
        result = subprocess.run(
            cmd, env=env, cwd=PROJECT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            timeout=timeout, check=False,
        )  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise ServiceError(
            f"`{shlex.join(cmd[1:])}` failed with exit code {result.returncode}; log {log_path}:\n{tail}"
        )


class _Background(threading.Thread):
    """Run a function in a thread; ``result()`` re-raises its exception in the caller."""

    def __init__(self, name: str, target: Callable[[], Any]) -> None:
        super().__init__(name=name, daemon=True)
        self._target_fn = target
        self._error: BaseException | None = None
        self._value: Any = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._target_fn()
        except BaseException as error:
            self._error = error

    def result(self, timeout: float = 600) -> Any:
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError(f"{self.name} still running after {timeout:.0f}s")
        if self._error is not None:
            raise self._error
        return self._value


def write_stack_config(directory: Path, scoring: dict[str, Any] | None = None) -> Path:
    """The churn config for the stack (MLOPS_CONFIG_DIR): driven by hand, small scoring chunks.

    No schedules: an unpaused DAG would otherwise start a run for the latest interval at once
    (catchup is off but the last interval still runs) and, with ``max_active_runs=1``, hold up
    the runs the tests trigger. Scoring: units of at most 4 (several mapped ``score`` tasks for a
    date range) streamed 200 rows at a time. Latency limits relaxed (see LATENCY_LIMIT_MS).
    Promotions wait for a person's approval (Required Actions), as a production team would set it.
    ``scoring`` replaces those scoring settings (the scale-out benchmark keeps the model file's).
    """
    data = yaml.safe_load((PROJECT / "include" / "models" / f"{MODEL}.yaml").read_text())
    data["schedules"] = {"retrain": None, "score": None, "monitor": None, "promote": None}
    data["scoring"].update(scoring or {"max_parallel": 4, "chunk_rows": 200})
    data["gates"]["max_latency_ms_per_1k"] = LATENCY_LIMIT_MS
    data["deploy"]["max_latency_ms_per_1k"] = LATENCY_LIMIT_MS
    data["deploy"]["approval_required"] = True  # a person approves in Required Actions (test_stack.py step 5)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{MODEL}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_stack(
    root: Path, sample_days: int = 50, rows_per_day: int = 600, scoring: dict[str, Any] | None = None
) -> Stack:
    """Start everything (see the module docstring); on any failure, stop what was started."""
    root.mkdir(parents=True, exist_ok=True)
    stack = Stack(root=root, log_dir=root / "logs")
    stack.log_dir.mkdir(exist_ok=True)
    try:
        _start(stack, sample_days, rows_per_day, scoring)
    except BaseException as error:
        logs = stack.process_logs()
        stack.close()
        if isinstance(error, ServiceUnavailable | KeyboardInterrupt):
            raise
        raise ServiceError(f"the stack did not start: {error}\n{logs}") from error
    return stack


def _start(stack: Stack, sample_days: int, rows_per_day: int, scoring: dict[str, Any] | None = None) -> None:
    suffix = uuid.uuid4().hex[:10]
    owner = f"pid {os.getpid()} on {socket.gethostname()}"
    hostname = socket.gethostname()

    # -- PostgreSQL databases and the Redis database -------------------------------------------------
    with stack.phase("postgres + redis"):
        admin = postgres_admin("the stack suite")
        stack.exit_stack.callback(admin.dispose)
        for role in ("airflow", "mlflow", "audit"):
            stack.databases[role] = stack.exit_stack.enter_context(fresh_postgres_db(f"mlops_stack_{role}", admin))
        redis = redis_server()
        stack.redis_db = claim_redis_db(redis, owner)
        stack.broker_url = redis_url(stack.redis_db)

        def flush_redis() -> None:
            import redis as redis_lib

            db = redis_lib.Redis.from_url(stack.broker_url, socket_connect_timeout=5)
            with contextlib.suppress(redis_lib.RedisError):
                db.flushdb()
            db.close()
            redis.close()

        stack.exit_stack.callback(flush_redis)

    # Every process started below is stopped by this one callback, all at once (see stop_all);
    # atexit too, should the interpreter end without the fixture's teardown.
    stack.exit_stack.callback(stack.stop_all)
    atexit.register(stack.stop_all, 2.0)

    def launch(name: str, cmd: list[str], env: dict[str, str]) -> Service:
        service = start_process(name, cmd, stack.log_dir, env=env, cwd=PROJECT)
        stack.processes[name] = service
        return service

    # -- moto (S3) and MLflow --------------------------------------------------------------------
    with stack.phase("moto + bucket"):
        port = free_port()
        stack.s3_endpoint = f"http://{LOOPBACK}:{port}"
        moto = launch("moto", [venv_executable("moto_server"), "-H", LOOPBACK, "-p", str(port)], {})
        wait_for_http(f"{stack.s3_endpoint}/moto-api/", timeout=30, service=moto)
        stack.bucket = f"mlops-stack-{suffix}"
        stack.s3().create_bucket(Bucket=stack.bucket)

    # -- Pushgateway and Prometheus (compose: pushgateway, prometheus) -----------------------------
    with stack.phase("pushgateway + prometheus"):
        metrics_dir = stack.root / "prometheus"
        metrics_dir.mkdir(exist_ok=True)
        gateway = stack.processes["pushgateway"] = start_pushgateway(metrics_dir)
        prometheus = stack.processes["prometheus"] = start_prometheus(metrics_dir, gateway.url)
        stack.pushgateway_url, stack.prometheus_url = gateway.url, prometheus.url

    mlflow_port = free_port()
    stack.mlflow_url = f"http://{LOOPBACK}:{mlflow_port}"
    mlflow_backend = stack.databases["mlflow"]
    auth = basic_auth_setup(stack.root / "mlflow-auth")
    stack.mlflow_admin = auth.admin
    stack.mlflow_pipeline = BasicAuth("mlops-pipeline", new_password())
    stack.mlflow_reader = BasicAuth("analyst", new_password())
    mlflow = launch(
        "mlflow",
        [
            venv_executable("mlflow"), "server", "--host", LOOPBACK, "--port", str(mlflow_port),
            "--backend-store-uri", mlflow_backend,
            "--artifacts-destination", f"s3://{stack.bucket}/mlflow", "--serve-artifacts", "--workers", "1",
            *auth.server_args(),
        ],
        {
            **auth.server_env(),
            # Only the server holds S3 credentials for artifacts (proxied), as in docker-compose.yaml.
            "MLFLOW_S3_ENDPOINT_URL": stack.s3_endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_AWS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_AWS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": FAKE_AWS["region_name"],
        },
    )  # fmt: skip

    # Sample data goes to S3 while Airflow migrates its database.
    def write_sample() -> dict[str, Any]:
        from include.dev.sample_data import write_sample_data

        with stack.phase("sample data to S3"):
            return write_sample_data(
                stack.storage(), start=dt.date(2026, 1, 1), days=sample_days, rows_per_day=rows_per_day, customers=2000
            )

    sample = _Background("sample data", write_sample)

    # -- Airflow: configuration shared by every component --------------------------------------------
    home = stack.root / "airflow"
    home.mkdir(exist_ok=True)
    api_port = free_port()
    stack.api_url = f"http://{LOOPBACK}:{api_port}"
    stack.password = secrets.token_urlsafe(16)
    passwords_file = home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps({ADMIN: stack.password}))
    passwords_file.chmod(0o600)
    config_dir = write_stack_config(stack.root / "configs", scoring).parent
    metadata = sa.make_url(stack.databases["airflow"])
    env = {
        key: value
        for key, value in os.environ.items()
        # Never inherit the developer's local state or another Airflow's settings.
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "MLOPS_", "MLFLOW_", "AWS_"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.render_as_string(hide_password=False),
            "AIRFLOW__CELERY__BROKER_URL": stack.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + metadata.set(drivername="postgresql").render_as_string(hide_password=False),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__BASE_URL": stack.api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{stack.api_url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            # The DAG files do not change during the suite: parse them once, not every 30 s.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            "PYTHONPATH": f"{PROJECT}:{PROJECT / 'plugins'}",
            "MLOPS_DATA_ROOT": f"s3://{stack.bucket}/data",
            "MLOPS_S3_ENDPOINT_URL": stack.s3_endpoint,
            "MLFLOW_TRACKING_URI": stack.mlflow_url,
            "MLOPS_CONFIG_DIR": str(config_dir),
            "MLOPS_NOTIFY_DIR": str(stack.root / "notifications"),
            "MLOPS_STATE_DIR": str(stack.root / "state"),
            "MLOPS_RETRY_DELAY_SECONDS": "5",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "GX_ANALYTICS_ENABLED": "false",
            "GIT_PYTHON_REFRESH": "quiet",
        }
    )
    stack.env = env

    # -- airflow-init: migrate, connections, pool ---------------------------------------------------
    with stack.phase("airflow db migrate"):
        _run(_airflow("db", "migrate"), env, stack.log_dir / "airflow-init.log")
    audit = sa.make_url(stack.databases["audit"])
    connections = {
        # plugins/mlops_airflow/hooks/storage.py: credentials, region and endpoint of the S3 API.
        "aws_default": {
            "conn_type": "aws",
            "login": FAKE_AWS["aws_access_key_id"],
            "password": FAKE_AWS["aws_secret_access_key"],
            "extra": {"endpoint_url": stack.s3_endpoint, "region_name": FAKE_AWS["region_name"]},
        },
        # plugins/mlops_airflow/hooks/registry.py: the host is the tracking server URL; login and
        # password the pipeline's MLflow account (created below, once the server is up).
        "mlflow_default": {
            "conn_type": "http",
            "host": stack.mlflow_url,
            "login": stack.mlflow_pipeline.username,
            "password": stack.mlflow_pipeline.password,
        },
        # plugins/mlops_airflow/hooks/audit.py: the audit trail on its own PostgreSQL database.
        "mlops_audit": {
            "conn_type": "postgres",
            "host": audit.host,
            "port": audit.port or 5432,
            "login": audit.username,
            "password": audit.password or "",
            "schema": audit.database,
        },
        # plugins/mlops_airflow/hooks/metrics.py: where the runs push their metrics.
        "pushgateway_default": {
            "conn_type": "http",
            "host": urlsplit(stack.pushgateway_url).hostname,
            "port": urlsplit(stack.pushgateway_url).port,
        },
    }
    init_files = stack.root / "init"
    init_files.mkdir(exist_ok=True)
    (init_files / "connections.json").write_text(json.dumps(connections))
    (init_files / "pools.json").write_text(
        json.dumps({"mlops_deploy": {"slots": 1, "description": "one promotion or rollback at a time"}})
    )
    init = [
        _Background(
            f"airflow {what} import",
            lambda what=what: _run(
                _airflow(what, "import", str(init_files / f"{what}.json")), env, stack.log_dir / f"airflow-{what}.log"
            ),
        )
        for what in ("connections", "pools")
    ]

    # -- Airflow components --------------------------------------------------------------------------
    with stack.phase("airflow components up"):
        api = launch("api-server", _airflow("api-server", "--host", LOOPBACK, "--port", str(api_port), "-w", "2"), env)
        launch("scheduler", _airflow("scheduler"), env)
        launch("dag-processor", _airflow("dag-processor"), env)
        launch("triggerer", _airflow("triggerer"), env)
        for worker in WORKERS:
            node = f"{worker}@{hostname}"
            stack.worker_names[worker] = node
            worker_env = {
                **env,
                # The task instance hostname tells the workers apart, as separate machines would.
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.integration.stack.worker_hostname.hostname",
                "MLOPS_STACK_WORKER_HOSTNAME": node,
                # As the compose airflow-worker: the pipelines' libraries imported once per worker,
                # before Celery forks its pool (include/platform/preload/airflow_local_settings.py).
                "PYTHONPATH": os.pathsep.join(filter(None, [str(PRELOAD_DIR), env.get("PYTHONPATH", "")])),
            }
            # --skip-serve-logs: both workers share this machine's log folder with the api-server
            # (as the compose services share the logs volume), and one port 8793 only.
            launch(
                f"worker-{worker}",
                _airflow("celery", "worker", "--celery-hostname", node, "--concurrency", "1", "--skip-serve-logs"),
                worker_env,
            )
        wait_for_http(f"{stack.api_url}/api/v2/monitor/health", timeout=120, service=api)
        for process in init:
            process.result(timeout=180)

    with stack.phase("mlflow ready"):
        wait_for_http(f"{stack.mlflow_url}/health", timeout=180, service=mlflow)
    with stack.phase("mlflow accounts"):
        made = create_pipeline_account(stack.mlflow_url, stack.mlflow_admin, stack.mlflow_pipeline)
        (stack.log_dir / "mlflow-init.log").write_text(made.stdout + made.stderr)
        create_user(stack.mlflow_url, stack.mlflow_admin, stack.mlflow_reader)

    with stack.phase("workers + dags ready"):
        deadline = time.monotonic() + 180
        expected_nodes = set(stack.worker_names.values())
        while True:
            stack.check_processes()
            nodes = set(stack.celery_ping())
            dags = {d["dag_id"] for d in stack.api("GET", "/dags", params={"limit": 100})["dags"]}
            health = stack.api("GET", "/monitor/health")
            components = {
                name: (health.get(name) or {}).get("status") for name in ("scheduler", "triggerer", "dag_processor")
            }
            if expected_nodes <= nodes and set(DAG_IDS) <= dags and set(components.values()) == {"healthy"}:
                break
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"stack not ready after 180s: workers {sorted(nodes)} (want {sorted(expected_nodes)}), "
                    f"DAGs {sorted(dags)}, components {components}"
                )
            time.sleep(1)
    sample.result(timeout=300)


def main() -> None:
    """Start the stack and keep it up for a look around (Ctrl-C stops everything)."""
    import tempfile

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="mlops-stack-"))
    stack = start_stack(root)
    try:
        print(f"\nAirflow   {stack.api_url}  user {ADMIN} password {stack.password}")
        print(
            f"MLflow    {stack.mlflow_url}  user {stack.mlflow_reader.username} password {stack.mlflow_reader.password}"
        )
        print(f"S3        {stack.s3_endpoint} bucket {stack.bucket}")
        print(f"Metrics   Prometheus {stack.prometheus_url}, Pushgateway {stack.pushgateway_url}")
        print(f"Logs      {stack.log_dir}")
        print(f"Env       {stack.root / 'env.json'}\nCtrl-C stops the stack.", flush=True)
        (stack.root / "env.json").write_text(json.dumps(stack.env, indent=1))
        while True:
            time.sleep(5)
            stack.check_processes()
    except KeyboardInterrupt:
        pass
    finally:
        stack.close()


if __name__ == "__main__":
    main()
