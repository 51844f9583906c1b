"""``anderson``, the one-file drift test of docs/extending.md: registered by dropping the file
into the folder, agrees with evidently 0.7.23's ``anderson``, and a model can name it."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("evidently")

from include.monitor.drift import detect
from include.monitor.drift.stattests import STATTESTS, stattest_names
from include.monitor.drift.stattests.anderson import anderson
from tests.unit.monitor.drift.stattests._cases import assert_matches_evidently, cases_for, rng


@pytest.mark.parametrize(("ref", "cur", "ctype"), cases_for("anderson"))
def test_matches_evidently(ref: pd.Series, cur: pd.Series, ctype: str) -> None:
    assert_matches_evidently("anderson", ref, cur, ctype)


def test_registered_by_being_in_the_folder() -> None:
    # stattests/__init__.py names no "anderson": importing the package found the file.
    assert "anderson" in stattest_names()
    assert STATTESTS["anderson"].display_name == "Anderson-Darling"
    r = rng(3)
    assert anderson(r.normal(size=800), r.normal(size=800))[1] is False
    assert anderson(r.normal(size=800), r.normal(0.4, size=800))[1] is True


def test_a_model_names_it_for_one_column() -> None:
    r = rng(5)
    reference = pd.DataFrame({"a": r.normal(size=1500), "b": r.normal(size=1500)})
    current = pd.DataFrame({"a": r.normal(0.5, size=1500), "b": r.normal(size=1500)})
    # In a model YAML: monitoring.stattests: {a: {stattest: anderson, threshold: 0.05}}
    overrides = {"a": {"stattest": "anderson", "threshold": 0.05}}
    report = detect.dataset_drift(reference, current, numeric=["a", "b"], categorical=[], overrides=overrides)
    assert report.column("a").stattest == "anderson" and report.column("a").drifted
    assert report.column("b").stattest == "wasserstein"  # the default choice for the others


def test_refuses_a_categorical_column() -> None:
    with pytest.raises(ValueError, match="isn't applicable to feature of type cat"):
        anderson(["a", "b"], ["a", "b"], column_type="cat")
