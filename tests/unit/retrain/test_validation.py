"""Training-data validation (real Great Expectations, small frames) and the scoring contract."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.config import load_config, parse_config
from include.errors import DataValidationError
from include.retrain.validation import (
    ValidationReport,
    raise_for_failures,
    training_expectations,
    validate_dataset,
    validate_training_frame,
)

ROWS = 200


@pytest.fixture(scope="module")
def config():
    base = load_config("include/models/churn.yaml").to_dict()
    base["training"]["min_rows"] = 100  # keep the frames small
    return parse_config(base, source="test.yaml")


def make_frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            # Same dtype as include.retrain.features produces.
            "event_ts": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC"),
            "churned": np.arange(rows) % 2,
            "tenure_months": rng.integers(0, 120, rows),
            "monthly_charges": rng.uniform(10, 200, rows),
            "total_charges": rng.uniform(10, 5000, rows),
            "support_tickets_90d": rng.integers(0, 5, rows),
            "avg_session_minutes": rng.uniform(0, 60, rows),
            "days_since_last_login": rng.integers(0, 30, rows).astype(float),
            "logins_30d": rng.integers(0, 50, rows),
            "data_usage_gb": rng.uniform(0, 100, rows),
            "late_payments_12m": rng.integers(0, 3, rows),
            "discount_pct": rng.uniform(0, 30, rows),
            "contract_type": rng.choice(["month_to_month", "one_year", "two_year"], rows),
            "payment_method": rng.choice(["card", "bank", "check"], rows),
            "region": rng.choice(["north", "south"], rows),
            "plan_tier": rng.choice(["basic", "standard", "premium"], rows),
        }
    )
    frame["contract_type"] = frame["contract_type"].astype(object)
    return frame


def failed(report: ValidationReport) -> set[tuple[str, str | None]]:
    return {(f["expectation"], f["column"]) for f in report.failures}


def test_clean_frame_passes(config):
    report = validate_training_frame(config, make_frame())
    assert report.success, report.summary()
    assert report.failures == []
    stats = report.statistics
    assert stats["evaluated_expectations"] == stats["successful_expectations"] > 30
    assert stats["unsuccessful_expectations"] == 0
    total = stats["evaluated_expectations"]
    assert report.summary() == f"{total} of {total} expectations passed"
    raise_for_failures(report, "training data")  # does not raise


def test_expectations_follow_config(config):
    kinds = [(e.expectation_type, getattr(e, "column", None)) for e in training_expectations(config, make_frame())]
    assert ("expect_column_values_to_be_between", "tenure_months") in kinds
    assert ("expect_column_values_to_be_between", "total_charges") not in kinds  # no range configured
    assert ("expect_column_values_to_be_in_set", "plan_tier") in kinds
    assert ("expect_column_values_to_be_in_set", "region") not in kinds
    assert ("expect_column_distinct_values_to_contain_set", "churned") in kinds


def test_missing_column_is_named(config):
    report = validate_training_frame(config, make_frame().drop(columns=["logins_30d"]))
    assert not report.success
    # Only the column-set expectation fails: no metric errors from checks on the absent column.
    assert failed(report) == {("expect_table_columns_to_match_set", None)}
    assert "logins_30d" in report.failures[0]["observed"]
    with pytest.raises(DataValidationError, match="missing columns \\['logins_30d'\\]"):
        raise_for_failures(report, "training data")


def test_too_many_nulls_in_a_feature(config):
    frame = make_frame()
    frame.loc[: int(ROWS * 0.35) - 1, "avg_session_minutes"] = np.nan  # 35% > 20% allowed
    frame.loc[: int(ROWS * 0.10) - 1, "region"] = None  # 10%: within budget
    report = validate_training_frame(config, frame)
    assert failed(report) == {("expect_column_values_to_not_be_null", "avg_session_minutes")}
    assert report.failures[0]["kwargs"]["mostly"] == pytest.approx(0.8)
    assert "unexpected_percent 35.0%" in report.failures[0]["observed"]


def test_out_of_range_values(config):
    frame = make_frame()
    frame.loc[3, "tenure_months"] = 500
    frame.loc[4, "discount_pct"] = -1.0
    report = validate_training_frame(config, frame)
    assert failed(report) == {
        ("expect_column_values_to_be_between", "tenure_months"),
        ("expect_column_values_to_be_between", "discount_pct"),
    }
    tenure = next(f for f in report.failures if f["column"] == "tenure_months")
    assert tenure["kwargs"]["min_value"] == 0 and tenure["kwargs"]["max_value"] == 240
    assert "500" in tenure["observed"]


def test_unknown_category(config):
    frame = make_frame()
    frame.loc[7, "plan_tier"] = "platinum"
    report = validate_training_frame(config, frame)
    assert failed(report) == {("expect_column_values_to_be_in_set", "plan_tier")}
    assert "platinum" in report.failures[0]["observed"]


def test_string_in_numeric_column_is_a_dtype_failure(config):
    frame = make_frame()
    frame["monthly_charges"] = frame["monthly_charges"].astype(object)
    frame.loc[0, "monthly_charges"] = "n/a"
    report = validate_training_frame(config, frame)
    # The range check on that column is skipped rather than erroring on str < int.
    assert failed(report) == {("expect_column_values_to_be_in_type_list", "monthly_charges")}
    observed = report.failures[0]["observed"]
    assert observed.startswith("dtype object, ") and "'n/a'" in observed


def test_numeric_categorical_column_is_a_dtype_failure(config):
    frame = make_frame()
    frame["region"] = np.arange(ROWS) % 3
    report = validate_training_frame(config, frame)
    assert failed(report) == {("expect_column_values_to_be_in_type_list", "region")}
    assert report.failures[0]["observed"] == "dtype int64"


def test_string_timestamps_fail(config):
    frame = make_frame()
    frame["event_ts"] = frame["event_ts"].astype(str)
    report = validate_training_frame(config, frame)
    assert failed(report) == {("expect_column_values_to_be_in_type_list", "event_ts")}


def test_nullable_and_naive_dtypes_pass(config):
    frame = make_frame()
    frame["logins_30d"] = frame["logins_30d"].astype("Int64")
    frame.loc[0, "logins_30d"] = pd.NA
    frame["event_ts"] = frame["event_ts"].dt.tz_localize(None)
    frame["region"] = frame["region"].astype("string")
    report = validate_training_frame(config, frame)
    assert report.success, report.summary()


def test_duplicated_entity_timestamp(config):
    frame = make_frame()
    frame.loc[10, ["customer_id", "event_ts"]] = frame.loc[11, ["customer_id", "event_ts"]].to_numpy()
    report = validate_training_frame(config, frame)
    assert failed(report) == {("expect_compound_columns_to_be_unique", None)}
    assert report.failures[0]["kwargs"]["column_list"] == ["customer_id", "event_ts"]
    # Same entity at another time is fine.
    frame = make_frame()
    frame.loc[10, "customer_id"] = 11
    assert validate_training_frame(config, frame).success


def test_too_few_rows(config):
    report = validate_training_frame(config, make_frame(rows=60))
    assert failed(report) == {("expect_table_row_count_to_be_between", None)}
    assert report.failures[0]["observed"] == "observed_value 60"
    assert report.failures[0]["kwargs"]["min_value"] == 100


def test_null_key_columns(config):
    frame = make_frame()
    frame["customer_id"] = frame["customer_id"].astype(float)
    frame.loc[0, "customer_id"] = np.nan
    frame.loc[1, "churned"] = np.nan
    report = validate_training_frame(config, frame)
    assert {("expect_column_values_to_not_be_null", "customer_id")} <= failed(report)
    assert {("expect_column_values_to_not_be_null", "churned")} <= failed(report)


def test_target_outside_zero_one(config):
    frame = make_frame()
    frame.loc[5, "churned"] = 2
    report = validate_training_frame(config, frame)
    assert failed(report) == {("expect_column_values_to_be_in_set", "churned")}
    assert "e.g. [2]" in report.failures[0]["observed"]


def test_target_with_one_class(config):
    frame = make_frame()
    frame["churned"] = 0
    report = validate_training_frame(config, frame)
    assert failed(report) == {("expect_column_distinct_values_to_contain_set", "churned")}
    assert report.failures[0]["observed"] == "missing values [1]"


def test_regression_target_must_be_numeric(config):
    data = config.to_dict()
    data |= {"task": "regression", "evaluation": {"metrics": ["rmse"], "primary_metric": "rmse"}}
    data["gates"] = {"min_slice_metric": None}
    regression = parse_config(data, source="regression.yaml")
    frame = make_frame()
    frame["churned"] = np.linspace(0, 10, ROWS)
    assert validate_training_frame(regression, frame).success
    frame["churned"] = frame["churned"].astype(str)
    report = validate_training_frame(regression, frame)
    assert failed(report) == {("expect_column_values_to_be_in_type_list", "churned")}


def test_validate_dataset_reads_the_pulled_parquet_from_storage(config, tmp_path):
    from include.platform.parquet import frame_to_parquet
    from include.platform.storage import LocalStorage

    storage = LocalStorage(tmp_path)
    frame = make_frame()
    frame.loc[3, "monthly_charges"] = 9999.0
    storage.write_bytes("training/churn/window_end=2026-02-10/dataset.parquet", frame_to_parquet(frame))
    report = validate_dataset(storage, config, "training/churn/window_end=2026-02-10/dataset.parquet")
    assert not report.success
    assert failed(report) == {("expect_column_values_to_be_between", "monthly_charges")}
    assert report.result["meta"]["active_batch_definition"]["data_asset_name"] == "churn training data"


def test_error_lists_every_failure_and_keeps_the_report(config):
    frame = make_frame()
    frame.loc[3, "tenure_months"] = 999
    frame.loc[7, "plan_tier"] = "platinum"
    frame.loc[5, "churned"] = 2
    frame.loc[: int(ROWS * 0.5), "data_usage_gb"] = np.nan
    report = validate_training_frame(config, frame)
    with pytest.raises(DataValidationError) as info:
        raise_for_failures(report, "churn training data")
    error = info.value
    assert error.report is report
    message = str(error)
    assert message.startswith("churn training data failed validation: ")
    total = report.statistics["evaluated_expectations"]
    assert f"{total - 4} of {total} expectations passed; failed:" in message
    lines = [line for line in message.splitlines() if line.startswith("- ")]
    assert len(lines) == 4
    for column, expectation, observed in [
        ("tenure_months", "expect_column_values_to_be_between", "999"),
        ("plan_tier", "expect_column_values_to_be_in_set", "platinum"),
        ("churned", "expect_column_values_to_be_in_set", "[2]"),
        ("data_usage_gb", "expect_column_values_to_not_be_null", "unexpected_percent 50.5%"),
    ]:
        line = next(line for line in lines if f"column {column!r}" in line)
        assert expectation in line and observed in line
    assert "max_value=240" in message and "mostly=0.8" in message
    # Survives pickling (e.g. when a task runner ships the exception to another process).
    clone = pickle.loads(pickle.dumps(error))
    assert str(clone) == message and clone.report.failures == report.failures


def test_to_dict_is_small_and_json_serializable(config):
    frame = make_frame()
    frame.loc[5, "churned"] = 2
    report = validate_training_frame(config, frame)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["success"] is False
    assert set(data) == {"success", "statistics", "failures"}
    assert data["failures"][0]["column"] == "churned"
    assert len(json.dumps(data)) < 2000
    json.dumps(report.result)  # the full GX result is serializable too
    assert len(report.result["results"]) == report.statistics["evaluated_expectations"]


def test_import_is_cheap():
    """Plugins import the module at DAG parse time: no pandas or Great Expectations then."""
    code = "import sys, include.retrain.validation; print(sorted({'pandas', 'great_expectations'} & set(sys.modules)))"
    project = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=project)
    assert out.stdout.strip() == "[]"
