"""summary.json and the drift HTML in storage; the day's MLflow monitoring run with its metrics."""

from __future__ import annotations

import json

import pytest

from include.contracts import RunKind, Tag
from include.monitor.decision import decide
from include.monitor.drift_check import check_drift
from include.monitor.quality import check_quality
from include.monitor.reference import load_reference
from include.monitor.report import metrics_for_mlflow, monitor_summary, scoring_counts, write_report
from tests.unit.monitor.conftest import BROKEN_DS, DRIFT_DS, MODEL


def _day(world, ds: str):
    reference = load_reference(world.registry, world.config, ds)
    quality = check_quality(world.storage, world.registry, world.config, reference, ds)
    drift = None if quality["failed"] else check_drift(world.storage, world.registry, world.config, reference, ds)
    performance = {"rows": 0, "metric": "roc_auc", "status": "unknown", "detail": "no labels"}
    decision = decide(world.config, reference, quality, drift, performance, 0, ds)
    return reference, quality, drift, performance, decision


def _runs(world, ds: str):
    return world.registry.client.search_runs(
        [world.registry.experiment_id(MODEL)],
        filter_string=f"tags.`{Tag.KIND}` = '{RunKind.MONITOR}' and tags.`{Tag.DS}` = '{ds}'",
    )


def test_metrics_for_mlflow() -> None:
    quality = {"issues": [{}, {}], "failed": False}
    columns = [{"column": "monthly_charges", "score": 0.25}, {"column": "plan", "score": 0.01}]
    drift = {
        "features": {"share_drifted": 0.5, "dataset_drift": True, "columns": columns},
        "prediction": {"score": 0.2},
    }
    performance = {"metric": "roc_auc", "value": 0.7, "rows": 300}
    metrics = metrics_for_mlflow(quality, drift, performance, {"retrain": True})  # type: ignore[arg-type]
    assert metrics["quality_issues"] == 2.0 and metrics["retrain"] == 1.0
    assert metrics["drift_share"] == 0.5 and metrics["dataset_drift"] == 1.0
    assert metrics["prediction_drift_score"] == 0.2
    assert metrics["live_roc_auc"] == 0.7 and metrics["labelled_rows"] == 300.0
    assert {k for k in metrics if k.startswith("drift_score.")} == {"drift_score.monthly_charges", "drift_score.plan"}
    bare = metrics_for_mlflow({"issues": []}, None, {"status": "unknown"}, {"retrain": False})  # type: ignore[arg-type]
    assert bare == {"quality_issues": 0.0, "retrain": 0.0}


def test_write_report_to_storage_and_mlflow(world) -> None:
    reference, quality, drift, performance, decision = _day(world, DRIFT_DS)
    paths = write_report(world.storage, world.registry, world.config, *_day(world, DRIFT_DS), airflow_run_id="r1")
    prefix = f"reports/{MODEL}/monitor/ds={DRIFT_DS}"
    assert paths["summary"] == world.storage.uri(f"{prefix}/summary.json")
    assert paths["html"] == world.storage.uri(f"{prefix}/drift_report.html")
    summary = json.loads(world.storage.read_text(f"{prefix}/summary.json"))
    assert summary == json.loads(
        json.dumps(monitor_summary(world.config, reference, quality, drift, performance, decision, "r1"), default=str)
    )
    assert summary["champion_version"] == world.version and summary["airflow_run_id"] == "r1"
    html = world.storage.read_text(f"{prefix}/drift_report.html")
    assert "<html" in html.lower() and "monthly_charges" in html

    (run,) = _runs(world, DRIFT_DS)
    assert run.info.run_id == paths["mlflow_run_id"]
    assert run.data.tags[Tag.MODEL_VERSION] == world.version
    assert run.data.metrics["dataset_drift"] == float(drift["features"]["dataset_drift"])
    assert run.data.metrics["drift_share"] == pytest.approx(drift["features"]["share_drifted"])
    artifacts = {a.path for a in world.registry.client.list_artifacts(run.info.run_id, "monitor")}
    assert artifacts == {"monitor/drift_report.html", "monitor/summary.json"}

    again = write_report(world.storage, world.registry, world.config, *_day(world, DRIFT_DS), airflow_run_id="r2")
    assert again["mlflow_run_id"] == paths["mlflow_run_id"] and len(_runs(world, DRIFT_DS)) == 1


def test_no_html_when_quality_failed(world) -> None:
    paths = write_report(world.storage, world.registry, world.config, *_day(world, BROKEN_DS))
    assert "html" not in paths
    assert not world.storage.exists(f"reports/{MODEL}/monitor/ds={BROKEN_DS}/drift_report.html")
    summary = json.loads(world.storage.read_text(f"reports/{MODEL}/monitor/ds={BROKEN_DS}/summary.json"))
    assert summary["quality"]["failed"] and summary["drift"] is None
    assert summary["decision"]["blocked_by"] == "data quality"
    (run,) = _runs(world, BROKEN_DS)
    assert run.data.metrics["quality_issues"] >= 1 and run.data.metrics["retrain"] == 0.0


def test_the_report_shows_the_scored_days_flagged_and_quarantined_rows(world) -> None:
    import pandas as pd

    from include.contracts import Dataset
    from include.platform.partitions import publish_frame

    ds = "2026-02-20"  # a day of its own: predictions published, nothing else
    reference, quality, drift, performance, decision = _day(world, DRIFT_DS)
    reference = {**reference, "ds": ds}
    summary = {
        "rows_in": 100,
        "rows_scored": 97,
        "rows_quarantined": 3,
        "quarantine_share": 0.03,
        "reasons": {"infinite value: tenure_months": 1, "duplicate entity_id: superseded by a later row": 2},
        "rows_flagged": 60,
        "flagged_share": 0.6,
        "flags": {"out_of_range:tenure_months": 60},
    }
    frame = pd.DataFrame({"customer_id": ["a"], "score": [0.5]})
    publish_frame(world.storage, Dataset.PREDICTIONS, MODEL, ds, frame, meta={"model_version": "7", "summary": summary})

    write_report(world.storage, world.registry, world.config, reference, quality, drift, performance, decision)

    stored = json.loads(world.storage.read_text(f"reports/{MODEL}/monitor/ds={ds}/summary.json"))
    assert stored["scoring"] == {"model_version": "7", **summary}
    (run,) = _runs(world, ds)
    assert run.data.metrics["scoring_rows_flagged"] == 60 and run.data.metrics["scoring_rows_quarantined"] == 3
    assert run.data.metrics["scoring_flagged_share"] == 0.6
    # a day that was not scored: no scoring counts
    assert scoring_counts(world.storage, world.config, BROKEN_DS) is None
