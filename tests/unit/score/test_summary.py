"""One date's summary from its units' stats (include/score/summary.py)."""

from __future__ import annotations

import numpy as np
import pytest

from include.config import load_config
from include.errors import DataError
from include.score.summary import (
    SCORE_BINS,
    add_scores,
    empty_score_stats,
    merge_score_stats,
    score_fields,
    score_histogram,
    score_quantiles,
    score_range,
    summarize_date,
)
from tests.unit.conftest import DELIVERY_YAML
from tests.unit.score.helpers import make_config

CONFIG = make_config(max_quarantine_fraction=0.05, max_null_increase=0.3)
REGRESSION = load_config(DELIVERY_YAML)
FEATURES = CONFIG.features.all


def contract(null_fraction: float = 0.0) -> dict:
    return {"features": {c: {"null_fraction": null_fraction} for c in FEATURES}}


def stats(ds="2026-02-02", index=0, rows_in=100, quarantined=0, reasons=None, nulls=None, shadow=None, **more):
    scored = rows_in - quarantined
    histogram = [0] * SCORE_BINS
    histogram[4] = scored  # every score in [0.20, 0.25)
    return {
        "ds": ds,
        "index": index,
        "rows_in": rows_in,
        "rows_scored": scored,
        "rows_quarantined": quarantined,
        "reasons": reasons or {},
        "nulls": {c: 0 for c in FEATURES} | (nulls or {}),
        "histogram": histogram,
        "score_range": [0.0, 1.0],
        "score_underflow": 0,
        "score_overflow": 0,
        "score_min": 0.2 if scored else None,
        "score_max": 0.2499 if scored else None,
        "positives": more.get("positives", 0),
        "score_seconds": more.get("score_seconds", 0.5),
        "shadow": shadow,
        "files": {},
        "seconds": 1.0,
    }


def test_histogram_counts_scores_outside_the_range_apart():
    stats = empty_score_stats(0.0, 1.0)
    add_scores(stats, np.array([-0.5, 0.0, 0.049, 0.05, 0.5, 0.999, 1.0, 7.0, np.nan]))
    counts = stats["histogram"]
    assert len(counts) == SCORE_BINS and sum(counts) == 6  # -0.5 and 7.0 are out of range, NaN is no score
    assert counts[0] == 2 and counts[1] == 1 and counts[10] == 1 and counts[-1] == 2
    assert (stats["score_underflow"], stats["score_overflow"]) == (1, 1)
    assert (stats["score_min"], stats["score_max"]) == (-0.5, 7.0)
    assert score_histogram(np.array([2.0, 3.0, 4.0]), 2.0, 4.0)[0] == 1


def test_quantiles_are_interpolated_inside_their_bin_and_absent_without_scores():
    histogram = [0] * SCORE_BINS
    histogram[2], histogram[10], histogram[19] = 10, 80, 10
    assert score_quantiles(histogram) == pytest.approx(
        {
            "score_p10": 0.15,  # the 10th of 100 scores: the top of bin 2, [0.10, 0.15)
            "score_p25": 0.5 + 0.05 * 15 / 80,
            "score_p50": 0.5 + 0.05 * 40 / 80,
            "score_p75": 0.5 + 0.05 * 65 / 80,
            "score_p90": 0.55,
        }
    )
    assert score_quantiles([0] * SCORE_BINS) == {}


def test_regression_quantiles_are_right_on_the_real_range():
    """Issue 11: predictions between 1.25 and 20.4 had every quantile at 0.975 (clipped to [0, 1])."""
    rng = np.random.default_rng(3)
    scores = rng.uniform(1.25, 20.4, 10_000)
    low, high = score_range(REGRESSION, {"score_min": 1.25, "score_max": 20.4})
    assert (low, high) == (1.25, 20.4)
    stats = empty_score_stats(low, high)
    add_scores(stats, scores)
    fields = score_fields(merge_score_stats([stats]))
    width = (high - low) / SCORE_BINS
    for q in (10, 25, 50, 75, 90):
        assert fields[f"score_p{q}"] == pytest.approx(np.quantile(scores, q / 100), abs=width)
    assert 1.25 <= fields["score_p10"] < fields["score_p50"] < fields["score_p90"] <= 20.4
    assert (fields["score_min"], fields["score_max"]) == (scores.min(), scores.max())


def test_scores_beyond_the_range_keep_quantiles_between_the_exact_min_and_max():
    """A live range wider than the hold-out's (or an old contract's [0, 1] fallback): the
    quantiles fall in the under/overflow stretch, interpolated up to the exact min / max."""
    scores = np.linspace(30.0, 60.0, 301)
    stats = empty_score_stats(0.0, 1.0)  # every score overflows
    add_scores(stats, scores)
    fields = score_fields(merge_score_stats([stats]))
    assert stats["score_overflow"] == 301 and sum(stats["histogram"]) == 0
    assert fields["score_p50"] == pytest.approx(45.0)
    assert 30.0 <= fields["score_p10"] < fields["score_p90"] <= 60.0


def test_score_range_per_task_and_fallbacks():
    churn = CONFIG
    assert score_range(churn, {"score_min": 3.0, "score_max": 9.0}) == (0.0, 1.0)  # probabilities
    regression = REGRESSION
    assert score_range(regression, {"score_min": 3.0, "score_max": 9.0}) == (3.0, 9.0)
    assert score_range(regression, {}) == (0.0, 1.0)  # a contract written before the range was stored
    assert score_range(regression, {"score_min": 5.0, "score_max": 5.0}) == (4.5, 5.5)  # a constant model


def test_unit_histograms_merge_as_a_sum():
    first, second = empty_score_stats(2.0, 12.0), empty_score_stats(2.0, 12.0)
    add_scores(first, np.array([1.0, 2.5, 7.0]))
    add_scores(second, np.array([7.1, 11.9, 13.0]))
    merged = merge_score_stats([first, second])
    assert merged["histogram"] == [a + b for a, b in zip(first["histogram"], second["histogram"], strict=True)]
    assert (merged["score_underflow"], merged["score_overflow"]) == (1, 1)
    assert (merged["score_min"], merged["score_max"]) == (1.0, 13.0)
    with pytest.raises(DataError, match="different ranges"):
        merge_score_stats([first, empty_score_stats(0.0, 1.0)])


def test_units_are_merged_in_the_stored_key_order():
    summary = summarize_date(
        CONFIG,
        [
            stats(index=0, rows_in=100, quarantined=2, reasons={"out of range: tenure_months": 2}, positives=10),
            stats(index=1, rows_in=300, quarantined=1, reasons={"out of range: tenure_months": 1}, positives=30),
        ],
        contract(),
    )
    assert list(summary) == [
        "rows_in",
        "rows_scored",
        "rows_quarantined",
        "quarantine_share",
        "reasons",
        "rows_flagged",
        "flagged_share",
        "flags",
        "rows_null_key",
        "rows_timestamp",
        "rows_duplicate",
        "rows_infinite",
        "rows_out_of_range",
        "rows_unseen_category",
        "null_rates",
        "histogram",
        "score_range",
        "score_underflow",
        "score_overflow",
        "score_min",
        "score_max",
        "score_p10",
        "score_p25",
        "score_p50",
        "score_p75",
        "score_p90",
        "problems",
        "positive_share",
        "latency_ms_per_1k",
    ]
    assert (summary["rows_in"], summary["rows_scored"], summary["rows_quarantined"]) == (400, 397, 3)
    assert summary["reasons"] == {"out of range: tenure_months": 3}
    assert summary["quarantine_share"] == pytest.approx(3 / 400)
    assert summary["positive_share"] == pytest.approx(40 / 397)
    assert summary["latency_ms_per_1k"] == pytest.approx(1.0 * 1e6 / 397)
    assert summary["problems"] == []


def test_problems_name_the_quarantine_share_and_the_null_rates():
    column = FEATURES[0]
    summary = summarize_date(
        CONFIG,
        [stats(rows_in=200, quarantined=20, reasons={"a": 5, "b": 15}, nulls={column: 100})],
        contract(null_fraction=0.1),
    )
    assert summary["problems"] == [
        "20 of 200 rows (10.0%) failed hard checks, limit 5.0%: b (15), a (5)",
        f"column {column!r} is 50.0% null (training 10.0%, allowed 40.0%)",
    ]


def test_superseded_duplicates_do_not_count_against_the_quarantine_limit():
    """A feed that re-sends rows: keep_latest scored each entity once; the day publishes."""
    from include.score.checks import SUPERSEDED_REASON

    resent = summarize_date(CONFIG, [stats(rows_in=200, quarantined=60, reasons={SUPERSEDED_REASON: 60})], contract())
    assert resent["problems"] == [] and resent["rows_quarantined"] == 60
    mixed = summarize_date(
        CONFIG, [stats(rows_in=200, quarantined=80, reasons={SUPERSEDED_REASON: 60, "a": 20})], contract()
    )
    assert mixed["problems"] == ["20 of 200 rows (10.0%) failed hard checks, limit 5.0%: a (20)"]


def test_shadow_summary_over_the_units():
    shadows = [
        # latency: the units' measurements (one thread, best of repeats) weighted by rows; the wall
        # seconds of a busy machine do not count
        {
            "version": "4",
            "rows": 90,
            "agree": 81,
            "abs_diff": 9.0,
            "errors": 10,
            "seconds": 9.0,
            "latency_ms_per_1k": 40,
        },
        {
            "version": "4",
            "rows": 10,
            "agree": 10,
            "abs_diff": 1.0,
            "errors": 0,
            "seconds": 1.0,
            "latency_ms_per_1k": 140,
        },
    ]
    summary = summarize_date(CONFIG, [stats(shadow=s, index=i) for i, s in enumerate(shadows)], contract())
    assert summary["shadow"] == pytest.approx(
        {
            "version": "4",
            "rows": 100,
            "agreement": 0.91,
            "mean_abs_score_diff": 0.1,
            "error_rate": 10 / 110,
            "latency_ms_per_1k": 50.0,
        }
    )
    assert "shadow" not in summarize_date(CONFIG, [stats()], contract())


def test_a_challenger_that_failed_everywhere_has_no_agreement():
    failed = {"version": "4", "rows": 0, "agree": 0, "abs_diff": 0.0, "errors": 100, "seconds": 0.0}
    shadow = summarize_date(CONFIG, [stats(shadow=failed)], contract())["shadow"]
    assert shadow["error_rate"] == 1.0
    assert shadow["agreement"] is shadow["mean_abs_score_diff"] is shadow["latency_ms_per_1k"] is None
