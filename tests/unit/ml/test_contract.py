"""The scoring contract: written at training, read by scoring and monitoring."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from include.config import parse_config
from include.ml.contract import scoring_contract


def test_scoring_contract():
    config = parse_config(
        {
            "name": "tiny",
            "task": "classification",
            "entity_id": "id",
            "timestamp": "ts",
            "target": "y",
            "features": {"numeric": ["x"], "categorical": ["c"]},
        }
    )
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "ts": pd.date_range("2024-01-01", periods=5, tz="UTC"),
            "y": [0, 1, 0, 1, 0],
            "x": [1.0, 2.0, np.nan, 4.0, 101.0],
            "c": ["b", "a", None, "b", "c"],
        }
    )
    contract = scoring_contract(config, frame)
    assert json.loads(json.dumps(contract, allow_nan=False)) == contract
    assert contract["model"] == "tiny"
    assert contract["row_count"] == 5
    assert contract["columns"] == ["id", "ts", "x", "c"]
    x, c = contract["features"]["x"], contract["features"]["c"]
    assert x["kind"] == "numeric" and x["dtype"] == "float64"
    assert x["null_fraction"] == pytest.approx(0.2)
    assert (x["min"], x["max"]) == (1.0, 101.0)
    assert x["q01"] == pytest.approx(1.03) and x["q99"] == pytest.approx(98.09)
    assert "categories" not in x
    assert c == {
        "kind": "categorical",
        "dtype": "object",
        "null_fraction": 0.2,
        "categories": ["a", "b", "c"],
        "n_categories": 3,
    }


def test_scoring_contract_caps_categories_and_handles_empty_numeric():
    config = parse_config(
        {
            "name": "wide",
            "task": "regression",
            "entity_id": "id",
            "timestamp": "ts",
            "target": "y",
            "features": {"numeric": ["x"], "categorical": ["c"]},
            "evaluation": {"metrics": ["rmse"], "primary_metric": "rmse"},
        }
    )
    rows = 1500
    frame = pd.DataFrame(
        {
            "id": range(rows),
            "ts": pd.Timestamp("2024-01-01"),
            "y": 0.0,
            "x": np.nan,
            # "k0000" appears twice, so it is among the kept most frequent categories.
            "c": ["k0000", *(f"k{i:04d}" for i in range(rows - 1))],
        }
    )
    contract = scoring_contract(config, frame)
    json.dumps(contract, allow_nan=False)
    c = contract["features"]["c"]
    assert len(c["categories"]) == 1000 and c["n_categories"] == rows - 1
    assert c["categories"] == sorted(c["categories"]) and "k0000" in c["categories"]
    assert contract["features"]["x"] == {
        "kind": "numeric",
        "dtype": "float64",
        "null_fraction": 1.0,
        "min": None,
        "max": None,
        "q01": None,
        "q99": None,
    }
    with pytest.raises(ValueError, match="missing column"):
        scoring_contract(config, frame.drop(columns=["c"]))


def test_the_holdout_prediction_range_is_stored_when_given():
    """Batch scoring bins a regressor's scores over this range (include/score/summary.py)."""
    config = parse_config(
        {
            "name": "tiny",
            "task": "regression",
            "entity_id": "id",
            "timestamp": "ts",
            "target": "y",
            "features": {"numeric": ["x"]},
            "evaluation": {"metrics": ["rmse"], "primary_metric": "rmse"},
        }
    )
    frame = pd.DataFrame({"id": [1, 2], "ts": pd.date_range("2024-01-01", periods=2, tz="UTC"), "x": [1.0, 2.0]})
    contract = scoring_contract(config, frame, np.array([12.5, np.nan, 40.25, 18.0]))
    assert (contract["score_min"], contract["score_max"]) == (12.5, 40.25)  # NaN ignored
    assert json.loads(json.dumps(contract, allow_nan=False)) == contract
    assert "score_min" not in scoring_contract(config, frame)  # no scores: no range (scoring falls back)
