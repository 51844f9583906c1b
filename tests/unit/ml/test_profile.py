"""Reference profiles built at training: JSON round trip, columns described, bounded samples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from include.errors import ConfigError, DataError
from include.ml import profile as P
from include.platform.parquet import frame_to_parquet, read_parquet_frame
from tests.unit.ml.profile_frames import CAT, NUM, frames


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, dict]:
    ref = frames(60_000, seed=1)
    return ref, P.build_profile(ref, NUM, CAT)


def test_profile_is_json_and_describes_columns(data, tmp_path) -> None:
    ref, prof = data
    text = json.dumps(prof, allow_nan=False)  # strict JSON: no NaN / inf anywhere
    assert len(text) < 200_000
    cont = prof["columns"]["cont"]
    finite = ref["cont"][np.isfinite(ref["cont"])]
    assert cont["type"] == "num" and cont["count"] == finite.size and cont["rows"] == len(ref)
    assert cont["inf_count"] == 2
    assert cont["null_rate"] == pytest.approx(ref["cont"].isna().mean())
    assert cont["std"] == pytest.approx(float(np.std(finite)), rel=1e-12)
    assert cont["quantiles"]["p50"] == pytest.approx(float(np.quantile(finite, 0.5)))
    assert sum(cont["histogram"]["counts"]) == finite.size
    assert "sketch" in cont and "values" not in cont
    assert "values" in prof["columns"]["ints"] and "values" in prof["columns"]["few"]
    plan = prof["columns"]["plan"]
    assert plan["type"] == "cat" and plan["other_count"] == 0 and sorted(plan["values"]) == ["basic", "plus", "pro"]
    assert prof["sample"] == {"rows": 10_000, "complete": False, "seed": 42}
    path = tmp_path / "profile.json"
    P.save_profile(prof, path)
    assert P.load_profile(path) == prof


def test_reference_sample_is_bounded_and_seeded() -> None:
    ref = frames(30_000, seed=4)
    a = P.reference_sample(ref, max_rows=1000, seed=1)
    b = P.reference_sample(ref, max_rows=1000, seed=1)
    c = P.reference_sample(ref, max_rows=1000, seed=2)
    assert len(a) == 1000 and a.equals(b) and not a.equals(c)
    assert read_parquet_frame(frame_to_parquet(a)).equals(a)


def test_profile_errors(tmp_path) -> None:
    ref = frames(2000, seed=4)
    with pytest.raises(DataError, match="not in the reference"):
        P.build_profile(ref, ["nope"], [])
    with pytest.raises(ConfigError, match="both numeric and categorical"):
        P.build_profile(ref, ["cont"], ["cont"])
    with pytest.raises(ConfigError, match="levels"):
        P.build_profile(ref, NUM, CAT, levels=5)
    with pytest.raises(ConfigError, match="sample_rows"):
        P.build_profile(ref, NUM, CAT, sample_rows=1000)
    with pytest.raises(DataError, match="no finite values"):
        P.build_profile(pd.DataFrame({"x": [np.nan, np.inf]}), ["x"], [])
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**P.build_profile(ref, NUM, CAT), "version": 0}))
    with pytest.raises(DataError, match="unsupported profile version 0"):
        P.load_profile(path)


def test_categorical_keys_that_json_cannot_hold_are_stringified() -> None:
    data = pd.DataFrame({"when": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-01"])})
    col = P.build_profile(data, [], ["when"])["columns"]["when"]
    assert col["stringified"] and sorted(col["values"]) == ["2026-01-01 00:00:00", "2026-01-02 00:00:00"]
    json.dumps(col, allow_nan=False)
