"""``z`` against evidently 0.7.23, column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift.stattests import STATTESTS, z
from tests.unit.monitor.drift._evidently import ev_column
from tests.unit.monitor.drift.stattests._cases import assert_matches_evidently, cases_for


@pytest.mark.parametrize(("ref", "cur", "ctype"), cases_for("z"))
def test_matches_evidently(ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    assert_matches_evidently("z", ref, cur, ctype)


def test_public_function_is_pure_and_registered() -> None:
    ref, cur = list("aab"), list("abb")
    score, drifted = z(ref, cur)
    assert (score, drifted) == STATTESTS["z"](ref, cur, column_type="cat")
    assert isinstance(score, float) and isinstance(drifted, bool)
    assert score == pytest.approx(ev_column(pd.Series(ref), pd.Series(cur), "cat", "z")[1])


def test_counts_numerical_values_too() -> None:
    """evidently's default choice applies it to numerical columns with few values."""
    numbers = z(np.array([0, 1, 1, 0, 1]), np.array([1, 1, 1, 0, 0]), column_type="num")
    assert numbers == z(list("abbab"), list("bbbaa"))
