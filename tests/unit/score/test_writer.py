"""Part files of the scoring outputs (include/score/writer.py) on a real LocalStorage."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow.parquet as pq
import pytest

from include.score.writer import PartWriter, remove_temporary, run_token
from tests.unit.score.helpers import files_on_disk

KEY = "predictions/churn/ds=2026-02-02/part-abc-00000.parquet"


def test_run_token_is_stable_per_run_and_differs_between_runs():
    assert run_token("scheduled__1") == run_token("scheduled__1")
    assert run_token("scheduled__1") != run_token("scheduled__2")
    assert len(run_token("x")) == 16


def writer_path(storage, writer):
    return writer.path.replace(str(storage.root) + "/", "")


def test_chunks_are_written_with_the_first_chunks_schema_and_handed_to_storage(storage):
    writer = PartWriter(storage, KEY)
    assert files_on_disk(storage) == {writer_path(storage, writer)}  # a hidden temporary file only
    writer.write(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    writer.write(pd.DataFrame({"a": [3], "b": [None]}))  # all null in this chunk: typed as the first

    entry = writer.close()

    data = storage.read_bytes(KEY)
    assert entry == {
        "name": KEY.rsplit("/", 1)[-1],
        "rows": 3,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    table = pq.read_table(storage.local_path(KEY))
    assert table.to_pydict() == {"a": [1, 2, 3], "b": ["x", "y", None]}
    assert files_on_disk(storage) == {KEY}


def test_nothing_written_means_no_file(storage):
    assert PartWriter(storage, KEY).close() is None
    assert files_on_disk(storage) == set()


def test_abort_leaves_nothing(storage):
    writer = PartWriter(storage, KEY)
    writer.write(pd.DataFrame({"a": [1]}))
    writer.abort()
    assert files_on_disk(storage) == set()


@pytest.mark.parametrize(("start", "left"), [(".part-", set()), (".part-abc-", {".part-zzz-1.parquet.x.tmp"})])
def test_remove_temporary_removes_killed_writers_files(storage, start, left):
    prefix = "predictions/churn/ds=2026-02-02"
    for name in (".part-abc-1.parquet.x.tmp", ".part-zzz-1.parquet.x.tmp", "part-abc-1.parquet"):
        storage.write_bytes(f"{prefix}/{name}", b"x")
    remove_temporary(storage, prefix, start)
    assert files_on_disk(storage) == {f"{prefix}/part-abc-1.parquet"} | {f"{prefix}/{n}" for n in left}


def test_a_writer_remakes_a_ds_folder_removed_by_a_concurrent_publish(storage, monkeypatch):
    """Another run's publish removes an empty ds= folder (a failed date) between this writer's
    mkdir and its temporary file: the writer makes the folder again instead of failing."""
    import shutil
    from pathlib import Path

    import include.score.writer as writer_module

    real, calls = writer_module.mkstemp_shared, []

    def folder_removed_first(**kwargs):
        calls.append(kwargs["dir"])
        if len(calls) == 1:
            shutil.rmtree(kwargs["dir"])  # what the other run's publish did at that moment
        return real(**kwargs)

    monkeypatch.setattr(writer_module, "mkstemp_shared", folder_removed_first)
    writer = PartWriter(storage, KEY)
    assert len(calls) == 2 and Path(writer.path).exists()
    writer.write(pd.DataFrame({"a": [1]}))
    assert writer.close()["rows"] == 1
