"""Airflow's own components on this machine, driven by process id: what `make demo` runs its DAGs on.

``LocalAirflow.start`` launches ``airflow api-server`` (on a free loopback port), ``airflow
scheduler`` (LocalExecutor) and ``airflow dag-processor`` against the environment's AIRFLOW_HOME,
each in a process group of its own with its output in ``<log_dir>/<component>.log``, and waits
until the API answers and the scheduler and DAG processor report healthy. Runs are started and
followed through the REST API as a user's script would (``trigger`` / ``wait``); the scheduler
runs the tasks, so their logs land under ``[logging] base_log_folder`` where the web UI reads them.

The scheduler creates no runs of its own (``[scheduler] use_job_schedule = False``): the DAGs a
caller unpauses to run them do not also start their cron or asset-triggered runs, and ``stop``
pauses them again. ``stop`` (also on leaving the ``with`` block by an error or Ctrl-C) sends
SIGTERM to each process group it started, then SIGKILL to what is left after ``grace`` seconds.

Development helper, not used by the DAGs: imports nothing of Airflow.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

LOOPBACK = "127.0.0.1"
COMPONENTS = ("api-server", "scheduler", "dag-processor")
FINISHED = ("success", "failed")
# Health-report names of the components the API server reports on.
HEALTH_NAMES = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
ADMIN = "admin"
PRELOAD_DIR = Path(__file__).resolve().parents[1] / "platform" / "preload"


class LocalAirflowError(RuntimeError):
    """A component did not start or died, or a run did not finish: the message says which and
    where its log is."""


@dataclass
class RunResult:
    """A finished DAG run: its state, seconds from trigger to end, and its tasks' states."""

    dag_id: str
    run_id: str
    state: str
    seconds: float
    tasks: list[dict[str, Any]]

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    def failed_tasks(self) -> list[dict[str, Any]]:
        return [ti for ti in self.tasks if ti["state"] in ("failed", "upstream_failed")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def component_env(base: Mapping[str, str], port: int) -> dict[str, str]:
    """``base`` plus what the components must agree on: the API's address (also the execution
    API the tasks call), one JWT secret, the LocalExecutor, no runs on schedules."""
    api_url = f"http://{LOOPBACK}:{port}"
    home = base.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    env = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        # The file `make airflow-ui` (airflow standalone) reads too: one admin password.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": f"{home}/simple_auth_manager_passwords.json.generated",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        **{k: v for k, v in base.items() if v is not None},
    }
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
    env.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_hex(32))
    # Never taken from the caller: one port, one address, and no scheduled runs while we drive.
    env.update(
        {
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # The scheduler's log server (for remote workers' logs; none here) off the shared 8793.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }
    )
    return env


@dataclass
class LocalAirflow:
    """Started Airflow components and the REST API to drive them (see the module docstring)."""

    env: dict[str, str]
    log_dir: Path
    api_url: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    unpaused: list[str] = field(default_factory=list)
    preload: bool = True
    _token: str | None = None

    # -- processes ---------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        components: Sequence[str] = COMPONENTS,
        airflow: str = "airflow",
        timeout: float = 300,
        preload: bool = True,
    ) -> LocalAirflow:
        """Launch ``components`` and wait until they are healthy; on any failure stop what started.
        ``preload``: the scheduler imports the pipelines' libraries before forking (``component_env``)."""
        port = free_port()
        airflow_env = component_env(env if env is not None else os.environ, port)
        self = cls(airflow_env, Path(log_dir), f"http://{LOOPBACK}:{port}", preload=preload)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for name in components:
                self._launch(name, [airflow, name])
            self._wait_healthy([HEALTH_NAMES[n] for n in components if n in HEALTH_NAMES], timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> LocalAirflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _launch(self, name: str, cmd: list[str]) -> None:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:  # append, binary  # noqa: contract
            log.write(f"$ {' '.join(cmd)}\n".encode())
            log.flush()
            # A session of its own: its group id is its pid, so stop() reaches the workers and
            # task processes it forks, and the terminal's Ctrl-C reaches only the caller.
            self.processes[name] = subprocess.Popen(
                cmd,
                env=self.component_env(name),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def component_env(self, name: str) -> dict[str, str]:
        """The shared environment; the scheduler's also puts ``PRELOAD_DIR`` first on its path
        (its ``airflow_local_settings`` imports the pipelines' libraries before the executor's
        workers are forked, so tasks start with them imported)."""
        if name != "scheduler" or not self.preload:
            return self.env
        path = self.env.get("PYTHONPATH")
        return {**self.env, "PYTHONPATH": f"{PRELOAD_DIR}:{path}" if path else str(PRELOAD_DIR)}

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        """LocalAirflowError naming the first component that exited, with its log tail."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise LocalAirflowError(
                    f"airflow {name} exited with code {process.returncode}; "
                    f"log {self.log_dir / f'{name}.log'}:\n{self.log_tail(name)}"
                )

    def _wait_healthy(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(requests.RequestException, ValueError):
                health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
                status = {n: (health.get(n) or {}).get("status") for n in names}
                if all(s == "healthy" for s in status.values()):
                    return
            time.sleep(1)
        raise LocalAirflowError(
            f"Airflow components not healthy after {timeout:.0f}s ({status or 'API not answering'}); "
            f"logs in {self.log_dir}"
        )

    def stop(self, grace: float = 20.0) -> None:
        """Pause the DAGs unpaused here, then SIGTERM every process group started here at once
        and SIGKILL what is left after ``grace`` seconds. Safe to call twice."""
        if self.unpaused and all(p.poll() is None for p in self.processes.values()):
            for dag_id in self.unpaused:
                with contextlib.suppress(Exception):  # best effort: the processes go anyway
                    self.set_paused(dag_id, True)
        self.unpaused.clear()
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # children that outlived their parent too
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    # -- REST API ------------------------------------------------------------------------------
    def password(self) -> str:
        path = Path(self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
        return str(json.loads(path.read_text())[ADMIN])

    def api(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """Call ``/api/v2<path>`` as the admin user; the JSON answer (None for an empty one)."""
        if self._token is None:
            answer = requests.post(
                f"{self.api_url}/auth/token", json={"username": ADMIN, "password": self.password()}, timeout=30
            )
            if answer.status_code not in (200, 201):
                raise LocalAirflowError(f"POST /auth/token: {answer.status_code} {answer.text[:300]}")
            self._token = answer.json()["access_token"]
        response = requests.request(
            method,
            f"{self.api_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=60,
            **kwargs,
        )
        if response.status_code not in expect:
            raise LocalAirflowError(f"{method} /api/v2{path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> None:
        """Until the DAG processor has parsed ``dag_id`` (at once when it was serialised before)."""
        deadline = time.monotonic() + timeout
        while self.api("GET", f"/dags/{dag_id}", expect=(200, 404)).get("dag_id") != dag_id:
            self.check_alive()
            if time.monotonic() > deadline:
                raise LocalAirflowError(f"DAG {dag_id} not parsed after {timeout:.0f}s; see {self.log_dir}")
            time.sleep(2)

    def trigger(self, dag_id: str, conf: Mapping[str, Any], run_id: str | None = None) -> str:
        """Unpause ``dag_id`` (paused again by ``stop``) and start a run with ``conf``; its run id."""
        if dag_id not in self.unpaused:
            self.wait_for_dag(dag_id)
            self.set_paused(dag_id, False)
            self.unpaused.append(dag_id)
        body = {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf)}
        return str(self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return list(answer["task_instances"])

    def wait(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 1800,
        progress: Callable[[str], None] | None = None,
        every: float = 2.0,
    ) -> RunResult:
        """Poll the run until it succeeds or fails; ``progress`` gets a line whenever the tasks'
        states change. LocalAirflowError when a component dies, a task waits for the triggerer
        that is not running, or ``timeout`` passes."""
        started, last = time.monotonic(), ""
        while True:
            self.check_alive()
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            tasks = self.task_instances(dag_id, run_id)
            line = _progress_line(run["state"], tasks)
            if progress and line != last:
                progress(line)
            last = line
            if run["state"] in FINISHED:
                return RunResult(dag_id, run_id, run["state"], time.monotonic() - started, tasks)
            if "triggerer" not in self.processes and any(ti["state"] == "deferred" for ti in tasks):
                raise LocalAirflowError(f"{dag_id} {run_id}: a task is deferred and no triggerer runs here")
            if time.monotonic() - started > timeout:
                raise LocalAirflowError(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f}s: {line}")
            time.sleep(every)

    def task_log(self, dag_id: str, run_id: str, ti: Mapping[str, Any]) -> str:
        """A task's log as the web UI gets it from the API server, one line per record."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{max(1, ti['try_number'] or 1)}"
        answer = self.api("GET", path, params={"map_index": ti.get("map_index", -1), "full_content": "true"})
        content = answer.get("content") or []
        lines = []
        for item in content if isinstance(content, list) else [content]:
            lines.append(str(item.get("event", "")) if isinstance(item, dict) else str(item))
        return "\n".join(lines)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (None when the task pushed none)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        answer = self.api("GET", path, expect=(200, 404))
        if not answer or "value" not in answer:
            return None
        value = answer["value"]
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return json.loads(value)
        return value


def _progress_line(state: str, tasks: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for ti in tasks:
        counts[ti["state"] or "none"] = counts.get(ti["state"] or "none", 0) + 1
    running = sorted({ti["task_id"] for ti in tasks if ti["state"] == "running"})
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return f"{state}: {states}" + (f" (now: {', '.join(running)})" if running else "")


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
