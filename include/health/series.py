"""One point per monitored day and per scored day, from the files the pipelines write.

The shapes read here are those of ``include/monitor/report.py`` (``summary.json``:
``monitor_summary``, payloads in ``include/monitor/payloads.py``) and of the predictions
manifests (``meta["summary"]``: ``include/score/payloads.DateSummary``). A key a writer left out
(an older summary, a day whose quality check failed) reads as None, never as an error.
"""

from __future__ import annotations

from typing import Any

from include.health.payloads import DriftingColumn, MonitorPoint, ScoringPoint

TOP_COLUMNS = 3  # drifting columns named per day


def _severity(column: dict[str, Any]) -> float:
    """How far past its threshold a column is, comparable across tests: a p-value drifts when
    it is below the threshold, a distance when it is above."""
    score, threshold = float(column.get("score") or 0.0), float(column.get("threshold") or 0.0)
    if column.get("kind") == "pvalue":
        return threshold / score if score > 0 else float("inf")
    return score / threshold if threshold > 0 else score


def top_drifting(columns: list[dict[str, Any]], n: int = TOP_COLUMNS) -> list[DriftingColumn]:
    """The ``n`` columns furthest past their drift threshold, drifted ones first."""
    ranked = sorted(columns, key=lambda c: (bool(c.get("drifted")), _severity(c)), reverse=True)
    return [
        DriftingColumn(
            column=str(c["column"]),
            stattest=str(c.get("stattest", "")),
            score=float(c.get("score") or 0.0),
            threshold=float(c.get("threshold") or 0.0),
            drifted=bool(c.get("drifted")),
        )
        for c in ranked[:n]
    ]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _drift_fields(drift: dict[str, Any] | None) -> dict[str, Any]:
    features = (drift or {}).get("features") or {}
    prediction = (drift or {}).get("prediction") or {}
    return {
        "drift_share": _number(features.get("share_drifted")),
        "dataset_drift": bool(features["dataset_drift"]) if "dataset_drift" in features else None,
        "drift_threshold": _number(features.get("drift_share")),
        "top_drifting": top_drifting(list(features.get("columns") or [])),
        "prediction_drift_score": _number(prediction.get("score")),
        "prediction_drifted": bool(prediction["drifted"]) if "drifted" in prediction else None,
        "prediction_stattest": prediction.get("stattest"),
        "prediction_threshold": _number(prediction.get("threshold")),
        "prediction_kind": prediction.get("kind"),
    }


def _performance_fields(performance: dict[str, Any] | None) -> dict[str, Any]:
    performance = performance or {}
    live = performance.get("value", performance.get("current"))
    return {
        "metric": performance.get("metric"),
        "live_metric": _number(live),
        "holdout_metric": _number(performance.get("reference")),
        "performance_flagged": bool(performance.get("flagged")),
        "performance_message": str(performance.get("message") or performance.get("detail") or ""),
    }


def monitor_point(summary: dict[str, Any]) -> MonitorPoint:
    """The day's point from its ``summary.json`` (as ``include/monitor/report.py`` writes it)."""
    quality = summary.get("quality") or {}
    decision = summary.get("decision") or {}
    version = summary.get("champion_version")
    return MonitorPoint(
        ds=str(summary["ds"]),
        champion_version=str(version) if version is not None else None,
        quality_failed=bool(quality.get("failed")),
        quality_summary=str(quality.get("summary") or ""),
        **_drift_fields(summary.get("drift")),
        **_performance_fields(summary.get("performance")),
        retrain=bool(decision.get("retrain")),
        decision=str(decision.get("summary") or ""),
        airflow_run_id=summary.get("airflow_run_id"),
    )


def scoring_point(ds: str, meta: dict[str, Any], rows: int) -> ScoringPoint:
    """The day's point from its predictions manifest (``meta``; ``rows``: the manifest's row
    count, for partitions written before the summary existed)."""
    summary = meta.get("summary") or {}
    latency = _number(summary.get("latency_ms_per_1k"))
    version = meta.get("model_version")
    return ScoringPoint(
        ds=ds,
        model_version=str(version) if version is not None else None,
        rows_in=int(summary.get("rows_in", rows)),
        rows_scored=int(summary.get("rows_scored", rows)),
        rows_quarantined=int(summary.get("rows_quarantined", 0)),
        rows_flagged=int(summary.get("rows_flagged", 0)),
        quarantine_share=float(summary.get("quarantine_share", 0.0)),
        latency_ms_per_1k=latency,
        # latency_ms_per_1k is the scoring seconds of all units per scored row (x 1e6): its inverse
        # is rows per second of one worker.
        rows_per_second=1e6 / latency if latency else None,
        airflow_run_id=meta.get("run_id"),
    )
