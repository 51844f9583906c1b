"""At most one retrain request per monitor run, with the window end and reason in its extra."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from include.monitor.retrain_request import already_requested, plan_retrain_request, retrain_request

DS = "2026-03-02"
DAG_ID, RUN_ID = "monitor_churn", "scheduled__2026-03-03T06:00:00+00:00"


@dataclass
class Event:
    source_dag_id: str | None
    source_run_id: str | None


def decision(retrain: bool) -> dict:
    reasons = [{"trigger": "performance_drop", "detail": "roc_auc dropped"}, {"trigger": "manual", "detail": "asked"}]
    return {
        "retrain": retrain,
        "reasons": reasons if retrain else [],
        "blocked_by": None,
        "summary": "roc_auc dropped; asked" if retrain else "no retrain trigger fired",
        "window_end": "2026-03-03",
        "retrain_reason": f"monitor_churn {DS}: roc_auc dropped; asked",
    }


@pytest.fixture
def config():
    from tests.unit.conftest import small_churn_config

    return small_churn_config()


def test_the_request_carries_window_end_reason_and_triggers(config) -> None:
    assert retrain_request(config, decision(True), DS) == {  # type: ignore[arg-type]
        "model": "churn",
        "ds": DS,
        "window_end": "2026-03-03",
        "reason": "monitor_churn 2026-03-02: roc_auc dropped; asked",
        "triggers": ["performance_drop", "manual"],
    }


def test_a_first_request_is_planned(config) -> None:
    earlier = [Event(DAG_ID, "manual__other"), Event("monitor_other", RUN_ID), Event(None, None)]
    plan = plan_retrain_request(config, decision(True), DS, earlier, dag_id=DAG_ID, run_id=RUN_ID)  # type: ignore[arg-type]
    assert plan.request == retrain_request(config, decision(True), DS)  # type: ignore[arg-type]
    assert plan.why.startswith("retrain requested (performance_drop, manual): monitor_churn")


def test_never_twice_for_one_monitor_run(config) -> None:
    earlier = [Event(DAG_ID, "manual__other"), Event(DAG_ID, RUN_ID)]
    assert already_requested(earlier, DAG_ID, RUN_ID)
    plan = plan_retrain_request(config, decision(True), DS, earlier, dag_id=DAG_ID, run_id=RUN_ID)  # type: ignore[arg-type]
    assert plan.request is None and plan.why == f"{DAG_ID} run {RUN_ID} already requested a retrain"


def test_no_request_without_a_retrain_decision_and_no_lookup(config) -> None:
    def never_read():
        raise AssertionError("earlier events are only read when a retrain is due")
        yield

    plan = plan_retrain_request(config, decision(False), DS, never_read(), dag_id=DAG_ID, run_id=RUN_ID)  # type: ignore[arg-type]
    assert plan.request is None and plan.why == "no retrain: no retrain trigger fired"
