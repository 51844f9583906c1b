"""S3Storage and partitions against a real moto server; MLflow tracking server smoke test."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from include.errors import PartitionError, StorageError
from include.platform import partitions as P
from include.platform.parquet import frame_to_parquet
from include.platform.storage import S3Storage, get_storage
from tests.fixtures.services import ServiceError, start_service


def frame(n: int, start: int = 0, label: str = "a") -> pd.DataFrame:
    return pd.DataFrame({"id": range(start, start + n), "label": [label] * n})


def names(storage, ds: str) -> set[str]:
    return {k.rsplit("/", 1)[-1] for k in storage.list(P.partition_prefix("features", "m1", ds))}


# -- S3Storage primitives --------------------------------------------------------------------
def test_s3_primitives(s3_storage):
    s = s3_storage
    assert not s.exists("a/b.txt")
    s.write_bytes("a/b.txt", b"hello")
    s.write_text("/a/c/d.txt", "x")
    assert s.exists("a/b.txt")
    assert s.read_bytes("a/b.txt") == b"hello"
    assert s.read_text("a/c/d.txt") == "x"
    assert s.list() == ["a/b.txt", "a/c/d.txt"]
    assert s.list("a/c") == ["a/c/d.txt"]
    assert s.list_dirs("a") == ["c"]
    assert s.list_dirs("") == ["a"]
    with pytest.raises(StorageError, match=r"no object at s3://.*/data/missing"):
        s.read_bytes("missing")
    s.delete(["a/b.txt", "not/there"])
    assert s.list() == ["a/c/d.txt"]
    assert s.delete_prefix("a") == 1
    assert s.list() == []


def test_s3_root_prefix_does_not_see_sibling_prefixes(s3_bucket):
    client, bucket = s3_bucket
    data = S3Storage(f"s3://{bucket}/data", client=client)
    sibling = S3Storage(f"s3://{bucket}/data2", client=client)
    data.write_bytes("x", b"1")
    sibling.write_bytes("y", b"2")
    assert data.list() == ["x"]
    assert sibling.list() == ["y"]
    assert data.delete_prefix("") == 1
    assert sibling.list() == ["y"]


def test_s3_delete_prefix_over_1000_keys(s3_storage):
    # DeleteObjects takes at most 1000 keys: the storage must batch.
    started = time.monotonic()
    for i in range(1100):
        s3_storage.write_bytes(f"many/{i:05d}", b"")
    s3_storage.write_bytes("other/keep", b"")
    assert len(s3_storage.list("many")) == 1100  # the listing paginates too
    assert s3_storage.delete_prefix("many") == 1100
    assert s3_storage.list() == ["other/keep"]
    assert time.monotonic() - started < 60


# -- partitions on S3 ------------------------------------------------------------------------
def test_s3_partition_round_trip(s3_storage):
    df = frame(25)
    manifest = P.publish_frame(s3_storage, "features", "m1", "2024-01-01", df, rows_per_file=10)
    assert manifest.rows == 25
    assert len(manifest.files) == 3
    out = P.read_partition(s3_storage, "features", "m1", "2024-01-01", verify=True)
    pd.testing.assert_frame_equal(out, df)


def test_s3_republish_replaces_whole(s3_storage):
    first = P.publish_frame(s3_storage, "features", "m1", "2024-01-01", frame(30, label="old"), rows_per_file=10)
    second = P.publish_frame(s3_storage, "features", "m1", "2024-01-01", frame(4, label="new"))
    out = P.read_partition(s3_storage, "features", "m1", "2024-01-01")
    assert len(out) == 4
    assert set(out["label"]) == {"new"}
    assert names(s3_storage, "2024-01-01") == {second.files[0]["name"], P.MANIFEST}
    assert not names(s3_storage, "2024-01-01") & {f["name"] for f in first.files}


def test_s3_uncommitted_files_invisible_then_cleaned(s3_storage, monkeypatch):
    P.publish_frame(s3_storage, "features", "m1", "2024-01-01", frame(3, label="committed"))
    prefix = P.partition_prefix("features", "m1", "2024-01-01")
    orphan = f"{prefix}/part-deadbeefdeadbeef-00000.parquet"
    s3_storage.write_bytes(orphan, frame_to_parquet(frame(50, label="orphan")))  # crash before the flip
    assert set(P.read_partition(s3_storage, "features", "m1", "2024-01-01")["label"]) == {"committed"}
    never = P.partition_prefix("features", "m1", "2024-01-02")
    s3_storage.write_bytes(f"{never}/part-x-00000.parquet", frame_to_parquet(frame(1)))
    with pytest.raises(PartitionError, match=r"s3://.*/data/features/m1/ds=2024-01-02 is not committed"):
        P.read_partition(s3_storage, "features", "m1", "2024-01-02")
    # A recent unlisted file may be an overlapping run's unpublished output: kept.
    P.publish_frame(s3_storage, "features", "m1", "2024-01-01", frame(5, label="other"))
    assert s3_storage.exists(orphan)
    # Older than ORPHAN_AGE (moto's LastModified cannot be set back: the age limit is lowered).
    monkeypatch.setattr(P, "ORPHAN_AGE", -1.0)
    P.publish_frame(s3_storage, "features", "m1", "2024-01-01", frame(2, label="rerun"))
    assert not s3_storage.exists(orphan)
    assert len(P.read_partition(s3_storage, "features", "m1", "2024-01-01")) == 2


def test_s3_success_marker_partition(s3_storage):
    prefix = P.partition_prefix("features", "m1", "2024-01-03")
    s3_storage.write_bytes(f"{prefix}/part-00000.parquet", frame_to_parquet(frame(2)))
    s3_storage.write_bytes(f"{prefix}/part-00001.parquet", frame_to_parquet(frame(2, start=2)))
    s3_storage.write_bytes(f"{prefix}/_SUCCESS", b"")
    assert P.read_partition(s3_storage, "features", "m1", "2024-01-03")["id"].tolist() == [0, 1, 2, 3]


def test_s3_list_partitions_and_read_range(s3_storage):
    for i, day in enumerate(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]):
        P.publish_frame(s3_storage, "features", "m1", day, frame(2, start=10 * i))
    s3_storage.write_bytes("features/m1/ds=2024-01-05/part-x.parquet", b"uncommitted")
    assert P.list_partitions(s3_storage, "features", "m1") == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert P.list_partitions(s3_storage, "features", "m1", "2024-01-02", "2024-01-04") == ["2024-01-02", "2024-01-03"]
    df, dates = P.read_range(s3_storage, "features", "m1", "2024-01-02", "2024-01-06")
    assert dates == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert df["id"].tolist() == [10, 11, 20, 21, 30, 31]


def test_s3_verify_detects_tampering(s3_storage):
    manifest = P.publish_frame(s3_storage, "features", "m1", "2024-01-01", frame(3))
    key = f"features/m1/ds=2024-01-01/{manifest.files[0]['name']}"
    s3_storage.write_bytes(key, frame_to_parquet(frame(3, label="tampered")))
    with pytest.raises(PartitionError, match="does not match its manifest hash"):
        P.read_partition(s3_storage, "features", "m1", "2024-01-01", verify=True)
    s3_storage.write_bytes(key, b"garbage")
    with pytest.raises(PartitionError, match=rf"s3://.*/{key} is not a readable parquet file"):
        P.read_partition(s3_storage, "features", "m1", "2024-01-01")


# -- get_storage builds its own client -------------------------------------------------------
def test_get_storage_builds_client_explicit_credentials(moto_server, s3_bucket):
    _, bucket = s3_bucket
    storage = get_storage(f"s3://{bucket}/prefix", endpoint_url=moto_server.endpoint_url, **moto_server.credentials)
    assert isinstance(storage, S3Storage)
    P.publish_frame(storage, "features", "m1", "2024-01-01", frame(3))
    assert len(P.read_partition(storage, "features", "m1", "2024-01-01")) == 3
    assert s3_bucket[0].list_objects_v2(Bucket=bucket, Prefix="prefix/features/")["KeyCount"] == 2


def test_get_storage_builds_client_from_environment(moto_server, s3_bucket, monkeypatch, tmp_path):
    _, bucket = s3_bucket
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLOPS_DATA_ROOT", f"s3://{bucket}/env")
    storage = get_storage()  # endpoint from MLOPS_S3_ENDPOINT_URL, credentials from AWS_*
    storage.write_text("hello.txt", "hi")
    assert storage.client.meta.endpoint_url == moto_server.endpoint_url
    assert s3_bucket[0].get_object(Bucket=bucket, Key="env/hello.txt")["Body"].read() == b"hi"


# -- service helpers and the MLflow server ---------------------------------------------------
def test_start_service_reports_log_tail_when_process_dies(tmp_path):
    cmd = [sys.executable, "-c", "print('listening nowhere: boom', flush=True); raise SystemExit(3)"]
    with pytest.raises(ServiceError, match=r"(?s)exited with code 3.*listening nowhere: boom"):
        start_service("dying", cmd, ready_url="http://127.0.0.1:9/", log_dir=tmp_path, timeout=10)


def test_start_service_times_out_and_stops_process(tmp_path):
    cmd = [sys.executable, "-c", "import time; print('sleeping', flush=True); time.sleep(60)"]
    started = time.monotonic()
    with pytest.raises(ServiceError, match=r"(?s)not ready after 1s.*sleeping"):
        start_service("sleeper", cmd, ready_url="http://127.0.0.1:9/", log_dir=tmp_path, timeout=1)
    assert time.monotonic() - started < 15


def test_moto_server_fixture(moto_server):
    assert moto_server["endpoint_url"].startswith("http://127.0.0.1:")
    assert moto_server.service.running()


def test_mlflow_server_metrics_and_artifacts(mlflow_server, tmp_path):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.tracking_uri)
    experiment_id = client.create_experiment(f"smoke-{time.time_ns()}")
    experiment = client.get_experiment(experiment_id)
    assert experiment.artifact_location.startswith("mlflow-artifacts:")  # proxied through the server
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    for step, value in enumerate([0.5, 0.25, 0.125]):
        client.log_metric(run_id, "loss", value, step=step)
    client.log_param(run_id, "alpha", "0.1")
    report = tmp_path / "report.txt"
    report.write_text("hello artifacts")
    client.log_artifact(run_id, str(report), artifact_path="reports")
    client.set_terminated(run_id)

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25), (2, 0.125)]
    fetched = client.get_run(run_id)
    assert fetched.data.params == {"alpha": "0.1"}
    assert fetched.data.metrics["loss"] == pytest.approx(0.125)
    assert fetched.info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(run_id, "reports")] == ["reports/report.txt"]
    downloaded = client.download_artifacts(run_id, "reports/report.txt", str(tmp_path / "dl"))
    assert Path(downloaded).read_text(encoding="utf-8") == "hello artifacts"
    # The bytes went through the server into its --artifacts-destination.
    stored = list(mlflow_server.artifacts_dir.rglob("report.txt"))
    assert len(stored) == 1
    assert stored[0].read_text(encoding="utf-8") == "hello artifacts"
