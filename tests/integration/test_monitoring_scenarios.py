"""Monitoring scenarios on generated data, with a real MLflow server and no Airflow.

A champion is trained once through the retraining stages (``include/retrain/``: pull -> train ->
evaluate -> check_gates -> register -> qualify) on clean sample data up to ``TRAIN_END``. Each
scenario then gets its own data root, generated with one option of ``include.dev.sample_data``
(covariate drift, concept drift, a missing column), and the monitoring steps of
``include.monitor`` run on it exactly as ``monitor_churn`` calls them: everything compared
with what the champion's training run logged (scoring contract, reference profile and sample,
hold-out scores and metrics).

The generator draws every day from its own seeded stream and the options never change which
numbers are drawn, so each scenario equals the clean data before its change day, and the
expected outcome of every check is known.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from include.config import ModelConfig, load_config
from include.monitor.decision import decide
from include.monitor.drift_check import check_drift
from include.monitor.live_performance import check_performance, new_labels_since
from include.monitor.quality import check_quality
from include.monitor.reference import load_reference, window
from include.platform.partitions import publish_frame, read_partition
from include.platform.registry import ModelRegistry
from tests.fixtures.services import start_mlflow

MODEL = "churn"
CONFIG_FILE = Path(__file__).resolve().parents[2] / "include" / "models" / f"{MODEL}.yaml"
DATA = {"rows_per_day": 1000, "customers": 3000}
TRAIN_END = "2026-02-10"  # labels that arrived Jan 13 .. Feb 9: snapshots up to Feb 2
# The generator's covariate drift moves these inputs (total_charges follows monthly_charges;
# logins_30d only where the idle days pass 30, too little for its Wasserstein test).
SHIFTED = {"monthly_charges", "days_since_last_login", "payment_method", "region"}
UNTOUCHED = {
    "tenure_months",
    "support_tickets_90d",
    "avg_session_minutes",
    "data_usage_gb",
    "late_payments_12m",
    "discount_pct",
    "contract_type",
    "plan_tier",
}
COVARIATE_FROM = dt.date(2026, 2, 15)
CONCEPT_FROM = dt.date(2026, 2, 17)
# Performance window of PERF_DS: predictions of Feb 14 .. Feb 27 (14 days); the labels of
# Feb 14 .. Feb 20 arrived by Feb 27 (7 days' delay), 3 days before the concept changes, 4 after.
PERF_DS = "2026-02-27"
SCORED = (dt.date(2026, 2, 14), dt.date(2026, 2, 27))
ROWS_BEFORE_CONCEPT = 3 * DATA["rows_per_day"]
QUALITY_DS = "2026-02-28"


def variant(config: ModelConfig, **monitoring_changes) -> ModelConfig:
    return dataclasses.replace(config, monitoring=dataclasses.replace(config.monitoring, **monitoring_changes))


@pytest.fixture(scope="module")
def mlflow_monitoring(tmp_path_factory):
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-monitoring"), name="mlflow-monitoring")
    yield server
    server.service.stop()


def _train_champion(storage, registry: ModelRegistry, config: ModelConfig) -> dict:
    from include.retrain.evaluate import evaluate_candidate
    from include.retrain.features import TrainingWindow
    from include.retrain.gates import check_gates
    from include.retrain.pull import pull
    from include.retrain.qualify import qualify
    from include.retrain.register import register_candidate
    from include.retrain.train import train

    pulled = pull(storage, config, TrainingWindow.ending(TRAIN_END, config.training.window_days))
    trained = train(storage, registry, config, pulled, actor="test")
    evaluated = evaluate_candidate(storage, registry, config, trained)
    gates = check_gates(registry, config, trained, evaluated).to_dict()
    registered = register_candidate(registry, config, pulled, trained, gates, actor="test")
    qualified = qualify(registry, config, registered, gates, actor="test")
    assert qualified["action"] == "champion", (qualified, gates["failed"])
    return {"pulled": pulled, "evaluated": evaluated}


def _publish_predictions(storage, config: ModelConfig, model, reference: dict, first: dt.date, last: dt.date) -> None:
    """What batch_score_churn publishes: the champion's scores of each day's snapshots."""
    from include.ml.evaluation import DECISION_THRESHOLD, predict_scores

    day = first
    while day <= last:
        features = read_partition(storage, "features", MODEL, day)
        scores = predict_scores(config, model, features)
        predictions = features[[config.entity_id, config.timestamp]].assign(
            prediction=(scores >= DECISION_THRESHOLD).astype("int64"),
            score=scores,
            model_name=MODEL,
            model_version=reference["version"],
            run_id=reference["run_id"],
        )
        publish_frame(storage, "predictions", MODEL, day, predictions)
        day += dt.timedelta(days=1)


@pytest.fixture(scope="module")
def world(mlflow_monitoring, tmp_path_factory):
    """The champion, and one data root per scenario (clean, covariate, concept)."""
    import mlflow

    from include.dev.sample_data import generate_day, write_sample_data
    from include.platform.storage import LocalStorage

    # ModelRegistry points mlflow's process-wide URIs at this module's server: restore them after.
    uris = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    tmp = tmp_path_factory.mktemp("monitoring")
    config = load_config(CONFIG_FILE)
    # Latency is gated elsewhere; on a loaded 2-core CI machine it is noise for these scenarios.
    config.gates.max_latency_ms_per_1k = 60_000.0
    clean = LocalStorage(tmp / "clean")
    write_sample_data(clean, start=dt.date(2026, 1, 1), days=58, **DATA)  # Jan 1 .. Feb 27
    registry = ModelRegistry(mlflow_monitoring.tracking_uri)
    training = _train_champion(clean, registry, config)
    reference = load_reference(registry, config)
    model = registry.load_version(MODEL, reference["version"], config.skops_trusted_types)
    _publish_predictions(clean, config, model, reference, *SCORED)
    # A day whose feed lost a column.
    broken, _ = generate_day(QUALITY_DS, corrupt={"day": QUALITY_DS, "kind": "drop_column"}, **DATA)
    publish_frame(clean, "features", MODEL, QUALITY_DS, broken)

    covariate = LocalStorage(tmp / "covariate")
    write_sample_data(covariate, start=dt.date(2026, 2, 11), days=6, covariate_drift_from=COVARIATE_FROM, **DATA)
    concept = LocalStorage(tmp / "concept")
    write_sample_data(concept, start=SCORED[0], days=14, concept_drift_from=CONCEPT_FROM, **DATA)
    _publish_predictions(concept, config, model, reference, *SCORED)
    yield {
        "config": config,
        "registry": registry,
        "reference": reference,
        "training": training,
        "clean": clean,
        "covariate": covariate,
        "concept": concept,
    }
    mlflow.set_tracking_uri(uris[0])
    mlflow.set_registry_uri(uris[1])


def _drift(world, storage: str, ds: str, config: ModelConfig | None = None) -> dict:
    return check_drift(world[storage], world["registry"], config or world["config"], world["reference"], ds)


# -- reference ------------------------------------------------------------------------------------
def test_reference_is_the_champions_training_run(world):
    reference = world["reference"]
    assert reference["version"] == "1"
    assert reference["trained_until"] == TRAIN_END
    assert reference["holdout_metrics"] == pytest.approx(world["training"]["evaluated"]["metrics"])
    assert reference["holdout_metrics"]["roc_auc"] > 0.75


# -- covariate drift ------------------------------------------------------------------------------
def test_covariate_drift_is_flagged_from_its_day_on_the_shifted_columns(world):
    config = world["config"]
    # The generator moves 4 of the 14 inputs (5 with total_charges): fewer than evidently's
    # default drift_share of 50%. A model owner expecting such drift lowers drift_share.
    sensitive = variant(config, drift_share=0.3)
    for offset in range(-4, 2):
        ds = (COVARIATE_FROM + dt.timedelta(days=offset)).isoformat()
        shipped = _drift(world, "covariate", ds)["features"]
        features = _drift(world, "covariate", ds, sensitive)["features"]
        drifted = set(features["drifted_columns"])
        assert features["n_columns"] == len(config.features.all) == 14
        assert drifted == set(shipped["drifted_columns"])  # drift_share changes only the verdict
        assert shipped["dataset_drift"] == (shipped["share_drifted"] >= config.monitoring.drift_share)
        if offset < 0:
            assert len(drifted) <= 1 and not drifted & SHIFTED, (ds, drifted)
            assert not features["dataset_drift"], ds
        else:
            assert drifted >= SHIFTED, (ds, drifted)
            assert not drifted & UNTOUCHED, (ds, drifted)
            assert features["dataset_drift"], (ds, features["share_drifted"])
            assert features["share_drifted"] >= 4 / 14
    # The verdicts are per column; the stattest override of the config is applied.
    last = _drift(world, "covariate", COVARIATE_FROM.isoformat())["features"]
    by_column = {c["column"]: c for c in last["columns"]}
    assert by_column["discount_pct"]["stattest"] == "psi" and by_column["discount_pct"]["threshold"] == 0.2
    assert by_column["monthly_charges"]["stattest"] == "wasserstein"  # > 1,000 reference rows
    assert by_column["region"]["stattest"] == "jensenshannon"
    assert last["approximate"] == []  # the complete reference sample was used: exact verdicts


def test_drift_verdicts_agree_with_evidently_on_a_drifted_day(world):
    import mlflow

    from include.platform.parquet import read_parquet_frame
    from include.platform.partitions import read_range
    from tests.unit.monitor.drift._evidently import ev_report

    config = variant(world["config"], drift_share=0.3)
    ds = (COVARIATE_FROM + dt.timedelta(days=1)).isoformat()
    ours = _drift(world, "covariate", ds, config)["features"]
    sample_path = mlflow.artifacts.download_artifacts(
        f"runs:/{world['reference']['run_id']}/drift/reference_sample.parquet",
        tracking_uri=world["registry"].tracking_uri,
    )
    reference = read_parquet_frame(Path(sample_path))
    start, end = window(config, ds)
    current, dates = read_range(world["covariate"], "features", MODEL, start, end, columns=config.features.all)
    assert dates == [ds] and len(current) == DATA["rows_per_day"]
    overrides = config.monitoring.stattests
    ev = ev_report(
        reference,
        current,
        config.features.numeric,
        config.features.categorical,
        drift_share=config.monitoring.drift_share,
        per_column_method={c: o["stattest"] for c, o in overrides.items() if "stattest" in o},
        per_column_threshold={c: o["threshold"] for c, o in overrides.items() if "threshold" in o},
    )
    assert set(ev["columns"]) == {c["column"] for c in ours["columns"]}
    for column in ours["columns"]:
        theirs = ev["columns"][column["column"]]
        assert column["stattest"] == theirs["stattest"], column["column"]
        assert column["threshold"] == theirs["threshold"], column["column"]
        assert column["drifted"] == theirs["drifted"], (column["column"], column["score"], theirs["score"])
        assert column["score"] == pytest.approx(theirs["score"], rel=1e-6, abs=1e-9), column["column"]
    assert ours["n_drifted"] == ev["n_drifted"] >= len(SHIFTED)
    assert ours["share_drifted"] == pytest.approx(ev["share_drifted"])
    assert ours["dataset_drift"] is ev["dataset_drift"] is True


# -- concept drift --------------------------------------------------------------------------------
def test_concept_drift_leaves_features_alone_and_is_caught_on_the_labels(world):
    config = world["config"]
    for ds in (CONCEPT_FROM.isoformat(), "2026-02-20", PERF_DS):
        # Bit-for-bit the clean features: nothing for feature drift to see.
        assert read_partition(world["concept"], "features", MODEL, ds).equals(
            read_partition(world["clean"], "features", MODEL, ds)
        )
        drift = _drift(world, "concept", ds)
        assert not drift["features"]["dataset_drift"] and drift["features"]["n_drifted"] <= 1, ds
        assert drift["prediction"] is not None and not drift["prediction"]["drifted"], ds

    drifted = check_performance(world["concept"], config, world["reference"], PERF_DS)
    control = check_performance(world["clean"], config, world["reference"], PERF_DS)
    holdout = world["reference"]["holdout_metrics"]["roc_auc"]
    labelled = 7 * DATA["rows_per_day"]  # Feb 14 .. Feb 20: the labels that arrived by Feb 27
    for result in (drifted, control):
        assert result["metric"] == "roc_auc" and result["rows"] == labelled
        assert result["window"] == "2026-02-14..2026-02-28"
        assert result["reference"] == pytest.approx(holdout)

    # Clean labels: live ROC AUC close to the hold-out, the detector stays quiet.
    assert control["status"] == "ok" and not control["flagged"]
    assert not control["concept_drift"]["drift_detected"]
    # Concept drift: a large drop, and ADWIN fires on the error stream after the change point.
    assert drifted["status"] == "degraded" and drifted["flagged"]
    assert drifted["drop"] > config.monitoring.max_performance_drop
    assert drifted["value"] < control["value"] - 0.1
    concept = drifted["concept_drift"]
    assert concept["detector"] == "adwin" and concept["n"] == labelled
    assert concept["drift_detected"] and concept["directions"][0] == "up"
    assert concept["first_increase"] >= ROWS_BEFORE_CONCEPT  # not before the change
    assert concept["mean_after_first"] > concept["mean_before_first"] + 0.05


# -- data quality ---------------------------------------------------------------------------------
def test_missing_column_fails_quality_clearly_and_blocks_a_retrain(world):
    config, reference = world["config"], world["reference"]
    quality = check_quality(world["clean"], world["registry"], config, reference, QUALITY_DS)
    assert quality["failed"] and quality["dates"] == [QUALITY_DS]
    errors = [i for i in quality["issues"] if i["severity"] == "error"]
    assert [(i["check"], i["column"]) for i in errors] == [("missing_column", "contract_type")]
    assert "column 'contract_type' is missing" in quality["summary"]
    assert quality["summary"].startswith("data quality FAILED")

    labels = new_labels_since(world["clean"], config, reference["trained_until"], QUALITY_DS)
    decision = decide(config, reference, quality, None, None, labels, QUALITY_DS)
    assert (
        decision
        == {
            "retrain": False,
            "reasons": [],
            "blocked_by": "data quality",
            "summary": quality["summary"],
            "window_end": "2026-03-01",  # the day after the checked day
            "retrain_reason": f"monitor_{MODEL} {QUALITY_DS}: {quality['summary']}"[:500],
        }
    )
    # Broken data never triggers a retrain, even one asked for by hand (documented behaviour).
    manual = decide(config, reference, quality, None, None, labels, QUALITY_DS, "ops asked")
    assert not manual["retrain"] and manual["blocked_by"] == "data quality"


def test_a_clean_day_passes_quality(world):
    quality = check_quality(world["clean"], world["registry"], world["config"], world["reference"], "2026-02-12")
    assert not quality["failed"] and quality["rows"] == DATA["rows_per_day"]
    assert not [i for i in quality["issues"] if i["severity"] == "error"]


# -- decisions ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evidence(world):
    """Real check results: a quiet day, a drifted day, a performance drop."""
    config, registry, reference = world["config"], world["registry"], world["reference"]
    sensitive = variant(config, drift_share=0.3)

    def quality(storage: str, ds: str) -> dict:
        return check_quality(world[storage], registry, config, reference, ds)

    drifted_day = (COVARIATE_FROM + dt.timedelta(days=1)).isoformat()
    return {
        "quiet": {
            "quality": quality("clean", PERF_DS),
            "drift": _drift(world, "clean", PERF_DS),
            "performance": check_performance(world["clean"], config, reference, PERF_DS),
            "labels": new_labels_since(world["clean"], config, reference["trained_until"], PERF_DS),
        },
        "drift": _drift(world, "covariate", drifted_day, sensitive),
        "drift_quality": quality("covariate", drifted_day),
        "drop": check_performance(world["concept"], config, reference, PERF_DS),
    }


def test_a_quiet_day_triggers_nothing(world, evidence):
    config, quiet = world["config"], evidence["quiet"]
    assert quiet["labels"] == 18 * DATA["rows_per_day"] < config.monitoring.min_new_labels  # Feb 10 .. Feb 27
    decision = decide(
        config, world["reference"], quiet["quality"], quiet["drift"], quiet["performance"], quiet["labels"], PERF_DS
    )
    assert decision == {
        "retrain": False,
        "reasons": [],
        "blocked_by": None,
        "summary": "no retrain trigger fired",
        "window_end": "2026-02-28",
        "retrain_reason": f"monitor_{MODEL} {PERF_DS}: no retrain trigger fired",
    }


def test_each_trigger_fires_on_its_own_with_its_numbers(world, evidence):
    config, reference, quiet = world["config"], world["reference"], evidence["quiet"]

    def only_reason(cfg=config, drift=quiet["drift"], performance=quiet["performance"], labels=quiet["labels"], **kw):
        ds = kw.pop("ds", PERF_DS)
        decision = decide(cfg, reference, quiet["quality"], drift, performance, labels, ds, **kw)
        assert decision["retrain"] and decision["blocked_by"] is None
        assert len(decision["reasons"]) == 1, decision["reasons"]
        assert decision["summary"] == decision["reasons"][0]["detail"]
        return decision["reasons"][0]

    sensitive = variant(config, drift_share=0.3)
    reason = only_reason(sensitive, drift=evidence["drift"])
    features = evidence["drift"]["features"]
    assert reason["trigger"] == "dataset_drift"
    assert reason["share"] == features["share_drifted"] >= 0.3
    assert f"{features['n_drifted']} of 14 features drifted" in reason["detail"]
    assert all(column in reason["detail"] for column in SHIFTED)

    no_concept = variant(config, triggers=[t for t in config.monitoring.triggers if t != "concept_drift"])
    reason = only_reason(no_concept, performance=evidence["drop"])
    assert reason["trigger"] == "performance_drop"
    assert reason["drop"] == evidence["drop"]["drop"] > config.monitoring.max_performance_drop
    assert reason["detail"] == evidence["drop"]["message"] and "roc_auc" in reason["detail"]

    reason = only_reason(variant(config, triggers=["concept_drift"]), performance=evidence["drop"])
    concept = evidence["drop"]["concept_drift"]
    assert reason["trigger"] == "concept_drift" and reason["detector"] == "adwin"
    assert reason["at_row"] == concept["first_increase"] >= ROWS_BEFORE_CONCEPT
    assert reason["at"] == concept["first_increase_at"] >= CONCEPT_FROM.isoformat()
    assert reason["error_after"] > reason["error_before"] + 0.05
    assert f"first at row {concept['first_increase']} of {concept['n']}" in reason["detail"]

    reason = only_reason(variant(config, min_new_labels=10_000))
    assert reason == {
        "trigger": "new_labels",
        "detail": f"18000 labelled rows arrived since training ended {TRAIN_END} (threshold 10000)",
        "rows": 18_000,
    }

    late = (dt.date.fromisoformat(TRAIN_END) + dt.timedelta(days=45)).isoformat()
    reason = only_reason(ds=late)
    assert reason["trigger"] == "model_age" and reason["days"] == 45
    assert "45 days old > 30" in reason["detail"]

    reason = only_reason(manual_reason="new pricing launched")
    assert reason == {"trigger": "manual", "detail": "requested: new pricing launched"}


def test_only_listed_triggers_fire(world, evidence):
    config, reference, quiet = world["config"], world["reference"], evidence["quiet"]
    assert not evidence["drift_quality"]["failed"]
    late = (dt.date.fromisoformat(TRAIN_END) + dt.timedelta(days=45)).isoformat()
    everything = {"drift_share": 0.3, "min_new_labels": 1000}

    def fired(triggers: list[str]) -> list[str]:
        cfg = variant(config, triggers=triggers, **everything)
        decision = decide(
            cfg, reference, quiet["quality"], evidence["drift"], evidence["drop"], 50_000, late, "by hand"
        )
        assert decision["retrain"] is bool(triggers)
        return [r["trigger"] for r in decision["reasons"]]

    all_triggers = ["dataset_drift", "performance_drop", "concept_drift", "new_labels", "model_age", "manual"]
    assert fired(all_triggers) == all_triggers  # every condition holds at once
    for trigger in all_triggers:
        assert fired([trigger]) == [trigger]
    assert fired([]) == []
    assert fired(["manual", "model_age"]) == ["model_age", "manual"]
