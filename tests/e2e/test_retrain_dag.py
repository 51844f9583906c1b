"""retrain_churn end to end: Airflow runs the DAG against a real MLflow server and data in S3
(moto server), reached through the Airflow AWS connection. The tests run in order and build on
each other's registry state, like the weeks of a real deployment."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from include.platform.registry import ModelRegistry
from tests.e2e.conftest import aws_connection_env, isolated_state_env

MODEL = "churn"
CLEAN_END = "2026-02-10"  # labels of snapshots up to ~Feb 2: clean
NOISY_END = "2026-03-01"  # labels of snapshots from Feb 10 on: 45% flipped
NOISE_FROM = dt.date(2026, 2, 10)


@pytest.fixture(scope="module")
def deployment(airflow_project, mlflow_server, moto_server, tmp_path_factory):
    """Sample data in a fresh bucket, and the env a scheduler would give the tasks."""
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import S3Storage

    client = moto_server.client("s3")
    bucket = "e2e-retrain"
    client.create_bucket(Bucket=bucket)
    storage = S3Storage(f"s3://{bucket}/data", client=client)
    write_sample_data(
        storage,
        start=dt.date(2026, 1, 1),
        days=60,
        rows_per_day=600,
        customers=2000,
        label_noise_from=NOISE_FROM,
        label_noise=0.45,
    )
    env = {
        "MLOPS_DATA_ROOT": storage.root,
        "MLFLOW_TRACKING_URI": mlflow_server.tracking_uri,
        # Credentials only through the Airflow connection, as in production.
        **aws_connection_env(moto_server),
        **isolated_state_env(tmp_path_factory.mktemp("state")),
    }
    return {"env": env, "storage": storage, "registry": ModelRegistry(mlflow_server.tracking_uri)}


def _run(airflow_project, deployment, **conf):
    return airflow_project.run(f"retrain_{MODEL}", conf=conf, extra_env=deployment["env"])


def _versions(registry):
    return sorted(registry.client.search_model_versions(f"name = '{MODEL}'"), key=lambda v: int(v.version))


def _notifications(airflow_project):
    path = Path(airflow_project.env["MLOPS_NOTIFY_DIR"]) / f"{MODEL}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _summary(deployment, window_end):
    key = f"reports/{MODEL}/retrain/window_end={window_end}/summary.json"
    return json.loads(deployment["storage"].read_text(key))


def test_first_model_is_trained_tracked_and_becomes_champion(airflow_project, deployment):
    run = _run(airflow_project, deployment, window_end=CLEAN_END)
    assert run.succeeded, run.tail()
    registry = deployment["registry"]

    versions = _versions(registry)
    assert [v.version for v in versions] == ["1"]
    v1 = versions[0]
    assert v1.tags["mlops.stage"] == "champion"
    assert registry.alias_version(MODEL, "champion").version == "1"
    assert registry.alias_version(MODEL, "challenger") is None
    assert v1.tags["mlops.gates.passed"] == "true"
    assert v1.tags["mlops.window"] == "2026-01-13..2026-02-10"
    assert len(v1.tags["mlops.data_hash"]) == 64

    mlflow_run = registry.client.get_run(v1.run_id)
    assert mlflow_run.data.params["window_end"] == CLEAN_END
    assert mlflow_run.data.params["estimator.class_path"].endswith("HistGradientBoostingClassifier")
    assert mlflow_run.data.metrics["holdout_roc_auc"] > 0.7
    assert mlflow_run.data.metrics["gate.min_roc_auc"] == 1.0
    assert mlflow_run.data.tags["mlops.code_version"]
    artifacts = {a.path for a in registry.client.list_artifacts(v1.run_id)}
    assert {"config", "data", "environment", "evaluation"} <= artifacts

    # The registered model is skops and loads with the config's trusted types only.
    model = registry.load_version(
        MODEL, "1", ["numpy.dtype", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
    )
    assert hasattr(model, "predict_proba")
    with pytest.raises(Exception, match=r"[Uu]ntrusted"):
        registry.load_version(MODEL, "1", [])

    summary = _summary(deployment, CLEAN_END)
    assert summary["action"] == "champion" and summary["version"] == "1"
    # The qualify task (candidate -> champion here: bootstrap) logs its move and why.
    # ... with the model version's MLflow URL on the same line (the task's last line).
    assert f"{MODEL} v1: champion (bootstrap: first model of this name passed every gate): http" in run.log
    events = [n["event"] for n in _notifications(airflow_project)]
    assert events[-1] == "success"


def test_rerun_of_the_same_window_changes_nothing(airflow_project, deployment):
    registry = deployment["registry"]
    runs_before = registry.client.search_runs([registry.experiment_id(MODEL)])
    run = _run(airflow_project, deployment, window_end=CLEAN_END)
    assert run.succeeded, run.tail()
    assert [v.version for v in _versions(registry)] == ["1"]
    assert len(registry.client.search_runs([registry.experiment_id(MODEL)])) == len(runs_before)
    assert registry.alias_version(MODEL, "champion").version == "1"
    assert _summary(deployment, CLEAN_END)["reused_run"] is True


def test_worse_model_is_registered_but_not_promoted(airflow_project, deployment):
    run = _run(airflow_project, deployment, window_end=NOISY_END)
    assert run.succeeded, run.tail()  # a gate failure is a verdict, not a crash
    registry = deployment["registry"]
    v2 = registry.get(MODEL, "2")
    assert v2.tags["mlops.stage"] == "rejected"
    assert v2.tags["mlops.gates.passed"] == "false"
    assert "min_roc_auc" in v2.tags["mlops.gates.failed"]
    assert registry.alias_version(MODEL, "champion").version == "1"
    assert registry.alias_version(MODEL, "challenger") is None

    note = _notifications(airflow_project)[-1]
    assert note["event"] == "gate_failure"
    assert "min_roc_auc" in note["subject"]
    assert "must be >= 0.7" in note["body"]  # the numbers, not just the name
    summary = _summary(deployment, NOISY_END)
    assert summary["champion_before"]["version"] == "1"  # compared on the same hold-out


def test_forced_retrain_of_a_good_window_becomes_challenger(airflow_project, deployment):
    run = _run(airflow_project, deployment, window_end=CLEAN_END, force=True)
    assert run.succeeded, run.tail()
    registry = deployment["registry"]
    v3 = registry.get(MODEL, "3")
    assert v3.tags["mlops.stage"] == "shadow"
    assert registry.alias_version(MODEL, "challenger").version == "3"
    assert registry.alias_version(MODEL, "champion").version == "1"  # never skips shadow
    history = json.loads(v3.tags["mlops.history"])
    assert [h["to"] for h in history] == ["candidate", "shadow"]


def test_dry_run_registers_nothing(airflow_project, deployment):
    registry = deployment["registry"]
    before = [v.version for v in _versions(registry)]
    run = _run(airflow_project, deployment, window_end="2026-02-17", dry_run=True)
    assert run.succeeded, run.tail()
    assert [v.version for v in _versions(registry)] == before
    assert _summary(deployment, "2026-02-17")["action"] == "dry_run"
    assert "dry run: nothing is registered" in run.log  # register skipped, and qualify after it


def test_bad_data_stops_the_run_at_validation(airflow_project, deployment, tmp_path):
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import LocalStorage

    storage = LocalStorage(tmp_path / "data")
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    write_sample_data(
        storage,
        start=days[0],
        days=len(days),
        rows_per_day=600,
        customers=2000,
        corrupt=[{"day": d, "kind": "out_of_range"} for d in days],
    )
    registry = deployment["registry"]
    before = [v.version for v in _versions(registry)]
    env = {**deployment["env"], "MLOPS_DATA_ROOT": storage.root}
    run = airflow_project.run(f"retrain_{MODEL}", conf={"window_end": CLEAN_END}, extra_env=env)

    assert not run.succeeded
    assert "monthly_charges" in run.log and "expect_column_values_to_be_between" in run.log
    assert "Task failed" in run.log
    assert "up_for_retry" not in run.log  # the same data fails the same way: no retries
    assert [v.version for v in _versions(registry)] == before  # nothing registered
    failure = [n for n in _notifications(airflow_project) if n["event"] == "failure"][-1]
    assert failure["fields"]["task_id"] == "validate_data"
    assert "monthly_charges" in failure["body"]


# -- reproduce_churn: v1 again from its lineage (appended here: v1 is already trained) ----------
REPRODUCED_DAY = "2026-01-20"  # a feature partition inside v1's window 2026-01-13..2026-02-10


def _reproduce(airflow_project, deployment, version):
    return airflow_project.run(
        f"reproduce_{MODEL}", conf={"version": version, "reason": "e2e"}, extra_env=deployment["env"]
    )


def _registry_state(registry):
    versions = {v.version: v.tags.get("mlops.stage") for v in _versions(registry)}
    return (
        versions,
        registry.alias_version(MODEL, "champion").version,
        registry.alias_version(MODEL, "challenger").version,
    )


def test_reproduce_retrains_v1_from_its_lineage_exactly(airflow_project, deployment):
    registry = deployment["registry"]
    before = _registry_state(registry)
    run = _reproduce(airflow_project, deployment, "1")
    assert run.succeeded, run.tail()
    report = json.loads(deployment["storage"].read_text(f"reports/{MODEL}/reproduce/version=1/report.json"))
    assert report["verdict"] == "identical", report["reasons"]
    assert report["reasons"] == [] and report["notes"] == [] and report["predictions_identical"] is True
    predictions = report["predictions"]
    assert predictions["identical"] and predictions["max_abs_diff"] == 0.0 and predictions["rows_differing"] == 0
    assert predictions["rows_recorded"] == predictions["rows_reproduced"] == 400  # 2,000 customers, 20%
    assert report["registered_model"]["identical"] is True  # the registered model, scored again
    lineage = report["lineage"]
    assert lineage["window"] == "2026-01-13..2026-02-10" and lineage["seed"] == 42
    assert (
        lineage["data_hash"]["same"]
        and lineage["data_hash"]["recorded"] == registry.get(MODEL, "1").tags["mlops.data_hash"]
    )
    assert lineage["config"]["snapshot_matches_tag"] is True and lineage["config"]["fields_changed"] == []
    assert lineage["code_version"]["same"] and lineage["libraries"]["changed"] == []
    assert all(m["diff"] == 0.0 for m in report["metrics"].values())
    assert (
        report["metrics"]["roc_auc"]["recorded"]
        == registry.client.get_run(report["run_id"]).data.metrics["holdout_roc_auc"]
    )
    assert "churn v1 reproduced: identical" in run.log

    # Logged as a reproduction in the model's experiment; nothing registered, no alias moved.
    reproduction = registry.client.get_run(report["reproduction_run_id"])
    assert reproduction.data.tags["mlops.kind"] == "reproduction"
    assert reproduction.data.tags["mlops.reproduction.verdict"] == "identical"
    assert reproduction.data.tags["mlops.reproduction.run_id"] == registry.get(MODEL, "1").run_id
    assert reproduction.data.metrics["max_abs_diff"] == 0.0 and reproduction.data.metrics["predictions_identical"] == 1
    assert reproduction.info.experiment_id == registry.experiment_id(MODEL)
    assert _registry_state(registry) == before


def test_reproduce_after_the_data_changed_names_the_hash_mismatch(airflow_project, deployment):
    from include.contracts import Dataset
    from include.platform.partitions import publish_frame, read_partition

    storage, registry = deployment["storage"], deployment["registry"]
    before = _registry_state(registry)
    original = read_partition(storage, Dataset.FEATURES, MODEL, REPRODUCED_DAY)
    changed = original.copy()
    changed["monthly_charges"] = changed["monthly_charges"] * 1.5  # a late correction of one day
    publish_frame(storage, Dataset.FEATURES, MODEL, REPRODUCED_DAY, changed)
    try:
        run = _reproduce(airflow_project, deployment, "1")
    finally:
        publish_frame(storage, Dataset.FEATURES, MODEL, REPRODUCED_DAY, original)
    assert run.succeeded, run.tail()  # a verdict, not a failure
    report = json.loads(storage.read_text(f"reports/{MODEL}/reproduce/version=1/report.json"))
    assert report["verdict"] == "differs" and not report["predictions_identical"]
    assert not report["lineage"]["data_hash"]["same"]
    assert report["reasons"][0].startswith("data changed since training: data hash mismatch")
    assert report["reasons"][-1].startswith("predictions differ: max abs diff")
    assert len(report["reasons"]) == 2  # config, code and libraries unchanged
    assert report["predictions"]["max_abs_diff"] > 0 and report["predictions"]["share_differing"] > 0
    assert _registry_state(registry) == before


def test_reproduce_refuses_unknown_versions_and_versions_without_lineage(airflow_project, deployment):
    """An unknown version fails the task at once (no retry), naming what to fix; a version without
    lineage raises the same family (checked in-process: no second Airflow run)."""
    from include.errors import LineageError, NotRetryable, RegistryStateError
    from include.retrain.lineage import read_lineage

    run = _reproduce(airflow_project, deployment, "99")
    assert not run.succeeded
    assert "model 'churn' has no version '99' in the registry: set the Param version" in run.log
    assert "up_for_retry" not in run.log
    registry = deployment["registry"]
    with pytest.raises(
        RegistryStateError, match="has no version '99' in the registry: set the Param version"
    ) as unknown:
        read_lineage(registry, MODEL, "99")
    # A version registered by hand from a run that retrain did not record.
    run_id = registry.client.create_run(registry.experiment_id(MODEL), run_name="by hand").info.run_id
    registry.client.set_terminated(run_id)
    bare = registry.client.create_model_version(MODEL, f"runs:/{run_id}/model", run_id=run_id)
    try:
        with pytest.raises(LineageError, match=f"v{bare.version}: its training run {run_id} lacks") as no_lineage:
            read_lineage(registry, MODEL, str(bare.version))
    finally:
        registry.client.delete_model_version(MODEL, str(bare.version))
        registry.client.delete_run(run_id)
    for tag in ("mlops.window", "mlops.data_hash", "mlops.code_version", "config/model_config.json"):
        assert tag in str(no_lineage.value)
    assert isinstance(unknown.value, NotRetryable) and isinstance(no_lineage.value, NotRetryable)
