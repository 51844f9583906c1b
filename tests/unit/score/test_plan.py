"""Planning a scoring run (include/score/plan.py) from real parquet footers.

Real parquet partitions on a LocalStorage under tmp_path; nothing is mocked.
"""

from __future__ import annotations

import collections
import datetime
import itertools
import random
import re
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from include.errors import NotRetryable, ScoringInputError
from include.platform import partitions as P
from include.platform.storage import LocalStorage
from include.score import plan as plan_module
from include.score.plan import MAX_MAPPED_UNITS, plan, plan_dates, unit_label, unit_parts
from include.score.writer import PREDICTIONS
from tests.unit.score.helpers import (
    DS,
    DS2,
    DS3,
    MODEL,
    day_features,
    files_on_disk,
    make_config,
    parquet_file,
    publish_features,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def check_plan(storage, config, dates: list[str], units: list[dict[str, Any]]) -> None:
    """The plan invariants: at least one unit per date, one date per unit, at most
    max_parallel units for one date, none larger than total rows / max_parallel by a row group
    or more, every row group exactly once, lineage with hashes."""
    max_parallel = config.scoring.max_parallel
    assert len(dates) <= len(units) <= max_parallel + len(dates) - 1
    assert {u["ds"] for u in units} == set(dates), "a date without a unit"
    assert [u["index"] for u in units] == list(range(len(units)))
    truth: dict[str, list[int]] = {}  # key -> rows per row group, from the committed partitions
    for ds in dates:
        prefix = P.partition_prefix("features", MODEL, ds)
        for entry in P.read_manifest(storage, "features", MODEL, ds).files:
            meta = pq.ParquetFile(storage.local_path(f"{prefix}/{entry['name']}")).metadata
            truth[f"{prefix}/{entry['name']}"] = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    seen: collections.Counter = collections.Counter()
    for unit in units:
        prefix = P.partition_prefix("features", MODEL, unit["ds"]) + "/"
        assert unit["ds"] in dates
        assert unit["parts"], unit
        rows = 0
        for key, (first, last) in unit_parts(unit):
            assert key.startswith(prefix), f"unit {unit['index']} of {unit['ds']} reads {key}"
            assert 0 <= first < last <= len(truth[key])
            for group in range(first, last):
                seen[(key, group)] += 1
                rows += truth[key][group]
        assert rows == unit["rows"] > 0
        part_keys = list(dict.fromkeys(key for key, _ in unit["parts"]))
        assert [i["key"] for i in unit["inputs"]] == part_keys
        for item in unit["inputs"]:
            assert item["ds"] == unit["ds"]
            assert item["rows"] == sum(truth[item["key"]])
            assert item["sha256"] == P.sha256(storage.read_bytes(item["key"]))
    assert max(seen.values()) == 1, "a row group is in two units"
    total = sum(sum(g) for g in truth.values())
    largest_group = max(n for groups in truth.values() for n in groups)
    for unit in units:  # about equal rows: never a whole row group over the run's share
        assert unit["rows"] < -(-total // max_parallel) + largest_group, (unit["rows"], total, max_parallel)
    non_empty = {(key, g) for key, groups in truth.items() for g, n in enumerate(groups) if n}
    assert non_empty <= set(seen), f"row groups left out: {sorted(non_empty - set(seen))[:5]}"
    assert sum(u["rows"] for u in units) == sum(sum(g) for g in truth.values())


# Per date: the row counts of its files; then rows per row group (None: one group per file)
# and scoring.max_parallel.
SHAPES = {
    "one-file-many-groups": ([[1500]], 100, 4),
    "many-small-files-many-dates": ([[50] * 12] * 4, None, 5),
    "dates-equal-max-parallel": ([[50] * 12] * 4, None, 4),
    "thirty-tiny-files": ([[10] * 30], None, 8),
    "uneven-dates": ([[20], [700, 800, 3]], 64, 3),
    "single-row-groups": ([[7, 300, 1], [999], [1, 1]], 16, 6),
    "an-empty-file-among-others": ([[0, 40], [5, 0, 5]], None, 4),
    "max-parallel-one": ([[300, 300, 300]], 50, 1),
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_plan_units_within_max_parallel_cover_every_row_group_once(storage, shape):
    files_per_date, row_group_rows, max_parallel = shape
    config = make_config(max_parallel=max_parallel)
    base = day_features(DS, 1500)
    dates = [f"2026-02-{day:02d}" for day in range(1, len(files_per_date) + 1)]
    for ds, sizes in zip(dates, files_per_date, strict=True):
        offsets = np.cumsum([0, *sizes])
        files = [base.iloc[a:b] for a, b in itertools.pairwise(offsets)]
        P.publish_files(storage, "features", MODEL, ds, [(parquet_file(f, row_group_rows), len(f)) for f in files])
    check_plan(storage, config, dates, plan(storage, config, dates))


def test_plan_invariants_on_random_shapes(tmp_path):
    rng = random.Random(20260202)
    base = day_features(DS, 1500)
    for case in range(20):
        storage = LocalStorage(tmp_path / f"case{case}")
        n_dates = rng.randint(1, 4)
        config = make_config(max_parallel=rng.randint(n_dates, 9))
        dates = [f"2026-03-{day:02d}" for day in range(1, n_dates + 1)]
        shape = []
        for ds in dates:
            sizes = [rng.randint(1, 250) for _ in range(rng.randint(1, 6))]
            groups = rng.choice([None, 1, 7, 50])
            shape.append((sizes, groups))
            files = [base.iloc[:n] for n in sizes]
            P.publish_files(storage, "features", MODEL, ds, [(parquet_file(f, groups), len(f)) for f in files])
        try:
            check_plan(storage, config, dates, plan(storage, config, dates))
        except AssertionError as exc:
            raise AssertionError(f"case {case}: max_parallel={config.scoring.max_parallel}, shape={shape}") from exc


def test_a_range_of_more_dates_than_max_parallel_is_planned_one_unit_per_date(storage):
    """Finding 3: max_parallel is how many units run at once, not a cap on the range."""
    config = make_config(max_parallel=8)
    dates = [f"2026-03-{day:02d}" for day in range(1, 31)]
    base = day_features(DS, 1500)
    for ds in dates:
        P.publish_files(storage, "features", MODEL, ds, [(parquet_file(base.iloc[:60], 20), 60)])
    units = plan(storage, config, dates)
    check_plan(storage, config, dates, units)
    assert [u["ds"] for u in units] == dates  # 30 units, one per date (8 run at once)
    assert {u["rows"] for u in units} == {60}


def test_one_date_is_cut_into_max_parallel_units_of_about_equal_rows(storage):
    config = make_config(max_parallel=4)
    publish_features(storage, DS, day_features(DS, 1500), rows_per_file=1500, row_group_rows=50)
    units = plan(storage, config, [DS])
    assert [u["rows"] for u in units] == [400, 400, 400, 300]  # share 375: whole row groups of 50


def test_a_range_beyond_airflows_mapping_cap_fails_at_once_naming_the_way_out(storage):
    config = make_config(max_parallel=2)
    first = datetime.date(2026, 1, 1)
    dates = [(first + datetime.timedelta(days=i)).isoformat() for i in range(MAX_MAPPED_UNITS + 1)]
    with pytest.raises(NotRetryable) as caught:
        plan_dates(storage, config, dates)  # no partition exists: refused before reading any
    message = str(caught.value)
    assert f"{MAX_MAPPED_UNITS + 1} dates (2026-01-01..{dates[-1]})" in message
    assert f"Airflow's limit of {MAX_MAPPED_UNITS} mapped score tasks" in message
    assert "airflow backfill create --dag-id batch_score_churn --from-date" in message


def test_more_units_than_the_mapping_cap_fail_at_once(storage, monkeypatch):
    monkeypatch.setattr(plan_module, "MAX_MAPPED_UNITS", 5)  # instead of 1,024 partitions
    config = make_config(max_parallel=4)
    for ds in (DS, DS2, DS3):
        publish_features(storage, ds, day_features(ds, 300), rows_per_file=300, row_group_rows=10)
    assert len(plan(storage, make_config(max_parallel=1), [DS, DS2, DS3])) == 3
    with pytest.raises(ScoringInputError, match=r"6 units for 3 dates exceed Airflow's limit of 5 mapped"):
        plan_dates(storage, config, [DS, DS2, DS3])


def test_each_date_fails_at_plan_on_its_own(storage, config):
    """Finding 2 at plan: a broken date is set aside with its reason, the others are planned."""
    good = day_features(DS, 600)
    dates = ["2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06"]
    for ds in dates:
        publish_features(storage, ds, good)
    prefix = {ds: P.partition_prefix("features", MODEL, ds) for ds in dates}
    storage.delete([f"{prefix[dates[1]]}/{P.MANIFEST}"])  # not committed
    first = P.read_manifest(storage, "features", MODEL, dates[2]).files[0]["name"]
    storage.write_bytes(f"{prefix[dates[2]]}/{first}", b"not parquet")  # unreadable
    P.publish_frame(storage, "features", MODEL, dates[3], good.drop(columns=["region"]))  # schema
    P.publish_frame(storage, "features", MODEL, dates[4], good.iloc[:0])  # no rows

    planned = plan_dates(storage, config, dates)

    assert {u["ds"] for u in planned["units"]} == {dates[0], dates[5]}
    check_plan(storage, config, [dates[0], dates[5]], planned["units"])
    failed = planned["failed"]
    assert sorted(failed) == dates[1:5]
    assert {f["stage"] for f in failed.values()} == {"plan"}
    (reason,) = failed[dates[1]]["reasons"]
    assert reason.startswith(f"{storage.uri(prefix[dates[1]])} is not committed (no _manifest.json or _SUCCESS)")
    assert f"python -m include.platform.commit features {config.name} {dates[1]}" in reason  # how to commit
    assert failed[dates[2]]["reasons"][0].startswith(f"{storage.uri(prefix[dates[2]])}/{first} is not a readable")
    assert "missing column(s) ['region']" in failed[dates[3]]["reasons"][0]
    assert failed[dates[4]]["reasons"] == [f"{storage.uri(prefix[dates[4]])} has no rows to score"]
    # plan() (every date must be scorable) names every failed date.
    with pytest.raises(ScoringInputError) as caught:
        plan(storage, config, dates)
    for ds in dates[1:5]:
        assert f"- ds={ds} failed at plan: " in str(caught.value)


def test_when_no_date_can_be_scored_plan_fails(storage, config):
    with pytest.raises(NotRetryable) as caught:
        plan_dates(storage, config, [DS, DS2])
    message = str(caught.value)
    assert message.startswith("churn: nothing published; 2 of 2 date(s) failed:\n")
    assert f"- ds={DS} failed at plan: " in message and f"- ds={DS2} failed at plan: " in message


def test_plan_reads_success_marker_partitions_and_hashes_their_files(storage, config):
    # Data written by another tool: parquet files and _SUCCESS, no manifest (so no hashes).
    prefix = P.partition_prefix("features", MODEL, DS)
    frame = day_features()
    storage.write_bytes(f"{prefix}/a.parquet", parquet_file(frame.iloc[:700], 100))
    storage.write_bytes(f"{prefix}/b.parquet", parquet_file(frame.iloc[700:]))
    storage.write_bytes(f"{prefix}/{P.SUCCESS}", b"")
    units = plan(storage, config, [DS])
    check_plan(storage, config, [DS], units)
    inputs = {i["key"]: i["sha256"] for u in units for i in u["inputs"]}
    assert inputs == {k: P.sha256(storage.read_bytes(k)) for k in (f"{prefix}/a.parquet", f"{prefix}/b.parquet")}


def test_plan_names_a_missing_column_and_its_file(storage, config):
    frame = day_features()
    files = [frame.iloc[:700], frame.iloc[700:].drop(columns=["tenure_months"])]
    manifest = P.publish_files(storage, "features", MODEL, DS, [(parquet_file(f), len(f)) for f in files])
    bad = storage.uri(f"{P.partition_prefix('features', MODEL, DS)}/{manifest.files[1]['name']}")
    with pytest.raises(ScoringInputError) as caught:
        plan(storage, config, [DS])
    message = str(caught.value)
    assert message.startswith(bad)
    assert "missing column(s) ['tenure_months']" in message
    assert not files_on_disk(storage, PREDICTIONS)


@pytest.mark.parametrize(
    ("column", "convert", "expected"),
    [
        ("tenure_months", lambda s: s.astype(str), "column 'tenure_months': expected a numeric type, found string"),
        (
            "region",
            lambda s: s.astype("category").cat.codes.astype("int64"),
            "column 'region': expected a string type, found int64",
        ),
    ],
    ids=["numeric-as-strings", "categorical-as-integers"],
)
def test_plan_names_a_wrong_type(storage, config, column, convert, expected):
    frame = day_features()
    frame[column] = convert(frame[column])
    manifest = publish_features(storage, DS, frame, rows_per_file=1500)
    uri = storage.uri(f"{P.partition_prefix('features', MODEL, DS)}/{manifest.files[0]['name']}")
    with pytest.raises(ScoringInputError, match=r"^" + re.escape(uri)) as caught:
        plan(storage, config, [DS])
    assert expected in str(caught.value)


def test_an_empty_partition_fails_plan(storage, config):
    P.publish_frame(storage, "features", MODEL, DS, day_features().iloc[:0])
    prefix = storage.uri(P.partition_prefix("features", MODEL, DS))
    with pytest.raises(ScoringInputError, match=rf"^{re.escape(prefix)} has no rows to score$"):
        plan(storage, config, [DS])


@pytest.mark.parametrize(
    "content",
    [lambda good: b"this is not parquet at all", lambda good: good[: len(good) // 2]],
    ids=["garbage", "truncated"],
)
def test_a_corrupt_file_fails_plan_naming_its_uri(storage, config, content):
    good = parquet_file(day_features().iloc[:500])
    manifest = P.publish_files(storage, "features", MODEL, DS, [(good, 500), (content(good), 500)])
    uri = storage.uri(f"{P.partition_prefix('features', MODEL, DS)}/{manifest.files[1]['name']}")
    with pytest.raises(ScoringInputError, match=rf"^{re.escape(uri)} is not a readable parquet file: "):
        plan(storage, config, [DS])


@pytest.mark.parametrize("written", [True, False], ids=["files-without-marker", "nothing-there"])
def test_an_uncommitted_partition_fails_plan(storage, config, written):
    prefix = P.partition_prefix("features", MODEL, DS)
    if written:  # a writer crashed before its commit: data files but no manifest or _SUCCESS
        storage.write_bytes(f"{prefix}/part-0.parquet", parquet_file(day_features()))
    with pytest.raises(
        ScoringInputError,
        match=rf"^{re.escape(storage.uri(prefix))} is not committed \(no _manifest.json or _SUCCESS\)",
    ):
        plan(storage, config, [DS])


def test_unit_label_names_date_index_and_rows(storage):
    config = make_config(max_parallel=3)
    publish_features(storage, DS, day_features(DS, 1500).iloc[:900], rows_per_file=300)
    units = plan(storage, config, [DS])
    assert [unit_label(u) for u in units] == [f"{DS} #{u['index']} ({u['rows']} rows)" for u in units]
    assert unit_label(units[0]) == f"{DS} #0 (300 rows)"
