"""Commit partitions whose parquet files are already in place (written by another tool).

    python -m include.platform.commit <dataset> <model> YYYY-MM-DD
    python -m include.platform.commit <dataset> <model> --from YYYY-MM-DD --to YYYY-MM-DD

``<dataset>`` is ``features`` or ``labels``; ``--to`` is inclusive. For each uncommitted
``<dataset>/<model>/ds=.../`` folder under ``$MLOPS_DATA_ROOT`` (or ``--data-root``) it writes
the ``_manifest.json`` that ``include.platform.partitions.publish_frame`` would have written:
every ``*.parquet`` file of the folder with its rows (from the parquet footer), bytes and
SHA-256. Folders already committed (``_manifest.json`` or ``_SUCCESS``) are left alone. Every
file of every date is read first: an unreadable file, or a folder without parquet files,
refuses the whole command (nothing is committed) and names the file. Files are never moved or
deleted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from typing import Any

from include.contracts import Dataset, partition_date, partition_prefix
from include.errors import DataError, NotRetryable, PartitionError
from include.platform.parquet import open_parquet_file
from include.platform.partitions import MANIFEST, SUCCESS, Manifest, file_entry
from include.platform.storage import Storage, get_storage, new_token

DATASETS = (Dataset.FEATURES, Dataset.LABELS)
COMMITTED_BY = "include.platform.commit"


@dataclass
class Committed:
    ds: str
    status: str  # "committed" | "already committed"
    files: int = 0
    rows: int = 0


def _parquet_entry(storage: Storage, key: str) -> dict[str, Any]:
    content = storage.read_bytes(key)
    try:
        rows = open_parquet_file(content).metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for bad files
        raise PartitionError(
            f"{storage.uri(key)} is not a readable parquet file ({exc}): fix or remove it, then commit again; "
            "nothing was committed"
        ) from exc
    return file_entry(key.rsplit("/", 1)[-1], content, rows)


def _is_committed(storage: Storage, prefix: str) -> bool:
    return storage.exists(f"{prefix}/{MANIFEST}") or storage.exists(f"{prefix}/{SUCCESS}")


def _plan(storage: Storage, dataset: str, model: str, ds: str) -> list[dict[str, Any]] | None:
    """The manifest entries of one uncommitted date; None when it is already committed."""
    prefix = partition_prefix(dataset, model, ds)
    if _is_committed(storage, prefix):
        return None
    keys = [
        k
        for k in storage.list(prefix)
        if "/" not in k[len(prefix) + 1 :]
        and k.endswith(".parquet")
        and not k.rsplit("/", 1)[-1].startswith((".", "_"))
    ]
    if not keys:
        raise DataError(f"{storage.uri(prefix)} has no *.parquet files to commit; nothing was committed")
    return [_parquet_entry(storage, k) for k in keys]


def _dates(storage: Storage, dataset: str, model: str, start: str, end: str) -> list[str]:
    """``ds=`` folders in ``[start, end]`` (inclusive)."""
    found = [d.removeprefix("ds=") for d in storage.list_dirs(f"{dataset}/{model}") if d.startswith("ds=")]
    dates = sorted(d for d in found if start <= d <= end)
    if not dates:
        if start == end:
            missing = f"{storage.uri(partition_prefix(dataset, model, start))} does not exist"
        else:
            missing = f"no {dataset}/{model}/ds=YYYY-MM-DD folder from {start} to {end} under {storage.uri()}"
        raise DataError(f"{missing}: lay the parquet files out first")
    return dates


def commit_existing(
    storage: Storage, dataset: str, model: str, start: str | dt.date, end: str | dt.date | None = None
) -> list[Committed]:
    """Commit the uncommitted partitions from ``start`` to ``end`` (inclusive; default: ``start``
    only). Every date is checked before any manifest is written."""
    if dataset not in DATASETS:
        raise DataError(f"dataset must be one of {list(DATASETS)}, got {dataset!r}")
    first = partition_date(start)
    last = partition_date(end) if end is not None else first
    if last < first:
        raise DataError(f"--to {last} is before --from {first}")
    dates = _dates(storage, dataset, model, first, last)
    planned = {ds: _plan(storage, dataset, model, ds) for ds in dates}
    done = []
    for ds, entries in planned.items():
        if entries is None:
            done.append(Committed(ds, "already committed"))
            continue
        manifest = Manifest(
            dataset=dataset, model=model, ds=ds, files=entries, token=new_token(), meta={"committed_by": COMMITTED_BY}
        )
        storage.write_text(f"{partition_prefix(dataset, model, ds)}/{MANIFEST}", manifest.to_json())
        done.append(Committed(ds, "committed", len(entries), manifest.rows))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.platform.commit", description=__doc__.split("\n")[0])
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("model")
    parser.add_argument("ds", nargs="?", help="one date, YYYY-MM-DD (or use --from/--to)")
    parser.add_argument("--from", dest="start", help="first date of a range, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", help="last date of a range (inclusive), YYYY-MM-DD")
    parser.add_argument("--data-root", help="default: $MLOPS_DATA_ROOT")
    args = parser.parse_args(argv)
    if bool(args.ds) == bool(args.start or args.end) or bool(args.start) != bool(args.end):
        parser.error("give one date, or both --from and --to")
    try:
        storage = get_storage(args.data_root)
        done = commit_existing(storage, args.dataset, args.model, args.ds or args.start, args.end)
    except NotRetryable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for item in done:
        where = storage.uri(partition_prefix(args.dataset, args.model, item.ds))
        if item.status == "committed":
            print(f"committed {where}: {item.files} file(s), {item.rows} rows")
        else:
            print(f"already committed {where}: left alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
