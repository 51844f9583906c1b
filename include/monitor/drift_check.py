"""Feature drift of a window against the champion's reference profile, and prediction drift of
the published scores against its hold-out scores (what ``DriftCheckOperator`` runs)."""

from __future__ import annotations

import json
from typing import Any

from include.config import ModelConfig
from include.contracts import Artifact, Column, Dataset
from include.errors import DataError
from include.monitor.payloads import DriftResult, PredictionDrift, QualityResult, Reference
from include.monitor.reference import load_reference, window
from include.platform.parquet import read_parquet_frame
from include.platform.partitions import read_range
from include.platform.storage import Storage


def prediction_drift(
    storage: Storage, registry: Any, config: ModelConfig, reference: Reference, ds: str
) -> PredictionDrift | None:
    """Scores published in the window against the champion's hold-out scores (None before any)."""
    from include.monitor.drift.detect import column_drift

    start, end = window(config, ds)
    scored, _ = read_range(storage, Dataset.PREDICTIONS, config.name, start, end, columns=[Column.SCORE])
    if not len(scored):
        return None
    holdout_path = registry.download_artifact(reference["run_id"], Artifact.HOLDOUT_SCORES)
    holdout = read_parquet_frame(holdout_path)
    drift = column_drift(holdout[Column.SCORE], scored[Column.SCORE], "num")
    return {
        "stattest": drift.stattest,
        "threshold": drift.threshold,
        "score": drift.score,
        "drifted": drift.drifted,
        "kind": drift.kind,
        "rows": len(scored),
    }


def check_drift(storage: Storage, registry: Any, config: ModelConfig, reference: Reference, ds: str) -> DriftResult:
    """Feature drift (per column, evidently's test choice and verdicts) and prediction drift."""
    from include.ml.profile import check_profile
    from include.monitor.drift.profile import drift_from_profile

    run_id = reference["run_id"]
    profile = json.loads(registry.download_artifact(run_id, Artifact.REFERENCE_PROFILE).read_text())
    check_profile(profile)
    sample = read_parquet_frame(registry.download_artifact(run_id, Artifact.REFERENCE_SAMPLE))
    start, end = window(config, ds)
    current, _ = read_range(storage, Dataset.FEATURES, config.name, start, end, columns=config.features.all)
    report = drift_from_profile(
        profile,
        current,
        sample=sample,
        overrides=config.monitoring.stattests or None,
        drift_share=config.monitoring.drift_share,
    )
    return {
        "model": config.name,
        "ds": ds,
        "champion_version": reference["version"],
        "window": f"{start}..{end}",
        "features": report.to_dict(),
        "prediction": prediction_drift(storage, registry, config, reference, ds),
    }


def check_drift_of_day(
    storage: Storage,
    registry: Any,
    config: ModelConfig,
    ds: str,
    *,
    reference: Reference | None = None,
    quality: QualityResult | None = None,
) -> DriftResult | None:
    """``check_drift`` for day ``ds`` against ``reference`` (default: the current champion's).

    None without comparing anything when ``quality`` (the same window's check) failed: drift
    numbers mean nothing on broken data.
    """
    if quality is not None and quality["failed"]:
        return None
    if reference is None:
        reference = load_reference(registry, config, ds)
    return check_drift(storage, registry, config, reference, ds)


def drift_lines(result: DriftResult) -> list[str]:
    """For the log: the dataset verdict, then each drifted column with its test and score."""
    f = result["features"]
    verdict = "dataset drift" if f["dataset_drift"] else "no dataset drift"
    lines = [
        f"{result['model']} {result['window']} vs champion v{result['champion_version']}: {verdict}, "
        f"{f['n_drifted']}/{f['n_columns']} features drifted (share {f['share_drifted']:.0%}, "
        f"threshold {f['drift_share']:.0%})"
    ]
    for c in f["columns"]:
        if c["drifted"]:
            lines.append(f"  {c['column']}: {c['stattest']} = {c['score']:.4g} (threshold {c['threshold']:g})")
    p = result["prediction"]
    if p is not None:
        state = "drifted" if p["drifted"] else "stable"
        lines.append(f"predictions ({p['rows']} rows): {p['stattest']} = {p['score']:.4g}, {state}")
    return lines


def raise_for_dataset_drift(result: DriftResult) -> None:
    """``DataError`` naming the drifted columns when the dataset drifted."""
    f = result["features"]
    if f["dataset_drift"]:
        raise DataError(
            f"{result['model']} {result['window']}: dataset drift, {f['n_drifted']} of {f['n_columns']} features "
            f"drifted ({f['share_drifted']:.0%} >= {f['drift_share']:.0%}): {', '.join(f['drifted_columns'])}"
        )
