"""evaluate_promotion: every ``deploy`` criterion of churn.yaml passing and failing, with its numbers."""

from __future__ import annotations

import json
import math

import pytest

from include.deploy.criteria import Criterion, PromotionVerdict, evaluate_promotion
from include.deploy.evidence import shadow_evidence
from tests.unit.deploy.helpers import churn_config, churn_config_scored_on, good_evidence

SHADOW_CRITERIA = [
    "min_shadow_batches",
    "min_shadow_rows",
    "min_shadow_hours",
    "min_agreement",
    "max_error_rate",
    "max_latency",
]


@pytest.fixture(scope="module")
def config():
    return churn_config()


def by_name(verdict: PromotionVerdict) -> dict[str, Criterion]:
    return {c.name: c for c in verdict.criteria}


def test_evidence_meeting_every_criterion_is_ready(config):
    verdict = evaluate_promotion(config, "2", "1", good_evidence())

    assert verdict.ready and verdict.failed == []
    assert [c.name for c in verdict.criteria] == SHADOW_CRITERIA  # no live metric without labels
    lines = verdict.summary().splitlines()
    assert lines[0] == "challenger v2 vs champion v1: ready to promote"
    assert lines[1:] == [
        "  [PASS] min_shadow_batches: 3 shadow batches, needs 3",
        "  [PASS] min_shadow_rows: 1800 rows, needs 1000",
        "  [PASS] min_shadow_hours: 72 h of data, needs 48 h",
        "  [PASS] min_agreement: agreement 0.9500 with the champion, needs 0.8",
        "  [PASS] max_error_rate: error rate 0.0000, limit 0.0",
        "  [PASS] max_latency: 30.0 ms per 1,000 rows, limit 500",
    ]


@pytest.mark.parametrize(
    ("field", "value", "criterion", "detail"),
    [
        ("batches", 2, "min_shadow_batches", "2 shadow batches, needs 3"),
        ("rows", 999, "min_shadow_rows", "999 rows, needs 1000"),
        ("hours", 24.0, "min_shadow_hours", "24 h of data, needs 48 h"),
        ("agreement", 0.79, "min_agreement", "agreement 0.7900 with the champion, needs 0.8"),
        ("error_rate", 0.01, "max_error_rate", "error rate 0.0100, limit 0.0"),
        ("latency_ms_per_1k", 500.5, "max_latency", "500.5 ms per 1,000 rows, limit 500"),
    ],
)
def test_each_criterion_fails_alone_and_is_named(config, field, value, criterion, detail):
    verdict = evaluate_promotion(config, "2", "1", good_evidence(**{field: value}))

    assert not verdict.ready and verdict.failed == [criterion]
    failing = by_name(verdict)[criterion]
    assert (failing.passed, failing.value, failing.detail) == (False, value, detail)
    assert verdict.summary().splitlines()[0] == f"challenger v2 vs champion v1: not ready: {criterion}"
    assert f"  [FAIL] {criterion}: {detail}" in verdict.summary().splitlines()


def test_thresholds_themselves_pass(config):
    d = config.deploy
    at_limits = good_evidence(
        batches=d.min_shadow_batches,
        rows=d.min_shadow_rows,
        hours=d.min_shadow_hours,
        agreement=d.min_agreement,
        error_rate=d.max_error_rate,
        latency_ms_per_1k=d.max_latency_ms_per_1k,
    )
    assert evaluate_promotion(config, "2", "1", at_limits).ready


def test_criteria_follow_the_config(config):
    strict = churn_config(min_shadow_batches=5, min_agreement=0.99)

    verdict = evaluate_promotion(strict, "2", "1", good_evidence())

    assert verdict.failed == ["min_shadow_batches", "min_agreement"]
    assert by_name(verdict)["min_shadow_batches"].threshold == 5
    assert by_name(verdict)["min_agreement"].detail == "agreement 0.9500 with the champion, needs 0.99"


def test_missing_quality_evidence_fails_as_n_a(config):
    missing = good_evidence(agreement=None, error_rate=None, latency_ms_per_1k=None)

    verdict = evaluate_promotion(config, "2", "1", missing)

    assert verdict.failed == ["min_agreement", "max_error_rate", "max_latency"]
    details = {c.name: c.detail for c in verdict.criteria}
    assert details["min_agreement"] == "agreement n/a with the champion, needs 0.8"
    assert details["max_error_rate"] == "error rate n/a, limit 0.0"
    assert details["max_latency"] == "n/a ms per 1,000 rows, limit 500"


def test_nan_agreement_fails_as_n_a(config):
    verdict = evaluate_promotion(config, "2", "1", good_evidence(agreement=math.nan))

    assert verdict.failed == ["min_agreement"]
    assert by_name(verdict)["min_agreement"].detail.startswith("agreement n/a")


def test_no_shadow_run_at_all_fails_every_criterion(config):
    verdict = evaluate_promotion(config, "2", "1", shadow_evidence([], "1"))

    assert verdict.failed == SHADOW_CRITERIA
    assert by_name(verdict)["min_shadow_batches"].detail == "0 shadow batches, needs 3"


def test_no_challenger_is_one_failed_criterion(config):
    verdict = evaluate_promotion(config, None, "1", {})

    assert not verdict.ready and verdict.failed == ["challenger_exists"]
    assert verdict.summary() == "no challenger to promote; champion v1 stays"  # not "vNone"


def test_a_verdict_without_criteria_is_never_ready():
    assert not PromotionVerdict(challenger="2", champion="1").ready


# -- live metric on labelled rows ------------------------------------------------------------------
def live_criterion(config, challenger: float, champion: float, **extra) -> Criterion:
    verdict = evaluate_promotion(
        config, "2", "1", good_evidence(), {"challenger": challenger, "champion": champion, **extra}
    )
    return by_name(verdict)["live_metric"]


@pytest.mark.parametrize(
    ("challenger", "champion", "passed"),
    [(0.84, 0.85, True), (0.86, 0.85, True), (0.82, 0.85, False)],
)
def test_live_metric_higher_is_better(config, challenger, champion, passed):
    """roc_auc: the challenger may trail by max_live_regression (0.02), not more."""
    criterion = live_criterion(config, challenger, champion, rows=1200)

    assert criterion.passed is passed
    assert (criterion.value, criterion.threshold) == (challenger, champion)
    assert criterion.detail == (
        f"live roc_auc {challenger:.4f} vs champion {champion:.4f} on 1200 labelled rows (higher is better); "
        "allowed regression 0.02"
    )


@pytest.mark.parametrize(
    ("challenger", "champion", "passed"),
    [(0.31, 0.30, True), (0.20, 0.30, True), (0.40, 0.30, False)],
)
def test_live_metric_lower_is_better(challenger, champion, passed):
    """log_loss: a higher loss is the regression, a lower one an improvement."""
    config = churn_config_scored_on("log_loss")

    criterion = live_criterion(config, challenger, champion)

    assert criterion.passed is passed
    assert criterion.detail.startswith(
        f"live log_loss {challenger:.4f} vs champion {champion:.4f} on ? labelled rows (lower is better)"
    )


def test_the_metric_direction_decides(config):
    """The same numbers pass for a loss and fail for a score."""
    assert live_criterion(churn_config_scored_on("log_loss"), 0.20, 0.30).passed
    assert not live_criterion(config, 0.20, 0.30).passed


@pytest.mark.parametrize("live", [None, {}, {"champion": 0.85}, {"challenger": 0.85, "champion": None}])
def test_no_live_criterion_until_both_have_a_metric(config, live):
    verdict = evaluate_promotion(config, "2", "1", good_evidence(), live)

    assert "live_metric" not in by_name(verdict) and verdict.ready


def test_a_failing_live_metric_holds_a_challenger_with_good_shadow_evidence(config):
    verdict = evaluate_promotion(config, "2", "1", good_evidence(), {"challenger": 0.70, "champion": 0.85, "rows": 50})

    assert verdict.failed == ["live_metric"]


def test_to_dict_is_the_json_payload(config):
    payload = evaluate_promotion(config, "2", "1", good_evidence(batches=1)).to_dict()

    assert json.loads(json.dumps(payload)) == payload
    assert {k: payload[k] for k in ("challenger", "champion", "ready", "failed")} == {
        "challenger": "2",
        "champion": "1",
        "ready": False,
        "failed": ["min_shadow_batches"],
    }
    assert payload["criteria"][0] == {
        "name": "min_shadow_batches",
        "passed": False,
        "value": 1,
        "threshold": 3,
        "detail": "1 shadow batches, needs 3",
    }


# -- a regression model (issue 11): agreement within a tolerance, live rmse in minutes -------------
def test_regression_agreement_names_its_tolerance_and_live_rmse_is_a_ceiling():
    from include.config import load_config
    from tests.unit.conftest import DELIVERY_YAML

    delivery = load_config(DELIVERY_YAML)  # min_agreement 0.8, agreement_tolerance 0.1, max_live_regression 1.0
    verdict = evaluate_promotion(
        delivery, "2", "1", good_evidence(agreement=0.93), {"challenger": 4.9, "champion": 4.0}
    )
    criteria = by_name(verdict)
    assert criteria["min_agreement"].detail == (
        "agreement 0.9300 with the champion (score within 10% of the champion's), needs 0.8"
    )
    assert criteria["live_metric"].passed  # 0.9 minutes worse, 1.0 allowed
    worse = evaluate_promotion(delivery, "2", "1", good_evidence(), {"challenger": 5.1, "champion": 4.0})
    assert worse.failed == ["live_metric"] and "(lower is better)" in by_name(worse)["live_metric"].detail
