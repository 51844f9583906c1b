"""Live performance on delayed labels against the champion's hold-out, and the labels that
arrived since it was trained."""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.config import ModelConfig
from include.contracts import Dataset
from include.monitor.payloads import PerformanceResult, QualityResult, Reference
from include.platform.partitions import list_partitions, read_manifest
from include.platform.storage import Storage


def check_performance(
    storage: Storage, config: ModelConfig, reference: Reference, ds: str, *, quality: QualityResult | None = None
) -> PerformanceResult | None:
    """Primary metric on delayed labels over the trailing window vs the champion's hold-out.

    None when ``quality`` (the checked window's) failed: the numbers would mean nothing.
    """
    if quality is not None and quality["failed"]:
        return None
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
        current["value"],
        reference["holdout_metrics"].get(metric),
        metric,
        config,
        m.max_performance_drop,
        m.performance_drop_mode,
    )
    concept = detect_concept_drift(error_stream(joined, config), m.concept_detector)
    result: PerformanceResult = {
        "rows": current["rows"],
        "metric": metric,
        "value": current["value"],
        "window": f"{start}..{end}",
    }
    result.update({k: v for k, v in drop.items() if k != "metric"})  # type: ignore[typeddict-item]
    result["concept_drift"] = concept.to_dict() | {
        "drift_detected": concept.drift_detected,
        "first_increase_at": _row_time(joined, config, concept.first_increase),
    }
    return result


def _row_time(joined: Any, config: ModelConfig, row: int | None) -> str | None:
    """The timestamp of row ``row`` of the error stream (``error_stream``: the labelled, scored
    rows in time order), ISO 8601 UTC; None without a row."""
    if row is None:
        return None
    import pandas as pd

    labelled = joined[(joined[config.target].notna() & joined["score"].notna()).to_numpy()]
    times = pd.to_datetime(labelled[config.timestamp], utc=True).sort_values(ignore_index=True)
    return times.iloc[row].isoformat() if row < len(times) else None


def new_labels_since(storage: Storage, config: ModelConfig, since: str | None, ds: str) -> int:
    """Labelled rows that arrived after the champion's training window, up to the run's day."""
    end = dt.date.fromisoformat(ds) + dt.timedelta(days=1)
    dates = list_partitions(storage, Dataset.LABELS, config.name, since, end)
    return sum(m.rows for m in (read_manifest(storage, Dataset.LABELS, config.name, d) for d in dates) if m)
