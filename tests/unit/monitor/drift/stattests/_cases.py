"""Columns every drift test is compared with evidently 0.7.23 on, and the comparison itself.

Every case runs evidently's own per-column drift calculation (the code behind its ``ValueDrift``
metric, see ``tests/unit/monitor/drift/_evidently.ev_column``) and ours on the same data with the
same column type, and compares the test chosen, the score and the verdict.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from include.monitor.drift import detect
from include.monitor.drift.stattests import get_stattest
from tests.unit.monitor.drift._evidently import ev_column

RTOL = 1e-9


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def with_gaps(x: np.ndarray, seed: int) -> np.ndarray:
    """x with NaN, +inf and -inf sprinkled in (evidently drops them all)."""
    x = np.asarray(x, dtype=np.float64).copy()
    r = rng(seed)
    idx = r.choice(x.size, size=max(3, x.size // 20), replace=False)
    x[idx[0::3]] = np.nan
    x[idx[1::3]] = np.inf
    x[idx[2::3]] = -np.inf
    return x


def _cases() -> list[tuple[str, pd.Series, pd.Series, str]]:
    r = rng(7)
    cases: list[tuple[str, pd.Series, pd.Series, str]] = []
    for n in (400, 3000):
        cases += [
            (f"num-same-{n}", pd.Series(r.normal(0, 1, n)), pd.Series(r.normal(0, 1, n + 101)), "num"),
            (f"num-shift-{n}", pd.Series(r.normal(0, 1, n)), pd.Series(r.normal(0.35, 1.2, n)), "num"),
            (
                f"num-gaps-{n}",
                pd.Series(with_gaps(r.normal(0, 1, n), 1)),
                pd.Series(with_gaps(r.normal(0.1, 1, n), 2)),
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


def cases_for(name: str) -> list:
    """The cases whose column type the named test accepts, as pytest params with ids."""
    types = get_stattest(name).column_types
    return [pytest.param(ref, cur, ctype, id=label) for label, ref, cur, ctype in CASES if ctype in types]


def assert_matches_evidently(name: str | None, ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    """Our test ``name`` (None: the default choice) and evidently's: same test, verdict, score."""
    ev_name, ev_score, ev_drift = ev_column(ref, cur, ctype, name)
    ours = detect.column_drift(ref, cur, ctype, name)
    assert ours.stattest == ev_name, name
    assert ours.drifted == ev_drift, (name, ours.score, ev_score)
    if math.isnan(ev_score):
        assert math.isnan(ours.score)
    else:
        assert ours.score == pytest.approx(ev_score, rel=RTOL, abs=1e-12), name
