"""Daily partitions ``<dataset>/<model>/ds=YYYY-MM-DD/`` published atomically.

A partition is visible only through its commit marker:

* ``_manifest.json`` (written by this project): lists the data files, their row counts and
  SHA-256 hashes, plus metadata. Files not listed are invisible.
* ``_SUCCESS`` (the Spark/Hive convention, for data written by other tools): every
  ``*.parquet`` file in the partition is part of it.

Publishing writes new data files under a name unique to the writer (``part-<token>-...``), then
replaces the manifest in one atomic write (the commit point), then deletes only:

* the files listed by the manifest it replaced (and not by the new one), and the files that
  manifest had superseded but not yet deleted: the new manifest records them as ``superseded``
  first, so a crash between the manifest write and the deletes is repaired by the next commit;
* its own unlisted files (``part-<token>-*``: earlier attempts of the same run);
* unlisted files older than ``ORPHAN_AGE`` (leftovers of runs that crashed and never came back).

It never deletes another writer's recent unlisted files: they may be the unpublished output of
an overlapping run of the same date, which commits after this one and must find its files.
When two runs of one date overlap, the later commit wins and its manifest is the partition; the
replaced manifest's token is recorded as ``replaces`` in the new one. A crash before the
manifest write leaves the previous partition intact and the new files invisible; a re-run
replaces the partition whole, so reruns never append duplicates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from include.contracts import partition_date, partition_prefix
from include.errors import ObjectNotFound, PartitionError, PartitionNotCommitted
from include.platform.failpoints import failpoint
from include.platform.parquet import frame_to_parquet, read_parquet_frame
from include.platform.storage import Storage, new_token

MANIFEST = "_manifest.json"
# An unlisted file this old belongs to a run that died: no live run takes this long between
# writing a file and committing it.
ORPHAN_AGE = dt.timedelta(hours=24).total_seconds()
SUCCESS = "_SUCCESS"
_DS_RE = re.compile(r"^ds=(\d{4}-\d{2}-\d{2})$")


@dataclass
class Manifest:
    dataset: str
    model: str
    ds: str
    files: list[dict[str, Any]]
    token: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    replaces: str = ""  # the token of the manifest this one replaced
    superseded: list[str] = field(default_factory=list)  # replaced files this commit deletes

    @property
    def rows(self) -> int:
        return sum(int(f.get("rows", 0)) for f in self.files)

    def to_json(self) -> str:
        body = {
            "format": 1,
            "dataset": self.dataset,
            "model": self.model,
            "ds": self.ds,
            "token": self.token,
            "replaces": self.replaces,
            "superseded": self.superseded,
            "rows": self.rows,
            "files": self.files,
            "meta": self.meta,
        }
        return json.dumps(body, indent=2, sort_keys=True, default=str)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def part_name(token: str, index: int, suffix: str = ".parquet") -> str:
    return f"part-{token}-{index:05d}{suffix}"


def file_entry(name: str, content: bytes, rows: int) -> dict[str, Any]:
    return {"name": name, "rows": int(rows), "bytes": len(content), "sha256": sha256(content)}


def commit_partition(
    storage: Storage,
    dataset: str,
    model: str,
    ds: str | dt.date,
    entries: list[dict[str, Any]],
    token: str,
    meta: dict[str, Any] | None = None,
    orphan_age: float | None = None,
) -> Manifest:
    """Make the already-written files ``entries`` the whole partition, atomically.

    The manifest write is the commit point; afterwards the files of the replaced manifest,
    this writer's own unlisted files and old orphans are deleted (see the module docstring).

    :param token: the writer's token: its files are named ``part-<token>-...``.
    :param orphan_age: seconds after which another writer's unlisted file counts as an orphan
        (default ``ORPHAN_AGE``).
    """
    ds = partition_date(ds)
    prefix = partition_prefix(dataset, model, ds)
    previous = _committed_manifest(storage, dataset, model, ds)
    manifest = Manifest(dataset=dataset, model=model, ds=ds, files=entries, token=token, meta=meta or {})
    keep = {e["name"] for e in entries}
    if previous:
        # A re-commit by the same writer (a retry after a timed-out write that landed) keeps
        # pointing at the version it replaced.
        manifest.replaces = previous.replaces if previous.token == token else previous.token
        manifest.superseded = _superseded(storage, prefix, previous, keep)
    storage.write_text(f"{prefix}/{MANIFEST}", manifest.to_json())
    failpoint("partition.commit.after_manifest")
    sweep(storage, prefix, keep, token, {*manifest.superseded, SUCCESS}, orphan_age)
    return manifest


def _superseded(storage: Storage, prefix: str, previous: Manifest, keep: set[str]) -> list[str]:
    """Files of replaced manifests still on storage: the new manifest records them, so that
    whoever commits next deletes them when this commit dies before its deletes."""
    present = {key.rsplit("/", 1)[-1] for key in storage.list(prefix)}
    names = {f["name"] for f in previous.files} | set(previous.superseded)
    return sorted((names & present) - keep)


def _committed_manifest(storage: Storage, dataset: str, model: str, ds: str) -> Manifest | None:
    """The partition's own ``_manifest.json`` (not a synthesised ``_SUCCESS`` one), if readable."""
    if not storage.exists(f"{partition_prefix(dataset, model, ds)}/{MANIFEST}"):
        return None
    try:
        return read_manifest(storage, dataset, model, ds)
    except PartitionError:  # a corrupt manifest is overwritten; its files age out as orphans
        return None


def sweep(
    storage: Storage,
    prefix: str,
    keep: set[str],
    token: str,
    replaced: Collection[str] = (),
    orphan_age: float | None = None,
) -> list[str]:
    """Delete the files of ``prefix`` that no manifest needs and no live writer may still commit.

    :param keep: names listed by the manifest just written (never deleted).
    :param token: the writer's token: its own unlisted ``part-<token>-*`` files go.
    :param replaced: names listed by the manifest that was replaced: they go.
    :param orphan_age: any other unlisted file goes once it is this many seconds old
        (default ``ORPHAN_AGE``, read at call time).
    :returns: the deleted keys.
    """
    import time

    limit = ORPHAN_AGE if orphan_age is None else orphan_age
    now = time.time()
    own = f"part-{token}-"
    stale = []
    for key, stamp in storage.modified(prefix).items():
        name = key.rsplit("/", 1)[-1]
        if name in keep or name == MANIFEST:
            continue
        if name in replaced or (token and name.startswith(own)) or now - stamp > limit:
            stale.append(key)
    storage.delete(stale)
    return stale


def publish_files(
    storage: Storage,
    dataset: str,
    model: str,
    ds: str | dt.date,
    files: list[tuple[bytes, int]],
    meta: dict[str, Any] | None = None,
    suffix: str = ".parquet",
) -> Manifest:
    """Publish already-serialised files ``[(content, rows), ...]`` as the whole partition."""
    prefix = partition_prefix(dataset, model, ds)
    token = new_token()
    entries = []
    for index, (content, rows) in enumerate(files):
        name = part_name(token, index, suffix)
        storage.write_bytes(f"{prefix}/{name}", content)
        entries.append(file_entry(name, content, rows))
    return commit_partition(storage, dataset, model, ds, entries, token, meta)


def publish_frame(
    storage: Storage,
    dataset: str,
    model: str,
    ds: str | dt.date,
    frame: Any,
    meta: dict[str, Any] | None = None,
    rows_per_file: int | None = None,
) -> Manifest:
    """Publish a DataFrame as one partition (split into files of ``rows_per_file`` rows)."""
    step = rows_per_file or max(len(frame), 1)
    chunks = [frame.iloc[i : i + step] for i in range(0, max(len(frame), 1), step)] or [frame]
    return publish_files(storage, dataset, model, ds, [(frame_to_parquet(c), len(c)) for c in chunks], meta)


def read_manifest(storage: Storage, dataset: str, model: str, ds: str | dt.date) -> Manifest | None:
    """The partition's manifest, a synthesised one for ``_SUCCESS`` partitions, or None."""
    ds = partition_date(ds)
    prefix = partition_prefix(dataset, model, ds)
    if storage.exists(f"{prefix}/{MANIFEST}"):
        try:
            body = json.loads(storage.read_text(f"{prefix}/{MANIFEST}"))
            return Manifest(
                dataset=body["dataset"],
                model=body["model"],
                ds=body["ds"],
                files=body["files"],
                token=body.get("token", ""),
                meta=body.get("meta", {}),
                replaces=body.get("replaces", ""),
                superseded=body.get("superseded", []),
            )
        except (ValueError, KeyError) as exc:
            raise PartitionError(f"corrupt manifest {storage.uri(prefix + '/' + MANIFEST)}: {exc}") from exc
    if storage.exists(f"{prefix}/{SUCCESS}"):
        names = [k.rsplit("/", 1)[-1] for k in storage.list(prefix) if k.endswith(".parquet")]
        return Manifest(dataset=dataset, model=model, ds=ds, files=[{"name": n} for n in sorted(names)])
    return None


def list_partitions(
    storage: Storage,
    dataset: str,
    model: str,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> list[str]:
    """Committed partition dates in ``[start, end)``, sorted."""
    found = []
    for name in storage.list_dirs(f"{dataset}/{model}"):
        match = _DS_RE.match(name)
        if not match:
            continue
        ds = match.group(1)
        if start is not None and ds < partition_date(start):
            continue
        if end is not None and ds >= partition_date(end):
            continue
        prefix = partition_prefix(dataset, model, ds)
        if storage.exists(f"{prefix}/{MANIFEST}") or storage.exists(f"{prefix}/{SUCCESS}"):
            found.append(ds)
    return found


def uncommitted_partitions(
    storage: Storage, dataset: str, model: str, start: str | dt.date | None = None, end: str | dt.date | None = None
) -> list[str]:
    """Dates in ``[start, end)`` with a ``ds=`` folder but no commit marker, sorted."""
    found = []
    for name in storage.list_dirs(f"{dataset}/{model}"):
        match = _DS_RE.match(name)
        if not match or (start is not None and match.group(1) < partition_date(start)):
            continue
        if end is not None and match.group(1) >= partition_date(end):
            continue
        prefix = partition_prefix(dataset, model, match.group(1))
        if not (storage.exists(f"{prefix}/{MANIFEST}") or storage.exists(f"{prefix}/{SUCCESS}")):
            found.append(match.group(1))
    return found


def commit_hint(dataset: str, model: str, dates: list[str] | None = None) -> str:
    """How to commit partitions whose parquet files are in place (or how to publish new ones)."""
    if dates and len(dates) > 1:
        which = f"--from {dates[0]} --to {dates[-1]}"
    else:
        which = dates[0] if dates else "YYYY-MM-DD"
    return (
        f"commit the files in place with `python -m include.platform.commit {dataset} {model} {which}` "
        f"(writes {MANIFEST} with their rows and SHA-256), or write an empty {SUCCESS} file into each "
        "ds= folder once all its files are written, or publish with "
        "include.platform.partitions.publish_frame (README: Add a model)"
    )


def not_committed_message(storage: Storage, dataset: str, model: str, start: str | dt.date, end: str | dt.date) -> str:
    """``no committed <dataset> partitions ...``: which folders lack a marker and how to commit them."""
    span = f"[{partition_date(start)}, {partition_date(end)})"
    where = f"no committed {dataset.removesuffix('s')} partitions for {model!r} in {span}"
    where += f" under {storage.uri(dataset + '/' + model)}"
    pending = uncommitted_partitions(storage, dataset, model, start, end)
    if pending:
        shown = ", ".join(pending[:5]) + (f" and {len(pending) - 5} more" if len(pending) > 5 else "")
        return f"{where}: {len(pending)} ds= folder(s) without {MANIFEST} or {SUCCESS} ({shown}); " + commit_hint(
            dataset, model, pending
        )
    return f"{where}: expected {dataset}/{model}/ds=YYYY-MM-DD/*.parquet folders, committed; " + commit_hint(
        dataset, model
    )


def read_partition(
    storage: Storage,
    dataset: str,
    model: str,
    ds: str | dt.date,
    columns: list[str] | None = None,
    verify: bool = False,
) -> Any:
    """One committed partition as a DataFrame (files in manifest order)."""
    import pandas as pd

    manifest = read_manifest(storage, dataset, model, ds)
    prefix = partition_prefix(dataset, model, ds)
    if manifest is None:
        raise PartitionNotCommitted(
            f"partition {storage.uri(prefix)} is not committed (no {MANIFEST} or {SUCCESS}); "
            + commit_hint(dataset, model, [partition_date(ds)])
        )
    frames = []
    for entry in manifest.files:
        key = f"{prefix}/{entry['name']}"
        try:
            content = storage.read_bytes(key)
        except ObjectNotFound as exc:  # an outage (StorageUnavailable) is not "missing"
            raise PartitionError(f"{storage.uri(key)} is listed in the manifest but missing") from exc
        if verify and entry.get("sha256") and sha256(content) != entry["sha256"]:
            raise PartitionError(f"{storage.uri(key)} does not match its manifest hash")
        try:
            frames.append(read_parquet_frame(content, columns=columns))
        except Exception as exc:  # pyarrow raises several types for bad files
            raise PartitionError(f"{storage.uri(key)} is not a readable parquet file: {exc}") from exc
    if not frames:
        return pd.DataFrame(columns=columns or [])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_range(
    storage: Storage,
    dataset: str,
    model: str,
    start: str | dt.date,
    end: str | dt.date,
    columns: list[str] | None = None,
) -> tuple[Any, list[str]]:
    """All committed partitions in ``[start, end)`` concatenated, and the dates read."""
    import pandas as pd

    dates = list_partitions(storage, dataset, model, start, end)
    frames = [read_partition(storage, dataset, model, ds, columns=columns) for ds in dates]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns or []), dates
    return pd.concat(frames, ignore_index=True), dates
