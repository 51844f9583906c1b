"""Per published date: a scoring run (distribution, counts) and a shadow run on the challenger.

Runs are keyed by date and model version, so rescoring a date updates its runs instead of
adding evidence twice. A dry run published nothing and records nothing.
"""

from __future__ import annotations

from typing import Any

from include.config import ModelConfig
from include.contracts import RunKind, Tag
from include.score.payloads import (
    DateSummary,
    PinnedModels,
    PredictionsEvent,
    PublishResult,
    RecordedRuns,
    RecordResult,
    ShadowSummary,
)


def _metrics(summary: DateSummary) -> dict[str, float]:
    """The summary's numbers (not the flags, lists or nested dicts)."""
    return {
        k: float(v)
        for k, v in summary.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None
    }


def _record_shadow(
    registry: Any,
    experiment: str,
    ds: str,
    shadow: ShadowSummary,
    champion_version: str,
    run_id: str,
    canary_share: float | None = None,
) -> str:
    metrics = {f"shadow_{k}": float(v) for k, v in shadow.items() if k != "version" and isinstance(v, (int, float))}
    tags = {
        Tag.KIND: RunKind.SHADOW,
        Tag.DS: ds,
        Tag.SHADOW_VERSION: shadow["version"],
        Tag.SHADOW_CHAMPION_VERSION: champion_version,
        Tag.AIRFLOW_RUN_ID: run_id,
    }
    if canary_share is not None:  # the share this date was published at: a canary step's evidence
        tags[Tag.CANARY_SHARE] = f"{canary_share:g}"
    key, name = f"shadow/{ds}/v{shadow['version']}", f"shadow {ds} v{shadow['version']}"
    return registry.upsert_run(experiment, key, name, tags, metrics)


def _record_date(
    registry: Any,
    experiment: str,
    ds: str,
    summary: DateSummary,
    version: str,
    run_id: str,
    canary_share: float | None = None,
) -> RecordedRuns:
    tags = {Tag.KIND: RunKind.SCORING, Tag.DS: ds, Tag.MODEL_VERSION: version, Tag.AIRFLOW_RUN_ID: run_id}
    scoring_run = registry.upsert_run(experiment, f"scoring/{ds}/v{version}", f"score {ds}", tags, _metrics(summary))
    recorded: RecordedRuns = {"scoring_run_id": scoring_run}
    shadow = summary.get("shadow")
    if shadow:
        recorded["shadow_run_id"] = _record_shadow(registry, experiment, ds, shadow, version, run_id, canary_share)
    return recorded


def predictions_event(pinned: PinnedModels, published: PublishResult) -> PredictionsEvent:
    """The predictions asset event's ``extra``: the dates published and the champion's version."""
    return {"dates": sorted(published["dates"]), "model_version": pinned["champion"]["version"]}


def record_scoring_runs(
    registry: Any, config: ModelConfig, pinned: PinnedModels, published: PublishResult, run_id: str
) -> RecordResult:
    """Record every published date to MLflow; the asset event's extra (None in a dry run)."""
    if published.get("dry_run"):
        return {"dry_run": True, "runs": {}, "asset_extra": None}
    experiment = registry.experiment_id(config.name)
    version = pinned["champion"]["version"]
    canary = pinned.get("canary")
    share = canary["share"] if canary else None
    runs = {
        ds: _record_date(registry, experiment, ds, s, version, run_id, share) for ds, s in published["dates"].items()
    }
    return {"dry_run": False, "runs": runs, "asset_extra": predictions_event(pinned, published)}
