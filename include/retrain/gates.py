"""Validation gates a new model version must pass before it may become challenger.

A gate is one entry in the registry ``GATES``: a function, registered by name with
``@register_gate("name")``, that takes the model config and the ``Evaluation`` and returns
one ``GateResult``, several, or none (nothing to check). ``evaluate_gates`` runs every
registered gate in registration order; ``check_gates`` also records the verdicts in MLflow.

Gates are pure functions over numbers already measured (``include/ml/evaluation.py``), so the
verdicts are easy to test and to explain: every result carries the value, the threshold and a
sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import cast

from include.config import ModelConfig
from include.contracts import Artifact, Tag
from include.errors import ConfigError
from include.platform.registry import ModelRegistry, metric_key
from include.retrain.payloads import Evaluation, GateReportDict, GateResultDict, TrainedRun
from include.retrain.tracking import log_run_json, log_run_metrics


@dataclass
class GateResult:
    name: str
    kind: str  # absolute | regression | slice | latency | size, or a registered gate's own kind
    passed: bool
    value: float | None
    threshold: float | None
    detail: str

    def line(self) -> str:
        return f"[{'PASS' if self.passed else 'FAIL'}] {self.name}: {self.detail}"


@dataclass
class GateReport:
    results: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[GateResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        verdict = "all gates passed" if self.passed else f"{len(self.failures)} gate(s) failed"
        return "\n".join([f"{verdict} ({len(self.results)} checked)", *(r.line() for r in self.results)])

    def to_dict(self) -> GateReportDict:
        return {
            "passed": self.passed,
            "failed": [r.name for r in self.failures],
            "results": [cast(GateResultDict, asdict(r)) for r in self.results],
        }


Gate = Callable[[ModelConfig, Evaluation], GateResult | Iterable[GateResult]]
GATES: dict[str, Gate] = {}


def register_gate(name: str) -> Callable[[Gate], Gate]:
    """Decorator: add a gate to ``GATES`` under ``name`` (a name is registered once)."""

    def add(gate: Gate) -> Gate:
        if name in GATES:
            raise ConfigError(f"gate {name!r} is already registered ({GATES[name].__qualname__})")
        GATES[name] = gate
        return gate

    return add


def evaluate_gates(config: ModelConfig, evaluation: Evaluation) -> GateReport:
    """Every registered gate on one evaluation, in registration order."""
    results: list[GateResult] = []
    for gate in GATES.values():
        outcome = gate(config, evaluation)
        results.extend([outcome] if isinstance(outcome, GateResult) else outcome)
    return GateReport(results)


def check_gates(registry: ModelRegistry, config: ModelConfig, trained: TrainedRun, evaluated: Evaluation) -> GateReport:
    """``evaluate_gates``, with every verdict recorded on the training run (metrics
    ``gate.<name>``, tags, ``evaluation/gates.json``)."""
    report = evaluate_gates(config, evaluated)
    run_id = trained["run_id"]
    log_run_metrics(registry, run_id, {f"gate.{r.name}": float(r.passed) for r in report.results})
    registry.client.set_tag(run_id, Tag.GATES_PASSED, str(report.passed).lower())
    registry.client.set_tag(run_id, Tag.GATES_FAILED, ",".join(r.name for r in report.failures) or "-")
    log_run_json(registry, run_id, Artifact.GATES, report.to_dict())
    return report


# -- the gates -------------------------------------------------------------------------------------


def _better_or_equal(value: float, threshold: float, higher_is_better: bool) -> bool:
    return value >= threshold if higher_is_better else value <= threshold


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def _direction(higher: bool) -> str:
    return "higher is better" if higher else "lower is better"


def _compare(metric: str, value: float, threshold: float, higher: bool, passed: bool) -> str:
    """``rmse 5.2000 <= 6 (lower is better)`` or ``rmse 7.1000, must be <= 6 (lower is better)``."""
    op = ">=" if higher else "<="
    said = f"{op} {threshold}" if passed else f"must be {op} {threshold}"
    return f"{metric} {_fmt(value)}{'' if passed else ','} {said} ({_direction(higher)})"


@register_gate("min_metrics")
def absolute_gates(config: ModelConfig, evaluation: Evaluation) -> list[GateResult]:
    """Every metric of ``gates.min_metrics`` (floors, higher-is-better metrics) and
    ``gates.max_metrics`` (ceilings, lower-is-better metrics) at its threshold."""
    metrics = evaluation["metrics"]
    results = []
    for key, thresholds in (("min", config.gates.min_metrics), ("max", config.gates.max_metrics)):
        for metric, threshold in thresholds.items():
            value = metrics.get(metric, float("nan"))
            higher = config.higher_is_better[metric]
            passed = not math.isnan(value) and _better_or_equal(value, threshold, higher)
            results.append(
                GateResult(
                    name=f"{key}_{metric}",
                    kind="absolute",
                    passed=passed,
                    value=value,
                    threshold=threshold,
                    detail=_compare(metric, value, threshold, higher, passed),
                )
            )
    return results


@register_gate("no_regression")
def regression_gate(config: ModelConfig, evaluation: Evaluation) -> GateResult:
    """Challenger vs champion on the same hold-out, primary metric, within max_regression
    (in the metric's units, in its direction: below the champion's roc_auc, above its rmse)."""
    metric = config.evaluation.primary_metric
    margin = config.gates.max_regression
    champion = evaluation.get("champion")
    champion_metrics = champion["metrics"] if champion else None
    if not champion_metrics:
        return GateResult("no_regression", "regression", True, None, None, "no champion yet: nothing to compare")
    value = evaluation["metrics"].get(metric, float("nan"))
    before = champion_metrics.get(metric, float("nan"))
    higher = config.higher_is_better[metric]
    threshold = before - margin if higher else before + margin
    passed = not math.isnan(value) and (math.isnan(before) or _better_or_equal(value, threshold, higher))
    delta = value - before
    return GateResult(
        name="no_regression",
        kind="regression",
        passed=passed,
        value=value,
        threshold=threshold,
        detail=(
            f"{metric} {_fmt(value)} vs champion {_fmt(before)} (delta {delta:+.4f}, {_direction(higher)}); "
            f"allowed regression {margin}"
        ),
    )


@register_gate("slices")
def slice_gates(config: ModelConfig, evaluation: Evaluation) -> list[GateResult]:
    """The primary metric on every slice with at least ``min_slice_rows`` rows, at least as good
    as ``slice_metric_threshold`` in the metric's direction (a floor for roc_auc, a ceiling for rmse)."""
    threshold = config.gates.slice_threshold
    slices = evaluation.get("slices") or {}
    if threshold is None or not slices:
        return []
    metric = config.evaluation.primary_metric
    higher = config.higher_is_better[metric]
    results = []
    for value_name, values in slices.items():
        rows = int(values.get("rows", 0))
        value = values.get(metric, float("nan"))
        name = metric_key(f"slice:{config.evaluation.slice_column}:{value_name}")
        if rows < config.gates.min_slice_rows:
            results.append(
                GateResult(
                    name, "slice", True, value, threshold, f"{rows} rows < {config.gates.min_slice_rows}: not gated"
                )
            )
            continue
        passed = not math.isnan(value) and _better_or_equal(value, threshold, higher)
        detail = f"{_compare(metric, value, threshold, higher, passed)} on {rows} rows"
        results.append(GateResult(name, "slice", passed, value, threshold, detail))
    return results


@register_gate("max_latency")
def latency_gate(config: ModelConfig, evaluation: Evaluation) -> list[GateResult]:
    """Scoring latency per 1,000 rows within the limit (not gated when not measured)."""
    latency = evaluation.get("latency_ms_per_1k")
    if latency is None:
        return []
    limit = config.gates.max_latency_ms_per_1k
    detail = f"{latency:.1f} ms per 1,000 rows, limit {limit}"
    return [GateResult("max_latency", "latency", latency <= limit, latency, limit, detail)]


@register_gate("max_model_size")
def size_gate(config: ModelConfig, evaluation: Evaluation) -> list[GateResult]:
    """Serialized model size within the limit (not gated when not measured)."""
    size_mb = evaluation.get("size_mb")
    if size_mb is None:
        return []
    limit = config.gates.max_model_size_mb
    return [GateResult("max_model_size", "size", size_mb <= limit, size_mb, limit, f"{size_mb:.2f} MB, limit {limit}")]
