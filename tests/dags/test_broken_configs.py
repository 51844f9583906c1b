"""One broken model config disables only its own model's DAGs, and says why where an operator
looks: ``dags/model_configs.py`` fails to import, naming every broken file and field (web UI
import errors, ``airflow dags list-import-errors``). Issue 10: before, one bad YAML made all five
pipeline DAG files fail to import, healthy models included."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.dags

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
KINDS = ("retrain", "batch_score", "monitor", "promote", "rollback", "reconcile", "reproduce")

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


def write_configs(directory: Path) -> Path:
    """One healthy model config and one per way of breaking it (BROKEN, plus a YAML syntax error)."""
    directory.mkdir(parents=True, exist_ok=True)
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


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory) -> Path:
    return write_configs(tmp_path_factory.mktemp("models"))


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
