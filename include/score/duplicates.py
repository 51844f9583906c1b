"""Duplicate entity ids within one date's partition, found over the whole date at plan time.

A date's rows are cut into units (row-group ranges of its files) scored by separate tasks, so
duplicates that span files or units are found here, before scoring: only the entity id and
timestamp columns of the date's files are read. Rows with a null key or a timestamp outside the
partition's day (both quarantined by the row checks anyway) take no part.

``scoring.duplicates``:

- ``keep_latest`` (default): the row with the latest timestamp is scored; the others are
  quarantined as "duplicate entity_id: superseded by a later row". On a tie of the latest
  timestamp the last row in file order wins (files in manifest order, rows in file order).
- ``quarantine``: every row of a duplicated id is quarantined.
- ``fail``: the date fails (``ScoringInputError``) with the count and a few example ids.

The dropped rows, ``(file, row, reason)`` with ``row`` the row number in the file, go to a
small parquet file ``scoring_duplicates/<model>/ds=<ds>/duplicates-<hash>.parquet`` (named by
its content: retries and overlapping runs write the same file) whose key the date's units carry
in ``PlannedUnit["duplicates"]``. A date without duplicates writes and reads nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from include.config import ModelConfig
from include.config.sections import RowPolicy
from include.contracts import Dataset
from include.errors import ScoringInputError
from include.platform.parquet import frame_to_parquet, read_parquet_frame
from include.platform.partitions import partition_prefix, sweep
from include.platform.storage import Storage
from include.score.checks import DUPLICATE_REASON, SUPERSEDED_REASON, day_window, utc_timestamps
from include.score.payloads import PlannedUnit
from include.score.reading import open_parquet, undecodable_is_input_error

FILE, ROW, WHY = "file", "row", "reason"  # the columns of the duplicates file
_EXAMPLES = 5


def _read_keys(storage: Storage, key: str, columns: list[str]) -> Any:
    """The key columns of one file (a corrupt page fails the date at plan)."""
    with undecodable_is_input_error(storage, key), storage.guard("reading", key):
        return open_parquet(storage, key).read(columns=columns)


def date_keys(storage: Storage, config: ModelConfig, keys: list[str]) -> Any:
    """Entity id, UTC timestamp, file and row number of the rows of ``keys`` (in that order)
    whose entity id may appear more than once among them: every row of a repeated id (and, very
    rarely, a row whose id only shares a 64-bit hash with another). Ids are hashed in numpy
    straight from the Arrow buffers and the hashes sorted, so a date of 20 million rows needs
    the key columns in Arrow plus 8 bytes a row, and pandas only for the candidate rows (which
    :func:`dropped_rows` compares exactly)."""
    import numpy as np
    import pandas as pd

    tables = [(key, _read_keys(storage, key, [config.entity_id, config.timestamp])) for key in keys]
    hashes = [id_hashes(table.column(config.entity_id)) for _, table in tables]
    repeated = _repeated(hashes)
    frames = []
    for (key, table), hashed in zip(tables, hashes, strict=True):
        rows = np.arange(table.num_rows, dtype="int64")
        if repeated is not None and hashed is not None:
            rows = rows[np.isin(hashed, repeated)]
        frame = table.take(rows).to_pandas()
        frames.append(
            pd.DataFrame(
                {
                    "id": frame[config.entity_id].array,
                    "ts": utc_timestamps(frame[config.timestamp]).array,
                    FILE: key,
                    ROW: rows,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "ts", FILE, ROW])


_MULTIPLIER = 0x100000001B3  # odd, so it has an inverse modulo 2**64


def id_hashes(column: Any) -> Any:
    """A uint64 per row: equal ids give equal hashes (strings: a polynomial hash of their bytes,
    from the Arrow buffers; integers: the value). None for other id types (every row is then a
    candidate)."""
    import numpy as np
    import pyarrow as pa

    column = column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column
    if pa.types.is_integer(column.type):
        return column.cast(pa.int64()).fill_null(0).to_numpy().view("uint64")
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return None
    parts = [_string_hashes(chunk) for chunk in column.chunks]
    return np.concatenate(parts) if parts else np.empty(0, dtype="uint64")


def _string_hashes(chunk: Any) -> Any:
    """sum_j (byte_j + 1) * P**j over each string's bytes, modulo 2**64 (numpy's uint64 wraps),
    from prefix sums of the chunk's data buffer; the length is mixed in."""
    import numpy as np
    import pyarrow as pa

    offset_type = "int64" if pa.types.is_large_string(chunk.type) else "int32"
    _, offsets_buffer, data_buffer = chunk.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[chunk.offset : chunk.offset + len(chunk) + 1]
    offsets = offsets.astype("int64")
    base = int(offsets[0]) if len(offsets) else 0
    data: Any = np.frombuffer(data_buffer, dtype="uint8")[base : int(offsets[-1])] if data_buffer else []
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(len(data), _MULTIPLIER, dtype="uint64"))  # P**1 .. P**n
        inverse = np.cumprod(np.full(len(data) + 1, pow(_MULTIPLIER, -1, 2**64), dtype="uint64"))
        prefix = np.concatenate([np.zeros(1, dtype="uint64"), np.cumsum((np.asarray(data, "uint64") + 1) * powers)])
        starts, ends = offsets[:-1] - base, offsets[1:] - base
        # (prefix[end] - prefix[start]) / P**start: the same string hashes alike wherever it lies.
        hashes = (prefix[ends] - prefix[starts]) * inverse[starts]
        return hashes ^ (ends - starts).astype("uint64") * np.uint64(0x9E3779B97F4A7C15)


def _repeated(hashes: list[Any]) -> Any:
    """The hash values that occur more than once over all files; None when an id type has no hash."""
    import numpy as np

    if any(h is None for h in hashes):
        return None
    merged = np.sort(np.concatenate(hashes)) if hashes else np.empty(0, dtype="uint64")
    same = merged[1:] == merged[:-1]
    return np.unique(merged[1:][same])


def dropped_rows(config: ModelConfig, ds: str, rows: Any) -> Any:
    """The rows the ``scoring.duplicates`` policy drops: ``(file, row, reason)``; empty when none.

    :param rows: :func:`date_keys` of the date's files (at least every row of a repeated id).
    """
    start, end = day_window(ds, config.scoring.timestamp_tolerance_hours)
    eligible = rows[rows["id"].notna() & rows["ts"].notna() & (rows["ts"] >= start) & (rows["ts"] < end)]
    repeated = eligible[eligible["id"].duplicated(keep=False)]
    policy = config.scoring.duplicates
    if repeated.empty:
        return repeated[[FILE, ROW]].assign(**{WHY: ""})
    if policy == RowPolicy.FAIL:
        ids = repeated["id"].drop_duplicates()
        examples = ", ".join(repr(i) for i in ids.iloc[:_EXAMPLES])
        raise ScoringInputError(
            f"{config.name} ds={ds}: {len(ids)} entity ids appear more than once ({len(repeated)} rows), e.g. "
            f"{examples}; scoring.duplicates is 'fail': fix the feature partition, or set scoring.duplicates "
            f"to keep_latest or quarantine"
        )
    if policy == RowPolicy.QUARANTINE:
        return repeated[[FILE, ROW]].assign(**{WHY: DUPLICATE_REASON})
    # keep_latest: the stable sort keeps file order (files, then rows) among equal timestamps.
    order = repeated.assign(_file=repeated[FILE].map({k: i for i, k in enumerate(dict.fromkeys(rows[FILE]))}))
    order = order.sort_values(["ts", "_file", ROW], kind="stable")
    losers = order[order["id"].duplicated(keep="last")]
    return losers[[FILE, ROW]].assign(**{WHY: SUPERSEDED_REASON})


def _write(storage: Storage, config: ModelConfig, ds: str, dropped: Any) -> str:
    data = frame_to_parquet(dropped.sort_values([FILE, ROW]))
    prefix = partition_prefix(Dataset.SCORING_DUPLICATES, config.name, ds)
    name = f"duplicates-{hashlib.sha256(data).hexdigest()[:16]}.parquet"
    storage.write_bytes(f"{prefix}/{name}", data)
    sweep(storage, prefix, {name}, token="")  # other runs' files once they are a day old
    return f"{prefix}/{name}"


def plan_duplicates(storage: Storage, config: ModelConfig, units: list[PlannedUnit]) -> dict[str, str]:
    """Apply ``scoring.duplicates`` to each date of ``units``: the units of a date with duplicates
    get the key of its dropped-rows file in ``unit["duplicates"]``. Returns the dates that fail
    (``duplicates: fail``) with the reason; the caller drops their units, the other dates go on."""
    failed: dict[str, str] = {}
    for ds in dict.fromkeys(unit["ds"] for unit in units):
        date_units = [unit for unit in units if unit["ds"] == ds]
        keys = list(dict.fromkeys(f["key"] for unit in date_units for f in unit["inputs"]))
        try:
            dropped = dropped_rows(config, ds, date_keys(storage, config, keys))
        except ScoringInputError as exc:
            failed[ds] = str(exc)
            continue
        if dropped.empty:
            continue
        key = _write(storage, config, ds, dropped)
        for unit in date_units:
            unit["duplicates"] = key
    return failed


def unit_drops(storage: Storage, unit: PlannedUnit) -> dict[str, tuple[Any, Any]]:
    """``{file key: (row numbers, reasons)}`` (sorted by row) of the rows this unit's date drops
    in the unit's files; empty when none."""
    key = unit.get("duplicates")
    if not key:
        return {}
    frame = read_parquet_frame(storage.read_bytes(key))
    mine = frame[frame[FILE].isin({file for file, _ in unit["parts"]})].sort_values([FILE, ROW])
    groups = mine.groupby(FILE, sort=False)
    return {file: (g[ROW].to_numpy(dtype="int64"), g[WHY].to_numpy(dtype=object)) for file, g in groups}


def chunk_drops(drops: dict[str, tuple[Any, Any]], key: str, first_row: int, rows: int) -> Any:
    """Per row of a chunk (rows ``first_row`` .. of file ``key``), the reason it is dropped ('' when
    kept); None when the chunk drops nothing."""
    import numpy as np

    if key not in drops:
        return None
    numbers, reasons = drops[key]
    low, high = np.searchsorted(numbers, [first_row, first_row + rows])
    if low == high:
        return None
    out = np.full(rows, "", dtype=object)
    out[numbers[low:high] - first_row] = reasons[low:high]
    return out
