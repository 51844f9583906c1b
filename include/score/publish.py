"""Publish a scoring run: check the whole partition per date, then commit, or discard it all.

Every date is checked (quarantine share, null rates against training) before anything is
committed. A failure (or a dry run) removes the run's files and leaves the previous partitions
intact; otherwise the predictions, quarantine and shadow partitions of each date are replaced
atomically with their manifests. A rerun of a date replaces its partition whole.

Two runs of one date may overlap (manual runs, backfills, ``dags test``: ``max_active_runs``
does not hold them). Each run's files carry its own token, and a commit deletes only the files
of the manifest it replaces, its own leftovers and orphans older than
``include.platform.partitions.ORPHAN_AGE``: never the unpublished files of the other run. The
later commit wins; its result names the run it replaced (``replaced``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from include.config import ModelConfig
from include.contracts import PREDICTION_COLUMNS
from include.errors import ScoringInputError
from include.ml.contract import load_contract
from include.platform.failpoints import failpoint
from include.platform.partitions import ORPHAN_AGE, commit_partition, partition_prefix, read_manifest, sweep
from include.platform.registry import ModelRef
from include.platform.storage import Storage
from include.score.checks import REASON
from include.score.payloads import DateSummary, InputFile, PartFile, PinnedModels, PlannedUnit, PublishResult, UnitStats
from include.score.pinning import pinned_ref
from include.score.summary import summarize_date
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW, remove_temporary, run_token


def discard(storage: Storage, config: ModelConfig, dates: list[str], run_id: str) -> int:
    """Remove this run's unpublished files (a failed publish leaves nothing half-written)."""
    token = run_token(run_id)
    removed = 0
    for dataset in (PREDICTIONS, SHADOW, QUARANTINE):
        for ds in dates:
            prefix = partition_prefix(dataset, config.name, ds)
            manifest = read_manifest(storage, dataset, config.name, ds)
            committed = {f["name"] for f in manifest.files} if manifest else set()
            names = {k: k.rsplit("/", 1)[-1] for k in storage.list(prefix)}
            keys = [k for k, n in names.items() if n.startswith(f"part-{token}-") and n not in committed]
            storage.delete(keys)
            remove_temporary(storage, prefix, f".part-{token}-")
            removed += len(keys)
    return removed


def _meta_for(dataset: str, meta: dict[str, Any], config: ModelConfig) -> dict[str, Any]:
    """Manifest metadata per output: the shadow output is the challenger's, quarantine keeps inputs."""
    if dataset == SHADOW:
        shadow = meta["summary"].get("shadow") or {}
        return {**meta, "model_version": shadow.get("version"), "champion_version": meta["model_version"]}
    if dataset == QUARANTINE:
        return {**meta, "schema": [config.entity_id, config.timestamp, *config.features.all, REASON]}
    return meta


def _date_meta(
    config: ModelConfig, champion: ModelRef, run_id: str, ds: str, files: list[InputFile], summary: DateSummary
) -> dict[str, Any]:
    """The manifest metadata of one date's predictions: model, lineage, schema, summary."""
    inputs = [{"key": f["key"], "rows": f["rows"], "sha256": f["sha256"]} for f in files if f["ds"] == ds]
    return {
        "model_name": champion.name,
        "model_version": champion.version,
        "model_run_id": champion.run_id,
        "run_id": run_id,
        "data_window": ds,
        "inputs": inputs,
        "schema": [config.entity_id, config.timestamp, *PREDICTION_COLUMNS],
        "summary": {k: v for k, v in summary.items() if k != "problems"},
    }


def _commit_date(
    storage: Storage, config: ModelConfig, ds: str, unit_stats: list[UnitStats], token: str, meta: dict[str, Any]
) -> None:
    """Commit one date's predictions, quarantine and shadow partitions (and clean leftovers)."""
    for dataset in (PREDICTIONS, QUARANTINE, SHADOW):
        prefix = partition_prefix(dataset, config.name, ds)
        entries: list[PartFile] = [
            entry for s in unit_stats if s["ds"] == ds and (entry := (s.get("files") or {}).get(dataset))
        ]
        if dataset == PREDICTIONS or entries or read_manifest(storage, dataset, config.name, ds):
            entries = sorted(entries, key=lambda e: e["name"])
            files = cast(list[dict[str, Any]], entries)
            commit_partition(storage, dataset, config.name, ds, files, token, _meta_for(dataset, meta, config))
        else:  # nothing to publish here: only this run's leftovers (and old orphans) to remove
            sweep(storage, prefix, set(), token)
        if dataset == PREDICTIONS:
            failpoint("score.publish.after_manifest")
        # Temporary files: this run's, and other runs' only when they are orphans (never a live
        # overlapping run's file being written).
        remove_temporary(storage, prefix, f".part-{token}-")
        remove_temporary(storage, prefix, ".part-", older_than=ORPHAN_AGE)


def publish(
    storage: Storage,
    config: ModelConfig,
    units: Sequence[PlannedUnit],
    unit_stats: Sequence[UnitStats],
    contract: dict[str, Any],
    champion: ModelRef,
    *,
    run_id: str,
    dry_run: bool = False,
) -> PublishResult:
    """Check every date, then commit predictions, quarantine and shadow partitions per date."""
    stats = list(unit_stats)
    files = list({f["key"]: f for unit in units for f in unit["inputs"]}.values())
    dates = sorted({f["ds"] for f in files})
    summaries = {ds: summarize_date(config, [s for s in stats if s["ds"] == ds], contract) for ds in dates}
    problems = [f"ds={ds}: {p}" for ds, s in summaries.items() for p in s["problems"]]
    if problems or dry_run:
        discard(storage, config, dates, run_id)
        if problems:
            raise ScoringInputError(
                f"{config.name}: nothing published; input failed validation:\n- " + "\n- ".join(problems)
            )
        return {"dates": summaries, "dry_run": True}
    token = run_token(run_id)
    failpoint("score.publish.after_files")
    replaced: dict[str, str | None] = {}
    for ds in dates:
        previous = read_manifest(storage, PREDICTIONS, config.name, ds)
        replaced[ds] = previous.meta.get("run_id") if previous else None
        _commit_date(storage, config, ds, stats, token, _date_meta(config, champion, run_id, ds, files, summaries[ds]))
    return {"dates": summaries, "dry_run": False, "token": token, "replaced": replaced}


def publish_pinned(
    registry: Any,
    storage: Storage,
    config: ModelConfig,
    pinned: PinnedModels,
    units: Sequence[PlannedUnit],
    unit_stats: Sequence[UnitStats],
    *,
    run_id: str,
    dry_run: bool = False,
) -> PublishResult:
    """The ``publish`` task: the pinned champion's training contract, then :func:`publish`."""
    champion = pinned_ref(pinned["champion"])
    contract = load_contract(registry, champion)
    return publish(storage, config, units, unit_stats, contract, champion, run_id=run_id, dry_run=dry_run)
