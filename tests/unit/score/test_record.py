"""Per-date MLflow runs of a scoring run (include/score/record.py), in a real MLflow tracking
store (SQLite file), read back through MLflow's own search."""

from __future__ import annotations

import pytest

from include.contracts import RunKind, Tag, experiment_name
from include.platform.registry import ModelRegistry
from include.score.record import predictions_event, record_scoring_runs
from tests.unit.score.helpers import make_config

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


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    return ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}")


def _runs(registry) -> dict[str, dict]:
    """Every run of the model's experiment by its key: name, experiment, tags (without MLflow's
    own and the key), metrics."""
    experiment = registry.client.get_experiment_by_name(experiment_name("churn"))
    if experiment is None:
        return {}
    out = {}
    for run in registry.client.search_runs([experiment.experiment_id]):
        tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.") and k != Tag.RUN_KEY}
        out[run.data.tags[Tag.RUN_KEY]] = {
            "name": run.info.run_name,
            "experiment": experiment.name,
            "tags": tags,
            "metrics": run.data.metrics,
            "run_id": run.info.run_id,
        }
    return out


def test_a_scoring_run_per_date_and_a_shadow_run_for_the_challenger(registry):
    result = record_scoring_runs(registry, CONFIG, PINNED, PUBLISHED, "scheduled__1")

    assert result["dry_run"] is False
    assert result["asset_extra"] == {"dates": ["2026-02-02", "2026-02-03"], "model_version": "3"}
    assert set(result["runs"]) == {"2026-02-02", "2026-02-03"}
    assert set(result["runs"]["2026-02-02"]) == {"scoring_run_id", "shadow_run_id"}
    assert set(result["runs"]["2026-02-03"]) == {"scoring_run_id"}
    runs = _runs(registry)
    assert set(runs) == {"scoring/2026-02-02/v3", "scoring/2026-02-03/v3", "shadow/2026-02-02/v4"}
    assert result["runs"]["2026-02-02"]["shadow_run_id"] == runs["shadow/2026-02-02/v4"]["run_id"]

    scoring = runs["scoring/2026-02-02/v3"]
    assert scoring["name"] == "score 2026-02-02" and scoring["experiment"] == "mlops/churn"
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
    shadow = runs["shadow/2026-02-02/v4"]
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


def test_rescoring_a_date_updates_its_runs_instead_of_adding_evidence(registry):
    first = record_scoring_runs(registry, CONFIG, PINNED, PUBLISHED, "scheduled__1")
    again = record_scoring_runs(registry, CONFIG, PINNED, PUBLISHED, "manual__rerun")
    assert again["runs"] == first["runs"]
    runs = _runs(registry)
    assert len(runs) == 3 and runs["scoring/2026-02-02/v3"]["tags"][Tag.AIRFLOW_RUN_ID] == "manual__rerun"


def test_a_dry_run_records_nothing(registry):
    result = record_scoring_runs(registry, CONFIG, PINNED, {**PUBLISHED, "dry_run": True}, "manual__dry")
    assert result == {"dry_run": True, "runs": {}, "asset_extra": None}
    assert _runs(registry) == {}


def test_predictions_event_lists_sorted_dates_and_the_champion():
    assert predictions_event(PINNED, PUBLISHED) == {"dates": ["2026-02-02", "2026-02-03"], "model_version": "3"}
