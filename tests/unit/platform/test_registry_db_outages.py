"""Which errors are outages (retried) and which are not, at the two boundaries; SIGTERM stops a
task and the process refuses to write afterwards."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.platform.audit.engine import is_database_outage as db_outage
from include.platform.mlflow_client import is_registry_outage as mlflow_outage
from include.platform.mlflow_client import safe_uri

PROJECT_DIR = Path(__file__).resolve().parents[3]


def test_mlflow_outages_and_deterministic_errors():
    import requests
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE

    refused = MlflowException("API request to http://h:5000/api/2.0/mlflow/runs/get failed with exception Max retries")
    timeout = MlflowException("API request to http://h:5000/x failed with timeout exception Read timed out.")
    assert mlflow_outage(refused) and mlflow_outage(timeout)
    assert mlflow_outage(MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE))
    assert mlflow_outage(requests.exceptions.ConnectionError("refused"))
    assert not mlflow_outage(MlflowException("no such version", error_code=RESOURCE_DOES_NOT_EXIST))
    assert not mlflow_outage(MlflowException("bad value", error_code=INVALID_PARAMETER_VALUE))
    assert not mlflow_outage(ValueError("a bug"))


def test_credentials_are_cut_from_uris():
    assert safe_uri("http://user:pw@mlflow:5000/api") == "http://mlflow:5000/api"
    assert safe_uri("http://mlflow:5000") == "http://mlflow:5000"


def test_sqlite_outages_are_told_from_deterministic_errors():
    import sqlite3

    def wrapped(message: str) -> sa.exc.OperationalError:
        return sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))

    assert db_outage(wrapped("database is locked"))
    assert db_outage(wrapped("unable to open database file"))
    assert not db_outage(wrapped("no such table: ml_deployments"))
    assert not db_outage(sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))


_SIGTERM = textwrap.dedent(
    """
    import os, signal, sys
    from include.errors import RunTerminated
    from include.platform import termination

    killed = []
    signal.signal(signal.SIGTERM, lambda *a: killed.append("on_kill"))  # Airflow's: on_kill, then return
    termination.stop_on_sigterm()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):
            pass
        print("went on")
    except RunTerminated:
        print("stopped", killed)
    try:
        termination.check_not_stopped("register churn")
    except RunTerminated as error:
        print("refused:", error)
    """
)


def test_sigterm_stops_the_task_and_later_writes_refuse():
    out = subprocess.run(
        [sys.executable, "-c", _SIGTERM], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "stopped ['on_kill']" in out and "went on" not in out
    assert "refused: register churn: this process received SIGTERM" in out


def test_sigterm_with_no_handler_still_ends_the_process():
    code = "from include.platform import termination; import os, signal, time\n"
    code += "termination.stop_on_sigterm(); os.kill(os.getpid(), signal.SIGTERM); time.sleep(5); print('alive')"
    cmd = [sys.executable, "-c", code]
    result = subprocess.run(cmd, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == -15 and "alive" not in result.stdout


_SIGTERM_IN_THE_GAP = textwrap.dedent(
    """
    import os, signal, sys
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag
    from include.errors import RunTerminated

    task = DagBag("dags").dags["retrain_churn"].task_dict[sys.argv[1]]
    # What Airflow's task runner installs as each task starts, before pre_execute.
    signal.signal(signal.SIGTERM, lambda *a: task.on_kill())
    os.kill(os.getpid(), signal.SIGTERM)
    try:
        for pre_execute in (task._pre_execute_hook, task.pre_execute):  # as the task runner does
            if pre_execute is not None:
                pre_execute({})
        print("started")
    except RunTerminated as error:
        print("refused:", error)
    """
)


@pytest.mark.parametrize("task_id", ["train", "register"])  # a @task, an MlopsBaseOperator
def test_a_sigterm_before_pre_execute_reaches_on_kill_and_the_task_does_not_start(task_id):
    """Airflow replaces the SIGTERM handler as each task starts; a SIGTERM before the task's
    ``pre_execute`` reaches only ``on_kill``, which must stop the process as well (the CI race of
    tests/e2e/test_retrain_termination.py: the terminated run trained and succeeded)."""
    cmd = [sys.executable, "-c", _SIGTERM_IN_THE_GAP, task_id]
    out = subprocess.run(cmd, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "started" not in out
    assert "refused: start a task: this process received SIGTERM" in out


def test_a_refused_mlflow_request_fails_at_once_and_is_still_an_mlflow_error(tmp_path):
    """A real (SQLite) tracking store: asking for a model that does not exist is MLflow's refusal,
    not an outage; it fails the task without retries and keeps MLflow's error code."""
    import pickle

    from mlflow.exceptions import MlflowException

    from include.errors import NotRetryable, RegistryStateError, Transient
    from include.platform.mlflow_client import mlflow_client
    from mlops_airflow.retry import RETRY_POLICY

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow_client(uri)
    try:
        client.get_registered_model("nobody")
    except MlflowException as exc:
        error = exc
    else:
        raise AssertionError("MLflow answered for a model that does not exist")
    assert isinstance(error, RegistryStateError) and isinstance(error, NotRetryable)
    assert not isinstance(error, Transient)
    assert error.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "refused get_registered_model" in str(error) and "nobody" in str(error)
    assert RETRY_POLICY.evaluate(error, 1, 4).action.value == "fail"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and again.error_code == error.error_code
