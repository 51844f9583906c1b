"""The registry: the built-ins register themselves on import, a project's own test can join,
names are checked, and each test's defaults are evidently's."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.errors import ConfigError
from include.monitor.drift import detect
from include.monitor.drift.stattests import (
    STATTESTS,
    StatTest,
    get_stattest,
    register_stattest,
    stattest_names,
)
from include.monitor.drift.stattests import registry as registry_module
from tests.unit.monitor.drift._evidently import ev_column
from tests.unit.monitor.drift.stattests._cases import rng

BUILT_IN = [
    "anderson",
    "chisquare",
    "ed",
    "hellinger",
    "jensenshannon",
    "kl_div",
    "ks",
    "mannw",
    "psi",
    "t_test",
    "wasserstein",
    "z",
]


def test_importing_the_package_registers_every_built_in() -> None:
    code = (
        "from include.monitor.drift.stattests import registry\n"
        "import include.monitor.drift.stattests as s\n"
        "print(','.join(registry.stattest_names()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().split(",") == BUILT_IN
    assert stattest_names() == sorted(STATTESTS) and set(BUILT_IN) <= set(stattest_names())


def test_a_registered_test_is_used_by_name(monkeypatch) -> None:
    monkeypatch.setattr(registry_module, "STATTESTS", dict(STATTESTS))

    def _mean_gap(pair, threshold: float) -> tuple[float, bool]:
        gap = abs(float(np.mean(pair.ref)) - float(np.mean(pair.cur)))
        return gap, gap >= threshold

    test = StatTest("mean_gap", "Mean gap", 0.5, "distance", ("num",), _mean_gap)
    assert register_stattest(test) is test
    assert register_stattest(test) is test  # the same object again: nothing changes
    assert "mean_gap" in registry_module.stattest_names() and get_stattest("mean_gap") is test
    ref, cur = pd.Series([0.0, 1.0, 2.0]), pd.Series([2.0, 3.0, 4.0])
    result = detect.column_drift(ref, cur, "num", "mean_gap")
    assert (result.stattest, result.score, result.drifted, result.threshold) == ("mean_gap", 2.0, True, 0.5)
    other = StatTest("mean_gap", "Other", 0.1, "distance", ("num",), _mean_gap)
    with pytest.raises(ConfigError, match="already registered"):
        register_stattest(other)
    assert register_stattest(other, replace=True) is get_stattest("mean_gap")


def test_default_thresholds_and_types_match_evidentlys_registry() -> None:
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests

    kinds = {"num": "num", "cat": "cat"}
    for name, test in STATTESTS.items():
        ev = next(iter(_registered_stat_tests[name].values()))
        assert test.default_threshold == ev.default_threshold, name
        assert test.display_name == ev.display_name, name
        assert sorted(test.column_types) == sorted(kinds[t.value] for t in ev.allowed_feature_types), name


def test_test_not_allowed_for_column_type_raises_like_evidently() -> None:
    r = rng(5)
    ref, cur = pd.Series(r.integers(0, 3, 500)), pd.Series(r.integers(0, 3, 500))
    with pytest.raises(ValueError, match="isn't applicable"):
        ev_column(ref, cur, "num", "chisquare")
    with pytest.raises(ValueError, match="isn't applicable"):
        detect.column_drift(ref, cur, "num", "chisquare")
    with pytest.raises(ValueError, match="isn't applicable"):
        detect.column_drift(ref.astype(str), cur.astype(str), "cat", "wasserstein")
    with pytest.raises(ValueError, match="No stattest"):
        get_stattest("nope")


def test_threshold_semantics_at_equality() -> None:
    """ks drifts when p <= threshold, chisquare / z when p < threshold, distances when >= (ed: >)."""
    r = rng(11)
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
