"""scripts/airflow sets Airflow up on first use, once (scripts/init_airflow.sh --if-needed).

The real Airflow CLI is replaced by a recorder here (VENV points at a folder whose bin/airflow
logs its arguments): what is under test is when the set-up runs, not Airflow.
tests/e2e/test_fresh_clone.py runs the real thing from an empty state folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
RECORDER = """#!/usr/bin/env bash
echo "$*" >> "$AIRFLOW_CALLS"
if [ "$1 $2" = "pools get" ] && [ ! -f "$AIRFLOW_HOME/pool" ]; then exit 1; fi
if [ "$1 $2" = "pools set" ]; then touch "$AIRFLOW_HOME/pool"; fi
if [ "$1 $2" = "db migrate" ] && [ -n "${FAIL_MIGRATE:-}" ]; then echo "migration exploded"; exit 3; fi
conn="$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
case "$conn" in sqlite:///*) touch "${conn#sqlite:///}";; esac
"""


def setup(tmp_path: Path) -> tuple[dict[str, str], Path]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "python3.11" / "site-packages" / "apache_airflow-3.3.2.dist-info").mkdir(parents=True)
    airflow = venv / "bin" / "airflow"
    airflow.write_text(RECORDER)
    airflow.chmod(0o755)
    calls = tmp_path / "calls.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLOPS_"))}
    env |= {"VENV": str(venv), "MLOPS_STATE_DIR": str(tmp_path / "state"), "AIRFLOW_CALLS": str(calls)}
    return env, calls


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROJECT / "scripts" / "airflow"), *args], env=env, capture_output=True, text=True, check=False
    )


def calls(path: Path) -> list[str]:
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def test_the_first_call_sets_up_then_runs_the_command(tmp_path) -> None:
    env, recorded = setup(tmp_path)
    first = airflow(env, "dags", "list")
    assert first.returncode == 0, first.stderr
    assert calls(recorded) == [
        "db migrate",
        "pools get mlops_deploy",
        "pools set mlops_deploy 1 one promotion or rollback at a time",
        "dags reserialize",
        "dags list",
    ]
    assert "first use of" in first.stderr and first.stdout == ""
    home = tmp_path / "state" / "airflow"
    assert (home / "logs" / "init.log").exists() and (home / "airflow.db").exists()


def test_later_calls_only_run_the_command(tmp_path) -> None:
    env, recorded = setup(tmp_path)
    airflow(env, "dags", "list")
    calls(recorded)
    again = airflow(env, "pools", "get", "mlops_deploy")
    assert calls(recorded) == ["pools get mlops_deploy"] and again.stderr == ""


def test_a_new_database_or_airflow_version_or_a_deleted_db_sets_up_again(tmp_path) -> None:
    env, recorded = setup(tmp_path)
    airflow(env, "dags", "list")
    calls(recorded)
    home = tmp_path / "state" / "airflow"

    (home / "airflow.db").unlink()
    airflow(env, "dags", "list")
    assert calls(recorded)[0] == "db migrate"

    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "apache_airflow-3.3.2.dist-info").rename(site / "apache_airflow-3.4.0.dist-info")
    airflow(env, "dags", "list")
    assert calls(recorded)[0] == "db migrate"

    # A user's own database (PostgreSQL here; the recorder never connects): set up once too, and
    # the marker never holds the URL (it may carry a password).
    url = "postgresql+psycopg2://u:secret@127.0.0.1:5432/airflow"
    user = env | {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
    airflow(user, "dags", "list")
    assert calls(recorded)[:2] == ["db migrate", "pools get mlops_deploy"]  # the pool exists: not set
    airflow(user, "dags", "list")
    assert calls(recorded) == ["dags list"]
    assert "secret" not in (home / ".mlops_initialised").read_text()


def test_commands_that_need_no_set_up_and_the_opt_out(tmp_path) -> None:
    env, recorded = setup(tmp_path)
    airflow(env, "version")
    airflow(env, "db", "reset", "--yes")
    airflow(env | {"MLOPS_AIRFLOW_INIT": "0"}, "dags", "list")
    assert calls(recorded) == ["version", "db reset --yes", "dags list"]


def test_a_failed_set_up_shows_the_log_and_fails(tmp_path) -> None:
    env, recorded = setup(tmp_path)
    failed = airflow(env | {"FAIL_MIGRATE": "1"}, "dags", "list")
    assert failed.returncode != 0
    assert "migration exploded" in failed.stderr and "init.log" in failed.stderr
    assert calls(recorded) == ["db migrate"]  # stopped there; the command did not run
    assert not (tmp_path / "state" / "airflow" / ".mlops_initialised").exists()
    airflow(env, "dags", "list")
    assert calls(recorded)[0] == "db migrate"  # tried again next time
