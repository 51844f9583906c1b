"""Feature and prediction drift of a window against the champion's reference."""

from __future__ import annotations

import pytest

from include.contracts import Column, Dataset
from include.errors import DataError
from include.monitor.drift_check import (
    check_drift,
    check_drift_of_day,
    drift_lines,
    prediction_drift,
    raise_for_dataset_drift,
)
from include.monitor.quality import check_quality
from include.monitor.reference import load_reference
from tests.unit.monitor.conftest import BROKEN_DS, CLEAN_DS, DRIFT_DS, MODEL, ROWS

SHIFTED = {"monthly_charges", "days_since_last_login", "payment_method", "region"}


@pytest.fixture(scope="module")
def reference(world):
    return load_reference(world.registry, world.config)


@pytest.fixture(scope="module")
def drifted(world, reference):
    return check_drift(world.storage, world.registry, world.config, reference, DRIFT_DS)


def test_a_clean_day_does_not_drift(world, reference) -> None:
    result = check_drift(world.storage, world.registry, world.config, reference, CLEAN_DS)
    assert (result["model"], result["ds"], result["window"]) == (MODEL, CLEAN_DS, "2026-02-10..2026-02-11")
    assert result["champion_version"] == world.version
    features = result["features"]
    assert features["n_columns"] == len(world.config.features.all)
    assert not features["dataset_drift"] and features["n_drifted"] <= 1
    assert all(c["n_current"] > 0 for c in features["columns"])
    assert result["prediction"] is None  # nothing scored in the window


def test_covariate_drift_is_found_on_the_shifted_columns(drifted) -> None:
    features = drifted["features"]
    assert set(features["drifted_columns"]) >= SHIFTED
    assert features["approximate"] == []  # the 3,000-row reference sample is complete: exact
    lines = drift_lines(drifted)
    assert lines[0].startswith(f"{MODEL} 2026-02-11..2026-02-12 vs champion v")
    assert f"{features['n_drifted']}/{features['n_columns']} features drifted" in lines[0]
    monthly = next(c for c in features["columns"] if c["column"] == "monthly_charges")
    assert (
        f"  monthly_charges: {monthly['stattest']} = {monthly['score']:.4g} (threshold {monthly['threshold']:g})"
        in lines
    )
    assert len(lines) == 1 + features["n_drifted"]


def test_fail_on_dataset_drift_names_the_columns(world, reference, drifted) -> None:
    features = drifted["features"]
    assert features["dataset_drift"] and features["share_drifted"] >= world.config.monitoring.drift_share
    with pytest.raises(DataError, match=r"2026-02-11\.\.2026-02-12: dataset drift, .*monthly_charges"):
        raise_for_dataset_drift(drifted)
    raise_for_dataset_drift(check_drift(world.storage, world.registry, world.config, reference, CLEAN_DS))


def test_prediction_drift_compares_published_scores_with_the_holdout(world, reference) -> None:
    import numpy as np
    import pandas as pd

    from include.platform.partitions import publish_frame
    from include.platform.storage import LocalStorage

    storage = LocalStorage(world.root / "scored")
    same = pd.DataFrame({Column.SCORE: np.random.default_rng(9).beta(2, 5, ROWS)})
    publish_frame(storage, Dataset.PREDICTIONS, MODEL, CLEAN_DS, same)
    shifted = pd.DataFrame({Column.SCORE: np.random.default_rng(9).beta(5, 2, ROWS)})
    publish_frame(storage, Dataset.PREDICTIONS, MODEL, DRIFT_DS, shifted)
    calm = prediction_drift(storage, world.registry, world.config, reference, CLEAN_DS)
    moved = prediction_drift(storage, world.registry, world.config, reference, DRIFT_DS)
    assert calm is not None and moved is not None
    assert (calm["rows"], calm["stattest"], calm["drifted"]) == (ROWS, "wasserstein", False)
    assert moved["drifted"] and moved["score"] > calm["score"]
    assert prediction_drift(storage, world.registry, world.config, reference, "2026-02-20") is None


def test_check_drift_of_day_uses_the_champion_and_skips_broken_data(world, reference) -> None:
    quality = check_quality(world.storage, world.registry, world.config, reference, BROKEN_DS)
    assert quality["failed"]
    assert check_drift_of_day(world.storage, world.registry, world.config, BROKEN_DS, quality=quality) is None
    result = check_drift_of_day(world.storage, world.registry, world.config, CLEAN_DS)
    assert result is not None and result["champion_version"] == world.version
    given = check_drift_of_day(world.storage, world.registry, world.config, CLEAN_DS, reference=reference)
    assert given == result
