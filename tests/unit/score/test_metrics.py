"""The scoring run's Prometheus series (include/observe/families.py) from the summaries the
predictions manifests really hold (``meta["summary"]``) after a real scoring run."""

from __future__ import annotations

import datetime as dt

import pytest

from include.observe import names
from include.observe.families import scoring_series
from include.platform import partitions as P
from include.score.writer import PREDICTIONS
from tests.unit.score.helpers import CHAMPION, DS, DS2, MODEL, day_features, publish_features, run_scoring

pytestmark = pytest.mark.usefixtures("one_thread")


def _value(series, metric, **labels) -> float:
    (value,) = [s.value for s in series if s.metric is metric and labels.items() <= s.labels.items()]
    return value


def test_series_sum_the_published_dates_of_the_manifests(storage, config, model, contract) -> None:
    dirty = day_features(DS, 600)
    dirty.loc[:4, config.entity_id] = None  # quarantined: null key
    publish_features(storage, DS, dirty)
    publish_features(storage, DS2, day_features(DS2, 500))
    run_scoring(storage, config, [DS, DS2], "manual__1", model, contract)
    manifests = {ds: P.read_manifest(storage, PREDICTIONS, MODEL, ds) for ds in (DS, DS2)}
    summaries = {ds: m.meta["summary"] for ds, m in manifests.items() if m is not None}
    assert summaries[DS]["rows_quarantined"] == 5

    series = scoring_series(MODEL, CHAMPION.version, summaries, failed=["2026-02-09"], pushed_at=1.0)
    assert {s.labels["model"] for s in series} == {MODEL} and {s.labels["version"] for s in series} == {
        CHAMPION.version
    }
    for metric, key in (
        (names.ROWS_IN, "rows_in"),
        (names.ROWS_SCORED, "rows_scored"),
        (names.ROWS_QUARANTINED, "rows_quarantined"),
        (names.ROWS_FLAGGED, "rows_flagged"),
    ):
        assert _value(series, metric) == sum(s[key] for s in summaries.values())
    assert _value(series, names.ROWS_SCORED) == 1095
    # Rows per second of model time: each date's latency_ms_per_1k is its seconds per 1,000 rows.
    seconds = sum(s["rows_scored"] * s["latency_ms_per_1k"] / 1e6 for s in summaries.values())
    assert _value(series, names.ROWS_PER_SECOND) == pytest.approx(1095 / seconds)
    assert _value(series, names.SCORING_DATES, outcome="published") == 2
    assert _value(series, names.SCORING_DATES, outcome="failed") == 1
    assert _value(series, names.SCORING_DS) == dt.datetime.fromisoformat(f"{DS2}T00:00:00+00:00").timestamp()
