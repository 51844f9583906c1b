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
import io
from typing import Any

from include.config import ModelConfig
from include.config.sections import RowPolicy
from include.contracts import Dataset
from include.errors import ScoringInputError
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
    whose entity id appears more than once among them: the only rows a duplicate policy can
    drop. The ids are counted in Arrow (a hash count in C++, the strings never become Python
    objects), so a date of 20 million rows needs the two key columns in Arrow's memory and
    pandas only for the repeated rows."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    tables = [(key, _read_keys(storage, key, [config.entity_id, config.timestamp])) for key in keys]
    repeated = _repeated_ids([table.column(config.entity_id) for _, table in tables])
    frames = []
    for key, table in tables:
        rows, kept = np.arange(table.num_rows, dtype="int64"), table
        if repeated is not None:
            mask = pc.fill_null(pc.is_in(_plain(table.column(config.entity_id)), value_set=repeated), False)
            rows = rows[mask.to_numpy(zero_copy_only=False)]
            kept = table.take(rows)
        frame = kept.to_pandas()
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


def _plain(column: Any) -> Any:
    """A dictionary-encoded column as its values (files may encode the same column differently)."""
    import pyarrow as pa

    return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column


def _repeated_ids(columns: list[Any]) -> Any:
    """The non-null ids that occur more than once over ``columns``; None when the files' id types
    differ (then every row is compared, in pandas)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        ids = pa.chunked_array([chunk for column in columns for chunk in _plain(column).chunks])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    counts = pc.value_counts(ids)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    return pc.drop_null(repeated)


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
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    table = pa.Table.from_pandas(dropped.sort_values([FILE, ROW]), preserve_index=False)
    pq.write_table(table, buffer)
    data = buffer.getvalue()
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
    import pyarrow.parquet as pq

    key = unit.get("duplicates")
    if not key:
        return {}
    frame = pq.read_table(io.BytesIO(storage.read_bytes(key))).to_pandas()
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
