"""Real public data the project did not generate, through Airflow (issue 11).

Two data sets bundled inside an installed package (statsmodels; ``tests/fixtures/public_data.py``):
``fair_affairs`` (classification, 6,366 survey answers) and ``randhie_visits`` (regression,
20,190 person-years). Each is laid out by day (``features/<model>/ds=...``, labels 3 days
later) from 2026-03-01 to 2026-03-24 and onboarded by a YAML file only (written below into a
temp ``MLOPS_CONFIG_DIR``; no code). Per data set, three ``airflow dags test`` runs:

1. ``retrain_<model>`` on the labels that arrived before 2026-03-19 (snapshots of Mar 1..15):
   a version registers and becomes champion (bootstrap rule);
2. ``batch_score_<model>`` over one range (``*_RANGE`` below) holding good days, a drifted
   day, days with row-level faults and bad days: each date publishes or fails on its own, the
   run fails at its last task ``check_dates`` naming the bad days;
3. ``monitor_<model>`` of the drifted day: drift detected on the shifted column.

Every test reads the outputs of those runs (module-scoped fixtures): add assertions to the
tests, not runs to the module.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from include.contracts import Column, Dataset, RunKind, Tag, experiment_name, partition_prefix
from include.ml.contract import load_contract
from include.platform.partitions import list_partitions, read_manifest, read_partition
from include.platform.registry import ModelRef, ModelRegistry
from include.platform.storage import LocalStorage
from include.score.checks import FUTURE_REASON, SUPERSEDED_REASON, outside_day_reason
from tests.e2e.conftest import isolated_state_env
from tests.fixtures.public_data import FAIR, FUTURE_OFFSET, RANDHIE, PublicDataset, write_public_data

START, DAYS = dt.date(2026, 3, 1), 24
TRAIN_END = "2026-03-19"  # label partitions Mar 4..18: snapshots Mar 1..15 (3-day delay)
DRIFTED = "2026-03-20"
RANGE_TOLERANCE = 0.5  # scoring.range_tolerance (default): out of range beyond [min, max] +- half the span
MAX_QUARANTINE = 0.05  # scoring.max_quarantine_fraction (default)

# Classification: four good days, the drifted day (ages + 30) and two bad files in one range.
FAIR_INJECT = {DRIFTED: "drift", "2026-03-21": "corrupt_file", "2026-03-22": "uncommitted"}
FAIR_RANGE = ("2026-03-16", "2026-03-22")
FAIR_BAD = ("2026-03-21", "2026-03-22")
# Regression: one day per row-level case, the drifted day (disea + 50), an out-of-range burst
# (all scored, flagged) and a day of stale rows (all outside the day: fails at publish).
RANDHIE_INJECT = {
    "2026-03-17": "duplicates",
    "2026-03-18": "future_timestamps",
    "2026-03-19": "inf",
    DRIFTED: "drift",
    "2026-03-21": "out_of_range_burst",
    "2026-03-22": "stale_day",
}
RANDHIE_RANGE = ("2026-03-16", "2026-03-22")
RANDHIE_BAD = ("2026-03-22",)

TRUSTED = """
skops_trusted_types:
  - numpy.dtype
  - sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor
"""

FAIR_YAML = f"""
name: {FAIR.model}
task: classification
description: Whether a married respondent had an extramarital affair (Fair 1978, statsmodels).
intended_use: Test of the pipelines on public survey data; not for decisions about people.
owner: mlops-tests
entity_id: {FAIR.entity_id}
timestamp: {FAIR.timestamp}
target: {FAIR.target}
features:
  numeric: [rate_marriage, age, yrs_married, children, religious, educ]
  categorical: [occupation]
  ranges:
    age: [16, 100]          # valid ages: the drifted day (47.5 .. 72) passes, a burst in months does not
    rate_marriage: [1, 5]
    religious: [1, 4]
  allowed_values:
    occupation: [student, manual, white_collar, skilled, managerial, professional]
estimator:
  class_path: sklearn.ensemble.HistGradientBoostingClassifier
  params: {{max_iter: 150, learning_rate: 0.05, max_leaf_nodes: 15, l2_regularization: 1.0}}
training:
  window_days: 28
  min_rows: 2000
  max_feature_age_days: 1
evaluation:
  metrics: [roc_auc, average_precision, log_loss]
  primary_metric: roc_auc
  slice_column: occupation
gates:
  min_metrics: {{roc_auc: 0.70, average_precision: 0.45}}   # base rate 0.32
  min_slice_metric: 0.60
  min_slice_rows: 150
scoring:
  max_parallel: 8
monitoring:
  window_days: 1
  drift_share: 0.3
{TRUSTED}"""

RANDHIE_YAML = f"""
name: {RANDHIE.model}
task: regression
description: Outpatient visits to a doctor in a year (RAND Health Insurance Experiment, statsmodels).
intended_use: Test of the pipelines on public health-insurance data; not for decisions about people.
owner: mlops-tests
entity_id: {RANDHIE.entity_id}
timestamp: {RANDHIE.timestamp}
target: {RANDHIE.target}
features:
  numeric: [lncoins, idp, lpi, fmde, physlm, disea, hlthg, hlthf, hlthp]
  ranges:
    lncoins: [0, 4.7]       # ln(coinsurance + 1), coinsurance 0 .. 100
    disea: [0, 200]
estimator:
  class_path: sklearn.ensemble.HistGradientBoostingRegressor
  params: {{max_iter: 150, learning_rate: 0.05, max_leaf_nodes: 15}}
training:
  window_days: 28
  min_rows: 5000
  max_feature_age_days: 1
evaluation:
  metrics: [rmse, mae, r2]
  primary_metric: rmse
gates:
  min_metrics: {{r2: 0.05}}   # better than predicting the mean
  max_metrics: {{rmse: 4.6}}  # lower is better: rmse <= 4.6; the target's std is about 4.7
  max_regression: 0.1       # rmse units: a challenger may be at most 0.1 visits worse
scoring:
  max_parallel: 8
monitoring:
  window_days: 1
  drift_share: 0.3
  max_performance_drop: 0.5 # rmse units (performance_drop_mode: absolute)
  performance_drop_mode: absolute
{TRUSTED}"""


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> dict:
    """Both data sets under one data root, their YAMLs in one config dir, a local MLflow store."""
    root = tmp_path_factory.mktemp("public")
    storage = LocalStorage(root / "data")
    laid_out = {
        FAIR.model: write_public_data(storage, FAIR, start=START, days=DAYS, inject=FAIR_INJECT),
        RANDHIE.model: write_public_data(storage, RANDHIE, start=START, days=DAYS, inject=RANDHIE_INJECT),
    }
    configs = root / "configs"
    configs.mkdir()
    (configs / f"{FAIR.model}.yaml").write_text(FAIR_YAML)
    (configs / f"{RANDHIE.model}.yaml").write_text(RANDHIE_YAML)
    state = isolated_state_env(root / "state")
    env = {
        "MLOPS_CONFIG_DIR": str(configs),
        "MLOPS_DATA_ROOT": storage.root,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLOPS_MLFLOW_ARTIFACT_ROOT": str(root / "artifacts"),
        **state,
        # The connection wins over MLOPS_AUDIT_DB_URL: pin it too, whatever the caller's env holds.
        "AIRFLOW_CONN_MLOPS_AUDIT": json.dumps({"conn_type": "sqlite", "host": str(root / "state" / "audit.db")}),
    }
    return {"env": env, "storage": storage, "laid_out": laid_out, "tracking_uri": env["MLFLOW_TRACKING_URI"]}


def _published(storage: LocalStorage, model: str) -> dict[str, str]:
    """Published predictions partitions: ``{ds: Airflow run id that published it}``."""
    out = {}
    for ds in list_partitions(storage, Dataset.PREDICTIONS, model):
        manifest = read_manifest(storage, Dataset.PREDICTIONS, model, ds)
        out[ds] = manifest.meta.get("run_id", "") if manifest else ""
    return out


def _task_states(airflow_project, env: dict, dag_id: str, log: str) -> tuple[str, dict[str, list[str]]]:
    """The run id of the ``dags test`` run whose log is ``log`` and each task's states (one per
    map index), read back from the run's metadata DB."""
    run_id = re.search(r"DagRun Finished: .*?run_id=([^,\s]+)", log).group(1)
    out = airflow_project.cli("tasks", "states-for-dag-run", dag_id, run_id, "-o", "json", extra_env=env)
    states: dict[str, list[str]] = {}
    for row in json.loads(out[out.index("[") :]):
        states.setdefault(row["task_id"], []).append(row["state"])
    return run_id, states


def _run_pipeline(airflow_project, public: dict, dataset: PublicDataset, whole: tuple) -> dict:
    """Retrain, score the whole range, then monitor the drifted day: three ``dags test`` runs."""
    env, storage, model = public["env"], public["storage"], dataset.model
    retrain = airflow_project.run(f"retrain_{model}", conf={"window_end": TRAIN_END}, extra_env=env)
    assert retrain.succeeded, retrain.tail(120)
    whole_run = airflow_project.run(f"batch_score_{model}", conf={"ds": whole[0], "ds_end": whole[1]}, extra_env=env)
    run_id, states = _task_states(airflow_project, env, f"batch_score_{model}", whole_run.log)
    monitor = airflow_project.run(f"monitor_{model}", conf={"ds": DRIFTED}, extra_env=env)
    assert monitor.succeeded, monitor.tail(120)
    registry = ModelRegistry(public["tracking_uri"])
    champion = registry.alias_version(model, "champion")
    return {
        "dataset": dataset,
        "storage": storage,
        "registry": registry,
        "contract": load_contract(registry, ModelRef(model, str(champion.version), champion.run_id)),
        "laid_out": public["laid_out"][model],
        "whole_run": whole_run,
        "whole_run_id": run_id,
        "task_states": states,
        "monitor_summary": json.loads(storage.read_text(f"reports/{model}/monitor/ds={DRIFTED}/summary.json")),
    }


@pytest.fixture(scope="module")
def fair(airflow_project, public) -> dict:
    return _run_pipeline(airflow_project, public, FAIR, FAIR_RANGE)


@pytest.fixture(scope="module")
def randhie(airflow_project, public) -> dict:
    return _run_pipeline(airflow_project, public, RANDHIE, RANDHIE_RANGE)


def _days(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def _predictions(run: dict, ds: str):
    return read_partition(run["storage"], Dataset.PREDICTIONS, run["dataset"].model, ds)


def _quarantine(run: dict, ds: str):
    return read_partition(run["storage"], Dataset.QUARANTINE, run["dataset"].model, ds)


def _summary(run: dict, ds: str) -> dict:
    manifest = read_manifest(run["storage"], Dataset.PREDICTIONS, run["dataset"].model, ds)
    assert manifest is not None, f"predictions of {ds} not published"
    return manifest.meta["summary"]


def _mlflow_runs(run: dict, kind: str) -> list:
    registry = run["registry"]
    return registry.client.search_runs(
        [registry.experiment_id(run["dataset"].model)], filter_string=f"tags.`{Tag.KIND}` = '{kind}'"
    )


def _scoring_runs(run: dict) -> dict[str, object]:
    """The MLflow scoring run of each date: ``{ds: run}`` (one per date and version)."""
    runs = _mlflow_runs(run, RunKind.SCORING)
    by_day = {r.data.tags[Tag.DS]: r for r in runs}
    assert len(by_day) == len(runs), "two scoring runs for one date and version"
    return by_day


def _out_of_range(run: dict, values, column: str):
    """Rows beyond the training [min, max] widened by ``RANGE_TOLERANCE`` of the span, by the
    champion's scoring contract (what the flag and the quarantine count against)."""
    spec = run["contract"]["features"][column]
    slack = RANGE_TOLERANCE * (spec["max"] - spec["min"])
    return (values < spec["min"] - slack) | (values > spec["max"] + slack)


def _flags(run: dict, ds: str) -> dict[str, int]:
    """The manifest's flag counts of ``ds``, checked against the predictions' ``flags`` column."""
    summary, predictions = _summary(run, ds), _predictions(run, ds)
    flags = summary["flags"]
    for flag, count in flags.items():
        assert int(predictions[Column.FLAGS].str.contains(flag, regex=False).sum()) == count, flag
    assert summary["rows_flagged"] == int((predictions[Column.FLAGS] != "").sum())
    return flags


# -- the layout (no Airflow) -------------------------------------------------------------------


@pytest.mark.parametrize("dataset", [FAIR, RANDHIE], ids=lambda d: d.model)
def test_public_data_is_laid_out_by_day_with_delayed_labels(public, dataset):
    storage, laid_out = public["storage"], public["laid_out"][dataset.model]
    features = list_partitions(storage, Dataset.FEATURES, dataset.model)
    # every day but the uncommitted one is committed
    uncommitted = [d for d, day in laid_out["days"].items() if day["inject"].get("kind") == "uncommitted"]
    assert features == [d for d in _days("2026-03-01", "2026-03-24") if d not in uncommitted]
    assert list_partitions(storage, Dataset.LABELS, dataset.model) == _days("2026-03-04", "2026-03-24")
    assert sum(day["labels"] for day in laid_out["days"].values()) == len(dataset.load())
    day = read_partition(storage, Dataset.FEATURES, dataset.model, "2026-03-16", verify=True)
    assert list(day.columns) == dataset.feature_columns and day[dataset.entity_id].is_unique
    stamps = day[dataset.timestamp]
    assert str(stamps.dt.tz) == "UTC" and stamps.dt.date.astype(str).eq("2026-03-16").all()
    labels = read_partition(storage, Dataset.LABELS, dataset.model, "2026-03-19")  # Mar 16's, 3 days later
    assert list(labels.columns) == dataset.label_columns
    assert labels.set_index(dataset.entity_id)[dataset.timestamp].equals(
        day.set_index(dataset.entity_id)[dataset.timestamp]
    )
    drifted = read_partition(storage, Dataset.FEATURES, dataset.model, DRIFTED)
    beyond = drifted[dataset.drift_column] > dataset.load()[dataset.drift_column].max()  # any row of the source
    assert beyond.mean() > 0.5


# -- retrain --------------------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", ["fair", "randhie"])
def test_retrain_registers_a_champion_by_the_bootstrap_rule(pipeline, request):
    run = request.getfixturevalue(pipeline)
    model, registry = run["dataset"].model, run["registry"]
    champion = registry.alias_version(model, "champion")
    assert champion is not None and str(champion.version) == "1"
    assert registry.stage_of(model, champion.version) == "champion"
    training = registry.client.get_run(champion.run_id)
    assert training.data.tags[Tag.GATES_PASSED] == "true"
    assert training.data.tags[Tag.WINDOW].endswith(TRAIN_END)
    experiment = registry.client.get_experiment_by_name(experiment_name(model))
    assert experiment is not None and training.info.experiment_id == experiment.experiment_id
    metrics = training.data.metrics
    if run["dataset"] is FAIR:
        assert metrics["holdout_roc_auc"] >= 0.70 and metrics["holdout_average_precision"] >= 0.45
        assert metrics["gate.min_roc_auc"] == metrics["gate.min_average_precision"] == 1.0
    else:  # rmse is a ceiling (gates.max_metrics), r2 a floor
        assert metrics["holdout_r2"] >= 0.05 and metrics["holdout_rmse"] <= 4.6
        assert metrics["gate.max_rmse"] == metrics["gate.min_r2"] == 1.0
        assert "gate.min_rmse" not in metrics


# -- one range: each date publishes or fails on its own --------------------------------------------


@pytest.mark.parametrize("pipeline", ["fair", "randhie"])
def test_range_publishes_each_good_day_and_fails_the_bad_days_alone(pipeline, request):
    run = request.getfixturevalue(pipeline)
    model, storage = run["dataset"].model, run["storage"]
    whole, bad = (FAIR_RANGE, FAIR_BAD) if run["dataset"] is FAIR else (RANDHIE_RANGE, RANDHIE_BAD)
    good = [ds for ds in _days(*whole) if ds not in bad]
    # Good days: published by this run, with their manifest, counts and one MLflow scoring run.
    assert _published(storage, model) == dict.fromkeys(good, run["whole_run_id"])
    scoring_runs = _scoring_runs(run)
    assert sorted(scoring_runs) == good
    for ds in good:
        summary = _summary(run, ds)
        rows_in = run["laid_out"]["days"][ds]["rows"]
        assert summary["rows_in"] == rows_in
        assert summary["rows_scored"] + summary["rows_quarantined"] == rows_in
        predictions = _predictions(run, ds)
        assert len(predictions) == summary["rows_scored"] > 0
        assert set(predictions[Column.MODEL_VERSION].astype(str)) == {"1"}
        mlflow_run = scoring_runs[ds]
        assert mlflow_run.data.tags[Tag.AIRFLOW_RUN_ID] == run["whole_run_id"]
        assert mlflow_run.data.metrics["rows_scored"] == summary["rows_scored"]
    # Bad days: nothing published, no folder left behind, no MLflow run.
    for ds in bad:
        for dataset in (Dataset.PREDICTIONS, Dataset.QUARANTINE, Dataset.SHADOW_PREDICTIONS):
            assert storage.list(partition_prefix(dataset, model, ds)) == [], (dataset, ds)
            assert not Path(storage.local_path(partition_prefix(dataset, model, ds))).exists(), (dataset, ds)
    # The run failed at its last task only (after record and notify), naming every bad day.
    states = dict(run["task_states"])
    assert not run["whole_run"].succeeded
    assert states.pop("check_dates") == ["failed"]
    assert all(s == "success" for task in states.values() for s in task), states
    log = run["whole_run"].log
    assert f"{model}: {len(good)} of {len(good) + len(bad)} date(s) published, {len(bad)} failed" in log
    assert f"published: {', '.join(good)}" in log
    if run["dataset"] is FAIR:
        corrupt, uncommitted = FAIR_BAD
        unreadable = partition_prefix(Dataset.FEATURES, model, corrupt)
        assert re.search(rf"- ds={corrupt} failed at plan: .*{unreadable}/part-\S+ is not a readable parquet file", log)
        missing = partition_prefix(Dataset.FEATURES, model, uncommitted)
        assert re.search(rf"- ds={uncommitted} failed at plan: .*{missing} is not committed", log)
    else:
        (stale,) = RANDHIE_BAD
        rows = run["laid_out"]["days"][stale]["rows"]
        reason = outside_day_reason(stale, 24)
        assert (
            f"- ds={stale} failed at publish: {rows} of {rows} rows (100.0%) failed hard checks, "
            f"limit {MAX_QUARANTINE:.1%}: {reason} ({rows})"
        ) in log


# -- row policies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", ["fair", "randhie"])
def test_drifted_day_is_scored_whole_and_flagged_on_the_shifted_column(pipeline, request):
    run = request.getfixturevalue(pipeline)
    dataset, day = run["dataset"], run["laid_out"]["days"][DRIFTED]
    summary = _summary(run, DRIFTED)
    assert summary["rows_scored"] == day["rows"] and summary["rows_quarantined"] == 0
    features = read_partition(run["storage"], Dataset.FEATURES, dataset.model, DRIFTED)
    expected = int(_out_of_range(run, features[dataset.drift_column], dataset.drift_column).sum())
    assert 0 < expected < day["rows"]  # some shifted values stay inside the widened range
    assert _flags(run, DRIFTED) == {f"out_of_range:{dataset.drift_column}": expected}
    assert summary["rows_flagged"] == summary["rows_out_of_range"] == expected
    assert summary["flagged_share"] == pytest.approx(expected / day["rows"])


def test_randhie_out_of_range_burst_is_scored_and_flagged(randhie):
    burst = "2026-03-21"
    injected, summary = randhie["laid_out"]["days"][burst], _summary(randhie, burst)
    assert summary["rows_scored"] == injected["rows"] and summary["rows_quarantined"] == 0
    features = read_partition(randhie["storage"], Dataset.FEATURES, RANDHIE.model, burst)
    beyond = _out_of_range(randhie, features[RANDHIE.burst_column], RANDHIE.burst_column)
    assert 0 < int(beyond.sum()) <= injected["inject"]["rows"]
    assert set(features.loc[beyond, RANDHIE.entity_id]) <= set(injected["inject"]["entities"])
    assert _flags(randhie, burst) == {f"out_of_range:{RANDHIE.burst_column}": int(beyond.sum())}
    flagged = _predictions(randhie, burst)
    flagged = flagged.loc[flagged[Column.FLAGS] != "", RANDHIE.entity_id]
    assert sorted(flagged) == sorted(features.loc[beyond, RANDHIE.entity_id])


def test_duplicates_keep_the_latest_row_and_do_not_count_against_the_quarantine_limit(randhie):
    ds = "2026-03-17"
    day = randhie["laid_out"]["days"][ds]
    resent = day["inject"]["entities"]
    predictions = _predictions(randhie, ds)
    ids = predictions[RANDHIE.entity_id]
    assert ids.is_unique and len(predictions) == day["labels"]
    features = read_partition(randhie["storage"], Dataset.FEATURES, RANDHIE.model, ds)
    latest = features.groupby(RANDHIE.entity_id)[RANDHIE.timestamp].max()
    kept = predictions[ids.isin(resent)].set_index(RANDHIE.entity_id)[RANDHIE.timestamp]
    assert len(kept) == len(resent) and (kept == latest[kept.index]).all()
    quarantined = _quarantine(randhie, ds)
    assert sorted(quarantined[RANDHIE.entity_id]) == resent
    assert set(quarantined[Column.QUARANTINE_REASON]) == {SUPERSEDED_REASON}
    superseded = quarantined.set_index(RANDHIE.entity_id)[RANDHIE.timestamp]
    assert (superseded < latest[superseded.index]).all()
    summary = _summary(randhie, ds)
    assert summary["reasons"] == {SUPERSEDED_REASON: len(resent)} and summary["rows_duplicate"] == len(resent)
    # Above max_quarantine_fraction, yet published: superseded rows do not count against it.
    assert summary["quarantine_share"] > MAX_QUARANTINE


def test_future_timestamps_are_quarantined_with_a_named_reason(randhie):
    ds = "2026-03-18"
    injected = randhie["laid_out"]["days"][ds]["inject"]
    quarantined = _quarantine(randhie, ds)
    assert sorted(quarantined[RANDHIE.entity_id]) == injected["entities"]
    # "timestamp in the future" (after the run) or, once the wall clock passes the stamps
    # (2027-04), "timestamp outside ds=... by more than 24 h": the first check that fails wins.
    reasons = set(quarantined[Column.QUARANTINE_REASON])
    assert len(reasons) == 1 and reasons <= {FUTURE_REASON, outside_day_reason(ds, 24)}
    end_of_day = dt.datetime.fromisoformat(ds).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    assert (quarantined[RANDHIE.timestamp] >= end_of_day + FUTURE_OFFSET - dt.timedelta(days=1)).all()
    assert not _predictions(randhie, ds)[RANDHIE.entity_id].isin(injected["entities"]).any()
    summary = _summary(randhie, ds)
    assert summary["rows_timestamp"] == summary["rows_quarantined"] == injected["rows"]


def test_inf_is_quarantined_with_a_named_reason(randhie):
    ds = "2026-03-19"
    day = randhie["laid_out"]["days"][ds]
    quarantined = _quarantine(randhie, ds)
    assert sorted(quarantined[RANDHIE.entity_id]) == day["inject"]["entities"]
    assert set(quarantined[Column.QUARANTINE_REASON]) == {f"infinite value: {RANDHIE.inf_column}"}
    assert len(_predictions(randhie, ds)) == day["rows"] - day["inject"]["rows"]
    summary = _summary(randhie, ds)
    assert summary["rows_infinite"] == summary["rows_quarantined"] == day["inject"]["rows"]


# -- regression score summaries on the real range ---------------------------------------------------


def test_regression_score_summary_is_on_the_real_range(randhie):
    contract = randhie["contract"]
    low, high = contract["score_min"], contract["score_max"]
    assert high > 1  # visits: a [0, 1] histogram would put most scores in the overflow
    scoring_runs = _scoring_runs(randhie)
    for ds in _days(RANDHIE_RANGE[0], "2026-03-21"):
        summary, predictions = _summary(randhie, ds), _predictions(randhie, ds)
        assert summary["score_range"] == [low, high]
        scores = predictions[Column.SCORE]
        assert summary["score_min"] == pytest.approx(scores.min())
        assert summary["score_max"] == pytest.approx(scores.max())
        assert summary["score_max"] > 1
        binned = sum(summary["histogram"]) + summary["score_underflow"] + summary["score_overflow"]
        assert binned == summary["rows_scored"]
        assert summary["score_overflow"] < 0.05 * summary["rows_scored"]
        quantiles = [summary[f"score_p{q}"] for q in (10, 25, 50, 75, 90)]
        assert summary["score_min"] <= quantiles[0] <= quantiles[-1] <= summary["score_max"]
        assert quantiles == sorted(quantiles) and quantiles[-1] > 1  # not clipped to [0, 1]
        # Interpolated inside a bin: near the exact quantiles of the scores.
        width = (high - low) / len(summary["histogram"])
        for q, value in zip((0.1, 0.25, 0.5, 0.75, 0.9), quantiles, strict=True):
            assert abs(value - scores.quantile(q)) <= width, (ds, q)
        metrics = scoring_runs[ds].data.metrics
        assert metrics["score_p50"] == pytest.approx(summary["score_p50"])
        assert metrics["score_max"] == pytest.approx(summary["score_max"])


@pytest.mark.parametrize("pipeline", ["fair", "randhie"])
def test_monitor_detects_drift_on_the_shifted_column(pipeline, request):
    run = request.getfixturevalue(pipeline)
    dataset, summary = run["dataset"], run["monitor_summary"]
    features = summary["drift"]["features"]
    drifted = {c["column"]: c for c in features["columns"]}
    assert drifted[dataset.drift_column]["drifted"], drifted[dataset.drift_column]
    # The shifted column stands out; the others move by sampling noise only (a day is a few
    # hundred rows: evidently's default distance thresholds flag some of them now and then).
    shifted = drifted.pop(dataset.drift_column)["score"]
    assert all(c["score"] < shifted / 10 for c in drifted.values()), drifted
    assert dataset.drift_column in features["drifted_columns"]
    assert features["n_columns"] == len(dataset.features)
    # The shifted values lie beyond the training range: the quality check says so (a warning).
    issues = {(i["check"], i["column"]) for i in summary["quality"]["issues"]}
    assert ("out_of_range", dataset.drift_column) in issues
    assert not summary["quality"]["failed"]
    monitors = [r for r in _mlflow_runs(run, RunKind.MONITOR) if r.data.tags[Tag.DS] == DRIFTED]
    assert len(monitors) == 1
    assert monitors[0].data.metrics[f"drift_score.{dataset.drift_column}"] == pytest.approx(shifted)
    # Live performance on the labels that arrived by the day (predictions of Mar 16 and 17).
    # Labels join predictions on (entity, timestamp): a re-sent entity's prediction (the kept,
    # latest row, see the duplicates test) has no label; its label is keyed on the first row.
    days = [run["laid_out"]["days"][d] for d in ("2026-03-16", "2026-03-17")]
    resent = sum(len(d["inject"]["entities"]) for d in days if d["inject"].get("kind") == "duplicates")
    performance = summary["performance"]
    assert performance["rows"] == sum(d["labels"] for d in days) - resent
    assert (resent > 0) is (dataset is RANDHIE)
    assert performance["status"] == "ok" and performance["higher_is_better"] is (dataset is FAIR)
