"""Run DAGs through Airflow itself (`airflow dags test` in a subprocess) on a private SQLite
metadata DB, against the real services started by tests/fixtures/services.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures.forkserver import ForkedProcess, ForkServer

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
_READ_AT_IMPORT = ("AIRFLOW__", "AIRFLOW_HOME")


@dataclass
class DagRunResult:
    dag_id: str
    returncode: int
    log: str
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and "DagRun Finished" in self.log and "state=success" in self.log

    @property
    def run_id(self) -> str:
        """The run's id, from the scheduler's "DagRun Finished" line."""
        found = re.search(r"DagRun Finished: dag_id=\S+, logical_date=[^,]*, run_id=([^,]+),", self.log)
        assert found, f"no 'DagRun Finished' line in the log of {self.dag_id}\n{self.tail()}"
        return found.group(1)

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.splitlines()[-lines:])


@dataclass
class AirflowProject:
    """An Airflow home under tmp with the project's DAGs; env tweaks per run.

    ``airflow dags test`` runs come from a fork server (``tests/fixtures/forkserver.py``) with the
    libraries already imported, unless the run's extra environment changes Airflow's config
    (``AIRFLOW__*``, ``AIRFLOW_HOME``: read when Airflow is imported) or ``MLOPS_TEST_FORKSERVER=0``:
    then a plain subprocess. Connections (``AIRFLOW_CONN_*``) are read per lookup: forked runs
    take them.
    """

    home: Path
    env: dict[str, str] = field(default_factory=dict)
    forkserver: ForkServer | None = None

    def run(self, dag_id: str, conf: dict | None = None, extra_env: dict[str, str] | None = None) -> DagRunResult:
        background = self.start(dag_id, conf, extra_env)
        try:
            return background.wait(timeout=600)
        finally:
            background.stop()

    def cli(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 300) -> str:
        """Run another ``airflow`` CLI command on this home (e.g. ``pools set``); its output."""
        result = subprocess.run(
            [AIRFLOW, *args],
            env={**self.env, **(extra_env or {})},
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"airflow {' '.join(args)}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        return result.stdout

    def start(self, dag_id: str, conf: dict | None = None, extra_env: dict[str, str] | None = None) -> BackgroundRun:
        """``airflow dags test`` in the background (e.g. a run that waits for a person)."""
        argv = ["dags", "test", dag_id]
        if conf:
            argv += ["--conf", json.dumps(conf)]
        log_path = self.home / f"{dag_id}-{time.time_ns() // 1000}.log"
        env = {**self.env, **(extra_env or {})}
        started = time.perf_counter()
        if self.forkserver is not None and not any(key.startswith(_READ_AT_IMPORT) for key in extra_env or {}):
            log_path.touch()  # the runner appends to it
            process = self.forkserver.spawn(argv, env, PROJECT, log_path)
            return BackgroundRun(dag_id, process, log_path, started)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [AIRFLOW, *argv],
                env=env,
                cwd=PROJECT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return BackgroundRun(dag_id, process, log_path, started)


@dataclass
class BackgroundRun:
    """A ``dags test`` started by ``AirflowProject.start``; ``wait()`` gives its DagRunResult."""

    dag_id: str
    process: subprocess.Popen | ForkedProcess
    log_path: Path
    started: float

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float = 600) -> DagRunResult:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        return DagRunResult(self.dag_id, self.process.returncode, self.log(), time.perf_counter() - self.started)

    def stop(self) -> None:
        """End the run's process group (started here, in its own session)."""
        from tests.fixtures.services import stop_process

        stop_process(self.process)


def aws_connection_env(moto_server) -> dict[str, str]:
    """The Airflow AWS connection to the moto server, as the env var a deployment would set.

    Credentials reach tasks only through the connection, as in production.
    """
    connection = {
        "conn_type": "aws",
        "login": moto_server.credentials["aws_access_key_id"],
        "password": moto_server.credentials["aws_secret_access_key"],
        "extra": {"endpoint_url": moto_server.endpoint_url, "region_name": "us-east-1"},
    }
    return {"AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection)}


def sample_data_env(root: Path) -> dict[str, str]:
    """Thirty days of sample churn data (January 2026) under ``root``, with a local MLflow store and
    an isolated audit trail: the environment of a DAG run on it."""
    import datetime as dt

    from include.dev.sample_data import write_sample_data
    from include.platform.storage import LocalStorage

    storage = LocalStorage(root / "data")
    write_sample_data(storage, start=dt.date(2026, 1, 1), days=30, rows_per_day=600, customers=2000)
    return {
        "MLOPS_DATA_ROOT": storage.root,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLOPS_MLFLOW_ARTIFACT_ROOT": str(root / "artifacts"),
        **isolated_state_env(root / "state"),
    }


def isolated_state_env(tmp_dir: Path) -> dict[str, str]:
    """Audit trail and state of one test module: never the developer's .local, never shared."""
    return {"MLOPS_STATE_DIR": str(tmp_dir), "MLOPS_AUDIT_DB_URL": f"sqlite:///{tmp_dir / 'audit.db'}"}


def airflow_home_env(home: Path) -> dict[str, str]:
    """The environment of DAG runs on a private Airflow home under ``home`` (SQLite metadata DB,
    the project's DAGs and plugins, no telemetry), without the developer's demo state."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "PYTHONPATH": f"{PROJECT}:{PROJECT / 'plugins'}",
        "MLOPS_RETRY_DELAY_SECONDS": "1",
        "MLOPS_NOTIFY_DIR": str(home / "notifications"),
        "DO_NOT_TRACK": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GX_ANALYTICS_ENABLED": "false",
        "SCARF_ANALYTICS": "false",
    }
    # Never inherit the developer's demo state; nor the progress-bar and UI settings of
    # scripts/env.sh: the tasks must turn progress bars off themselves (MlflowHook), and links
    # are built from each test's own tracking server.
    # The runbook links are the repository's paths (docs/runbooks/...) whatever the developer set.
    inherited = ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "MLOPS_MLFLOW_UI_URL", "MLOPS_RUNBOOK_BASE_URL")
    for key in (
        "MLOPS_DATA_ROOT",
        "MLFLOW_TRACKING_URI",
        "MLOPS_MLFLOW_ARTIFACT_ROOT",
        "AIRFLOW_CONN_AWS_DEFAULT",
        *inherited,
    ):
        env.pop(key, None)
    return env


@pytest.fixture(scope="session")
def airflow_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowProject]:
    home = tmp_path_factory.mktemp("airflow")
    env = airflow_home_env(home)
    migrate = subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False
    )
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    if os.environ.get("MLOPS_TEST_FORKSERVER", "1") == "0":
        yield AirflowProject(home=home, env=env)
        return
    server = ForkServer(env, PROJECT, home / "forkserver.sock")
    try:
        yield AirflowProject(home=home, env=env, forkserver=server)
    finally:
        server.close()
