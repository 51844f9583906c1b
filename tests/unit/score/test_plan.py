"""Planning a scoring run (include/score/plan.py) from real parquet footers.

Real parquet partitions on a LocalStorage under tmp_path; nothing is mocked.
"""

from __future__ import annotations

import collections
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
from include.score.plan import plan, unit_label, unit_parts
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
    """The plan invariants: at most max_parallel units, at least one per date, one date per
    unit, every row group exactly once, lineage with hashes."""
    assert len(dates) <= len(units) <= config.scoring.max_parallel
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


def test_plan_refuses_more_dates_than_max_parallel(storage):
    config = make_config(max_parallel=2)
    for ds in (DS, DS2, DS3):
        publish_features(storage, ds, day_features(DS, 1500).iloc[:100])
    with pytest.raises(ScoringInputError, match=r"3 dates in one run exceed scoring.max_parallel=2"):
        plan(storage, config, [DS, DS2, DS3])


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
    with pytest.raises(ScoringInputError, match=rf"no rows to score in feature partition\(s\) \['{DS}'\] of 'churn'"):
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


def test_too_many_dates_fail_without_retries(storage):
    """A run over more dates than scoring.max_parallel fails the same way on every try."""
    config = make_config(max_parallel=1)
    for ds in (DS, DS2):
        publish_features(storage, ds, day_features(DS, 1500).iloc[:50])
    with pytest.raises(NotRetryable, match=r"2 dates in one run exceed scoring.max_parallel=1"):
        plan(storage, config, [DS, DS2])


def test_unit_label_names_date_index_and_rows(storage):
    config = make_config(max_parallel=3)
    publish_features(storage, DS, day_features(DS, 1500).iloc[:900], rows_per_file=300)
    units = plan(storage, config, [DS])
    assert [unit_label(u) for u in units] == [f"{DS} #{u['index']} ({u['rows']} rows)" for u in units]
    assert unit_label(units[0]) == f"{DS} #0 (300 rows)"
