"""The regression sample model ``delivery_time`` through Airflow (issue 11: regression is first class).

One life of the model, each step an ``airflow dags test`` run against a local MLflow store and
data root of this module: v1 trained (gates on rmse / mae as ceilings) and champion; v2 trained
on a later window (vs-champion gate in minutes) and challenger; three days batch-scored with v2
in shadow (score quantiles in minutes, not clipped to [0, 1]; agreement within the relative
tolerance); monitoring on delayed labels (the drop in rmse minutes, absolute); the promotion of v2
(shadow agreement and live rmse in the verdict).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from include.config import load_config
from include.platform.partitions import read_manifest, read_partition
from include.platform.registry import ModelRegistry
from tests.e2e.conftest import PROJECT, AirflowProject, isolated_state_env

MODEL = "delivery_time"
CONFIG_FILE = PROJECT / "include" / "models" / f"{MODEL}.yaml"
FIRST_END, SECOND_END = "2026-01-20", "2026-01-27"
SHADOW = ("2026-01-28", "2026-01-30")  # three days: enough shadow batches, rows and hours
LATENCY_LIMIT = 60_000  # ms per 1,000 rows: a loaded machine must not fail a gate or a criterion


def write_config(directory: Path) -> Path:
    """delivery_time.yaml, faster to train (fewer, larger boosting steps), latency limits relaxed."""
    data = yaml.safe_load(CONFIG_FILE.read_text())
    data["estimator"]["params"].update(max_iter=60, learning_rate=0.2)
    data["gates"]["max_latency_ms_per_1k"] = LATENCY_LIMIT
    data["deploy"]["max_latency_ms_per_1k"] = LATENCY_LIMIT
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return directory / CONFIG_FILE.name


class Life:
    """The module's Airflow project, environment and stores."""

    def __init__(self, project: AirflowProject, tmp: Path) -> None:
        from include.dev.delivery_data import write_delivery_data
        from include.platform.storage import LocalStorage

        self.project, self.tmp = project, tmp
        self.storage = LocalStorage(tmp / "data")
        # Orders of Jan 1 .. Feb 1; labels two days later (the last ones, of Jan 30, on Feb 1).
        write_delivery_data(self.storage, start=dt.date(2026, 1, 1), days=32, rows_per_day=600)
        config_path = write_config(tmp / "configs")
        self.config = load_config(config_path)
        tracking_uri = f"sqlite:///{tmp / 'mlflow.db'}"
        self.env = {
            "MLOPS_DATA_ROOT": self.storage.root,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MLOPS_MLFLOW_ARTIFACT_ROOT": str(tmp / "artifacts"),
            "MLOPS_CONFIG_DIR": str(config_path.parent),  # this model only: fewer DAGs to parse
            "MLOPS_NOTIFY_DIR": str(tmp / "notifications"),
            **isolated_state_env(tmp / "state"),
        }
        self.registry = ModelRegistry(tracking_uri)
        project.cli("pools", "set", "mlops_deploy", "1", "one promotion or rollback at a time", extra_env=self.env)

    def run(self, dag_id: str, conf: dict | None = None) -> None:
        result = self.project.run(dag_id, conf=conf, extra_env=self.env)
        assert result.succeeded, result.tail()

    def alias(self, alias: str) -> str | None:
        version = self.registry.alias_version(MODEL, alias)
        return str(version.version) if version is not None else None

    def report(self, *parts: str) -> dict:
        return json.loads(self.storage.read_text("/".join(["reports", MODEL, *parts, "summary.json"])))

    def notes(self) -> list[dict]:
        path = self.tmp / "notifications" / f"{MODEL}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def life(airflow_project, tmp_path_factory) -> Life:
    """v1 champion (window ending Jan 20), v2 challenger (Jan 27), Jan 28-30 scored with v2 in shadow."""
    life = Life(airflow_project, tmp_path_factory.mktemp("regression"))
    life.run(f"retrain_{MODEL}", {"window_end": FIRST_END, "reason": "e2e regression v1"})
    life.run(f"retrain_{MODEL}", {"window_end": SECOND_END, "reason": "e2e regression v2"})
    life.run(f"batch_score_{MODEL}", {"ds": SHADOW[0], "ds_end": SHADOW[1]})
    return life


def test_retrain_gates_rmse_and_mae_as_ceilings(life):
    assert (life.alias("champion"), life.alias("challenger")) == ("1", "2")
    first = life.report("retrain", f"window_end={FIRST_END}")
    results = {r["name"]: r for r in first["gates"]["results"]}
    assert first["gates"]["passed"] and {"max_rmse", "max_mae", "min_r2"} <= set(results)
    rmse = first["metrics"]["rmse"]
    assert 1 < rmse <= 6.0  # minutes
    assert results["max_rmse"]["detail"] == f"rmse {rmse:.4f} <= 6.0 (lower is better)"
    assert results["min_r2"]["detail"].endswith(">= 0.7 (higher is better)")
    zones = [r for name, r in results.items() if name.startswith("slice:zone:")]
    assert len(zones) == 4 and all(r["passed"] and r["detail"].endswith("rows") for r in zones)
    assert all("<= 7.0 (lower is better)" in r["detail"] for r in zones)
    second = life.report("retrain", f"window_end={SECOND_END}")
    regression = {r["name"]: r for r in second["gates"]["results"]}["no_regression"]
    # The challenger's rmse at most max_regression (0.5 minutes) above the champion's on the same hold-out.
    assert regression["passed"] and "lower is better" in regression["detail"]
    assert regression["value"] <= regression["threshold"]


def test_batch_score_quantiles_in_minutes_and_shadow_agreement_within_tolerance(life):
    for ds in [d.isoformat() for d in (dt.date(2026, 1, 28) + dt.timedelta(days=i) for i in range(3))]:
        summary = read_manifest(life.storage, "predictions", MODEL, ds).meta["summary"]
        scores = read_partition(life.storage, "predictions", MODEL, ds)["score"].to_numpy()
        assert len(scores) == 600 and (summary["score_min"], summary["score_max"]) == (scores.min(), scores.max())
        low, high = summary["score_range"]
        assert 5 < low < high < 200  # the hold-out's prediction range, in minutes
        quantiles = [summary[f"score_p{q}"] for q in (10, 25, 50, 75, 90)]
        assert scores.min() <= quantiles[0] < quantiles[2] < quantiles[4] <= scores.max()
        width = (high - low) / len(summary["histogram"])
        assert quantiles[2] == pytest.approx(np.median(scores), abs=width)  # not 0.975: not clipped
        shadow_scores = read_partition(life.storage, "shadow_predictions", MODEL, ds)
        champion = read_partition(life.storage, "predictions", MODEL, ds)
        paired = champion.merge(shadow_scores, on=["order_id", "order_ts"], suffixes=("", "_shadow"))
        within = (paired["score_shadow"] - paired["score"]).abs() <= 0.1 * paired["score"].abs()
        assert summary["shadow"]["version"] == "2"
        assert summary["shadow"]["agreement"] == pytest.approx(within.mean())
        assert summary["shadow"]["agreement"] >= 0.8


def test_monitor_reads_live_rmse_on_delayed_labels_in_minutes(life):
    life.run(f"monitor_{MODEL}", {"ds": SHADOW[1]})
    performance = life.report("monitor", f"ds={SHADOW[1]}")["performance"]
    # Predictions of Jan 28 whose labels arrived by Jan 30 (two days later).
    assert performance["metric"] == "rmse" and performance["rows"] == 600
    assert performance["higher_is_better"] is False and performance["mode"] == "absolute"
    assert performance["margin"] == 2.0  # minutes of rmse, beyond the [0, 1] of a bounded metric
    assert performance["drop"] == pytest.approx(performance["current"] - performance["reference"])
    assert 1 < performance["current"] < 10
    assert performance["flagged"] is (performance["drop"] > 2.0)
    assert "lower is better" in performance["message"]


def test_promotion_reads_agreement_within_tolerance_and_live_rmse(life):
    life.run(f"promote_{MODEL}")
    assert (life.alias("champion"), life.alias("challenger")) == ("2", None)
    body = next(n for n in reversed(life.notes()) if n["event"] == "promotion")["body"]
    assert "[PASS] min_agreement: agreement" in body and "(score within 10% of the champion's), needs 0.8" in body
    assert "[PASS] live_metric: live rmse" in body and "(lower is better); allowed regression 1.0" in body
