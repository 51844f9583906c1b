"""Deploy decisions: is the challenger ready to replace the champion, and may it now?

Pure functions over evidence gathered elsewhere (shadow runs logged by batch scoring, live
metrics from delayed labels), so every verdict is explainable with numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from include.config import ModelConfig
from include.contracts import (
    ARCHIVED,
    CHALLENGER_ALIAS,
    CHAMPION,
    CHAMPION_ALIAS,
    REJECTED,
    SHADOW,
    Artifact,
    Column,
    Dataset,
    Tag,
    alias_uri,
)
from include.errors import RefusedMove

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Criterion:
    name: str
    passed: bool
    value: Any
    threshold: Any
    detail: str


@dataclass
class PromotionVerdict:
    challenger: str | None
    champion: str | None
    criteria: list[Criterion] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return bool(self.criteria) and all(c.passed for c in self.criteria)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.criteria if not c.passed]

    def summary(self) -> str:
        head = "ready to promote" if self.ready else f"not ready: {', '.join(self.failed)}"
        lines = [f"challenger v{self.challenger} vs champion v{self.champion}: {head}"]
        lines += [f"  [{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.criteria]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "challenger": self.challenger,
            "champion": self.champion,
            "ready": self.ready,
            "failed": self.failed,
            "criteria": [asdict(c) for c in self.criteria],
        }


def shadow_evidence(runs: list[dict[str, Any]], champion_version: str) -> dict[str, Any]:
    """Aggregate per-batch shadow records (one per scored date) measured against this champion.

    ``runs``: dicts with ``ds`` and the shadow metrics logged by batch scoring
    (``shadow_rows``, ``shadow_agreement``, ``shadow_error_rate``, ``shadow_latency_ms_per_1k``,
    ``champion_version``). Batches measured against another champion do not count: the
    evidence must compare with the model it would replace.
    """
    batches = [r for r in runs if str(r.get("champion_version")) == str(champion_version)]
    rows = sum(r["shadow_rows"] for r in batches)
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
        "rows": rows,
        "hours": hours,
        "dates": dates,
        "agreement": weighted("shadow_agreement"),
        "error_rate": max((r.get("shadow_error_rate") or 0.0) for r in batches) if batches else None,
        "latency_ms_per_1k": weighted("shadow_latency_ms_per_1k"),
    }


def _criterion(name: str, value: Any, threshold: Any, ok: bool, detail: str) -> Criterion:
    return Criterion(name, bool(ok), value, threshold, detail)


def evaluate_promotion(
    config: ModelConfig,
    challenger: str | None,
    champion: str | None,
    evidence: dict[str, Any],
    live: dict[str, Any] | None = None,
) -> PromotionVerdict:
    """Shadow evidence (and live metrics where labels arrived) against ``deploy`` criteria."""
    d = config.deploy
    verdict = PromotionVerdict(challenger=challenger, champion=champion)
    if challenger is None:
        verdict.criteria.append(_criterion("challenger_exists", None, None, False, "no version holds 'challenger'"))
        return verdict
    c = verdict.criteria
    c.append(
        _criterion(
            "min_shadow_batches",
            evidence["batches"],
            d.min_shadow_batches,
            evidence["batches"] >= d.min_shadow_batches,
            f"{evidence['batches']} shadow batches, needs {d.min_shadow_batches}",
        )
    )
    c.append(
        _criterion(
            "min_shadow_rows",
            evidence["rows"],
            d.min_shadow_rows,
            evidence["rows"] >= d.min_shadow_rows,
            f"{evidence['rows']} rows, needs {d.min_shadow_rows}",
        )
    )
    c.append(
        _criterion(
            "min_shadow_hours",
            evidence["hours"],
            d.min_shadow_hours,
            evidence["hours"] >= d.min_shadow_hours,
            f"{evidence['hours']:.0f} h of data, needs {d.min_shadow_hours:.0f} h",
        )
    )
    agreement = evidence.get("agreement")
    c.append(
        _criterion(
            "min_agreement",
            agreement,
            d.min_agreement,
            agreement is not None and agreement >= d.min_agreement,
            f"agreement {_fmt(agreement)} with the champion, needs {d.min_agreement}",
        )
    )
    error_rate = evidence.get("error_rate")
    c.append(
        _criterion(
            "max_error_rate",
            error_rate,
            d.max_error_rate,
            error_rate is not None and error_rate <= d.max_error_rate,
            f"error rate {_fmt(error_rate)}, limit {d.max_error_rate}",
        )
    )
    latency = evidence.get("latency_ms_per_1k")
    c.append(
        _criterion(
            "max_latency",
            latency,
            d.max_latency_ms_per_1k,
            latency is not None and latency <= d.max_latency_ms_per_1k,
            f"{_fmt(latency, 1)} ms per 1,000 rows, limit {d.max_latency_ms_per_1k}",
        )
    )
    if live and live.get("challenger") is not None and live.get("champion") is not None:
        metric = config.evaluation.primary_metric
        higher = config.higher_is_better[metric]
        gap = (live["champion"] - live["challenger"]) if higher else (live["challenger"] - live["champion"])
        c.append(
            _criterion(
                "live_metric",
                live["challenger"],
                live["champion"],
                gap <= d.max_live_regression,
                f"live {metric} {_fmt(live['challenger'])} vs champion {_fmt(live['champion'])} on "
                f"{live.get('rows', '?')} labelled rows; allowed regression {d.max_live_regression}",
            )
        )
    return verdict


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def freeze_reason(config: ModelConfig, day: dt.date) -> str | None:
    """Why ``day`` (UTC) is frozen for promotions, or None."""
    weekday = _WEEKDAYS[day.weekday()]
    if weekday in config.deploy.freeze_weekdays:
        return f"{day} is a {weekday}: promotions are frozen on {', '.join(config.deploy.freeze_weekdays)}"
    if day.isoformat() in {str(x) for x in config.deploy.freeze_dates}:
        return f"{day} is a listed freeze date"
    return None


def check_freeze(config: ModelConfig, day: dt.date, override_reason: str | None) -> dict[str, Any]:
    """Refuse inside a freeze window unless an override reason is given (then record it)."""
    reason = freeze_reason(config, day)
    if reason and not (override_reason and override_reason.strip()):
        raise RefusedMove(f"promotion refused: {reason}. Trigger with a freeze override reason to proceed.")
    return {"frozen": bool(reason), "freeze_reason": reason, "override_reason": override_reason if reason else None}


# -- evidence from MLflow and storage -----------------------------------------------------------
def shadow_runs(registry: Any, config: ModelConfig, challenger: str) -> list[dict[str, Any]]:
    """The per-date shadow records batch scoring logged for ``challenger``."""
    runs = registry.client.search_runs(
        [registry.experiment_id(config.name)],
        filter_string=f"tags.`{Tag.KIND}` = 'shadow' and tags.`{Tag.SHADOW_VERSION}` = '{challenger}'",
        max_results=1000,
    )
    return [
        {
            "ds": r.data.tags[Tag.DS],
            "champion_version": r.data.tags.get(Tag.SHADOW_CHAMPION_VERSION),
            **{k: v for k, v in r.data.metrics.items() if k.startswith("shadow_")},
        }
        for r in runs
    ]


def live_metrics(storage: Any, config: ModelConfig, dates: list[str], max_label_delay_days: int = 30) -> dict[str, Any]:
    """Primary metric of champion and challenger on the shadow dates' rows whose labels arrived."""
    import pandas as pd

    from include.ml.performance import join_predictions_labels, trailing_performance
    from include.platform.partitions import read_range

    if not dates:
        return {}
    start = dt.date.fromisoformat(min(dates))
    end = dt.date.fromisoformat(max(dates)) + dt.timedelta(days=1)
    labels, _ = read_range(storage, Dataset.LABELS, config.name, start, end + dt.timedelta(days=max_label_delay_days))
    if labels.empty:
        return {}
    out: dict[str, Any] = {}
    for role, dataset in ((CHAMPION, Dataset.PREDICTIONS), (CHALLENGER_ALIAS, Dataset.SHADOW_PREDICTIONS)):
        scored, _ = read_range(storage, dataset, config.name, start, end)
        scored = scored[scored[config.timestamp].notna()] if len(scored) else pd.DataFrame()
        if scored.empty:
            return {}
        joined = join_predictions_labels(scored, labels, config)
        if joined.empty:
            return {}
        performance = trailing_performance(joined, config)
        out[role] = performance["value"]
        out["rows"] = performance["rows"]
    return out


# -- moves ----------------------------------------------------------------------------------------
def _history(registry: Any, name: str, version: str) -> list[dict[str, Any]]:
    import json

    return json.loads(registry.get(name, version).tags.get(Tag.HISTORY, "[]"))


def _last_move_by(registry: Any, name: str, version: str, actor: str, from_stage: str) -> dict[str, Any] | None:
    """The version's latest move if it was ``from_stage`` -> champion made by ``actor``.

    Actors name one DAG run, so this tells a retried promote/rollback task that its first try
    already made the move (the alias moved, then the worker died or the callback failed).
    """
    history = _history(registry, name, str(version))
    last = history[-1] if history else {}
    if last.get("to") == CHAMPION and last.get("from") == from_stage and last.get("by") == actor:
        return last
    return None


def _superseded_by(registry: Any, name: str, version: str, actor: str) -> str | None:
    """The former champion that ``actor`` moved out when ``version`` took the alias."""
    reason = f"superseded by v{version}"
    for other in registry.stages(name):
        if other == str(version):
            continue
        last = (_history(registry, name, other) or [{}])[-1]
        if last.get("from") == CHAMPION and last.get("by") == actor and last.get("reason") == reason:
            return other
    return None


def promote_champion(
    registry: Any,
    config: ModelConfig,
    version: str,
    expected_champion: str | None,
    *,
    reason: str,
    actor: str,
    evidence: dict[str, Any],
) -> dict[str, Any]:
    """shadow -> champion, only if the champion is still the one the evidence was measured on.

    Compare-and-set twice over: the champion alias must still point at ``expected_champion``,
    and the audit table's stage of ``version`` must still be ``shadow`` (one atomic statement
    in the database, so of two concurrent promotions exactly one wins).
    """
    from include.platform import stages

    name = config.name
    current = registry.alias_version(name, CHAMPION_ALIAS)
    current_version = str(current.version) if current is not None else None
    if current_version == str(version) and _last_move_by(registry, name, version, actor, SHADOW) is not None:
        # A retried task whose first try finished the move: report it, do not refuse own work.
        return {
            "action": CHAMPION,
            "version": str(version),
            "previous": _superseded_by(registry, name, version, actor),
            "resumed": True,
        }
    if current_version != (str(expected_champion) if expected_champion is not None else None):
        raise RefusedMove(
            f"champion is v{current_version}, not v{expected_champion} the evidence was measured against: refused"
        )
    stage = registry.stage_of(name, version)
    if stage != stages.SHADOW:
        raise RefusedMove(f"v{version} is {stage!r}, not 'shadow': a version reaches champion only from shadow")
    if registry.audit is not None and not registry.audit.compare_and_set_stage(
        name, version, stages.SHADOW, stages.CHAMPION, actor=actor, reason=reason, evidence=evidence
    ):
        raise RefusedMove(f"v{version} was moved by a concurrent promotion: refused (the other one won)")
    try:
        registry.record_move(
            name, version, stages.CHAMPION, reason=reason, actor=actor, evidence=evidence, audited=False
        )
    except Exception:
        if registry.audit is not None:  # put the audit table back where MLflow still is
            registry.audit.record(
                name, version, stages.CHAMPION, stages.SHADOW, actor, "revert: MLflow move failed", {}
            )
            if current_version:
                registry.audit.record(name, current_version, stages.ARCHIVED, stages.CHAMPION, actor, "revert", {})
        raise
    return {"action": CHAMPION, "version": str(version), "previous": current_version}


def health_check(registry: Any, config: ModelConfig) -> dict[str, Any]:
    """Load ``models:/<name>@champion``, score the saved sample, compare with training's scores."""

    import numpy as np
    import pandas as pd

    from include.ml.evaluation import predict_scores

    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is None:
        return {"ok": False, "version": None, "problems": ["no champion alias"]}
    problems: list[str] = []
    try:
        model = registry.load_model(alias_uri(config.name, CHAMPION_ALIAS), config.skops_trusted_types)
        sample = pd.read_parquet(registry.download_artifact(champion.run_id, Artifact.HEALTH_SAMPLE))
        scores = np.asarray(predict_scores(config, model, sample), dtype="float64")
    except Exception as exc:
        return {"ok": False, "version": str(champion.version), "problems": [f"{type(exc).__name__}: {exc}"]}
    expected = sample[Column.EXPECTED_SCORE].to_numpy(dtype="float64")
    if scores.shape != expected.shape:
        problems.append(f"{scores.shape[0]} scores for {expected.shape[0]} rows")
    if not np.isfinite(scores).all():
        problems.append("non-finite scores")
    if config.task == "classification" and ((scores < 0) | (scores > 1)).any():
        problems.append("scores outside [0, 1]")
    diff = float(np.max(np.abs(scores - expected))) if scores.shape == expected.shape else float("inf")
    if diff > config.deploy.health_tolerance:
        problems.append(
            f"scores differ from training's by up to {diff:.3g} (tolerance {config.deploy.health_tolerance})"
        )
    return {
        "ok": not problems,
        "version": str(champion.version),
        "rows": len(sample),
        "max_abs_diff": diff,
        "problems": problems,
    }


def previous_champion(registry: Any, config: ModelConfig) -> str | None:
    """The most recent version that was champion and was archived (never a rejected one)."""
    best, best_at = None, ""
    current = registry.alias_version(config.name, CHAMPION_ALIAS)
    for version, stage in registry.stages(config.name).items():
        if stage != ARCHIVED or (current is not None and str(current.version) == version):
            continue
        history = _history(registry, config.name, version)
        ends = [h["at"] for h in history if h.get("from") == CHAMPION and h.get("to") == ARCHIVED]
        if ends and max(ends) > best_at:
            best, best_at = version, max(ends)
    return best


def rollback(
    registry: Any, config: ModelConfig, *, target: str | None, reason: str, actor: str, bad_stage: str = REJECTED
) -> dict[str, Any]:
    """Champion alias back to ``target`` (default: the previous champion) in one move."""
    if not (reason and reason.strip()):
        raise RefusedMove("rollback needs a reason")
    name = config.name
    current = registry.alias_version(name, CHAMPION_ALIAS)
    if current is not None and _last_move_by(registry, name, str(current.version), actor, ARCHIVED) is not None:
        restored = str(current.version)  # a retried task: its first try already rolled back
        if not target or str(target) == restored:
            return {
                "action": "rollback",
                "restored": restored,
                "replaced": _superseded_by(registry, name, restored, actor),
                "bad_stage": bad_stage,
                "resumed": True,
            }
    target = str(target) if target else previous_champion(registry, config)
    if target is None:
        raise RefusedMove(f"{name}: no earlier champion to roll back to; name a target version")
    if current is not None and str(current.version) == target:
        raise RefusedMove(f"v{target} is already the champion")
    stage = registry.stage_of(name, target)
    history = _history(registry, name, target)
    if stage != ARCHIVED or not any(h.get("to") == CHAMPION for h in history):
        raise RefusedMove(f"v{target} is {stage!r} and was never champion: only a former champion can be restored")
    registry.record_move(
        name, target, CHAMPION, reason=f"rollback: {reason}", actor=actor, rollback=True, supersede_to=bad_stage
    )
    return {
        "action": "rollback",
        "restored": target,
        "replaced": str(current.version) if current else None,
        "bad_stage": bad_stage,
    }
