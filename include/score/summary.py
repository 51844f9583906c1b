"""One date's summary from its units' stats: counts, null rates, score distribution, problems.

The problems (too many quarantined rows, a column far more null than in training) fail the
date at publish; the rest goes to the manifests and to MLflow. Flagged rows (scored, published
with a flag) are counted apart and never count against ``scoring.max_quarantine_fraction``.
"""

from __future__ import annotations

from typing import Any, cast

from include.config import ModelConfig
from include.score.checks import Problem
from include.score.payloads import DateSummary, ShadowStats, ShadowSummary, UnitStats

SCORE_BINS = 20  # histogram of scores in [0, 1]: enough for quantiles and drift checks
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def score_histogram(scores: Any) -> list[int]:
    """Counts of ``scores`` (clipped to [0, 1]) in ``SCORE_BINS`` equal bins."""
    import numpy as np

    counts, _ = np.histogram(np.clip(scores, 0, 1), bins=SCORE_BINS, range=(0.0, 1.0))
    return counts.astype(int).tolist()


def add_histograms(first: list[int], second: list[int]) -> list[int]:
    return [a + b for a, b in zip(first, second, strict=True)]


def score_quantiles(histogram: list[int]) -> dict[str, float]:
    """``score_p10`` ... ``score_p90``: the middle of the bin where each quantile falls."""
    total = sum(histogram)
    out = {}
    for q in QUANTILES:
        running = 0
        for index, count in enumerate(histogram):
            running += count
            if total and running >= q * total:
                out[f"score_p{int(q * 100)}"] = (index + 0.5) / SCORE_BINS
                break
    return out


def _add_counts(total: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        total[name] = total.get(name, 0) + count


def _quarantine_problem(config: ModelConfig, rows_in: int, quarantined: int, reasons: dict[str, int]) -> str | None:
    share = quarantined / rows_in if rows_in else 0.0
    if share <= config.scoring.max_quarantine_fraction:
        return None
    top = ", ".join(f"{r} ({c})" for r, c in sorted(reasons.items(), key=lambda kv: -kv[1])[:5])
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
        "latency_ms_per_1k": (sum(s["seconds"] for s in shadows) * 1e6 / rows) if rows else None,
    }


def _optional_fields(config: ModelConfig, stats: list[UnitStats], scored: int) -> dict[str, Any]:
    """``positive_share`` (classification) and ``shadow`` (with a challenger)."""
    fields: dict[str, Any] = {}
    if config.task == "classification":
        positives = sum(s["positives"] for s in stats)
        fields["positive_share"] = positives / scored if scored else 0.0
    shadow = _shadow_summary(stats)
    if shadow is not None:
        fields["shadow"] = shadow
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
    histogram = [0] * SCORE_BINS
    for s in stats:
        _add_counts(reasons, s["reasons"])
        _add_counts(nulls, s["nulls"])
        histogram = add_histograms(histogram, s["histogram"])
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
        "histogram": histogram,
        **score_quantiles(histogram),
        "problems": problems,
        **_optional_fields(config, stats, scored),
        "latency_ms_per_1k": sum(s["score_seconds"] for s in stats) * 1e6 / scored if scored else None,
    }
    return cast(DateSummary, summary)
