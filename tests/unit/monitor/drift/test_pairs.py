"""Columns prepared once: cleaning like evidently's, counts over both sides, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.errors import ConfigError, DataError
from include.monitor.drift import detect
from include.monitor.drift.pairs import CategoricalPair, NumericPair, as_counts, make_pair, need_numeric
from tests.unit.monitor.drift._evidently import ev_column
from tests.unit.monitor.drift.stattests._cases import RTOL, rng


def test_empty_after_cleanup_raises_like_evidently() -> None:
    ref = pd.Series([np.nan, np.inf, -np.inf] * 5)
    cur = pd.Series(np.arange(15.0))
    with pytest.raises(ValueError, match="empty column"):
        ev_column(ref, cur, "num")
    with pytest.raises(ValueError, match="empty column"):
        detect.column_drift(ref, cur, "num")
    with pytest.raises(ValueError, match="numerical values only"):
        detect.column_drift(pd.Series(["a", "b"]), pd.Series(["a"]), "num")


def test_errors_are_the_projects() -> None:
    with pytest.raises(DataError, match=r"empty column 'x'.*current"):
        make_pair(pd.Series(["a"]), pd.Series([None], dtype=object), "cat", name="x")
    with pytest.raises(ConfigError, match="column_type"):
        make_pair([1.0], [1.0], "text")
    with pytest.raises(ConfigError, match="isn't applicable"):
        need_numeric(make_pair(["a"], ["b"], "cat"), "ks")


def test_categorical_dtypes_bool_category_and_object_inf() -> None:
    r = rng(21)
    cat_ref = pd.Series(pd.Categorical(r.choice(list("abc"), 2000), categories=list("abcdz")))
    cat_cur = pd.Series(pd.Categorical(r.choice(list("abd"), 2000), categories=list("abcdz")))
    bool_ref, bool_cur = pd.Series(r.random(700) < 0.5), pd.Series(r.random(700) < 0.4)
    obj_ref = pd.Series(np.array(["a", "b", np.inf, None, "c"] * 300, dtype=object))
    obj_cur = pd.Series(np.array(["a", "b", "b", -np.inf, "c"] * 300, dtype=object))
    for ref, cur in ((cat_ref, cat_cur), (bool_ref, bool_cur), (obj_ref, obj_cur)):
        for name in (None, "jensenshannon", "psi", "chisquare", "hellinger"):
            ev_name, ev_score, ev_drift = ev_column(ref, cur, "cat", name)
            ours = detect.column_drift(ref, cur, "cat", name)
            assert (ours.stattest, ours.drifted) == (ev_name, ev_drift)
            assert ours.score == pytest.approx(ev_score, rel=RTOL, abs=1e-12)


def test_numeric_pair_counts_over_both_sides() -> None:
    pair = make_pair(np.array([3.0, 1.0, np.nan, 1.0]), np.array([2.0, 1.0, np.inf]), "num")
    assert isinstance(pair, NumericPair)
    assert (pair.n_ref, pair.n_cur, pair.ref_nunique, pair.nunique) == (3, 2, 2, 3)
    assert pair.ref_std == pytest.approx(float(np.std([3.0, 1.0, 1.0])))
    counts = as_counts(pair)
    assert counts.keys == [1.0, 2.0, 3.0]
    assert counts.ref_counts.tolist() == [2, 0, 1] and counts.cur_counts.tolist() == [1, 1, 0]
    assert pair.nunique_upto(1) > 1 and pair.nunique_upto(5) == 3


def test_categorical_pair_from_counts_merges_keys_in_first_seen_order() -> None:
    pair = CategoricalPair.from_counts(["b", "a"], np.array([2, 1]), ["c", "b", "c"], np.array([1, 1, 1]))
    assert pair.keys == ["b", "a", "c"]
    assert pair.ref_counts.tolist() == [2, 1, 0] and pair.cur_counts.tolist() == [1, 0, 2]
    assert (pair.ref_nunique, pair.cur_nunique, pair.nunique) == (2, 2, 3)
