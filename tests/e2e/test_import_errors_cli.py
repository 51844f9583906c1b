"""``airflow dags list-import-errors``, the real CLI on a migrated metadata database, names each
broken model config file and field (the configs of tests/dags/test_broken_configs.py). Four Airflow
CLI processes: here rather than in the inner loop's DAG integrity tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dags.test_broken_configs import DAGS, EXPECTED, KINDS, PROJECT, write_configs

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture
def config_dir(tmp_path) -> Path:
    return write_configs(tmp_path / "models")


def _table_text(output: str) -> str:
    """The error cells of Rich's table, lines joined, whitespace collapsed."""
    cells = [line.split("|")[-1].strip() for line in output.splitlines() if "|" in line]
    return re.sub(r"\s+", " ", " ".join(cells))


def test_list_import_errors_cli_names_each_broken_file_and_field(config_dir, tmp_path):
    """The real CLI, on the metadata database the web UI reads: Rich markup does not eat the
    message (a value like ``[bold]x`` is shown as it is)."""
    home = tmp_path / "airflow"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": f"{PROJECT}:{PROJECT / 'plugins'}",
        "MLOPS_CONFIG_DIR": str(config_dir),
        "COLUMNS": "400",
    }

    def airflow(*args: str, expected_rc: int = 0) -> str:
        result = subprocess.run(
            [AIRFLOW, *args], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == expected_rc, result.stdout[-2000:] + result.stderr[-2000:]
        return result.stdout

    airflow("db", "migrate")
    airflow("dags", "reserialize")  # parses the DAG folder into the database, as the DAG processor does
    text = _table_text(airflow("dags", "list-import-errors", expected_rc=1))  # 1: there are import errors
    assert "model_configs.py" in text
    for kind in KINDS:
        assert f"{kind}.py" not in text
    for fragments in EXPECTED.values():
        for fragment in fragments:
            assert fragment in text, f"{fragment!r} not in {text}"
    listed = airflow("dags", "list", "--output", "plain")
    assert "retrain_healthy" in listed and "retrain_gate" not in listed
