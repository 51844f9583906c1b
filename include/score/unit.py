"""Score one planned unit chunk by chunk, with bounded memory.

The unit's row groups are streamed in chunks of ``scoring.chunk_rows``: rows that fail a hard
check (include/score/checks.py), or that the date's duplicate plan drops
(include/score/duplicates.py), go to a quarantine file with the reason; the others are scored
by the pinned champion (and by the challenger, into a separate shadow output), flagged rows
with their ``flags``. Output files are written under a token unique to the run and are
invisible until published.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from include.config import ModelConfig
from include.contracts import Column
from include.errors import DataError
from include.platform.partitions import partition_prefix
from include.platform.registry import ModelRef
from include.platform.storage import Storage
from include.score.checks import FLAG_SEPARATOR, REASON, RowChecks, problem_kind, quarantine_schema
from include.score.duplicates import chunk_drops, unit_drops
from include.score.payloads import CanaryPin, PinnedModels, PlannedUnit, ShadowStats, UnitStats
from include.score.pinning import load_pinned
from include.score.plan import unit_parts
from include.score.reading import open_parquet, undecodable_is_input_error
from include.score.summary import add_scores, empty_score_stats, score_range
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW, PartWriter, run_token

log = logging.getLogger(__name__)

Scorer = tuple[ModelRef, Any]  # a pinned version and its loaded model


def output_frame(
    config: ModelConfig, rows: Any, labels: Any, scores: Any, ref: ModelRef, run_id: str, flags: Any = None
) -> Any:
    """The published columns: key, prediction, score, model name and version, run id, flags."""
    import pandas as pd

    return pd.DataFrame(
        {
            # .array keeps tz-aware timestamps vectorised (.to_numpy() makes Timestamp objects).
            config.entity_id: rows[config.entity_id].array,
            config.timestamp: rows[config.timestamp].array,
            Column.PREDICTION: labels,
            Column.SCORE: scores.astype("float64"),
            Column.MODEL_NAME: ref.name,
            Column.MODEL_VERSION: ref.version,
            Column.RUN_ID: run_id,
            Column.FLAGS: pd.array([""] * len(rows) if flags is None else list(flags), dtype="string"),
        }
    )


def _labels(config: ModelConfig, scores: Any) -> Any:
    from include.ml.evaluation import DECISION_THRESHOLD

    return (scores >= DECISION_THRESHOLD).astype("int8") if config.task == "classification" else scores


def _warm_up(config: ModelConfig, models: list[Any], rows: Any) -> None:
    from include.ml.evaluation import predict_scores

    for model in models:
        try:
            predict_scores(config, model, rows.head(2))
        except Exception:  # a broken challenger is reported by the shadow path itself
            log.debug("warm-up prediction failed", exc_info=True)


def shadow_latency(config: ModelConfig, model: Any, rows: Any) -> float | None:
    """The challenger's latency as the retrain gate measures it (include/ml/evaluation.py): ms to
    score 1,000 of these rows on one thread, best of warm repeats. Judges the model, not how busy
    the machine was: the chunk's own wall time with every core's threads is many times longer on
    a loaded machine. Measured once per unit, on its first scored chunk; None when the
    measurement fails (like every shadow failure, it never touches the champion path)."""
    from include.ml.evaluation import latency_ms_per_1k

    try:
        return latency_ms_per_1k(config, model, rows)
    except Exception as exc:
        log.warning("challenger latency not measured: %s", exc)
        return None


def shadow_chunk(
    config: ModelConfig,
    challenger: Scorer,
    rows: Any,
    champion_scores: Any,
    writer: PartWriter,
    shadow: ShadowStats,
    run_id: str,
    flags: Any = None,
) -> Any:
    """Score the same rows with the challenger into the shadow output; its scores, or None when
    it failed (its failures never touch the champion path)."""
    import numpy as np

    from include.ml.evaluation import DECISION_THRESHOLD, predict_scores

    ref, model = challenger
    tick = time.perf_counter()
    try:
        scores = predict_scores(config, model, rows)
    except Exception as exc:
        shadow["errors"] += len(rows)
        log.warning("challenger v%s failed on %s rows: %s", ref.version, len(rows), exc)
        return None
    shadow["seconds"] += time.perf_counter() - tick
    if shadow.get("latency_ms_per_1k") is None:
        shadow["latency_ms_per_1k"] = shadow_latency(config, model, rows)
    labels = _labels(config, scores)
    if config.task == "classification":
        shadow["agree"] += int((labels == (champion_scores >= DECISION_THRESHOLD)).sum())
    else:  # within deploy.agreement_tolerance of the champion's score, relatively
        tolerance = config.deploy.agreement_tolerance * np.abs(champion_scores)
        shadow["agree"] += int((np.abs(scores - champion_scores) <= tolerance).sum())
    shadow["rows"] += len(rows)
    shadow["abs_diff"] += float(np.abs(scores - champion_scores).sum())
    writer.write(output_frame(config, rows, labels, scores, ref, run_id, flags))
    return scores


def _new_stats(config: ModelConfig, unit: PlannedUnit, scores: tuple[float, float]) -> UnitStats:
    return {
        "ds": unit["ds"],
        "index": unit["index"],
        "rows_in": 0,
        "rows_scored": 0,
        "rows_quarantined": 0,
        "reasons": {},
        "nulls": dict.fromkeys(config.features.all, 0),
        **empty_score_stats(*scores),
        "positives": 0,
        "score_seconds": 0.0,
        "shadow": None,
        "files": {},
        "seconds": 0.0,
        "rows_flagged": 0,
        "flags": {},
        "kinds": {},
    }


def _add(counts: dict[str, int], name: str, count: int) -> None:
    counts[name] = counts.get(name, 0) + int(count)


def _count_rows(stats: UnitStats, field: str, values: Any, separator: str | None = None) -> None:
    """Rows per distinct value of ``values`` into ``stats[field]``, and rows per problem kind
    into ``stats["kinds"]`` (a row counts once per kind); with ``separator``, a value lists
    several names (flags). Counted over distinct values: a burst of one flag costs one lookup."""
    import pandas as pd

    counts, kinds = stats.setdefault(field, {}), stats.setdefault("kinds", {})  # type: ignore[misc]
    for value, count in pd.Series(values, dtype=object).value_counts(sort=False).items():
        names = str(value).split(separator) if separator else [str(value)]
        for name in names:
            _add(counts, name, count)
        for kind in dict.fromkeys(problem_kind(name) or "other" for name in names):
            _add(kinds, kind, count)


class _UnitScoring:
    """The running state of one unit: writers, counts, the champion and challenger."""

    def __init__(
        self,
        config: ModelConfig,
        writers: dict[str, PartWriter],
        champion: Scorer,
        challenger: Scorer | None,
        run_id: str,
        canary: CanaryPin | None = None,
    ) -> None:
        self.config, self.writers, self.run_id = config, writers, run_id
        self.champion, self.challenger = champion, challenger
        self.canary = canary if challenger is not None and canary and canary["share"] > 0 else None
        self.shadow: ShadowStats | None = None
        if challenger:
            version = challenger[0].version
            self.shadow = {"version": version, "rows": 0, "agree": 0, "abs_diff": 0.0, "errors": 0, "seconds": 0.0}
        self.warmed = False

    def chunk(self, frame: Any, checks: RowChecks, stats: UnitStats, dropped: Any = None) -> bool:
        """Count, check, quarantine and score one chunk of input rows; False: no row passed.

        :param dropped: per row, the duplicate plan's reason ('' when kept); None: no duplicates.
        """
        stats["rows_in"] += len(frame)
        for column in self.config.features.all:
            stats["nulls"][column] += int(frame[column].isna().sum())
        reasons, flags = checks.verdicts(frame, dropped)
        good = self._quarantine(frame, reasons, stats)
        if good.empty:
            return False
        self._score(good, flags[reasons == ""], stats)
        return True

    def _quarantine(self, frame: Any, reasons: Any, stats: UnitStats) -> Any:
        """Write the failing rows with their reason; the rows that passed."""

        bad = reasons != ""
        if not bad.any():
            return frame
        quarantined = frame[bad].copy()
        quarantined[REASON] = reasons[bad]
        self.writers[QUARANTINE].write(quarantined)
        stats["rows_quarantined"] += int(bad.sum())
        _count_rows(stats, "reasons", reasons[bad])
        return frame[~bad]

    def _count_flags(self, flags: Any, stats: UnitStats) -> None:
        flagged = flags[flags != ""]
        if not len(flagged):
            return
        stats["rows_flagged"] = stats.get("rows_flagged", 0) + len(flagged)
        _count_rows(stats, "flags", flagged, FLAG_SEPARATOR)

    def _score(self, good: Any, flags: Any, stats: UnitStats) -> None:
        from include.ml.evaluation import predict_scores

        ref, model = self.champion
        if not self.warmed:  # first call pays one-off set-up (thread pools): keep it out of latency
            _warm_up(self.config, [model, *([self.challenger[1]] if self.challenger else [])], good)
            self.warmed = True
        tick = time.perf_counter()
        scores = predict_scores(self.config, model, good)
        stats["score_seconds"] += time.perf_counter() - tick
        challenger_scores = None
        if self.challenger and self.shadow is not None:
            writer = self.writers[SHADOW]
            challenger_scores = shadow_chunk(
                self.config, self.challenger, good, scores, writer, self.shadow, self.run_id, flags
            )
        labels = _labels(self.config, scores)
        published = output_frame(self.config, good, labels, scores, ref, self.run_id, flags)
        if self.canary is not None and challenger_scores is not None and self.challenger is not None:
            published, scores = self._canary_rows(good, published, scores, challenger_scores, flags, stats)
            labels = published[Column.PREDICTION].to_numpy()
        self.writers[PREDICTIONS].write(published)
        self._count_flags(flags, stats)
        stats["rows_scored"] += len(good)
        add_scores(stats, scores)
        stats["positives"] += int(labels.sum()) if self.config.task == "classification" else 0

    def _canary_rows(
        self, good: Any, published: Any, scores: Any, challenger_scores: Any, flags: Any, stats: UnitStats
    ) -> tuple[Any, Any]:
        """The published rows with the canary entities' scores from the challenger (their model
        version says so); the published scores."""
        import numpy as np

        from include.platform.assignment import in_share

        assert self.canary is not None and self.challenger is not None
        mask = np.asarray(in_share(good[self.config.entity_id].tolist(), self.canary["salt"], self.canary["share"]))
        if not mask.any():
            return published, scores
        ref = self.challenger[0]
        labels = _labels(self.config, challenger_scores)
        canary = output_frame(self.config, good, labels, challenger_scores, ref, self.run_id, flags)
        published = published.copy()
        published.loc[mask] = canary.loc[mask]
        stats["rows_canary"] = stats.get("rows_canary", 0) + int(mask.sum())
        return published, np.where(mask, challenger_scores, scores)


def _unit_frames(
    storage: Storage, config: ModelConfig, unit: PlannedUnit, quarantine: PartWriter
) -> Iterator[tuple[str, int, Any]]:
    """The unit's input rows as pandas chunks: ``(file key, row number of the chunk's first row
    in the file, frame)``; the quarantine file takes the first file's types."""
    columns = [config.entity_id, config.timestamp, *config.features.all]
    for key, (first, last) in unit_parts(unit):
        parquet = open_parquet(storage, key)
        if quarantine.schema is None:
            quarantine.schema = quarantine_schema(config, parquet.schema_arrow)
        row = sum(parquet.metadata.row_group(i).num_rows for i in range(first))
        batches = parquet.iter_batches(
            batch_size=config.scoring.chunk_rows, row_groups=list(range(first, last)), columns=columns
        )
        while True:
            with storage.guard("reading", key):  # a local file is streamed: the disk can fail here
                batch = _next_batch(storage, key, batches)
            if batch is None:
                break
            yield key, row, batch.to_pandas()
            row += batch.num_rows


def _next_batch(storage: Storage, key: str, batches: Iterator[Any]) -> Any:
    """The next record batch, or None at the end (a corrupt page fails the unit's date)."""
    with undecodable_is_input_error(storage, key):
        return next(batches, None)


def _unit_writers(
    storage: Storage, config: ModelConfig, unit: PlannedUnit, run_id: str, shadow: bool
) -> dict[str, PartWriter]:
    from include.platform.storage import new_token

    # A fresh name per attempt: re-running (clearing) a published run must not overwrite its
    # committed files; earlier attempts' leftovers are deleted by the commit.
    token, ds, index = f"{run_token(run_id)}-{new_token()[:8]}", unit["ds"], unit["index"]
    return {
        name: PartWriter(storage, f"{partition_prefix(name, config.name, ds)}/part-{token}-{index:05d}.parquet")
        for name in (PREDICTIONS, QUARANTINE, *([SHADOW] if shadow else []))
    }


def progress_line(unit: PlannedUnit, done: int, seconds: float) -> str:
    """One chunk's progress: rows done of the unit, rows per second, time left at that rate."""
    total = max(int(unit["rows"]), done)
    rate = done / max(seconds, 1e-9)
    left = (total - done) / rate if rate > 0 else 0.0
    percent = 100.0 * done / total if total else 100.0
    minutes, secs = divmod(round(left), 60)
    return (
        f"unit {unit['index']} of {unit['ds']}: {done:,}/{total:,} rows done ({percent:.0f}%), "
        f"{rate:,.0f} rows/s, ETA {minutes}m{secs:02d}s"
    )


def score_unit(
    storage: Storage,
    config: ModelConfig,
    unit: PlannedUnit,
    champion: Scorer,
    contract: dict[str, Any],
    *,
    run_id: str,
    challenger: Scorer | None = None,
    now: Any = None,
    canary: CanaryPin | None = None,
) -> UnitStats:
    """Score one unit chunk by chunk; returns the unit's counts and its (unpublished) files.

    :param now: the run's time: a row timestamped later is quarantined (None: not checked).
    :param canary: the challenger's scores are published for this share of entities.
    """
    writers = _unit_writers(storage, config, unit, run_id, shadow=challenger is not None)
    checks = RowChecks(config, contract, ds=unit["ds"], now=now)
    drops = unit_drops(storage, unit)
    stats = _new_stats(config, unit, score_range(config, contract))
    scoring = _UnitScoring(config, writers, champion, challenger, run_id, canary)
    started = time.perf_counter()
    try:
        for key, first_row, frame in _unit_frames(storage, config, unit, writers[QUARANTINE]):
            scoring.chunk(frame, checks, stats, chunk_drops(drops, key, first_row, len(frame)))
            log.info("%s", progress_line(unit, stats["rows_in"], time.perf_counter() - started))
        stats["files"] = {name: writer.close() for name, writer in writers.items()}
    except DataError as exc:  # this unit's input cannot be used: its date fails at publish, not this task
        for writer in writers.values():
            writer.abort()
        log.warning("unit %s of %s cannot be scored: %s", unit["index"], unit["ds"], exc)
        stats["error"] = str(exc)
        stats["files"] = {}
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    stats["seconds"] = time.perf_counter() - started
    stats["shadow"] = scoring.shadow
    if "error" not in stats:
        ref = champion[0]
        counts = (stats["rows_in"], stats["rows_scored"], stats["rows_quarantined"], stats.get("rows_flagged", 0))
        log.info(
            "unit %s of %s scored by %s v%s: %s rows in, %s scored, %s quarantined, %s flagged in %.1f s (unpublished)",
            *(unit["index"], unit["ds"], ref.name, ref.version, *counts, stats["seconds"]),
        )
    return stats


def score_pinned_unit(
    registry: Any, storage: Storage, config: ModelConfig, unit: PlannedUnit, pinned: PinnedModels, *, run_id: str
) -> UnitStats:
    """The mapped ``score`` task: load the pinned models and the training contract, score ``unit``
    (a row timestamped after the pinned ``run_after`` is "in the future")."""
    models = load_pinned(registry, config, pinned)
    return score_unit(
        storage,
        config,
        unit,
        models.champion,
        models.contract,
        run_id=run_id,
        challenger=models.challenger,
        now=pinned.get("run_after"),
        canary=pinned.get("canary"),
    )
