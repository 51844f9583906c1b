"""Scheduled runs over a day whose input is not committed yet skip (with a log line naming the
missing partition and how to commit it) instead of failing and retrying; other runs go on.

The helper runs on real local storage; the DAG-level tests call the first task of batch_score,
monitor and retrain as Airflow would on a scheduled run (``airflow dags test`` only makes
manual runs, so a scheduled run cannot be started end to end here)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest
from airflow.sdk.api.datamodels._generated import DagRunType
from airflow.sdk.exceptions import AirflowSkipException

from include.contracts import Dataset
from include.platform.partitions import publish_frame
from include.platform.storage import LocalStorage
from mlops_airflow.inputs import day_after, is_scheduled, skip_scheduled_run_without_input

PROJECT = Path(__file__).resolve().parents[2]
DAY = "2026-03-10"


def run_of(kind: DagRunType, dag_id: str = "batch_score_churn") -> SimpleNamespace:
    """The fields of the task context's ``dag_run`` that the check reads."""
    return SimpleNamespace(
        run_type=kind, dag_id=dag_id, run_id=f"{kind.value}__x", run_after=pendulum.datetime(2026, 3, 11)
    )


@pytest.fixture
def storage(tmp_path, monkeypatch) -> LocalStorage:
    monkeypatch.setenv("MLOPS_DATA_ROOT", str(tmp_path / "data"))
    return LocalStorage(str(tmp_path / "data"))


def _commit_features(storage: LocalStorage, ds: str) -> None:
    import pandas as pd

    publish_frame(storage, Dataset.FEATURES, "churn", ds, pd.DataFrame({"customer_id": [1], "x": [0.5]}))


def test_only_scheduled_runs_count_as_scheduled():
    from airflow.utils.types import DagRunType as CoreRunType

    assert is_scheduled(run_of(DagRunType.SCHEDULED)) and is_scheduled(SimpleNamespace(run_type=CoreRunType.SCHEDULED))
    others = [DagRunType.MANUAL, DagRunType.BACKFILL, DagRunType.ASSET_TRIGGERED]
    assert not any(is_scheduled(run_of(kind)) for kind in others) and not is_scheduled(None)


def test_scheduled_run_without_the_partition_skips_naming_it_and_how_to_commit(storage, caplog):
    folder = Path(storage.root) / "features" / "churn" / f"ds={DAY}"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"written by another tool, not committed yet")
    with caplog.at_level(logging.WARNING, logger="airflow.task"), pytest.raises(AirflowSkipException) as caught:
        skip_scheduled_run_without_input(
            storage, Dataset.FEATURES, "churn", DAY, day_after(DAY), run_of(DagRunType.SCHEDULED)
        )
    message = str(caught.value)
    assert message.startswith("scheduled run skipped, input not there yet: no committed feature partitions")
    assert f"[{DAY}, 2026-03-11)" in message and f"python -m include.platform.commit features churn {DAY}" in message
    assert "trigger batch_score_churn for these dates" in message
    assert message in caplog.text


def test_committed_partition_or_unscheduled_run_goes_on(storage):
    for kind in (DagRunType.MANUAL, DagRunType.BACKFILL, DagRunType.ASSET_TRIGGERED):  # someone asked: fail clearly
        assert (
            skip_scheduled_run_without_input(storage, Dataset.FEATURES, "churn", DAY, day_after(DAY), run_of(kind))
            is None
        )
    _commit_features(storage, DAY)
    scheduled = run_of(DagRunType.SCHEDULED)
    assert skip_scheduled_run_without_input(storage, Dataset.FEATURES, "churn", DAY, day_after(DAY), scheduled) is None
    with pytest.raises(AirflowSkipException):  # the day after is still missing
        skip_scheduled_run_without_input(storage, Dataset.FEATURES, "churn", day_after(DAY), "2026-03-12", scheduled)
    assert day_after(dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)


@pytest.fixture(scope="module")
def dagbag():
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_batch_score_scheduled_run_over_a_day_without_features_is_skipped(dagbag, storage):
    """resolve_models is the first task; skipping it skips the whole run (all_success downstream)."""
    dag = dagbag.dags["batch_score_churn"]
    first = dag.get_task("resolve_models")
    assert first.upstream_task_ids == set()
    assert all(
        t.trigger_rule == "all_success" for t in first.get_flat_relatives(upstream=False) if t.task_id != "publish"
    )
    with pytest.raises(AirflowSkipException, match=f"no committed feature partitions for 'churn' in \\[{DAY}, "):
        first.python_callable(
            params={"ds": None, "ds_end": None, "dry_run": False},
            data_interval_start=pendulum.parse(DAY),
            dag_run=run_of(DagRunType.SCHEDULED),
        )


def test_monitor_scheduled_run_over_a_day_without_features_is_skipped(dagbag, storage):
    first = dagbag.dags["monitor_churn"].get_task("load_reference")
    with pytest.raises(AirflowSkipException, match=f"feature partitions for 'churn' in \\[{DAY}, 2026-03-11\\)"):
        first.python_callable(
            params={"ds": None},
            data_interval_start=pendulum.parse(DAY),
            dag_run=run_of(DagRunType.SCHEDULED, "monitor_churn"),
        )


def test_retrain_scheduled_run_without_labels_in_the_window_is_skipped(dagbag, storage):
    from include.config import load_valid

    days = next(c for c in load_valid().configs if c.name == "churn").training.window_days
    start = dt.date.fromisoformat(DAY) - dt.timedelta(days=days)
    first = dagbag.dags["retrain_churn"].get_task("pull_features")
    with pytest.raises(
        AirflowSkipException, match=f"no committed label partitions for 'churn' in \\[{start}, {DAY}\\)"
    ):
        first.python_callable(
            params={"window_end": None, "window_days": None},
            data_interval_end=pendulum.parse(DAY),
            dag_run=run_of(DagRunType.SCHEDULED, "retrain_churn"),
            triggering_asset_events=None,
        )
