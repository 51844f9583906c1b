"""Batch scoring: plan -> score units (chunked, bounded memory) -> publish atomically.

* **plan** reads only parquet footers: every input file of the run's partitions must be a
  readable parquet file with the model's columns in compatible types, else the run fails
  before anything is scored. The files' row groups are cut into at most
  ``scoring.max_parallel`` units, one mapped Airflow task each.
* **score_unit** streams its row groups in chunks of ``scoring.chunk_rows``: rows that fail a
  hard check (null key, value far outside the training range, unseen category) go to a
  quarantine file with the reason; the others are scored by the pinned champion (and by the
  challenger, into a separate shadow output). Output files are written under a token unique to
  the run and are invisible until published.
* **publish** checks the whole partition (quarantine share, null rates against training) and
  commits the manifests, or fails and removes the run's files, leaving the previous
  partition intact. A rerun of a date replaces its partition whole.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from include.config import ModelConfig
from include.contracts import CHALLENGER_ALIAS, CHAMPION_ALIAS, PREDICTION_COLUMNS, Column, Dataset, RunKind, Tag
from include.errors import ScoringInputError
from include.platform.partitions import commit_partition, partition_prefix, read_manifest, sha256
from include.platform.registry import ModelRef
from include.platform.storage import LocalStorage, Storage

log = logging.getLogger(__name__)

PREDICTIONS, SHADOW, QUARANTINE = Dataset.PREDICTIONS, Dataset.SHADOW_PREDICTIONS, Dataset.QUARANTINE
SCORE_BINS = 20  # histogram of scores in [0, 1]: enough for quantiles and drift checks
REASON = Column.QUARANTINE_REASON


def run_token(run_id: str) -> str:
    """Same for every try of one Airflow run (retries overwrite their own files)."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:16]


# -- plan ----------------------------------------------------------------------------------------
def _open_parquet(storage: Storage, key: str) -> Any:
    import io

    import pyarrow.parquet as pq

    path = storage.local_path(key)
    try:
        return pq.ParquetFile(path if path else io.BytesIO(storage.read_bytes(key)))
    except Exception as exc:  # ArrowInvalid, OSError: not parquet, truncated footer, ...
        raise ScoringInputError(f"{storage.uri(key)} is not a readable parquet file: {exc}") from exc


def _type_problem(kind: str, arrow_type: Any) -> str | None:
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return None  # an all-null column: caught by the null-rate check with numbers
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if kind == "numeric" and not (
        pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)
    ):
        return f"expected a numeric type, found {arrow_type}"
    if kind == "categorical" and not (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)):
        return f"expected a string type, found {arrow_type}"
    return None


def _check_schema(config: ModelConfig, uri: str, schema: Any) -> None:
    names = set(schema.names)
    required = [config.entity_id, config.timestamp, *config.features.all]
    missing = [c for c in required if c not in names]
    problems = [f"missing column(s) {missing}"] if missing else []
    for column in config.features.all:
        if column in names:
            kind = "numeric" if column in config.features.numeric else "categorical"
            problem = _type_problem(kind, schema.field(column).type)
            if problem:
                problems.append(f"column {column!r}: {problem}")
    if problems:
        raise ScoringInputError(f"{uri}: " + "; ".join(problems))


def plan(storage: Storage, config: ModelConfig, dates: list[str]) -> list[dict[str, Any]]:
    """Validate every input file's footer and cut the work into units for mapped tasks."""
    files = []
    for ds in dates:
        manifest = read_manifest(storage, Dataset.FEATURES, config.name, ds)
        prefix = partition_prefix(Dataset.FEATURES, config.name, ds)
        if manifest is None:
            raise ScoringInputError(f"{storage.uri(prefix)} is not committed (no _manifest.json or _SUCCESS)")
        for entry in manifest.files:
            key = f"{prefix}/{entry['name']}"
            parquet = _open_parquet(storage, key)
            _check_schema(config, storage.uri(key), parquet.schema_arrow)
            meta = parquet.metadata
            digest = entry.get("sha256") or sha256(storage.read_bytes(key))
            groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
            files.append({"ds": ds, "key": key, "rows": meta.num_rows, "sha256": digest, "row_groups": groups})
    empty = [ds for ds in dates if sum(f["rows"] for f in files if f["ds"] == ds) == 0]
    if empty:
        raise ScoringInputError(f"no rows to score in feature partition(s) {empty} of {config.name!r}")
    units = _units(files, config.scoring.max_parallel)
    by_key = {f["key"]: {k: f[k] for k in ("ds", "key", "rows", "sha256")} for f in files}
    for unit in units:  # each unit carries its input files' lineage to publish
        unit["inputs"] = [by_key[key] for key in dict.fromkeys(key for key, _ in unit["parts"])]
    return units


def _units(files: list[dict[str, Any]], max_units: int) -> list[dict[str, Any]]:
    """Row-group ranges of about equal rows, never more than ``max_units``, one date each."""
    dates = sorted({f["ds"] for f in files})
    if len(dates) > max_units:
        raise ScoringInputError(f"{len(dates)} dates in one run exceed scoring.max_parallel={max_units}")
    total = sum(f["rows"] for f in files)
    # Each date may end with a partly filled unit: reserve one unit per date for that.
    target = max(1, math.ceil(total / max(1, max_units - len(dates) + 1)))
    units: list[dict[str, Any]] = []
    for ds in dates:
        current: dict[str, Any] = {"ds": ds, "parts": [], "rows": 0}
        for file in (f for f in files if f["ds"] == ds):
            start = 0
            for index, group_rows in enumerate(file["row_groups"]):
                current["rows"] += group_rows
                if current["rows"] >= target:
                    current["parts"].append([file["key"], [start, index + 1]])
                    units.append(current)
                    current, start = {"ds": ds, "parts": [], "rows": 0}, index + 1
            if start < len(file["row_groups"]):
                current["parts"].append([file["key"], [start, len(file["row_groups"])]])
        if current["rows"]:
            units.append(current)
    for index, unit in enumerate(units):
        unit["index"] = index
    return units


def unit_parts(unit: dict[str, Any]) -> list[tuple[str, list[int]]]:
    return [(key, groups) for key, groups in unit["parts"]]


# -- score ---------------------------------------------------------------------------------------
class _Checks:
    """Vectorised hard checks against the training scoring contract."""

    def __init__(self, config: ModelConfig, contract: dict[str, Any]) -> None:
        self.config = config
        tolerance = config.scoring.range_tolerance
        self.bounds = {}
        self.categories = {}
        for column, spec in contract["features"].items():
            if spec["kind"] == "numeric" and spec.get("min") is not None:
                span = max(spec["max"] - spec["min"], 1e-9)
                self.bounds[column] = (spec["min"] - tolerance * span, spec["max"] + tolerance * span)
            # Only a complete category list can call a value unseen.
            if spec["kind"] == "categorical" and spec.get("n_categories", 0) <= len(spec.get("categories", [])):
                self.categories[column] = set(spec["categories"])

    def reasons(self, frame: Any) -> Any:
        """One reason per row ('' when the row is fine); the first failing check wins."""
        import numpy as np

        reasons = np.full(len(frame), "", dtype=object)

        def mark(mask: Any, reason: str) -> None:
            mask = np.asarray(mask) & (reasons == "")
            reasons[mask] = reason

        key_null = frame[self.config.entity_id].isna() | frame[self.config.timestamp].isna()
        mark(key_null, "null entity_id or timestamp")
        for column, (low, high) in self.bounds.items():
            values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
            mark((values < low) | (values > high), f"out of range: {column}")
        for column, allowed in self.categories.items():
            values = frame[column]
            mark(values.notna() & ~values.isin(allowed), f"unseen category: {column}")
        return reasons


def _temp_path(storage: Storage, key: str) -> str:
    """Where to write a file before handing it to storage (same filesystem when local)."""
    if isinstance(storage, LocalStorage):
        target = Path(storage.local_path(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    else:
        fd, path = tempfile.mkstemp(suffix=".parquet.tmp")
    os.close(fd)
    return path


class _PartWriter:
    """A parquet file written chunk by chunk, handed to storage when closed."""

    def __init__(self, storage: Storage, key: str) -> None:
        self.storage, self.key, self.rows = storage, key, 0
        self.path = _temp_path(storage, key)
        self.writer = None
        self.schema: Any = None  # every chunk is written with this schema (the first chunk's if unset)

    def write(self, frame: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # A column all null in one chunk would be typed null there and not match the file's schema.
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        self.schema = table.schema
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
        self.writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> dict[str, Any] | None:
        if self.writer is None:
            Path(self.path).unlink(missing_ok=True)
            return None
        self.writer.close()
        size = Path(self.path).stat().st_size
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.storage.put_file(self.key, self.path)
        return {"name": self.key.rsplit("/", 1)[-1], "rows": self.rows, "bytes": size, "sha256": digest.hexdigest()}

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        Path(self.path).unlink(missing_ok=True)


def _quarantine_schema(config: ModelConfig, schema: Any) -> Any:
    """The input file's types for the quarantined columns (all-null columns get their kind's type)."""
    import pyarrow as pa

    fields = []
    for column in [config.entity_id, config.timestamp, *config.features.all]:
        kind = schema.field(column).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_null(kind):
            kind = pa.float64() if column in config.features.numeric else pa.string()
        fields.append(pa.field(column, kind))
    return pa.schema([*fields, pa.field(REASON, pa.string())])


def _histogram(scores: Any) -> list[int]:
    import numpy as np

    counts, _ = np.histogram(np.clip(scores, 0, 1), bins=SCORE_BINS, range=(0.0, 1.0))
    return counts.astype(int).tolist()


def score_unit(
    storage: Storage,
    config: ModelConfig,
    unit: dict[str, Any],
    champion: tuple[ModelRef, Any],
    contract: dict[str, Any],
    *,
    run_id: str,
    challenger: tuple[ModelRef, Any] | None = None,
) -> dict[str, Any]:
    """Score one unit chunk by chunk; returns the unit's counts and its (unpublished) files."""
    import numpy as np

    from include.ml.evaluation import DECISION_THRESHOLD, predict_scores

    ref, model = champion
    from include.platform.storage import new_token

    # A fresh name per attempt: re-running (clearing) a published run must not overwrite its
    # committed files; earlier attempts' leftovers are deleted by the commit.
    token, ds, index = f"{run_token(run_id)}-{new_token()[:8]}", unit["ds"], unit["index"]
    checks = _Checks(config, contract)
    columns = [config.entity_id, config.timestamp, *config.features.all]
    writers = {
        name: _PartWriter(storage, f"{partition_prefix(name, config.name, ds)}/part-{token}-{index:05d}.parquet")
        for name in (PREDICTIONS, QUARANTINE, *([SHADOW] if challenger else []))
    }
    stats: dict[str, Any] = {
        "ds": ds,
        "index": index,
        "rows_in": 0,
        "rows_scored": 0,
        "rows_quarantined": 0,
        "reasons": {},
        "nulls": dict.fromkeys(config.features.all, 0),
        "histogram": [0] * SCORE_BINS,
        "positives": 0,
        "score_seconds": 0.0,
        "shadow": None,
    }
    shadow = (
        {"version": challenger[0].version, "rows": 0, "agree": 0, "abs_diff": 0.0, "errors": 0, "seconds": 0.0}
        if challenger
        else None
    )
    started = time.perf_counter()
    warmed = False
    try:
        for key, (first, last) in unit_parts(unit):
            parquet = _open_parquet(storage, key)
            if writers[QUARANTINE].schema is None:
                writers[QUARANTINE].schema = _quarantine_schema(config, parquet.schema_arrow)
            batches = parquet.iter_batches(
                batch_size=config.scoring.chunk_rows, row_groups=list(range(first, last)), columns=columns
            )
            for batch in batches:
                frame = batch.to_pandas()
                stats["rows_in"] += len(frame)
                for column in config.features.all:
                    stats["nulls"][column] += int(frame[column].isna().sum())
                reasons = checks.reasons(frame)
                bad = reasons != ""
                if bad.any():
                    quarantined = frame[bad].copy()
                    quarantined[REASON] = reasons[bad]
                    writers[QUARANTINE].write(quarantined)
                    stats["rows_quarantined"] += int(bad.sum())
                    for reason, count in zip(*np.unique(reasons[bad], return_counts=True), strict=True):
                        stats["reasons"][reason] = stats["reasons"].get(reason, 0) + int(count)
                good = frame[~bad] if bad.any() else frame
                if good.empty:
                    continue
                if not warmed:  # first call pays one-off set-up (thread pools): keep it out of latency
                    _warm_up(config, [model, *([challenger[1]] if challenger else [])], good)
                    warmed = True
                tick = time.perf_counter()
                scores = predict_scores(config, model, good)
                stats["score_seconds"] += time.perf_counter() - tick
                labels = (scores >= DECISION_THRESHOLD).astype("int8") if config.task == "classification" else scores
                writers[PREDICTIONS].write(_output(config, good, labels, scores, ref, run_id))
                stats["rows_scored"] += len(good)
                stats["histogram"] = [a + b for a, b in zip(stats["histogram"], _histogram(scores), strict=True)]
                stats["positives"] += int(labels.sum()) if config.task == "classification" else 0
                if challenger and shadow is not None:
                    _shadow_chunk(config, challenger, good, scores, writers[SHADOW], shadow, run_id)
                log.info(
                    "unit %s: %s/%s rows done, %.0f rows/s",
                    index,
                    stats["rows_in"],
                    unit["rows"],
                    stats["rows_in"] / max(time.perf_counter() - started, 1e-9),
                )
        stats["files"] = {name: writer.close() for name, writer in writers.items()}
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    stats["seconds"] = time.perf_counter() - started
    stats["shadow"] = shadow
    return stats


def _warm_up(config: ModelConfig, models: list[Any], rows: Any) -> None:
    from include.ml.evaluation import predict_scores

    for model in models:
        try:
            predict_scores(config, model, rows.head(2))
        except Exception:  # a broken challenger is reported by the shadow path itself
            log.debug("warm-up prediction failed", exc_info=True)


def _output(config: ModelConfig, rows: Any, labels: Any, scores: Any, ref: ModelRef, run_id: str) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            # .array keeps tz-aware timestamps vectorised (.to_numpy() makes Timestamp objects).
            config.entity_id: rows[config.entity_id].array,
            config.timestamp: rows[config.timestamp].array,
            "prediction": labels,
            "score": scores.astype("float64"),
            "model_name": ref.name,
            "model_version": ref.version,
            "run_id": run_id,
        }
    )


def _shadow_chunk(
    config: ModelConfig,
    challenger: tuple[ModelRef, Any],
    rows: Any,
    champion_scores: Any,
    writer: _PartWriter,
    shadow: dict[str, Any],
    run_id: str,
) -> None:
    """Score the same rows with the challenger; its failures never touch the champion path."""
    import numpy as np

    from include.ml.evaluation import DECISION_THRESHOLD, predict_scores

    ref, model = challenger
    tick = time.perf_counter()
    try:
        scores = predict_scores(config, model, rows)
    except Exception as exc:
        shadow["errors"] += len(rows)
        log.warning("challenger v%s failed on %s rows: %s", ref.version, len(rows), exc)
        return
    shadow["seconds"] += time.perf_counter() - tick
    if config.task == "classification":
        labels = (scores >= DECISION_THRESHOLD).astype("int8")
        shadow["agree"] += int((labels == (champion_scores >= DECISION_THRESHOLD)).sum())
    else:
        labels = scores
    shadow["rows"] += len(rows)
    shadow["abs_diff"] += float(np.abs(scores - champion_scores).sum())
    writer.write(_output(config, rows, labels, scores, ref, run_id))


# -- publish -------------------------------------------------------------------------------------
def _quantiles(histogram: list[int]) -> dict[str, float]:
    total = sum(histogram)
    out = {}
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        running = 0
        for index, count in enumerate(histogram):
            running += count
            if total and running >= q * total:
                out[f"score_p{int(q * 100)}"] = (index + 0.5) / SCORE_BINS
                break
    return out


def summarize_date(config: ModelConfig, stats: list[dict[str, Any]], contract: dict[str, Any]) -> dict[str, Any]:
    rows_in = sum(s["rows_in"] for s in stats)
    quarantined = sum(s["rows_quarantined"] for s in stats)
    reasons: dict[str, int] = {}
    nulls = dict.fromkeys(config.features.all, 0)
    histogram = [0] * SCORE_BINS
    for s in stats:
        for reason, count in s["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
        for column, count in s["nulls"].items():
            nulls[column] += count
        histogram = [a + b for a, b in zip(histogram, s["histogram"], strict=True)]
    scored = sum(s["rows_scored"] for s in stats)
    problems = []
    share = quarantined / rows_in if rows_in else 0.0
    if share > config.scoring.max_quarantine_fraction:
        top = ", ".join(f"{r} ({c})" for r, c in sorted(reasons.items(), key=lambda kv: -kv[1])[:5])
        problems.append(
            f"{quarantined} of {rows_in} rows ({share:.1%}) failed hard checks, limit "
            f"{config.scoring.max_quarantine_fraction:.1%}: {top}"
        )
    for column, count in nulls.items():
        rate = count / rows_in if rows_in else 0.0
        trained = contract["features"][column]["null_fraction"]
        allowed = trained + config.scoring.max_null_increase
        if rate > allowed:
            problems.append(
                f"column {column!r} is {rate:.1%} null (training {trained:.1%}, allowed {min(allowed, 1):.1%})"
            )
    summary = {
        "rows_in": rows_in,
        "rows_scored": scored,
        "rows_quarantined": quarantined,
        "quarantine_share": share,
        "reasons": reasons,
        "null_rates": {c: (n / rows_in if rows_in else 0.0) for c, n in nulls.items()},
        "histogram": histogram,
        **_quantiles(histogram),
        "problems": problems,
    }
    if config.task == "classification":
        positives = sum(s["positives"] for s in stats)
        summary["positive_share"] = positives / scored if scored else 0.0
    shadows = [s["shadow"] for s in stats if s.get("shadow")]
    if shadows:
        rows = sum(s["rows"] for s in shadows)
        errors = sum(s["errors"] for s in shadows)
        summary["shadow"] = {
            "version": shadows[0]["version"],
            "rows": rows,
            "agreement": (sum(s["agree"] for s in shadows) / rows) if rows else None,
            "mean_abs_score_diff": (sum(s["abs_diff"] for s in shadows) / rows) if rows else None,
            "error_rate": errors / (rows + errors) if (rows + errors) else 0.0,
            "latency_ms_per_1k": (sum(s["seconds"] for s in shadows) * 1e6 / rows) if rows else None,
        }
    summary["latency_ms_per_1k"] = sum(s["score_seconds"] for s in stats) * 1e6 / scored if scored else None
    return summary


def _remove_temporary(storage: Storage, prefix: str, start: str = ".part-") -> None:
    """Temporary files of killed writers: LocalStorage.list hides them from every cleanup."""
    if isinstance(storage, LocalStorage):
        for path in Path(storage.local_path(prefix)).glob(f"{start}*.tmp"):
            path.unlink(missing_ok=True)


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
            _remove_temporary(storage, prefix, f".part-{token}-")
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


def publish(
    storage: Storage,
    config: ModelConfig,
    units: list[dict[str, Any]],
    unit_stats: list[dict[str, Any]],
    contract: dict[str, Any],
    champion: ModelRef,
    *,
    run_id: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Check every date, then commit predictions, quarantine and shadow partitions per date."""
    files = list({f["key"]: f for unit in units for f in unit["inputs"]}.values())
    dates = sorted({f["ds"] for f in files})
    summaries = {ds: summarize_date(config, [s for s in unit_stats if s["ds"] == ds], contract) for ds in dates}
    problems = [f"ds={ds}: {p}" for ds, s in summaries.items() for p in s["problems"]]
    if problems or dry_run:
        discard(storage, config, dates, run_id)
        if problems:
            raise ScoringInputError(
                f"{config.name}: nothing published; input failed validation:\n- " + "\n- ".join(problems)
            )
        return {"dates": summaries, "dry_run": True}
    token = run_token(run_id)
    for ds in dates:
        inputs = [{"key": f["key"], "rows": f["rows"], "sha256": f["sha256"]} for f in files if f["ds"] == ds]
        meta = {
            "model_name": champion.name,
            "model_version": champion.version,
            "model_run_id": champion.run_id,
            "run_id": run_id,
            "data_window": ds,
            "inputs": inputs,
            "schema": [config.entity_id, config.timestamp, *PREDICTION_COLUMNS],
            "summary": {k: v for k, v in summaries[ds].items() if k != "problems"},
        }
        for dataset in (PREDICTIONS, QUARANTINE, SHADOW):
            prefix = partition_prefix(dataset, config.name, ds)
            entries = [s["files"][dataset] for s in unit_stats if s["ds"] == ds and (s.get("files") or {}).get(dataset)]
            if dataset == PREDICTIONS or entries or read_manifest(storage, dataset, config.name, ds):
                entries = sorted(entries, key=lambda e: e["name"])
                commit_partition(storage, dataset, config.name, ds, entries, token, _meta_for(dataset, meta, config))
            else:  # nothing to publish here: only leftovers of killed attempts to remove
                storage.delete(storage.list(prefix))
            _remove_temporary(storage, prefix)
    return {"dates": summaries, "dry_run": False, "token": token}


# -- registry and tracking -----------------------------------------------------------------------
def resolve_models(registry: Any, config: ModelConfig) -> dict[str, Any]:
    """Pin the champion (and challenger) versions once for the whole run."""
    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is None:
        raise ScoringInputError(f"model {config.name!r} has no 'champion' alias: run retrain_{config.name} first")
    challenger = registry.alias_version(config.name, CHALLENGER_ALIAS)
    pinned = {"champion": {"name": config.name, "version": str(champion.version), "run_id": champion.run_id}}
    pinned["challenger"] = (
        {"name": config.name, "version": str(challenger.version), "run_id": challenger.run_id}
        if challenger is not None and str(challenger.version) != str(champion.version)
        else None
    )
    return pinned


def record(
    registry: Any, config: ModelConfig, pinned: dict[str, Any], published: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """Per date: a scoring run (distribution, counts) and a shadow run on the challenger version.

    Runs are keyed by date and model version, so rescoring a date updates its runs instead of
    adding evidence twice.
    """
    experiment = registry.experiment_id(config.name)
    recorded = {}
    for ds, summary in published["dates"].items():
        champion = pinned["champion"]
        metrics = {
            k: float(v)
            for k, v in summary.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None
        }
        tags = {
            Tag.KIND: RunKind.SCORING,
            Tag.DS: ds,
            Tag.MODEL_VERSION: champion["version"],
            Tag.AIRFLOW_RUN_ID: run_id,
        }
        scoring_run = registry.upsert_run(
            experiment, f"scoring/{ds}/v{champion['version']}", f"score {ds}", tags, metrics
        )
        recorded[ds] = {"scoring_run_id": scoring_run}
        shadow = summary.get("shadow")
        if shadow:
            shadow_metrics = {f"shadow_{k}": float(v) for k, v in shadow.items() if k != "version" and v is not None}
            shadow_tags = {
                Tag.KIND: RunKind.SHADOW,
                Tag.DS: ds,
                Tag.SHADOW_VERSION: shadow["version"],
                Tag.SHADOW_CHAMPION_VERSION: champion["version"],
                Tag.AIRFLOW_RUN_ID: run_id,
            }
            recorded[ds]["shadow_run_id"] = registry.upsert_run(
                experiment,
                f"shadow/{ds}/v{shadow['version']}",
                f"shadow {ds} v{shadow['version']}",
                shadow_tags,
                shadow_metrics,
            )
    return recorded
