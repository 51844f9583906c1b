"""The project's drift tests against evidently 0.7.23 itself, column by column.

Every case runs evidently's own per-column drift calculation (the code behind its ``ValueDrift``
metric, see ``_drift_evidently.ev_column``) and ours on the same data with the same column type,
and compares the test chosen, the score and the verdict.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift import detect, stattests
from include.monitor.drift.stattests import STATTESTS, get_stattest
from tests.unit.monitor.drift._evidently import ev_column

RTOL = 1e-9


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _with_gaps(x: np.ndarray, seed: int) -> np.ndarray:
    """x with NaN, +inf and -inf sprinkled in (evidently drops them all)."""
    x = np.asarray(x, dtype=np.float64).copy()
    r = _rng(seed)
    idx = r.choice(x.size, size=max(3, x.size // 20), replace=False)
    x[idx[0::3]] = np.nan
    x[idx[1::3]] = np.inf
    x[idx[2::3]] = -np.inf
    return x


def _cases() -> list[tuple[str, pd.Series, pd.Series, str]]:
    r = _rng(7)
    cases: list[tuple[str, pd.Series, pd.Series, str]] = []
    for n in (400, 3000):
        cases += [
            (f"num-same-{n}", pd.Series(r.normal(0, 1, n)), pd.Series(r.normal(0, 1, n + 101)), "num"),
            (f"num-shift-{n}", pd.Series(r.normal(0, 1, n)), pd.Series(r.normal(0.35, 1.2, n)), "num"),
            (
                f"num-gaps-{n}",
                pd.Series(_with_gaps(r.normal(0, 1, n), 1)),
                pd.Series(_with_gaps(r.normal(0.1, 1, n), 2)),
                "num",
            ),
            (f"num-2vals-{n}", pd.Series(r.integers(0, 2, n)), pd.Series(r.integers(0, 2, n)), "num"),
            (
                f"num-4vals-{n}",
                pd.Series(r.integers(0, 4, n)),
                pd.Series(r.choice(4, n, p=[0.4, 0.2, 0.2, 0.2])),
                "num",
            ),
            (
                f"num-15vals-{n}",
                pd.Series(r.integers(0, 15, n).astype(float)),
                pd.Series(r.integers(1, 16, n).astype(float)),
                "num",
            ),
            (f"num-int60-{n}", pd.Series(r.integers(0, 60, n)), pd.Series(r.integers(5, 60, n)), "num"),
            (
                f"cat-2-{n}",
                pd.Series(r.choice(["a", "b"], n)),
                pd.Series(r.choice(["a", "b"], n, p=[0.58, 0.42])),
                "cat",
            ),
            (f"cat-3-{n}", pd.Series(r.choice(list("abc"), n)), pd.Series(r.choice(list("abc"), n)), "cat"),
            (
                f"cat-mix-{n}",
                pd.Series(r.choice(list("abcde"), n)),
                pd.Series(r.choice(list("abcde"), n, p=[0.3, 0.3, 0.2, 0.1, 0.1])),
                "cat",
            ),
            (f"cat-new-{n}", pd.Series(r.choice(list("abc"), n)), pd.Series(r.choice(list("abcz"), n)), "cat"),
            (f"cat-lost-{n}", pd.Series(r.choice(list("abcd"), n)), pd.Series(r.choice(list("abc"), n)), "cat"),
            (f"cat-int-{n}", pd.Series(r.integers(0, 7, n)), pd.Series(r.integers(0, 7, n)), "cat"),
        ]
    nulls = pd.Series(r.choice(["a", "b", "c", None], 2000))
    cases.append(("cat-none", nulls, pd.Series(r.choice(["a", "b", "c", None, "d"], 2500)), "cat"))
    return cases


CASES = _cases()


def _applicable(column_type: str) -> list[str | None]:
    # None = evidently's default choice. Every registered test valid for the column type.
    return [None, *[name for name, t in STATTESTS.items() if column_type in t.column_types]]


@pytest.mark.parametrize(("label", "ref", "cur", "ctype"), CASES, ids=[c[0] for c in CASES])
def test_every_stattest_matches_evidently(label: str, ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    for name in _applicable(ctype):
        ev_name, ev_score, ev_drift = ev_column(ref, cur, ctype, name)
        ours = detect.column_drift(ref, cur, ctype, name)
        assert ours.stattest == ev_name, (label, name)
        assert ours.drifted == ev_drift, (label, name, ours.score, ev_score)
        if math.isnan(ev_score):
            assert math.isnan(ours.score)
        else:
            assert ours.score == pytest.approx(ev_score, rel=RTOL, abs=1e-12), (label, name)


@pytest.mark.parametrize(
    ("n_ref", "expected"),
    [(1000, "ks"), (1001, "wasserstein")],
)
def test_reference_size_boundary(n_ref: int, expected: str) -> None:
    r = _rng(n_ref)
    ref, cur = pd.Series(r.normal(size=n_ref)), pd.Series(r.normal(size=500))
    assert detect.default_stattest(ref, cur, "num") == expected
    assert ev_column(ref, cur, "num")[0] == expected
    # n counts reference rows after the clean-up: 1001 rows with one NaN is a small reference.
    with_nan = pd.Series(np.append(r.normal(size=1000), np.nan))
    assert detect.default_stattest(with_nan, cur, "num") == "ks" == ev_column(with_nan, cur, "num")[0]


@pytest.mark.parametrize(
    ("ref_values", "cur_values", "n", "expected"),
    [
        ([0, 1], [0, 1], 500, "z"),
        ([0, 1], [0, 1, 2], 500, "chisquare"),  # distinct values counted over both sides
        ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], 500, "chisquare"),
        ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5], 500, "ks"),
        ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], 3000, "jensenshannon"),
        ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5], 3000, "wasserstein"),
    ],
)
def test_few_values_rules(ref_values: list[int], cur_values: list[int], n: int, expected: str) -> None:
    r = _rng(n + len(cur_values))
    ref = pd.Series(r.choice(ref_values, n).astype(float))
    cur = pd.Series(r.choice(cur_values, n).astype(float))
    assert detect.default_stattest(ref, cur, "num") == expected
    name, score, drifted = ev_column(ref, cur, "num")
    ours = detect.column_drift(ref, cur, "num")
    assert (ours.stattest, ours.drifted) == (name, drifted) == (expected, drifted)
    assert ours.score == pytest.approx(score, rel=RTOL)


def test_categorical_defaults() -> None:
    r = _rng(3)
    two = pd.Series(r.choice(["a", "b"], 800))
    three = pd.Series(r.choice(["a", "b", "c"], 800))
    assert detect.default_stattest(two, two, "cat") == "z"
    assert detect.default_stattest(two, three, "cat") == "chisquare"
    assert detect.default_stattest(pd.Series(r.choice(["a", "b"], 1500)), two, "cat") == "jensenshannon"


def test_threshold_semantics_at_equality() -> None:
    """ks drifts when p <= threshold, chisquare / z when p < threshold, distances when >= (ed: >)."""
    r = _rng(11)
    num_ref, num_cur = pd.Series(r.normal(size=600)), pd.Series(r.normal(0.1, size=600))
    cat_ref, cat_cur = pd.Series(r.choice(list("abc"), 3000)), pd.Series(r.choice(list("abc"), 3000))
    bin_ref, bin_cur = pd.Series(r.choice(list("ab"), 3000)), pd.Series(r.choice(list("ab"), 3000))
    checks = [
        ("ks", num_ref, num_cur, "num", True),
        ("chisquare", cat_ref, cat_cur, "cat", False),
        ("z", bin_ref, bin_cur, "cat", False),
        ("jensenshannon", cat_ref, cat_cur, "cat", True),
        ("psi", cat_ref, cat_cur, "cat", True),
        ("kl_div", cat_ref, cat_cur, "cat", True),
        ("ed", num_ref, num_cur, "num", False),
    ]
    for name, ref, cur, ctype, expected in checks:
        # threshold == each side's own score: the comparison operator decides. (The scores agree to
        # an ulp or so; summation order over categories follows set order, which varies by process.)
        _, ev_score, _ = ev_column(ref, cur, ctype, name)
        ev_verdict = ev_column(ref, cur, ctype, name, threshold=ev_score)[2]
        our_score = detect.column_drift(ref, cur, ctype, name).score
        ours = detect.column_drift(ref, cur, ctype, name, threshold=our_score)
        assert our_score == pytest.approx(ev_score, rel=1e-12), name
        assert ours.drifted == ev_verdict == expected, name


def test_default_thresholds_and_types_match_evidentlys_registry() -> None:
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests

    kinds = {"num": "num", "cat": "cat"}
    for name, test in STATTESTS.items():
        ev = next(iter(_registered_stat_tests[name].values()))
        assert test.default_threshold == ev.default_threshold, name
        assert test.display_name == ev.display_name, name
        assert sorted(test.column_types) == sorted(kinds[t.value] for t in ev.allowed_feature_types), name


def test_test_not_allowed_for_column_type_raises_like_evidently() -> None:
    r = _rng(5)
    ref, cur = pd.Series(r.integers(0, 3, 500)), pd.Series(r.integers(0, 3, 500))
    with pytest.raises(ValueError, match="isn't applicable"):
        ev_column(ref, cur, "num", "chisquare")
    with pytest.raises(ValueError, match="isn't applicable"):
        detect.column_drift(ref, cur, "num", "chisquare")
    with pytest.raises(ValueError, match="isn't applicable"):
        detect.column_drift(ref.astype(str), cur.astype(str), "cat", "wasserstein")
    with pytest.raises(ValueError, match="No stattest"):
        get_stattest("nope")


def test_empty_after_cleanup_raises_like_evidently() -> None:
    ref = pd.Series([np.nan, np.inf, -np.inf] * 5)
    cur = pd.Series(np.arange(15.0))
    with pytest.raises(ValueError, match="empty column"):
        ev_column(ref, cur, "num")
    with pytest.raises(ValueError, match="empty column"):
        detect.column_drift(ref, cur, "num")
    with pytest.raises(ValueError, match="numerical values only"):
        detect.column_drift(pd.Series(["a", "b"]), pd.Series(["a"]), "num")


def test_categorical_dtypes_bool_category_and_object_inf() -> None:
    r = _rng(21)
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


# -- building blocks against numpy / scipy directly ------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(size=5000),
        np.random.default_rng(2).integers(-50, 50, 7000),
        np.random.default_rng(3).integers(0, 25, 2_200_000),  # integer data: width < 1 -> 1
        np.array([3.0] * 40),  # single value: range expanded by +-0.5
        np.array([7] * 40),
        np.random.default_rng(4).lognormal(size=3000) * 1e6,
    ],
)
def test_sturges_edges_equal_numpys(values: np.ndarray) -> None:
    expected = np.histogram_bin_edges(values, bins="sturges")
    ours = stattests.sturges_edges(values.min(), values.max(), values.size, values.dtype)
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(
        stattests.histogram_sorted(np.sort(values), expected), np.histogram(values, expected)[0]
    )


@pytest.mark.parametrize(("n", "m"), [(1000, 1000), (1000, 1500), (997, 313), (5, 3000), (1, 1)])
def test_wasserstein_sorted_equals_scipy(n: int, m: int) -> None:
    from scipy.stats import wasserstein_distance

    r = _rng(n * 31 + m)
    for u, v in (
        (r.normal(size=n), r.normal(0.3, 2, size=m)),
        (r.integers(0, 5, n).astype(float), r.integers(0, 6, m).astype(float)),  # ties
    ):
        assert stattests.wasserstein_sorted(np.sort(u), np.sort(v)) == pytest.approx(
            wasserstein_distance(u, v), rel=1e-10, abs=1e-14
        )


def test_fill_zeros_like_evidently() -> None:
    from evidently.legacy.calculations.stattests.utils import get_binned_data
    from evidently.legacy.core import ColumnType

    # a share of 1e-4 or below elsewhere -> fill is (that smallest share) / 1e6
    ref = pd.Series(["a"] * 9999 + ["b"])
    cur = pd.Series(["a"] * 500 + ["c"] * 500)
    ev_r, ev_c = get_binned_data(ref, cur, ColumnType.Categorical, 30)
    pair = stattests.make_pair(ref, cur, "cat")
    r, c = stattests.binned_shares(pair, fill=True)
    key_order = pair.keys
    assert sorted(r.tolist()) == sorted(ev_r.tolist())
    assert sorted(c.tolist()) == sorted(ev_c.tolist())
    assert min(r) == pytest.approx(1e-4 / 1e6) and 1e-4 in c.tolist()
    assert len(key_order) == 3


def test_public_functions_are_pure_and_registered() -> None:
    r = _rng(9)
    ref, cur = r.normal(size=2000), r.normal(0.5, size=2000)
    for name in ("ks", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger"):
        func = getattr(stattests, name)
        score, drifted = func(ref, cur)
        assert (score, drifted) == STATTESTS[name](ref, cur)
        assert isinstance(score, float) and isinstance(drifted, bool)
    before = ref.copy()
    stattests.wasserstein(ref, cur)
    np.testing.assert_array_equal(ref, before)  # inputs untouched (sorted copies)
    assert stattests.chisquare(list("aabbc"), list("abbcc"))[0] == pytest.approx(
        ev_column(pd.Series(list("aabbc")), pd.Series(list("abbcc")), "cat", "chisquare")[1]
    )
    assert stattests.z(list("aab"), list("abb"))[0] == pytest.approx(
        ev_column(pd.Series(list("aab")), pd.Series(list("abb")), "cat", "z")[1]
    )
