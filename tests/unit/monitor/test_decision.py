"""Which retrain triggers fire, with their reasons and numbers; the retrain's window end."""

from __future__ import annotations

import dataclasses

import pytest

from include.monitor.decision import MAX_REASON_CHARS, decide, decide_for_day, manual_reason
from include.monitor.payloads import DriftResult, PerformanceResult, QualityResult, Reference

DS = "2026-03-10"
REFERENCE: Reference = {
    "version": "3",
    "run_id": "r",
    "trained_until": "2026-02-01",
    "created": "2026-02-01T00:00:00+00:00",
    "holdout_metrics": {"roc_auc": 0.8},
    "ds": DS,
}
OK: QualityResult = {"rows": 100, "failed": False, "issues": [], "summary": "data quality OK (100 rows)", "dates": [DS]}
FAILED: QualityResult = {
    "rows": 100,
    "failed": True,
    "issues": [],
    "summary": "data quality FAILED (100 rows):\n- [error] column 'x' is missing",
    "dates": [DS],
}


def drift(drifted: list[str], n: int = 4, share: float = 0.5) -> DriftResult:
    columns = [
        {
            "column": c,
            "type": "num",
            "stattest": "wasserstein",
            "threshold": 0.1,
            "score": 0.3 if c in drifted else 0.01,
            "drifted": c in drifted,
            "kind": "distance",
            "n_reference": 10,
            "n_current": 10,
        }
        for c in ["a", "b", "c", "d"][:n]
    ]
    features = {
        "dataset_drift": len(drifted) / n >= share,
        "share_drifted": len(drifted) / n,
        "n_drifted": len(drifted),
        "n_columns": n,
        "drift_share": share,
        "drifted_columns": drifted,
        "approximate": [],
        "columns": columns,
    }
    return {"model": "m", "ds": DS, "champion_version": "3", "window": "", "features": features, "prediction": None}  # type: ignore[typeddict-item]


DROP: PerformanceResult = {"flagged": True, "message": "roc_auc went from 0.8 to 0.7", "drop": 0.1}


def quiet(config):
    """No trigger fires on its own: few labels, a young champion."""
    return dataclasses.replace(
        config, monitoring=dataclasses.replace(config.monitoring, min_new_labels=10**9, max_model_age_days=10**4)
    )


@pytest.fixture
def config():
    from tests.unit.conftest import small_churn_config

    return quiet(small_churn_config())


def test_nothing_fires_on_a_quiet_day(config) -> None:
    decision = decide(config, REFERENCE, OK, drift([]), {"flagged": False}, 0, DS)
    assert decision == {
        "retrain": False,
        "reasons": [],
        "blocked_by": None,
        "summary": "no retrain trigger fired",
        "window_end": "2026-03-11",
        "retrain_reason": f"monitor_{config.name} {DS}: no retrain trigger fired",
    }


def test_each_trigger_with_its_numbers_in_order(config) -> None:
    m = config.monitoring
    loud = dataclasses.replace(config, monitoring=dataclasses.replace(m, min_new_labels=50, max_model_age_days=30))
    decision = decide(loud, REFERENCE, OK, drift(["a", "c"]), DROP, 60, DS, "ops asked")
    assert [r["trigger"] for r in decision["reasons"]] == [
        "dataset_drift",
        "performance_drop",
        "new_labels",
        "model_age",
        "manual",
    ]
    by = {r["trigger"]: r for r in decision["reasons"]}
    assert by["dataset_drift"]["share"] == 0.5
    assert by["dataset_drift"]["detail"] == f"2 of 4 features drifted (50% >= {m.drift_share:.0%}): a, c"
    assert by["performance_drop"]["drop"] == 0.1 and by["performance_drop"]["detail"] == DROP["message"]
    assert by["new_labels"]["rows"] == 60
    assert by["model_age"]["days"] == 37 and "37 days old > 30" in by["model_age"]["detail"]
    assert by["manual"]["detail"] == "requested: ops asked"
    assert decision["retrain"] and decision["summary"] == "; ".join(r["detail"] for r in decision["reasons"])
    assert decision["retrain_reason"] == f"monitor_{config.name} {DS}: {decision['summary']}"[:MAX_REASON_CHARS]
    assert len(decision["retrain_reason"]) <= MAX_REASON_CHARS


def test_only_configured_triggers_fire(config) -> None:
    only_drop = dataclasses.replace(config, monitoring=dataclasses.replace(config.monitoring, triggers=["manual"]))
    decision = decide(only_drop, REFERENCE, OK, drift(["a", "b", "c"]), DROP, 0, DS)
    assert decision["retrain"] is False and decision["reasons"] == []
    assert decide(only_drop, REFERENCE, OK, None, None, 0, DS, "why not")["reasons"][0]["trigger"] == "manual"


def test_failed_quality_blocks_every_trigger(config) -> None:
    decision = decide(config, REFERENCE, FAILED, None, None, 10**10, DS, "ops asked")
    assert decision["retrain"] is False and decision["reasons"] == []
    assert decision["blocked_by"] == "data quality" and decision["summary"] == FAILED["summary"]
    assert decision["window_end"] == "2026-03-11"


def test_a_long_summary_is_cut_for_the_reason(config) -> None:
    many = drift(["a", "b", "c", "d"], n=4)
    many["features"]["columns"] = [dict(c, column=f"{'x' * 200}{i}") for i, c in enumerate(many["features"]["columns"])]  # type: ignore[misc]
    decision = decide(config, REFERENCE, OK, many, None, 0, DS)
    assert len(decision["summary"]) > MAX_REASON_CHARS and len(decision["retrain_reason"]) == MAX_REASON_CHARS


def test_manual_reason_from_params() -> None:
    assert manual_reason({"retrain": False, "reason": "ignored"}) is None
    assert manual_reason({"retrain": True, "reason": ""}) == "manual trigger"
    assert manual_reason({"retrain": True, "reason": "new pricing"}) == "new pricing"


def test_decide_for_day_counts_labels_since_training(tmp_path, config) -> None:
    import pandas as pd

    from include.contracts import Dataset
    from include.platform.partitions import publish_frame
    from include.platform.storage import LocalStorage

    storage = LocalStorage(tmp_path)
    for day, rows in (("2026-01-31", 5), ("2026-02-02", 7), ("2026-03-10", 11), ("2026-03-11", 13)):
        publish_frame(storage, Dataset.LABELS, config.name, day, pd.DataFrame({"x": range(rows)}))
    some = dataclasses.replace(config, monitoring=dataclasses.replace(config.monitoring, min_new_labels=18))
    decision = decide_for_day(storage, some, REFERENCE, OK, None, None, {"retrain": False})
    # Feb 2 and Mar 10 count: Jan 31 is before the training window ended, Mar 11 after the day.
    assert [(r["trigger"], r["rows"]) for r in decision["reasons"]] == [("new_labels", 18)]
    manual = decide_for_day(storage, config, REFERENCE, OK, None, None, {"retrain": True, "reason": "test"})
    assert [r["trigger"] for r in manual["reasons"]] == ["manual"]
