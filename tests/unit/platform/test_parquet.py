"""Parquet through include.platform.parquet: the same frames as pandas' own reader and writer,
and no Python object left for pyarrow's threads (the process-exit abort it prevents is driven in
tests/integration/test_parquet_exit.py)."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from include.platform.parquet import (
    frame_to_parquet,
    open_parquet_file,
    parquet_source,
    read_parquet_frame,
    read_parquet_table,
)

PROJECT = Path(__file__).resolve().parents[3]
PRODUCT = ("include", "plugins", "dags", "scripts")
HOME = Path("include/platform/parquet.py")


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(5, dtype="int64"),
            "ts": pd.date_range("2026-02-11", periods=5, freq="h", tz="UTC"),
            "score": [0.1, np.nan, 0.3, 0.4, 0.5],
            "plan": pd.Categorical(["a", "b", "a", None, "b"]),
            "name": ["x", None, "z", "w", "v"],
            "flag": [True, False, True, False, True],
            "count": pd.array([1, None, 3, 4, 5], dtype="Int64"),
        }
    )


def test_a_frame_round_trips_as_pandas_writes_and_reads_it(tmp_path):
    ours = read_parquet_frame(frame_to_parquet(frame()))
    theirs = pd.read_parquet(io.BytesIO(frame().to_parquet(index=False)))
    pd.testing.assert_frame_equal(ours, theirs)
    pd.testing.assert_frame_equal(ours, frame())
    path = tmp_path / "f.parquet"
    path.write_bytes(frame_to_parquet(frame()))
    pd.testing.assert_frame_equal(read_parquet_frame(path), frame())
    pd.testing.assert_frame_equal(read_parquet_frame(str(path), columns=["score", "id"]), frame()[["score", "id"]])


def test_a_frame_with_an_index_is_written_without_it():
    indexed = frame().set_index("id")
    assert list(read_parquet_frame(frame_to_parquet(indexed)).columns) == list(indexed.columns)


def test_bytes_are_read_from_arrow_memory_not_the_python_object():
    data = frame_to_parquet(frame())
    source = parquet_source(data)
    assert isinstance(source, pa.BufferReader)
    held = source.read_buffer()
    # a copy Arrow allocated: its address is not the bytes object's
    assert held.address != pa.py_buffer(data).address and held.to_pybytes() == data
    assert parquet_source(Path("/x/y.parquet")) == "/x/y.parquet"
    assert open_parquet_file(data).metadata.num_rows == 5 == read_parquet_table(data).num_rows


def _parquet_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """``read_parquet(...)``, ``.to_parquet(...)`` and ``BytesIO`` handed to pyarrow, by line."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in {"read_parquet", "to_parquet"}:
            found.append((node.lineno, name))
        if name in {"ParquetFile", "read_table", "write_table", "ParquetWriter"}:
            for arg in node.args[:1]:
                if isinstance(arg, ast.Call) and getattr(arg.func, "attr", getattr(arg.func, "id", "")) == "BytesIO":
                    found.append((node.lineno, f"{name}(BytesIO)"))
    return found


def test_product_code_reads_and_writes_parquet_only_through_the_one_home():
    found = {
        f"{file.relative_to(PROJECT)}:{line}": call
        for folder in PRODUCT
        for file in sorted((PROJECT / folder).rglob("*.py"))
        if file.relative_to(PROJECT) != HOME
        for line, call in _parquet_calls(ast.parse(file.read_text()))
    }
    assert found == {}


def test_the_scan_finds_each_way_around_the_home():
    planted = ast.parse(
        "import io, pandas as pd, pyarrow.parquet as pq\n"
        "pd.read_parquet(p)\n"
        "df.to_parquet(buf)\n"
        "pq.ParquetFile(io.BytesIO(data))\n"
        "pq.read_table(BytesIO(data))\n"
        "pq.read_table('a/path.parquet')\n"
    )
    assert _parquet_calls(planted) == [
        (2, "read_parquet"),
        (3, "to_parquet"),
        (4, "ParquetFile(BytesIO)"),
        (5, "read_table(BytesIO)"),
    ]
