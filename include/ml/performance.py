"""Model performance on delayed labels: predictions joined to the labels that arrived since.

A prediction in ``predictions/<model>/ds=D`` was made for a feature snapshot taken at
``(entity_id, timestamp)``. Its label says what happened after that snapshot and is published
later, in ``labels/<model>/ds=D + delay``, with the *same* ``(entity_id, timestamp)`` (the as-of
time of the snapshot, see ``include/dev/sample_data.py``). So the join is exact on both columns: a
label for another snapshot of the same entity is a different row, never a match.

* :func:`join_predictions_labels` -- one row per prediction that has a label, counts of what
  did not match in ``frame.attrs["join"]``.
* :func:`load_scored_labels` -- reads the predictions of ``[start, end)`` and the label
  partitions that can hold their labels, ``[start, end + max_label_delay_days)``, and joins.
* :func:`trailing_performance` -- metrics over the joined window (overall and per model
  version), computed by ``include.ml.evaluation.metrics_from_scores`` like hold-out metrics.
* :func:`performance_drop` -- direction-aware comparison with a reference value and a margin.
* :func:`error_stream` -- per-row errors in time order, the input of
  ``include.monitor.drift.concept.detect_concept_drift``.

numpy, pandas and sklearn are imported inside functions: DAG files may import this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from include.config import METRICS, ModelConfig
from include.contracts import PREDICTION_COLUMNS, Column, Dataset
from include.errors import PerformanceError
from include.platform.partitions import list_partitions, read_partition
from include.platform.storage import Storage

PREDICTIONS_DATASET = Dataset.PREDICTIONS
LABELS_DATASET = Dataset.LABELS
# Labels of a snapshot arrive at most this many days after it (the sample data uses 7; churn
# within 30 days can take up to 30). Label partitions later than this are not read.
DEFAULT_MAX_LABEL_DELAY_DAYS = 30


def _to_utc(series: Any) -> Any:
    import pandas as pd

    return pd.to_datetime(series, utc=True).astype("datetime64[ns, UTC]")


def _require(frame: Any, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PerformanceError(f"{what} lack column(s) {missing}; they have {list(frame.columns)}")


def join_predictions_labels(predictions: Any, labels: Any, config: ModelConfig) -> Any:
    """Predictions with their label: inner join on ``(entity_id, timestamp)``, exactly.

    Timestamps are compared as UTC instants (a label written in another time zone still
    matches). A label repeated for the same snapshot keeps its last row (the latest
    publication), so each prediction appears at most once. Labels without a target value are
    dropped. The result is sorted by timestamp and carries ``attrs["join"]``:
    ``predictions``, ``labels``, ``matched``, ``predictions_without_label`` (label not arrived or
    lost), ``labels_without_prediction`` (snapshot not scored, e.g. quarantined),
    ``labels_missing_target`` and ``duplicate_labels_dropped``.
    """
    key, ts, target = config.entity_id, config.timestamp, config.target
    _require(predictions, [key, ts, Column.SCORE], Dataset.PREDICTIONS)
    _require(labels, [key, ts, target], Dataset.LABELS)
    preds = predictions.drop(columns=[target], errors="ignore").copy()
    labs = labels[[key, ts, target]].copy()
    preds[ts] = _to_utc(preds[ts])
    labs[ts] = _to_utc(labs[ts])
    missing_target = labs[target].isna()
    labs = labs[~missing_target]
    deduped = labs.drop_duplicates([key, ts], keep="last")
    duplicates = len(labs) - len(deduped)
    flagged = preds.merge(deduped, on=[key, ts], how="left", indicator="_match", validate="many_to_one")
    matched_mask = (flagged["_match"] == "both").to_numpy()
    joined = flagged[matched_mask].drop(columns=["_match"])
    joined = joined.sort_values([ts, key], kind="stable").reset_index(drop=True)
    used = deduped.merge(preds[[key, ts]].drop_duplicates(), on=[key, ts], how="left", indicator="_match")
    joined.attrs["join"] = {
        "predictions": len(preds),
        "labels": len(labels),
        "matched": len(joined),
        "predictions_without_label": int((~matched_mask).sum()),
        "labels_without_prediction": int((used["_match"] == "left_only").sum()),
        "labels_missing_target": int(missing_target.sum()),
        "duplicate_labels_dropped": int(duplicates),
    }
    return joined


def _read_dataset(storage: Storage, dataset: str, model: str, dates: list[str], column: str) -> Any:
    """Partitions concatenated, each row tagged with the partition date in ``column``."""
    import pandas as pd

    frames = []
    for ds in dates:
        frame = read_partition(storage, dataset, model, ds)
        if len(frame):
            frames.append(frame.assign(**{column: ds}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_scored_labels(
    storage: Storage,
    config: ModelConfig,
    start: str | dt.date,
    end: str | dt.date,
    max_label_delay_days: int = DEFAULT_MAX_LABEL_DELAY_DAYS,
) -> Any:
    """Predictions of partitions ``[start, end)`` joined to the labels that have arrived.

    Labels are read from ``labels/<model>/ds`` in ``[start, end + max_label_delay_days)``;
    a label published later than that is not seen. The frame has the prediction columns, the
    target, ``ds`` (prediction partition) and ``label_ds`` (label partition);
    ``attrs["join"]`` has the join counts (see :func:`join_predictions_labels`) plus the
    partitions read and ``labels_without_prediction_in_window``: unmatched labels whose
    timestamp falls inside the span of the predictions read (labels outside it belong to
    predictions of other windows and are expected not to match).
    """
    import pandas as pd

    start = dt.date.fromisoformat(str(start)) if not isinstance(start, dt.date) else start
    end = dt.date.fromisoformat(str(end)) if not isinstance(end, dt.date) else end
    if end <= start:
        raise PerformanceError(f"empty window: end {end} must be after start {start}")
    if not isinstance(max_label_delay_days, int) or max_label_delay_days < 0:
        raise PerformanceError(f"max_label_delay_days must be an integer >= 0, got {max_label_delay_days!r}")
    key, ts, target = config.entity_id, config.timestamp, config.target
    label_end = end + dt.timedelta(days=max_label_delay_days)
    prediction_dates = list_partitions(storage, PREDICTIONS_DATASET, config.name, start, end)
    label_dates = list_partitions(storage, LABELS_DATASET, config.name, start, label_end)
    predictions = _read_dataset(storage, PREDICTIONS_DATASET, config.name, prediction_dates, "ds")
    labels = _read_dataset(storage, LABELS_DATASET, config.name, label_dates, "label_ds")
    if predictions.empty:
        predictions = pd.DataFrame(columns=[key, ts, *PREDICTION_COLUMNS, "ds"])
    if labels.empty:
        labels = pd.DataFrame(columns=[key, ts, target, "label_ds"])
    _require(labels, [key, ts, target], f"label partitions {label_dates}")
    _require(predictions, [key, ts, "score"], f"prediction partitions {prediction_dates}")
    # Carry the label partition date through the join (the last publication wins, as for the target).
    label_ds = labels[[key, ts, "label_ds"]].assign(**{ts: _to_utc(labels[ts])})
    label_ds = label_ds[labels[target].notna().to_numpy()].drop_duplicates([key, ts], keep="last")
    joined = join_predictions_labels(predictions, labels, config)
    stats = dict(joined.attrs["join"])
    joined = joined.merge(label_ds, on=[key, ts], how="left")
    in_window = 0
    if len(predictions) and len(labels):
        pred_ts = _to_utc(predictions[ts])
        lab = labels[labels[target].notna()][[key, ts]].assign(**{ts: _to_utc(labels[ts])}).drop_duplicates()
        lab = lab[(lab[ts] >= pred_ts.min()) & (lab[ts] <= pred_ts.max())]
        seen = lab.merge(predictions[[key, ts]].assign(**{ts: pred_ts}).drop_duplicates(), how="left", indicator=True)
        in_window = int((seen["_merge"] == "left_only").sum())
    stats.update(
        {
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "labels_read_until": label_end.isoformat(),
            "prediction_partitions": prediction_dates,
            "label_partitions": label_dates,
            "labels_without_prediction_in_window": in_window,
        }
    )
    joined.attrs["join"] = stats
    return joined


def _metric_config(config: ModelConfig, metric: str | None) -> tuple[ModelConfig, str]:
    metric = metric or config.evaluation.primary_metric
    known = METRICS[config.task]
    if metric not in known:
        raise PerformanceError(f"unknown {config.task} metric {metric!r}; known: {sorted(known)}")
    if metric in config.evaluation.metrics:
        return config, metric
    evaluation = dataclasses.replace(config.evaluation, metrics=[*config.evaluation.metrics, metric])
    return dataclasses.replace(config, evaluation=evaluation), metric


def _clean(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _evaluable(joined: Any, config: ModelConfig) -> Any:
    _require(joined, [config.timestamp, config.target, "score"], "joined predictions")
    ok = joined[config.target].notna() & joined["score"].notna()
    return joined[ok.to_numpy()]


def trailing_performance(joined: Any, config: ModelConfig, metric: str | None = None) -> dict[str, Any]:
    """The metric (default: the primary one) over every labelled prediction of the window.

    ``value`` is ``None`` when undefined (no rows, or one class only for ROC AUC). ``metrics``
    holds every configured metric; ``by_model_version`` the same per model version, since a
    window can span a promotion.
    """
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    from include.ml.evaluation import metrics_from_scores

    config, metric = _metric_config(config, metric)
    rows = _evaluable(joined, config)
    target, ts = config.target, config.timestamp

    def summarize(part: Any) -> dict[str, Any]:
        if part.empty:
            values = dict.fromkeys(config.evaluation.metrics, float("nan"))
        else:
            with warnings.catch_warnings():  # undefined metrics (one class) are reported as None
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                values = metrics_from_scores(config, part[target].to_numpy(), part["score"].to_numpy())
        out: dict[str, Any] = {"rows": len(part), "value": _clean(values[metric])}
        out["metrics"] = {name: _clean(v) for name, v in values.items()}
        if config.task == "classification" and len(part):
            out["positive_rate"] = float(part[target].astype(float).mean())
        return out

    result: dict[str, Any] = {
        "metric": metric,
        "higher_is_better": METRICS[config.task][metric],
        **summarize(rows),
        "rows_without_label_or_score": len(joined) - len(rows),
    }
    if len(rows):
        stamps = _to_utc(rows[ts])
        result["first_timestamp"] = stamps.min().isoformat()
        result["last_timestamp"] = stamps.max().isoformat()
    by_version: dict[str, Any] = {}
    if "model_version" in rows.columns:
        versions = rows["model_version"].astype("object").where(rows["model_version"].notna(), "unknown")
        for version in sorted(versions.unique(), key=str):
            by_version[str(version)] = summarize(rows[(versions == version).to_numpy()])
    result["by_model_version"] = by_version
    if "join" in joined.attrs:
        result["join"] = dict(joined.attrs["join"])
    return result


PERFORMANCE_DROP_MODES = ("absolute", "relative")


def _unknown(message: str) -> dict[str, Any]:
    return {"drop": None, "relative_drop": None, "flagged": False, "status": "unknown", "message": message}


def performance_drop(
    current: float | None,
    reference: float | None,
    metric: str,
    config: ModelConfig,
    margin: float,
    mode: str = "absolute",
) -> dict[str, Any]:
    """How much worse ``current`` is than ``reference``, whichever way the metric points.

    ``drop`` is positive when performance got worse, in the metric's units: ``reference -
    current`` for a metric where higher is better (ROC AUC), ``current - reference`` where lower
    is better (log loss, RMSE). ``relative_drop`` is ``drop / |reference|``. ``mode`` says which
    of the two ``margin`` bounds: "absolute" (``drop > margin``: e.g. 1.5 minutes of RMSE) or
    "relative" (``relative_drop > margin``: e.g. 0.2, 20% worse). Never flagged when either
    value is missing (NaN/None), nor in relative mode on a reference of 0; ``status`` is
    "unknown" then.
    """
    known = METRICS[config.task]
    if metric not in known:
        raise PerformanceError(f"unknown {config.task} metric {metric!r}; known: {sorted(known)}")
    if not isinstance(margin, (int, float)) or isinstance(margin, bool) or margin < 0:
        raise PerformanceError(f"margin must be a number >= 0, got {margin!r}")
    if mode not in PERFORMANCE_DROP_MODES:
        raise PerformanceError(f"mode must be one of {list(PERFORMANCE_DROP_MODES)}, got {mode!r}")
    higher = known[metric]
    current_v, reference_v = _clean(current), _clean(reference)
    out: dict[str, Any] = {
        "metric": metric,
        "higher_is_better": higher,
        "current": current_v,
        "reference": reference_v,
        "margin": float(margin),
        "mode": mode,
    }
    if current_v is None or reference_v is None:
        missing = "current" if current_v is None else "reference"
        return out | _unknown(f"{metric}: no {missing} value to compare (too few labelled rows?)")
    drop = reference_v - current_v if higher else current_v - reference_v
    relative = drop / abs(reference_v) if reference_v else None
    if mode == "relative" and relative is None:
        message = f"{metric}: a drop relative to a reference of 0 is undefined (use performance_drop_mode: absolute)"
        return out | _unknown(message) | {"drop": float(drop)}
    measured = drop if mode == "absolute" else relative
    flagged = measured is not None and measured > margin
    said = f"{drop:+.4f}" if mode == "absolute" else f"{drop:+.4f} ({measured:+.1%} relative)"
    limit = f"{margin:.4f}" if mode == "absolute" else f"{margin:.1%} (relative)"
    message = (
        f"{metric} ({'higher' if higher else 'lower'} is better) went from {reference_v:.4f} (reference) "
        f"to {current_v:.4f}: drop {said} {'exceeds' if flagged else 'within'} margin {limit}"
    )
    out.update(
        {
            "drop": float(drop),
            "relative_drop": float(relative) if relative is not None else None,
            "flagged": bool(flagged),
            "status": "degraded" if flagged else "ok",
            "message": message,
        }
    )
    return out


def error_stream(joined: Any, config: ModelConfig) -> Any:
    """Per-row errors ordered by timestamp (ties by entity id), rows without label/score skipped.

    Classification: 1 where ``score >= 0.5`` disagrees with the target, else 0 (int8).
    Regression: ``|score - target|`` (float64).
    """
    import numpy as np

    from include.ml.evaluation import DECISION_THRESHOLD

    rows = _evaluable(joined, config)
    if rows.empty:
        return np.array([], dtype="int8" if config.task == "classification" else "float64")
    rows = rows.assign(_ts=_to_utc(rows[config.timestamp])).sort_values(["_ts", config.entity_id], kind="stable")
    scores = rows["score"].to_numpy(dtype="float64")
    target = rows[config.target].to_numpy(dtype="float64")
    if config.task == "classification":
        return ((scores >= DECISION_THRESHOLD).astype("int8") != target.astype("int8")).astype("int8")
    return np.abs(scores - target)
