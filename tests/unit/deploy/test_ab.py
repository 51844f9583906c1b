"""The A/B test's config checks, plan, outcomes and decisions (include/deploy/ab.py,
include/deploy/experiment/plan.py, outcomes.py, include/config/experiment.py) on known inputs."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from include.config import parse_config
from include.config.experiment import AB_TESTS
from include.config.notifications import Event
from include.deploy.ab import decide_ab, gathered_payload
from include.deploy.experiment import experiment_test_names
from include.deploy.experiment.decision import KEEP_RUNNING as AB_KEEP_RUNNING
from include.deploy.experiment.decision import PROMOTE as AB_PROMOTE
from include.deploy.experiment.decision import REJECT as AB_REJECT
from include.deploy.experiment.outcomes import ArmOutcomes, outcome_values
from include.deploy.experiment.plan import baseline_of, plan_experiment
from include.deploy.messages import promotion_note, promotion_reason
from include.errors import ConfigError
from include.notify.runbooks import runbook_file
from tests.unit.conftest import CHURN, DELIVERY_YAML, small_churn_config

AB = {"strategy": "ab", "ab_min_detectable_effect": 0.05, "ab_baseline": 0.7}
EVIDENCE = {"batches": 2, "rows": 800, "hours": 48.0, "dates": ["2026-02-02", "2026-02-03"], "agreement": 0.8,
            "error_rate": 0.0, "latency_ms_per_1k": 10.0}  # fmt: skip


def churn_with(**deploy):
    data = copy.deepcopy(CHURN)
    data["deploy"] = {**data.get("deploy", {}), **deploy}
    return parse_config(data, source="models/churn.yaml")


def delivery_with(**deploy):
    data = yaml.safe_load(DELIVERY_YAML.read_text())
    data["deploy"] = {**data.get("deploy", {}), **deploy}
    return parse_config(data, source="models/delivery_time.yaml")


@pytest.mark.parametrize(
    ("deploy", "field", "says"),
    [
        ({"strategy": "ab", "ab_baseline": 0.7}, "deploy.ab_min_detectable_effect", "strategy ab needs"),
        ({**AB, "ab_treatment_share": 1.0}, "deploy.ab_treatment_share", "between 0 and 1"),
        ({**AB, "ab_hypothesis": "better"}, "deploy.ab_hypothesis", "superiority"),
        ({**AB, "ab_hypothesis": "non_inferiority"}, "deploy.ab_margin", "needs a margin > 0"),
        ({**AB, "ab_alpha": 0.5}, "deploy.ab_alpha", "one-sided"),
        ({**AB, "ab_test": "welch_t"}, "deploy.ab_test", "classification model's outcome is tested with"),
        ({**AB, "ab_baseline": None}, "deploy.ab_baseline", "evaluation.metrics lacks ['accuracy']"),
        ({**AB, "ab_baseline": 1.5}, "deploy.ab_baseline", "success rate below 1"),
    ],
)
def test_a_bad_ab_setting_names_the_file_and_the_field(deploy, field, says):
    with pytest.raises(ConfigError) as error:
        churn_with(**deploy)
    assert f"models/churn.yaml: {field}" in str(error.value) and says in str(error.value)


def test_the_tests_a_config_may_name_are_the_registered_ones():
    assert sorted({name for names in AB_TESTS.values() for name in names}) == experiment_test_names()


def test_the_baseline_comes_from_the_champions_holdout_when_not_set():
    data = copy.deepcopy(CHURN)
    data["evaluation"]["metrics"] = [*data["evaluation"]["metrics"], "accuracy"]
    data["deploy"] = {**AB, "ab_baseline": None}
    config = parse_config(data, source="models/churn.yaml")
    assert baseline_of(config, {"holdout_accuracy": 0.81}) == 0.81
    with pytest.raises(ConfigError, match=r"deploy.ab_baseline is empty and the champion v3's training run has no"):
        baseline_of(config, {"holdout_roc_auc": 0.8}, "3")
    delivery = delivery_with(strategy="ab", ab_min_detectable_effect=0.5)
    # std of |error| from rmse and mae: E[e^2] - E[|e|]^2.
    assert baseline_of(delivery, {"holdout_rmse": 5.0, "holdout_mae": 4.0}) == pytest.approx(3.0)
    plan = plan_experiment(delivery, {"holdout_rmse": 5.0, "holdout_mae": 4.0})
    assert plan.metric == "mean error" and plan.n_treatment == plan.n_control > 100


def test_outcomes_are_right_classes_or_absolute_errors():
    churn, delivery = small_churn_config(deploy=AB), delivery_with(strategy="ab", ab_min_detectable_effect=0.5)
    joined = pd.DataFrame({"prediction": [1, 0, 1], "score": [0.9, 0.2, 0.6], "churned": [1, 1, 1]})
    assert outcome_values(churn, joined).tolist() == [1.0, 0.0, 1.0]
    errors = pd.DataFrame({"prediction": [30.0, 10.0], "score": [30.0, 10.0], delivery.target: [25.0, 12.5]})
    assert outcome_values(delivery, errors).tolist() == [5.0, 2.5]


def _outcomes(control: np.ndarray, treatment: np.ndarray) -> ArmOutcomes:
    return ArmOutcomes(control, treatment, ["2026-02-02"], len(control) + len(treatment) + 10,
                       len(control) + len(treatment), 0)  # fmt: skip


def test_the_decision_waits_for_the_planned_outcomes_then_tests_once():
    config = small_churn_config(deploy=AB)
    plan = plan_experiment(config, {})
    rng = np.random.default_rng(7)
    short = _outcomes(rng.binomial(1, 0.7, 100).astype(float), rng.binomial(1, 0.9, 100).astype(float))
    waiting = decide_ab(config, EVIDENCE, plan, short)
    assert waiting["outcome"] == AB_KEEP_RUNNING and "(not acted on)" in waiting["reason"]  # even if p is tiny
    assert waiting["comparison"]["p_value"] < 0.05
    n = plan.n_treatment
    better = _outcomes(rng.binomial(1, 0.7, n).astype(float), rng.binomial(1, 0.8, n).astype(float))
    assert decide_ab(config, EVIDENCE, plan, better)["outcome"] == AB_PROMOTE
    nothing = decide_ab(config, {**EVIDENCE, "batches": 0, "dates": []}, plan, _outcomes(np.empty(0), np.empty(0)))
    assert (
        nothing["outcome"] == AB_KEEP_RUNNING and nothing["reason"] == "keep running: no date scored with the split yet"
    )
    erring = decide_ab(config, {**EVIDENCE, "error_rate": 0.1}, plan, short)
    assert erring["outcome"] == AB_REJECT and "error rate 0.1000, limit 0.0" in erring["reason"]


def test_what_the_promote_run_says_of_each_decision():
    config = small_churn_config(deploy=AB)
    plan = plan_experiment(config, {})
    rng = np.random.default_rng(8)
    n = plan.n_treatment
    same = _outcomes(rng.binomial(1, 0.7, n).astype(float), rng.binomial(1, 0.7, n).astype(float))
    rejected = gathered_payload("2", "1", EVIDENCE, decide_ab(config, EVIDENCE, plan, same))
    assert rejected["rejected"] and not rejected["verdict"]["ready"] and rejected["verdict"]["failed"] == ["ab_test"]
    note = promotion_note("churn", rejected, None, None)
    assert note.event == Event.AB_DECISION and note.subject == "A/B test rejected v2: every entity back to champion v1"
    assert note.body.splitlines()[0].startswith("A/B test v2 vs champion v1: reject: superiority not shown")
    assert "plan: " in note.body and f"{n:,} outcomes in the challenger's arm" in note.body
    short = _outcomes(np.ones(10), np.ones(12))
    running = gathered_payload("2", "1", EVIDENCE, decide_ab(config, EVIDENCE, plan, short))
    note = promotion_note("churn", running, None, None)
    assert runbook_file(note.alert) == "ab-decision.md"  # the info of a running test links its runbook
    assert (
        note.event == Event.INFO
        and note.subject == f"A/B test v2 keeps running: 12/{n:,} challenger and 10/{n:,} champion outcomes"
    )
    better = _outcomes(rng.binomial(1, 0.6, n).astype(float), rng.binomial(1, 0.85, n).astype(float))
    promoted = gathered_payload("2", "1", EVIDENCE, decide_ab(config, EVIDENCE, plan, better))
    assert promoted["verdict"]["ready"] and not promoted["rejected"]
    reason = promotion_reason({"frozen": False, "freeze_reason": None, "override_reason": None}, None,
                              promoted["experiment"])  # fmt: skip
    assert reason.startswith("A/B test promote: superiority shown, challenger ") and "one-sided p " in reason
    assert math.isfinite(promoted["experiment"]["comparison"]["ci_low"])
