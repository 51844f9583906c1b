"""Reading a scoring input file: what is about its bytes is the input's fault, the rest an outage.

``open_parquet`` opens the file (its footer); ``undecodable_is_input_error`` wraps a later read
of its pages. Either way a file whose bytes cannot be decoded fails its date with a
``ScoringInputError`` (the same on every try: no retries), while the storage layer's errors
(``StorageUnavailable``, ``ObjectNotFound``) and OS errors with an errno (disk full, I/O error)
keep their meaning as outages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from include.errors import ScoringInputError, StorageError
from include.platform.parquet import open_parquet_file
from include.platform.storage import Storage


def open_parquet(storage: Storage, key: str) -> Any:
    """A ``pyarrow.parquet.ParquetFile``; ScoringInputError when the file is not readable parquet,
    StorageUnavailable when the storage did not answer."""
    import pyarrow as pa

    path = storage.local_path(key)
    try:
        # The storage layer names outages (StorageUnavailable) and missing files (ObjectNotFound);
        # what is left from the parquet reader is about the bytes of the file.
        with storage.guard("reading", key):
            return open_parquet_file(path if path else storage.read_bytes(key))
    except StorageError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:  # not parquet, truncated footer, ...
        raise ScoringInputError(f"{storage.uri(key)} is not a readable parquet file: {exc}") from exc


@contextlib.contextmanager
def undecodable_is_input_error(storage: Storage, key: str) -> Iterator[None]:
    """Around a read of ``key``'s pages: bytes that cannot be decoded (a corrupt page behind a
    sound footer) raise ScoringInputError; outages raise as they came."""
    import pyarrow as pa

    try:
        yield
    except StorageError:
        raise
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the storage guard names an outage (disk full, I/O error)
        raise ScoringInputError(f"{storage.uri(key)} cannot be read: {' '.join(str(exc).split())}") from exc
