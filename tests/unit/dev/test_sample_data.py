"""The synthetic churn generator: schema, determinism, delayed labels, drift, noise, corruption."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.config import load_config
from include.dev import sample_data as sd
from include.platform.partitions import list_partitions, read_manifest, read_partition
from include.platform.storage import LocalStorage

PROJECT = Path(__file__).resolve().parents[3]
START = dt.date(2026, 1, 1)
SMALL = {"customers": 1200, "rows_per_day": 400}


@pytest.fixture(scope="module")
def config():
    return load_config(PROJECT / "include" / "models" / "churn.yaml")


@pytest.fixture(scope="module")
def clean_frames():
    """20 days with the default pool and volume: what the pipeline trains on."""
    return sd.generate_frames(START, 20)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def on_or_after(frame: pd.DataFrame, when: dt.date) -> pd.Series:
    return frame["event_ts"] >= pd.Timestamp(when, tz="UTC")


# -- determinism ------------------------------------------------------------------------------


def test_same_arguments_give_identical_frames():
    f1, l1 = sd.generate_day(day(3), seed=11, **SMALL)
    f2, l2 = sd.generate_day("2026-01-04", seed=11, **SMALL)
    pd.testing.assert_frame_equal(f1, f2)
    pd.testing.assert_frame_equal(l1, l2)


def test_different_seed_or_day_gives_different_frames():
    base, _ = sd.generate_day(day(3), seed=11, **SMALL)
    other_seed, _ = sd.generate_day(day(3), seed=12, **SMALL)
    other_day, _ = sd.generate_day(day(4), seed=11, **SMALL)
    assert not base.equals(other_seed)
    assert not base.equals(other_day)
    assert set(base["customer_id"]) != set(other_day["customer_id"])


def test_customer_traits_are_stable_across_days():
    """Same customer on two days: contract, plan and region stay, tenure does not go down."""
    f1, _ = sd.generate_day(day(0), **SMALL)
    f2, _ = sd.generate_day(day(40), **SMALL)
    both = f1.merge(f2, on="customer_id", suffixes=("_a", "_b"))
    assert len(both) > 50
    for column in ("contract_type", "plan_tier", "region", "discount_pct"):
        assert (both[f"{column}_a"] == both[f"{column}_b"]).all(), column
    assert (both["tenure_months_b"] >= both["tenure_months_a"]).all()
    assert (both["tenure_months_b"] - both["tenure_months_a"]).mean() > 0.9  # ~1.3 months later


# -- schema and values --------------------------------------------------------------------------


def test_schema_matches_the_churn_config(config):
    features, labels = sd.generate_day(day(0), **SMALL)
    expected = [config.entity_id, config.timestamp, *config.features.numeric, *config.features.categorical]
    assert list(features.columns) == expected == sd.FEATURE_COLUMNS
    assert list(labels.columns) == [config.entity_id, config.timestamp, config.target]
    assert str(features["event_ts"].dtype) == "datetime64[ns, UTC]"
    assert str(labels["event_ts"].dtype) == "datetime64[ns, UTC]"
    assert labels["churned"].dtype == np.int64
    assert set(labels["churned"].unique()) <= {0, 1}
    for column in config.features.numeric:
        assert features[column].dtype == np.float64, column
    for column, allowed in config.features.allowed_values.items():
        assert set(features[column].dropna()) <= set(allowed), column
    for column in config.features.categorical:
        assert set(features[column].dropna()) <= set(sd.CATEGORIES[column]), column
    for column, (low, high) in config.features.ranges.items():
        assert features[column].dropna().between(low, high).all(), column


def test_rows_are_one_snapshot_per_customer_within_the_day():
    features, labels = sd.generate_day(day(5), **SMALL)
    assert len(features) == len(labels) == SMALL["rows_per_day"]
    assert features["customer_id"].is_unique
    assert features["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert (features["event_ts"].dt.date == day(5)).all()
    assert features["event_ts"].is_monotonic_increasing
    # Labels refer to exactly the snapshots' as-of times.
    pd.testing.assert_frame_equal(labels[["customer_id", "event_ts"]], features[["customer_id", "event_ts"]])


def test_values_are_plausible(clean_frames, config):
    features, _ = clean_frames
    assert features["tenure_months"].between(0, 120).all()
    assert features["monthly_charges"].between(20, 150).all()
    assert features["discount_pct"].between(0, 40).all()
    assert (features["total_charges"].dropna() >= 0).all()
    for column in ("support_tickets_90d", "days_since_last_login", "logins_30d", "late_payments_12m"):
        values = features[column].dropna()
        assert (values >= 0).all() and (values == values.round()).all(), column
    tenured = features.dropna(subset=["total_charges"]).query("tenure_months >= 3")
    ratio = tenured["total_charges"] / (tenured["tenure_months"] * tenured["monthly_charges"])
    assert 0.95 < ratio.median() < 1.05
    assert (features.loc[features["days_since_last_login"] > 30, "logins_30d"] == 0).all()
    # Some missing values in a few numeric columns and one categorical, all under the config's cap.
    nulls = features.isna().mean()
    numeric_with_nulls = [c for c in config.features.numeric if nulls[c] > 0]
    assert len(numeric_with_nulls) >= 3
    assert all(0.01 < nulls[c] < 0.06 for c in numeric_with_nulls)
    assert 0.003 < nulls["payment_method"] < 0.02
    assert (nulls < config.features.max_null_fraction).all()
    assert nulls[["customer_id", "event_ts", "contract_type", "region"]].sum() == 0


# -- labels -------------------------------------------------------------------------------------


def test_positive_rate_is_imbalanced_but_learnable(clean_frames):
    features, labels = clean_frames
    rate = labels["churned"].mean()
    assert 0.08 <= rate <= 0.25
    assert 0.12 <= rate <= 0.18  # the calibration target
    by_contract = labels.groupby(features["contract_type"])["churned"].mean()
    assert by_contract["month_to_month"] > 2 * by_contract["one_year"] > 2 * by_contract["two_year"]
    by_login = labels.groupby(features["days_since_last_login"] > 14)["churned"].mean()
    assert by_login[True] > 1.5 * by_login[False]


def test_gradient_boosting_reaches_the_target_auc(clean_frames):
    """The documented claim: a reasonable GBM gets ROC AUC ~0.80-0.90 on clean data."""
    pytest.importorskip("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    features, labels = clean_frames
    X = features[sd.NUMERIC + sd.CATEGORICAL].copy()
    for column in sd.CATEGORICAL:
        X[column] = X[column].astype(pd.CategoricalDtype(sd.CATEGORIES[column]))
    # Train on the first week, score the third: the relation holds over time.
    train = ~on_or_after(features, day(7))
    test = on_or_after(features, day(14))
    model = HistGradientBoostingClassifier(
        max_iter=60, max_leaf_nodes=15, early_stopping=False, categorical_features="from_dtype", random_state=0
    )
    with threadpool_limits(1):  # OpenMP threads crawl on a busy machine
        model.fit(X[train], labels["churned"][train])
        auc = roc_auc_score(labels["churned"][test], model.predict_proba(X[test])[:, 1])
    assert 0.80 <= auc <= 0.92, auc


# -- drift and noise ----------------------------------------------------------------------------


def test_covariate_drift_shifts_features_only_from_the_drift_day():
    drift_day = day(5)
    clean_f, clean_l = sd.generate_frames(START, 10, **SMALL)
    drift_f, drift_l = sd.generate_frames(START, 10, covariate_drift_from=drift_day, **SMALL)
    before = ~on_or_after(clean_f, drift_day)
    pd.testing.assert_frame_equal(drift_f[before], clean_f[before])
    pd.testing.assert_frame_equal(drift_l[before], clean_l[before])
    after = ~before
    old, new = clean_f[after], drift_f[after]
    assert new["monthly_charges"].mean() > 1.15 * old["monthly_charges"].mean()
    assert new["days_since_last_login"].mean() > 1.6 * old["days_since_last_login"].mean()
    assert (new["payment_method"] == "check").mean() > (old["payment_method"] == "check").mean() + 0.2
    assert (new["region"] == "south").mean() > (old["region"] == "south").mean() + 0.15
    # Before the drift day the same comparison shows no shift.
    pre = drift_f[before]["monthly_charges"].mean() / clean_f[before]["monthly_charges"].mean()
    assert pre == pytest.approx(1.0)
    # P(churn | features) is unchanged, so churn rises with the riskier features.
    assert drift_l[after]["churned"].mean() > clean_l[after]["churned"].mean()


def test_concept_drift_changes_labels_not_features():
    drift_day = day(3)
    clean_f, clean_l = sd.generate_frames(START, 12, **SMALL)
    drift_f, drift_l = sd.generate_frames(START, 12, concept_drift_from=drift_day, **SMALL)
    pd.testing.assert_frame_equal(drift_f, clean_f)  # features bit-for-bit unchanged
    for column in sd.NUMERIC:  # (so means are trivially within a few %)
        assert drift_f[column].mean() == pytest.approx(clean_f[column].mean(), rel=0.03)
    before = ~on_or_after(clean_f, drift_day)
    pd.testing.assert_frame_equal(drift_l[before], clean_l[before])
    after = ~before
    old = clean_l[after].groupby(clean_f[after]["contract_type"])["churned"].mean()
    new = drift_l[after].groupby(drift_f[after]["contract_type"])["churned"].mean()
    assert old["month_to_month"] > 3 * old["two_year"]
    assert new["two_year"] > 3 * new["month_to_month"]  # the contract effect reversed
    assert 0.08 <= drift_l[after]["churned"].mean() <= 0.25


def test_label_noise_flips_the_requested_share_from_its_day():
    noise_day = day(4)
    _, clean_l = sd.generate_frames(START, 12, **SMALL)
    _, noisy_l = sd.generate_frames(START, 12, label_noise_from=noise_day, label_noise=0.2, **SMALL)
    before = ~on_or_after(clean_l, noise_day)
    assert (noisy_l[before]["churned"] == clean_l[before]["churned"]).all()
    flipped = (noisy_l[~before]["churned"] != clean_l[~before]["churned"]).mean()
    assert flipped == pytest.approx(0.2, abs=0.02)
    assert (noisy_l[["customer_id", "event_ts"]] == clean_l[["customer_id", "event_ts"]]).all().all()


# -- corruption ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sd.CORRUPT_KINDS)
def test_corrupt_kinds_break_only_that_days_features(kind):
    bad_day = day(1)
    corrupt = {"day": bad_day.isoformat(), "kind": kind}
    clean_f, clean_l = sd.generate_day(bad_day, **SMALL)
    bad_f, bad_l = sd.generate_day(bad_day, corrupt=corrupt, **SMALL)
    pd.testing.assert_frame_equal(bad_l, clean_l)  # labels stay clean
    other_f, _ = sd.generate_day(day(2), corrupt=corrupt, **SMALL)
    pd.testing.assert_frame_equal(other_f, sd.generate_day(day(2), **SMALL)[0])
    if kind == "nulls":
        assert bad_f["tenure_months"].isna().mean() == pytest.approx(0.5, abs=0.01)
    elif kind == "out_of_range":
        negative = (bad_f["monthly_charges"] < 0).mean()
        assert 0.2 <= negative <= 0.3
        assert (clean_f["monthly_charges"] > 0).all()
    elif kind == "drop_column":
        assert "contract_type" not in bad_f.columns
        assert list(bad_f.columns) == [c for c in clean_f.columns if c != "contract_type"]
    elif kind == "bad_category":
        assert (bad_f["contract_type"] == "lifetime").mean() == pytest.approx(0.2, abs=0.01)
        assert set(bad_f["contract_type"]) - set(sd.CATEGORIES["contract_type"]) == {"lifetime"}
    untouched = [c for c in clean_f.columns if c not in {"tenure_months", "monthly_charges", "contract_type"}]
    pd.testing.assert_frame_equal(bad_f[untouched], clean_f[untouched])


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="corrupt kind"):
        sd.generate_day(day(0), corrupt={"day": day(0), "kind": "gremlins"}, **SMALL)
    with pytest.raises(ValueError, match="cannot exceed customers"):
        sd.generate_day(day(0), customers=100, rows_per_day=200)
    with pytest.raises(ValueError, match="label_noise"):
        sd.generate_day(day(0), label_noise=1.5, **SMALL)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        sd.generate_day("yesterday", **SMALL)


# -- publishing ---------------------------------------------------------------------------------


def test_write_publishes_features_daily_and_labels_after_the_delay(tmp_path):
    storage = LocalStorage(tmp_path)
    summary = sd.write_sample_data(storage, start=START, days=10, label_delay_days=7, **SMALL)
    features_ds = list_partitions(storage, "features", "churn")
    labels_ds = list_partitions(storage, "labels", "churn")
    assert features_ds == [day(i).isoformat() for i in range(10)]
    # Days 0-2 arrive on days 7-9; days 3-9 would arrive after the last day: not written yet.
    assert labels_ds == [day(i).isoformat() for i in (7, 8, 9)]
    assert summary["feature_partitions"] == 10 and summary["feature_rows"] == 10 * SMALL["rows_per_day"]
    assert summary["label_partitions"] == 3 and summary["label_rows"] == 3 * SMALL["rows_per_day"]
    assert summary["label_days"] == [day(7).isoformat(), day(9).isoformat()]
    assert 0.05 < summary["positive_rate"] < 0.3
    for snapshot in range(3):
        labels = read_partition(storage, "labels", "churn", day(snapshot + 7))
        features = read_partition(storage, "features", "churn", day(snapshot))
        assert (labels["event_ts"].dt.date == day(snapshot)).all()  # as-of time, not arrival time
        joined = features.merge(labels, on=["customer_id", "event_ts"], how="inner")
        assert len(joined) == len(labels) == len(features)
        expected_f, expected_l = sd.generate_day(day(snapshot), **SMALL)
        pd.testing.assert_frame_equal(features, expected_f)
        pd.testing.assert_frame_equal(labels, expected_l)
    manifest = read_manifest(storage, "labels", "churn", day(7))
    assert manifest.meta["snapshot_day"] == day(0).isoformat()


def test_rewrite_replaces_partitions_whole(tmp_path):
    storage = LocalStorage(tmp_path)
    args = {"start": START, "days": 9, "label_delay_days": 3, "seed": 3, **SMALL}
    sd.write_sample_data(storage, **args)
    files_before = storage.list()
    rows_before = {
        (ds_name, ds): read_manifest(storage, ds_name, "churn", ds).rows
        for ds_name in ("features", "labels")
        for ds in list_partitions(storage, ds_name, "churn")
    }
    first = read_partition(storage, "labels", "churn", day(5))
    sd.write_sample_data(storage, **args)
    files_after = storage.list()
    rows_after = {
        (ds_name, ds): read_manifest(storage, ds_name, "churn", ds).rows
        for ds_name in ("features", "labels")
        for ds in list_partitions(storage, ds_name, "churn")
    }
    assert rows_after == rows_before
    assert len(rows_after) == 9 + 6
    assert len(files_after) == len(files_before) == 2 * (9 + 6)  # one data file + manifest each
    pd.testing.assert_frame_equal(read_partition(storage, "labels", "churn", day(5)), first)


def test_write_can_corrupt_one_day(tmp_path):
    storage = LocalStorage(tmp_path)
    summary = sd.write_sample_data(
        storage, start=START, days=3, corrupt={"day": day(1), "kind": "drop_column"}, **SMALL
    )
    assert "contract_type" in read_partition(storage, "features", "churn", day(0)).columns
    assert "contract_type" not in read_partition(storage, "features", "churn", day(1)).columns
    assert summary["options"]["corrupt"] == [{"day": day(1).isoformat(), "kind": "drop_column"}]


# -- CLI and import hygiene ---------------------------------------------------------------------


def _cli():
    spec = importlib.util.spec_from_file_location("generate_data", PROJECT / "scripts" / "generate_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_and_summarises(tmp_path, capsys):
    cli = _cli()
    argv = ["--data-root", str(tmp_path), "--start", "2026-02-01", "--days", "4", "--label-delay-days", "2"]
    argv += ["--rows-per-day", "300", "--customers", "900", "--concept-drift-from", "2026-02-03"]
    assert cli.main([*argv, "--model", "churn"]) == 0
    out = capsys.readouterr().out
    assert "4 feature partitions" in out and "2 label partitions" in out and str(tmp_path) in out
    assert "concept drift from 2026-02-03" in out and "churned" in out
    storage = LocalStorage(tmp_path)
    assert list_partitions(storage, "labels", "churn") == ["2026-02-03", "2026-02-04"]
    assert list_partitions(storage, "labels", "delivery_time") == []
    assert cli.main([*argv, "--model", "churn", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["churn"]
    assert summary["label_rows"] == 600 and summary["options"]["concept_drift_from"] == "2026-02-03"


def test_cli_writes_every_sample_model_by_default(tmp_path, capsys):
    cli = _cli()
    argv = ["--data-root", str(tmp_path), "--start", "2026-02-01", "--days", "5", "--rows-per-day", "200"]
    assert cli.main([*argv, "--customers", "400", "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert sorted(summaries) == ["churn", "delivery_time"]
    storage = LocalStorage(tmp_path)
    # Each model's own label delay: churn 7 days (none arrived in 5 days), delivery_time 2.
    assert list_partitions(storage, "labels", "churn") == []
    assert list_partitions(storage, "labels", "delivery_time") == ["2026-02-03", "2026-02-04", "2026-02-05"]
    assert summaries["delivery_time"]["label_rows"] == 600 and summaries["delivery_time"]["mean_target"] > 10
    assert cli.main([*argv, "--customers", "400", "--model", "delivery_time"]) == 0
    assert "mean" in capsys.readouterr().out


def test_cli_label_noise_defaults_to_the_start_day(tmp_path, capsys):
    cli = _cli()
    argv = ["--data-root", str(tmp_path), "--days", "2", "--rows-per-day", "100", "--customers", "200"]
    assert cli.main([*argv, "--label-delay-days", "0", "--label-noise", "0.3", "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert {s["options"]["label_noise_from"] for s in summaries.values()} == {"2026-01-01"}
    with pytest.raises(SystemExit):
        cli.main([*argv, "--start", "2026-13-01"])


def test_module_import_is_light():
    code = "import sys, include.dev.sample_data; assert 'pandas' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT, check=True)
