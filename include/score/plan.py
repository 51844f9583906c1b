"""Plan a scoring run from parquet footers only.

Every input file of the run's partitions must be a readable parquet file with the model's
columns in compatible types, else the run fails before anything is scored. The files' row
groups are cut into at most ``scoring.max_parallel`` units, one mapped Airflow task each.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

from include.config import ModelConfig
from include.contracts import Dataset
from include.errors import ScoringInputError, StorageError
from include.platform.partitions import partition_prefix, read_manifest, sha256
from include.platform.storage import Storage
from include.score.duplicates import plan_duplicates
from include.score.payloads import InputFile, PlannedUnit


class _PlannedFile(TypedDict):
    ds: str
    key: str
    rows: int
    sha256: str
    row_groups: list[int]


def open_parquet(storage: Storage, key: str) -> Any:
    """A ``pyarrow.parquet.ParquetFile``; ScoringInputError when the file is not readable parquet,
    StorageUnavailable when the storage did not answer."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = storage.local_path(key)
    try:
        # The storage layer names outages (StorageUnavailable) and missing files (ObjectNotFound);
        # what is left from the parquet reader is about the bytes of the file.
        with storage.guard("reading", key):
            return pq.ParquetFile(path if path else io.BytesIO(storage.read_bytes(key)))
    except StorageError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:  # not parquet, truncated footer, ...
        raise ScoringInputError(f"{storage.uri(key)} is not a readable parquet file: {exc}") from exc


def _type_problem(kind: str, arrow_type: Any) -> str | None:
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return None  # an all-null column: caught by the null-rate check with numbers
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if kind == "numeric" and not (
        pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)
    ):
        return f"expected a numeric type, found {arrow_type}"
    if kind == "categorical" and not (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)):
        return f"expected a string type, found {arrow_type}"
    return None


def _check_schema(config: ModelConfig, uri: str, schema: Any) -> None:
    names = set(schema.names)
    required = [config.entity_id, config.timestamp, *config.features.all]
    missing = [c for c in required if c not in names]
    problems = [f"missing column(s) {missing}"] if missing else []
    for column in config.features.all:
        if column in names:
            kind = "numeric" if column in config.features.numeric else "categorical"
            problem = _type_problem(kind, schema.field(column).type)
            if problem:
                problems.append(f"column {column!r}: {problem}")
    if problems:
        raise ScoringInputError(f"{uri}: " + "; ".join(problems))


def _date_files(storage: Storage, config: ModelConfig, ds: str) -> list[_PlannedFile]:
    """The committed feature files of one date, footers checked, row groups counted."""
    manifest = read_manifest(storage, Dataset.FEATURES, config.name, ds)
    prefix = partition_prefix(Dataset.FEATURES, config.name, ds)
    if manifest is None:
        raise ScoringInputError(f"{storage.uri(prefix)} is not committed (no _manifest.json or _SUCCESS)")
    files: list[_PlannedFile] = []
    for entry in manifest.files:
        key = f"{prefix}/{entry['name']}"
        parquet = open_parquet(storage, key)
        _check_schema(config, storage.uri(key), parquet.schema_arrow)
        meta = parquet.metadata
        digest = entry.get("sha256") or sha256(storage.read_bytes(key))
        groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        files.append({"ds": ds, "key": key, "rows": meta.num_rows, "sha256": digest, "row_groups": groups})
    return files


def plan(storage: Storage, config: ModelConfig, dates: list[str]) -> list[PlannedUnit]:
    """Validate every input file's footer and cut the work into units for mapped tasks."""
    files = [file for ds in dates for file in _date_files(storage, config, ds)]
    empty = [ds for ds in dates if sum(f["rows"] for f in files if f["ds"] == ds) == 0]
    if empty:
        raise ScoringInputError(f"no rows to score in feature partition(s) {empty} of {config.name!r}")
    units = _units(files, config.scoring.max_parallel)
    by_key = {f["key"]: InputFile(ds=f["ds"], key=f["key"], rows=f["rows"], sha256=f["sha256"]) for f in files}
    for unit in units:  # each unit carries its input files' lineage to publish
        unit["inputs"] = [by_key[key] for key in dict.fromkeys(key for key, _ in unit["parts"])]
    plan_duplicates(storage, config, units)  # scoring.duplicates, over each date's whole partition
    return units


def _new_unit(ds: str) -> PlannedUnit:
    return {"ds": ds, "parts": [], "rows": 0, "index": -1, "inputs": []}


def _units(files: list[_PlannedFile], max_units: int) -> list[PlannedUnit]:
    """Row-group ranges of about equal rows, never more than ``max_units``, one date each."""
    dates = sorted({f["ds"] for f in files})
    if len(dates) > max_units:
        raise ScoringInputError(f"{len(dates)} dates in one run exceed scoring.max_parallel={max_units}")
    total = sum(f["rows"] for f in files)
    # Each date may end with a partly filled unit: reserve one unit per date for that.
    target = max(1, math.ceil(total / max(1, max_units - len(dates) + 1)))
    units: list[PlannedUnit] = []
    for ds in dates:
        current = _new_unit(ds)
        for file in (f for f in files if f["ds"] == ds):
            start = 0
            for index, group_rows in enumerate(file["row_groups"]):
                current["rows"] += group_rows
                if current["rows"] >= target:
                    current["parts"].append([file["key"], [start, index + 1]])
                    units.append(current)
                    current, start = _new_unit(ds), index + 1
            if start < len(file["row_groups"]):
                current["parts"].append([file["key"], [start, len(file["row_groups"])]])
        if current["rows"]:
            units.append(current)
    for index, unit in enumerate(units):
        unit["index"] = index
    return units


def unit_parts(unit: PlannedUnit) -> list[tuple[str, list[int]]]:
    """``(feature file key, [first row group, end row group])`` per file the unit reads."""
    return [(key, groups) for key, groups in unit["parts"]]


def unit_label(unit: PlannedUnit) -> str:
    """How the mapped task of a unit is named in the Airflow UI (``map_index_template``)."""
    return f"{unit['ds']} #{unit['index']} ({unit['rows']} rows)"
