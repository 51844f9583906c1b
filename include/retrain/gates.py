"""Validation gates a new model version must pass before it is promoted.

Pure functions over numbers already measured (``include/ml/evaluation.py``), so the verdicts are
easy to test and to explain: every result carries the value, the threshold and a sentence.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from include.config import ModelConfig
from include.platform.registry import metric_key


@dataclass
class GateResult:
    name: str
    kind: str  # absolute | regression | slice | latency | size
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": [r.name for r in self.failures],
            "results": [asdict(r) for r in self.results],
        }


def _better_or_equal(value: float, threshold: float, higher_is_better: bool) -> bool:
    return value >= threshold if higher_is_better else value <= threshold


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def absolute_gates(config: ModelConfig, metrics: dict[str, float]) -> list[GateResult]:
    results = []
    for metric, threshold in config.gates.min_metrics.items():
        value = metrics.get(metric, float("nan"))
        higher = config.higher_is_better[metric]
        passed = not math.isnan(value) and _better_or_equal(value, threshold, higher)
        op = ">=" if higher else "<="
        results.append(
            GateResult(
                name=f"min_{metric}",
                kind="absolute",
                passed=passed,
                value=value,
                threshold=threshold,
                detail=f"{metric} {_fmt(value)} must be {op} {threshold}",
            )
        )
    return results


def regression_gate(
    config: ModelConfig, metrics: dict[str, float], champion_metrics: dict[str, float] | None
) -> GateResult:
    """Challenger vs champion on the same hold-out, primary metric, within max_regression."""
    metric = config.evaluation.primary_metric
    margin = config.gates.max_regression
    if not champion_metrics:
        return GateResult("no_regression", "regression", True, None, None, "no champion yet: nothing to compare")
    value, champion = metrics.get(metric, float("nan")), champion_metrics.get(metric, float("nan"))
    higher = config.higher_is_better[metric]
    threshold = champion - margin if higher else champion + margin
    passed = not math.isnan(value) and (math.isnan(champion) or _better_or_equal(value, threshold, higher))
    delta = value - champion
    return GateResult(
        name="no_regression",
        kind="regression",
        passed=passed,
        value=value,
        threshold=threshold,
        detail=(
            f"{metric} {_fmt(value)} vs champion {_fmt(champion)} (delta {delta:+.4f}); allowed regression {margin}"
        ),
    )


def slice_gates(config: ModelConfig, slices: dict[str, dict[str, float]]) -> list[GateResult]:
    threshold = config.gates.min_slice_metric
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
        results.append(
            GateResult(
                name, "slice", passed, value, threshold, f"{metric} {_fmt(value)} on {rows} rows, needs {threshold}"
            )
        )
    return results


def evaluate_gates(
    config: ModelConfig,
    metrics: dict[str, float],
    champion_metrics: dict[str, float] | None = None,
    slices: dict[str, dict[str, float]] | None = None,
    latency_ms_per_1k: float | None = None,
    size_mb: float | None = None,
) -> GateReport:
    g = config.gates
    results = [*absolute_gates(config, metrics), regression_gate(config, metrics, champion_metrics)]
    results.extend(slice_gates(config, slices or {}))
    if latency_ms_per_1k is not None:
        results.append(
            GateResult(
                "max_latency",
                "latency",
                latency_ms_per_1k <= g.max_latency_ms_per_1k,
                latency_ms_per_1k,
                g.max_latency_ms_per_1k,
                f"{latency_ms_per_1k:.1f} ms per 1,000 rows, limit {g.max_latency_ms_per_1k}",
            )
        )
    if size_mb is not None:
        results.append(
            GateResult(
                "max_model_size",
                "size",
                size_mb <= g.max_model_size_mb,
                size_mb,
                g.max_model_size_mb,
                f"{size_mb:.2f} MB, limit {g.max_model_size_mb}",
            )
        )
    return GateReport(results)
