"""``wasserstein`` against evidently 0.7.23, column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift.stattests import STATTESTS, wasserstein
from tests.unit.monitor.drift.stattests._cases import assert_matches_evidently, cases_for, rng


@pytest.mark.parametrize(("ref", "cur", "ctype"), cases_for("wasserstein"))
def test_matches_evidently(ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    assert_matches_evidently("wasserstein", ref, cur, ctype)


def test_public_function_is_pure_and_registered() -> None:
    r = rng(9)
    ref, cur = r.normal(size=2000), r.normal(0.5, size=2000)
    before = ref.copy()
    score, drifted = wasserstein(ref, cur)
    assert (score, drifted) == STATTESTS["wasserstein"](ref, cur)
    assert isinstance(score, float) and isinstance(drifted, bool)
    np.testing.assert_array_equal(ref, before)  # inputs untouched (sorted copies)


@pytest.mark.parametrize(("n", "m"), [(1000, 1000), (1000, 1500), (997, 313), (5, 3000), (1, 1)])
def test_wasserstein_sorted_equals_scipy(n: int, m: int) -> None:
    from scipy.stats import wasserstein_distance

    from include.monitor.drift.stattests.wasserstein import wasserstein_sorted

    r = rng(n * 31 + m)
    for u, v in (
        (r.normal(size=n), r.normal(0.3, 2, size=m)),
        (r.integers(0, 5, n).astype(float), r.integers(0, 6, m).astype(float)),  # ties
    ):
        assert wasserstein_sorted(np.sort(u), np.sort(v)) == pytest.approx(
            wasserstein_distance(u, v), rel=1e-10, abs=1e-14
        )
