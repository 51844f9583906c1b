"""The ``concept_drift`` retrain trigger: a rise of the error rate flagged by the configured
detector (monitoring.concept_detector) asks for a retrain, with its numbers, when listed in
monitoring.triggers; it reaches the retrain request like every other trigger."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from include.config import DEFAULT_TRIGGERS, RETRAIN_TRIGGERS, ConfigError, parse_config
from include.monitor.decision import decide
from include.monitor.payloads import PerformanceResult, QualityResult, Reference
from include.monitor.retrain_request import plan_retrain_request

DS = "2026-03-10"
REFERENCE: Reference = {
    "version": "3",
    "run_id": "r",
    "trained_until": "2026-03-01",
    "created": "2026-03-01T00:00:00+00:00",
    "holdout_metrics": {"roc_auc": 0.8},
    "ds": DS,
}
OK: QualityResult = {"rows": 100, "failed": False, "issues": [], "summary": "data quality OK (100 rows)", "dates": [DS]}


def performance(detections: list[int], directions: list[str], **concept) -> PerformanceResult:
    first_increase = next((i for i, d in zip(detections, directions, strict=True) if d == "up"), None)
    return {
        "rows": 5000,
        "metric": "roc_auc",
        "value": 0.79,
        "window": "2026-02-25..2026-03-11",
        "flagged": False,
        "message": "roc_auc 0.79 vs 0.80",
        "concept_drift": {
            "detector": "adwin",
            "n": 5000,
            "detections": detections,
            "directions": directions,
            "first_detection": detections[0] if detections else None,
            "first_increase": first_increase,
            "drift_detected": first_increase is not None,
            "first_increase_at": "2026-03-04T10:00:00+00:00" if first_increase is not None else None,
            "mean_before_first": 0.15,
            "mean_after_first": 0.41,
            **concept,
        },
    }


def with_triggers(config, triggers: list[str]):
    m = dataclasses.replace(config.monitoring, triggers=triggers, min_new_labels=10**9, max_model_age_days=10**4)
    return dataclasses.replace(config, monitoring=m)


@pytest.fixture
def config():
    from tests.unit.conftest import small_churn_config

    return small_churn_config()


def test_concept_drift_is_a_known_trigger_and_opt_in() -> None:
    assert "concept_drift" in RETRAIN_TRIGGERS
    assert "concept_drift" not in DEFAULT_TRIGGERS
    assert set(DEFAULT_TRIGGERS) == set(RETRAIN_TRIGGERS) - {"concept_drift"}


def test_a_config_without_triggers_leaves_concept_drift_off(config) -> None:
    from tests.unit.conftest import CHURN

    data = {**CHURN, "monitoring": {k: v for k, v in CHURN["monitoring"].items() if k != "triggers"}}
    parsed = parse_config(data, source="test/churn.yaml")
    assert parsed.monitoring.triggers == list(DEFAULT_TRIGGERS)
    decision = decide(
        with_triggers(parsed, parsed.monitoring.triggers), REFERENCE, OK, None, performance([900], ["up"]), 0, DS
    )
    assert decision["retrain"] is False


def test_the_sample_config_lists_concept_drift(config) -> None:
    assert "concept_drift" in config.monitoring.triggers


def test_a_misspelt_or_malformed_trigger_names_the_field() -> None:
    from tests.unit.conftest import CHURN

    for bad, expected in (
        (["concept-drift"], "unknown trigger(s) ['concept-drift']"),
        ("concept_drift", "must be a list of trigger names"),
    ):
        data = {**CHURN, "monitoring": {**CHURN["monitoring"], "triggers": bad}}
        with pytest.raises(ConfigError) as excinfo:
            parse_config(data, source="test/churn.yaml")
        assert "monitoring.triggers" in str(excinfo.value) and expected in str(excinfo.value)


def test_an_increase_of_the_error_rate_fires_with_its_numbers(config) -> None:
    decision = decide(
        with_triggers(config, ["concept_drift"]), REFERENCE, OK, None, performance([900, 3100], ["up", "up"]), 0, DS
    )
    assert decision["retrain"] and len(decision["reasons"]) == 1
    reason = decision["reasons"][0]
    assert reason == {
        "trigger": "concept_drift",
        "detail": (
            "concept drift: adwin flagged 2 increase(s) of the error rate in 5000 labelled predictions of "
            "2026-02-25..2026-03-11, first at row 900 of 5000 (2026-03-04T10:00:00+00:00); "
            "mean error 0.150 before, 0.410 after"
        ),
        "detector": "adwin",
        "detections": 2,
        "at_row": 900,
        "at": "2026-03-04T10:00:00+00:00",
        "error_before": 0.15,
        "error_after": 0.41,
    }
    assert decision["summary"] == reason["detail"]


def test_a_decrease_or_nothing_does_not_fire(config) -> None:
    cfg = with_triggers(config, ["concept_drift"])
    for perf in (performance([], []), performance([700], ["down"]), None, {"status": "unknown", "detail": "no labels"}):
        assert decide(cfg, REFERENCE, OK, None, perf, 0, DS)["retrain"] is False  # type: ignore[arg-type]


def test_means_are_quoted_only_around_the_first_increase(config) -> None:
    # First detection a decrease: the detector's before/after means describe that one, not the rise.
    reason = decide(
        with_triggers(config, ["concept_drift"]), REFERENCE, OK, None, performance([500, 2000], ["down", "up"]), 0, DS
    )["reasons"][0]
    assert reason["at_row"] == 2000 and reason["detections"] == 1
    assert reason["error_before"] is None and "mean error" not in reason["detail"]


def test_listed_beside_performance_drop_both_fire_in_trigger_order(config) -> None:
    cfg = with_triggers(config, list(RETRAIN_TRIGGERS))
    perf = performance([900], ["up"]) | {"flagged": True, "drop": 0.1}
    decision = decide(cfg, REFERENCE, OK, None, perf, 0, DS)  # type: ignore[arg-type]
    assert [r["trigger"] for r in decision["reasons"]] == ["performance_drop", "concept_drift"]


def test_a_concept_drift_decision_becomes_a_retrain_request(config) -> None:
    decision = decide(with_triggers(config, ["concept_drift"]), REFERENCE, OK, None, performance([900], ["up"]), 0, DS)
    plan = plan_retrain_request(config, decision, DS, [], dag_id="monitor_churn", run_id="manual__1")
    assert plan.request is not None
    assert plan.request["triggers"] == ["concept_drift"]
    assert plan.request["window_end"] == "2026-03-11"
    assert plan.request["reason"].startswith(f"monitor_churn {DS}: concept drift: adwin flagged 1 increase(s)")
    assert plan.why.startswith("retrain requested (concept_drift): ")


def test_real_concept_drift_through_check_performance_requests_a_retrain(tmp_path) -> None:
    """Sample data whose concept changes on Jan 15 -> a model's published predictions -> labels
    arriving 3 days late -> check_performance -> decide -> the retrain request."""
    import pandas as pd

    from include.dev.sample_data import ENTITY_ID, TIMESTAMP, generate_frames, write_sample_data
    from include.ml.evaluation import predict_scores
    from include.ml.training import fit
    from include.monitor.live_performance import check_performance
    from include.platform.partitions import publish_frame, read_partition
    from include.platform.storage import LocalStorage
    from tests.unit.conftest import linear_churn_config

    config = linear_churn_config()
    start, drift_day = dt.date(2026, 1, 1), dt.date(2026, 1, 15)
    storage = LocalStorage(tmp_path)
    options = {"rows_per_day": 800, "customers": 3000}
    write_sample_data(storage, start=start, days=24, label_delay_days=3, concept_drift_from=drift_day, **options)
    features, labels = generate_frames(start, 7, **options)
    model = fit(config, features.merge(labels, on=[ENTITY_ID, TIMESTAMP]))
    for offset in range(7, 20):
        day = start + dt.timedelta(days=offset)
        frame = read_partition(storage, "features", "churn", day)
        scores = predict_scores(config, model, frame)
        out = frame[[ENTITY_ID, TIMESTAMP]].assign(
            prediction=(scores >= 0.5).astype("int8"), score=scores, model_name="churn", model_version="1", run_id="r"
        )
        publish_frame(storage, "predictions", "churn", day, out)
    ds = (start + dt.timedelta(days=22)).isoformat()  # labels of the snapshots up to Jan 20 have arrived
    # A champion whose hold-out metric is no better than now: performance_drop stays quiet.
    reference: Reference = {**REFERENCE, "holdout_metrics": {"roc_auc": 0.0}, "trained_until": "2026-01-08", "ds": ds}
    cfg = with_triggers(config, ["performance_drop", "concept_drift"])

    perf = check_performance(storage, cfg, reference, ds)
    assert perf is not None and not perf.get("flagged")
    concept = perf["concept_drift"]
    assert concept["drift_detected"] and concept["detector"] == "adwin"
    at = pd.Timestamp(concept["first_increase_at"])
    assert pd.Timestamp(drift_day, tz="UTC") <= at < pd.Timestamp(drift_day + dt.timedelta(days=3), tz="UTC")

    decision = decide(cfg, reference, OK, None, perf, 0, ds)
    assert [r["trigger"] for r in decision["reasons"]] == ["concept_drift"]
    reason = decision["reasons"][0]
    assert reason["at"] == concept["first_increase_at"] and reason["at_row"] == concept["first_increase"]
    assert reason["error_after"] > reason["error_before"]
    plan = plan_retrain_request(cfg, decision, ds, [], dag_id="monitor_churn", run_id="manual__2")
    assert plan.request is not None and plan.request["triggers"] == ["concept_drift"]
    assert f"{concept['n']} labelled predictions" in plan.request["reason"]
