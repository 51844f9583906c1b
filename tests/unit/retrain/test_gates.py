"""Gates a candidate must pass to become challenger: thresholds in both directions, regression vs
champion, slices, latency and size, the report, and the registry that runs them."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.config import load_config, parse_config
from include.platform.registry import metric_key
from include.retrain.gates import (
    GateReport,
    GateResult,
    absolute_gates,
    evaluate_gates,
    register_gate,
    regression_gate,
    slice_gates,
)

PROJECT = Path(__file__).resolve().parents[3]
CHURN_YAML = PROJECT / "include" / "models" / "churn.yaml"
DELIVERY_YAML = PROJECT / "include" / "models" / "delivery_time.yaml"
NAN = float("nan")


@pytest.fixture(scope="module")
def churn():
    # roc_auc >= 0.70, average_precision >= 0.30, max_regression 0.01, slices >= 0.65 from 50 rows,
    # latency <= 500 ms per 1k rows, size <= 25 MB.
    return load_config(CHURN_YAML)


def variant(**sections: dict[str, Any]):
    """The churn config with some sections' keys replaced."""
    data = copy.deepcopy(yaml.safe_load(CHURN_YAML.read_text()))
    for section, values in sections.items():
        data[section].update(values)
    return parse_config(data)


GOOD = {"roc_auc": 0.80, "average_precision": 0.45, "f1": 0.5, "log_loss": 0.4}


def by_name(results: list[GateResult]) -> dict[str, GateResult]:
    return {r.name: r for r in results}


def ev(metrics, champion=None, slices=None, latency=None, size=None) -> dict[str, Any]:
    """An evaluation payload (``include.retrain.payloads.Evaluation``); unmeasured parts left out."""
    out: dict[str, Any] = {
        "metrics": metrics,
        "champion": None if champion is None else {"version": "1", "metrics": champion},
    }
    if slices is not None:
        out["slices"] = slices
    if latency is not None:
        out["latency_ms_per_1k"] = latency
    if size is not None:
        out["size_mb"] = size
    return out


# -- absolute gates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roc_auc", "passed"),
    [(0.70, True), (0.7001, True), (0.95, True), (0.6999, False), (0.5, False)],
)
def test_higher_is_better_threshold(churn, roc_auc, passed):
    results = by_name(absolute_gates(churn, ev({**GOOD, "roc_auc": roc_auc})))
    gate = results["min_roc_auc"]
    assert gate.passed is passed
    assert gate.kind == "absolute"
    assert (gate.value, gate.threshold) == (roc_auc, 0.70)
    assert ">= 0.7" in gate.detail
    assert results["min_average_precision"].passed  # the other gate is unaffected


@pytest.mark.parametrize(
    ("log_loss", "passed"), [(0.5, True), (0.4999, True), (0.1, True), (0.5001, False), (2.0, False)]
)
def test_lower_is_better_threshold(log_loss, passed):
    config = variant(gates={"min_metrics": {}, "max_metrics": {"log_loss": 0.5}})
    [gate] = absolute_gates(config, ev({**GOOD, "log_loss": log_loss}))
    assert gate.name == "max_log_loss"
    assert gate.passed is passed
    assert "<= 0.5 (lower is better)" in gate.detail


def test_nan_or_missing_metric_fails(churn):
    results = by_name(absolute_gates(churn, ev({"roc_auc": NAN})))
    assert not results["min_roc_auc"].passed
    assert "n/a" in results["min_roc_auc"].detail
    assert not results["min_average_precision"].passed  # not measured at all
    lower = variant(gates={"min_metrics": {}, "max_metrics": {"log_loss": 0.5}})
    assert not absolute_gates(lower, ev({"log_loss": NAN}))[0].passed


# -- regression gate --------------------------------------------------------------------------


@pytest.mark.parametrize("champion", [None, {}])
def test_no_champion_passes(churn, champion):
    gate = regression_gate(churn, ev({"roc_auc": 0.5}, champion))
    assert gate.passed
    assert gate.kind == "regression"
    assert "no champion" in gate.detail


def test_worse_than_champion_by_more_than_the_margin_fails(churn):
    gate = regression_gate(churn, ev({**GOOD, "roc_auc": 0.78}, {**GOOD, "roc_auc": 0.80}))
    assert not gate.passed
    assert "0.7800" in gate.detail and "0.8000" in gate.detail
    assert "-0.0200" in gate.detail
    assert gate.threshold == pytest.approx(0.79)


@pytest.mark.parametrize("challenger", [0.795, 0.80, 0.85])
def test_within_margin_or_better_passes(churn, challenger):
    assert regression_gate(churn, ev({"roc_auc": challenger}, {"roc_auc": 0.80})).passed


def test_regression_margin_boundary_is_inclusive():
    config = variant(gates={"max_regression": 0.0625})  # exact in binary: no rounding at the edge
    assert regression_gate(config, ev({"roc_auc": 0.6875}, {"roc_auc": 0.75})).passed
    assert not regression_gate(config, ev({"roc_auc": 0.6874}, {"roc_auc": 0.75})).passed


def test_regression_on_a_lower_is_better_primary_metric():
    # (a slice threshold on log_loss is a ceiling: slice_metric_threshold, min_slice_metric is refused)
    config = variant(evaluation={"primary_metric": "log_loss"}, gates={"min_slice_metric": None})
    assert not regression_gate(config, ev({"log_loss": 0.45}, {"log_loss": 0.40})).passed
    assert regression_gate(config, ev({"log_loss": 0.405}, {"log_loss": 0.40})).passed
    assert regression_gate(config, ev({"log_loss": 0.30}, {"log_loss": 0.40})).passed
    assert regression_gate(config, ev({"log_loss": 0.30}, {"log_loss": 0.40})).threshold == pytest.approx(0.41)


def test_regression_nan_challenger_fails(churn):
    assert not regression_gate(churn, ev({"roc_auc": NAN}, {"roc_auc": 0.80})).passed
    assert not regression_gate(churn, ev({}, {"roc_auc": 0.80})).passed


# -- slice gates ------------------------------------------------------------------------------


SLICES = {
    "north": {"rows": 200.0, "roc_auc": 0.80},
    "south": {"rows": 120.0, "roc_auc": 0.60},
    "west": {"rows": 50.0, "roc_auc": 0.65},
    "tiny": {"rows": 12.0, "roc_auc": 0.10},
}


def test_slice_below_threshold_fails_by_name(churn):
    results = by_name(slice_gates(churn, ev(GOOD, slices=SLICES)))
    assert set(results) == {f"slice:region:{v}" for v in SLICES}
    south = results["slice:region:south"]
    assert not south.passed
    assert south.kind == "slice"
    assert "0.6000" in south.detail and "120 rows" in south.detail
    assert results["slice:region:north"].passed
    assert results["slice:region:west"].passed  # exactly min_slice_rows rows and the threshold


def test_small_slice_is_reported_but_not_gated(churn):
    tiny = by_name(slice_gates(churn, ev(GOOD, slices=SLICES)))["slice:region:tiny"]
    assert tiny.passed
    assert "not gated" in tiny.detail
    assert tiny.value == 0.10


def test_slice_row_boundary(churn):
    at, below = slice_gates(
        churn, ev(GOOD, slices={"at": {"rows": 50.0, "roc_auc": 0.5}, "below": {"rows": 49.0, "roc_auc": 0.5}})
    )
    assert not at.passed  # exactly min_slice_rows rows: gated
    assert below.passed and "not gated" in below.detail


def test_slice_with_nan_metric_fails(churn):
    [gate] = slice_gates(churn, ev(GOOD, slices={"east": {"rows": 300.0, "roc_auc": NAN}}))
    assert not gate.passed


def test_no_slice_gates_without_a_slice_threshold():
    config = variant(gates={"min_slice_metric": None})
    assert slice_gates(config, ev(GOOD, slices=SLICES)) == []


def test_slice_gate_names_are_safe(churn):
    [gate] = slice_gates(churn, ev(GOOD, slices={"a/../b c%": {"rows": 100.0, "roc_auc": 0.9}}))
    assert gate.name == metric_key("slice:region:a/../b c%")
    assert "%" not in gate.name


# -- latency, size and the whole report -------------------------------------------------------


@pytest.mark.parametrize(("latency", "passed"), [(10.0, True), (500.0, True), (500.5, False)])
def test_latency_gate(churn, latency, passed):
    report = evaluate_gates(churn, ev(GOOD, latency=latency))
    gate = by_name(report.results)["max_latency"]
    assert gate.passed is passed
    assert (gate.kind, gate.threshold) == ("latency", 500)


@pytest.mark.parametrize(("size", "passed"), [(0.5, True), (25.0, True), (25.01, False)])
def test_size_gate(churn, size, passed):
    gate = by_name(evaluate_gates(churn, ev(GOOD, size=size)).results)["max_model_size"]
    assert gate.passed is passed
    assert gate.kind == "size"


def test_unmeasured_latency_and_size_are_not_gated(churn):
    names = {r.name for r in evaluate_gates(churn, ev(GOOD)).results}
    assert names == {"min_roc_auc", "min_average_precision", "no_regression"}


def test_report_all_passed(churn):
    report = evaluate_gates(
        churn, ev(GOOD, {**GOOD, "roc_auc": 0.79}, {"north": SLICES["north"]}, latency=20.0, size=1.0)
    )
    assert report.passed
    assert report.failures == []
    assert report.summary().splitlines()[0] == "all gates passed (6 checked)"
    assert all(line.startswith("[PASS]") for line in report.summary().splitlines()[1:])


def test_report_with_failures(churn):
    report = evaluate_gates(
        churn, ev({**GOOD, "roc_auc": 0.72}, {**GOOD, "roc_auc": 0.80}, slices=SLICES, latency=900.0, size=1.0)
    )
    assert not report.passed
    failed = [r.name for r in report.failures]
    assert failed == ["no_regression", "slice:region:south", "max_latency"]
    lines = report.summary().splitlines()
    assert lines[0] == f"3 gate(s) failed ({len(report.results)} checked)"
    assert any(line.startswith("[FAIL] slice:region:south:") for line in lines)
    assert any(line.startswith("[PASS] min_roc_auc:") for line in lines)

    data = report.to_dict()
    assert data["passed"] is False
    assert data["failed"] == failed
    decoded = json.loads(json.dumps(data, allow_nan=False))
    assert decoded == data
    assert {"name", "kind", "passed", "value", "threshold", "detail"} <= set(decoded["results"][0])


def test_empty_report_passes():
    assert GateReport().passed
    assert GateReport().summary().startswith("all gates passed (0 checked)")


def test_report_with_nan_value_is_still_serialisable(churn):
    data = evaluate_gates(churn, ev({"roc_auc": NAN})).to_dict()
    assert math.isnan(json.loads(json.dumps(data))["results"][0]["value"])


# -- the registry ------------------------------------------------------------------------------


@pytest.fixture
def own_registry(monkeypatch):
    """A copy of the registry for one test: registrations do not leak into other tests."""
    from include.retrain import gates

    monkeypatch.setattr(gates, "GATES", dict(gates.GATES))
    return gates


def test_builtin_gates_run_in_registration_order():
    from include.retrain.gates import GATES

    assert list(GATES) == ["min_metrics", "no_regression", "slices", "max_latency", "max_model_size"]


def test_a_registered_gate_is_in_the_report_and_can_fail_it(churn, own_registry):
    @register_gate("min_holdout_rows")
    def enough_rows(config, evaluation):
        rows = evaluation["holdout_rows"]
        return GateResult("min_holdout_rows", "data", rows >= 500, rows, 500, f"{rows} hold-out rows, needs 500")

    good = {**ev(GOOD, latency=20.0, size=1.0), "holdout_rows": 800}
    report = evaluate_gates(churn, good)
    assert report.passed
    assert [r.name for r in report.results][-1] == "min_holdout_rows"

    report = evaluate_gates(churn, {**good, "holdout_rows": 120})
    assert not report.passed
    assert report.to_dict()["failed"] == ["min_holdout_rows"]
    assert "[FAIL] min_holdout_rows: 120 hold-out rows, needs 500" in report.summary().splitlines()
    assert "min_holdout_rows" not in [r.name for r in evaluate_gates(churn, good).failures]


def test_a_gate_may_return_several_results_or_none(churn, own_registry):
    register_gate("two")(
        lambda config, evaluation: [GateResult(f"two_{i}", "x", True, None, None, "ok") for i in (1, 2)]
    )
    register_gate("none")(lambda config, evaluation: [])
    names = [r.name for r in evaluate_gates(churn, ev(GOOD)).results]
    assert names == ["min_roc_auc", "min_average_precision", "no_regression", "two_1", "two_2"]


def test_a_gate_name_is_registered_once(own_registry):
    from include.errors import ConfigError

    with pytest.raises(ConfigError, match="max_latency"):
        register_gate("max_latency")(lambda config, evaluation: [])


# -- metric_key --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "slice:region:north",
        "slice.region.São Paulo.roc_auc",
        "slice.region.a/b.rows",
        "slice.region.a//b.rows",
        "slice.region./../x.rows",
        "slice.region.x/",
        "/absolute",
        "slice.region.tab\there\nnewline",
        "slice.region.%$#@!*?\"'<>|",
        "slice.region.🙂",
        "..",
        ".",
        "",
    ],
)
def test_safe_name_is_accepted_by_mlflow(text):
    from mlflow.utils.validation import _validate_metric_name

    name = metric_key(text)
    _validate_metric_name(name)  # raises MlflowException on names MLflow refuses


def test_safe_name_keeps_ordinary_names():
    for name in ("slice:region:north", "holdout_roc_auc", "slice.plan_tier.premium.rows", "a-b c"):
        assert metric_key(name) == name


# -- a regression model: rmse and mae are lower-is-better (issue 11) -------------------------------


@pytest.fixture(scope="module")
def delivery():
    # rmse <= 6, mae <= 4.5, r2 >= 0.7, max_regression 0.5 (minutes), every zone's rmse <= 7.
    return load_config(DELIVERY_YAML)


REG_GOOD = {"rmse": 4.0, "mae": 3.0, "r2": 0.9}


@pytest.mark.parametrize(("rmse", "passed"), [(5.2, True), (6.0, True), (6.01, False), (20.0, False)])
def test_regression_absolute_gates_are_ceilings_for_rmse(delivery, rmse, passed):
    results = by_name(absolute_gates(delivery, ev({**REG_GOOD, "rmse": rmse})))
    assert set(results) == {"max_rmse", "max_mae", "min_r2"}
    gate = results["max_rmse"]
    assert gate.passed is passed and gate.threshold == 6.0
    expected = f"rmse {rmse:.4f} <= 6.0 (lower is better)" if passed else f"rmse {rmse:.4f}, must be <= 6.0"
    assert gate.detail.startswith(expected)
    assert results["min_r2"].passed and results["min_r2"].detail == "r2 0.9000 >= 0.7 (higher is better)"


def test_regression_vs_champion_allows_max_regression_minutes_above(delivery):
    within = regression_gate(delivery, ev({**REG_GOOD, "rmse": 4.5}, {**REG_GOOD, "rmse": 4.0}))
    assert within.passed and within.threshold == pytest.approx(4.5)
    assert "lower is better" in within.detail
    worse = regression_gate(delivery, ev({**REG_GOOD, "rmse": 4.51}, {**REG_GOOD, "rmse": 4.0}))
    assert not worse.passed
    better = regression_gate(delivery, ev({**REG_GOOD, "rmse": 2.0}, {**REG_GOOD, "rmse": 4.0}))
    assert better.passed  # a lower rmse is an improvement, however large


def test_regression_slice_threshold_is_a_ceiling(delivery):
    slices = {"centre": {"rows": 300.0, "rmse": 6.9}, "suburb": {"rows": 300.0, "rmse": 7.5}}
    results = by_name(slice_gates(delivery, ev(REG_GOOD, slices=slices)))
    assert results["slice:zone:centre"].passed
    suburb = results["slice:zone:suburb"]
    assert not suburb.passed
    assert suburb.detail == "rmse 7.5000, must be <= 7.0 (lower is better) on 300 rows"


def test_min_slice_metric_is_still_read_for_a_higher_is_better_metric(churn):
    assert churn.gates.min_slice_metric == 0.65 and churn.gates.slice_threshold == 0.65
    renamed = variant(gates={"min_slice_metric": None, "slice_metric_threshold": 0.65})
    assert [g.passed for g in slice_gates(renamed, ev(GOOD, slices=SLICES))] == [
        g.passed for g in slice_gates(churn, ev(GOOD, slices=SLICES))
    ]
