"""Is the challenger ready to replace the champion? Every ``deploy`` criterion with its numbers.

Pure functions over evidence gathered elsewhere (shadow runs logged by batch scoring, live
metrics from delayed labels), so every verdict is explainable with numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from include.config import ModelConfig
from include.deploy.payloads import (
    CriterionPayload,
    LiveMetricsPayload,
    PromotionVerdictPayload,
    ShadowEvidencePayload,
)


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
        if self.challenger is None:  # nothing in shadow: not a refusal, nothing to compare
            return f"no challenger to promote; champion v{self.champion} stays"
        head = "ready to promote" if self.ready else f"not ready: {', '.join(self.failed)}"
        lines = [f"challenger v{self.challenger} vs champion v{self.champion}: {head}"]
        lines += [f"  [{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.criteria]
        return "\n".join(lines)

    def to_dict(self) -> PromotionVerdictPayload:
        return {
            "challenger": self.challenger,
            "champion": self.champion,
            "ready": self.ready,
            "failed": self.failed,
            "criteria": [cast(CriterionPayload, asdict(c)) for c in self.criteria],
        }


def evaluate_promotion(
    config: ModelConfig,
    challenger: str | None,
    champion: str | None,
    evidence: ShadowEvidencePayload | dict[str, Any],
    live: LiveMetricsPayload | dict[str, Any] | None = None,
) -> PromotionVerdict:
    """Shadow evidence (and live metrics where labels arrived) against ``deploy`` criteria."""
    verdict = PromotionVerdict(challenger=challenger, champion=champion)
    if challenger is None:
        verdict.criteria.append(Criterion("challenger_exists", False, None, None, "no version holds 'challenger'"))
        return verdict
    verdict.criteria.extend(shadow_criteria(config, evidence))
    live_criterion = live_metric_criterion(config, live)
    if live_criterion is not None:
        verdict.criteria.append(live_criterion)
    return verdict


def shadow_criteria(config: ModelConfig, evidence: ShadowEvidencePayload | dict[str, Any]) -> list[Criterion]:
    """Volume (batches, rows, hours of data) and quality (agreement, errors, latency) of the shadow runs."""
    return [*volume_criteria(config, evidence), *quality_criteria(config, evidence)]


def volume_criteria(config: ModelConfig, evidence: ShadowEvidencePayload | dict[str, Any]) -> list[Criterion]:
    """Enough shadow evidence: batches, rows and hours of data."""
    d = config.deploy
    batches, rows, hours = evidence["batches"], evidence["rows"], evidence["hours"]
    return [
        _criterion(
            "min_shadow_batches",
            batches,
            d.min_shadow_batches,
            batches >= d.min_shadow_batches,
            f"{batches} shadow batches, needs {d.min_shadow_batches}",
        ),
        _criterion(
            "min_shadow_rows",
            rows,
            d.min_shadow_rows,
            rows >= d.min_shadow_rows,
            f"{rows} rows, needs {d.min_shadow_rows}",
        ),
        _criterion(
            "min_shadow_hours",
            hours,
            d.min_shadow_hours,
            hours >= d.min_shadow_hours,
            f"{hours:.0f} h of data, needs {d.min_shadow_hours:.0f} h",
        ),
    ]


def quality_criteria(config: ModelConfig, evidence: ShadowEvidencePayload | dict[str, Any]) -> list[Criterion]:
    """How the challenger scored beside the champion: agreement, error rate, latency (a canary
    step judges these too, on the dates published at its share)."""
    d = config.deploy
    agreement = evidence.get("agreement")
    error_rate = evidence.get("error_rate")
    latency = evidence.get("latency_ms_per_1k")
    return [
        _criterion(
            "min_agreement",
            agreement,
            d.min_agreement,
            agreement is not None and agreement >= d.min_agreement,
            f"agreement {_fmt(agreement)} with the champion{_agreement_rule(config)}, needs {d.min_agreement}",
        ),
        _criterion(
            "max_error_rate",
            error_rate,
            d.max_error_rate,
            error_rate is not None and error_rate <= d.max_error_rate,
            f"error rate {_fmt(error_rate)}, limit {d.max_error_rate}",
        ),
        _criterion(
            "max_latency",
            latency,
            d.max_latency_ms_per_1k,
            latency is not None and latency <= d.max_latency_ms_per_1k,
            f"{_fmt(latency, 1)} ms per 1,000 rows, limit {d.max_latency_ms_per_1k}",
        ),
    ]


def live_metric_criterion(config: ModelConfig, live: LiveMetricsPayload | dict[str, Any] | None) -> Criterion | None:
    """The challenger's live primary metric may trail the champion's by ``max_live_regression``
    (in the metric's own direction); None until both have a value on labelled rows."""
    if not live or live.get("challenger") is None or live.get("champion") is None:
        return None
    metric = config.evaluation.primary_metric
    challenger, champion = live["challenger"], live["champion"]
    higher = config.higher_is_better[metric]
    gap = (champion - challenger) if higher else (challenger - champion)
    allowed = config.deploy.max_live_regression
    return _criterion(
        "live_metric",
        challenger,
        champion,
        gap <= allowed,
        f"live {metric} {_fmt(challenger)} vs champion {_fmt(champion)} on "
        f"{live.get('rows', '?')} labelled rows ({'higher' if higher else 'lower'} is better); "
        f"allowed regression {allowed}",
    )


def _agreement_rule(config: ModelConfig) -> str:
    """What "agree" means for a regressor (a classifier's rows agree on the class)."""
    if config.task == "classification":
        return ""
    return f" (score within {config.deploy.agreement_tolerance:.0%} of the champion's)"


def _criterion(name: str, value: Any, threshold: Any, ok: bool, detail: str) -> Criterion:
    return Criterion(name, bool(ok), value, threshold, detail)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"
