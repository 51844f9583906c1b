"""Reproduce a registered version from its recorded lineage, and say whether it came out the same.

``reproduce`` reads the version's training run (``include/retrain/lineage.py``), pulls the same
window point-in-time with the code path retrain uses (``pull_training_data``: labels that
arrived in the window, features as of each label), splits and fits with the recorded config
snapshot and its seed (not today's YAML), scores the hold-out and compares (``comparison.py``):
the data hash, the config, the code and library versions, the hold-out predictions against the
recorded hold-out scores (bit for bit) and the hold-out metrics.

It registers nothing and moves no alias. It writes the report as JSON under
``reports/<model>/reproduce/version=<v>/report.json`` and logs an MLflow run in the model's
experiment (``Tag.KIND`` = ``RunKind.REPRODUCTION``) with the verdict, the numbers and the report.

Also a CLI (``MLOPS_DATA_ROOT`` and ``MLFLOW_TRACKING_URI`` as the DAGs use them)::

    python -m include.retrain.reproduce churn 3 --reason "audit"

exit status 0 when identical, 1 when it differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from typing import Any

from include.config import ModelConfig
from include.contracts import Artifact, RunKind, Tag, report_prefix
from include.platform.registry import ModelRegistry, code_version
from include.platform.storage import Storage
from include.retrain import comparison
from include.retrain.lineage import Lineage, checked_version, read_lineage
from include.retrain.tracking import log_run_json, log_run_metrics
from include.retrain.train import config_hash, library_versions

log = logging.getLogger(__name__)
PIPELINE = "reproduce"


def report_key(model: str, version: str) -> str:
    """``reports/<model>/reproduce/version=<v>/report.json`` (the latest reproduction of it)."""
    return f"{report_prefix(model, PIPELINE, f'version={version}')}/report.json"


def lineage_section(
    lineage: Lineage, snapshot: ModelConfig, today: ModelConfig | None, pulled: dict[str, Any], now: dict[str, Any]
) -> dict[str, Any]:
    """Recorded against now: window, seed, data hash, config, code version, library versions."""
    snapshot_hash = config_hash(snapshot)
    today_hash = config_hash(today) if today is not None else None
    return {
        "window": f"{lineage.window_start}..{lineage.window_end}",
        "seed": lineage.seed if lineage.seed is not None else snapshot.training.seed,
        "data_hash": {
            "recorded": lineage.data_hash,
            "now": pulled["data_hash"],
            "same": lineage.data_hash == pulled["data_hash"],
            "rows_recorded": lineage.rows,
            "rows_now": pulled["rows"],
        },
        "config": {
            "recorded": lineage.config_hash,
            "snapshot": snapshot_hash,
            "today": today_hash,
            "snapshot_matches_tag": None if lineage.config_hash is None else lineage.config_hash == snapshot_hash,
            "fields_changed": comparison.changed_fields(snapshot.to_dict(), today.to_dict() if today else None),
        },
        "code_version": {
            "recorded": lineage.code_version,
            "now": now["code_version"],
            "same": lineage.code_version == now["code_version"],
        },
        "libraries": {
            "recorded": lineage.libraries,
            "now": now["libraries"],
            "changed": comparison.changed_libraries(lineage.libraries, now["libraries"]),
        },
    }


def _notes(lineage: Lineage, today: ModelConfig | None) -> list[str]:
    """What could not be compared (not differences)."""
    notes = []
    if lineage.libraries is None:
        notes.append(f"library versions were not recorded at training ({Artifact.LIBRARY_VERSIONS}): not compared")
    if lineage.config_hash is None:
        notes.append(f"no config hash tag ({Tag.CONFIG_HASH}) on the training run: the snapshot was used unchecked")
    if today is None:
        notes.append("today's config could not be read: the snapshot was not compared with it")
    return notes


def build_report(
    lineage: Lineage,
    snapshot: ModelConfig,
    today: ModelConfig | None,
    pulled: dict[str, Any],
    scores: dict[str, Any],
    metrics: dict[str, float],
    now: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The reproduction report. ``pulled``: the re-pull's statistics (``data_hash``, ``rows``,
    partitions); ``scores``: the hold-out scores of the ``reproduced`` model and of the
    ``registered`` one on the same re-pulled rows; ``metrics``: the reproduced model's hold-out
    metrics; ``now``: this process's ``code_version`` and ``libraries`` (default: measured)."""
    now = now or {"code_version": code_version(), "libraries": library_versions()}
    lineage_now = lineage_section(lineage, snapshot, today, pulled, now)
    predictions = comparison.compare_scores(lineage.holdout_scores, scores["reproduced"])
    found = comparison.reasons(lineage_now, predictions)
    return {
        "model": lineage.model,
        "version": lineage.version,
        "run_id": lineage.run_id,
        "verdict": comparison.verdict(found),
        "reasons": found,
        "predictions_identical": predictions["identical"],
        "notes": _notes(lineage, today),
        "lineage": lineage_now,
        "data": {k: pulled.get(k) for k in ("label_partitions", "feature_partitions", "labels_read")},
        "predictions": predictions,
        # The registered model against the reproduced one on the same re-pulled hold-out rows:
        # when the data changed, whether the retrained model itself differs.
        "registered_model": comparison.compare_scores(scores["registered"], scores["reproduced"]),
        "metrics": comparison.compare_metrics(lineage.metrics, metrics),
    }


def refit(storage: Storage, lineage: Lineage, snapshot: ModelConfig) -> dict[str, Any]:
    """Re-pull the window, fit with the snapshot and its seed, score the hold-out: the re-pull's
    statistics (``pulled``), the ``holdout`` rows, the ``model``, its ``scores`` and ``metrics``."""
    from include.ml.evaluation import metrics_from_scores, predict_scores
    from include.ml.training import fit, split_holdout
    from include.retrain.features import TrainingWindow, pull_training_data

    window = TrainingWindow(dt.date.fromisoformat(lineage.window_start), dt.date.fromisoformat(lineage.window_end))
    frame, stats = pull_training_data(storage, snapshot, window)
    train_part, holdout = split_holdout(snapshot, frame)
    model = fit(snapshot, train_part)
    scores = predict_scores(snapshot, model, holdout)
    metrics = metrics_from_scores(snapshot, holdout[snapshot.target], scores)
    return {"pulled": stats.to_dict(), "holdout": holdout, "model": model, "scores": scores, "metrics": metrics}


def log_reproduction(registry: ModelRegistry, report: dict[str, Any], actor: str) -> str:
    """A finished MLflow run in the model's experiment: tags, numbers and the report; its id."""
    model, version = report["model"], report["version"]
    tags = {
        Tag.KIND: RunKind.REPRODUCTION,
        Tag.MODEL: model,
        Tag.MODEL_VERSION: version,
        Tag.REPRODUCED_RUN: report["run_id"],
        Tag.REPRODUCTION_VERDICT: report["verdict"],
        Tag.ACTOR: actor,
    }
    client = registry.client
    run_id = client.create_run(registry.experiment_id(model), run_name=f"reproduce v{version}", tags=tags).info.run_id
    try:
        scores, data = report["predictions"], report["lineage"]["data_hash"]
        numbers = {f"holdout_{k}": v["reproduced"] for k, v in report["metrics"].items()}
        numbers.update(
            predictions_identical=float(report["predictions_identical"]),
            data_hash_same=float(data["same"]),
            max_abs_diff=scores["max_abs_diff"],
            share_differing=scores["share_differing"],
        )
        log_run_metrics(registry, run_id, numbers)
        log_run_json(registry, run_id, Artifact.REPRODUCTION_REPORT, report)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id)
    return str(run_id)


def reproduce(
    storage: Storage,
    registry: ModelRegistry,
    model: str,
    version: Any,
    *,
    today: ModelConfig | None = None,
    reason: str = "",
    actor: str = "",
) -> dict[str, Any]:
    """Retrain ``model`` v``version`` from its lineage and compare; the report (stored and logged).

    ``today``: the model's current config, compared with the recorded snapshot. Unknown version,
    or one without lineage: ``RegistryStateError`` / ``LineageError`` at once (not retried)."""
    from include.config import parse_config
    from include.ml.evaluation import predict_scores

    lineage = read_lineage(registry, model, checked_version(version))
    snapshot = parse_config(lineage.config, source=f"{model} v{lineage.version} {Artifact.MODEL_CONFIG}")
    redone = refit(storage, lineage, snapshot)
    registered = registry.load_version(model, lineage.version, snapshot.skops_trusted_types)
    scores = {"reproduced": redone["scores"], "registered": predict_scores(snapshot, registered, redone["holdout"])}
    report = build_report(lineage, snapshot, today, redone["pulled"], scores, redone["metrics"])
    key = report_key(model, lineage.version)
    report.update(reason=reason or "", actor=actor, report_uri=storage.uri(key))
    report["reproduction_run_id"] = log_reproduction(registry, report, actor)
    storage.write_text(key, json.dumps(report, indent=2, default=str))
    log.info("%s; report: %s", comparison.summary_line(report), report["report_uri"])
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.retrain.reproduce", description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("version", help="the registered version to reproduce, e.g. 3")
    parser.add_argument("--reason", default="", help="recorded with the report")
    args = parser.parse_args(argv)
    from include.config import get_config
    from include.errors import ConfigError
    from include.platform.storage import get_storage

    try:
        today: ModelConfig | None = get_config(args.model)
    except ConfigError:
        today = None
    report = reproduce(
        get_storage(), ModelRegistry(), args.model, args.version, today=today, reason=args.reason, actor="cli:reproduce"
    )
    print(json.dumps({k: report[k] for k in ("verdict", "reasons", "notes", "report_uri")}, indent=2))
    return 0 if report["verdict"] == comparison.IDENTICAL else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
