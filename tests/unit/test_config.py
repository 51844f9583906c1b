"""Model config loading and validation: every error names the file and the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.config import ConfigError, load_all, load_config, parse_config

PROJECT = Path(__file__).resolve().parents[2]
CHURN_YAML = PROJECT / "include" / "models" / "churn.yaml"


@pytest.fixture(scope="module")
def churn_dict() -> dict[str, Any]:
    return yaml.safe_load(CHURN_YAML.read_text())


def write_config(directory: Path, data: dict[str, Any], stem: str | None = None) -> Path:
    path = directory / f"{stem or data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- the sample config ------------------------------------------------------------------------


def test_sample_config_loads():
    config = load_config(CHURN_YAML)
    assert config.name == "churn"
    assert config.task == "classification"
    assert (config.entity_id, config.timestamp, config.target) == ("customer_id", "event_ts", "churned")
    assert len(config.features.numeric) == 10
    assert config.features.categorical == ["contract_type", "payment_method", "region", "plan_tier"]
    assert config.features.all == [*config.features.numeric, *config.features.categorical]
    assert config.evaluation.primary_metric == "roc_auc"
    assert config.evaluation.slice_column == "region"
    assert config.gates.min_metrics == {"roc_auc": 0.70, "average_precision": 0.30}
    assert config.higher_is_better["roc_auc"] is True
    assert config.higher_is_better["log_loss"] is False
    assert config.source == str(CHURN_YAML)
    assert [t.type for t in config.notifications] == ["log", "file"]
    assert all("." in name for name in config.skops_trusted_types)


def test_defaults_apply_when_sections_are_omitted():
    config = parse_config(
        {
            "name": "tiny",
            "task": "regression",
            "entity_id": "id",
            "timestamp": "ts",
            "target": "y",
            "features": {"numeric": ["x"]},
            "evaluation": {"metrics": ["rmse", "r2"], "primary_metric": "rmse"},
        }
    )
    assert config.training.window_days == 28
    assert config.training.dedupe == "latest"
    assert config.gates.max_regression == 0.01
    assert config.higher_is_better["rmse"] is False


# -- bad configs: ConfigError naming the file and the field -----------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets a dotted path in the config dict."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _rename_gates_key(data: dict[str, Any]) -> None:
    data["gates"]["min_metric"] = data["gates"].pop("min_metrics")


BAD_CONFIGS: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("unknown_top_level_key", _set("colour", "red"), ["colour", "unknown key"]),
    ("unknown_nested_key", _rename_gates_key, ["gates", "min_metric", "unknown key"]),
    ("unknown_features_key", _set("features.numerc", ["x"]), ["features", "numerc"]),
    ("missing_required_key", lambda d: d.pop("target"), ["missing required", "target"]),
    ("missing_features", lambda d: d.pop("features"), ["missing required", "features"]),
    ("target_missing_type", _set("notifications", [{"events": ["success"]}]), ["notifications[0]", "type"]),
    ("bad_task", _set("task", "clustering"), ["task", "clustering"]),
    ("numeric_and_categorical", lambda d: d["features"]["numeric"].append("region"), ["features", "region"]),
    ("entity_as_feature", lambda d: d["features"]["categorical"].append("customer_id"), ["features", "customer_id"]),
    ("target_as_feature", lambda d: d["features"]["numeric"].append("churned"), ["features", "churned"]),
    ("timestamp_as_feature", lambda d: d["features"]["numeric"].append("event_ts"), ["features", "event_ts"]),
    ("bad_column_name", lambda d: d["features"]["numeric"].append("bad-name"), ["features.numeric", "bad-name"]),
    ("unknown_metric", lambda d: d["evaluation"]["metrics"].append("auc"), ["evaluation.metrics", "'auc'"]),
    (
        "regression_metric_on_classifier",
        _set("evaluation.metrics", ["roc_auc", "rmse"]),
        ["evaluation.metrics", "rmse"],
    ),
    (
        "primary_not_in_metrics",
        _set("evaluation.primary_metric", "accuracy"),
        ["evaluation.primary_metric", "accuracy"],
    ),
    ("slice_not_categorical", _set("evaluation.slice_column", "tenure_months"), ["evaluation.slice_column"]),
    ("slice_not_a_feature", _set("evaluation.slice_column", "country"), ["evaluation.slice_column", "country"]),
    ("roc_auc_gate_above_1", _set("gates.min_metrics.roc_auc", 7), ["gates.min_metrics.roc_auc", "from 0 to 1", "7"]),
    ("roc_auc_gate_below_0", _set("gates.min_metrics.roc_auc", -0.1), ["gates.min_metrics.roc_auc", "from 0 to 1"]),
    ("gate_not_a_number", _set("gates.min_metrics.roc_auc", "high"), ["gates.min_metrics.roc_auc", "high"]),
    ("gate_metric_not_evaluated", _set("gates.min_metrics.accuracy", 0.5), ["gates.min_metrics.accuracy"]),
    ("negative_max_regression", _set("gates.max_regression", -0.01), ["gates.max_regression", "-0.01"]),
    # metric direction (issue 11): a key whose direction contradicts its metric is refused by name
    (
        "floor_on_lower_is_better",
        _set("gates.min_metrics.log_loss", 0.5),
        ["gates.min_metrics.log_loss", "log_loss is lower-is-better: put it under gates.max_metrics"],
    ),
    (
        "ceiling_on_higher_is_better",
        _set("gates.max_metrics", {"roc_auc": 0.9}),
        ["gates.max_metrics.roc_auc", "roc_auc is higher-is-better: put it under gates.min_metrics"],
    ),
    (
        "min_slice_metric_on_lower_is_better",
        _set("evaluation.primary_metric", "log_loss"),
        ["gates.min_slice_metric", "log_loss is lower-is-better", "gates.slice_metric_threshold"],
    ),
    (
        "both_slice_thresholds",
        _set("gates.slice_metric_threshold", 0.6),
        ["gates.min_slice_metric", "only one of min_slice_metric and slice_metric_threshold"],
    ),
    (
        "relative_drop_above_1",
        lambda d: d["monitoring"].update(performance_drop_mode="relative", max_performance_drop=1.5),
        ["monitoring.max_performance_drop", "from 0 to 1", "relative"],
    ),
    (
        "absolute_auc_drop_above_1",
        _set("monitoring.max_performance_drop", 2.0),
        ["monitoring.max_performance_drop", "from 0 to 1", "roc_auc lies between 0 and 1"],
    ),
    ("drop_mode_unknown", _set("monitoring.performance_drop_mode", "percent"), ["performance_drop_mode", "percent"]),
    ("negative_agreement_tolerance", _set("deploy.agreement_tolerance", -0.1), ["deploy.agreement_tolerance"]),
    ("zero_latency_limit", _set("gates.max_latency_ms_per_1k", 0), ["gates.max_latency_ms_per_1k"]),
    ("ranges_reversed", _set("features.ranges.tenure_months", [5, 1]), ["features.ranges.tenure_months", "[5, 1]"]),
    ("ranges_on_categorical", _set("features.ranges.region", [0, 1]), ["features.ranges.region"]),
    (
        "allowed_values_numeric",
        _set("features.allowed_values.tenure_months", [1, 2]),
        ["features.allowed_values.tenure_months"],
    ),
    ("max_null_fraction", _set("features.max_null_fraction", 1.5), ["features.max_null_fraction"]),
    ("holdout_fraction", _set("training.holdout_fraction", 0.9), ["training.holdout_fraction"]),
    ("window_days_zero", _set("training.window_days", 0), ["training.window_days"]),
    ("dedupe", _set("training.dedupe", "first"), ["training.dedupe", "first"]),
    ("class_path_not_dotted", _set("estimator.class_path", "HistGradientBoosting"), ["estimator.class_path"]),
    ("notify_unknown_type", _set("notifications", [{"type": "pager"}]), ["notifications[0].type", "pager"]),
    (
        "notify_unknown_event",
        _set("notifications", [{"type": "log", "events": ["oops"]}]),
        ["notifications[0].events", "oops"],
    ),
    (
        "webhook_without_url_env",
        _set("notifications", [{"type": "log"}, {"type": "webhook"}]),
        ["notifications[1]", "url_env"],
    ),
    ("smtp_without_to", _set("notifications", [{"type": "smtp", "conn_id": "smtp_default"}]), ["notifications[0].to"]),
    ("slack_without_conn", _set("notifications", [{"type": "slack"}]), ["notifications[0]", "conn_id"]),
    ("notifications_not_list", _set("notifications", {"type": "log"}), ["notifications", "list"]),
    (
        "skops_type_not_dotted",
        _set("skops_trusted_types", ["numpy.dtype", "TreePredictor"]),
        ["skops_trusted_types", "TreePredictor"],
    ),
    ("section_not_mapping", _set("gates", [1, 2]), ["gates", "mapping"]),
    ("bad_name", _set("name", "Churn-Model"), ["name", "Churn-Model"]),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_file_and_field(tmp_path, churn_dict, mutate, expected):
    data = copy.deepcopy(churn_dict)
    mutate(data)
    path = write_config(tmp_path, data, stem="churn")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert message.startswith(str(path)), message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_the_unmutated_copy_is_valid(tmp_path, churn_dict):
    """Guards the parametrised test: only the mutation makes those configs invalid."""
    config = load_config(write_config(tmp_path, copy.deepcopy(churn_dict)))
    assert config == load_config(CHURN_YAML)


def test_file_name_must_equal_name_field(tmp_path, churn_dict):
    path = write_config(tmp_path, churn_dict, stem="attrition")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: name")
    assert "'attrition'" in message and "'churn'" in message


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nfeatures: [unclosed\n  task: : :\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(path) in str(excinfo.value)
    assert "YAML" in str(excinfo.value)


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "listy.yaml"
    path.write_text("- name: listy\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping") as excinfo:
        load_config(path)
    assert str(path) in str(excinfo.value)


def test_parse_config_names_the_given_source(churn_dict):
    data = copy.deepcopy(churn_dict)
    data["gates"]["max_regression"] = -1
    with pytest.raises(ConfigError, match=r"^somewhere/churn\.yaml: gates\.max_regression"):
        parse_config(data, source="somewhere/churn.yaml")


# -- several configs --------------------------------------------------------------------------


def test_load_all_returns_every_config_sorted(tmp_path, churn_dict):
    for name in ("zeta", "alpha"):
        data = copy.deepcopy(churn_dict)
        data["name"] = name
        write_config(tmp_path, data)
    (tmp_path / "README.md").write_text("not a config")
    configs = load_all(tmp_path)
    assert [c.name for c in configs] == ["alpha", "zeta"]
    assert configs[0].source == str(tmp_path / "alpha.yaml")


def test_load_all_fails_on_one_bad_config(tmp_path, churn_dict):
    write_config(tmp_path, churn_dict)
    (tmp_path / "other.yaml").write_text("name: other\n")
    with pytest.raises(ConfigError, match=r"other\.yaml"):
        load_all(tmp_path)


# -- to_dict ----------------------------------------------------------------------------------


def test_to_dict_round_trips_through_parse_config():
    config = load_config(CHURN_YAML)
    data = config.to_dict()
    assert "source" not in data
    assert not any(key.startswith("_") for key in data["gates"])
    json.dumps(data)  # plain data only (it is logged to MLflow)
    again = parse_config(data)
    assert again == config
    assert again.source == "<config>"
    changed = copy.deepcopy(data)
    changed["gates"]["max_regression"] = 0.05
    assert parse_config(changed) != config


def test_to_dict_is_a_copy():
    config = load_config(CHURN_YAML)
    data = config.to_dict()
    data["features"]["numeric"].append("extra")
    assert "extra" not in config.features.numeric


# -- metric direction for a regression model (issue 11) ---------------------------------------------

DELIVERY_YAML = CHURN_YAML.parent / "delivery_time.yaml"


def test_regression_sample_config_reads_directions_and_units():
    config = load_config(DELIVERY_YAML)
    assert config.task == "regression" and config.higher_is_better == {"rmse": False, "mae": False, "r2": True}
    assert config.gates.max_metrics == {"rmse": 6.0, "mae": 4.5} and config.gates.min_metrics == {"r2": 0.7}
    assert config.gates.slice_threshold == 7.0
    # rmse is in minutes: a drop of 2 (absolute) is allowed, beyond the [0, 1] of a bounded metric
    assert (config.monitoring.max_performance_drop, config.monitoring.performance_drop_mode) == (2.0, "absolute")
    assert config.deploy.agreement_tolerance == 0.1


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            _set("gates.min_metrics.rmse", 6),
            ["gates.min_metrics.rmse", "rmse is lower-is-better: put it under gates.max_metrics"],
        ),
        (
            lambda d: d["gates"].update(slice_metric_threshold=None, min_slice_metric=7.0),
            ["gates.min_slice_metric", "rmse is lower-is-better", "gates.slice_metric_threshold"],
        ),
        (_set("monitoring.concept_detector", "ddm"), ["monitoring.concept_detector", "ddm"]),
    ],
    ids=["min_metrics_rmse", "min_slice_metric_rmse", "ddm_on_regression"],
)
def test_regression_direction_errors_name_file_and_field(tmp_path, mutate, expected):
    data = yaml.safe_load(DELIVERY_YAML.read_text())
    mutate(data)
    path = write_config(tmp_path, data, stem="delivery_time")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert message.startswith(str(path)), message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
