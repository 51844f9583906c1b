"""Hold-out evaluation: metrics overall and per slice, scoring latency, model size."""

from __future__ import annotations

import math
import time
from typing import Any

from include.config import ModelConfig
from include.ml.training import prepare_features

DECISION_THRESHOLD = 0.5


def predict_scores(config: ModelConfig, model: Any, frame: Any) -> Any:
    """Positive-class probability for classification, the prediction for regression."""
    features = prepare_features(config, frame)
    if config.task == "classification":
        return model.predict_proba(features)[:, 1]
    return model.predict(features)


def _classification_metrics() -> dict[str, Any]:
    from sklearn import metrics as skm

    def hard(fn: Any) -> Any:
        return lambda y, s: fn(y, (s >= DECISION_THRESHOLD).astype(int))

    return {
        "roc_auc": skm.roc_auc_score,
        "average_precision": skm.average_precision_score,
        "f1": hard(lambda y, p: skm.f1_score(y, p, zero_division=0)),
        "precision": hard(lambda y, p: skm.precision_score(y, p, zero_division=0)),
        "recall": hard(lambda y, p: skm.recall_score(y, p, zero_division=0)),
        "accuracy": hard(skm.accuracy_score),
        "log_loss": lambda y, s: skm.log_loss(y, s.clip(1e-15, 1 - 1e-15), labels=[0, 1]),
        "brier": skm.brier_score_loss,
    }


def _regression_metrics() -> dict[str, Any]:
    from sklearn import metrics as skm

    return {
        "rmse": lambda y, s: math.sqrt(skm.mean_squared_error(y, s)),
        "mae": skm.mean_absolute_error,
        "r2": skm.r2_score,
    }


def metrics_from_scores(config: ModelConfig, y_true: Any, scores: Any) -> dict[str, float]:
    """Every configured metric; NaN where a metric is undefined (e.g. one class in a slice)."""
    import numpy as np

    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype="float64")
    functions = _classification_metrics() if config.task == "classification" else _regression_metrics()
    out: dict[str, float] = {}
    for name in config.evaluation.metrics:
        try:
            out[name] = float(functions[name](y_true, scores))
        except ValueError:  # e.g. ROC AUC of a slice with one class
            out[name] = float("nan")
    return out


def holdout_metrics(config: ModelConfig, model: Any, holdout: Any) -> dict[str, float]:
    """Every configured metric of ``model`` on a labelled frame (the hold-out)."""
    return metrics_from_scores(config, holdout[config.target], predict_scores(config, model, holdout))


def slice_metrics(config: ModelConfig, model: Any, holdout: Any) -> dict[str, dict[str, float]]:
    """Metrics per value of ``evaluation.slice_column`` (missing values form their own slice)."""
    column = config.evaluation.slice_column
    if not column:
        return {}
    scores = predict_scores(config, model, holdout)
    keys = holdout[column].astype("object").where(holdout[column].notna(), "__missing__")
    out = {}
    for value in sorted(keys.unique(), key=str):
        mask = (keys == value).to_numpy()
        part = metrics_from_scores(config, holdout[config.target].to_numpy()[mask], scores[mask])
        out[str(value)] = {"rows": float(mask.sum()), **part}
    return out


def latency_ms_per_1k(config: ModelConfig, model: Any, frame: Any, repeats: int = 5) -> float:
    """Wall time to score 1,000 rows on one thread, preprocessing included: best of warm runs.

    One thread and the best run, because the gate judges the model, not the machine: OpenMP
    threads of tree ensembles slow down many-fold when another process holds a core, and the
    fastest run is the one least disturbed (as ``timeit`` recommends).
    """
    from threadpoolctl import threadpool_limits

    sample = frame.sample(n=1000, replace=len(frame) < 1000, random_state=0)
    with threadpool_limits(limits=1):
        predict_scores(config, model, sample)  # warm-up
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            predict_scores(config, model, sample)
            timings.append((time.perf_counter() - start) * 1000)
    return float(min(timings))


def model_size_mb(model: Any) -> float:
    """Size of the model as it is stored (skops)."""
    from include.platform.skops_io import skops_io

    return len(skops_io().dumps(model)) / 1_000_000
