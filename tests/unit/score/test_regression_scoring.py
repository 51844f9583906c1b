"""Batch scoring of the regression sample model (delivery_time, issue 11): the score histogram
is binned over the hold-out's prediction range (stored in the scoring contract), the manifest's
quantiles lie inside the real prediction range instead of being clipped to [0, 1], and a shadow
row agrees when the challenger is within ``deploy.agreement_tolerance`` of the champion."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from include.config import load_config
from include.dev.delivery_data import generate_delivery_day
from include.ml.contract import scoring_contract
from include.ml.evaluation import predict_scores
from include.ml.training import fit, split_holdout
from include.platform import partitions as P
from include.platform.registry import ModelRef
from include.platform.storage import LocalStorage
from include.score.plan import plan
from include.score.publish import publish
from include.score.summary import SCORE_BINS
from include.score.unit import score_unit, shadow_chunk
from include.score.writer import PartWriter
from tests.unit.conftest import DELIVERY_YAML

DS = "2026-01-20"
CHAMPION = ModelRef("delivery_time", "1", "run-1")


@pytest.fixture(scope="module")
def config():
    config = load_config(DELIVERY_YAML)
    estimator = dataclasses.replace(config.estimator, params={**config.estimator.params, "max_iter": 30})
    return dataclasses.replace(config, estimator=estimator, scoring=dataclasses.replace(config.scoring, chunk_rows=300))


@pytest.fixture(scope="module")
def trained(config):
    days = [generate_delivery_day(f"2026-01-{d:02d}", rows_per_day=300) for d in range(1, 8)]
    features = pd.concat([f for f, _ in days], ignore_index=True)
    labels = pd.concat([lab for _, lab in days], ignore_index=True)
    frame = features.merge(labels, on=[config.entity_id, config.timestamp])
    train, holdout = split_holdout(config, frame)
    model = fit(config, train)
    return model, scoring_contract(config, train, predict_scores(config, model, holdout))


def test_the_contract_stores_the_holdout_prediction_range(config, trained):
    _, contract = trained
    assert 10 < contract["score_min"] < 30 < contract["score_max"] < 150  # minutes, not probabilities


def test_manifest_quantiles_lie_in_the_real_prediction_range(tmp_path, config, trained):
    model, contract = trained
    storage = LocalStorage(tmp_path)
    P.publish_frame(storage, "features", config.name, DS, generate_delivery_day(DS, rows_per_day=900)[0])
    units = plan(storage, config, [DS])
    stats = [score_unit(storage, config, u, (CHAMPION, model), contract, run_id="manual__r") for u in units]
    result = publish(storage, config, units, stats, contract, CHAMPION, run_id="manual__r")
    summary = P.read_manifest(storage, "predictions", config.name, DS).meta["summary"]
    assert summary["score_p50"] == result["dates"][DS]["score_p50"]  # the manifest stores the published summary
    scores = P.read_partition(storage, "predictions", config.name, DS)["score"].to_numpy()
    assert summary["score_range"] == [contract["score_min"], contract["score_max"]]
    assert (summary["score_min"], summary["score_max"]) == (scores.min(), scores.max())
    assert sum(summary["histogram"]) + summary["score_underflow"] + summary["score_overflow"] == len(scores) == 900
    width = (contract["score_max"] - contract["score_min"]) / SCORE_BINS
    for q in (10, 25, 50, 75, 90):
        value = summary[f"score_p{q}"]
        assert scores.min() <= value <= scores.max()
        assert value == pytest.approx(np.quantile(scores, q / 100), abs=width)
    assert summary["score_p90"] - summary["score_p10"] > 5  # spread over minutes, not clipped to [0, 1]
    assert "positive_share" not in summary


class _Scaled:
    """A challenger whose predictions are the champion's times fixed factors (row by row)."""

    def __init__(self, model, factors):
        self.model, self.factors = model, factors

    def predict(self, features):
        return self.model.predict(features) * self.factors[: len(features)]


def test_shadow_agreement_is_the_share_within_the_relative_tolerance(tmp_path, config, trained):
    model, _ = trained
    rows = generate_delivery_day(DS, rows_per_day=200)[0]
    champion_scores = predict_scores(config, model, rows)
    # 100 rows 5% above the champion (agree at tolerance 0.1), 60 rows 20% below, 40 rows 9.9% below
    factors = np.array([1.05] * 100 + [0.8] * 60 + [0.901] * 40)
    shadow = {"version": "2", "rows": 0, "agree": 0, "abs_diff": 0.0, "errors": 0, "seconds": 0.0}
    writer = PartWriter(LocalStorage(tmp_path), "shadow/part-0.parquet")
    shadow_chunk(
        config,
        (ModelRef(config.name, "2", "run-2"), _Scaled(model, factors)),
        rows,
        champion_scores,
        writer,
        shadow,
        "r",
    )
    writer.abort()
    assert (shadow["rows"], shadow["agree"]) == (200, 140)
    strict = dataclasses.replace(config, deploy=dataclasses.replace(config.deploy, agreement_tolerance=0.01))
    shadow_strict = {**shadow, "rows": 0, "agree": 0, "abs_diff": 0.0}
    writer = PartWriter(LocalStorage(tmp_path), "shadow/part-1.parquet")
    shadow_chunk(
        strict,
        (ModelRef(config.name, "2", "run-2"), _Scaled(model, factors)),
        rows,
        champion_scores,
        writer,
        shadow_strict,
        "r",
    )
    writer.abort()
    assert shadow_strict["agree"] == 0
