"""Evaluate stage: the candidate and the current champion on the same hold-out, plus slices,
latency and size; every number logged to the candidate's training run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from include.config import ModelConfig
from include.contracts import CHAMPION_ALIAS, Artifact
from include.ml import model_card
from include.platform.parquet import frame_to_parquet, read_parquet_frame
from include.platform.registry import ModelRegistry, metric_key
from include.platform.storage import Storage
from include.retrain.payloads import Evaluation, TrainedRun
from include.retrain.tracking import log_run_bytes, log_run_json, log_run_metrics


def evaluation_metrics(config: ModelConfig, evaluation: Evaluation) -> dict[str, float]:
    """The evaluation as flat MLflow metric names (``holdout_<metric>``, ``slice.<col>.<value>.<metric>``,
    ``champion_holdout_<metric>``)."""
    metrics = {f"holdout_{k}": v for k, v in evaluation["metrics"].items()}
    metrics["latency_ms_per_1k"] = evaluation["latency_ms_per_1k"]
    metrics["model_size_mb"] = evaluation["size_mb"]
    for value, numbers in evaluation["slices"].items():
        for name, number in numbers.items():
            metrics[metric_key(f"slice.{config.evaluation.slice_column}.{value}.{name}")] = number
    champion = evaluation["champion"]
    if champion:
        metrics.update({f"champion_holdout_{k}": v for k, v in champion["metrics"].items()})
    return metrics


def evaluate_candidate(
    storage: Storage, registry: ModelRegistry, config: ModelConfig, trained: TrainedRun
) -> Evaluation:
    """Challenger and current champion on the same hold-out; logged to the training run."""
    import pandas as pd

    from include.ml import evaluation

    holdout = read_parquet_frame(storage.read_bytes(trained["holdout_key"]))
    model = registry.load_model(trained["model_uri"], config.skops_trusted_types)
    result = Evaluation(
        metrics=evaluation.holdout_metrics(config, model, holdout),
        slices=evaluation.slice_metrics(config, model, holdout),
        latency_ms_per_1k=evaluation.latency_ms_per_1k(config, model, holdout),
        size_mb=evaluation.model_size_mb(model),
        holdout_rows=len(holdout),
        champion=None,
    )
    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is not None and champion.run_id != trained["run_id"]:
        champion_model = registry.load_version(config.name, champion.version, config.skops_trusted_types)
        result["champion"] = {
            "version": champion.version,
            "metrics": evaluation.holdout_metrics(config, champion_model, holdout),
        }
    run_id = trained["run_id"]
    log_run_metrics(registry, run_id, evaluation_metrics(config, result))
    log_run_json(registry, run_id, Artifact.EVALUATION, result)
    # The hold-out score distribution: the baseline for prediction drift.
    scores = pd.DataFrame({"score": evaluation.predict_scores(config, model, holdout)})
    log_run_bytes(registry, run_id, Artifact.HOLDOUT_SCORES, frame_to_parquet(scores))
    with tempfile.TemporaryDirectory() as tmp:
        for name, png in model_card.plots(config, model, holdout).items():
            (Path(tmp) / name).write_bytes(png)
        registry.client.log_artifacts(run_id, tmp, Artifact.MODEL_CARD_DIR)
    return result
