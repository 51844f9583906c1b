"""Drift from a reference profile: exact columns, sketch accuracy, sample handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.ml import profile as P
from include.monitor.drift import detect
from include.monitor.drift.profile import drift_from_profile
from include.platform.parquet import frame_to_parquet, read_parquet_frame
from tests.unit.ml.profile_frames import CAT, NUM, frames


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    ref = frames(60_000, seed=1)
    cur = frames(40_000, seed=2, shift=0.15)
    return ref, cur, P.build_profile(ref, NUM, CAT)


def test_exact_columns_equal_the_raw_reference_result(data) -> None:
    ref, cur, prof = data
    raw = detect.dataset_drift(ref, cur, NUM, CAT)
    from_profile = drift_from_profile(prof, cur)
    assert sorted(from_profile.approximate) == ["cont", "heavy", "zeros"]
    for a, b in zip(raw.columns, from_profile.columns, strict=True):
        assert (a.column, a.stattest, a.threshold) == (b.column, b.stattest, b.threshold)
        if a.column in from_profile.approximate:
            assert b.score == pytest.approx(a.score, abs=2e-4), a.column
        else:
            assert b.score == pytest.approx(a.score, rel=1e-12, abs=1e-15), a.column
        assert a.drifted == b.drifted, a.column
    assert raw.n_drifted >= 3  # the shift is visible


@pytest.mark.parametrize("stattest", ["psi", "jensenshannon", "kl_div", "ks", "wasserstein"])
def test_sketch_columns_close_to_raw_for_every_binned_test(data, stattest: str) -> None:
    ref, cur, prof = data
    overrides = {c: {"stattest": stattest} for c in ["cont", "heavy", "zeros", "ints"]}
    raw = detect.dataset_drift(ref, cur, NUM, CAT, overrides=overrides)
    approx = drift_from_profile(prof, cur, overrides=overrides)
    tol = {"ks": 1e-6, "psi": 5e-4, "kl_div": 5e-4, "jensenshannon": 5e-4, "wasserstein": 1e-4}[stattest]
    for a, b in zip(raw.columns, approx.columns, strict=True):
        if stattest == "ks":  # p-values: compare on the log scale where they are tiny
            assert np.log10(max(b.score, 1e-300)) == pytest.approx(np.log10(max(a.score, 1e-300)), rel=0.05, abs=tol)
        else:
            assert b.score == pytest.approx(a.score, abs=tol), (a.column, a.score, b.score)


def test_complete_sample_makes_every_column_exact() -> None:
    ref = frames(5000, seed=5)
    cur = frames(7000, seed=6, shift=0.05)
    prof = P.build_profile(ref, NUM, CAT, sample_rows=10_000)
    sample = P.reference_sample(ref, NUM + CAT, max_rows=10_000)
    assert prof["sample"]["complete"] and len(sample) == len(ref)
    raw = detect.dataset_drift(ref, cur, NUM, CAT)
    exact = drift_from_profile(prof, cur, sample=read_parquet_frame(frame_to_parquet(sample)))
    assert exact.approximate == []
    assert [(c.stattest, c.drifted) for c in exact.columns] == [(c.stattest, c.drifted) for c in raw.columns]
    for a, b in zip(raw.columns, exact.columns, strict=True):
        assert b.score == pytest.approx(a.score, rel=1e-12, abs=1e-15)
    # without the sample, the continuous columns fall back to the sketch
    assert set(drift_from_profile(prof, cur).approximate) == {"cont", "heavy", "zeros"}


def test_small_reference_keeps_pvalue_tests_exact() -> None:
    ref = frames(900, seed=7)
    cur = frames(1200, seed=8, shift=0.3)
    prof = P.build_profile(ref, NUM, CAT)  # <= 1000 rows: <= 1000 distinct values, all exact
    res = drift_from_profile(prof, cur)
    raw = detect.dataset_drift(ref, cur, NUM, CAT)
    assert res.approximate == []
    assert [c.stattest for c in res.columns] == [c.stattest for c in raw.columns]
    assert "ks" in {c.stattest for c in res.columns}
    assert [c.drifted for c in res.columns] == [c.drifted for c in raw.columns]


def test_truncated_categories_merge_the_tail() -> None:
    r = np.random.default_rng(3)
    values = [f"v{i}" for i in range(50)]
    ref = pd.DataFrame({"c": r.choice(values, 20_000)})
    cur = pd.DataFrame({"c": r.choice([*values, "new"], 20_000)})
    prof = P.build_profile(ref, [], ["c"], max_categories=10)
    col = prof["columns"]["c"]
    assert len(col["values"]) == 10 and col["other_count"] == 20_000 - sum(col["counts"])
    res = drift_from_profile(prof, cur)
    assert res.approximate == ["c"]
    assert res.columns[0].stattest == "jensenshannon"
    full = drift_from_profile(P.build_profile(ref, [], ["c"]), cur)
    assert full.approximate == [] and full.columns[0].score == pytest.approx(
        detect.dataset_drift(ref, cur, [], ["c"]).columns[0].score, rel=1e-12
    )


def test_profile_errors() -> None:
    ref = frames(2000, seed=4)
    prof = P.build_profile(ref, NUM, CAT)
    with pytest.raises(ValueError, match="not in the profile"):
        drift_from_profile(prof, ref, columns=["nope"])
    with pytest.raises(ValueError, match="Cannot find columns"):
        drift_from_profile(prof, ref.drop(columns=["cont"]))
    with pytest.raises(ValueError, match="not a drift reference profile"):
        drift_from_profile({"columns": {}}, ref)
