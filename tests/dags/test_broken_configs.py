"""One broken model config disables only its own model's DAGs, and says why where an operator
looks: ``dags/model_configs.py`` fails to import, naming every broken file and field (web UI
import errors, ``airflow dags list-import-errors``). Issue 10: before, one bad YAML made all five
pipeline DAG files fail to import, healthy models included."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.dags

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
KINDS = ("retrain", "batch_score", "monitor", "promote", "rollback", "reconcile")

# file stem -> (how it is broken, the fragments the import error must show)
BROKEN = {
    "gate": (("gates", "min_metrics", "roc_auc"), 7, ["gate.yaml: gates.min_metrics.roc_auc", "from 0 to 1"]),
    "nan": (("deploy", "health_tolerance"), float("nan"), ["nan.yaml: deploy.health_tolerance", "got nan"]),
    "cron": (("schedules", "score"), "every tuesday", ["cron.yaml: schedules.score: 'every tuesday'"]),
    "code": (("estimator", "class_path"), "os.system", ["code.yaml: estimator.class_path: 'os.system'"]),
    "tagname": (("name",), "[bold]x", ["tagname.yaml: name:", "got '[bold]x'"]),
}


def _write(directory: Path, stem: str, data: dict) -> None:
    (directory / f"{stem}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    churn = yaml.safe_load((PROJECT / "include" / "models" / "churn.yaml").read_text())
    _write(directory, "healthy", {**copy.deepcopy(churn), "name": "healthy"})
    for stem, (path, value, _) in BROKEN.items():
        data = {**copy.deepcopy(churn), "name": stem}
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        _write(directory, stem, data)
    (directory / "syntax.yaml").write_text("name: syntax\nfeatures: [a, b\n")
    return directory


EXPECTED = {
    **{stem: fragments for stem, (_, _, fragments) in BROKEN.items()},
    "syntax": ["syntax.yaml: not valid YAML"],
}


def test_a_broken_config_disables_only_its_own_models_dags(config_dir, monkeypatch):
    monkeypatch.setenv("MLOPS_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(DAGS))
    assert set(dagbag.dag_ids) == {f"{kind}_healthy" for kind in KINDS}
    assert [Path(p).name for p in dagbag.import_errors] == ["model_configs.py"]
    error = next(iter(dagbag.import_errors.values()))
    assert f"{len(EXPECTED)} model config(s) cannot be read" in error
    for stem, fragments in EXPECTED.items():
        assert str(config_dir / f"{stem}.yaml") in error
        for fragment in fragments:
            assert fragment.replace("[bold]", "\\[bold]") in error, f"{fragment!r} not in {error}"


def test_the_config_dag_file_imports_cleanly_when_every_config_is_valid():
    """With the project's own configs (tests/dags/test_dag_integrity.py checks no import errors)."""
    from include.config import load_valid

    assert load_valid().errors == {}


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
