"""batch_score_churn end to end through Airflow: a champion trained by retrain_churn, data in
S3 (moto server) through the Airflow AWS connection, a real MLflow server of its own.

The model config is churn.yaml with ``scoring.max_parallel: 2`` (MLOPS_CONFIG_DIR), so the
date ranges below are longer than max_parallel (issue 11, finding 3)."""

from __future__ import annotations

import datetime as dt
import re
import sys

import pytest

from include.config.loading import config_dir
from include.platform.partitions import partition_prefix, read_manifest, read_partition
from include.platform.registry import ModelRegistry
from tests.e2e.conftest import PROJECT, aws_connection_env, isolated_state_env
from tests.fixtures.services import start_mlflow

MODEL = "churn"
DAY = "2026-02-12"
MAX_PARALLEL = 2


def small_parallel_configs(directory):
    """The project's model configs with scoring.max_parallel set to MAX_PARALLEL."""
    source = config_dir()
    assert source.is_relative_to(PROJECT), "MLOPS_CONFIG_DIR set in the test environment"
    for path in source.glob("*.yaml"):
        text = path.read_text()
        changed = text.replace("  max_parallel: 8\n", f"  max_parallel: {MAX_PARALLEL}\n")
        assert changed != text, f"{path}: no scoring.max_parallel: 8 to change"
        (directory / path.name).write_text(changed)
    return str(directory)


@pytest.fixture(scope="module")
def mlflow_own(tmp_path_factory):
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-scoring"), name="mlflow-scoring")
    yield server
    server.service.stop()


@pytest.fixture(scope="module")
def deployment(airflow_project, mlflow_own, moto_server, tmp_path_factory):
    from include.dev.sample_data import write_sample_data
    from include.platform.storage import S3Storage

    client = moto_server.client("s3")
    client.create_bucket(Bucket="e2e-scoring")
    storage = S3Storage("s3://e2e-scoring/data", client=client)
    write_sample_data(storage, start=dt.date(2026, 1, 1), days=50, rows_per_day=600, customers=2000)
    env = {
        "MLOPS_DATA_ROOT": storage.root,
        "MLFLOW_TRACKING_URI": mlflow_own.tracking_uri,
        "MLOPS_CONFIG_DIR": small_parallel_configs(tmp_path_factory.mktemp("configs")),
        **aws_connection_env(moto_server),
        **isolated_state_env(tmp_path_factory.mktemp("state")),
    }
    trained = airflow_project.run(f"retrain_{MODEL}", conf={"window_end": "2026-02-10"}, extra_env=env)
    assert trained.succeeded, trained.tail()
    registry = ModelRegistry(mlflow_own.tracking_uri)
    return {"env": env, "storage": storage, "registry": registry, "trained": trained, "ui": mlflow_own.tracking_uri}


def _score(airflow_project, deployment, **conf):
    return airflow_project.run(f"batch_score_{MODEL}", conf=conf, extra_env=deployment["env"])


def _content(storage, ds, dataset="predictions"):
    frame = read_partition(storage, dataset, MODEL, ds)
    return frame.drop(columns=["run_id"]).sort_values(["customer_id", "event_ts"]).reset_index(drop=True)


def test_scores_a_day_with_lineage(airflow_project, deployment):
    run = _score(airflow_project, deployment, ds=DAY)
    assert run.succeeded, run.tail()
    storage = deployment["storage"]
    features = read_partition(storage, "features", MODEL, DAY)
    predictions = read_partition(storage, "predictions", MODEL, DAY)
    assert len(predictions) == len(features) == 600
    assert list(predictions.columns) == [
        "customer_id",
        "event_ts",
        "prediction",
        "score",
        "model_name",
        "model_version",
        "run_id",
        "flags",
    ]
    assert set(predictions["flags"]) == {""}  # clean sample data: nothing flagged
    assert set(predictions["model_version"]) == {"1"} and set(predictions["model_name"]) == {MODEL}
    assert predictions["score"].between(0, 1).all()
    manifest = read_manifest(storage, "predictions", MODEL, DAY)
    feature_manifest = read_manifest(storage, "features", MODEL, DAY)
    assert manifest.meta["model_version"] == "1"
    assert manifest.meta["data_window"] == DAY
    assert [i["sha256"] for i in manifest.meta["inputs"]] == [f["sha256"] for f in feature_manifest.files]
    assert manifest.rows == 600
    assert 0 < manifest.meta["summary"]["positive_share"] < 1
    registry = deployment["registry"]
    runs = registry.client.search_runs(
        [registry.experiment_id(MODEL)], filter_string=f"tags.`mlops.kind` = 'scoring' and tags.`mlops.ds` = '{DAY}'"
    )
    assert len(runs) == 1 and runs[0].data.metrics["rows_scored"] == 600
    # Logs a person reads (issue 12, finding 4): no warning flood, no progress bars, a line per
    # chunk with its ETA, and the record task's last line links the scoring run.
    assert "DeprecatedImportWarning" not in run.log
    assert "Downloading artifacts" not in run.log and "it/s]" not in run.log
    assert re.search(rf"unit \d+ of {DAY}: [\d,]+/[\d,]+ rows done \(\d+%\), [\d,]+ rows/s, ETA \d+m\d\ds", run.log)
    run_url = f"{deployment['ui']}/#/experiments/{registry.experiment_id(MODEL)}/runs/{runs[0].info.run_id}"
    assert re.search(rf"Recorded 1 scoring run\(s\) of {MODEL}: {DAY} {re.escape(run_url)} \[", run.log)
    assert _extra_links(airflow_project, deployment, run, "record") == {
        "MLflow run": run_url,
        "MLflow model version": None,
    }


def test_rescoring_a_day_replaces_it_whole(airflow_project, deployment):
    storage = deployment["storage"]
    before = _content(storage, DAY)
    run = _score(airflow_project, deployment, ds=DAY)
    assert run.succeeded, run.tail()
    after = _content(storage, DAY)
    assert len(after) == 600  # no duplicates
    assert after.equals(before)
    names = [k.rsplit("/", 1)[-1] for k in storage.list(partition_prefix("predictions", MODEL, DAY))]
    assert sorted(names)[0] == "_manifest.json" and len(names) == 2  # old part file gone
    runs = _scoring_runs(deployment["registry"], DAY)
    assert len(runs) == 1  # evidence is updated, not counted twice


def _scoring_runs(registry, ds: str) -> list:
    return registry.client.search_runs(
        [registry.experiment_id(MODEL)], filter_string=f"tags.`mlops.kind` = 'scoring' and tags.`mlops.ds` = '{ds}'"
    )


def test_a_date_range_gives_one_partition_per_day(airflow_project, deployment):
    """Three days with max_parallel 2: a range longer than max_parallel is scored (finding 3)."""
    run = _score(airflow_project, deployment, ds="2026-02-13", ds_end="2026-02-15")
    assert run.succeeded, run.tail()
    storage = deployment["storage"]
    for ds in ("2026-02-13", "2026-02-14", "2026-02-15"):
        frame = read_partition(storage, "predictions", MODEL, ds)
        assert len(frame) == 600
        assert set(frame["model_version"]) == {"1"}


def _corrupt_page(frame) -> bytes:
    """Parquet bytes with a sound footer (plan passes) and a garbage first page header in a
    feature column (plan reads the key columns for duplicates: only scoring finds it)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    data = bytearray(buffer.getvalue())
    metadata = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    column = metadata.row_group(0).column(metadata.schema.names.index("region"))
    offset = column.dictionary_page_offset or column.data_page_offset
    data[offset : offset + 40] = b"\xff" * 40
    return bytes(data)


def test_each_date_of_a_range_publishes_or_fails_on_its_own(airflow_project, deployment):
    """Finding 2: in 02-16..02-19, 02-17 is not committed (no manifest) and 02-18 has a corrupt
    page: the good days are published and recorded, the run fails naming the bad ones."""
    from include.dev.sample_data import generate_day
    from include.platform.partitions import MANIFEST, publish_files

    storage, registry = deployment["storage"], deployment["registry"]
    good, uncommitted, corrupt, last = "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19"
    storage.delete([f"{partition_prefix('features', MODEL, uncommitted)}/{MANIFEST}"])
    features, _ = generate_day(corrupt, rows_per_day=600, customers=2000)
    publish_files(storage, "features", MODEL, corrupt, [(_corrupt_page(features), len(features))])

    run = _score(airflow_project, deployment, ds=good, ds_end=last)

    assert not run.succeeded
    for ds in (good, last):
        assert read_manifest(storage, "predictions", MODEL, ds).rows == 600
        assert len(read_partition(storage, "predictions", MODEL, ds)) == 600
        assert len(_scoring_runs(registry, ds)) == 1
    for ds in (uncommitted, corrupt):
        assert _scoring_runs(registry, ds) == []
        for dataset in ("predictions", "quarantine", "shadow_predictions"):
            assert storage.list(partition_prefix(dataset, MODEL, ds)) == [], (dataset, ds)
    assert "churn: 2 of 4 date(s) published, 2 failed and published nothing:" in run.log
    assert f"published: {good}, {last}" in run.log
    assert (
        f"- ds={uncommitted} failed at plan: {storage.uri(partition_prefix('features', MODEL, uncommitted))} "
        "is not committed (no _manifest.json or _SUCCESS)"
    ) in run.log
    assert f"- ds={corrupt} failed at score: " in run.log and "Deserializing page header failed" in run.log
    # The run's notification (the log target's text) links the failed scoring day's runbook.
    assert "Runbook: docs/runbooks/failed-scoring-day.md" in run.log
    # Only the last task failed: the unit that could not read its input reported it instead of
    # failing its mapped task, and the good days were recorded and notified first.
    states = _task_states(airflow_project, deployment, run)
    assert states.pop("check_dates") == ["failed"]
    assert states.pop("score") == ["success"] * 3  # 02-16, 02-18, 02-19: one unit each
    assert set(states) == {"resolve_models", "plan", "publish", "record", "notify"}
    assert all(s == ["success"] for s in states.values()), states


def _task_states(airflow_project, deployment, run) -> dict[str, list[str]]:
    """Each task's states (one per map index) in the run of ``airflow dags test`` ``run``."""
    import json
    import re

    run_id = re.search(r"DagRun Finished: .*?run_id=([^,\s]+)", run.log).group(1)
    out = airflow_project.cli(
        "tasks", "states-for-dag-run", f"batch_score_{MODEL}", run_id, "-o", "json", extra_env=deployment["env"]
    )
    states: dict[str, list[str]] = {}
    for row in json.loads(out[out.index("[") :]):
        states.setdefault(row["task_id"], []).append(row["state"])
    return states


def test_challenger_shadow_scores_without_touching_published_output(airflow_project, deployment):
    storage = deployment["storage"]
    published_before = _content(storage, DAY)
    retrain = airflow_project.run(
        f"retrain_{MODEL}", conf={"window_end": "2026-02-10", "force": True}, extra_env=deployment["env"]
    )
    assert retrain.succeeded, retrain.tail()
    registry = deployment["registry"]
    assert registry.alias_version(MODEL, "challenger").version == "2"

    run = _score(airflow_project, deployment, ds=DAY)
    assert run.succeeded, run.tail()
    assert _content(storage, DAY).equals(published_before)  # champion output unchanged
    shadow = read_partition(storage, "shadow_predictions", MODEL, DAY)
    assert len(shadow) == 600 and set(shadow["model_version"]) == {"2"}
    runs = registry.client.search_runs(
        [registry.experiment_id(MODEL)],
        filter_string="tags.`mlops.kind` = 'shadow' and tags.`mlops.shadow.version` = '2'",
    )
    assert len(runs) == 1
    metrics = runs[0].data.metrics
    assert 0.5 <= metrics["shadow_agreement"] <= 1.0
    assert metrics["shadow_error_rate"] == 0.0
    assert metrics["shadow_rows"] == 600
    assert metrics["shadow_latency_ms_per_1k"] > 0


def test_missing_column_fails_clearly_and_publishes_nothing(airflow_project, deployment):
    from include.dev.sample_data import generate_day
    from include.platform.partitions import publish_frame

    storage = deployment["storage"]
    features, _ = generate_day("2026-02-25", rows_per_day=600, customers=2000)
    publish_frame(storage, "features", MODEL, "2026-02-25", features.drop(columns=["contract_type"]))
    run = _score(airflow_project, deployment, ds="2026-02-25")
    assert not run.succeeded
    assert "missing column(s) ['contract_type']" in run.log
    assert read_manifest(storage, "predictions", MODEL, "2026-02-25") is None


def test_infinite_values_beyond_the_limit_fail_the_partition(airflow_project, deployment):
    from include.dev.sample_data import generate_day
    from include.platform.partitions import publish_frame

    storage = deployment["storage"]
    day = "2026-02-26"
    features, _ = generate_day(day, rows_per_day=600, customers=2000)
    features.loc[features.index[:120], "monthly_charges"] = float("inf")  # 20%: always quarantined
    publish_frame(storage, "features", MODEL, day, features)
    run = _score(airflow_project, deployment, ds=day)
    assert not run.succeeded
    assert "infinite value: monthly_charges (120)" in run.log and "nothing published" in run.log
    assert read_manifest(storage, "predictions", MODEL, day) is None
    assert not [k for k in storage.list(partition_prefix("predictions", MODEL, day))]  # no leftovers


def test_messy_day_publishes_with_flags_and_named_quarantine(airflow_project, deployment):
    """Issue 11: one day with duplicate ids across two files, a row ten years ahead, an infinite
    value, unseen categories and an out-of-range burst over most rows. The day publishes: the
    drifted and unseen rows scored and flagged, the duplicate resolved by keep_latest, the
    future and infinite rows quarantined with their reasons; counted in the manifest and MLflow."""
    import pandas as pd

    from include.dev.sample_data import generate_day
    from include.platform.partitions import publish_frame

    storage = deployment["storage"]
    day = "2026-02-27"
    features, _ = generate_day(day, rows_per_day=600, customers=2000)
    start = pd.Timestamp(f"{day}T00:00:00Z")
    features.loc[10, "event_ts"], features.loc[400, "event_ts"] = (
        start + pd.Timedelta(hours=6),
        start + pd.Timedelta(hours=9),
    )
    features.loc[400, "customer_id"] = features.at[10, "customer_id"]  # row 10 (file 1) superseded by row 400 (file 2)
    features.loc[20, "event_ts"] = start + pd.DateOffset(years=10)
    features.loc[30, "monthly_charges"] = float("inf")
    features.loc[40:44, "contract_type"] = "lifetime"
    special = [10, 20, 30, 400]
    burst = [i for i in range(100, 590) if i not in special]  # 82% of the day beyond the training range
    features.loc[burst, "tenure_months"] = 10_000.0
    publish_frame(storage, "features", MODEL, day, features, rows_per_file=300)

    run = _score(airflow_project, deployment, ds=day)
    assert run.succeeded, run.tail()

    predictions = read_partition(storage, "predictions", MODEL, day)
    assert len(predictions) == 597 and not predictions["customer_id"].duplicated().any()
    kept = predictions[predictions["customer_id"] == features.at[10, "customer_id"]]
    assert list(kept["event_ts"]) == [features.at[400, "event_ts"]]
    flags = predictions.set_index("customer_id")["flags"]
    assert (flags[features.loc[burst, "customer_id"]] == "out_of_range:tenure_months").all()
    assert (flags[features.loc[40:44, "customer_id"]] == "unseen_category:contract_type").all()
    quarantine = read_partition(storage, "quarantine", MODEL, day).set_index("customer_id")["_quarantine_reason"]
    assert quarantine.to_dict() == {
        features.at[10, "customer_id"]: "duplicate entity_id: superseded by a later row",
        features.at[20, "customer_id"]: "timestamp in the future",
        features.at[30, "customer_id"]: "infinite value: monthly_charges",
    }

    summary = read_manifest(storage, "predictions", MODEL, day).meta["summary"]
    assert (summary["rows_in"], summary["rows_scored"], summary["rows_quarantined"]) == (600, 597, 3)
    assert summary["rows_flagged"] == len(burst) + 5
    assert summary["flags"] == {"out_of_range:tenure_months": len(burst), "unseen_category:contract_type": 5}
    registry = deployment["registry"]
    (scoring,) = registry.client.search_runs(
        [registry.experiment_id(MODEL)], filter_string=f"tags.`mlops.kind` = 'scoring' and tags.`mlops.ds` = '{day}'"
    )
    metrics = scoring.data.metrics
    assert metrics["rows_flagged"] == len(burst) + 5 and metrics["rows_quarantined"] == 3
    assert metrics["rows_out_of_range"] == len(burst) and metrics["rows_duplicate"] == 1
    assert metrics["rows_timestamp"] == 1 and metrics["rows_infinite"] == 1


def _extra_links(airflow_project, deployment, run, task_id):
    """The task's extra links as Airflow's API server computes them (serialized DAG, metadata DB)."""
    import json
    import subprocess

    script = f"""
import json
from airflow.models.serialized_dag import SerializedDagModel
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
with create_session() as session:
    ti = session.query(TaskInstance).filter_by(
        dag_id={run.dag_id!r}, run_id={run.run_id!r}, task_id={task_id!r}).one()
    task = SerializedDagModel.get_dag({run.dag_id!r}, session=session).get_task({task_id!r})
    print(json.dumps({{name: task.get_extra_links(ti, name) or None for name in task.extra_links}}))
"""
    env = {**airflow_project.env, **deployment["env"]}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_retrain_logs_and_version_link_to_mlflow(airflow_project, deployment):
    """Issue 12, findings 4 and 9, on the retrain run of the fixture: a readable log whose
    register line links the version and its run, the links in Airflow, and the version's
    description (a short card and its link)."""
    registry, ui, log = deployment["registry"], deployment["ui"], deployment["trained"].log
    assert "DeprecatedImportWarning" not in log
    assert "Downloading artifacts" not in log
    version = registry.get(MODEL, "1")
    run_url = f"{ui}/#/experiments/{registry.experiment_id(MODEL)}/runs/{version.run_id}"
    version_url = f"{ui}/#/models/{MODEL}/versions/1"
    assert f"Registered {MODEL} v1 (candidate) from run {version.run_id}: {version_url} {run_url}" in log
    assert f"Trained run {version.run_id}: {run_url}" in log
    links = _extra_links(airflow_project, deployment, deployment["trained"], "register")
    assert links == {"MLflow run": run_url, "MLflow model version": version_url}
    assert _extra_links(airflow_project, deployment, deployment["trained"], "train")["MLflow run"] == run_url
    assert _extra_links(airflow_project, deployment, deployment["trained"], "validate_data") == {
        "MLflow run": None,
        "MLflow model version": None,
    }
    assert "Validation gates: all passed." in version.description
    assert version.description.endswith(f"Model card: {run_url}/artifactPath/model_card/model_card.html")
