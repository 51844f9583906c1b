"""What a monitor run leaves behind: ``summary.json`` and evidently's drift HTML under
``reports/<model>/monitor/ds=<day>/``, and one MLflow run per day with its metrics.

The summary carries the flagged and quarantined counts of the day's published predictions
(``scoring``, from their manifest; None when the day was not scored)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from include.config import ModelConfig
from include.contracts import Artifact, Dataset, RunKind, Tag, monitor_report
from include.monitor.payloads import (
    Decision,
    DriftResult,
    PerformanceResult,
    QualityResult,
    Reference,
    ReportPaths,
    ScoringCounts,
)
from include.monitor.reference import window
from include.platform.partitions import read_manifest, read_range
from include.platform.storage import Storage

log = logging.getLogger(__name__)


def html_report(
    storage: Storage,
    registry: Any,
    config: ModelConfig,
    reference: Reference,
    ds: str,
    drift: DriftResult | None = None,
) -> str | None:
    """evidently's drift report (on samples) as HTML, for a person to read, run with each column's
    test and threshold from ``drift`` (the verdicts), which head the page (``drift_html``); None
    without data."""
    import tempfile
    import warnings

    from evidently import DataDefinition, Report
    from evidently import Dataset as EvidentlyDataset
    from evidently.presets import DataDriftPreset

    from include.monitor.drift_html import evidently_test_options, wrap_report
    from include.platform.parquet import read_parquet_frame

    sample = read_parquet_frame(registry.download_artifact(reference["run_id"], Artifact.REFERENCE_SAMPLE))
    start, end = window(config, ds)
    current, dates = read_range(storage, Dataset.FEATURES, config.name, start, end, columns=config.features.all)
    if not dates or current.empty:
        return None
    n = config.monitoring.report_sample_rows
    current = current.sample(n=min(n, len(current)), random_state=0)
    sample = sample.sample(n=min(n, len(sample)), random_state=0)
    definition = DataDefinition(
        numerical_columns=config.features.numeric, categorical_columns=config.features.categorical
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preset = DataDriftPreset(drift_share=config.monitoring.drift_share, **evidently_test_options(drift))
        snapshot = Report([preset]).run(
            EvidentlyDataset.from_pandas(current, data_definition=definition),
            EvidentlyDataset.from_pandas(sample, data_definition=definition),
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drift_report.html"
        snapshot.save_html(str(path))
        return wrap_report(path.read_text(encoding="utf-8"), config, ds, drift, n)


def scoring_counts(storage: Storage, config: ModelConfig, ds: str) -> ScoringCounts | None:
    """The flagged and quarantined counts of the published predictions of ``ds`` (None: not scored)."""
    manifest = read_manifest(storage, Dataset.PREDICTIONS, config.name, ds)
    if manifest is None:
        return None
    summary = manifest.meta.get("summary") or {}
    return {
        "model_version": manifest.meta.get("model_version"),
        "rows_in": int(summary.get("rows_in", manifest.rows)),
        "rows_scored": int(summary.get("rows_scored", manifest.rows)),
        "rows_quarantined": int(summary.get("rows_quarantined", 0)),
        "quarantine_share": float(summary.get("quarantine_share", 0.0)),
        "rows_flagged": int(summary.get("rows_flagged", 0)),  # 0 in partitions scored before flags existed
        "flagged_share": float(summary.get("flagged_share", 0.0)),
        "reasons": dict(summary.get("reasons") or {}),
        "flags": dict(summary.get("flags") or {}),
    }


def metrics_for_mlflow(
    quality: QualityResult,
    drift: DriftResult | None,
    performance: PerformanceResult | None,
    decision: Decision,
    scoring: ScoringCounts | None = None,
) -> dict[str, float]:
    """The numbers to plot over time: issues, drift share and scores, live metric, retrain, and
    the scored day's flagged and quarantined rows."""
    from include.platform.registry import metric_key

    out: dict[str, float] = {"quality_issues": float(len(quality["issues"])), "retrain": float(decision["retrain"])}
    if scoring:
        out["scoring_rows_quarantined"] = float(scoring["rows_quarantined"])
        out["scoring_rows_flagged"] = float(scoring["rows_flagged"])
        out["scoring_flagged_share"] = float(scoring["flagged_share"])
    if drift:
        out["drift_share"] = float(drift["features"]["share_drifted"])
        out["dataset_drift"] = float(drift["features"]["dataset_drift"])
        for column in drift["features"]["columns"]:
            out[metric_key(f"drift_score.{column['column']}")] = float(column["score"])
        if drift.get("prediction"):
            out["prediction_drift_score"] = float(drift["prediction"]["score"])  # type: ignore[index]
    if performance and performance.get("value") is not None:
        out[f"live_{performance['metric']}"] = float(performance["value"])
        out["labelled_rows"] = float(performance["rows"])
    return out


def monitor_summary(
    config: ModelConfig,
    reference: Reference,
    quality: QualityResult,
    drift: DriftResult | None,
    performance: PerformanceResult | None,
    decision: Decision,
    airflow_run_id: str | None,
    scoring: ScoringCounts | None = None,
) -> dict[str, Any]:
    """Everything one monitor run found, as ``summary.json`` holds it."""
    return {
        "model": config.name,
        "ds": reference["ds"],
        "champion_version": reference["version"],
        # When the champion version was registered (its training's end): its age on the dashboard.
        "champion_created": reference.get("created"),
        "quality": quality,
        "drift": drift,
        "performance": performance,
        "scoring": scoring,
        "decision": decision,
        "airflow_run_id": airflow_run_id,
    }


def read_summary(storage: Storage, model: str, ds: str) -> dict[str, Any]:
    """The ``summary.json`` a monitor run wrote for ``ds`` (what its metrics are pushed from)."""
    return dict(json.loads(storage.read_text(monitor_report(model, ds, "summary.json"))))


def write_report(
    storage: Storage,
    registry: Any,
    config: ModelConfig,
    reference: Reference,
    quality: QualityResult,
    drift: DriftResult | None,
    performance: PerformanceResult | None,
    decision: Decision,
    airflow_run_id: str | None = None,
) -> ReportPaths:
    """``summary.json`` (and the drift HTML unless quality failed) to storage and to the day's
    MLflow monitoring run (created once per day, updated by reruns) with its metrics."""
    ds = reference["ds"]
    summary_key, html_key = (monitor_report(config.name, ds, name) for name in ("summary.json", "drift_report.html"))
    scoring = scoring_counts(storage, config, ds)
    summary_text = json.dumps(
        monitor_summary(config, reference, quality, drift, performance, decision, airflow_run_id, scoring),
        indent=2,
        default=str,
    )
    storage.write_text(summary_key, summary_text)
    html = None if quality["failed"] else html_report(storage, registry, config, reference, ds, drift)
    if html:
        storage.write_text(html_key, html)
    tags = {Tag.KIND: RunKind.MONITOR, Tag.DS: ds, Tag.MODEL_VERSION: reference["version"]}
    metrics = metrics_for_mlflow(quality, drift, performance, decision, scoring)
    run_id = registry.upsert_run(registry.experiment_id(config.name), f"monitor/{ds}", f"monitor {ds}", tags, metrics)
    registry.client.log_text(run_id, summary_text, Artifact.MONITOR_SUMMARY)
    paths: ReportPaths = {"summary": storage.uri(summary_key), "mlflow_run_id": run_id}
    if html:
        registry.client.log_text(run_id, html, Artifact.MONITOR_DRIFT_REPORT)
        paths["html"] = storage.uri(html_key)
    log.info("Monitor report of %s for %s: %s", config.name, ds, paths)
    return paths
