"""Per-date MLflow runs of a scoring run (include/score/record.py), against a stand-in registry."""

from __future__ import annotations

import pytest

from include.contracts import RunKind, Tag
from include.score.record import predictions_event, record_scoring_runs
from tests.unit.score.helpers import StubRegistry, make_config

CONFIG = make_config()
PINNED = {
    "champion": {"name": "churn", "version": "3", "run_id": "run-3"},
    "challenger": {"name": "churn", "version": "4", "run_id": "run-4"},
    "dates": ["2026-02-02", "2026-02-03"],
}
SHADOW = {
    "version": "4",
    "rows": 100,
    "agreement": None,
    "mean_abs_score_diff": 0.1,
    "error_rate": 0.0,
    "latency_ms_per_1k": 2.0,
}


def summary(rows: int, **more) -> dict:
    return {
        "rows_in": rows,
        "rows_scored": rows,
        "rows_quarantined": 0,
        "quarantine_share": 0.0,
        "reasons": {},
        "null_rates": {"tenure_months": 0.0},
        "histogram": [rows],
        "score_p50": 0.525,
        "positive_share": 0.25,
        "latency_ms_per_1k": None,
        **more,
    }


PUBLISHED = {
    "dates": {"2026-02-03": summary(50), "2026-02-02": summary(100, shadow=SHADOW)},
    "dry_run": False,
    "token": "abc",
}


def test_a_scoring_run_per_date_and_a_shadow_run_for_the_challenger(tmp_path):
    registry = StubRegistry(tmp_path)
    result = record_scoring_runs(registry, CONFIG, PINNED, PUBLISHED, "scheduled__1")

    assert result["dry_run"] is False
    assert result["asset_extra"] == {"dates": ["2026-02-02", "2026-02-03"], "model_version": "3"}
    assert set(result["runs"]) == {"2026-02-02", "2026-02-03"}
    assert set(result["runs"]["2026-02-02"]) == {"scoring_run_id", "shadow_run_id"}
    assert set(result["runs"]["2026-02-03"]) == {"scoring_run_id"}
    assert set(registry.runs) == {"scoring/2026-02-02/v3", "scoring/2026-02-03/v3", "shadow/2026-02-02/v4"}

    scoring = registry.runs["scoring/2026-02-02/v3"]
    assert scoring["name"] == "score 2026-02-02" and scoring["experiment"] == "experiment-churn"
    assert scoring["tags"] == {
        Tag.KIND: RunKind.SCORING,
        Tag.DS: "2026-02-02",
        Tag.MODEL_VERSION: "3",
        Tag.AIRFLOW_RUN_ID: "scheduled__1",
    }
    # Numbers only: no lists, dicts or None.
    assert scoring["metrics"] == {
        "rows_in": 100.0,
        "rows_scored": 100.0,
        "rows_quarantined": 0.0,
        "quarantine_share": 0.0,
        "score_p50": 0.525,
        "positive_share": 0.25,
    }
    shadow = registry.runs["shadow/2026-02-02/v4"]
    assert shadow["name"] == "shadow 2026-02-02 v4"
    assert shadow["tags"] == {
        Tag.KIND: RunKind.SHADOW,
        Tag.DS: "2026-02-02",
        Tag.SHADOW_VERSION: "4",
        Tag.SHADOW_CHAMPION_VERSION: "3",
        Tag.AIRFLOW_RUN_ID: "scheduled__1",
    }
    assert shadow["metrics"] == pytest.approx(
        {
            "shadow_rows": 100.0,
            "shadow_mean_abs_score_diff": 0.1,
            "shadow_error_rate": 0.0,
            "shadow_latency_ms_per_1k": 2.0,
        }
    )


def test_a_dry_run_records_nothing(tmp_path):
    registry = StubRegistry(tmp_path)
    result = record_scoring_runs(registry, CONFIG, PINNED, {**PUBLISHED, "dry_run": True}, "manual__dry")
    assert result == {"dry_run": True, "runs": {}, "asset_extra": None}
    assert registry.calls == []


def test_predictions_event_lists_sorted_dates_and_the_champion():
    assert predictions_event(PINNED, PUBLISHED) == {"dates": ["2026-02-02", "2026-02-03"], "model_version": "3"}
