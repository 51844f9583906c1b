"""The monitor run's Prometheus series (include/observe/families.py) from the summary.json that
write_report really wrote: every number is the summary's."""

from __future__ import annotations

import datetime as dt

import pytest

from include.monitor.decision import decide
from include.monitor.drift_check import check_drift
from include.monitor.quality import check_quality
from include.monitor.reference import load_reference
from include.monitor.report import read_summary, write_report
from include.observe import names
from include.observe.families import monitor_series
from include.observe.push import exposition
from tests.unit.monitor.conftest import DRIFT_DS, MODEL


def _values(series, metric) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for s in series if s.metric is metric}


def test_series_from_the_written_summary(world) -> None:
    reference = load_reference(world.registry, world.config, DRIFT_DS)
    quality = check_quality(world.storage, world.registry, world.config, reference, DRIFT_DS)
    drift = check_drift(world.storage, world.registry, world.config, reference, DRIFT_DS)
    performance = {"rows": 250, "metric": "roc_auc", "status": "ok", "value": 0.77}
    decision = decide(world.config, reference, quality, drift, performance, 0, DRIFT_DS)
    write_report(world.storage, world.registry, world.config, reference, quality, drift, performance, decision)
    summary = read_summary(world.storage, MODEL, DRIFT_DS)

    series = monitor_series(summary, pushed_at=1_800_000_000.0)
    base = (("model", MODEL), ("version", world.version))
    features = summary["drift"]["features"]
    assert _values(series, names.DRIFT_SHARE) == {base: features["share_drifted"]}
    assert features["dataset_drift"] and _values(series, names.DATASET_DRIFT) == {base: 1.0}
    flags = {dict(k)["column"]: v for k, v in _values(series, names.COLUMN_DRIFT).items()}
    assert flags == {c["column"]: float(c["drifted"]) for c in features["columns"]} and 1.0 in flags.values()
    scores = {dict(k)["column"]: v for k, v in _values(series, names.COLUMN_DRIFT_SCORE).items()}
    assert scores == {c["column"]: pytest.approx(c["score"]) for c in features["columns"]}
    assert _values(series, names.LIVE_METRIC) == {(("metric", "roc_auc"), *base): 0.77}
    assert _values(series, names.LABELLED_ROWS) == {base: 250.0}
    assert _values(series, names.QUALITY_ISSUES) == {base: float(len(summary["quality"]["issues"]))}
    assert _values(series, names.RETRAIN) == {base: float(summary["decision"]["retrain"])}
    day = dt.datetime(*map(int, DRIFT_DS.split("-")), tzinfo=dt.UTC).timestamp()
    assert _values(series, names.MONITOR_DS) == {base: day}
    trained = dt.datetime.fromisoformat(reference["created"]).timestamp()
    assert summary["champion_created"] == reference["created"]
    assert _values(series, names.CHAMPION_TRAINED) == {base: trained}
    assert _values(series, names.LAST_SUCCESS) == {base: 1_800_000_000.0}
    # Only names of include/observe/names.py, each once per label set, in the text a scrape reads.
    assert {s.metric.name for s in series} <= names.EMITTED
    text = exposition(series)
    assert f'mlops_monitor_drift_share{{model="{MODEL}",version="{world.version}"}}' in text


def test_a_day_without_drift_or_labels_pushes_what_it_has() -> None:
    summary = {
        "model": MODEL,
        "ds": "2026-02-01",
        "champion_version": "3",
        "quality": {"issues": [{"check": "missing_column"}], "failed": True},
        "drift": None,
        "performance": {"rows": 0, "metric": "roc_auc", "status": "unknown"},
        "scoring": None,
        "decision": {"retrain": False},
    }
    got = {s.metric.name for s in monitor_series(summary, pushed_at=1.0)}
    # A summary written before champion_created existed has no training time: no series, no error.
    assert got == {
        names.LAST_SUCCESS.name,
        names.MONITOR_DS.name,
        names.QUALITY_ISSUES.name,
        names.RETRAIN.name,
    }
