"""retrain_<model> runs on its cron or a monitor run's request, and reads the request's extra."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable
from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

from mlops_airflow.dag_defaults import (
    model_asset,
    requested_retrain,
    retrain_request_asset,
    retrain_schedule,
)

NOW = dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)


def event(asset: Asset, extra: dict, run_id: str, minutes: int = 0) -> AssetEventDagRunReferenceResult:
    return AssetEventDagRunReferenceResult(
        asset={"name": asset.name, "uri": asset.uri, "extra": {}},
        extra=extra,
        source_task_id="request_retrain",
        source_dag_id="monitor_churn",
        source_run_id=run_id,
        source_map_index=-1,
        source_aliases=[],
        timestamp=NOW + dt.timedelta(minutes=minutes),
    )


def test_the_request_asset_has_no_uri_scheme() -> None:
    asset = retrain_request_asset("churn")
    assert asset.name == "retrain_request/churn" and asset.uri == "retrain_request/churn"


def test_cron_or_request() -> None:
    schedule = retrain_schedule("0 3 * * 1", "churn")
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert isinstance(schedule.timetable, CronTriggerTimetable)
    assert (schedule.timetable.expression, str(schedule.timetable.timezone)) == ("0 3 * * 1", "UTC")
    assert schedule.asset_condition == retrain_request_asset("churn")
    assert retrain_schedule(None, "churn") == retrain_request_asset("churn")


def test_requested_retrain_reads_the_latest_window_end() -> None:
    request = retrain_request_asset("churn")
    events = TriggeringAssetEventsAccessor.build(
        [
            event(request, {"window_end": "2026-03-02", "reason": "monitor_churn 2026-03-01: drift"}, "r1"),
            event(request, {"window_end": "2026-03-03", "reason": "monitor_churn 2026-03-02: drop"}, "r2", 5),
            event(model_asset("churn"), {"window_end": "2026-04-01"}, "other"),
        ]
    )
    assert requested_retrain(events, "churn") == {
        "window_end": "2026-03-03",
        "reason": "monitor_churn 2026-03-02: drop",
    }


def test_no_request_no_window() -> None:
    assert requested_retrain(None, "churn") == {}
    assert requested_retrain(TriggeringAssetEventsAccessor.build([]), "churn") == {}
    other = TriggeringAssetEventsAccessor.build([event(model_asset("churn"), {"window_end": "2026-04-01"}, "x")])
    assert requested_retrain(other, "churn") == {}
    no_extra = TriggeringAssetEventsAccessor.build([event(retrain_request_asset("churn"), {}, "x")])
    assert requested_retrain(no_extra, "churn") == {}
