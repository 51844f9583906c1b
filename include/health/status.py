"""The one-line status of a model and its reason, from its newest monitored and scored days.

Worst first, the first rule that applies wins:

1. ``no champion``: no version holds the champion stage: nothing serves, nothing else matters;
2. ``degraded``: the newest monitored day failed its data quality checks, or its live metric
   dropped past the configured margin, or the newest scored day quarantined more rows than
   ``scoring.max_quarantine_fraction`` allows: predictions are wrong or missing;
3. ``drifting``: the newest monitored day found dataset drift (share of drifted columns at or
   over ``monitoring.drift_share``) or prediction drift: the inputs moved, the labels may follow;
4. ``healthy``: none of the above (also before the first monitor run, which the reason says).

The champion is not repeated in a reason: the list and the page show it next to it.
"""

from __future__ import annotations

from include.health.payloads import (
    DEGRADED,
    DRIFTING,
    HEALTHY,
    NO_CHAMPION,
    MonitorPoint,
    ScoringPoint,
    Status,
)


def _degraded(monitor: MonitorPoint | None, scoring: ScoringPoint | None, max_quarantine: float | None) -> str | None:
    if monitor is not None and monitor.quality_failed:
        return f"data quality failed on {monitor.ds}: {monitor.quality_summary}".rstrip(": ")
    if monitor is not None and monitor.performance_flagged:
        detail = monitor.performance_message or _metric_text(monitor)
        return f"live performance dropped on {monitor.ds}: {detail}"
    if scoring is not None and max_quarantine is not None and scoring.quarantine_share > max_quarantine:
        return (
            f"{scoring.rows_quarantined} of {scoring.rows_in} rows quarantined on {scoring.ds} "
            f"({scoring.quarantine_share:.1%} > {max_quarantine:.1%})"
        )
    return None


def _drifting(monitor: MonitorPoint | None) -> str | None:
    if monitor is None:
        return None
    if monitor.dataset_drift:
        columns = ", ".join(c.column for c in monitor.top_drifting if c.drifted)
        share = f"{monitor.drift_share:.0%}" if monitor.drift_share is not None else "?"
        return f"dataset drift on {monitor.ds}: {share} of columns drifted ({columns})"
    if monitor.prediction_drifted:
        return f"prediction drift on {monitor.ds} (score {monitor.prediction_drift_score:.3g})"
    return None


def _metric_text(monitor: MonitorPoint) -> str:
    if monitor.metric is None or monitor.live_metric is None:
        return "no labelled predictions yet"
    holdout = f" (hold-out {monitor.holdout_metric:.3f})" if monitor.holdout_metric is not None else ""
    return f"live {monitor.metric} {monitor.live_metric:.3f}{holdout}"


def model_status(
    champion: str | None,
    monitor: list[MonitorPoint],
    scoring: list[ScoringPoint],
    max_quarantine: float | None = None,
) -> Status:
    """The model's status from its champion and its days (both lists oldest first)."""
    if champion is None:
        return Status(NO_CHAMPION, "no version is champion: run retrain (the first passing version) or promote")
    newest_monitor = monitor[-1] if monitor else None
    newest_scoring = scoring[-1] if scoring else None
    reason = _degraded(newest_monitor, newest_scoring, max_quarantine)
    if reason:
        return Status(DEGRADED, reason)
    reason = _drifting(newest_monitor)
    if reason:
        return Status(DRIFTING, reason)
    if newest_monitor is None:
        return Status(HEALTHY, "not monitored yet")
    return Status(HEALTHY, f"no drift on {newest_monitor.ds}, {_metric_text(newest_monitor)}")
