"""LocalStorage and atomic partitions on a tmp dir."""

from __future__ import annotations

import datetime as dt
import json
import os

import pandas as pd
import pytest

from include.errors import PartitionError, StorageError
from include.platform import partitions as P
from include.platform.parquet import frame_to_parquet
from include.platform.storage import LocalStorage, S3Storage, get_storage


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "root")


def frame(n: int, start: int = 0, label: str = "a") -> pd.DataFrame:
    return pd.DataFrame({"id": range(start, start + n), "label": [label] * n, "x": [float(i) for i in range(n)]})


def part_files(storage, ds: str = "2024-01-01") -> list[str]:
    prefix = P.partition_prefix("features", "m1", ds)
    return [k.rsplit("/", 1)[-1] for k in storage.list(prefix)]


# -- LocalStorage ----------------------------------------------------------------------------
def test_local_read_write_exists(storage):
    assert not storage.exists("a/b.txt")
    storage.write_bytes("a/b.txt", b"hello")
    assert storage.exists("a/b.txt")
    assert storage.read_bytes("a/b.txt") == b"hello"
    storage.write_text("/a/c.txt/", "héllo")  # leading/trailing slashes are ignored
    assert storage.read_text("a/c.txt") == "héllo"
    assert not storage.exists("a")  # a directory is not an object
    storage.write_bytes("a/b.txt", b"again")
    assert storage.read_bytes("a/b.txt") == b"again"


def test_local_read_missing_names_uri(storage):
    with pytest.raises(StorageError, match=r"no object at .*root/nope/x\.bin"):
        storage.read_bytes("nope/x.bin")


def test_local_uri(storage, tmp_path):
    root = str((tmp_path / "root").resolve())
    assert storage.root == root
    assert storage.uri() == root
    assert storage.uri("/a/b/") == f"{root}/a/b"


def test_local_list_and_list_dirs(storage):
    for key in ["d/m/ds=2024-01-02/x", "d/m/ds=2024-01-01/y", "d/m/ds=2024-01-01/z/deep", "d/other", "e/f"]:
        storage.write_bytes(key, b"1")
    assert storage.list("d") == [
        "d/m/ds=2024-01-01/y",
        "d/m/ds=2024-01-01/z/deep",
        "d/m/ds=2024-01-02/x",
        "d/other",
    ]
    assert storage.list() == sorted([*storage.list("d"), "e/f"])
    assert storage.list("missing") == []
    assert storage.list_dirs("d/m") == ["ds=2024-01-01", "ds=2024-01-02"]
    assert storage.list_dirs("d") == ["m"]  # files directly under d are not dirs
    assert storage.list_dirs("nothing") == []
    assert storage.list_dirs("") == ["d", "e"]


def test_local_delete_tidies_empty_dirs(storage):
    storage.write_bytes("a/b/c/1", b"1")
    storage.write_bytes("a/b/2", b"2")
    storage.delete(["a/b/c/1", "a/b/not-there"])  # missing keys are fine
    assert storage.list() == ["a/b/2"]
    assert not (storage.base / "a/b/c").exists()
    storage.delete(["a/b/2"])
    assert storage.list() == []
    assert storage.base.is_dir()  # never the root itself
    assert not (storage.base / "a").exists()


def test_local_delete_prefix(storage):
    for i in range(5):
        storage.write_bytes(f"p/q/{i}", b"x")
    storage.write_bytes("p/keep", b"x")
    storage.write_bytes("pq/sibling", b"x")  # same string prefix, different directory
    assert storage.delete_prefix("p/q") == 5
    assert storage.list() == ["p/keep", "pq/sibling"]
    assert storage.delete_prefix("p/q") == 0
    assert storage.delete_prefix("") == 2  # everything, like S3, but the root directory stays
    assert storage.list() == []
    assert storage.base.is_dir()


@pytest.mark.parametrize("key", ["../outside", "a/../../outside", "/../x", "a/../../../etc/passwd"])
def test_local_key_escaping_root_is_refused(storage, key):
    storage.base.mkdir(parents=True, exist_ok=True)
    with pytest.raises(StorageError, match="escapes the storage root"):
        storage.write_bytes(key, b"x")
    with pytest.raises(StorageError, match="escapes the storage root"):
        storage.read_bytes(key)
    with pytest.raises(StorageError, match="escapes the storage root"):
        storage.delete([key])
    assert not (storage.base.parent / "outside").exists()


def test_local_symlink_escaping_root_is_refused(storage, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    storage.base.mkdir(parents=True)
    (storage.base / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorageError, match="escapes the storage root"):
        storage.write_bytes("link/x", b"x")
    assert not (outside / "x").exists()


def test_local_write_is_atomic(storage, monkeypatch):
    storage.write_bytes("a/obj", b"old")

    # A crash mid-write (here: fsync fails) leaves the previous object and no temp file.
    def failing_fsync(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk on fire"):
        storage.write_bytes("a/obj", b"new")
    monkeypatch.undo()
    assert storage.read_bytes("a/obj") == b"old"
    assert os.listdir(storage.base / "a") == ["obj"]
    # A temp file left by a killed writer is never listed.
    (storage.base / "a" / ".obj.abc123.tmp").write_bytes(b"half")
    assert storage.list("a") == ["a/obj"]
    storage.write_bytes("a/obj", b"new")
    assert storage.read_bytes("a/obj") == b"new"


# -- partitions ------------------------------------------------------------------------------
def test_publish_frame_round_trip(storage):
    df = frame(10)
    manifest = P.publish_frame(storage, "features", "m1", "2024-01-01", df, meta={"source": "unit"})
    assert manifest.rows == 10
    assert manifest.ds == "2024-01-01"
    out = P.read_partition(storage, "features", "m1", "2024-01-01")
    pd.testing.assert_frame_equal(out, df)
    body = json.loads(storage.read_text("features/m1/ds=2024-01-01/_manifest.json"))
    assert body["rows"] == 10
    assert body["meta"] == {"source": "unit"}
    assert [f["name"] for f in body["files"]] == [f["name"] for f in manifest.files]
    assert P.read_manifest(storage, "features", "m1", "2024-01-01").token == manifest.token
    # Columns subset, date objects and several files in manifest order.
    P.publish_frame(storage, "features", "m1", dt.date(2024, 1, 2), frame(25), rows_per_file=10)
    assert len(part_files(storage, "2024-01-02")) == 3 + 1
    out = P.read_partition(storage, "features", "m1", "2024-01-02", columns=["id"])
    assert list(out.columns) == ["id"]
    assert out["id"].tolist() == list(range(25))


def test_publish_empty_frame(storage):
    P.publish_frame(storage, "features", "m1", "2024-01-01", frame(0))
    out = P.read_partition(storage, "features", "m1", "2024-01-01")
    assert len(out) == 0
    assert P.list_partitions(storage, "features", "m1") == ["2024-01-01"]


def test_republish_replaces_partition_whole(storage):
    first = P.publish_frame(storage, "features", "m1", "2024-01-01", frame(30, label="old"), rows_per_file=10)
    old_names = {f["name"] for f in first.files}
    second = P.publish_frame(storage, "features", "m1", "2024-01-01", frame(5, label="new"))
    out = P.read_partition(storage, "features", "m1", "2024-01-01")
    assert len(out) == 5  # replaced, not appended
    assert set(out["label"]) == {"new"}
    names = set(part_files(storage))
    assert names == {f["name"] for f in second.files} | {P.MANIFEST}
    assert not names & old_names  # old part files are gone
    assert first.token != second.token


def test_uncommitted_files_are_invisible_and_cleaned_by_next_publish(storage):
    P.publish_frame(storage, "features", "m1", "2024-01-01", frame(3, label="committed"))
    # Crash simulation: a writer wrote new part files under a fresh token, then died before
    # the manifest flip.
    prefix = P.partition_prefix("features", "m1", "2024-01-01")
    orphan = f"{prefix}/part-deadbeefdeadbeef-00000.parquet"
    storage.write_bytes(orphan, frame_to_parquet(frame(100, label="orphan")))
    out = P.read_partition(storage, "features", "m1", "2024-01-01")
    assert len(out) == 3
    assert set(out["label"]) == {"committed"}
    # Same in a partition that was never committed: files but no marker.
    never = P.partition_prefix("features", "m1", "2024-01-05")
    storage.write_bytes(f"{never}/part-cafecafecafecafe-00000.parquet", frame_to_parquet(frame(2)))
    assert P.list_partitions(storage, "features", "m1") == ["2024-01-01"]
    # The next publish keeps a recent unlisted file: it may be an overlapping run's unpublished
    # output, which that run commits later.
    P.publish_frame(storage, "features", "m1", "2024-01-01", frame(5, label="other"))
    assert storage.exists(orphan)
    # Once older than ORPHAN_AGE it is an orphan of a dead writer, and the next publish removes it.
    old = dt.datetime.now().timestamp() - P.ORPHAN_AGE - 60
    os.utime(storage.local_path(orphan), (old, old))
    manifest = P.publish_frame(storage, "features", "m1", "2024-01-01", frame(4, label="rerun"))
    assert not storage.exists(orphan)
    assert set(part_files(storage)) == {manifest.files[0]["name"], P.MANIFEST}
    assert len(P.read_partition(storage, "features", "m1", "2024-01-01")) == 4


def test_success_marker_partition_is_readable(storage):
    prefix = P.partition_prefix("features", "m1", "2024-01-03")
    storage.write_bytes(f"{prefix}/part-00001.parquet", frame_to_parquet(frame(3, start=3)))
    storage.write_bytes(f"{prefix}/part-00000.parquet", frame_to_parquet(frame(3, start=0)))
    storage.write_bytes(f"{prefix}/_SUCCESS", b"")
    storage.write_bytes(f"{prefix}/README.txt", b"not parquet, ignored")
    assert P.list_partitions(storage, "features", "m1") == ["2024-01-03"]
    out = P.read_partition(storage, "features", "m1", "2024-01-03")
    assert out["id"].tolist() == list(range(6))  # files in name order


def test_uncommitted_partition_raises_naming_it(storage):
    prefix = P.partition_prefix("features", "m1", "2024-01-04")
    storage.write_bytes(f"{prefix}/part-x-00000.parquet", frame_to_parquet(frame(1)))
    with pytest.raises(PartitionError, match=r"features/m1/ds=2024-01-04 is not committed"):
        P.read_partition(storage, "features", "m1", "2024-01-04")
    with pytest.raises(PartitionError, match=r"ds=2024-02-01 is not committed"):
        P.read_partition(storage, "features", "m1", "2024-02-01")  # nothing at all


def test_bad_partition_date_is_refused(storage):
    with pytest.raises(PartitionError, match="YYYY-MM-DD"):
        P.publish_frame(storage, "features", "m1", "2024/01/01", frame(1))


def test_list_partitions_honours_half_open_range(storage):
    for day in ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]:
        P.publish_frame(storage, "features", "m1", day, frame(1))
    storage.write_bytes("features/m1/not-a-partition/x", b"1")
    storage.write_bytes("features/m1/ds=2024-01-05/part-x.parquet", b"uncommitted")
    assert P.list_partitions(storage, "features", "m1") == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert P.list_partitions(storage, "features", "m1", "2024-01-02", "2024-01-04") == ["2024-01-02", "2024-01-03"]
    assert P.list_partitions(storage, "features", "m1", start="2024-01-03") == ["2024-01-03", "2024-01-04"]
    assert P.list_partitions(storage, "features", "m1", end="2024-01-02") == ["2024-01-01"]
    assert P.list_partitions(storage, "features", "m1", "2024-01-02", "2024-01-02") == []
    assert P.list_partitions(storage, "features", "other") == []


def test_read_range_concatenates(storage):
    for i, day in enumerate(["2024-01-01", "2024-01-02", "2024-01-03"]):
        P.publish_frame(storage, "features", "m1", day, frame(2, start=10 * i))
    P.publish_frame(storage, "features", "m1", "2024-01-04", frame(0))
    df, dates = P.read_range(storage, "features", "m1", "2024-01-01", "2024-01-05")
    assert dates == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert df["id"].tolist() == [0, 1, 10, 11, 20, 21]
    df, dates = P.read_range(storage, "features", "m1", "2024-01-02", "2024-01-03", columns=["id"])
    assert dates == ["2024-01-02"]
    assert list(df.columns) == ["id"]
    empty, dates = P.read_range(storage, "features", "m1", "2025-01-01", "2025-02-01", columns=["id"])
    assert dates == []
    assert len(empty) == 0
    assert list(empty.columns) == ["id"]


def test_corrupt_parquet_in_manifest_raises_with_uri(storage):
    manifest = P.publish_frame(storage, "features", "m1", "2024-01-01", frame(3))
    key = f"features/m1/ds=2024-01-01/{manifest.files[0]['name']}"
    storage.write_bytes(key, b"PAR1 this is not parquet")
    with pytest.raises(PartitionError, match="not a readable parquet file") as info:
        P.read_partition(storage, "features", "m1", "2024-01-01")
    assert storage.uri(key) in str(info.value)


def test_missing_listed_file_raises_with_uri(storage):
    manifest = P.publish_frame(storage, "features", "m1", "2024-01-01", frame(3))
    key = f"features/m1/ds=2024-01-01/{manifest.files[0]['name']}"
    storage.delete([key])
    with pytest.raises(PartitionError, match="listed in the manifest but missing") as info:
        P.read_partition(storage, "features", "m1", "2024-01-01")
    assert storage.uri(key) in str(info.value)


def test_corrupt_manifest_raises(storage):
    P.publish_frame(storage, "features", "m1", "2024-01-01", frame(1))
    storage.write_text("features/m1/ds=2024-01-01/_manifest.json", "{not json")
    with pytest.raises(PartitionError, match=r"corrupt manifest .*_manifest\.json"):
        P.read_partition(storage, "features", "m1", "2024-01-01")


def test_verify_detects_hash_mismatch(storage):
    manifest = P.publish_frame(storage, "features", "m1", "2024-01-01", frame(3))
    key = f"features/m1/ds=2024-01-01/{manifest.files[0]['name']}"
    # A different but valid parquet file: readable, so only the hash can tell.
    storage.write_bytes(key, frame_to_parquet(frame(3, label="tampered")))
    assert set(P.read_partition(storage, "features", "m1", "2024-01-01")["label"]) == {"tampered"}
    with pytest.raises(PartitionError, match="does not match its manifest hash") as info:
        P.read_partition(storage, "features", "m1", "2024-01-01", verify=True)
    assert storage.uri(key) in str(info.value)


def test_verify_passes_on_intact_partition(storage):
    P.publish_frame(storage, "features", "m1", "2024-01-01", frame(7), rows_per_file=3)
    assert len(P.read_partition(storage, "features", "m1", "2024-01-01", verify=True)) == 7


# -- get_storage -----------------------------------------------------------------------------
def test_get_storage_dispatches(tmp_path, monkeypatch):
    local = get_storage(str(tmp_path / "x"))
    assert isinstance(local, LocalStorage)
    assert local.root == str((tmp_path / "x").resolve())
    via_file = get_storage(f"file://{tmp_path}/y")
    assert isinstance(via_file, LocalStorage)
    assert via_file.root == str((tmp_path / "y").resolve())
    monkeypatch.setenv("MLOPS_DATA_ROOT", str(tmp_path / "env"))
    assert get_storage().root == str((tmp_path / "env").resolve())
    # S3 dispatch with an injected client: no network, no credentials needed.
    s3 = get_storage("s3://bucket/some/prefix/", client=object())
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.root) == ("bucket", "some/prefix", "s3://bucket/some/prefix")
    assert s3.uri("a/b") == "s3://bucket/some/prefix/a/b"
    assert s3._key("a/b") == "some/prefix/a/b"
    bare = get_storage("s3://bucket", client=object())
    assert (bare.bucket, bare.prefix, bare._key("k")) == ("bucket", "", "k")


@pytest.mark.parametrize("root", ["gs://bucket/x", "hdfs://nn/data", "http://example/x"])
def test_get_storage_rejects_unsupported_schemes(root):
    with pytest.raises(StorageError, match=r"unsupported storage URI .*local path or s3://bucket/prefix"):
        get_storage(root)


def test_get_storage_needs_a_root(monkeypatch):
    monkeypatch.delenv("MLOPS_DATA_ROOT", raising=False)
    with pytest.raises(StorageError, match="MLOPS_DATA_ROOT is not set"):
        get_storage()


def test_s3_storage_rejects_bad_roots():
    with pytest.raises(StorageError, match="not an s3:// URI"):
        S3Storage("/tmp/x", client=object())
    with pytest.raises(StorageError, match="no bucket"):
        S3Storage("s3://", client=object())
