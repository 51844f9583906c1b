"""The challenger's evidence: shadow runs batch scoring logged in MLflow, live metrics where
labels arrived, and how long it has been in shadow (a stale challenger is rejected)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from include.config import ModelConfig
from include.contracts import (
    AB,
    CANARY,
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    REJECTED,
    SHADOW,
    Dataset,
    RunKind,
    Tag,
)
from include.deploy.criteria import evaluate_promotion
from include.deploy.payloads import GatheredEvidencePayload, LiveMetricsPayload, ShadowEvidencePayload

if TYPE_CHECKING:
    from include.platform.registry import ModelRegistry
    from include.platform.storage import Storage

log = logging.getLogger(__name__)


def collect_evidence(
    registry: ModelRegistry,
    config: ModelConfig,
    *,
    open_storage: Callable[[], Storage],
    now: dt.datetime,
    actor: str,
    dry_run: bool = False,
) -> GatheredEvidencePayload:
    """The verdict on the challenger, with its shadow evidence and live metrics.

    No challenger: a verdict that names it. A challenger in shadow longer than
    ``deploy.reject_after_days`` (counted up to ``now``) is rejected instead of evaluated.
    ``open_storage`` is called only when the live metrics are read. With ``deploy.strategy:
    canary`` the run decides the canary's step instead (``include/deploy/canary.py``), with
    ``ab`` the A/B test's decision (``include/deploy/ab.py``); a ``dry_run`` records neither.
    """
    name = config.name
    champion = registry.alias_version(name, CHAMPION_ALIAS)
    challenger = registry.alias_version(name, CHALLENGER_ALIAS)
    champion_v = str(champion.version) if champion else None
    if challenger is None:
        verdict = evaluate_promotion(config, None, champion_v, {})
        return {"verdict": verdict.to_dict(), "summary": verdict.summary(), "rejected": False}
    version = str(challenger.version)
    age_days = shadow_age_days(challenger.tags, now)
    if age_days > config.deploy.reject_after_days:
        return reject_stale_challenger(registry, config, version, age_days, actor=actor)
    if config.deploy.strategy == CANARY:
        from include.deploy.canary import canary_evidence

        return canary_evidence(registry, config, version, champion_v, open_storage, actor=actor, dry_run=dry_run)
    if config.deploy.strategy == AB:
        from include.deploy.ab import ab_evidence

        return ab_evidence(registry, config, version, champion_v, open_storage, actor=actor, dry_run=dry_run)
    evidence = shadow_evidence(shadow_runs(registry, config, version), champion_v)
    live = live_metrics(open_storage(), config, evidence["dates"])
    verdict = evaluate_promotion(config, version, champion_v, evidence, live)
    return {
        "verdict": verdict.to_dict(),
        "summary": verdict.summary(),
        "evidence": evidence,
        "live": live,
        "rejected": False,
    }


def shadow_age_days(tags: dict[str, str], now: dt.datetime) -> int:
    """Whole days from the version's last move into shadow (its history tag) to ``now``; 0 without one."""
    history = json.loads(tags.get(Tag.HISTORY, "[]"))
    since = [h["at"] for h in history if h.get("to") == SHADOW]
    return (now - dt.datetime.fromisoformat(since[-1])).days if since else 0


def reject_stale_challenger(
    registry: ModelRegistry, config: ModelConfig, version: str, age_days: int, *, actor: str
) -> GatheredEvidencePayload:
    """shadow -> rejected for a challenger that never earned its promotion in time (audited)."""
    reason = f"in shadow {age_days} days > reject_after_days {config.deploy.reject_after_days}"
    registry.record_move(config.name, version, REJECTED, reason=reason, actor=actor)
    log.info("v%s rejected: %s", version, reason)
    return {"verdict": {"ready": False, "challenger": version}, "summary": reason, "rejected": True}


def shadow_evidence(runs: list[dict[str, Any]], champion_version: str | None) -> ShadowEvidencePayload:
    """Aggregate per-batch shadow records (one per scored date) measured against this champion.

    ``runs``: dicts with ``ds`` and the shadow metrics logged by batch scoring
    (``shadow_rows``, ``shadow_agreement``, ``shadow_error_rate``, ``shadow_latency_ms_per_1k``,
    ``champion_version``). Batches measured against another champion do not count: the
    evidence must compare with the model it would replace.
    """
    batches = [r for r in runs if str(r.get("champion_version")) == str(champion_version)]
    dates = sorted(r["ds"] for r in batches)

    def weighted(key: str) -> float | None:
        values = [(r[key], r["shadow_rows"]) for r in batches if r.get(key) is not None]
        total = sum(w for _, w in values)
        return sum(v * w for v, w in values) / total if total else None

    hours = 0.0
    if dates:
        hours = ((dt.date.fromisoformat(dates[-1]) - dt.date.fromisoformat(dates[0])).days + 1) * 24.0
    return {
        "batches": len(batches),
        "rows": sum(r["shadow_rows"] for r in batches),
        "hours": hours,
        "dates": dates,
        "agreement": weighted("shadow_agreement"),
        "error_rate": max((r.get("shadow_error_rate") or 0.0) for r in batches) if batches else None,
        "latency_ms_per_1k": weighted("shadow_latency_ms_per_1k"),
        "score_diff": weighted("shadow_mean_abs_score_diff"),
    }


def shadow_runs(registry: ModelRegistry, config: ModelConfig, challenger: str) -> list[dict[str, Any]]:
    """The per-date shadow records batch scoring logged for ``challenger``."""
    runs = registry.client.search_runs(
        [registry.experiment_id(config.name)],
        filter_string=f"tags.`{Tag.KIND}` = '{RunKind.SHADOW}' and tags.`{Tag.SHADOW_VERSION}` = '{challenger}'",
        max_results=1000,
    )
    return [
        {
            "ds": r.data.tags[Tag.DS],
            "champion_version": r.data.tags.get(Tag.SHADOW_CHAMPION_VERSION),
            "canary_share": r.data.tags.get(Tag.CANARY_SHARE),
            **{k: v for k, v in r.data.metrics.items() if k.startswith("shadow_")},
        }
        for r in runs
    ]


def live_metrics(
    storage: Storage, config: ModelConfig, dates: list[str], max_label_delay_days: int = 30
) -> LiveMetricsPayload:
    """Primary metric of champion and challenger on the shadow dates' rows whose labels arrived."""
    from include.platform.partitions import read_range

    if not dates:
        return {}
    start = dt.date.fromisoformat(min(dates))
    end = dt.date.fromisoformat(max(dates)) + dt.timedelta(days=1)
    labels, _ = read_range(storage, Dataset.LABELS, config.name, start, end + dt.timedelta(days=max_label_delay_days))
    if labels.empty:
        return {}
    champion = _performance(storage, config, Dataset.PREDICTIONS, labels, start, end)
    if champion is None:
        return {}
    challenger = _performance(storage, config, Dataset.SHADOW_PREDICTIONS, labels, start, end)
    if challenger is None:
        return {}
    return {"champion": champion["value"], "rows": challenger["rows"], "challenger": challenger["value"]}


def _performance(
    storage: Storage, config: ModelConfig, dataset: str, labels: Any, start: dt.date, end: dt.date
) -> dict[str, Any] | None:
    """Trailing performance of one scored dataset on the labelled rows; None when nothing joins."""
    import pandas as pd

    from include.ml.performance import join_predictions_labels, trailing_performance
    from include.platform.partitions import read_range

    scored, _ = read_range(storage, dataset, config.name, start, end)
    scored = scored[scored[config.timestamp].notna()] if len(scored) else pd.DataFrame()
    if scored.empty:
        return None
    joined = join_predictions_labels(scored, labels, config)
    if joined.empty:
        return None
    return trailing_performance(joined, config)
