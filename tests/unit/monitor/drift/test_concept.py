"""Concept-drift detection on error streams, checked on river's synthetic streams and sample data.

Controls: a concept-only change (SEA variant 0 -> 3 through ``ConceptDriftStream``) leaves the
features' distribution alone but makes a model trained before it wrong more often, and every
detector must flag it after the change and within a bounded number of rows; a RandomRBF seed
swap moves the features themselves (the feature-drift side's positive control).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from river.datasets import synth
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression

from include.monitor.drift.concept import (
    DEFAULT_PARAMS,
    DETECTORS,
    ConceptDriftError,
    detect_concept_drift,
    detection_delay,
)

# -- river synthetic streams --------------------------------------------------------------------

POSITION = 5000  # ConceptDriftStream: centre of the change (rows)
WIDTH = 50  # the change is complete within ~WIDTH rows either side
TRAIN = 2000  # rows the model is fitted on (all before the change)
TOTAL = 9000
MAX_DELAY = 2000


def take(stream, n):
    rows = list(itertools.islice(stream, n))
    X = np.array([[x[k] for k in sorted(x)] for x, _ in rows], dtype=float)
    y = np.array([int(label) for _, label in rows])
    return X, y


@functools.lru_cache(maxsize=4)
def sea_concept_drift(seed: int):
    """SEA variant 0 (x1 + x2 <= 8) -> variant 3 (<= 9.5) with 10% label noise, and the 0/1
    errors of a logistic regression fitted on the first TRAIN rows, on the rows after them."""
    stream = synth.ConceptDriftStream(
        stream=synth.SEA(variant=0, noise=0.1, seed=seed),
        drift_stream=synth.SEA(variant=3, noise=0.1, seed=seed + 100),
        position=POSITION,
        width=WIDTH,
        seed=seed,
    )
    X, y = take(stream, TOTAL)
    model = LogisticRegression().fit(X[:TRAIN], y[:TRAIN])
    errors = (model.predict(X[TRAIN:]) != y[TRAIN:]).astype(int)
    return X, y, errors


SEA_CHANGE = POSITION - TRAIN  # index of the change in the error stream


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concept_only_change_leaves_the_features_alone(seed):
    X, _, errors = sea_concept_drift(seed)
    before, after = X[: POSITION - WIDTH], X[POSITION + WIDTH :]
    for j in range(X.shape[1]):
        assert ks_2samp(before[:, j], after[:, j]).pvalue > 0.01, f"feature {j} moved"
        # Uniform on [0, 10]: the standard error of the difference of means is ~0.06.
        assert abs(before[:, j].mean() - after[:, j].mean()) < 0.25
    # ...yet the model trained before the change is wrong much more often after it.
    assert errors[: SEA_CHANGE - WIDTH].mean() < 0.13
    assert errors[SEA_CHANGE + WIDTH :].mean() > errors[: SEA_CHANGE - WIDTH].mean() + 0.07


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("detector", DETECTORS)
def test_detectors_flag_the_sea_concept_change_after_it_and_within_bounds(detector, seed):
    _, _, errors = sea_concept_drift(seed)
    result = detect_concept_drift(errors, detector)
    # 3,000 stationary rows (~11% error): no alarm. Measured first detections after the change:
    # adwin 263-679, page_hinkley 487-976, ddm 341-1008 rows over seeds 0-7.
    assert [i for i in result.detections if i < SEA_CHANGE - WIDTH] == []
    delay = detection_delay(result, SEA_CHANGE)
    assert delay is not None and delay <= MAX_DELAY, result.to_dict()
    assert result.first_detection >= SEA_CHANGE
    assert result.directions[0] == "up" and result.drift_detected
    assert result.mean_after_first > result.mean_before_first


def test_random_rbf_seed_swap_moves_the_feature_distributions():
    """Positive control for feature drift: other centroids, other feature distributions."""
    stream = synth.ConceptDriftStream(
        stream=synth.RandomRBF(seed_model=1, seed_sample=1),
        drift_stream=synth.RandomRBF(seed_model=2, seed_sample=2),
        position=3000,
        width=20,
        seed=0,
    )
    X, _ = take(stream, 6000)
    before, after = X[:2900], X[3100:]
    pvalues = [ks_2samp(before[:, j], after[:, j]).pvalue for j in range(X.shape[1])]
    assert sum(p < 0.001 for p in pvalues) >= 5, pvalues  # measured: 10 of 10 features
    # Control of the control: the same centroids sampled with another seed do not move.
    other, _ = take(synth.RandomRBF(seed_model=1, seed_sample=7), 3000)
    same = [ks_2samp(before[:, j], other[:, j]).pvalue for j in range(X.shape[1])]
    assert sum(p < 0.001 for p in same) == 0, same


# -- each detector on Bernoulli error streams ----------------------------------------------------

# Rows from an abrupt error-rate jump to the first detection: bounds above the largest delays
# measured over 40 streams (listed in the docstring of include/monitor/drift/concept.py).
JUMP_BOUNDS = {  # detector: (15% -> 50%, 15% -> 30%)
    "adwin": (250, 1000),
    "page_hinkley": (300, 1000),
    "ddm": (800, 2200),
}


def bernoulli(seed, *segments):
    rng = np.random.default_rng(seed)
    return np.concatenate([(rng.random(n) < p).astype(int) for n, p in segments])


@pytest.mark.parametrize("detector", DETECTORS)
def test_stationary_error_stream_raises_no_alarm(detector):
    # Measured: no detection in 10 x 100,000 rows at 5%, 15% and 30% error with the defaults.
    for seed in range(4):
        for rate in (0.05, 0.15, 0.3):
            result = detect_concept_drift(bernoulli([seed, int(rate * 100)], (20_000, rate)), detector)
            assert result.detections == [], (seed, rate, result.detections)
            assert result.mean_error == pytest.approx(rate, abs=0.01)


@pytest.mark.parametrize("detector", DETECTORS)
def test_abrupt_error_jump_is_detected_within_bounds(detector):
    for bound, high in zip(JUMP_BOUNDS[detector], (0.5, 0.3), strict=True):
        delays = []
        for seed in range(5):
            result = detect_concept_drift(bernoulli([seed, 99], (3000, 0.15), (4000, high)), detector)
            assert all(i >= 3000 for i in result.detections), result.detections  # nothing before
            delays.append(detection_delay(result, 3000))
        assert all(d is not None and d <= bound for d in delays), (high, delays)


def test_adwin_reports_the_direction_and_works_on_absolute_errors():
    improving = detect_concept_drift(bernoulli(3, (3000, 0.5), (3000, 0.15)), "adwin")
    assert improving.detections and set(improving.directions) == {"down"}
    assert not improving.drift_detected and improving.first_increase is None
    # Regression: absolute errors (|N(0, 1)|, then |N(0, 2)|).
    rng = np.random.default_rng(4)
    abs_errors = np.abs(np.concatenate([rng.normal(0, 1, 4000), rng.normal(0, 2, 2000)]))
    result = detect_concept_drift(abs_errors, "adwin")
    assert result.first_increase is not None and 4000 <= result.first_increase <= 4300
    assert [i for i in result.detections if i < 4000] == []


def test_ddm_rejects_a_non_binary_stream():
    with pytest.raises(ConceptDriftError, match=r"ddm takes a binary error stream .* got 0\.5 at index 2"):
        detect_concept_drift([0, 1, 0.5, 0], "ddm")
    # Booleans are binary; 0/1 floats too.
    assert detect_concept_drift([True, False, False], "ddm").n == 3
    assert detect_concept_drift(np.array([0.0, 1.0]), "ddm").n == 2


def test_bad_input_and_parameters_are_refused_by_name():
    with pytest.raises(ConceptDriftError, match=r"NaN or infinite .*first at index 1"):
        detect_concept_drift([0.0, float("nan")], "adwin")
    with pytest.raises(ConceptDriftError, match="unknown concept drift detector 'kswin'"):
        detect_concept_drift([0, 1], "kswin")
    with pytest.raises(ConceptDriftError, match=r"unknown parameter\(s\) \['treshold'\]"):
        detect_concept_drift([0, 1], "page_hinkley", treshold=3)
    with pytest.raises(ConceptDriftError, match="invalid parameters"):
        detect_concept_drift([0, 1], "page_hinkley", mode="sideways")
    with pytest.raises(ConceptDriftError, match="one-dimensional"):
        detect_concept_drift([[0, 1]], "adwin")


def test_parameters_override_the_defaults_and_the_result_is_json_ready():
    result = detect_concept_drift(bernoulli(5, (3000, 0.15), (1000, 0.5)), "ph", threshold=40.0)
    assert result.detector == "page_hinkley"
    assert result.params == {**DEFAULT_PARAMS["page_hinkley"], "threshold": 40.0}
    body = json.loads(json.dumps(result.to_dict()))
    assert body["first_detection"] == result.detections[0] and body["drift_detected"] is True
    empty = detect_concept_drift([], "adwin")
    assert empty.n == 0 and empty.first_detection is None and empty.mean_error is None


def test_river_page_hinkley_defaults_would_alarm_on_a_stationary_stream():
    """Why the Page-Hinkley defaults differ from river's (alpha < 1 forgets the negative drift)."""
    river_defaults = {"min_instances": 30, "delta": 0.005, "threshold": 50.0, "alpha": 1 - 0.0001, "mode": "both"}
    alarms = [
        len(detect_concept_drift(bernoulli([seed, 15], (20_000, 0.15)), "page_hinkley", **river_defaults).detections)
        for seed in range(6)
    ]
    ours = [
        len(detect_concept_drift(bernoulli([seed, 15], (20_000, 0.15)), "page_hinkley").detections) for seed in range(6)
    ]
    assert sum(alarms) >= 2 and sum(ours) == 0, (alarms, ours)


# -- the project's own sample data ---------------------------------------------------------------


def test_sample_data_concept_drift_is_caught_from_scored_predictions(tmp_path):
    """write_sample_data(concept_drift_from=...) -> scored predictions -> late labels -> detectors."""
    from include.dev.sample_data import (
        ENTITY_ID,
        TIMESTAMP,
        generate_frames,
        write_sample_data,
    )
    from include.ml.evaluation import predict_scores
    from include.ml.performance import error_stream, load_scored_labels
    from include.ml.training import fit
    from include.platform.partitions import publish_frame, read_partition
    from include.platform.storage import LocalStorage
    from tests.unit.conftest import linear_churn_config

    config = linear_churn_config()
    start, drift_day = dt.date(2026, 1, 1), dt.date(2026, 1, 15)
    storage = LocalStorage(tmp_path)
    options = {"rows_per_day": 800, "customers": 3000}
    write_sample_data(storage, start=start, days=24, label_delay_days=3, concept_drift_from=drift_day, **options)
    features, labels = generate_frames(start, 7, **options)
    model = fit(config, features.merge(labels, on=[ENTITY_ID, TIMESTAMP]))
    for offset in range(7, 20):
        ds = start + dt.timedelta(days=offset)
        frame = read_partition(storage, "features", "churn", ds)
        scores = predict_scores(config, model, frame)
        out = frame[[ENTITY_ID, TIMESTAMP]].assign(
            prediction=(scores >= 0.5).astype("int8"), score=scores, model_name="churn", model_version="1", run_id="r"
        )
        publish_frame(storage, "predictions", "churn", ds, out)
    joined = load_scored_labels(storage, config, start + dt.timedelta(days=7), start + dt.timedelta(days=20))
    assert joined.attrs["join"]["predictions_without_label"] == 0
    errors = error_stream(joined, config)
    change = int((joined[TIMESTAMP] < pd.Timestamp(drift_day, tz="UTC")).sum())  # joined is time-ordered
    assert change == 7 * 800
    for detector in DETECTORS:
        result = detect_concept_drift(errors, detector)
        # Measured: adwin 191, page_hinkley 170, ddm 575 rows after the drift day's first row.
        assert [i for i in result.detections if i < change] == [], (detector, result.detections)
        delay = detection_delay(result, change)
        assert delay is not None and delay <= 1600, (detector, result.to_dict())  # within two days of rows
