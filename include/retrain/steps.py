"""The retraining steps, Airflow-free. Each DAG task calls one of them.

Every step takes and returns small JSON-able dicts (they travel through XCom); data moves
through storage. Every step is idempotent for the same window: a rerun reuses the finished
MLflow run with the same key, the version registered from it, and its promotion.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from include.config import ModelConfig
from include.contracts import CHALLENGER_ALIAS, CHAMPION, CHAMPION_ALIAS, REJECTED, SHADOW, Artifact, Column, Tag
from include.ml import model_card
from include.notify.delivery import Notification
from include.platform import stages
from include.platform.registry import ModelRegistry, code_version, metric_key
from include.platform.storage import Storage, parquet_bytes, read_parquet_bytes
from include.retrain.features import TrainingWindow, pull_training_data
from include.retrain.gates import GateReport, evaluate_gates

PROJECT_DIR = Path(__file__).resolve().parents[2]
HEALTH_SAMPLE_ROWS = 200
EXPECTED_SCORE = Column.EXPECTED_SCORE


def resolve_window(
    config: ModelConfig,
    window_end: str | None = None,
    window_days: int | None = None,
    interval_end: dt.datetime | None = None,
    run_after: dt.datetime | None = None,
) -> TrainingWindow:
    """Window from an explicit Param, else the run's data interval, else its run_after date.

    Manual runs in Airflow 3 may have no logical date; run_after is still fixed per run, so
    the window stays the same on retries.
    """
    days = int(window_days or config.training.window_days)
    if window_end:
        try:
            end = dt.date.fromisoformat(str(window_end))
        except ValueError as exc:
            raise ValueError(f"window_end must be YYYY-MM-DD, got {window_end!r}") from exc
    elif interval_end is not None:
        end = interval_end.date()
    elif run_after is not None:
        end = run_after.date()
    else:
        raise ValueError("no window_end Param, data interval or run_after to place the training window")
    return TrainingWindow.ending(end, days)


def _prefix(config: ModelConfig, window_end: str) -> str:
    return f"training/{config.name}/window_end={window_end}"


def config_hash(config: ModelConfig) -> str:
    return hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()


def pull(storage: Storage, config: ModelConfig, window: TrainingWindow) -> dict[str, Any]:
    frame, stats = pull_training_data(storage, config, window)
    key = f"{_prefix(config, stats.window_end)}/dataset.parquet"
    storage.write_bytes(key, parquet_bytes(frame))
    return {"dataset_key": key, **stats.to_dict()}


def _flat_params(config: ModelConfig, pulled: dict[str, Any], train_rows: int, holdout_rows: int) -> dict[str, Any]:
    params = {f"estimator.{k}": v for k, v in config.estimator.params.items()}
    params.update(
        {
            "estimator.class_path": config.estimator.class_path,
            "window_start": pulled["window_start"],
            "window_end": pulled["window_end"],
            "rows": pulled["rows"],
            "train_rows": train_rows,
            "holdout_rows": holdout_rows,
            "holdout_fraction": config.training.holdout_fraction,
            "seed": config.training.seed,
            "features.numeric": ",".join(config.features.numeric),
            "features.categorical": ",".join(config.features.categorical),
        }
    )
    return params


def train(
    storage: Storage,
    registry: ModelRegistry,
    config: ModelConfig,
    pulled: dict[str, Any],
    *,
    actor: str = "",
    force: bool = False,
) -> dict[str, Any]:
    """Fit on the pulled dataset and log everything to MLflow (or reuse the same finished run)."""
    import mlflow
    from mlflow.models import infer_signature

    from include.ml.contract import scoring_contract
    from include.ml.evaluation import predict_scores
    from include.ml.training import check_trusted_types, fit, prepare_features, split_holdout
    from include.monitor.drift.profile import build_profile, reference_sample, sample_to_parquet

    run_key = f"{config.name}/{pulled['window_end']}/{pulled['data_hash'][:16]}/{config_hash(config)[:12]}"
    holdout_key = f"{_prefix(config, pulled['window_end'])}/holdout.parquet"
    if not force and (run := registry.find_run(config.name, run_key)) is not None and storage.exists(holdout_key):
        return {
            "run_id": run.info.run_id,
            "model_uri": run.data.tags[Tag.MODEL_URI],
            "holdout_key": holdout_key,
            "run_key": run_key,
            "reused": True,
        }
    frame = read_parquet_bytes(storage.read_bytes(pulled["dataset_key"]))
    train_part, holdout = split_holdout(config, frame)
    model = fit(config, train_part)
    trusted = check_trusted_types(config, model)
    storage.write_bytes(holdout_key, parquet_bytes(holdout))
    example = prepare_features(config, train_part.head(5))
    signature = infer_signature(example, predict_scores(config, model, train_part.head(5)))
    with mlflow.start_run(
        experiment_id=registry.experiment_id(config.name), run_name=f"retrain {pulled['window_end']}"
    ) as run:
        mlflow.set_tags(
            {
                Tag.RUN_KEY: run_key,
                Tag.MODEL: config.name,
                Tag.DATA_HASH: pulled["data_hash"],
                Tag.WINDOW: f"{pulled['window_start']}..{pulled['window_end']}",
                Tag.CODE_VERSION: code_version(),
                Tag.ACTOR: actor,
            }
        )
        mlflow.log_params(_flat_params(config, pulled, len(train_part), len(holdout)))
        mlflow.log_dict(config.to_dict(), Artifact.MODEL_CONFIG)
        mlflow.log_dict(pulled, Artifact.PULL_STATS)
        mlflow.log_dict(scoring_contract(config, train_part), Artifact.SCORING_CONTRACT)
        # Monitoring compares current data with this, never re-reading the training data.
        profile = build_profile(train_part, config.features.numeric, config.features.categorical)
        mlflow.log_dict(profile, Artifact.REFERENCE_PROFILE)
        sample_bytes = sample_to_parquet(reference_sample(train_part, config.features.all, seed=config.training.seed))
        _log_bytes(run.info.run_id, "drift", "reference_sample.parquet", sample_bytes)
        # A saved sample and its scores: the post-promotion health check must reproduce them.
        sample = holdout.head(HEALTH_SAMPLE_ROWS)[[config.entity_id, config.timestamp, *config.features.all]].copy()
        sample[EXPECTED_SCORE] = predict_scores(config, model, sample)
        _log_bytes(run.info.run_id, "data", "health_sample.parquet", parquet_bytes(sample))
        requirements = PROJECT_DIR / "requirements.txt"
        if requirements.exists():
            mlflow.log_artifact(str(requirements), "environment")
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=trusted,
            signature=signature,
            input_example=example,
            pyfunc_predict_fn="predict_proba" if config.task == "classification" else "predict",
            # Explicit: MLflow's inference would spawn a process that re-imports the model.
            pip_requirements=_model_requirements(),
        )
        mlflow.set_tag(Tag.MODEL_URI, info.model_uri)
    return {
        "run_id": run.info.run_id,
        "model_uri": info.model_uri,
        "holdout_key": holdout_key,
        "run_key": run_key,
        "reused": False,
    }


def _model_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "skops", "pandas", "numpy", "scipy")]


def evaluate(storage: Storage, registry: ModelRegistry, config: ModelConfig, trained: dict[str, Any]) -> dict[str, Any]:
    """Challenger and current champion on the same hold-out; logged to the training run."""
    from include.ml import evaluation

    holdout = read_parquet_bytes(storage.read_bytes(trained["holdout_key"]))
    model = registry.load_model(trained["model_uri"], config.skops_trusted_types)
    result: dict[str, Any] = {
        "metrics": evaluation.holdout_metrics(config, model, holdout),
        "slices": evaluation.slice_metrics(config, model, holdout),
        "latency_ms_per_1k": evaluation.latency_ms_per_1k(config, model, holdout),
        "size_mb": evaluation.model_size_mb(model),
        "holdout_rows": len(holdout),
        "champion": None,
    }
    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is not None and champion.run_id != trained["run_id"]:
        champion_model = registry.load_version(config.name, champion.version, config.skops_trusted_types)
        result["champion"] = {
            "version": champion.version,
            "metrics": evaluation.holdout_metrics(config, champion_model, holdout),
        }
    metrics = {f"holdout_{k}": v for k, v in result["metrics"].items()}
    metrics["latency_ms_per_1k"] = result["latency_ms_per_1k"]
    metrics["model_size_mb"] = result["size_mb"]
    for value, numbers in result["slices"].items():
        for name, number in numbers.items():
            metrics[metric_key(f"slice.{config.evaluation.slice_column}.{value}.{name}")] = number
    if result["champion"]:
        metrics.update({f"champion_holdout_{k}": v for k, v in result["champion"]["metrics"].items()})
    registry.client.log_batch(trained["run_id"], metrics=_metric_entities(metrics))
    _log_json(registry, trained["run_id"], "evaluation", "evaluation.json", result)
    # The hold-out score distribution: the baseline for prediction drift.
    import pandas as pd

    scores = pd.DataFrame({"score": evaluation.predict_scores(config, model, holdout)})
    _log_bytes(trained["run_id"], "drift", "holdout_scores.parquet", parquet_bytes(scores))
    with tempfile.TemporaryDirectory() as tmp:
        for name, png in model_card.plots(config, model, holdout).items():
            (Path(tmp) / name).write_bytes(png)
        registry.client.log_artifacts(trained["run_id"], tmp, "model_card")
    return result


def _log_bytes(run_id: str, folder: str, name: str, content: bytes) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        mlflow.log_artifact(str(path), folder, run_id=run_id)


def _log_json(registry: ModelRegistry, run_id: str, folder: str, name: str, payload: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        registry.client.log_artifact(run_id, str(path), folder)


def _metric_entities(values: dict[str, float]) -> list[Any]:
    import math
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in values.items() if v is not None and not math.isnan(float(v))]


def check_gates(
    registry: ModelRegistry, config: ModelConfig, trained: dict[str, Any], evaluated: dict[str, Any]
) -> GateReport:
    champion = evaluated.get("champion") or {}
    report = evaluate_gates(
        config,
        evaluated["metrics"],
        champion_metrics=champion.get("metrics"),
        slices=evaluated["slices"],
        latency_ms_per_1k=evaluated["latency_ms_per_1k"],
        size_mb=evaluated["size_mb"],
    )
    run_id = trained["run_id"]
    registry.client.log_batch(
        run_id, metrics=_metric_entities({f"gate.{r.name}": float(r.passed) for r in report.results})
    )
    registry.client.set_tag(run_id, Tag.GATES_PASSED, str(report.passed).lower())
    registry.client.set_tag(run_id, Tag.GATES_FAILED, ",".join(r.name for r in report.failures) or "-")
    _log_json(registry, run_id, "evaluation", "gates.json", report.to_dict())
    return report


def register(
    registry: ModelRegistry,
    config: ModelConfig,
    pulled: dict[str, Any],
    trained: dict[str, Any],
    gates: dict[str, Any],
    *,
    actor: str = "",
) -> dict[str, Any]:
    tags = {
        Tag.RUN_KEY: trained["run_key"],
        Tag.DATA_HASH: pulled["data_hash"],
        Tag.WINDOW: f"{pulled['window_start']}..{pulled['window_end']}",
        Tag.CODE_VERSION: code_version(),
        Tag.GATES_PASSED: str(gates["passed"]).lower(),
        Tag.GATES_FAILED: ",".join(gates["failed"]) or "-",
        Tag.ACTOR: actor,
    }
    version = registry.register(config.name, trained["model_uri"], trained["run_id"], tags, config.description)
    card = model_card.publish_card(registry, config, version.version)
    return {
        "version": str(version.version),
        "stage": registry.stage_of(config.name, version.version),
        "model_card": card["html"],
    }


def promote(
    registry: ModelRegistry, config: ModelConfig, registered: dict[str, Any], gates: dict[str, Any], *, actor: str = ""
) -> dict[str, Any]:
    """candidate -> challenger when every gate passed (-> champion for the very first model)."""
    name, version = config.name, registered["version"]
    current = registry.stage_of(name, version)
    if current != stages.CANDIDATE:
        return {"action": "none", "stage": current, "version": version, "reason": f"already {current}"}
    if not gates["passed"]:
        action, target, bootstrap = REJECTED, REJECTED, False
        reason = "gates failed: " + ", ".join(gates["failed"])
    elif not registry.had_champion(name):
        action, target, bootstrap = CHAMPION, CHAMPION, True
        reason = "bootstrap: first model of this name passed every gate"
    else:
        action, target, bootstrap = CHALLENGER_ALIAS, SHADOW, False
        reason = "passed every gate; shadow-scores beside the champion until promoted"
    registry.record_move(name, version, target, reason=reason, actor=actor, evidence=gates, bootstrap=bootstrap)
    model_card.publish_card(registry, config, version)  # the card shows the new stage and history
    return {"action": action, "stage": target, "version": version, "reason": reason}


def summarize(
    config: ModelConfig,
    pulled: dict[str, Any],
    trained: dict[str, Any],
    evaluated: dict[str, Any],
    gates: dict[str, Any],
    registered: dict[str, Any] | None,
    promoted: dict[str, Any] | None,
    tracking_uri: str,
) -> tuple[dict[str, Any], Notification]:
    """The run's summary (stored as JSON) and the notification that reports it."""
    summary = {
        "model": config.name,
        "window": f"{pulled['window_start']}..{pulled['window_end']}",
        "rows": pulled["rows"],
        "data_hash": pulled["data_hash"],
        "run_id": trained["run_id"],
        "reused_run": trained["reused"],
        "metrics": evaluated["metrics"],
        "champion_before": evaluated.get("champion"),
        "latency_ms_per_1k": evaluated["latency_ms_per_1k"],
        "size_mb": evaluated["size_mb"],
        "gates": gates,
        "version": (registered or {}).get("version"),
        "stage": (promoted or registered or {}).get("stage"),
        "action": (promoted or {}).get("action", "dry_run" if registered is None else "none"),
        "tracking_uri": tracking_uri,
    }
    metric = config.evaluation.primary_metric
    headline = f"{metric}={evaluated['metrics'][metric]:.4f}"
    if gates["passed"]:
        event = "success"
        subject = f"retrain {summary['window']}: v{summary['version']} -> {summary['stage']} ({headline})"
    else:
        event = "gate_failure"
        failed = ", ".join(gates["failed"])
        subject = f"retrain {summary['window']}: gates failed ({failed}); v{summary['version']} not promoted"
    failed_lines = [f"- {r['name']}: {r['detail']}" for r in gates["results"] if not r["passed"]]
    body = "\n".join(failed_lines) if failed_lines else f"all {len(gates['results'])} gates passed"
    return summary, Notification(model=config.name, event=event, subject=subject, body=body, fields=summary)
