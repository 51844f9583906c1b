"""Columns of every kind the reference-profile tests (building in ml/, comparing in
monitor/drift/) share: gaps and infinities, heavy tails, zero inflation, few values, categories."""

from __future__ import annotations

import numpy as np
import pandas as pd


def frames(n: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    cont = r.normal(shift, 1, n)
    cont[r.random(n) < 0.02] = np.nan
    cont[:3] = [np.inf, -np.inf, np.nan]
    return pd.DataFrame(
        {
            "cont": cont,
            "heavy": r.lognormal(shift / 3, 1, n),
            "zeros": np.where(r.random(n) < 0.3, 0.0, r.exponential(1 + shift, n)),
            "ints": r.integers(0, 300, n),
            "few": r.integers(0, 4, n).astype(float),
            "plan": r.choice(["basic", "plus", "pro", None], n, p=[0.5 - shift / 10, 0.3, 0.15 + shift / 10, 0.05]),
            "code": r.integers(0, 3 + int(shift > 0), n),
        }
    )


NUM = ["cont", "heavy", "zeros", "ints", "few"]
CAT = ["plan", "code"]
