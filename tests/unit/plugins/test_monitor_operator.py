"""DriftCheckOperator against a real champion (SQLite MLflow) and feature partitions."""

from __future__ import annotations

import pytest

from include.errors import DataError
from mlops_airflow.operators.monitor import DriftCheckOperator
from mlops_airflow.retry import RETRY_POLICY
from tests.unit.monitor.conftest import BROKEN_DS, CLEAN_DS, DRIFT_DS, MODEL, world  # noqa: F401 (fixture)


def operator(world, **kwargs) -> DriftCheckOperator:  # noqa: F811
    return DriftCheckOperator(
        task_id="check_drift",
        model_name=MODEL,
        data_root=world.storage.root,
        mlflow_conn_id=None,
        aws_conn_id=None,
        **kwargs,
    )


@pytest.fixture
def tracking(world, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MLFLOW_TRACKING_URI", world.tracking_uri)
    return world


def test_arguments_are_keyword_only_assigned_and_templated() -> None:
    with pytest.raises(TypeError):
        DriftCheckOperator("check_drift", MODEL)  # type: ignore[misc]
    op = DriftCheckOperator(task_id="check_drift", model_name=MODEL)
    assert tuple(op.template_fields) == ("model_name", "ds", "reference", "quality")
    assert (op.model_name, op.ds, op.reference, op.quality, op.fail_on_drift) == (MODEL, "{{ ds }}", None, None, False)
    assert op.retry_policy is RETRY_POLICY
    op.render_template_fields({"ds": CLEAN_DS, "name": MODEL})
    assert op.ds == CLEAN_DS


def test_logs_the_drifted_columns_and_returns_the_payload(tracking, capsys) -> None:
    result = operator(tracking, ds=DRIFT_DS).execute({})
    assert result is not None and (result["model"], result["ds"]) == (MODEL, DRIFT_DS)
    assert result["champion_version"] == tracking.version
    features = result["features"]
    assert features["dataset_drift"] and "monthly_charges" in features["drifted_columns"]
    logged = capsys.readouterr().out  # the task logger writes to stdout outside a task runner
    assert f"{features['n_drifted']}/{features['n_columns']} features drifted" in logged
    for column in features["columns"]:
        if column["drifted"]:
            assert f"{column['column']}: {column['stattest']} = {column['score']:.4g}" in logged


def test_fail_on_drift(tracking) -> None:
    with pytest.raises(DataError, match="dataset drift"):
        operator(tracking, ds=DRIFT_DS, fail_on_drift=True).execute({})
    calm = operator(tracking, ds=CLEAN_DS, fail_on_drift=True).execute({})
    assert calm is not None and not calm["features"]["dataset_drift"]


def test_failed_quality_skips_the_comparison(tracking, capsys) -> None:
    failed = {"rows": 600, "failed": True, "issues": [], "summary": "data quality FAILED", "dates": [BROKEN_DS]}
    assert operator(tracking, ds=BROKEN_DS, quality=failed, fail_on_drift=True).execute({}) is None
    assert "data quality failed: drift not checked" in capsys.readouterr().out
