"""The scoring row policies of a model config (issue 11): defaults, every allowed value, and the
YAML sample documenting them."""

from __future__ import annotations

import copy

import pytest
import yaml

from include.config import ConfigError, load_config, parse_config
from include.config.sections import SCORING_POLICIES, ScoringConfig
from tests.unit.test_config import CHURN_YAML, write_config

pytestmark = pytest.mark.unit


def test_defaults_score_and_flag_keep_the_latest_duplicate_and_allow_a_day_of_slack():
    scoring = ScoringConfig()
    assert (scoring.out_of_range, scoring.unseen_category, scoring.duplicates) == ("flag", "flag", "keep_latest")
    assert scoring.timestamp_tolerance_hours == 24
    assert {name: getattr(scoring, name) for name in SCORING_POLICIES} == {
        name: choices[0] for name, choices in SCORING_POLICIES.items()
    }


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, vs in SCORING_POLICIES.items() for v in vs])
def test_every_policy_value_loads(key, value):
    data = yaml.safe_load(CHURN_YAML.read_text())
    data["scoring"][key] = value
    assert getattr(parse_config(data, "x.yaml").scoring, key) == value


def test_the_sample_config_states_the_defaults():
    data = yaml.safe_load(CHURN_YAML.read_text())["scoring"]
    defaults = ScoringConfig()
    for key in (*SCORING_POLICIES, "timestamp_tolerance_hours"):
        assert data[key] == getattr(defaults, key), key


def test_a_bad_policy_names_the_file_and_the_field(tmp_path):
    data = copy.deepcopy(yaml.safe_load(CHURN_YAML.read_text()))
    data["scoring"]["duplicates"] = "latest"
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: scoring.duplicates: must be one of ['keep_latest', 'quarantine', 'fail'], got 'latest'"
    )
