"""Plan a scoring run from parquet footers only.

Each date stands alone: every input file of a date's partition must be committed, a readable
parquet file with the model's columns in compatible types, and the date must have rows, else
that date fails at plan (its reason goes to publish and the run's final verdict) while the other
dates are scored. The files' row groups are cut into units of about ``total rows /
scoring.max_parallel`` rows, one date each and at least one per date, one mapped Airflow task
each (``scoring.max_parallel`` of them run at once). A run never maps more than
``MAX_MAPPED_UNITS`` units (Airflow's mapping cap): a longer range fails at once.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

from include.config import ModelConfig
from include.contracts import Dataset
from include.errors import DataError, ScoringInputError
from include.platform.partitions import commit_hint, partition_prefix, read_manifest, sha256
from include.platform.storage import Storage
from include.score.duplicates import plan_duplicates
from include.score.messages import dates_failed_message
from include.score.payloads import DateFailure, InputFile, PlannedUnit, ScoringPlan
from include.score.reading import open_parquet

# Airflow's ``[core] max_map_length`` (default 1,024): mapped task instances one task may have.
MAX_MAPPED_UNITS = 1024


class _PlannedFile(TypedDict):
    ds: str
    key: str
    rows: int
    sha256: str
    row_groups: list[int]


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
        raise ScoringInputError(
            f"{storage.uri(prefix)} is not committed (no _manifest.json or _SUCCESS); "
            + commit_hint(Dataset.FEATURES, config.name, [ds])
        )
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


def _too_many_units(config: ModelConfig, count: int, what: str) -> ScoringInputError:
    return ScoringInputError(
        f"{config.name}: {what} exceed Airflow's limit of {MAX_MAPPED_UNITS} mapped score tasks per run "
        f"([core] max_map_length). Split the range into several runs (Params ds/ds_end), or let Airflow "
        f"run one date per run: airflow backfill create --dag-id batch_score_{config.name} "
        f"--from-date <first date> --to-date <last date>"
    )


def _checked_date(storage: Storage, config: ModelConfig, ds: str) -> list[_PlannedFile]:
    """One date's files; ScoringInputError when the date has no rows to score."""
    files = _date_files(storage, config, ds)
    if sum(f["rows"] for f in files) == 0:
        prefix = partition_prefix(Dataset.FEATURES, config.name, ds)
        raise ScoringInputError(f"{storage.uri(prefix)} has no rows to score")
    return files


def _plan(storage: Storage, config: ModelConfig, dates: list[str]) -> ScoringPlan:
    """Units of the dates that can be scored; the others with their reason (never raises for
    a date's data: outages and ranges beyond Airflow's mapping cap do raise)."""
    if len(dates) > MAX_MAPPED_UNITS:
        raise _too_many_units(config, len(dates), f"{len(dates)} dates ({dates[0]}..{dates[-1]})")
    files: list[_PlannedFile] = []
    failed: dict[str, DateFailure] = {}
    for ds in dates:
        try:
            files += _checked_date(storage, config, ds)
        except DataError as exc:  # not committed, unreadable, wrong schema, no rows: this date only
            failed[ds] = {"stage": "plan", "reasons": [str(exc)]}
    units = _units(files, config.scoring.max_parallel)
    if len(units) > MAX_MAPPED_UNITS:
        raise _too_many_units(config, len(units), f"{len(units)} units for {len(dates)} dates")
    by_key = {f["key"]: InputFile(ds=f["ds"], key=f["key"], rows=f["rows"], sha256=f["sha256"]) for f in files}
    for unit in units:  # each unit carries its input files' lineage to publish
        unit["inputs"] = [by_key[key] for key in dict.fromkeys(key for key, _ in unit["parts"])]
    # scoring.duplicates, over each date's whole partition; "fail" fails that date only.
    for ds, reason in plan_duplicates(storage, config, units).items():
        failed[ds] = {"stage": "plan", "reasons": [reason]}
    units = [unit for unit in units if unit["ds"] not in failed]
    for index, unit in enumerate(units):
        unit["index"] = index
    return {"units": units, "failed": failed}


def plan_dates(storage: Storage, config: ModelConfig, dates: list[str]) -> ScoringPlan:
    """The ``plan`` task: validate every date's footers, cut the dates that can be scored into
    units; the dates that cannot go to ``failed``. ScoringInputError when no date can be scored."""
    planned = _plan(storage, config, dates)
    if not planned["units"]:
        raise ScoringInputError(dates_failed_message(config.name, [], planned["failed"]))
    return planned


def plan(storage: Storage, config: ModelConfig, dates: list[str]) -> list[PlannedUnit]:
    """Every date must be scorable: the units, or ScoringInputError naming each failed date."""
    planned = _plan(storage, config, dates)
    failed = planned["failed"]
    if len(failed) == 1 and len(dates) == 1:
        raise ScoringInputError(failed[dates[0]]["reasons"][0])
    if failed:
        raise ScoringInputError(dates_failed_message(config.name, [], failed))
    return planned["units"]


def _new_unit(ds: str) -> PlannedUnit:
    return {"ds": ds, "parts": [], "rows": 0, "index": -1, "inputs": []}


def _date_units(ds: str, files: list[_PlannedFile], target: int) -> list[PlannedUnit]:
    """One date's row groups in ``ceil(rows / target)`` units of about equal rows (whole row
    groups: a unit may pass its share by less than one row group)."""
    rows = sum(f["rows"] for f in files)
    share = max(1, math.ceil(rows / max(1, math.ceil(rows / target))))
    units: list[PlannedUnit] = []
    current = _new_unit(ds)
    for file in files:
        start = 0
        for index, group_rows in enumerate(file["row_groups"]):
            current["rows"] += group_rows
            if current["rows"] >= share:
                current["parts"].append([file["key"], [start, index + 1]])
                units.append(current)
                current, start = _new_unit(ds), index + 1
        if start < len(file["row_groups"]):
            current["parts"].append([file["key"], [start, len(file["row_groups"])]])
    if current["rows"]:
        units.append(current)
    return units


def _units(files: list[_PlannedFile], max_parallel: int) -> list[PlannedUnit]:
    """Units of at most about ``total rows / max_parallel`` rows, one date each, at least one per
    date: ``max_parallel`` units for one date, one unit per date for a long range of small dates."""
    total = sum(f["rows"] for f in files)
    target = max(1, math.ceil(total / max(1, max_parallel)))
    units: list[PlannedUnit] = []
    for ds in sorted({f["ds"] for f in files}):
        units += _date_units(ds, [f for f in files if f["ds"] == ds], target)
    for index, unit in enumerate(units):
        unit["index"] = index
    return units


def unit_parts(unit: PlannedUnit) -> list[tuple[str, list[int]]]:
    """``(feature file key, [first row group, end row group])`` per file the unit reads."""
    return [(key, groups) for key, groups in unit["parts"]]


def unit_label(unit: PlannedUnit) -> str:
    """How the mapped task of a unit is named in the Airflow UI (``map_index_template``)."""
    return f"{unit['ds']} #{unit['index']} ({unit['rows']} rows)"
