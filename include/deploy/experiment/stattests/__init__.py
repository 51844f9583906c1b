"""The tests an experiment can use, one small module each, registered by name (as evidently's
stattests): ``two_proportion_z`` and ``bootstrap`` for classification outcomes (0/1 per entity),
``welch_t`` for regression errors. ``compare(name, control, treatment, hypothesis)`` runs one.

Every test returns an ``ArmComparison``: the improvement of treatment over control in the
metric's good direction, its two-sided ``1 - 2 alpha`` confidence interval (so "lower bound above
the null" and "one-sided p below alpha" say the same), and the one-sided p-value against the
hypothesis's null.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from include.deploy.experiment.hypothesis import Hypothesis
from include.deploy.experiment.stattests.comparison import ArmComparison
from include.errors import ConfigError

StatTest = Callable[[np.ndarray, np.ndarray, Hypothesis], ArmComparison]
_REGISTRY: dict[str, StatTest] = {}


def register_experiment_test(name: str) -> Callable[[StatTest], StatTest]:
    def add(test: StatTest) -> StatTest:
        _REGISTRY[name] = test
        return test

    return add


def get_experiment_test(name: str) -> StatTest:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown experiment test {name!r}; known: {', '.join(experiment_test_names())}") from None


def experiment_test_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def compare(name: str, control: np.ndarray, treatment: np.ndarray, hypothesis: Hypothesis) -> ArmComparison:
    """Run test ``name`` on the per-entity outcomes of both arms."""
    control, treatment = np.asarray(control, dtype=float), np.asarray(treatment, dtype=float)
    if len(control) < 2 or len(treatment) < 2:
        raise ConfigError(f"each arm needs at least 2 outcomes, got {len(control)} and {len(treatment)}")
    return get_experiment_test(name)(control, treatment, hypothesis)


def _load_builtin() -> None:
    # Importing the modules registers them (kept out of module import so each stays independent).
    from include.deploy.experiment.stattests import bootstrap, two_proportion_z, welch_t  # noqa: F401


__all__ = [
    "ArmComparison",
    "StatTest",
    "compare",
    "experiment_test_names",
    "get_experiment_test",
    "register_experiment_test",
]
