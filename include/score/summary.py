"""One date's summary from its units' stats: counts, null rates, score distribution, problems.

The problems (too many quarantined rows, a column far more null than in training) fail the
date at publish; the rest goes to the manifests and to MLflow. Flagged rows (scored, published
with a flag) are counted apart and never count against ``scoring.max_quarantine_fraction``.
"""

from __future__ import annotations

from typing import Any, cast

from include.config import ModelConfig
from include.errors import DataError
from include.score.checks import SUPERSEDED_REASON, Problem
from include.score.payloads import DateSummary, ScoreStats, ShadowStats, ShadowSummary, UnitStats

SCORE_BINS = 20  # equal bins over the score range: enough for quantiles and drift checks
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
# Scores outside the range are counted as underflow / overflow; with the exact min and max of
# every unit, quantiles stay right whatever the range (they are interpolated inside a bin or
# between the range and the exact min / max). The fields: payloads.ScoreStats.


def score_range(config: ModelConfig, contract: dict[str, Any]) -> tuple[float, float]:
    """The histogram's range: [0, 1] for a classifier's probabilities; for a regressor, the range
    its hold-out predictions covered (``score_min``/``score_max`` of the scoring contract).

    A regression contract written before that range was stored falls back to [0, 1]: the
    histogram is then coarse (most scores in the under/overflow counts) but the quantiles stay
    between the exact min and max. A range of one value is widened to one unit around it.
    """
    if config.task == "classification":
        return 0.0, 1.0
    low, high = contract.get("score_min"), contract.get("score_max")
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
        return 0.0, 1.0
    low, high = float(low), float(high)
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def empty_score_stats(low: float, high: float) -> ScoreStats:
    """The score fields of a unit before any row was scored (the ``SCORE_FIELDS`` of UnitStats)."""
    return {
        "histogram": [0] * SCORE_BINS,
        "score_range": [low, high],
        "score_underflow": 0,
        "score_overflow": 0,
        "score_min": None,
        "score_max": None,
    }


def score_histogram(scores: Any, low: float = 0.0, high: float = 1.0) -> list[int]:
    """Counts of ``scores`` in ``SCORE_BINS`` equal bins over [low, high] (the last bin closed);
    scores outside the range are not counted here (see :func:`add_scores`)."""
    import numpy as np

    counts, _ = np.histogram(np.asarray(scores, dtype="float64"), bins=SCORE_BINS, range=(low, high))
    return counts.astype(int).tolist()


def add_scores(stats: ScoreStats, scores: Any) -> None:
    """Add one chunk's scores to a unit's score fields (in place): histogram over the unit's
    ``score_range``, underflow / overflow counts, exact min and max."""
    import numpy as np

    values = np.asarray(scores, dtype="float64")
    values = values[np.isfinite(values)]
    if not len(values):
        return
    low, high = stats["score_range"]
    stats["histogram"] = add_histograms(stats["histogram"], score_histogram(values, low, high))
    stats["score_underflow"] += int((values < low).sum())
    stats["score_overflow"] += int((values > high).sum())
    smallest, largest = float(values.min()), float(values.max())
    stats["score_min"] = smallest if stats["score_min"] is None else min(stats["score_min"], smallest)
    stats["score_max"] = largest if stats["score_max"] is None else max(stats["score_max"], largest)


def add_histograms(first: list[int], second: list[int]) -> list[int]:
    return [a + b for a, b in zip(first, second, strict=True)]


def merge_score_stats(stats: list[UnitStats] | list[ScoreStats]) -> ScoreStats:
    """One date's score fields from its units': the histograms and counts summed (every unit
    bins on the same range, the champion's), min of the minima, max of the maxima."""
    ranges = {tuple(s["score_range"]) for s in stats}
    if len(ranges) > 1:
        raise DataError(f"units binned their scores on different ranges {sorted(ranges)}: rescore the date")
    merged = empty_score_stats(*(ranges.pop() if ranges else (0.0, 1.0)))
    for s in stats:
        merged["histogram"] = add_histograms(merged["histogram"], s["histogram"])
        merged["score_underflow"] += s["score_underflow"]
        merged["score_overflow"] += s["score_overflow"]
        low, high = s["score_min"], s["score_max"]
        if low is not None and high is not None:
            merged["score_min"] = low if merged["score_min"] is None else min(merged["score_min"], low)
            merged["score_max"] = high if merged["score_max"] is None else max(merged["score_max"], high)
    return merged


def _regions(histogram: list[int], low: float, high: float, under: int, over: int, smin: Any, smax: Any) -> list:
    """(count, left, right) of underflow, every bin, overflow, edges clipped to the exact min / max."""
    width = (high - low) / len(histogram)
    regions = [(under, smin if smin is not None else low, low)]
    regions += [(c, low + i * width, low + (i + 1) * width) for i, c in enumerate(histogram)]
    regions.append((over, high, smax if smax is not None else high))
    lo = smin if smin is not None else -float("inf")
    hi = smax if smax is not None else float("inf")
    return [(count, min(max(left, lo), hi), min(max(right, lo), hi)) for count, left, right in regions]


def score_quantiles(
    histogram: list[int],
    low: float = 0.0,
    high: float = 1.0,
    *,
    underflow: int = 0,
    overflow: int = 0,
    score_min: float | None = None,
    score_max: float | None = None,
) -> dict[str, float]:
    """``score_p10`` ... ``score_p90``, interpolated linearly inside the bin (or the stretch
    below / above the range, up to the exact min / max) where each quantile falls; empty
    without scores."""
    regions = _regions(histogram, low, high, underflow, overflow, score_min, score_max)
    total = sum(count for count, _, _ in regions)
    out: dict[str, float] = {}
    if not total:
        return out
    for q in QUANTILES:
        rank, running = q * total, 0
        for count, left, right in regions:
            if count and running + count >= rank:
                out[f"score_p{int(q * 100)}"] = left + (right - left) * (rank - running) / count
                break
            running += count
    return out


def score_fields(merged: ScoreStats) -> dict[str, Any]:
    """The date summary's score fields, in their stored order: histogram, range, under/overflow,
    exact min / max and the quantiles (min, max and quantiles absent when nothing was scored)."""
    fields: dict[str, Any] = {
        "histogram": merged["histogram"],
        "score_range": merged["score_range"],
        "score_underflow": merged["score_underflow"],
        "score_overflow": merged["score_overflow"],
    }
    if merged["score_min"] is not None:
        fields |= {"score_min": merged["score_min"], "score_max": merged["score_max"]}
    low, high = merged["score_range"]
    quantiles = score_quantiles(
        merged["histogram"],
        low,
        high,
        underflow=merged["score_underflow"],
        overflow=merged["score_overflow"],
        score_min=merged["score_min"],
        score_max=merged["score_max"],
    )
    return fields | quantiles


def _add_counts(total: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        total[name] = total.get(name, 0) + count


def _quarantine_problem(config: ModelConfig, rows_in: int, quarantined: int, reasons: dict[str, int]) -> str | None:
    """Too many rows quarantined. Superseded duplicates (``duplicates: keep_latest``) do not
    count: the entity was scored, with its latest row (a feed re-sending rows is not bad data)."""
    quarantined -= reasons.get(SUPERSEDED_REASON, 0)
    share = quarantined / rows_in if rows_in else 0.0
    if share <= config.scoring.max_quarantine_fraction:
        return None
    counted = {r: c for r, c in reasons.items() if r != SUPERSEDED_REASON}
    top = ", ".join(f"{r} ({c})" for r, c in sorted(counted.items(), key=lambda kv: -kv[1])[:5])
    return (
        f"{quarantined} of {rows_in} rows ({share:.1%}) failed hard checks, limit "
        f"{config.scoring.max_quarantine_fraction:.1%}: {top}"
    )


def _null_problems(config: ModelConfig, rows_in: int, nulls: dict[str, int], contract: dict[str, Any]) -> list[str]:
    problems = []
    for column, count in nulls.items():
        rate = count / rows_in if rows_in else 0.0
        trained = contract["features"][column]["null_fraction"]
        allowed = trained + config.scoring.max_null_increase
        if rate > allowed:
            problems.append(
                f"column {column!r} is {rate:.1%} null (training {trained:.1%}, allowed {min(allowed, 1):.1%})"
            )
    return problems


def _shadow_summary(stats: list[UnitStats]) -> ShadowSummary | None:
    shadows: list[ShadowStats] = [shadow for s in stats if (shadow := s.get("shadow"))]
    if not shadows:
        return None
    rows = sum(s["rows"] for s in shadows)
    errors = sum(s["errors"] for s in shadows)
    return {
        "version": shadows[0]["version"],
        "rows": rows,
        "agreement": (sum(s["agree"] for s in shadows) / rows) if rows else None,
        "mean_abs_score_diff": (sum(s["abs_diff"] for s in shadows) / rows) if rows else None,
        "error_rate": errors / (rows + errors) if (rows + errors) else 0.0,
        "latency_ms_per_1k": _shadow_latency(shadows),
    }


def _shadow_latency(shadows: list[ShadowStats]) -> float | None:
    """The units' measured latencies (one thread, best of repeats), weighted by their rows."""
    measured = [(s["latency_ms_per_1k"], s["rows"]) for s in shadows if s.get("latency_ms_per_1k") is not None]
    rows = sum(n for _, n in measured)
    return sum(float(v or 0.0) * n for v, n in measured) / rows if rows else None


def _optional_fields(config: ModelConfig, stats: list[UnitStats], scored: int) -> dict[str, Any]:
    """``positive_share`` (classification), ``shadow`` (with a challenger) and ``rows_canary``
    (rows published with a canary challenger's scores)."""
    fields: dict[str, Any] = {}
    if config.task == "classification":
        positives = sum(s["positives"] for s in stats)
        fields["positive_share"] = positives / scored if scored else 0.0
    shadow = _shadow_summary(stats)
    if shadow is not None:
        fields["shadow"] = shadow
    canary = sum(s.get("rows_canary", 0) for s in stats)
    if canary:
        fields["rows_canary"] = canary  # published with the canary challenger's scores
    return fields


def _row_policy_fields(stats: list[UnitStats], rows_in: int) -> dict[str, Any]:
    """Flagged rows, their flags, and the rows per problem kind (flagged or quarantined)."""
    flagged = sum(s.get("rows_flagged", 0) for s in stats)
    flags: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for s in stats:
        _add_counts(flags, s.get("flags") or {})
        _add_counts(kinds, s.get("kinds") or {})
    return {
        "rows_flagged": flagged,
        "flagged_share": flagged / rows_in if rows_in else 0.0,
        "flags": flags,
        **{f"rows_{kind}": kinds.get(kind, 0) for kind in Problem.ALL},
    }


def summarize_date(config: ModelConfig, stats: list[UnitStats], contract: dict[str, Any]) -> DateSummary:
    """Merge one date's unit stats and check them against the training contract."""
    rows_in = sum(s["rows_in"] for s in stats)
    quarantined = sum(s["rows_quarantined"] for s in stats)
    scored = sum(s["rows_scored"] for s in stats)
    reasons: dict[str, int] = {}
    nulls = dict.fromkeys(config.features.all, 0)
    for s in stats:
        _add_counts(reasons, s["reasons"])
        _add_counts(nulls, s["nulls"])
    quarantine_problem = _quarantine_problem(config, rows_in, quarantined, reasons)
    problems = [quarantine_problem] if quarantine_problem else []
    problems += _null_problems(config, rows_in, nulls, contract)
    # Built in this key order: the manifests store the summary as it is.
    summary = {
        "rows_in": rows_in,
        "rows_scored": scored,
        "rows_quarantined": quarantined,
        "quarantine_share": quarantined / rows_in if rows_in else 0.0,
        "reasons": reasons,
        **_row_policy_fields(stats, rows_in),
        "null_rates": {c: (n / rows_in if rows_in else 0.0) for c, n in nulls.items()},
        **score_fields(merge_score_stats(stats)),
        "problems": problems,
        **_optional_fields(config, stats, scored),
        "latency_ms_per_1k": sum(s["score_seconds"] for s in stats) * 1e6 / scored if scored else None,
    }
    return cast(DateSummary, summary)
