"""The model page's plots, from its days (``ModelHealth.monitor`` and ``.scoring``)."""

from __future__ import annotations

from include.health.payloads import ModelHealth
from include.health.svg import PALETTE, ChartSeries, bar_chart, line_chart


def drift_chart(health: ModelHealth) -> str:
    days = health.monitor
    threshold = next((p.drift_threshold for p in reversed(days) if p.drift_threshold is not None), None)
    return line_chart(
        "Drift share per monitored day (drifted columns / all)",
        [p.ds for p in days],
        [ChartSeries("drift share", [p.drift_share for p in days], PALETTE[0])],
        reference=threshold,
        reference_name="dataset drift at",
    )


def performance_chart(health: ModelHealth) -> str:
    days = health.monitor
    metric = next((p.metric for p in reversed(days) if p.metric), None) or "metric"
    return line_chart(
        f"Live {metric} against the hold-out {metric}",
        [p.ds for p in days],
        [
            ChartSeries(f"live {metric}", [p.live_metric for p in days], PALETTE[1]),
            ChartSeries(f"hold-out {metric}", [p.holdout_metric for p in days], PALETTE[2]),
        ],
        zero=False,
        empty="no labelled predictions yet (labels arrive after the scored day)",
    )


def prediction_drift_chart(health: ModelHealth) -> str:
    """The test's score per day with its threshold: for a p-value test drift is *below* the line,
    for a distance at or above it (the title says which)."""
    days = health.monitor
    last = next((p for p in reversed(days) if p.prediction_stattest), None)
    title, threshold = "Prediction drift (published vs hold-out scores)", None
    if last is not None:
        threshold = last.prediction_threshold
        rule = {"pvalue": "drift below", "distance": "drift at or above"}.get(last.prediction_kind or "", "threshold")
        title = f"Prediction drift: {last.prediction_stattest} of published vs hold-out scores ({rule} {threshold:g})"
    return line_chart(
        title,
        [p.ds for p in days],
        [
            ChartSeries(
                f"{last.prediction_stattest if last else 'test'} score",
                [p.prediction_drift_score for p in days],
                PALETTE[4],
            )
        ],
        reference=threshold,
        reference_name="threshold",
        empty="no scored day monitored yet",
    )


def rows_chart(health: ModelHealth) -> str:
    days = health.scoring
    return bar_chart(
        "Rows per scored day",
        [p.ds for p in days],
        [
            ChartSeries("scored", [p.rows_scored - p.rows_flagged for p in days], PALETTE[0]),
            ChartSeries("scored, flagged", [p.rows_flagged for p in days], PALETTE[3]),
            ChartSeries("quarantined", [p.rows_quarantined for p in days], PALETTE[1]),
        ],
    )


def throughput_chart(health: ModelHealth) -> str:
    days = health.scoring
    return line_chart(
        "Scoring throughput (rows / s of one worker)",
        [p.ds for p in days],
        [ChartSeries("rows / s", [p.rows_per_second for p in days], PALETTE[5])],
    )


def latency_chart(health: ModelHealth) -> str:
    days = health.scoring
    return line_chart(
        "Scoring latency (ms per 1,000 rows)",
        [p.ds for p in days],
        [ChartSeries("ms / 1k rows", [p.latency_ms_per_1k for p in days], PALETTE[3])],
    )


def all_charts(health: ModelHealth) -> list[tuple[str, str]]:
    """``[(id, svg)]`` in page order: monitoring first, then scoring."""
    return [
        ("drift-share", drift_chart(health)),
        ("performance", performance_chart(health)),
        ("prediction-drift", prediction_drift_chart(health)),
        ("rows", rows_chart(health)),
        ("throughput", throughput_chart(health)),
        ("latency", latency_chart(health)),
    ]
