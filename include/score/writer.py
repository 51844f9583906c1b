"""The scoring outputs' part files: names per run, temporary paths, the chunked parquet writer.

A part is written to a temporary file chunk by chunk and handed to storage when closed; it
stays invisible to readers until ``publish`` commits the partition's manifest. Part names
carry the run's token (``part-<token>-...``), so a failed run's files can be found and removed.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from include.contracts import Dataset
from include.platform.storage import LocalStorage, Storage, mkstemp_shared
from include.score.payloads import PartFile

PREDICTIONS, SHADOW, QUARANTINE = Dataset.PREDICTIONS, Dataset.SHADOW_PREDICTIONS, Dataset.QUARANTINE


def run_token(run_id: str) -> str:
    """Same for every try of one Airflow run (retries overwrite their own files)."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:16]


def temp_path(storage: Storage, key: str) -> str:
    """Where to write a file before handing it to storage (same filesystem when local)."""
    if isinstance(storage, LocalStorage):
        target = Path(storage.local_path(key))
        for attempt in range(3):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, path = mkstemp_shared(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
                break
            except FileNotFoundError:  # a publish removed the empty ds= folder in between: make it again
                if attempt == 2:
                    raise
    else:
        fd, path = mkstemp_shared(suffix=".parquet.tmp")
    os.close(fd)
    return path


def remove_temporary(storage: Storage, prefix: str, start: str, older_than: float | None = None) -> None:
    """Temporary files of killed writers (LocalStorage.list hides them from every cleanup).

    :param start: the name prefix, ``.part-<run token>-`` for one run's files.
    :param older_than: only files last written more than this many seconds ago: another run's
        temporary file is removed only once it is that old (a live writer keeps it fresh).
    """
    if not isinstance(storage, LocalStorage):
        return
    with storage.guard("deleting", f"{prefix}/{start}*.tmp"):
        for path in Path(storage.local_path(prefix)).glob(f"{start}*.tmp"):
            try:
                if older_than is None or time.time() - path.stat().st_mtime > older_than:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue


class PartWriter:
    """A parquet file written chunk by chunk, handed to storage when closed."""

    def __init__(self, storage: Storage, key: str) -> None:
        self.storage, self.key, self.rows = storage, key, 0
        with storage.guard("staging", key):
            self.path = temp_path(storage, key)
        self.writer: Any = None
        self.schema: Any = None  # every chunk is written with this schema (the first chunk's if unset)

    def write(self, frame: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # A column all null in one chunk would be typed null there and not match the file's schema.
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        self.schema = table.schema
        with self.storage.guard(f"staging (in {self.path})", self.key):
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
            self.writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> PartFile | None:
        """Hand the file to storage; None (and no file) when nothing was written."""
        if self.writer is None:
            Path(self.path).unlink(missing_ok=True)
            return None
        with self.storage.guard(f"staging (in {self.path})", self.key):
            self.writer.close()
            size = Path(self.path).stat().st_size
            digest = hashlib.sha256()
            with open(self.path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        self.storage.put_file(self.key, self.path)
        return {"name": self.key.rsplit("/", 1)[-1], "rows": self.rows, "bytes": size, "sha256": digest.hexdigest()}

    def abort(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()  # may fail again on a full disk: the file goes anyway
        except OSError:
            pass
        finally:
            Path(self.path).unlink(missing_ok=True)
