"""DAG integrity: every DAG file imports cleanly, without heavy modules, and follows the
project's rules (tags, retries, docs, explicit schedule, no catchup, pendulum start date)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
# The packages a DAG file may import at parse time, besides the standard library: Airflow and
# what its SDK pulls in, and the project's own light modules. Anything else (pandas, sklearn,
# mlflow, GX, evidently, boto3 ...) belongs in a task body or an operator's execute(). A set,
# not a timer: the DAG processor's cost is which modules a file drags in, and a set gives the
# same answer on a quiet laptop and a loaded CI runner (a CPU-time limit failed on a slower
# runner with nothing changed in the files). The CPU time is printed for information.
PARSE_TIME_PACKAGES = frozenset(
    {"airflow", "asgiref", "croniter", "include", "mlops_airflow", "packaging", "pendulum", "pydantic", "yaml"}
)
PARSE_TRIES = 3
# Each parse runs in a child forked from one probe process that imported airflow.sdk once
# (``probe_server``): the DAG processor's state exactly, where modules other tests imported
# cannot hide an import, without paying the SDK's import for every file.
_PROBE_SERVER = r"""
import json, os, resource, runpy, sys, traceback
import airflow.sdk  # the SDK itself is not counted
stdlib = sys.stdlib_module_names
base = set(sys.modules)
answers = sys.stdout
for line in sys.stdin:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the probe: the state right after `import airflow.sdk`
        os.close(read_end)
        os.dup2(2, 1)  # what the DAG file prints must not reach the answers
        try:
            start = resource.getrusage(resource.RUSAGE_SELF).ru_utime
            runpy.run_path(line.strip(), run_name="dag_file")
            elapsed = resource.getrusage(resource.RUSAGE_SELF).ru_utime - start
            packages = sorted({m.split(".")[0] for m in set(sys.modules) - base} - stdlib)
            result = {"seconds": elapsed, "packages": packages}
        except BaseException:
            result = {"error": traceback.format_exc()}
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    answers.write(data.decode() + "\n")
    answers.flush()
"""


class ProbeServer:
    """One interpreter with airflow.sdk imported; ``probe(path)`` forks it to parse ``path``."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": f"{PROJECT}:{PROJECT / 'plugins'}"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _PROBE_SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=PROJECT,
        )

    def probe(self, path: Path) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, f"the probe process died (exit {self.process.poll()}); its stderr is in the test output"
        result = json.loads(answer)
        assert "error" not in result, result.get("error")
        return result

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def probe_server() -> Iterator[ProbeServer]:
    server = ProbeServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def dagbag():
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dag_files_exist():
    assert DAG_FILES, "no DAG files found"


def test_no_import_errors(dagbag):
    assert not dagbag.import_errors, "\n".join(f"{k}: {v}" for k, v in dagbag.import_errors.items())


def test_one_retrain_dag_per_model_config(dagbag):
    from include.config import load_all

    for config in load_all():
        assert f"retrain_{config.name}" in dagbag.dag_ids


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_nothing_heavy_at_parse_time(path, capsys, probe_server):
    probes = [probe_server.probe(path) for _ in range(PARSE_TRIES)]
    best = min(p["seconds"] for p in probes)
    with capsys.disabled():
        print(f"\n  parse time {path.name}: {best * 1000:.0f} ms of CPU (best of {PARSE_TRIES}; information)")
    extra = sorted({m for p in probes for m in p["packages"]} - PARSE_TIME_PACKAGES)
    assert extra == [], (
        f"{path.name} imports {extra} at parse time (allowed besides the standard library: "
        f"{sorted(PARSE_TIME_PACKAGES)}): move the import into the task body or the operator's execute()"
    )


def test_parse_probe_counts_the_files_own_imports_and_work(tmp_path, probe_server):
    """The probe counts the file's own imports and CPU time, not the SDK's."""
    slow = tmp_path / "slow_dag.py"
    busy = (
        "def user():\n    return resource.getrusage(resource.RUSAGE_SELF).ru_utime\n"
        "t = user()\nwhile user() - t < 0.25:\n    sum(range(100_000))\n"
    )
    slow.write_text("import resource\nimport json\n" + busy)
    probe = probe_server.probe(slow)
    assert probe["seconds"] >= 0.25 and probe["packages"] == []  # stdlib only
    heavy = tmp_path / "heavy_dag.py"
    heavy.write_text("import numpy\n")
    assert probe_server.probe(heavy)["packages"] == ["numpy"]
    sdk_only = tmp_path / "sdk_dag.py"
    sdk_only.write_text("import airflow.sdk\n")
    assert probe_server.probe(sdk_only)["packages"] == []  # imported before the fork: not counted
    # Each probe starts from the same state: numpy, imported by the probe before, is new again.
    assert probe_server.probe(heavy)["packages"] == ["numpy"]
    broken = tmp_path / "broken_dag.py"
    broken.write_text("raise ValueError('not a DAG')\n")
    with pytest.raises(AssertionError, match="not a DAG"):
        probe_server.probe(broken)
    assert probe_server.probe(sdk_only)["packages"] == []  # and the server goes on after a failure


def test_every_dag_follows_project_rules(dagbag):
    import pendulum

    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id}: needs tags"
        assert "mlops" in dag.tags, f"{dag_id}: tag 'mlops' missing"
        assert dag.doc_md and len(dag.doc_md) > 100, f"{dag_id}: docstring should be its doc_md"
        assert dag.catchup is False, f"{dag_id}: catchup must be False"
        assert isinstance(dag.start_date, pendulum.DateTime), f"{dag_id}: use a pendulum start_date"
        assert dag.timetable is not None, f"{dag_id}: schedule must be explicit"
        for task in dag.tasks:
            if task.task_type == "ApprovalOperator":
                continue  # a person's answer (or its timeout) is final: retrying would ask again
            assert task.retries >= 2, f"{dag_id}.{task.task_id}: retries={task.retries} < 2"


def test_params_are_valid_json_schema_with_defaults(dagbag):
    """The web UI renders a trigger form from these; every default must fit its schema.

    A Param without a default is required: the form refuses to trigger until it is filled.
    """
    from airflow.sdk.definitions._internal.types import NOTSET

    for dag_id, dag in dagbag.dags.items():
        for name in dag.params:
            param = dag.params.get_param(name)
            assert param.schema.get("type"), f"{dag_id}: Param {name} needs a type"
            if param.value is not NOTSET:
                param.resolve()  # raises on a default that does not fit its schema


def test_rollback_requires_a_reason(dagbag):
    from airflow.sdk.exceptions import ParamValidationError

    params = copy.deepcopy(dagbag.dags["rollback_churn"].params)
    with pytest.raises(ParamValidationError, match="reason"):
        params.validate()
    params["reason"] = "bad predictions since v3"
    params.validate()


def test_retrain_param_validation_rejects_bad_input(dagbag):

    dag = dagbag.dags["retrain_churn"]
    from airflow.sdk.exceptions import ParamValidationError

    params = copy.deepcopy(dag.params)
    with pytest.raises(ParamValidationError, match="window_days"):
        params["window_days"] = 0
    with pytest.raises(ParamValidationError, match="window_end"):
        params["window_end"] = 20260301


def test_promote_and_rollback_reconcile_first(dagbag):
    """MLflow is brought back to the audit trail before anything reads or moves the champion."""
    for dag_id, first in (("promote_churn", "gather_evidence"), ("rollback_churn", "rollback")):
        dag = dagbag.dags[dag_id]
        reconcile = dag.get_task("reconcile")
        assert reconcile.task_type == "ReconcileRegistryOperator" and reconcile.upstream_task_ids == set()
        assert reconcile.pool == dag.get_task(first).pool or dag_id == "promote_churn"
        assert first in reconcile.downstream_task_ids, dag_id


def test_reconcile_dag_is_manual_and_needs_no_params(dagbag):
    from include.deploy.reconcile import STALE_AFTER

    dag = dagbag.dags["reconcile_churn"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual only
    assert [t.task_id for t in dag.tasks] == ["reconcile"]
    params = copy.deepcopy(dag.params)
    params.validate()  # every Param has a default: the form triggers as it is
    assert dict(params) == {"repair": True, "restore_aliases": False, "stale_after_seconds": int(STALE_AFTER)}


def test_batch_score_runs_max_parallel_units_at_once_and_judges_the_dates_last(dagbag):
    """scoring.max_parallel is the number of score tasks running at once (not a cap on the
    range); check_dates fails the run only after the good dates are recorded and notified."""
    from include.config import load_valid

    config = next(c for c in load_valid().configs if c.name == "churn")
    dag = dagbag.dags["batch_score_churn"]
    assert dag.get_task("score").max_active_tis_per_dagrun == config.scoring.max_parallel
    assert dag.get_task("check_dates").upstream_task_ids == {"notify", "publish"}
    assert dag.get_task("notify").upstream_task_ids == {"record", "publish", "resolve_models"}
    assert [t.task_id for t in dag.tasks if not t.downstream_task_ids] == ["check_dates"]
