"""Publish a scoring run: check each date's whole partition, then commit it or discard it.

Each date stands alone. A date fails when it failed at plan, when one of its units could not
read its input (score), or when its checks fail (quarantine share, null rates against training).
Every date is checked before anything is committed. A failed date's files of this run are
removed (and, on local storage, its partition folders when nothing is left in them) and its
previous partitions stay intact; each good date's predictions, quarantine and shadow
partitions are replaced atomically with their manifests. A dry run commits nothing. A rerun of
a date replaces its partition whole. The failed dates, with their stage and reasons, are in
the result; the ``check_dates`` task fails the run on them after record and notify
(:func:`check_dates`). When no date passes, nothing is committed and ``publish`` itself fails.

Two runs of one date may overlap (manual runs, backfills, ``dags test``: ``max_active_runs``
does not hold them). Each run's files carry its own token, and a commit deletes only the files
of the manifest it replaces, its own leftovers and orphans older than
``include.platform.partitions.ORPHAN_AGE``: never the unpublished files of the other run. The
later commit wins; its result names the run it replaced (``replaced``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from include.config import ModelConfig
from include.contracts import PREDICTION_COLUMNS
from include.errors import ScoringInputError
from include.ml.contract import load_contract
from include.platform.failpoints import failpoint
from include.platform.partitions import ORPHAN_AGE, commit_partition, partition_prefix, read_manifest, sweep
from include.platform.registry import ModelRef
from include.platform.storage import LocalStorage, Storage
from include.score.checks import REASON
from include.score.messages import dates_failed_message
from include.score.payloads import (
    DateFailure,
    DateSummary,
    InputFile,
    PartFile,
    PinnedModels,
    PlannedUnit,
    PublishResult,
    UnitStats,
)
from include.score.pinning import pinned_ref
from include.score.summary import summarize_date
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW, remove_temporary, run_token


def remove_empty_folder(storage: Storage, prefix: str) -> None:
    """Local storage: remove the folder of ``prefix`` (and its parents up to the root) while it
    is empty, e.g. a failed date's ``ds=`` folder that only this run's writers created. S3 has
    no folders. A folder another writer has put a file into since is not empty: it stays."""
    if not isinstance(storage, LocalStorage):
        return
    base, folder = Path(storage.root), Path(storage.local_path(prefix))
    while folder != base and base in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty, or not there
            return
        folder = folder.parent


def discard(storage: Storage, config: ModelConfig, dates: list[str], run_id: str) -> int:
    """Remove this run's unpublished files of ``dates`` (a failed date leaves nothing
    half-written), and their partition folders left empty."""
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
            remove_empty_folder(storage, prefix)
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
        commit = dataset == PREDICTIONS or entries or read_manifest(storage, dataset, config.name, ds)
        if commit:
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
        if not commit:
            remove_empty_folder(storage, prefix)  # e.g. the quarantine folder of a clean date


def _failures(
    config: ModelConfig,
    dates: list[str],
    stats: list[UnitStats],
    contract: dict[str, Any],
    failed: dict[str, DateFailure],
) -> tuple[dict[str, DateSummary], dict[str, DateFailure]]:
    """The summaries of the dates that pass, and every failed date (plan, score, publish)."""
    failures = dict(failed)
    summaries: dict[str, DateSummary] = {}
    for ds in dates:
        errors = [s["error"] for s in stats if s["ds"] == ds and s.get("error")]
        if errors:  # a unit could not read its input: the date's output is incomplete
            failures[ds] = {"stage": "score", "reasons": errors}
            continue
        summary = summarize_date(config, [s for s in stats if s["ds"] == ds], contract)
        if summary["problems"]:
            failures[ds] = {"stage": "publish", "reasons": summary["problems"]}
        else:
            summaries[ds] = summary
    return summaries, failures


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
    failed: dict[str, DateFailure] | None = None,
) -> PublishResult:
    """Check every date, then commit the predictions, quarantine and shadow partitions of each
    date that passed and discard the files of each that failed.

    :param failed: the dates that failed at plan (``ScoringPlan["failed"]``).
    :raises ScoringInputError: no date passed (nothing is committed).
    """
    stats = list(unit_stats)
    files = list({f["key"]: f for unit in units for f in unit["inputs"]}.values())
    dates = sorted({f["ds"] for f in files})
    summaries, failures = _failures(config, dates, stats, contract, failed or {})
    discard(storage, config, dates if dry_run else sorted(set(dates) & set(failures)), run_id)
    if not summaries:
        raise ScoringInputError(dates_failed_message(config.name, [], failures, dry_run))
    if dry_run:
        return {"dates": summaries, "dry_run": True, "failed": failures}
    token = run_token(run_id)
    failpoint("score.publish.after_files")
    replaced: dict[str, str | None] = {}
    for ds in sorted(summaries):
        previous = read_manifest(storage, PREDICTIONS, config.name, ds)
        replaced[ds] = previous.meta.get("run_id") if previous else None
        _commit_date(storage, config, ds, stats, token, _date_meta(config, champion, run_id, ds, files, summaries[ds]))
    return {"dates": summaries, "dry_run": False, "token": token, "replaced": replaced, "failed": failures}


def check_dates(name: str, published: PublishResult) -> None:
    """The run's last task: ScoringInputError (not retried) listing the published and the
    failed dates when any date failed; nothing when every date was published."""
    failed = published.get("failed") or {}
    if failed:
        raise ScoringInputError(dates_failed_message(name, published["dates"], failed, bool(published["dry_run"])))


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
    failed: dict[str, DateFailure] | None = None,
) -> PublishResult:
    """The ``publish`` task: the pinned champion's training contract, then :func:`publish`."""
    champion = pinned_ref(pinned["champion"])
    contract = load_contract(registry, champion)
    return publish(
        storage, config, units, unit_stats, contract, champion, run_id=run_id, dry_run=dry_run, failed=failed
    )
