"""SIGTERM stops a retrain run under ``airflow dags test`` (which has no supervisor to follow
the SIGTERM with a SIGKILL): nothing is registered under the terminated run's id, and the next
run of the same window registers exactly one version (``include/platform/termination.py``,
``include/platform/audit/claims.py``)."""

from __future__ import annotations

import signal
import time

import pytest

from include.platform.registry import ModelRegistry
from tests.e2e.conftest import sample_data_env

MODEL = "churn"
WINDOW_END = "2026-01-30"


@pytest.fixture(scope="module")
def data_env(tmp_path_factory):
    return {**sample_data_env(tmp_path_factory.mktemp("term-data")), "MLOPS_RETRAIN_LEASE_SECONDS": "5"}


def _versions(data_env) -> list[str]:
    registry = ModelRegistry(data_env["MLFLOW_TRACKING_URI"])
    return sorted(str(v.version) for v in registry.client.search_model_versions(f"name = '{MODEL}'"))


def test_sigterm_stops_the_run_and_the_next_run_registers_once(airflow_project, data_env):
    run = airflow_project.start(f"retrain_{MODEL}", conf={"window_end": WINDOW_END}, extra_env=data_env)
    try:
        while "starting task_id=train" not in run.log():
            assert run.process.poll() is None, run.log()[-4000:]
            time.sleep(0.2)
        run.process.send_signal(signal.SIGTERM)  # the dags test process itself
        result = run.wait(timeout=600)
    finally:
        run.stop()

    assert not result.succeeded
    assert "RunTerminated" in result.log, result.tail()
    assert "starting task_id=register" not in result.log
    assert _versions(data_env) == []

    again = airflow_project.run(f"retrain_{MODEL}", conf={"window_end": WINDOW_END}, extra_env=data_env)
    assert again.succeeded, again.tail()
    assert _versions(data_env) == ["1"]
