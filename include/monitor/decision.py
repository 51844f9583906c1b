"""Whether a monitor run asks for a retrain: each configured trigger with its reason and numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.config import ModelConfig
from include.monitor.live_performance import new_labels_since
from include.monitor.payloads import (
    Decision,
    DriftResult,
    PerformanceResult,
    QualityResult,
    Reference,
    RetrainReason,
)
from include.monitor.reference import window_end
from include.platform.storage import Storage

MAX_REASON_CHARS = 500  # the retrain DAG's reason Param holds at most this many


def _drift_reason(config: ModelConfig, drift: DriftResult) -> RetrainReason:
    f = drift["features"]
    drifted = [c["column"] for c in f["columns"] if c["drifted"]]
    detail = (
        f"{f['n_drifted']} of {len(f['columns'])} features drifted "
        f"({f['share_drifted']:.0%} >= {config.monitoring.drift_share:.0%}): {', '.join(drifted)}"
    )
    return {"trigger": "dataset_drift", "detail": detail, "share": f["share_drifted"]}


def _concept_reason(performance: PerformanceResult | None) -> RetrainReason | None:
    """An increase of the error rate flagged by the concept-drift detector (a decrease, a better
    model, is no reason to retrain)."""
    concept = (performance or {}).get("concept_drift") or {}
    first = concept.get("first_increase")
    if first is None:
        return None
    increases = sum(1 for d in concept.get("directions", []) if d == "up")
    at = concept.get("first_increase_at")
    # The detector's before/after means are around its first detection: only quoted when that
    # detection is the first increase.
    same = concept.get("first_detection") == first
    before = concept.get("mean_before_first") if same else None
    after = concept.get("mean_after_first") if same else None
    where = f"row {first} of {concept.get('n')}" + (f" ({at})" if at else "")
    detail = (
        f"concept drift: {concept.get('detector')} flagged {increases} increase(s) of the error rate in "
        f"{concept.get('n')} labelled predictions of {performance.get('window', '?') if performance else '?'}, "
        f"first at {where}"
    )
    if before is not None and after is not None:
        detail += f"; mean error {before:.3f} before, {after:.3f} after"
    return {
        "trigger": "concept_drift",
        "detail": detail,
        "detector": str(concept.get("detector")),
        "detections": increases,
        "at_row": int(first),
        "at": at,
        "error_before": before,
        "error_after": after,
    }


def _age_reason(config: ModelConfig, reference: Reference, ds: str) -> RetrainReason | None:
    trained_until = reference.get("trained_until")
    if not trained_until:
        return None
    age = (dt.date.fromisoformat(ds) - dt.date.fromisoformat(trained_until)).days
    if age <= config.monitoring.max_model_age_days:
        return None
    detail = (
        f"champion v{reference['version']} trained on data up to {trained_until}: "
        f"{age} days old > {config.monitoring.max_model_age_days}"
    )
    return {"trigger": "model_age", "detail": detail, "days": age}


def _candidate_reasons(
    config: ModelConfig,
    reference: Reference,
    drift: DriftResult | None,
    performance: PerformanceResult | None,
    new_labels: int,
    ds: str,
    manual_reason: str | None,
) -> list[RetrainReason | None]:
    m = config.monitoring
    reasons: list[RetrainReason | None] = []
    if drift and drift["features"]["dataset_drift"]:
        reasons.append(_drift_reason(config, drift))
    if performance and performance.get("flagged"):
        reasons.append(
            {"trigger": "performance_drop", "detail": performance["message"], "drop": performance.get("drop")}
        )
    reasons.append(_concept_reason(performance))
    if new_labels >= m.min_new_labels:
        detail = (
            f"{new_labels} labelled rows arrived since training ended {reference['trained_until']} "
            f"(threshold {m.min_new_labels})"
        )
        reasons.append({"trigger": "new_labels", "detail": detail, "rows": new_labels})
    reasons.append(_age_reason(config, reference, ds))
    if manual_reason:
        reasons.append({"trigger": "manual", "detail": f"requested: {manual_reason}"})
    return reasons


def decide(
    config: ModelConfig,
    reference: Reference,
    quality: QualityResult,
    drift: DriftResult | None,
    performance: PerformanceResult | None,
    new_labels: int,
    ds: str,
    manual_reason: str | None = None,
) -> Decision:
    """Which configured triggers fire, each with its reason and numbers.

    A failed quality check blocks every trigger: drift and performance numbers mean nothing on
    broken data. ``window_end`` is the day after ``ds`` (a retrain then trains on the checked
    day too); ``retrain_reason`` is what a retrain run records as its reason.
    """
    end = window_end(ds)
    if quality["failed"]:
        summary = quality["summary"]
        reason = _retrain_reason(config, ds, summary)
        return {
            "retrain": False,
            "reasons": [],
            "blocked_by": "data quality",
            "summary": summary,
            "window_end": end,
            "retrain_reason": reason,
        }
    candidates = _candidate_reasons(config, reference, drift, performance, new_labels, ds, manual_reason)
    reasons = [r for r in candidates if r is not None and r["trigger"] in config.monitoring.triggers]
    summary = "; ".join(r["detail"] for r in reasons) or "no retrain trigger fired"
    return {
        "retrain": bool(reasons),
        "reasons": reasons,
        "blocked_by": None,
        "summary": summary,
        "window_end": end,
        "retrain_reason": _retrain_reason(config, ds, summary),
    }


def _retrain_reason(config: ModelConfig, ds: str, summary: str) -> str:
    return f"monitor_{config.name} {ds}: {summary}"[:MAX_REASON_CHARS]


def manual_reason(params: dict[str, Any]) -> str | None:
    """The reason of a manual retrain request (Params ``retrain`` and ``reason``), else None."""
    if not params.get("retrain"):
        return None
    return params.get("reason") or "manual trigger"


def decide_for_day(
    storage: Storage,
    config: ModelConfig,
    reference: Reference,
    quality: QualityResult,
    drift: DriftResult | None,
    performance: PerformanceResult | None,
    params: dict[str, Any],
) -> Decision:
    """``decide`` for the day in ``reference["ds"]``, counting the labels that arrived since the
    champion's training window and reading a manual request from the run's Params."""
    ds = reference["ds"]
    labels = new_labels_since(storage, config, reference["trained_until"], ds)
    return decide(config, reference, quality, drift, performance, labels, ds, manual_reason(params))
