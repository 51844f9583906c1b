"""A data engineer's own DAG composed from the project's operators (docs/extending.md, "The
operators in your own DAG"), in a DAG folder of its own, run through Airflow: the drift check
and the health check on the champion that retrain_churn made, and a refused rollback that fails
in one try under the DAG's own default_args (the operators bring the retry policy along)."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from tests.e2e.conftest import PROJECT, isolated_state_env

MODEL = "churn"
OWN_DAG = textwrap.dedent(
    '''
    """churn_guard: a team's own checks, built from mlops_airflow's operators."""
    import datetime as dt

    from airflow.sdk import DAG

    from mlops_airflow.operators.deploy import ModelHealthCheckOperator, RollbackChampionOperator
    from mlops_airflow.operators.monitor import DriftCheckOperator

    with DAG(
        "churn_guard",
        schedule=None,
        start_date=dt.datetime(2026, 1, 1),
        catchup=False,
        default_args={"retries": 4, "retry_delay": dt.timedelta(seconds=1)},
        params={"ds": "2026-02-12"},
    ) as guard:
        drift = DriftCheckOperator(task_id="drift", model_name="churn", ds="{{ params.ds }}")
        health = ModelHealthCheckOperator(task_id="health", model_name="churn")
        drift >> health

    with DAG("churn_undo", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False,
             default_args={"retries": 4, "retry_delay": dt.timedelta(seconds=1)}) as undo:
        RollbackChampionOperator(task_id="rollback", model_name="churn", reason="{{ dag_run.conf.get('why', 'test') }}")
    '''
)


@pytest.fixture(scope="module")
def deployment(airflow_project, tmp_path_factory):
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import LocalStorage

    root = tmp_path_factory.mktemp("own-dag")
    storage = LocalStorage(root / "data")
    write_sample_data(storage, start=dt.date(2026, 1, 1), days=45, rows_per_day=600, customers=2000)
    env = {
        "MLOPS_DATA_ROOT": storage.root,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLOPS_MLFLOW_ARTIFACT_ROOT": str(root / "artifacts"),
        **isolated_state_env(root / "state"),
    }
    trained = airflow_project.run(f"retrain_{MODEL}", conf={"window_end": "2026-02-10"}, extra_env=env)
    assert trained.succeeded, trained.tail()
    dags = root / "own_dags"
    dags.mkdir()
    (dags / "churn_guard.py").write_text(OWN_DAG)
    # The team's DAG folder instead of the project's; the project's plugins and core stay importable.
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    env["PYTHONPATH"] = f"{PROJECT}:{PROJECT / 'plugins'}"
    return env


def test_the_operators_run_in_a_dag_of_ones_own(airflow_project, deployment):
    run = airflow_project.run("churn_guard", extra_env=deployment)

    assert run.succeeded, run.tail()
    # The drift check logged its verdict against the champion; the health check passed.
    assert "churn 2026-02-12..2026-02-12 vs champion v1:" in run.log or "vs champion v1:" in run.log, run.tail()
    assert "features drifted (share" in run.log
    assert "champion v1 passed its health check on 200 rows" in run.log


def test_a_refusal_fails_in_one_try_under_the_dags_own_retries(airflow_project, deployment):
    run = airflow_project.run("churn_undo", extra_env=deployment)

    assert not run.succeeded
    assert "RefusedMove" in run.log and "no earlier champion to roll back to" in run.log
    assert "action=fail" in run.log and "up_for_retry" not in run.log
