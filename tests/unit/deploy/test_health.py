"""The champion's health-check verdict on its scores of the saved sample (real numpy arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from include.deploy.health import health_score_problems
from tests.unit.deploy.helpers import churn_config


@pytest.fixture(scope="module")
def config():
    return churn_config(health_tolerance=1e-6)


EXPECTED = np.array([0.1, 0.5, 0.9])


def test_reproduced_scores_are_healthy(config):
    problems, diff = health_score_problems(config, EXPECTED + 1e-9, EXPECTED)

    assert problems == [] and diff == pytest.approx(1e-9)


def test_scores_beyond_the_tolerance(config):
    problems, diff = health_score_problems(config, EXPECTED + 0.05, EXPECTED)

    assert diff == pytest.approx(0.05)
    assert problems == ["scores differ from training's by up to 0.05 (tolerance 1e-06)"]


def test_the_tolerance_comes_from_the_config():
    loose = churn_config(health_tolerance=0.1)
    assert health_score_problems(loose, EXPECTED + 0.05, EXPECTED)[0] == []


def test_non_finite_and_out_of_range_scores(config):
    problems, _ = health_score_problems(config, np.array([0.1, np.nan, 1.5]), EXPECTED)

    assert problems[:2] == ["non-finite scores", "scores outside [0, 1]"]


def test_a_missing_score_is_a_shape_problem(config):
    problems, diff = health_score_problems(config, EXPECTED[:2], EXPECTED)

    assert problems[0] == "2 scores for 3 rows" and diff == float("inf")
