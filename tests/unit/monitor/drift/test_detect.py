"""Dataset drift against evidently 0.7.23's ``Report([DataDriftPreset()])`` on whole frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift import detect
from tests.unit.monitor.drift._evidently import ev_column, ev_report
from tests.unit.monitor.drift.stattests._cases import CASES, RTOL, assert_matches_evidently, rng


def frames(n_ref: int, n_cur: int, seed: int = 0, drift: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, list, list]:
    """Mixed frame: continuous, low-cardinality and gappy numerics; categoricals of 2..6 values."""
    r = np.random.default_rng(seed)
    s = 1.0 if drift else 0.0

    def make(n: int, cur: bool) -> pd.DataFrame:
        k = s if cur else 0.0
        gaps = r.normal(0, 1, n)
        gaps[r.random(n) < 0.05] = np.nan
        gaps[r.random(n) < 0.01] = np.inf
        return pd.DataFrame(
            {
                "age": r.normal(40 + 4 * k, 10, n),
                "income": r.lognormal(10, 0.5 + 0.1 * k, n),
                "tenure": r.integers(0, 72, n),
                "score": r.normal(0, 1, n) + 0.02 * k,
                "gappy": gaps,
                "few": r.integers(0, 3 + int(k), n).astype(float),
                "flag": r.integers(0, 2, n),
                "plan": r.choice(["basic", "plus", "pro"], n, p=[0.5 - 0.2 * k, 0.3, 0.2 + 0.2 * k]),
                "region": r.choice(["n", "s", "e", "w", "c"] + (["x"] if k else []), n),
                "paperless": r.choice(["yes", "no"], n),
                "channel": r.choice(["web", "app", "store", "phone"], n),
            }
        )

    numeric = ["age", "income", "tenure", "score", "gappy", "few", "flag"]
    categorical = ["plan", "region", "paperless", "channel"]
    return make(n_ref, False), make(n_cur, True), numeric, categorical


def assert_same_as_evidently(ours: detect.DriftReport, ev: dict) -> None:
    assert {c.column for c in ours.columns} == set(ev["columns"])
    for c in ours.columns:
        e = ev["columns"][c.column]
        assert c.stattest == e["stattest"], c.column
        assert c.threshold == e["threshold"], c.column
        assert c.drifted == e["drifted"], (c.column, c.score, e["score"])
        assert c.score == pytest.approx(e["score"], rel=1e-9, abs=1e-12), c.column
    assert ours.n_drifted == ev["n_drifted"]
    assert ours.share_drifted == pytest.approx(ev["share_drifted"])
    assert ours.dataset_drift == ev["dataset_drift"]


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "drift"),
    [(12_000, 9_000, True), (12_000, 12_000, False), (800, 900, True), (1000, 1500, False)],
    ids=["large-drift", "large-same", "small-drift", "boundary-1000"],
)
def test_dataset_drift_matches_evidently_report(n_ref: int, n_cur: int, drift: bool) -> None:
    ref, cur, num, cat = frames(n_ref, n_cur, seed=n_ref + n_cur, drift=drift)
    ours = detect.dataset_drift(ref, cur, num, cat)
    assert_same_as_evidently(ours, ev_report(ref, cur, num, cat))
    if drift:
        assert ours.n_drifted > 0


def test_overrides_match_evidently_per_column_settings() -> None:
    ref, cur, num, cat = frames(5000, 4000, seed=3)
    overrides = {
        "age": {"stattest": "psi", "threshold": 0.2},
        "income": {"stattest": "ks"},
        "tenure": {"stattest": "kl_div"},
        "score": {"threshold": 0.01},
        "few": {"stattest": "hellinger"},
        "plan": {"stattest": "chisquare", "threshold": 0.01},
        "region": {"stattest": "psi"},
        "paperless": {"stattest": "z"},
        "channel": {"threshold": 0.02},
    }
    ours = detect.dataset_drift(ref, cur, num, cat, overrides=overrides)
    ev = ev_report(
        ref,
        cur,
        num,
        cat,
        per_column_method={c: o["stattest"] for c, o in overrides.items() if "stattest" in o},
        per_column_threshold={c: o["threshold"] for c, o in overrides.items() if "threshold" in o},
    )
    assert_same_as_evidently(ours, ev)
    assert ours.column("age").stattest == "psi" and ours.column("age").threshold == 0.2
    assert ours.column("score").stattest == "wasserstein" and ours.column("score").threshold == 0.01


@pytest.mark.parametrize("drift_share", [0.5, 0.75])
def test_dataset_drift_share_is_greater_or_equal(drift_share: float) -> None:
    """2 of 4 columns drifted: share 0.5 >= 0.5 is dataset drift (as evidently), < 0.75 is not."""
    r = np.random.default_rng(1)
    n = 3000
    ref = pd.DataFrame({"a": r.normal(size=n), "b": r.normal(size=n), "c": r.normal(size=n), "d": r.normal(size=n)})
    cur = pd.DataFrame(
        {"a": r.normal(1, size=n), "b": r.normal(1, size=n), "c": r.normal(size=n), "d": r.normal(size=n)}
    )
    ours = detect.dataset_drift(ref, cur, list("abcd"), [], drift_share=drift_share)
    ev = ev_report(ref, cur, list("abcd"), [], drift_share=drift_share)
    assert_same_as_evidently(ours, ev)
    assert ours.share_drifted == 0.5
    assert ours.dataset_drift is (drift_share == 0.5)


def test_threads_and_inline_give_the_same_report() -> None:
    ref, cur, num, cat = frames(4000, 4000, seed=9)
    one = detect.dataset_drift(ref, cur, num, cat, max_workers=1).to_dict()
    many = detect.dataset_drift(ref, cur, num, cat, max_workers=3).to_dict()
    assert one == many
    assert [c["column"] for c in one["columns"]] == num + cat
    assert set(one) >= {"dataset_drift", "share_drifted", "n_drifted", "columns", "drifted_columns"}


def test_bad_arguments() -> None:
    ref, cur, num, cat = frames(200, 200, seed=2)
    with pytest.raises(ValueError, match="Cannot find columns"):
        detect.dataset_drift(ref, cur.drop(columns=["age"]), num, cat)
    with pytest.raises(ValueError, match="both numeric and categorical"):
        detect.dataset_drift(ref, cur, num, [*cat, "age"])
    with pytest.raises(ValueError, match="not one of"):
        detect.dataset_drift(ref, cur, num, cat, overrides={"nope": {"stattest": "psi"}})
    with pytest.raises(ValueError, match="unknown keys"):
        detect.dataset_drift(ref, cur, num, cat, overrides={"age": {"method": "psi"}})
    with pytest.raises(ValueError, match="isn't applicable"):
        detect.dataset_drift(ref, cur, num, cat, overrides={"plan": {"stattest": "wasserstein"}})
    with pytest.raises(ValueError, match="threshold must be a number"):
        detect.dataset_drift(ref, cur, num, cat, overrides={"age": {"threshold": "high"}})
    with pytest.raises(ValueError, match="drift_share"):
        detect.dataset_drift(ref, cur, num, cat, drift_share=0)
    with pytest.raises(ValueError, match="column_type"):
        detect.column_drift(ref["age"], cur["age"], "numeric")  # type: ignore[arg-type]


def test_column_drift_result_fields() -> None:
    ref, cur, _, _ = frames(3000, 2000, seed=4)
    res = detect.column_drift(ref["age"], cur["age"], "num")
    assert res.column == "age" and res.type == "num" and res.kind == "distance"
    assert res.stattest == "wasserstein" and res.threshold == 0.1 and res.drifted
    assert (res.n_reference, res.n_current) == (3000, 2000)
    small = detect.column_drift(ref["age"][:500], cur["age"][:500], "num")
    assert small.stattest == "ks" and small.kind == "pvalue"


def test_inf_without_nan_follows_evidentlys_per_column_verdicts() -> None:
    """evidently's DriftedColumnsCount keeps +-inf in a column without NaN (Wasserstein -> NaN, no
    drift) while its ValueDrift drops them; the project always drops them and counts its verdicts."""
    r = np.random.default_rng(0)
    n = 3000
    a = r.normal(size=n)
    a[5] = np.inf
    ref = pd.DataFrame({"a": a, "b": r.normal(size=n)})
    cur = pd.DataFrame({"a": r.normal(1, size=n), "b": r.normal(size=n)})
    ours = detect.dataset_drift(ref, cur, ["a", "b"], [])
    ev = ev_report(ref, cur, ["a", "b"], [])
    assert ours.column("a").drifted and ev["columns"]["a"]["drifted"]  # per column: equal
    assert ours.column("a").score == pytest.approx(ev["columns"]["a"]["score"], rel=1e-9)
    assert (ours.n_drifted, ev["n_drifted"]) == (1, 0)  # evidently's own count misses it
    assert ours.dataset_drift and not ev["dataset_drift"]


# -- the default test choice, column by column -------------------------------------------------------
@pytest.mark.parametrize(("label", "ref", "cur", "ctype"), CASES, ids=[c[0] for c in CASES])
def test_default_choice_matches_evidently(label: str, ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    assert_matches_evidently(None, ref, cur, ctype)


@pytest.mark.parametrize(
    ("n_ref", "expected"),
    [(1000, "ks"), (1001, "wasserstein")],
)
def test_reference_size_boundary(n_ref: int, expected: str) -> None:
    r = rng(n_ref)
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
    r = rng(n + len(cur_values))
    ref = pd.Series(r.choice(ref_values, n).astype(float))
    cur = pd.Series(r.choice(cur_values, n).astype(float))
    assert detect.default_stattest(ref, cur, "num") == expected
    name, score, drifted = ev_column(ref, cur, "num")
    ours = detect.column_drift(ref, cur, "num")
    assert (ours.stattest, ours.drifted) == (name, drifted) == (expected, drifted)
    assert ours.score == pytest.approx(score, rel=RTOL)


def test_categorical_defaults() -> None:
    r = rng(3)
    two = pd.Series(r.choice(["a", "b"], 800))
    three = pd.Series(r.choice(["a", "b", "c"], 800))
    assert detect.default_stattest(two, two, "cat") == "z"
    assert detect.default_stattest(two, three, "cat") == "chisquare"
    assert detect.default_stattest(pd.Series(r.choice(["a", "b"], 1500)), two, "cat") == "jensenshannon"
