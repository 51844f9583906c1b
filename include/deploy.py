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

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DeployRefused(RuntimeError):
    """A deploy step was refused; the message says which rule and why."""


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
        raise DeployRefused(f"promotion refused: {reason}. Trigger with a freeze override reason to proceed.")
    return {"frozen": bool(reason), "freeze_reason": reason, "override_reason": override_reason if reason else None}
