"""Monitoring steps, Airflow-free: reference -> quality -> drift -> performance -> decision.

Everything is compared with the *champion's* training run: its scoring contract (quality),
its reference profile and sample (feature drift), its hold-out scores (prediction drift) and
its hold-out metric (performance). Monitoring never re-reads the training data.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from include.config import ModelConfig
from include.contracts import CHAMPION_ALIAS, Artifact, Dataset, Tag
from include.errors import MonitoringError
from include.platform.partitions import list_partitions, read_manifest, read_range
from include.platform.storage import Storage


def window(config: ModelConfig, ds: str) -> tuple[dt.date, dt.date]:
    """[start, end) of the current window ending with day ``ds``."""
    end = dt.date.fromisoformat(ds) + dt.timedelta(days=1)
    return end - dt.timedelta(days=config.monitoring.window_days), end


def _artifact(registry: Any, run_id: str, path: str) -> Path:
    import mlflow

    return Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/{path}", tracking_uri=registry.tracking_uri))


def load_reference(registry: Any, config: ModelConfig) -> dict[str, Any]:
    """The champion's version, run, training window end and hold-out metrics (small: XCom)."""
    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is None:
        raise MonitoringError(f"{config.name!r} has no champion: nothing to monitor against")
    evaluation = json.loads(_artifact(registry, champion.run_id, Artifact.EVALUATION).read_text())
    window_tag = champion.tags.get(Tag.WINDOW, "..")
    return {
        "version": str(champion.version),
        "run_id": champion.run_id,
        "trained_until": window_tag.split("..")[-1] or None,
        "created": dt.datetime.fromtimestamp(champion.creation_timestamp / 1000, dt.UTC).isoformat(),
        "holdout_metrics": evaluation["metrics"],
    }


# -- quality --------------------------------------------------------------------------------------
def check_quality(storage: Storage, registry: Any, config: ModelConfig, reference: dict[str, Any], ds: str) -> dict:
    from include.ml.contract import load_contract
    from include.monitor import quality
    from include.platform.registry import ModelRef

    start, end = window(config, ds)
    current, dates = read_range(storage, Dataset.FEATURES, config.name, start, end)
    contract = load_contract(registry, ModelRef(config.name, reference["version"], reference["run_id"]))
    trailing_n = config.monitoring.trailing_partitions
    earlier = list_partitions(storage, Dataset.FEATURES, config.name, end=start)[-trailing_n:]
    trailing = [m.rows for m in (read_manifest(storage, Dataset.FEATURES, config.name, d) for d in earlier) if m]
    if not dates:
        report = quality.QualityReport(rows=0)
        report.issues.append(
            quality.QualityIssue(
                "no_data", None, "error", 0, None, f"no committed feature partitions in [{start}, {end})"
            )
        )
    else:
        m = config.monitoring
        report = quality.check_quality(
            config,
            current,
            contract,
            trailing_rows=trailing,
            null_margin=m.null_rate_margin,
            row_count_tolerance=m.row_count_tolerance,
        )
    return {**report.to_dict(), "summary": report.summary(), "dates": dates}


# -- drift ----------------------------------------------------------------------------------------
def check_drift(storage: Storage, registry: Any, config: ModelConfig, reference: dict[str, Any], ds: str) -> dict:
    """Feature drift (per column, evidently's test choice and verdicts) and prediction drift."""
    import pandas as pd

    from include.ml.profile import sample_from_parquet
    from include.monitor.drift.detect import column_drift
    from include.monitor.drift.profile import drift_from_profile

    run_id = reference["run_id"]
    profile = json.loads(_artifact(registry, run_id, Artifact.REFERENCE_PROFILE).read_text())
    sample = sample_from_parquet(_artifact(registry, run_id, Artifact.REFERENCE_SAMPLE).read_bytes())
    start, end = window(config, ds)
    current, _ = read_range(storage, Dataset.FEATURES, config.name, start, end, columns=config.features.all)
    report = drift_from_profile(
        profile,
        current,
        sample=sample,
        overrides=config.monitoring.stattests or None,
        drift_share=config.monitoring.drift_share,
    )
    result = {"features": report.to_dict(), "prediction": None}
    scored, _ = read_range(storage, Dataset.PREDICTIONS, config.name, start, end, columns=["score"])
    if len(scored):
        holdout = pd.read_parquet(io.BytesIO(_artifact(registry, run_id, Artifact.HOLDOUT_SCORES).read_bytes()))
        drift = column_drift(holdout["score"], scored["score"], "num")
        result["prediction"] = {
            "stattest": drift.stattest,
            "threshold": drift.threshold,
            "score": drift.score,
            "drifted": drift.drifted,
            "rows": len(scored),
        }
    return result


# -- performance ----------------------------------------------------------------------------------
def check_performance(storage: Storage, config: ModelConfig, reference: dict[str, Any], ds: str) -> dict:
    """Primary metric on delayed labels over the trailing window vs the champion's hold-out."""
    from include.ml.performance import error_stream, load_scored_labels, performance_drop, trailing_performance
    from include.monitor.drift.concept import detect_concept_drift

    m = config.monitoring
    end = dt.date.fromisoformat(ds) + dt.timedelta(days=1)
    start = end - dt.timedelta(days=m.performance_window_days)
    # Only labels that had arrived by the monitored day: a backfilled run sees what a run on
    # that day saw, so its verdict is reproducible (labels published later are not used).
    joined = load_scored_labels(storage, config, start, end, max_label_delay_days=0)
    metric = config.evaluation.primary_metric
    if joined.empty:
        return {
            "rows": 0,
            "metric": metric,
            "status": "unknown",
            "detail": f"no labelled predictions in [{start}, {end})",
        }
    current = trailing_performance(joined, config)
    drop = performance_drop(
        current["value"], reference["holdout_metrics"].get(metric), metric, config, m.max_performance_drop
    )
    concept = detect_concept_drift(error_stream(joined, config), m.concept_detector)
    return {
        "rows": current["rows"],
        "metric": metric,
        "value": current["value"],
        "window": f"{start}..{end}",
        **{k: v for k, v in drop.items() if k not in ("metric",)},
        "concept_drift": concept.to_dict() | {"drift_detected": concept.drift_detected},
    }


# -- decision -------------------------------------------------------------------------------------
def new_labels_since(storage: Storage, config: ModelConfig, since: str | None, ds: str) -> int:
    """Labelled rows that arrived after the champion's training window, up to the run's day."""
    end = dt.date.fromisoformat(ds) + dt.timedelta(days=1)
    dates = list_partitions(storage, Dataset.LABELS, config.name, since, end)
    return sum(m.rows for m in (read_manifest(storage, Dataset.LABELS, config.name, d) for d in dates) if m)


def decide(
    config: ModelConfig,
    reference: dict[str, Any],
    quality: dict[str, Any],
    drift: dict[str, Any] | None,
    performance: dict[str, Any] | None,
    new_labels: int,
    ds: str,
    manual_reason: str | None = None,
) -> dict[str, Any]:
    """Which configured triggers fire, each with its reason and numbers."""
    m = config.monitoring
    reasons: list[dict[str, Any]] = []

    def fire(trigger: str, detail: str, **numbers: Any) -> None:
        if trigger in m.triggers:
            reasons.append({"trigger": trigger, "detail": detail, **numbers})

    if quality["failed"]:
        # Drift and performance numbers mean nothing on broken data: report, do not retrain.
        return {"retrain": False, "reasons": [], "blocked_by": "data quality", "summary": quality["summary"]}
    if drift and drift["features"]["dataset_drift"]:
        f = drift["features"]
        drifted = [c["column"] for c in f["columns"] if c["drifted"]]
        fire(
            "dataset_drift",
            f"{f['n_drifted']} of {len(f['columns'])} features drifted "
            f"({f['share_drifted']:.0%} >= {m.drift_share:.0%}): {', '.join(drifted)}",
            share=f["share_drifted"],
        )
    if performance and performance.get("flagged"):
        fire("performance_drop", performance["message"], drop=performance.get("drop"))
    if new_labels >= m.min_new_labels:
        fire(
            "new_labels",
            f"{new_labels} labelled rows arrived since training ended {reference['trained_until']} "
            f"(threshold {m.min_new_labels})",
            rows=new_labels,
        )
    if reference.get("trained_until"):
        age = (dt.date.fromisoformat(ds) - dt.date.fromisoformat(reference["trained_until"])).days
        if age > m.max_model_age_days:
            fire(
                "model_age",
                f"champion v{reference['version']} trained on data up to {reference['trained_until']}: "
                f"{age} days old > {m.max_model_age_days}",
                days=age,
            )
    if manual_reason:
        fire("manual", f"requested: {manual_reason}")
    summary = "; ".join(r["detail"] for r in reasons) or "no retrain trigger fired"
    return {"retrain": bool(reasons), "reasons": reasons, "blocked_by": None, "summary": summary}


# -- report ---------------------------------------------------------------------------------------
def html_report(storage: Storage, registry: Any, config: ModelConfig, reference: dict[str, Any], ds: str) -> str | None:
    """evidently's drift report (on samples) as HTML, for a person to read."""
    import tempfile
    import warnings

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from include.ml.profile import sample_from_parquet

    sample = sample_from_parquet(_artifact(registry, reference["run_id"], Artifact.REFERENCE_SAMPLE).read_bytes())
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
        snapshot = Report([DataDriftPreset(drift_share=config.monitoring.drift_share)]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(sample, data_definition=definition),
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drift_report.html"
        snapshot.save_html(str(path))
        return path.read_text(encoding="utf-8")


def metrics_for_mlflow(quality: dict, drift: dict | None, performance: dict | None, decision: dict) -> dict[str, float]:
    from include.platform.registry import metric_key

    out: dict[str, float] = {"quality_issues": float(len(quality["issues"])), "retrain": float(decision["retrain"])}
    if drift:
        out["drift_share"] = float(drift["features"]["share_drifted"])
        out["dataset_drift"] = float(drift["features"]["dataset_drift"])
        for column in drift["features"]["columns"]:
            out[metric_key(f"drift_score.{column['column']}")] = float(column["score"])
        if drift.get("prediction"):
            out["prediction_drift_score"] = float(drift["prediction"]["score"])
    if performance and performance.get("value") is not None:
        out[f"live_{performance['metric']}"] = float(performance["value"])
        out["labelled_rows"] = float(performance["rows"])
    return out
