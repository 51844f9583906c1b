"""The scoring contract: what a model's training data looked like, written by retrain next to
the model (``contracts.Artifact.SCORING_CONTRACT``) and read by batch scoring (row checks) and
monitoring (quality checks)."""

from __future__ import annotations

import json
from typing import Any

from include.config import ModelConfig
from include.contracts import Artifact
from include.errors import DataError, RegistryStateError
from include.platform.registry import ModelRef

# The most frequent categories kept per column when there are too many to list.
_MAX_CATEGORIES = 1000


def scoring_contract(config: ModelConfig, frame: Any, holdout_scores: Any = None) -> dict:
    """What training data looked like, for batch scoring to check its inputs against.

    With ``holdout_scores`` (the model's predictions on its hold-out) the contract also holds
    ``score_min`` / ``score_max``, the range they covered: batch scoring bins a regressor's
    score histogram over it (include/score/summary.py).
    """
    import numpy as np
    import pandas as pd

    columns = [config.entity_id, config.timestamp, *config.features.all]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"training frame is missing column(s) {missing}")

    def number(value: Any) -> float | None:
        return None if pd.isna(value) else float(value)

    features: dict[str, dict] = {}
    for column in config.features.all:
        series = frame[column]
        spec: dict[str, Any] = {
            "kind": "numeric" if column in config.features.numeric else "categorical",
            "dtype": str(series.dtype),
            "null_fraction": float(series.isna().mean()) if len(series) else 0.0,
        }
        if spec["kind"] == "numeric":
            values = pd.to_numeric(series, errors="coerce")
            q01, q99 = values.quantile([0.01, 0.99]) if values.notna().any() else (None, None)
            spec |= {"min": number(values.min()), "max": number(values.max())}
            spec |= {"q01": number(q01), "q99": number(q99)}
        else:
            counts = series.dropna().astype(str).value_counts()
            # The most frequent categories when there are too many to list.
            spec["categories"] = sorted(counts.index[:_MAX_CATEGORIES])
            spec["n_categories"] = len(counts)
        features[column] = spec
    contract: dict[str, Any] = {
        "model": config.name,
        "row_count": len(frame),
        "columns": columns,
        "features": features,
    }
    if holdout_scores is not None:
        scores = np.asarray(holdout_scores, dtype="float64")
        scores = scores[np.isfinite(scores)]
        if len(scores):
            contract |= {"score_min": float(scores.min()), "score_max": float(scores.max())}
    return contract


def load_contract(registry: Any, ref: ModelRef) -> dict[str, Any]:
    """The scoring contract logged with ``ref``'s training run."""
    try:
        return json.loads(registry.download_artifact(ref.run_id, Artifact.SCORING_CONTRACT).read_text())
    except Exception as exc:
        raise RegistryStateError(f"{ref.uri} has no scoring contract ({Artifact.SCORING_CONTRACT}): {exc}") from exc
