"""Streaming drift from parquet against a reference profile: the same report as the in-memory
``drift_from_profile`` on the same rows (exact where the module says so, within the measured
tolerance elsewhere), whatever the row groups and batches, in memory that does not grow with rows."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.errors import ConfigError, DataError
from include.ml import profile as P
from include.monitor.drift import streaming as S
from include.monitor.drift.profile import drift_from_profile
from include.monitor.drift.streaming import drift_from_parquet
from tests.unit.ml.profile_frames import CAT, NUM, frames

SKETCH_TOL = 1e-5  # wasserstein / ed from a binned current (measured ~1e-6 at these sizes)


def write(frame: pd.DataFrame, path: Path, row_group_size: int | None = None) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)
    return path


def assert_same(report, expected, *, exact: set[str], tol: float = SKETCH_TOL) -> None:
    assert [c.column for c in report.columns] == [c.column for c in expected.columns]
    for a, b in zip(expected.columns, report.columns, strict=True):
        assert (b.stattest, b.threshold, b.n_reference, b.n_current) == (
            a.stattest,
            a.threshold,
            a.n_reference,
            a.n_current,
        ), a.column
        assert b.drifted == a.drifted, (a.column, a.score, b.score)
        if a.column in exact:
            assert b.score == pytest.approx(a.score, rel=1e-9, abs=1e-15), a.column
        else:
            assert b.score == pytest.approx(a.score, abs=tol), a.column
    assert (report.n_drifted, report.dataset_drift) == (expected.n_drifted, expected.dataset_drift)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[pd.DataFrame, dict, Path]:
    ref = frames(60_000, seed=1)
    cur = frames(40_000, seed=2, shift=0.15)
    path = write(cur, tmp_path_factory.mktemp("stream") / "current.parquet", row_group_size=7_000)
    return cur, P.build_profile(ref, NUM, CAT), path


def test_default_report_equals_the_in_memory_one(data) -> None:
    cur, prof, path = data
    expected = drift_from_profile(prof, cur)
    report = drift_from_parquet(prof, path, batch_rows=5_000)
    assert report.approximate == expected.approximate == ["cont", "heavy", "zeros"]
    # drifted and stable columns of both kinds, so equal verdicts mean something
    assert {c.column: c.drifted for c in report.columns} == {
        "cont": True, "heavy": False, "zeros": True, "ints": False, "few": False, "plan": False, "code": True,
    }  # fmt: skip
    assert_same(report, expected, exact={"ints", "few", "plan", "code"})


def test_binned_current_exact_for_counting_tests_and_moments(data) -> None:
    cur, prof, path = data
    over = {
        "cont": {"stattest": "psi", "threshold": 0.02},  # 0.027: drifted
        "heavy": {"stattest": "kl_div"},
        "zeros": {"stattest": "jensenshannon", "threshold": 0.04},  # 0.041: drifted, close to the threshold
        "ints": {"stattest": "t_test"},  # p = 0.051: stable, close to the threshold
        "few": {"stattest": "psi"},
    }
    expected = drift_from_profile(prof, cur, overrides=over)
    report = drift_from_parquet(prof, path, overrides=over, max_distinct=20)  # every numeric column binned
    assert_same(report, expected, exact=set(NUM) | set(CAT))
    # exact on the current side although binned: only the profile's sketch columns are approximate
    assert report.approximate == expected.approximate == ["cont", "heavy", "zeros"]
    assert [c.drifted for c in report.columns[:5]] == [True, False, True, False, False]


@pytest.mark.parametrize(("stattest", "tol"), [("wasserstein", SKETCH_TOL), ("ed", SKETCH_TOL), ("ks", None)])
def test_binned_current_close_for_cdf_tests(data, stattest: str, tol: float | None) -> None:
    cur, prof, path = data
    over = {c: {"stattest": stattest} for c in ["cont", "heavy", "zeros", "ints"]}
    expected = drift_from_profile(prof, cur, overrides=over)
    report = drift_from_parquet(prof, path, overrides=over, max_distinct=20)
    if tol is not None:
        assert_same(report, expected, exact={"few", "plan", "code"}, tol=tol)
        return
    for a, b in zip(expected.columns, report.columns, strict=True):  # ks p-values: on the log scale
        assert b.drifted == a.drifted, a.column
        assert np.log10(max(b.score, 1e-300)) == pytest.approx(np.log10(max(a.score, 1e-300)), rel=0.05, abs=0.02)


def test_row_groups_and_batches_do_not_change_the_result(data, tmp_path) -> None:
    cur, prof, path = data
    one_group = write(cur, tmp_path / "one.parquet")
    assert pq.ParquetFile(one_group).num_row_groups == 1 and pq.ParquetFile(path).num_row_groups == 6
    a = drift_from_parquet(prof, one_group, batch_rows=1_000_000)
    b = drift_from_parquet(prof, path, batch_rows=3_000)
    halves = [write(cur.iloc[:25_000], tmp_path / "a.parquet"), write(cur.iloc[25_000:], tmp_path / "b.parquet")]
    c = drift_from_parquet(prof, [halves[0], io.BytesIO(halves[1].read_bytes())])
    for other in (b, c):
        assert other.approximate == a.approximate
        assert_same(other, a, exact={col.column for col in a.columns}, tol=0)


def test_more_rows_than_max_points(tmp_path) -> None:
    ref = frames(30_000, seed=11)
    cur = frames(150_000, seed=12, shift=0.1)
    prof = P.build_profile(ref, NUM, CAT)
    path = write(cur, tmp_path / "big.parquet", row_group_size=40_000)
    expected = drift_from_profile(prof, cur)
    report = drift_from_parquet(prof, path, max_points=100_000)
    # "ints" (300 values) keeps exact counts: its Wasserstein distance is integrated exactly
    assert_same(report, expected, exact={"ints", "few", "plan", "code"})
    assert report.approximate == ["cont", "heavy", "zeros"]
    over = {"cont": {"stattest": "hellinger"}}
    hell = drift_from_parquet(prof, path, overrides=over, max_points=100_000)  # downsampled pseudo-sample
    assert hell.column("cont").score == pytest.approx(
        drift_from_profile(prof, cur, overrides=over).column("cont").score, abs=1e-3
    )
    with pytest.raises(ConfigError, match="'mannw' needs the current's size"):
        drift_from_parquet(prof, path, overrides={"cont": {"stattest": "mannw"}}, max_points=100_000)


def test_small_reference_pvalue_tests_and_complete_sample(tmp_path) -> None:
    ref = frames(900, seed=7)
    cur = frames(1200, seed=8, shift=0.3)
    prof = P.build_profile(ref, NUM, CAT)
    path = write(cur, tmp_path / "small.parquet", row_group_size=500)
    expected = drift_from_profile(prof, cur)
    report = drift_from_parquet(prof, path)
    assert "ks" in {c.stattest for c in report.columns} and report.approximate == []
    assert_same(report, expected, exact={c.column for c in expected.columns})
    sample = P.reference_sample(ref, NUM + CAT)
    with_sample = drift_from_parquet(prof, path, sample=sample)
    assert_same(with_sample, drift_from_profile(prof, cur, sample=sample), exact={c.column for c in expected.columns})


def test_truncated_categories_stay_approximate(tmp_path) -> None:
    r = np.random.default_rng(3)
    values = [f"v{i}" for i in range(50)]
    ref = pd.DataFrame({"c": r.choice(values, 20_000)})
    cur = pd.DataFrame({"c": r.choice([*values, "new"], 20_000)})
    prof = P.build_profile(ref, [], ["c"], max_categories=10)
    path = write(cur, tmp_path / "cat.parquet", row_group_size=3_000)
    report = drift_from_parquet(prof, path)
    assert report.approximate == ["c"]
    assert_same(report, drift_from_profile(prof, cur), exact={"c"})


def test_summary_does_not_grow_with_rows(tmp_path) -> None:
    ref = frames(20_000, seed=1)
    prof = P.build_profile(ref, NUM, CAT)
    types = {c: prof["columns"][c]["type"] for c in NUM + CAT}

    def kept_bytes(rows: int) -> int:
        path = write(frames(rows, seed=5), tmp_path / f"{rows}.parquet", row_group_size=20_000)
        summaries = S._scan(S._open(path, NUM + CAT), types, 10_000, S.DEFAULT_MAX_DISTINCT)
        return sum(
            v.nbytes
            for s in summaries.values()
            if isinstance(s, S.NumericSummary)
            for v in vars(s).values()
            if isinstance(v, np.ndarray)
        )

    small, large = kept_bytes(20_000), kept_bytes(200_000)
    assert large <= small * 1.1


def test_bad_input_names_the_column_or_file(data, tmp_path) -> None:
    cur, prof, path = data
    with pytest.raises(DataError, match="not in the profile"):
        drift_from_parquet(prof, path, columns=["nope"])
    missing = write(cur.drop(columns=["cont"]), tmp_path / "missing.parquet")
    with pytest.raises(DataError, match=r"Cannot find columns \['cont'\] in current dataset .*missing\.parquet"):
        drift_from_parquet(prof, missing)
    empty = write(cur.iloc[:0], tmp_path / "empty.parquet")
    with pytest.raises(DataError, match=r"no rows in the current data: .*empty\.parquet"):
        drift_from_parquet(prof, empty)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"garbage\.parquet is not a readable parquet file"):
        drift_from_parquet(prof, garbage)
    nan_col = write(cur.assign(cont=np.nan), tmp_path / "nan.parquet")
    with pytest.raises(DataError, match="An empty column 'cont'"):
        drift_from_parquet(prof, nan_col)
    text = write(cur.assign(heavy="x"), tmp_path / "text.parquet")
    with pytest.raises(DataError, match="Column 'heavy' in current dataset should contain numerical values only"):
        drift_from_parquet(prof, text)
    with pytest.raises(DataError, match="not a drift reference profile"):
        drift_from_parquet({"columns": {}}, path)
    with pytest.raises(ConfigError, match="max_points must be an integer >= 100000"):
        drift_from_parquet(prof, path, max_points=10)
    with pytest.raises(ConfigError, match="isn't applicable to feature of type num"):
        drift_from_parquet(prof, path, overrides={"cont": {"stattest": "chisquare"}})
