"""A/B tests in batch: who is in which arm, how many outcomes are needed, and the decision.

The Airflow-free statistics of a challenger tested against the champion on live traffic with
delayed outcomes:

``include/platform/assignment.py``
    each entity's arm from a salted hash of its id (stable across days and runs, balanced; also
    who is in a canary, so it lives where batch scoring can use it);
``hypothesis``
    what is tested: superiority, or non-inferiority within a margin, at ``alpha`` and ``power``;
``power``
    the outcomes each arm needs for the minimum detectable effect, computed before the test;
``stattests``
    one small module per test, registered by name: the two-proportion z-test and the bootstrap
    for classification outcomes, Welch's t-test for regression errors;
``decision``
    promote, reject or keep running, at a fixed horizon;
``plan``
    the hypothesis and the plan of a model config's ``deploy.ab_*`` (baseline from the champion's
    hold-out when not set);
``outcomes``
    each arm's outcomes: the published rows of the test's dates joined to the labels that arrived.

``include/deploy/ab.py`` runs them in the promote DAG (``deploy.strategy: ab``).

No peeking inflation: the test runs at a **fixed horizon**. Until both arms hold the planned
number of outcomes, the decision is ``keep_running`` whatever the data say, and the p-value is
not acted on; at the horizon the test is made once, at level ``alpha``. Looking at the numbers
in between is harmless because nothing is decided on them (``tests/unit/deploy/
test_experiment_simulation.py`` measures the false-positive rate of both ways).
"""

from __future__ import annotations

from include.deploy.experiment.decision import KEEP_RUNNING, PROMOTE, REJECT, ExperimentDecision, decide_experiment
from include.deploy.experiment.hypothesis import NON_INFERIORITY, SUPERIORITY, Hypothesis
from include.deploy.experiment.power import SampleSizePlan, plan_means, plan_proportions
from include.deploy.experiment.stattests import (
    ArmComparison,
    compare,
    experiment_test_names,
    get_experiment_test,
    register_experiment_test,
)
from include.platform.assignment import CONTROL, TREATMENT, arm_of, assign_arms, bucket

__all__ = [
    "CONTROL",
    "KEEP_RUNNING",
    "NON_INFERIORITY",
    "PROMOTE",
    "REJECT",
    "SUPERIORITY",
    "TREATMENT",
    "ArmComparison",
    "ExperimentDecision",
    "Hypothesis",
    "SampleSizePlan",
    "arm_of",
    "assign_arms",
    "bucket",
    "compare",
    "decide_experiment",
    "experiment_test_names",
    "get_experiment_test",
    "plan_means",
    "plan_proportions",
    "register_experiment_test",
]
