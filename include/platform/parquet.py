"""Parquet in and out of memory and files, the one way the project does it.

pyarrow never holds a Python object while it works: it reads a path it opens itself, or a copy of
the bytes in Arrow's own memory, and writes to ``pa.BufferOutputStream``. When Arrow's worker
threads read through a Python object (``pd.read_parquet(io.BytesIO(...))``; ``pd.read_parquet
(path)``, which opens the file in Python and passes the handle; even ``pa.BufferReader(bytes)``),
a worker can still be letting go of it as the interpreter finalizes; taking the GIL then ends the
thread with ``pthread_exit``, which unwinds through Arrow's C++ frames and aborts the process
(``terminate called without an active exception``, exit 134) after all the work is done
(apache/arrow#34314, #50482). Seen here on a loaded machine: a runbook's one-line read of a
partition died in 35 of 150 runs (BytesIO), a bare read in 3 of 80 and 9 of 60 with
``BufferReader`` over the bytes object; none of 360 through these functions
(``tests/integration/test_parquet_exit.py`` drives it).
"""

from __future__ import annotations

import os
from typing import IO, Any

PathLike = str | os.PathLike[str]


def parquet_source(data: bytes | PathLike | IO[bytes]) -> Any:
    """What pyarrow reads ``data`` from: a ``BufferReader`` over a copy of bytes, a path as a
    string (pyarrow opens it), or a file object as given (a caller's stream; the project has none)."""
    import pyarrow as pa

    if isinstance(data, (bytes, bytearray, memoryview)):
        return pa.BufferReader(_arrow_copy(data))
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    return data


def _arrow_copy(data: bytes | bytearray | memoryview) -> Any:
    """``data`` copied into a buffer Arrow allocated (one memcpy): releasing it needs no GIL."""
    import pyarrow as pa

    view = memoryview(data).cast("B")
    buffer = pa.allocate_buffer(len(view))
    memoryview(buffer).cast("B")[:] = view
    return buffer


def open_parquet_file(data: bytes | PathLike | IO[bytes], **kwargs: Any) -> Any:
    """``pyarrow.parquet.ParquetFile`` over bytes or a path (keyword arguments passed on)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(parquet_source(data), **kwargs)


def read_parquet_table(data: bytes | PathLike, columns: list[str] | None = None) -> Any:
    """The ``pyarrow.Table`` in parquet bytes or a file (only ``columns`` when given)."""
    import pyarrow.parquet as pq

    return pq.read_table(parquet_source(data), columns=columns, use_pandas_metadata=True)


def read_parquet_frame(data: bytes | PathLike, columns: list[str] | None = None) -> Any:
    """The DataFrame in parquet bytes or a file, as ``pandas.read_parquet`` returns it."""
    return read_parquet_table(data, columns).to_pandas()


def frame_to_parquet(frame: Any) -> bytes:
    """A DataFrame as parquet bytes, without its index, snappy-compressed: what
    ``frame.to_parquet(index=False)`` writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="snappy")
    return sink.getvalue().to_pybytes()
