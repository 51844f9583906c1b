"""``chisquare`` against evidently 0.7.23, column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift.stattests import STATTESTS, chisquare
from tests.unit.monitor.drift._evidently import ev_column
from tests.unit.monitor.drift.stattests._cases import assert_matches_evidently, cases_for


@pytest.mark.parametrize(("ref", "cur", "ctype"), cases_for("chisquare"))
def test_matches_evidently(ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    assert_matches_evidently("chisquare", ref, cur, ctype)


def test_public_function_is_pure_and_registered() -> None:
    ref, cur = list("aabbc"), list("abbcc")
    score, drifted = chisquare(ref, cur)
    assert (score, drifted) == STATTESTS["chisquare"](ref, cur, column_type="cat")
    assert isinstance(score, float) and isinstance(drifted, bool)
    assert score == pytest.approx(ev_column(pd.Series(ref), pd.Series(cur), "cat", "chisquare")[1])


def test_counts_numerical_values_too() -> None:
    """evidently's default choice applies it to numerical columns with few values."""
    numbers = chisquare(np.array([0, 1, 1, 0, 1]), np.array([1, 1, 1, 0, 0]), column_type="num")
    assert numbers == chisquare(list("abbab"), list("bbbaa"))
