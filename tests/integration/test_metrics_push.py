"""Run metrics through a real Pushgateway into a real Prometheus (Debian's binaries), pushed by
the code the tasks run (``mlops_airflow.hooks.metrics``), read back with Prometheus's HTTP API.

Both processes start once for the module on free loopback ports; Prometheus scrapes the
Pushgateway every second with ``honor_labels`` (as docker/prometheus/prometheus.yml). The
summaries are the ones the pipelines write: a scoring date's summary from
``include.score.summary.summarize_date``, a monitor ``summary.json`` from
``include.monitor.report.monitor_summary``, deploy moves from a real audit trail (SQLite).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from include.config import get_config
from include.errors import MetricsConfigError
from include.observe.names import Job
from include.platform.audit import AuditStore
from include.score.summary import summarize_date
from mlops_airflow.hooks.metrics import (
    PUSHGATEWAY_URL_ENV,
    PushgatewayHook,
    push_deploy_metrics,
    push_monitor_metrics,
    push_scoring_metrics,
)
from tests.fixtures.services import (
    Service,
    free_port,
    prometheus_query,
    start_prometheus,
    start_pushgateway,
    wait_for_series,
)

MODEL = "churn"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service]]:
    root = tmp_path_factory.mktemp("prometheus")
    gateway = start_pushgateway(root)
    try:
        server = start_prometheus(root, gateway.url)
        try:
            yield gateway, server
        finally:
            server.stop()
    finally:
        gateway.stop()


@pytest.fixture
def hook(prometheus: tuple[Service, Service], monkeypatch: pytest.MonkeyPatch) -> PushgatewayHook:
    """The hook as a task builds it when no connection exists: the address from the environment."""
    monkeypatch.setenv(PUSHGATEWAY_URL_ENV, prometheus[0].url)
    return PushgatewayHook(pushgateway_conn_id=None)


def _stats(ds: str, rows_in: int, quarantined: int, flagged: int, seconds: float) -> dict[str, Any]:
    """One scoring unit's stats, as ``include/score/unit.py`` returns them."""
    config = get_config(MODEL)
    scored = rows_in - quarantined
    histogram = [0] * 20
    histogram[5] = scored
    return {
        "ds": ds,
        "index": 0,
        "rows_in": rows_in,
        "rows_scored": scored,
        "rows_quarantined": quarantined,
        "reasons": {"null_key": quarantined} if quarantined else {},
        "rows_flagged": flagged,
        "flags": {"out_of_range:tenure_months": flagged} if flagged else {},
        "kinds": {},
        "nulls": dict.fromkeys(config.features.all, 0),
        "histogram": histogram,
        "score_range": [0.0, 1.0],
        "score_underflow": 0,
        "score_overflow": 0,
        "score_min": 0.25,
        "score_max": 0.3,
        "positives": scored // 3,
        "score_seconds": seconds,
        "shadow": None,
        "files": {},
        "seconds": seconds,
    }


def _published(ds: str, rows_in: int, quarantined: int, flagged: int, seconds: float) -> dict[str, Any]:
    """What ``publish`` returns for one good date; its summary is the manifest's ``meta["summary"]``."""
    config = get_config(MODEL)
    contract = {"features": {c: {"null_fraction": 0.0} for c in config.features.all}}
    summary = summarize_date(config, [_stats(ds, rows_in, quarantined, flagged, seconds)], contract)  # type: ignore[list-item]
    assert not summary["problems"]
    return {"dates": {ds: {k: v for k, v in summary.items() if k != "problems"}}, "dry_run": False, "failed": {}}


def _value(url: str, query: str, until: Any = bool) -> float:
    (series,) = wait_for_series(url, query, until)
    return float(series["value"][1])


def _equals(expected: float) -> Any:
    return lambda result: len(result) == 1 and float(result[0]["value"][1]) == pytest.approx(expected)


def test_scoring_numbers_reach_prometheus_and_a_rerun_replaces_them(prometheus, hook) -> None:
    _, server = prometheus
    published = _published("2026-02-03", rows_in=1000, quarantined=40, flagged=7, seconds=0.25)
    summary = published["dates"]["2026-02-03"]
    assert push_scoring_metrics(MODEL, "3", published, hook=hook)

    selector = f'{{job="{Job.SCORING}",model="{MODEL}",version="3"}}'
    assert _value(server.url, f"mlops_scoring_rows_scored{selector}") == summary["rows_scored"] == 960
    assert _value(server.url, f"mlops_scoring_rows_quarantined{selector}") == summary["rows_quarantined"] == 40
    assert _value(server.url, f"mlops_scoring_rows_flagged{selector}") == summary["rows_flagged"] == 7
    assert _value(server.url, f"mlops_scoring_rows_in{selector}") == summary["rows_in"] == 1000
    assert _value(server.url, f"mlops_scoring_rows_per_second{selector}") == pytest.approx(
        1e6 / summary["latency_ms_per_1k"]
    )
    assert _value(server.url, f'mlops_scoring_dates{{outcome="published",model="{MODEL}"}}') == 1

    # The same day rescored after a promotion: the group is replaced (PUT), nothing adds up and
    # the old version's series are gone from the Pushgateway (stale in Prometheus).
    rerun = _published("2026-02-03", rows_in=1000, quarantined=10, flagged=0, seconds=0.2)
    assert push_scoring_metrics(MODEL, "4", rerun, hook=hook)
    query = f'sum(mlops_scoring_rows_scored{{job="{Job.SCORING}",model="{MODEL}"}})'
    assert _value(server.url, query, _equals(990)) == 990
    assert prometheus_query(server.url, f'mlops_scoring_rows_scored{{model="{MODEL}",version="3"}}') == []
    assert _value(server.url, f'count(mlops_scoring_rows_quarantined{{model="{MODEL}"}})') == 1


def test_monitor_summary_reaches_prometheus(prometheus, hook) -> None:
    _, server = prometheus
    columns = [
        {"column": "tenure_months", "score": 0.01, "drifted": True},
        {"column": "monthly_charges", "score": 0.4, "drifted": False},
    ]
    summary = json.loads(
        json.dumps(
            {
                "model": MODEL,
                "ds": "2026-02-03",
                "champion_version": "4",
                "champion_created": "2026-01-31T12:00:00+00:00",
                "quality": {"issues": [{"check": "nulls"}], "failed": False},
                "drift": {
                    "features": {"share_drifted": 0.5, "dataset_drift": True, "columns": columns},
                    "prediction": {"score": 0.2},
                },
                "performance": {"metric": "roc_auc", "value": 0.81, "rows": 300},
                "scoring": None,
                "decision": {"retrain": True},
                "airflow_run_id": "r1",
            }
        )
    )
    assert push_monitor_metrics(summary, hook=hook)
    selector = f'job="{Job.MONITOR}",model="{MODEL}",version="4"'
    assert _value(server.url, f"mlops_monitor_drift_share{{{selector}}}") == 0.5
    assert _value(server.url, f'mlops_monitor_column_drift{{{selector},column="tenure_months"}}') == 1
    assert _value(server.url, f'mlops_monitor_column_drift{{{selector},column="monthly_charges"}}') == 0
    assert _value(server.url, f'mlops_monitor_live_metric{{{selector},metric="roc_auc"}}') == 0.81
    assert _value(server.url, f"mlops_champion_trained_timestamp_seconds{{{selector}}}") == 1769860800
    assert _value(server.url, f"mlops_monitor_ds_timestamp_seconds{{{selector}}}") == 1770076800


def test_deploy_moves_from_the_audit_trail(prometheus, hook, tmp_path: Path) -> None:
    _, server = prometheus
    with AuditStore(f"sqlite:///{tmp_path / 'audit.db'}") as audit:
        audit.record(MODEL, "1", None, "shadow")
        audit.record(MODEL, "1", "shadow", "champion")
        audit.record(MODEL, "2", None, "shadow")
        audit.record(MODEL, "2", "shadow", "champion")
        history = audit.history(MODEL)
    assert push_deploy_metrics(MODEL, "2", "promote", history, hook=hook)
    assert push_deploy_metrics(MODEL, "2", "promote", history, hook=hook)  # a retried task
    selector = f'job="{Job.DEPLOY}",model="{MODEL}"'
    changes = wait_for_series(server.url, f"mlops_deploy_stage_changes_total{{{selector}}}", lambda r: len(r) == 3)
    # v2's promotion also archived v1 (the trail's superseding row): counted, never twice.
    assert {s["metric"]["to_stage"]: float(s["value"][1]) for s in changes} == {
        "shadow": 2,
        "champion": 2,
        "archived": 1,
    }
    assert len([row for row in history if row["status"] == "succeeded"]) == 5
    assert _value(server.url, f"mlops_deploy_champion_version{{{selector}}}") == 2


def test_unreachable_pushgateway_warns_and_a_wrong_one_says_what_to_fix(prometheus, caplog) -> None:
    published = _published("2026-02-04", rows_in=10, quarantined=0, flagged=0, seconds=0.01)
    closed = PushgatewayHook(pushgateway_conn_id=None)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PUSHGATEWAY_URL_ENV, f"http://127.0.0.1:{free_port()}")
        with caplog.at_level(logging.WARNING):
            assert push_scoring_metrics(MODEL, "4", published, hook=closed) is False
        assert "did not answer" in caplog.text and "the run's data is published" in caplog.text
        # Prometheus's own API is not a Pushgateway: a deterministic refusal, named.
        env.setenv(PUSHGATEWAY_URL_ENV, f"{prometheus[1].url}/api")
        with pytest.raises(MetricsConfigError, match="MLOPS_PUSHGATEWAY_URL"):
            push_scoring_metrics(MODEL, "4", published, hook=closed)
        env.setenv(PUSHGATEWAY_URL_ENV, "pushgateway:9091")
        with pytest.raises(MetricsConfigError, match="http:// or https://"):
            push_scoring_metrics(MODEL, "4", published, hook=closed)
        env.delenv(PUSHGATEWAY_URL_ENV)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            assert push_scoring_metrics(MODEL, "4", published, hook=closed) is False
        assert [r.getMessage() for r in caplog.records if "metrics" in r.getMessage()] == [
            f"metrics not pushed: no Pushgateway configured ({PUSHGATEWAY_URL_ENV})"
        ]
