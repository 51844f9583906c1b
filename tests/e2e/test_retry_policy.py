"""The error families through Airflow (``airflow dags test``): a deterministic error fails its
task in one try, an outage is retried with backoff (``mlops_airflow.retry``)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sample_data_env
from tests.fixtures.services import LOOPBACK, free_port

MODEL = "churn"


@pytest.fixture(scope="module")
def data_env(tmp_path_factory):
    return sample_data_env(tmp_path_factory.mktemp("retry-data"))


def test_a_data_error_fails_in_one_try(airflow_project, data_env):
    # No label partition lies in this window: FeaturePullError, a DataError (NotRetryable).
    run = airflow_project.run(f"retrain_{MODEL}", conf={"window_end": "2025-06-01"}, extra_env=data_env)

    assert not run.succeeded
    assert "include.errors.FeaturePullError: no committed label partitions for 'churn'" in run.log
    assert "python -m include.platform.commit labels churn" in run.log  # the message says how to commit
    assert "action=fail" in run.log and "not retryable: the same input fails the same way" in run.log
    assert "new_state=failed" in run.log and "up_for_retry" not in run.log
    assert '"try_number": 1' in run.log and '"try_number": 2' not in run.log


def test_an_outage_is_retried(airflow_project, data_env):
    # MLflow does not answer (nothing listens on the port): train fails on every try, retried.
    dead = f"http://{LOOPBACK}:{free_port()}"
    env = {
        **data_env,
        "MLFLOW_TRACKING_URI": dead,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "2",
    }
    run = airflow_project.run(f"retrain_{MODEL}", conf={"window_end": "2026-01-30"}, extra_env=env)

    assert not run.succeeded
    assert "up_for_retry" in run.log, run.tail()
    assert "not retryable" not in run.log
    assert dead.split("//")[1] in run.log  # the error names the server that did not answer
