"""A reproduction's comparisons and report, on real data and real fits (no MLflow: the lineage is
what retrain records, built here from a training done the way retrain does it).

The end-to-end reproduction through Airflow and MLflow is tests/e2e/test_retrain_dag.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from include.contracts import Dataset
from include.dev.sample_data import write_sample_data
from include.platform.partitions import publish_frame, read_partition
from include.platform.storage import LocalStorage
from include.retrain import comparison
from include.retrain.lineage import Lineage, checked_version
from include.retrain.reproduce import build_report, refit, report_key
from include.retrain.train import config_hash, library_versions
from tests.unit.conftest import small_churn_config

pytestmark = pytest.mark.usefixtures("one_thread")

START = dt.date(2026, 1, 1)
WINDOW_END = "2026-01-25"
CHANGED_DAY = "2026-01-12"  # a feature partition inside the window
NOW = {"code_version": "abc123", "libraries": {"python": "3.11.9", "scikit-learn": "1.9.0", "numpy": "2.3.0"}}


@pytest.fixture(scope="module")
def config():
    return small_churn_config(training={"window_days": 14})


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    storage = LocalStorage(tmp_path_factory.mktemp("data"))
    write_sample_data(storage, start=START, days=25, rows_per_day=150, customers=600)
    return storage


@pytest.fixture(scope="module")
def lineage(storage, config) -> Lineage:
    """What retrain records for a version trained on the window (as JSON and tags would hold it)."""
    end = dt.date.fromisoformat(WINDOW_END)
    start = (end - dt.timedelta(days=config.training.window_days)).isoformat()
    draft = Lineage(
        model="churn",
        version="1",
        run_id="r1",
        window_start=start,
        window_end=WINDOW_END,
        data_hash="",
        code_version=NOW["code_version"],
        config=json.loads(json.dumps(config.to_dict())),
        config_hash=config_hash(config),
        seed=config.training.seed,
        holdout_scores=[],
        libraries=dict(NOW["libraries"]),
    )
    trained = refit(storage, draft, config)
    return dataclasses.replace(
        draft,
        data_hash=trained["pulled"]["data_hash"],
        rows=trained["pulled"]["rows"],
        holdout_scores=[float(s) for s in trained["scores"]],
        metrics=trained["metrics"],
    )


def _report(storage, lineage, config, today=None, now=None):
    redone = refit(storage, lineage, config)
    scores = {"reproduced": redone["scores"], "registered": np.asarray(lineage.holdout_scores)}
    return build_report(lineage, config, today or config, redone["pulled"], scores, redone["metrics"], now or NOW)


def test_a_reproduction_of_the_same_window_is_identical(storage, lineage, config):
    report = _report(storage, lineage, config)
    assert report["verdict"] == comparison.IDENTICAL and report["reasons"] == [] and report["notes"] == []
    assert report["predictions_identical"] is True
    assert report["predictions"] == {
        "rows_recorded": len(lineage.holdout_scores),
        "rows_reproduced": len(lineage.holdout_scores),
        "identical": True,
        "max_abs_diff": 0.0,
        "rows_differing": 0,
        "share_differing": 0.0,
    }
    assert all(m["diff"] == 0.0 for m in report["metrics"].values()) and "roc_auc" in report["metrics"]
    assert report["lineage"]["data_hash"]["same"] and report["lineage"]["seed"] == config.training.seed
    assert report["lineage"]["config"]["snapshot_matches_tag"] is True
    assert comparison.summary_line(report).endswith("hold-out predictions bit-identical)")


def test_changed_data_is_a_hash_mismatch_and_different_predictions(storage, lineage, config):
    original = read_partition(storage, Dataset.FEATURES, "churn", CHANGED_DAY)
    changed = original.copy()
    changed["monthly_charges"] = changed["monthly_charges"] * 1.5
    publish_frame(storage, Dataset.FEATURES, "churn", CHANGED_DAY, changed)
    try:
        report = _report(storage, lineage, config)
    finally:
        publish_frame(storage, Dataset.FEATURES, "churn", CHANGED_DAY, original)
    assert report["verdict"] == comparison.DIFFERS
    data, scores = report["lineage"]["data_hash"], report["predictions"]
    assert not data["same"] and data["recorded"] == lineage.data_hash
    assert report["reasons"][0].startswith(f"data changed since training: data hash mismatch ({lineage.data_hash[:12]}")
    assert scores["identical"] is False and scores["max_abs_diff"] > 0 and 0 < scores["share_differing"] <= 1
    assert report["reasons"][-1] == (
        f"predictions differ: max abs diff {scores['max_abs_diff']:.6g} on {scores['rows_differing']} of "
        f"{scores['rows_recorded']} hold-out rows ({scores['share_differing']:.1%})"
    )
    assert len(report["reasons"]) == 2  # nothing else changed
    assert _report(storage, lineage, config)["verdict"] == comparison.IDENTICAL  # restored: the same again


def test_code_libraries_and_config_changes_are_each_named(storage, lineage, config):
    now = {"code_version": "def456", "libraries": {**NOW["libraries"], "numpy": "2.4.0", "pyarrow": "22.0.0"}}
    today = small_churn_config(training={"window_days": 14}, estimator={**config.to_dict()["estimator"]})
    today = dataclasses.replace(today, owner="another-team")
    report = _report(storage, lineage, config, today=today, now=now)
    assert report["verdict"] == comparison.DIFFERS and report["predictions_identical"] is True
    assert report["reasons"] == [
        "config changed since: today's config differs from the recorded snapshot in owner ('data-team' -> "
        "'another-team') (the reproduction trained with the snapshot)",
        "code changed: trained at abc123, reproduced at def456",
        "library versions changed: numpy 2.3.0 -> 2.4.0, pyarrow None -> 22.0.0",
    ]
    line = comparison.summary_line(report)
    assert line.startswith("churn v1 reproduced: differs: config changed since")
    assert line.endswith("pyarrow None -> 22.0.0 (hold-out predictions still bit-identical)")


def test_a_run_without_recorded_versions_or_config_hash_is_noted_not_failed(storage, lineage, config):
    older = dataclasses.replace(lineage, libraries=None, config_hash=None)
    report = _report(storage, older, config, now={"code_version": "abc123", "libraries": library_versions()})
    assert report["verdict"] == comparison.IDENTICAL and report["lineage"]["libraries"]["changed"] == []
    assert [n.split(" (")[0].split(":")[0] for n in report["notes"]] == [
        "library versions were not recorded at training",
        "no config hash tag",
    ]


def test_an_altered_config_snapshot_is_a_difference(storage, lineage, config):
    report = _report(storage, dataclasses.replace(lineage, config_hash="0" * 64), config)
    assert report["verdict"] == comparison.DIFFERS
    assert report["reasons"] == [
        f"config snapshot does not match its recorded hash (000000000000 recorded, {config_hash(config)[:12]} "
        "computed): the snapshot artifact was altered"
    ]


@pytest.mark.parametrize(
    ("recorded", "reproduced", "expected"),
    [
        ([0.1, 0.2], [0.1, 0.2], {"identical": True, "max_abs_diff": 0.0, "rows_differing": 0}),
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.45], {"identical": False, "rows_differing": 1}),
        ([0.1, float("nan")], [0.1, float("nan")], {"identical": True, "max_abs_diff": 0.0}),
        ([0.1, 0.2], [0.1], {"identical": False, "max_abs_diff": None, "rows_recorded": 2, "rows_reproduced": 1}),
        ([], [], {"identical": True, "max_abs_diff": 0.0, "share_differing": 0.0}),
    ],
)
def test_compare_scores(recorded, reproduced, expected):
    found = comparison.compare_scores(recorded, reproduced)
    assert {k: found[k] for k in expected} == pytest.approx(expected)


def test_a_tiny_difference_is_not_identical():
    """Bit-identical means bit-identical: one ulp is a difference."""
    a = np.array([0.3, 0.7])
    found = comparison.compare_scores(a, np.nextafter(a, 1.0))
    assert found["identical"] is False and 0 < found["max_abs_diff"] < 1e-15 and found["rows_differing"] == 2


def test_a_different_row_count_is_named():
    predictions = comparison.compare_scores([0.1, 0.2, 0.3], [0.1, 0.2])
    assert comparison._prediction_reason(predictions) == (
        "predictions differ: the reproduced hold-out has 2 rows, 3 were recorded"
    )


def test_changed_fields_are_dotted_paths():
    before = {"estimator": {"params": {"max_iter": 150, "lr": 0.1}}, "owner": "a", "tags": ["x"]}
    after = {"estimator": {"params": {"max_iter": 100, "lr": 0.1}}, "owner": "a", "tags": ["x", "y"], "new": 1}
    assert comparison.changed_fields(before, after) == [
        {"field": "estimator.params.max_iter", "snapshot": 150, "today": 100},
        {"field": "new", "snapshot": None, "today": 1},
        {"field": "tags", "snapshot": ["x"], "today": ["x", "y"]},
    ]
    assert comparison.changed_fields(before, None) == []


@pytest.mark.parametrize(("value", "expected"), [("3", "3"), (3, "3"), ("v12", "12"), (" 4 ", "4")])
def test_checked_version(value, expected):
    assert checked_version(value) == expected


@pytest.mark.parametrize("value", [None, "", "latest", "3.1", "-1"])
def test_checked_version_refuses_what_is_not_a_version_number(value):
    from include.errors import NotRetryable, ParamError

    with pytest.raises(ParamError, match="Param version must be a registered version number") as caught:
        checked_version(value)
    assert isinstance(caught.value, NotRetryable)


def test_report_key():
    assert report_key("churn", "3") == "reports/churn/reproduce/version=3/report.json"
