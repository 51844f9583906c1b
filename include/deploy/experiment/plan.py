"""An A/B test's hypothesis and sample-size plan from a model config (``deploy.ab_*``).

The outcome of one published prediction, once its label arrived, is what both arms are compared
on: for a classifier 1 when the predicted class was right and 0 otherwise (a success rate,
higher is better), for a regressor the absolute error (lower is better). The plan needs the
champion's level of it (``deploy.ab_baseline``); empty, it comes from the champion's hold-out
metrics in MLflow: its accuracy, or the standard deviation of its absolute error,
``sqrt(rmse^2 - mae^2)``. The plan depends only on the config and the champion, so every promote
run computes the same numbers, and the first one records them (``ml_ab_decisions``) before any
outcome is looked at.
"""

from __future__ import annotations

import math

from include.config import ModelConfig
from include.config.experiment import BASELINE_METRICS, ab_test_name
from include.deploy.experiment.hypothesis import Hypothesis
from include.deploy.experiment.power import SampleSizePlan, plan_means, plan_proportions
from include.errors import ConfigError

HOLDOUT_PREFIX = "holdout_"


def outcome_name(config: ModelConfig) -> str:
    """What one labelled prediction contributes to its arm."""
    return "success rate" if config.task == "classification" else "absolute error"


def experiment_hypothesis(config: ModelConfig) -> Hypothesis:
    d = config.deploy
    return Hypothesis(
        kind=d.ab_hypothesis,
        alpha=d.ab_alpha,
        power=d.ab_power,
        margin=d.ab_margin,
        higher_is_better=config.task == "classification",
    )


def baseline_of(config: ModelConfig, champion_metrics: dict[str, float], champion: str | None = None) -> float:
    """``deploy.ab_baseline``, else derived from the champion's hold-out metrics."""
    if config.deploy.ab_baseline is not None:
        return float(config.deploy.ab_baseline)
    names = BASELINE_METRICS[config.task]
    found = [champion_metrics.get(HOLDOUT_PREFIX + n) for n in names]
    values = [float(v) for v in found if v is not None and math.isfinite(v)]
    if len(values) < len(names):
        raise ConfigError(
            f"{config.source}: deploy.ab_baseline is empty and the champion v{champion}'s training run has no "
            f"{' / '.join(HOLDOUT_PREFIX + n for n in names)} metric (trained before evaluation.metrics listed it): "
            "set ab_baseline, or retrain the champion"
        )
    if config.task == "classification":
        return values[0]
    rmse, mae = values
    return math.sqrt(max(rmse**2 - mae**2, 1e-12))  # std of |error|: E[e^2] - E[|e|]^2


def plan_experiment(
    config: ModelConfig, champion_metrics: dict[str, float], champion: str | None = None
) -> SampleSizePlan:
    """The outcomes each arm needs before the one test is made."""
    d = config.deploy
    hypothesis = experiment_hypothesis(config)
    baseline = baseline_of(config, champion_metrics, champion)
    effect = float(d.ab_min_detectable_effect if d.ab_min_detectable_effect is not None else 0.0)
    if config.task == "classification":
        return plan_proportions(baseline, effect, hypothesis, d.ab_treatment_share)
    return plan_means(baseline, effect, hypothesis, d.ab_treatment_share)


def experiment_test_of(config: ModelConfig) -> str:
    """The registered test the config names (or its task's default)."""
    return ab_test_name(config.deploy, config.task)
