"""Shadow evidence: per-date shadow records aggregated against one champion; age in shadow."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from include.contracts import Tag
from include.deploy.evidence import live_metrics, shadow_age_days, shadow_evidence
from include.platform.storage import LocalStorage
from tests.unit.deploy.helpers import churn_config


def run(ds: str, rows: int, champion: str | int | None = "1", **metrics: float | None) -> dict:
    """One shadow record as ``shadow_runs`` reads it from MLflow."""
    return {"ds": ds, "champion_version": champion, "shadow_rows": rows, **metrics}


def test_batches_are_weighted_by_rows_and_span_their_dates():
    runs = [
        run("2026-02-13", 300, shadow_agreement=0.5, shadow_error_rate=0.0, shadow_latency_ms_per_1k=40.0,
            shadow_mean_abs_score_diff=0.02),
        run("2026-02-11", 100, shadow_agreement=0.9, shadow_error_rate=0.02, shadow_latency_ms_per_1k=20.0,
            shadow_mean_abs_score_diff=0.06),
    ]  # fmt: skip

    evidence = shadow_evidence(runs, "1")

    assert evidence == {
        "batches": 2,
        "rows": 400,
        "hours": 72.0,  # 11th to 13th: three days of data
        "dates": ["2026-02-11", "2026-02-13"],
        "agreement": pytest.approx((0.5 * 300 + 0.9 * 100) / 400),
        "error_rate": 0.02,  # the worst batch, not an average
        "latency_ms_per_1k": pytest.approx((40.0 * 300 + 20.0 * 100) / 400),
        "score_diff": pytest.approx((0.02 * 300 + 0.06 * 100) / 400),
    }


def test_only_batches_measured_against_this_champion_count():
    runs = [run("2026-02-11", 100, champion=1, shadow_agreement=0.9), run("2026-02-12", 500, champion="0")]

    evidence = shadow_evidence(runs, "1")

    assert (evidence["batches"], evidence["rows"], evidence["dates"]) == (1, 100, ["2026-02-11"])
    assert evidence["hours"] == 24.0 and evidence["agreement"] == pytest.approx(0.9)
    assert shadow_evidence(runs, "2")["batches"] == 0


def test_a_missing_metric_is_averaged_over_the_batches_that_have_it():
    runs = [run("2026-02-11", 100, shadow_agreement=0.8), run("2026-02-12", 300, shadow_agreement=None)]

    evidence = shadow_evidence(runs, "1")

    assert evidence["agreement"] == pytest.approx(0.8)
    assert evidence["latency_ms_per_1k"] is None
    assert evidence["error_rate"] == 0.0  # a batch without errors logged had none


def test_no_batch_is_no_evidence():
    assert shadow_evidence([], "1") == {
        "batches": 0,
        "rows": 0,
        "hours": 0.0,
        "dates": [],
        "agreement": None,
        "error_rate": None,
        "latency_ms_per_1k": None,
        "score_diff": None,
    }


# -- age in shadow ---------------------------------------------------------------------------------
def history(*moves: tuple[str, str]) -> dict[str, str]:
    return {Tag.HISTORY: json.dumps([{"to": to, "at": at} for to, at in moves])}


NOW = dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)


def test_age_counts_whole_days_since_the_last_move_into_shadow():
    tags = history(
        ("candidate", "2025-12-01T00:00:00+00:00"),
        ("shadow", "2025-12-02T00:00:00+00:00"),
        ("shadow", "2026-01-01T00:00:00+00:00"),
    )
    assert shadow_age_days(tags, NOW) == 30


def test_a_version_without_a_recorded_move_into_shadow_is_new():
    assert shadow_age_days({}, NOW) == 0
    assert shadow_age_days(history(("candidate", "2025-01-01T00:00:00+00:00")), NOW) == 0


# -- live metrics ------------------------------------------------------------------------------------
def test_no_live_metrics_without_dates_or_labels(tmp_path):
    storage = LocalStorage(tmp_path)
    config = churn_config()

    assert live_metrics(storage, config, []) == {}
    assert live_metrics(storage, config, ["2026-02-11", "2026-02-12"]) == {}
