"""``ed`` against evidently 0.7.23, column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift.stattests import STATTESTS, ed
from tests.unit.monitor.drift.stattests._cases import assert_matches_evidently, cases_for, rng


@pytest.mark.parametrize(("ref", "cur", "ctype"), cases_for("ed"))
def test_matches_evidently(ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    assert_matches_evidently("ed", ref, cur, ctype)


def test_public_function_is_pure_and_registered() -> None:
    r = rng(9)
    ref, cur = r.normal(size=2000), r.normal(0.5, size=2000)
    before = ref.copy()
    score, drifted = ed(ref, cur)
    assert (score, drifted) == STATTESTS["ed"](ref, cur)
    assert isinstance(score, float) and isinstance(drifted, bool)
    np.testing.assert_array_equal(ref, before)  # inputs untouched (sorted copies)
