"""`make demo` runs its DAGs through Airflow's real scheduler (issue 12, finding 1):
include/dev/local_airflow.py starts api-server, scheduler (LocalExecutor) and dag-processor by
process id, triggers a run with a conf and waits for it; the task's log is written where the API
server (the web UI) reads it, the scheduler starts no run of its own, and every process is gone
afterwards, also when the caller fails half-way. The task process starts with the pipelines'
libraries imported by the scheduler (include/platform/preload/airflow_local_settings.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import textwrap

import pytest

from include.dev.local_airflow import LocalAirflow
from tests.e2e.conftest import AIRFLOW, PROJECT

DAG_ID = "tiny_local_airflow"
DAG_FILE = f'''
import datetime as dt

from airflow.sdk import DAG, task

# A daily schedule: unpaused under a normal scheduler it would start a scheduled run at once.
with DAG("{DAG_ID}", schedule="@daily", start_date=dt.datetime(2026, 1, 1), catchup=False):

    @task
    def echo(dag_run=None):
        import sys

        print("echo says", dag_run.conf["word"])
        # Imported by the scheduler before it forked the worker that forked this task process.
        print("preloaded:", [m for m in ("evidently", "great_expectations", "mlflow") if m in sys.modules])
        return {{"word": dag_run.conf["word"]}}

    echo()
'''


class _CallerFailed(Exception):
    pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def airflow_env(tmp_path):
    home, dags = tmp_path / "airflow", tmp_path / "dags"
    dags.mkdir()
    (dags / "tiny.py").write_text(textwrap.dedent(DAG_FILE))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    home.mkdir()
    migrate = subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False
    )
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    return env


def test_a_triggered_run_is_scheduled_logged_for_the_ui_and_everything_stops(tmp_path, airflow_env):
    home = tmp_path / "airflow"
    with (
        pytest.raises(_CallerFailed),
        LocalAirflow.start(tmp_path / "components", env=airflow_env, airflow=AIRFLOW) as af,
    ):
        pgids = [process.pid for process in af.processes.values()]
        assert sorted(af.processes) == ["api-server", "dag-processor", "scheduler"]
        assert all(_group_alive(pgid) for pgid in pgids)
        run_id = af.trigger(DAG_ID, {"word": "hello-from-conf"}, run_id="test__tiny")
        result = af.wait(DAG_ID, run_id, timeout=600)
        assert result.succeeded, af.log_tail("scheduler", 80)
        assert [(ti["task_id"], ti["state"]) for ti in result.tasks] == [("echo", "success")]

        # The log file is under base_log_folder, and the API server serves it (the web UI's view).
        log_file = home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / "task_id=echo" / "attempt=1.log"
        assert "echo says hello-from-conf" in log_file.read_text()
        assert "preloaded: ['evidently', 'great_expectations', 'mlflow']" in log_file.read_text()
        assert "echo says hello-from-conf" in af.task_log(DAG_ID, run_id, result.tasks[0])
        assert af.xcom(DAG_ID, run_id, "echo") == {"word": "hello-from-conf"}
        # No scheduled run although the DAG was unpaused with a daily schedule.
        runs = af.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
        assert [(r["dag_run_id"], r["run_type"]) for r in runs] == [(run_id, "manual")]
        raise _CallerFailed  # the caller fails: leaving the block must still stop everything

    assert all(not _group_alive(pgid) for pgid in pgids)
    assert all(process.poll() is not None for process in af.processes.values())
    with sqlite3.connect(home / "airflow.db") as db:  # paused again, as it was before
        assert db.execute("select is_paused from dag where dag_id = ?", (DAG_ID,)).fetchone() == (1,)
