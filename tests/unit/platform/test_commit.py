"""Uncommitted partitions: the errors say how to commit them, and ``python -m
include.platform.commit`` commits parquet files already in place (real files in tmp_path)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from include.errors import DataError, FeaturePullError, NotRetryable, PartitionError, PartitionNotCommitted
from include.platform.commit import commit_existing, main
from include.platform.partitions import list_partitions, read_manifest, read_partition, sha256
from include.platform.storage import LocalStorage

PROJECT = Path(__file__).resolve().parents[3]
HINT = "python -m include.platform.commit"


def lay_out(root: Path, dataset: str, model: str, ds: str, frames: list[pd.DataFrame]) -> list[Path]:
    """Parquet files written by 'another tool': no manifest, no _SUCCESS."""
    folder = root / dataset / model / f"ds={ds}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"export-{i}.parquet"
        frame.to_parquet(path, index=False)
        paths.append(path)
    return paths


def frame(rows: int, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": range(offset, offset + rows), "x": [0.5] * rows})


# -- the errors say how to commit ------------------------------------------------------------------
def test_reading_an_uncommitted_partition_says_how_to_commit_it(tmp_path) -> None:
    lay_out(tmp_path, "features", "churn", "2026-01-02", [frame(3)])
    with pytest.raises(PartitionNotCommitted) as excinfo:
        read_partition(LocalStorage(tmp_path), "features", "churn", "2026-01-02")
    message = str(excinfo.value)
    assert isinstance(excinfo.value, NotRetryable)
    assert "ds=2026-01-02 is not committed" in message
    assert f"`{HINT} features churn 2026-01-02`" in message
    assert "_SUCCESS" in message and "include.platform.partitions.publish_frame" in message


def test_a_training_pull_over_uncommitted_labels_names_them_and_the_command(tmp_path) -> None:
    from include.retrain.features import TrainingWindow, pull_training_data
    from tests.unit.conftest import small_churn_config

    for day in ("2026-01-03", "2026-01-04", "2026-01-05"):
        lay_out(tmp_path, "labels", "churn", day, [frame(3)])
    window = TrainingWindow(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 8))
    with pytest.raises(FeaturePullError) as excinfo:
        pull_training_data(LocalStorage(tmp_path), small_churn_config(), window)
    message = str(excinfo.value)
    assert isinstance(excinfo.value, NotRetryable)  # fails at once in Airflow (tests/e2e/test_retry_policy.py)
    assert message.startswith("no committed label partitions for 'churn' in [2026-01-01, 2026-01-08)")
    assert "3 ds= folder(s) without _manifest.json or _SUCCESS (2026-01-03, 2026-01-04, 2026-01-05)" in message
    assert f"`{HINT} labels churn --from 2026-01-03 --to 2026-01-05`" in message


def test_a_pull_with_no_folders_at_all_says_where_they_go(tmp_path) -> None:
    from include.retrain.features import TrainingWindow, pull_training_data
    from tests.unit.conftest import small_churn_config

    window = TrainingWindow(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 8))
    with pytest.raises(FeaturePullError) as excinfo:
        pull_training_data(LocalStorage(tmp_path), small_churn_config(), window)
    message = str(excinfo.value)
    assert "expected labels/churn/ds=YYYY-MM-DD/*.parquet folders, committed" in message
    assert f"{HINT} labels churn YYYY-MM-DD" in message


# -- the commit command ---------------------------------------------------------------------------
def test_commit_one_date_writes_the_manifest_of_the_files_in_place(tmp_path) -> None:
    paths = lay_out(tmp_path, "features", "churn", "2026-01-02", [frame(3), frame(4, 3)])
    (paths[0].parent / "notes.txt").write_text("not data")
    storage = LocalStorage(tmp_path)
    assert list_partitions(storage, "features", "churn") == []

    done = commit_existing(storage, "features", "churn", "2026-01-02")

    assert [(d.ds, d.status, d.files, d.rows) for d in done] == [("2026-01-02", "committed", 2, 7)]
    manifest = read_manifest(storage, "features", "churn", "2026-01-02")
    assert manifest is not None and manifest.rows == 7
    assert [(f["name"], f["rows"], f["sha256"]) for f in manifest.files] == [
        (p.name, n, sha256(p.read_bytes())) for p, n in zip(paths, (3, 4), strict=True)
    ]
    assert list_partitions(storage, "features", "churn") == ["2026-01-02"]
    # Verified reads check the recorded hashes; nothing was moved or deleted.
    read = read_partition(storage, "features", "churn", "2026-01-02", verify=True)
    assert read["customer_id"].tolist() == list(range(7))
    assert (paths[0].parent / "notes.txt").exists() and all(p.exists() for p in paths)


def test_commit_a_range_skips_committed_dates_and_gaps(tmp_path) -> None:
    for i, day in enumerate(("2026-01-01", "2026-01-02", "2026-01-04", "2026-01-09")):
        lay_out(tmp_path, "labels", "churn", day, [frame(i + 1)])
    success = tmp_path / "labels" / "churn" / "ds=2026-01-02" / "_SUCCESS"
    success.write_text("")
    storage = LocalStorage(tmp_path)

    done = commit_existing(storage, "labels", "churn", "2026-01-01", "2026-01-04")

    assert [(d.ds, d.status, d.rows) for d in done] == [
        ("2026-01-01", "committed", 1),
        ("2026-01-02", "already committed", 0),
        ("2026-01-04", "committed", 3),
    ]
    assert not (tmp_path / "labels" / "churn" / "ds=2026-01-02" / "_manifest.json").exists()
    assert list_partitions(storage, "labels", "churn") == ["2026-01-01", "2026-01-02", "2026-01-04"]  # not Jan 9


def test_an_unreadable_file_refuses_the_whole_range(tmp_path) -> None:
    lay_out(tmp_path, "labels", "churn", "2026-01-01", [frame(2)])
    bad = lay_out(tmp_path, "labels", "churn", "2026-01-02", [frame(2)])[0]
    bad.write_bytes(b"not parquet at all")
    storage = LocalStorage(tmp_path)
    with pytest.raises(PartitionError, match=r"ds=2026-01-02/export-0.parquet is not a readable parquet file"):
        commit_existing(storage, "labels", "churn", "2026-01-01", "2026-01-02")
    assert list_partitions(storage, "labels", "churn") == []  # Jan 1 was readable, yet not committed


def test_nothing_to_commit_is_refused_by_name(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(DataError, match=r"labels/churn/ds=2026-01-01 does not exist"):
        commit_existing(storage, "labels", "churn", "2026-01-01")
    (tmp_path / "labels" / "churn" / "ds=2026-01-02").mkdir(parents=True)
    (tmp_path / "labels" / "churn" / "ds=2026-01-02" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"ds=2026-01-02 has no \*.parquet files to commit"):
        commit_existing(storage, "labels", "churn", "2026-01-02")
    with pytest.raises(DataError, match="dataset must be one of"):
        commit_existing(storage, "predictions", "churn", "2026-01-02")


def test_the_cli_commits_and_reports(tmp_path, capsys) -> None:
    lay_out(tmp_path, "features", "churn", "2026-01-02", [frame(5)])
    assert main(["features", "churn", "2026-01-02", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"committed {tmp_path}/features/churn/ds=2026-01-02: 1 file(s), 5 rows" in out
    assert main(["features", "churn", "--from", "2026-01-01", "--to", "2026-01-03", "--data-root", str(tmp_path)]) == 0
    assert "already committed" in capsys.readouterr().out
    assert main(["labels", "churn", "2026-01-02", "--data-root", str(tmp_path)]) == 1
    assert "error: " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["labels", "churn", "--from", "2026-01-02"])  # a range needs both ends


def test_python_dash_m_reads_the_data_root_from_the_environment(tmp_path) -> None:
    lay_out(tmp_path, "labels", "churn", "2026-01-05", [frame(4)])
    env = {**os.environ, "MLOPS_DATA_ROOT": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "include.platform.commit", "labels", "churn", "2026-01-05"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "1 file(s), 4 rows" in result.stdout
    body = json.loads((tmp_path / "labels" / "churn" / "ds=2026-01-05" / "_manifest.json").read_text())
    assert body["rows"] == 4 and body["meta"] == {"committed_by": "include.platform.commit"}
