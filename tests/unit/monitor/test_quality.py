"""Data quality of a window against the champion's scoring contract."""

from __future__ import annotations

from include.monitor.quality import QualityIssue, QualityReport, assess_quality, check_quality, first_error
from include.monitor.reference import load_reference
from tests.unit.monitor.conftest import BROKEN_DS, CLEAN_DS, ROWS


def test_a_clean_day_passes(world) -> None:
    reference = load_reference(world.registry, world.config, CLEAN_DS)
    quality = check_quality(world.storage, world.registry, world.config, reference, CLEAN_DS)
    assert quality["rows"] == ROWS and quality["dates"] == [CLEAN_DS]
    assert not quality["failed"] and first_error(quality) is None
    assert [i for i in quality["issues"] if i["severity"] == "error"] == []
    assert quality["summary"].startswith("data quality")


def test_a_missing_column_fails_and_names_it(world) -> None:
    reference = load_reference(world.registry, world.config, BROKEN_DS)
    quality = check_quality(world.storage, world.registry, world.config, reference, BROKEN_DS)
    assert quality["failed"]
    error = first_error(quality)
    assert error is not None and (error["check"], error["column"]) == ("missing_column", "contract_type")
    assert "column 'contract_type' is missing" in quality["summary"]


def test_no_partition_in_the_window_is_an_error(world) -> None:
    reference = load_reference(world.registry, world.config)
    quality = check_quality(world.storage, world.registry, world.config, reference, "2026-01-15")
    assert quality["failed"] and quality["rows"] == 0 and quality["dates"] == []
    error = first_error(quality)
    assert error is not None and error["check"] == "no_data"
    assert error["detail"].startswith("no committed feature partitions for 'churn' in [2026-01-15, 2026-01-16)")
    assert "python -m include.platform.commit features churn" in error["detail"]


def test_first_error_skips_warnings_listed_before_it() -> None:
    report = QualityReport(rows=10)
    report.issues.append(QualityIssue("null_rate", "a", "warning", 0.3, 0.1, "column 'a' is 30.0% null"))
    report.issues.append(QualityIssue("type_change", "b", "error", "object", "float64", "column 'b' is object"))
    quality = report.to_result(["2026-02-01"])
    assert quality["failed"] and quality["summary"].splitlines()[1].startswith("- [warning]")
    assert first_error(quality) == quality["issues"][1]


def test_assess_quality_on_a_frame(world) -> None:
    from include.ml.contract import scoring_contract
    from tests.unit.monitor.conftest import _features

    frame = _features(CLEAN_DS)
    contract = scoring_contract(world.config, frame)
    assert not assess_quality(world.config, frame, contract).failed
    typed = frame.assign(monthly_charges=frame["monthly_charges"].astype(str))
    report = assess_quality(world.config, typed, contract)
    assert [(i.check, i.column) for i in report.issues if i.severity == "error"] == [("type_change", "monthly_charges")]
    assert report.summary().startswith("data quality FAILED")
