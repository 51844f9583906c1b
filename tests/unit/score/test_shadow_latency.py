"""The challenger's shadow latency judges the model, not the machine (issue 12, finding 5): it is
measured as the retrain latency gate measures it (one thread, best of warm repeats on 1,000 rows),
so a scoring process that is stalled now and then (a busy machine) does not fail
``deploy.max_latency_ms_per_1k``, while the chunk's own wall time would have."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import pytest

from include.config import load_config
from include.dev.delivery_data import generate_delivery_day
from include.ml.evaluation import predict_scores
from include.ml.training import fit, split_holdout
from include.platform.registry import ModelRef
from include.platform.storage import LocalStorage
from include.score.unit import shadow_chunk
from include.score.writer import PartWriter
from tests.unit.conftest import DELIVERY_YAML

DS = "2026-01-20"
STALL_SECONDS = 0.5  # per call: 500 ms per 1,000 rows even for a 1,000-row sample, the default limit


@pytest.fixture(scope="module")
def config():
    config = load_config(DELIVERY_YAML)
    estimator = dataclasses.replace(config.estimator, params={**config.estimator.params, "max_iter": 20})
    return dataclasses.replace(config, estimator=estimator)


@pytest.fixture(scope="module")
def model(config):
    days = [generate_delivery_day(f"2026-01-{d:02d}", rows_per_day=300) for d in range(1, 6)]
    features = pd.concat([f for f, _ in days], ignore_index=True)
    labels = pd.concat([lab for _, lab in days], ignore_index=True)
    train, _ = split_holdout(config, features.merge(labels, on=[config.entity_id, config.timestamp]))
    return fit(config, train)


class _StalledEveryOtherCall:
    """The challenger on a busy machine: every odd call waits ``STALL_SECONDS`` first (the process
    lost its core); records how many threads the native thread pools allowed at each call."""

    def __init__(self, model):
        self.model, self.calls, self.threads = model, 0, []

    def predict(self, features):
        from threadpoolctl import threadpool_info

        self.calls += 1
        self.threads.append(max((pool["num_threads"] for pool in threadpool_info()), default=1))
        if self.calls % 2:
            time.sleep(STALL_SECONDS)
        return self.model.predict(features)


def test_a_stalled_machine_does_not_inflate_the_shadow_latency(tmp_path, config, model):
    rows = generate_delivery_day(DS, rows_per_day=200)[0]
    champion_scores = predict_scores(config, model, rows)
    challenger = _StalledEveryOtherCall(model)
    shadow = {"version": "2", "rows": 0, "agree": 0, "abs_diff": 0.0, "errors": 0, "seconds": 0.0}
    writer = PartWriter(LocalStorage(tmp_path), "shadow/part-0.parquet")
    shadow_chunk(config, (ModelRef(config.name, "2", "run-2"), challenger), rows, champion_scores, writer, shadow, "r")
    writer.abort()

    limit = config.deploy.max_latency_ms_per_1k
    # The chunk's wall time (the old measure) includes a stall: 200 rows in >= 0.5 s, far over the limit.
    assert shadow["seconds"] * 1e6 / shadow["rows"] >= STALL_SECONDS * 1e6 / 200 > limit
    # The measurement: a warm-up and five timed repeats, every one on a single thread; the best
    # repeat is an unstalled one, so the figure is the model's own and well under a stall.
    assert challenger.calls == 1 + 1 + 5
    assert challenger.threads[1:] == [1] * 6
    assert shadow["latency_ms_per_1k"] < STALL_SECONDS * 1000 == limit

    # Measured once per unit: the next chunk adds rows and wall time, not another measurement.
    measured = shadow["latency_ms_per_1k"]
    writer = PartWriter(LocalStorage(tmp_path), "shadow/part-1.parquet")
    shadow_chunk(config, (ModelRef(config.name, "2", "run-2"), challenger), rows, champion_scores, writer, shadow, "r")
    writer.abort()
    assert challenger.calls == 8 and shadow["rows"] == 400 and shadow["latency_ms_per_1k"] == measured
