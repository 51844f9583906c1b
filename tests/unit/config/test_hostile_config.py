"""Hostile and broken model configs (issue 10): every number finite and bounded, schedules that
Airflow accepts, drift test names that exist, no code reachable by accident; one broken file
leaves the other models alone. Every error names the file and the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.config import ConfigError, load_config, load_valid, parse_config, stattest_module_names
from include.config.lifecycle import CONCEPT_DETECTORS
from include.config.loading import broken_configs_message
from tests.unit.test_config import BAD_CONFIGS, CHURN_YAML, _set, write_config

pytestmark = pytest.mark.unit

NAN, INF = float("nan"), float("inf")

HOSTILE: list[tuple[str, Any, list[str]]] = [
    # numbers: finite, bounded, consistent across sections
    ("health_tolerance_nan", _set("deploy.health_tolerance", NAN), ["deploy.health_tolerance", "finite", "nan"]),
    ("health_tolerance_inf", _set("deploy.health_tolerance", INF), ["deploy.health_tolerance", "inf"]),
    ("health_tolerance_1", _set("deploy.health_tolerance", 1.0), ["deploy.health_tolerance", "below 1"]),
    ("min_agreement_nan", _set("deploy.min_agreement", NAN), ["deploy.min_agreement", "nan"]),
    ("max_regression_nan", _set("gates.max_regression", NAN), ["gates.max_regression", "nan"]),
    ("log_loss_gate_inf", _set("gates.min_metrics", {"log_loss": INF}), ["gates.min_metrics.log_loss", "inf"]),
    ("training_window_days_huge", _set("training.window_days", 10**12), ["training.window_days", "730"]),
    ("monitoring_window_days_huge", _set("monitoring.window_days", 10**12), ["monitoring.window_days", "3650"]),
    ("feature_age_huge", _set("training.max_feature_age_days", 10**9), ["training.max_feature_age_days"]),
    ("reject_after_days_huge", _set("deploy.reject_after_days", 10**6), ["deploy.reject_after_days"]),
    ("shadow_hours_inf", _set("deploy.min_shadow_hours", INF), ["deploy.min_shadow_hours"]),
    ("chunk_rows_huge", _set("scoring.chunk_rows", 10**15), ["scoring.chunk_rows"]),
    # scoring row policies (issue 11): a word from the list, a bounded finite number of hours
    ("out_of_range_typo", _set("scoring.out_of_range", "flagg"), ["scoring.out_of_range", "'flagg'", "'flag'"]),
    ("unseen_category_bool", _set("scoring.unseen_category", True), ["scoring.unseen_category", "'quarantine'"]),
    ("duplicates_unknown", _set("scoring.duplicates", "keep_first"), ["scoring.duplicates", "'keep_latest'", "'fail'"]),
    ("timestamp_tolerance_nan", _set("scoring.timestamp_tolerance_hours", NAN), ["scoring.timestamp_tolerance_hours"]),
    ("tolerance_negative", _set("scoring.timestamp_tolerance_hours", -1), ["scoring.timestamp_tolerance_hours"]),
    ("tolerance_huge", _set("scoring.timestamp_tolerance_hours", 10**9), ["scoring.timestamp_tolerance_hours"]),
    ("seed_negative", _set("training.seed", -1), ["training.seed"]),
    ("range_bound_nan", _set("features.ranges.tenure_months", [0, NAN]), ["features.ranges.tenure_months"]),
    ("min_slice_metric_7", _set("gates.min_slice_metric", 7), ["gates.min_slice_metric", "from 0 to 1", "7"]),
    ("min_slice_metric_nan", _set("gates.min_slice_metric", NAN), ["gates.min_slice_metric", "nan"]),
    ("min_slice_rows_bool", _set("gates.min_slice_rows", True), ["gates.min_slice_rows"]),
    ("min_metrics_not_mapping", _set("gates.min_metrics", "high"), ["gates.min_metrics", "mapping"]),
    ("ranges_not_mapping", _set("features.ranges", "x"), ["features.ranges", "mapping"]),
    ("metrics_not_list", _set("evaluation.metrics", 5), ["evaluation.metrics", "list"]),
    # schedules: what Airflow's cron timetable accepts (croniter), checked when the config is read
    ("cron_words", _set("schedules.score", "every tuesday"), ["schedules.score", "every tuesday", "cron"]),
    ("cron_out_of_range", _set("schedules.retrain", "61 * * * *"), ["schedules.retrain", "61 * * * *"]),
    ("cron_six_fields", _set("schedules.monitor", "0 5 * * * 1"), ["schedules.monitor", "6 fields"]),
    ("cron_unknown_preset", _set("schedules.promote", "@fortnightly"), ["schedules.promote", "@fortnightly"]),
    ("cron_not_string", _set("schedules.score", 5), ["schedules.score", "5"]),
    # drift tests and detectors by name
    (
        "unknown_stattest",
        _set("monitoring.stattests.discount_pct", {"stattest": "pssi"}),
        ["monitoring.stattests.discount_pct.stattest", "pssi", "psi"],
    ),
    (
        "stattest_threshold_nan",
        _set("monitoring.stattests.discount_pct", {"stattest": "psi", "threshold": NAN}),
        ["monitoring.stattests.discount_pct.threshold", "nan"],
    ),
    ("unknown_detector", _set("monitoring.concept_detector", "kswin"), ["monitoring.concept_detector", "kswin"]),
    # code: class_path under an allowed prefix, skops never trusting a type that runs code
    ("class_path_os_system", _set("estimator.class_path", "os.system"), ["estimator.class_path", "os.system"]),
    ("class_path_builtins_eval", _set("estimator.class_path", "builtins.eval"), ["estimator.class_path", "eval"]),
    ("class_path_prefix_lookalike", _set("estimator.class_path", "sklearnx.Model"), ["estimator.class_path"]),
    (
        "trusted_builtins_eval",
        _set("skops_trusted_types", ["numpy.dtype", "builtins.eval"]),
        ["skops_trusted_types", "'builtins.eval'", "must not be trusted"],
    ),
    ("trusted_os_system", _set("skops_trusted_types", ["os.system"]), ["skops_trusted_types", "'os.system'"]),
    ("trusted_subprocess", _set("skops_trusted_types", ["subprocess.Popen"]), ["skops_trusted_types", "subprocess"]),
    ("trusted_posix", _set("skops_trusted_types", ["posix.system"]), ["skops_trusted_types", "posix"]),
    ("trusted_pickle", _set("skops_trusted_types", ["pickle.loads"]), ["skops_trusted_types", "pickle"]),
    ("trusted_importlib", _set("skops_trusted_types", ["importlib.import_module"]), ["skops_trusted_types"]),
    ("trusted_not_a_string", _set("skops_trusted_types", [5]), ["skops_trusted_types", "5"]),
]


@pytest.fixture(scope="module")
def churn_dict() -> dict[str, Any]:
    return yaml.safe_load(CHURN_YAML.read_text())


def _broken(churn_dict: dict[str, Any], mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(churn_dict)
    mutate(data)
    return data


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_config_is_refused_naming_file_and_field(tmp_path, churn_dict, mutate, expected):
    path = write_config(tmp_path, _broken(churn_dict, mutate), stem="churn")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: "), message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(
    "cron", [None, "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "*/15 3 * * mon-fri"]
)
def test_presets_and_cron_expressions_that_airflow_accepts_load(churn_dict, cron):
    from airflow.sdk import CronDataIntervalTimetable

    data = _broken(churn_dict, _set("schedules.score", cron))
    assert parse_config(data, "x.yaml").schedules.score == cron
    if cron is not None:  # Airflow agrees
        CronDataIntervalTimetable(cron, timezone="UTC").validate()


def test_the_refused_cron_is_refused_by_airflow_too():
    from airflow.exceptions import AirflowTimetableInvalid
    from airflow.timetables.interval import CronDataIntervalTimetable

    with pytest.raises(AirflowTimetableInvalid):
        CronDataIntervalTimetable("every tuesday", timezone="UTC").validate()


def test_allowed_import_prefixes_extend_in_one_place(churn_dict, monkeypatch):
    data = _broken(churn_dict, _set("estimator.class_path", "xgboost.XGBClassifier"))
    with pytest.raises(ConfigError, match="MLOPS_ALLOWED_IMPORT_PREFIXES"):
        parse_config(data, "x.yaml")
    monkeypatch.setenv("MLOPS_ALLOWED_IMPORT_PREFIXES", "xgboost, lightgbm.")
    assert parse_config(data, "x.yaml").estimator.class_path == "xgboost.XGBClassifier"
    monkeypatch.setenv("MLOPS_ALLOWED_IMPORT_PREFIXES", "xgboost")  # read as "xgboost.", never "xgboostx."
    with pytest.raises(ConfigError, match=r"estimator\.class_path"):
        parse_config(_broken(churn_dict, _set("estimator.class_path", "xgboostx.Model")), "x.yaml")


def test_the_project_factory_and_its_trusted_type_load(churn_dict):
    """The worked example of docs/extending.md stays valid."""
    data = _broken(churn_dict, _set("estimator.class_path", "include.extensions.churn_features.churn_pipeline"))
    data["skops_trusted_types"].append("include.extensions.churn_features.ChargeRatios")
    assert parse_config(data, "x.yaml").estimator.class_path.startswith("include.extensions.")


def test_stattest_names_are_the_registry():
    """The config lists the drift tests by module name without importing them (parse time);
    they must be exactly the tests the monitor registers."""
    from include.monitor.drift.stattests import stattest_names as registered

    assert stattest_module_names() == registered()


def test_concept_detectors_are_the_monitors():
    from include.monitor.drift.concept import DETECTORS

    assert tuple(CONCEPT_DETECTORS) == tuple(DETECTORS)


def test_reading_configs_does_not_import_the_stattests():
    import subprocess
    import sys

    code = (
        "import sys; from include.config import load_all; load_all(); "
        "print(sorted(m for m in sys.modules if m.startswith(('include.monitor', 'scipy', 'numpy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# -- one broken file disables only its own model --------------------------------------------


def test_load_valid_keeps_the_healthy_configs_and_names_each_broken_one(tmp_path, churn_dict):
    write_config(tmp_path, _broken(churn_dict, _set("name", "healthy")))
    write_config(tmp_path, _broken(churn_dict, _set("gates.min_metrics.roc_auc", 7)), stem="gate")
    write_config(tmp_path, _broken(churn_dict, _set("name", "Bad Name")), stem="badname")
    (tmp_path / "syntax.yaml").write_text("name: syntax\nfeatures: [a, b\n")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00bad")
    loaded = load_valid(tmp_path)
    assert [c.name for c in loaded.configs] == ["healthy"]
    assert sorted(Path(p).name for p in loaded.errors) == ["badname.yaml", "binary.yaml", "gate.yaml", "syntax.yaml"]
    assert "gates.min_metrics.roc_auc" in loaded.errors[str(tmp_path / "gate.yaml")]
    assert ": name: " in loaded.errors[str(tmp_path / "badname.yaml")]
    assert "not valid YAML" in loaded.errors[str(tmp_path / "syntax.yaml")]
    with pytest.raises(ConfigError):  # load_all stays strict for the other callers
        from include.config import load_all

        load_all(tmp_path)


# -- messages survive Rich markup (airflow dags list-import-errors) ---------------------------


def _rendered(text: str) -> str:
    from rich.text import Text

    return Text.from_markup(text).plain


def _all_messages(tmp_path: Path, churn_dict: dict[str, Any]) -> list[str]:
    messages = []
    for _, mutate, _expected in [*BAD_CONFIGS, *HOSTILE]:
        try:
            parse_config(_broken(churn_dict, mutate), f"{tmp_path}/m.yaml")
        except ConfigError as exc:
            messages.append(str(exc))
    return messages


def test_config_messages_are_not_eaten_by_rich_markup(tmp_path, churn_dict):
    messages = _all_messages(tmp_path, churn_dict)
    assert len(messages) == len(BAD_CONFIGS) + len(HOSTILE)
    for message in messages:
        assert _rendered(message) == message


def test_broken_configs_message_escapes_values_that_look_like_markup():
    errors = {"/c/a.yaml": "/c/a.yaml: name: must be ..., got '[bold]x'", "/c/b.yaml": "/c/b.yaml: gates: bad"}
    message = broken_configs_message(errors)
    assert "2 model config(s)" in message
    rendered = _rendered(message)
    assert "/c/a.yaml: name: must be ..., got '[bold]x'" in rendered
    assert "/c/b.yaml: gates: bad" in rendered
