"""Data validation with Great Expectations 1.x: training-data checks and the scoring contract.

Expectations come from the model config (columns, ranges, allowed values, null budget) and
from the data itself (which columns exist, their dtypes). Great Expectations and pandas are
imported inside functions: Airflow plugins import this module at DAG parse time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from include.config import ModelConfig
from include.errors import DataValidationError
from include.platform.parquet import read_parquet_frame
from include.platform.storage import Storage

# dtype names as GX matches them against pandas columns. Nullable extension dtypes need their
# class names ("Int64Dtype"): GX does not resolve "Int64".
_INT = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
_NULLABLE = ["Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype", "Float32Dtype", "Float64Dtype"]
NUMERIC_TYPES = [*_INT, "float16", "float32", "float64", *_NULLABLE]
# Not "object": on object columns GX checks each value with isinstance, and everything is an object.
STRING_TYPES = ["str", "StringDtype"]
# GX compares the exact unit: "datetime64" alone does not match datetime64[ns].
DATETIME_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]

_MAX_CATEGORIES = 1000

log = logging.getLogger(__name__)


def _quiet_gx() -> None:
    """GX logs at INFO on import and per context; Airflow task logs show INFO. Keep a level
    someone set on purpose."""
    logger = logging.getLogger("great_expectations")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


@dataclass
class ValidationReport:
    success: bool
    failures: list[dict]
    statistics: dict
    result: dict

    def summary(self) -> str:
        passed = self.statistics.get("successful_expectations", 0)
        total = self.statistics.get("evaluated_expectations", 0)
        head = f"{passed} of {total} expectations passed"
        if not self.failures:
            return head
        return head + "; failed:\n" + "\n".join(f"- {_describe(f)}" for f in self.failures)

    def to_dict(self) -> dict:
        return {"success": self.success, "statistics": self.statistics, "failures": self.failures}


def _describe(failure: dict) -> str:
    where = f"column {failure['column']!r}: " if failure["column"] else ""
    expected = ", ".join(f"{k}={_short(v)}" for k, v in failure["kwargs"].items() if k != "column")
    return f"{where}{failure['expectation']}({expected}); observed {failure['observed']}"


def _short(value: Any, limit: int = 10) -> str:
    if isinstance(value, list) and len(value) > limit:
        return repr(value[:limit])[:-1] + f", ... {len(value) - limit} more]"
    return repr(value)


def _observed(result: dict, exception_info: dict) -> str:
    """One line of what GX saw, from the fields each kind of expectation fills in."""
    # exception_info is either flat or keyed by the metric that raised.
    infos = [exception_info, *(v for v in exception_info.values() if isinstance(v, dict))]
    for info in infos:
        if info.get("raised_exception") and info.get("exception_message"):
            return f"error: {info['exception_message']}"
    missing = (result.get("details") or {}).get("mismatched", {}).get("missing")
    if missing:
        return f"missing columns {missing}"
    if "missing_count" in result and "partial_missing_list" in result:
        return f"missing values {result['partial_missing_list']}"
    if "unexpected_percent" in result:
        text = f"unexpected_percent {result['unexpected_percent']:.1f}%"
        text += f" ({result.get('unexpected_count')} of {result.get('element_count')} rows)"
        # GX leaves out the counts when the values cannot be sorted (e.g. str mixed with float).
        values = [c["value"] for c in result.get("partial_unexpected_counts") or []]
        values = values or result.get("partial_unexpected_list") or []
        examples = [v for i, v in enumerate(values) if v is not None and v not in values[:i]][:5]
        return text + (f", e.g. {examples}" if examples else "")
    if "observed_value" in result:
        return f"observed_value {_short(result['observed_value'])}"
    return "no result"


def training_expectations(config: ModelConfig, frame: Any) -> list:
    """GX expectations for a training frame, from the config and the columns the frame has."""
    _quiet_gx()
    import great_expectations as gx
    import pandas as pd

    E = gx.expectations
    present = set(frame.columns)
    key, ts, target = config.entity_id, config.timestamp, config.target
    features = config.features
    required = [key, ts, target, *features.all]
    # The column-set check names any missing column; the per-column checks below only cover
    # columns that exist, so a missing column does not also surface as metric errors.
    out: list = [
        E.ExpectTableColumnsToMatchSet(column_set=required, exact_match=False),
        E.ExpectTableRowCountToBeBetween(min_value=config.training.min_rows),
    ]
    out += [E.ExpectColumnValuesToNotBeNull(column=c) for c in (key, ts, target) if c in present]
    if {key, ts} <= present:
        out.append(E.ExpectCompoundColumnsToBeUnique(column_list=[key, ts]))
    # GX cannot match tz-aware datetime dtypes (the pipeline's UTC timestamps), and such a
    # column is a datetime already; anything else must be datetime64.
    if ts in present and not isinstance(frame[ts].dtype, pd.DatetimeTZDtype):
        out.append(E.ExpectColumnValuesToBeInTypeList(column=ts, type_list=DATETIME_TYPES))

    mostly = 1 - features.max_null_fraction
    for column in features.numeric:
        if column not in present:
            continue
        out.append(E.ExpectColumnValuesToBeInTypeList(column=column, type_list=NUMERIC_TYPES))
        out.append(E.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly))
        # Comparing strings with numbers raises inside GX; the dtype check already fails then.
        if column in features.ranges and pd.api.types.is_numeric_dtype(frame[column]):
            low, high = features.ranges[column]
            out.append(E.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high))
    for column in features.categorical:
        if column not in present:
            continue
        out.append(E.ExpectColumnValuesToBeInTypeList(column=column, type_list=STRING_TYPES))
        out.append(E.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly))
        if column in features.allowed_values:
            out.append(E.ExpectColumnValuesToBeInSet(column=column, value_set=features.allowed_values[column]))

    if target in present:
        if config.task == "classification":
            out.append(E.ExpectColumnValuesToBeInSet(column=target, value_set=[0, 1]))
            # A single class cannot train a classifier nor compute ROC AUC.
            out.append(E.ExpectColumnDistinctValuesToContainSet(column=target, value_set=[0, 1]))
        else:
            out.append(E.ExpectColumnValuesToBeInTypeList(column=target, type_list=NUMERIC_TYPES))
    return out


def validate_training_frame(config: ModelConfig, frame: Any, name: str = "training_data") -> ValidationReport:
    """Run the training expectations on a pandas frame in a throwaway in-memory GX context."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # Explicit config: no progress bars, and no temporary docs site (the ephemeral default).
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    asset = context.data_sources.add_pandas(name).add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name).get_batch(batch_parameters={"dataframe": frame})
    expectations = training_expectations(config, frame)
    # Results come back grouped by metric; meta.order lists failures in suite order. (Not
    # ids: those need the suite in the context, which re-serializes it on every expectation.)
    for i, expectation in enumerate(expectations):
        expectation.meta = {**(expectation.meta or {}), "order": i}
    suite = gx.ExpectationSuite(name=f"{config.name}.{name}", expectations=expectations)

    result = batch.validate(suite, result_format="SUMMARY").to_json_dict()
    failures = []
    for item in sorted(result["results"], key=lambda r: r["expectation_config"]["meta"]["order"]):
        if item["success"]:
            continue
        exp = item["expectation_config"]
        kwargs = {k: v for k, v in exp["kwargs"].items() if k != "batch_id"}
        column = kwargs.get("column")
        observed = _observed(item.get("result") or {}, item.get("exception_info") or {})
        if exp["type"] == "expect_column_values_to_be_in_type_list" and column in frame.columns:
            # GX names the dtype's scalar type ("CategoricalDtypeType") or, on object columns,
            # only the values it rejected: the pandas dtype is the clearer finding.
            dtype = f"dtype {frame[column].dtype}"
            observed = dtype if observed.startswith("observed_value") else f"{dtype}, {observed}"
        failures.append({"expectation": exp["type"], "column": column, "kwargs": kwargs, "observed": observed})
    return ValidationReport(
        success=bool(result["success"]), failures=failures, statistics=dict(result["statistics"]), result=result
    )


def validate_dataset(storage: Storage, config: ModelConfig, dataset_key: str) -> ValidationReport:
    """Validate the parquet file ``dataset_key`` (a pulled training dataset) in storage."""
    frame = read_parquet_frame(storage.read_bytes(dataset_key))
    log.info("Validating %s rows of %s", len(frame), storage.uri(dataset_key))
    return validate_training_frame(config, frame, name=f"{config.name} training data")


def raise_for_failures(report: ValidationReport, what: str) -> None:
    if not report.success:
        raise DataValidationError(f"{what} failed validation: {report.summary()}", report)
