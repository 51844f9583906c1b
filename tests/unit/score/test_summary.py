"""One date's summary from its units' stats (include/score/summary.py)."""

from __future__ import annotations

import numpy as np
import pytest

from include.score.summary import SCORE_BINS, score_histogram, score_quantiles, summarize_date
from tests.unit.score.helpers import make_config

CONFIG = make_config(max_quarantine_fraction=0.05, max_null_increase=0.3)
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
        "positives": more.get("positives", 0),
        "score_seconds": more.get("score_seconds", 0.5),
        "shadow": shadow,
        "files": {},
        "seconds": 1.0,
    }


def test_histogram_clips_scores_into_the_bins():
    counts = score_histogram(np.array([-0.5, 0.0, 0.049, 0.05, 0.5, 0.999, 1.0, 7.0]))
    assert len(counts) == SCORE_BINS and sum(counts) == 8
    assert counts[0] == 3 and counts[1] == 1 and counts[10] == 1 and counts[-1] == 3


def test_quantiles_are_bin_middles_and_absent_without_scores():
    histogram = [0] * SCORE_BINS
    histogram[2], histogram[10], histogram[19] = 10, 80, 10
    assert score_quantiles(histogram) == {
        "score_p10": 0.125,
        "score_p25": 0.525,
        "score_p50": 0.525,
        "score_p75": 0.525,
        "score_p90": 0.525,
    }
    assert score_quantiles([0] * SCORE_BINS) == {}


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


def test_shadow_summary_over_the_units():
    shadows = [
        {"version": "4", "rows": 90, "agree": 81, "abs_diff": 9.0, "errors": 10, "seconds": 0.09},
        {"version": "4", "rows": 10, "agree": 10, "abs_diff": 1.0, "errors": 0, "seconds": 0.01},
    ]
    summary = summarize_date(CONFIG, [stats(shadow=s, index=i) for i, s in enumerate(shadows)], contract())
    assert summary["shadow"] == pytest.approx(
        {
            "version": "4",
            "rows": 100,
            "agreement": 0.91,
            "mean_abs_score_diff": 0.1,
            "error_rate": 10 / 110,
            "latency_ms_per_1k": 1000.0,
        }
    )
    assert "shadow" not in summarize_date(CONFIG, [stats()], contract())


def test_a_challenger_that_failed_everywhere_has_no_agreement():
    failed = {"version": "4", "rows": 0, "agree": 0, "abs_diff": 0.0, "errors": 100, "seconds": 0.0}
    shadow = summarize_date(CONFIG, [stats(shadow=failed)], contract())["shadow"]
    assert shadow["error_rate"] == 1.0
    assert shadow["agreement"] is shadow["mean_abs_score_diff"] is shadow["latency_ms_per_1k"] is None
