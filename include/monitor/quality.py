"""Data quality of a current feature window against what the model was trained on.

Checks against the training scoring contract (``data/scoring_contract.json`` of the champion's
run): missing columns and type changes (hard failures: drift and scoring are meaningless
then), null-rate increase beyond a margin, values outside the training range, new categories,
and a row count far from the trailing average of earlier partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.config import ModelConfig
from include.contracts import Dataset
from include.monitor.payloads import QualityIssuePayload, QualityResult, Reference
from include.monitor.reference import window
from include.platform.partitions import list_partitions, not_committed_message, read_manifest, read_range
from include.platform.storage import Storage


@dataclass
class QualityIssue:
    check: str
    column: str | None
    severity: str  # "error" stops drift/performance checks; "warning" is reported only
    value: Any
    threshold: Any
    detail: str


@dataclass
class QualityReport:
    rows: int
    issues: list[QualityIssue] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def summary(self) -> str:
        if not self.issues:
            return f"data quality OK ({self.rows} rows)"
        head = "data quality FAILED" if self.failed else "data quality warnings"
        return "\n".join([f"{head} ({self.rows} rows):", *(f"- [{i.severity}] {i.detail}" for i in self.issues)])

    def to_result(self, dates: list[str]) -> QualityResult:
        issues: list[QualityIssuePayload] = [
            {
                "check": i.check,
                "column": i.column,
                "severity": i.severity,
                "value": i.value,
                "threshold": i.threshold,
                "detail": i.detail,
            }
            for i in self.issues
        ]
        return {"rows": self.rows, "failed": self.failed, "issues": issues, "summary": self.summary(), "dates": dates}


def _kind_of(series: Any) -> str:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "numeric"
    if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
        return "categorical"
    return str(series.dtype)


def assess_quality(
    config: ModelConfig,
    current: Any,
    contract: dict[str, Any],
    *,
    trailing_rows: list[int] | None = None,
    null_margin: float = 0.1,
    out_of_range_share: float = 0.01,
    new_category_share: float = 0.01,
    row_count_tolerance: float = 0.5,
) -> QualityReport:
    report = QualityReport(rows=len(current))
    issues = report.issues
    for column in [config.entity_id, config.timestamp, *config.features.all]:
        if column not in current.columns:
            issues.append(QualityIssue("missing_column", column, "error", None, None, f"column {column!r} is missing"))
    for column, spec in contract["features"].items():
        if column not in current.columns:
            continue
        series = current[column]
        kind = _kind_of(series)
        if series.notna().any() and kind != spec["kind"]:
            issues.append(
                QualityIssue(
                    "type_change",
                    column,
                    "error",
                    str(series.dtype),
                    spec["dtype"],
                    f"column {column!r} is {series.dtype} ({kind}); training had {spec['dtype']} ({spec['kind']})",
                )
            )
            continue
        rate = float(series.isna().mean()) if len(series) else 0.0
        if rate > spec["null_fraction"] + null_margin:
            issues.append(
                QualityIssue(
                    "null_rate",
                    column,
                    "error" if rate >= 0.999 else "warning",
                    rate,
                    spec["null_fraction"] + null_margin,
                    f"column {column!r} is {rate:.1%} null "
                    f"(training {spec['null_fraction']:.1%}, margin {null_margin:.0%})",
                )
            )
        if spec["kind"] == "numeric" and spec.get("min") is not None and series.notna().any():
            outside = float(((series < spec["min"]) | (series > spec["max"])).mean())
            if outside > out_of_range_share:
                issues.append(
                    QualityIssue(
                        "out_of_range",
                        column,
                        "warning",
                        outside,
                        out_of_range_share,
                        f"{outside:.1%} of {column!r} outside the training range "
                        f"[{spec['min']:.4g}, {spec['max']:.4g}]",
                    )
                )
        if spec["kind"] == "categorical" and spec.get("n_categories", 0) <= len(spec.get("categories", [])):
            known = set(spec["categories"])
            values = series.dropna().astype(str)
            new = values[~values.isin(known)]
            if len(values) and len(new) / len(values) > new_category_share:
                examples = sorted(new.unique())[:5]
                issues.append(
                    QualityIssue(
                        "new_categories",
                        column,
                        "warning",
                        len(new) / len(values),
                        new_category_share,
                        f"{len(new) / len(values):.1%} of {column!r} are categories unseen in training, "
                        f"e.g. {examples}",
                    )
                )
    if trailing_rows:
        average = sum(trailing_rows) / len(trailing_rows)
        if average and abs(len(current) - average) / average > row_count_tolerance:
            issues.append(
                QualityIssue(
                    "row_count",
                    None,
                    "warning",
                    len(current),
                    average,
                    f"{len(current)} rows vs trailing average {average:.0f} over {len(trailing_rows)} partitions "
                    f"(tolerance {row_count_tolerance:.0%})",
                )
            )
    return report


def _trailing_rows(storage: Storage, config: ModelConfig, before: Any) -> list[int]:
    """Rows of the last ``trailing_partitions`` committed feature partitions before the window."""
    earlier = list_partitions(storage, Dataset.FEATURES, config.name, end=before)[
        -config.monitoring.trailing_partitions :
    ]
    manifests = (read_manifest(storage, Dataset.FEATURES, config.name, d) for d in earlier)
    return [m.rows for m in manifests if m]


def check_quality(storage: Storage, registry: Any, config: ModelConfig, reference: Reference, ds: str) -> QualityResult:
    """Quality of the feature partitions of the window ending with ``ds`` against the champion's
    scoring contract; no committed partition at all is an error."""
    from include.ml.contract import load_contract
    from include.platform.registry import ModelRef

    start, end = window(config, ds)
    current, dates = read_range(storage, Dataset.FEATURES, config.name, start, end)
    if not dates:
        report = QualityReport(rows=0)
        detail = not_committed_message(storage, Dataset.FEATURES, config.name, start, end)
        report.issues.append(QualityIssue("no_data", None, "error", 0, None, detail))
        return report.to_result(dates)
    contract = load_contract(registry, ModelRef(config.name, reference["version"], reference["run_id"]))
    m = config.monitoring
    report = assess_quality(
        config,
        current,
        contract,
        trailing_rows=_trailing_rows(storage, config, start),
        null_margin=m.null_rate_margin,
        row_count_tolerance=m.row_count_tolerance,
    )
    return report.to_result(dates)


def first_error(quality: QualityResult) -> QualityIssuePayload | None:
    """The first issue that failed the check (what a notification's subject names)."""
    return next((i for i in quality["issues"] if i["severity"] == "error"), None)
