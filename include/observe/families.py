"""The series one run pushes, built from the summaries the pipelines write (plain dicts):

* monitor: ``reports/<model>/monitor/ds=<ds>/summary.json`` (``include/monitor/report.py``);
* batch scoring: each published date's summary, as the predictions manifest keeps it in
  ``meta["summary"]`` (``include/score/summary.py``, ``include/score/publish.py``);
* deploy: the audit trail's deployments of the model (``AuditStore.history``), newest first.

Numbers are taken as the summaries hold them, so the dashboard shows what the reports say.
Nothing here knows Prometheus's client: ``include/observe/push.py`` turns the series into
metric families.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from include.contracts import CHAMPION
from include.observe import names
from include.observe.names import Metric
from include.platform.audit import SUCCEEDED


@dataclass(frozen=True)
class Series:
    """One sample: a metric, its labels (model and version included) and its value."""

    metric: Metric
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def day_timestamp(ds: str) -> float:
    """Midnight UTC of ``ds`` (YYYY-MM-DD) as Unix time: what Grafana shows as a date."""
    return dt.datetime.combine(dt.date.fromisoformat(ds), dt.time(), dt.UTC).timestamp()


def iso_timestamp(value: Any) -> float | None:
    """Unix time of an ISO datetime string or a datetime (naive: UTC); None when absent."""
    if value in (None, ""):
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


class _Builder:
    """Collects the series of one push, all labelled with its model and version."""

    def __init__(self, model: str, version: str | None) -> None:
        self.base = {names.MODEL_LABEL: model, names.VERSION_LABEL: str(version or "")}
        self.series: list[Series] = []

    def add(self, metric: Metric, value: Any, /, **labels: str) -> None:
        if value is None or isinstance(value, str):
            return
        self.series.append(Series(metric, float(value), {**self.base, **labels}))


def monitor_series(summary: Mapping[str, Any], pushed_at: float) -> list[Series]:
    """A monitor run's numbers: drift share and flags per column, live metric, quality issues,
    the retrain decision, the checked day and the champion's training time."""
    out = _Builder(summary["model"], summary.get("champion_version"))
    out.add(names.LAST_SUCCESS, pushed_at)
    out.add(names.MONITOR_DS, day_timestamp(summary["ds"]))
    out.add(names.CHAMPION_TRAINED, iso_timestamp(summary.get("champion_created")))
    out.add(names.QUALITY_ISSUES, len((summary.get("quality") or {}).get("issues") or []))
    out.add(names.RETRAIN, bool((summary.get("decision") or {}).get("retrain")))
    drift = summary.get("drift") or {}
    features = drift.get("features") or {}
    if features:
        out.add(names.DRIFT_SHARE, features["share_drifted"])
        out.add(names.DATASET_DRIFT, bool(features["dataset_drift"]))
        for column in features.get("columns") or []:
            out.add(names.COLUMN_DRIFT, bool(column["drifted"]), column=column["column"])
            out.add(names.COLUMN_DRIFT_SCORE, column["score"], column=column["column"])
    if drift.get("prediction"):
        out.add(names.PREDICTION_DRIFT_SCORE, drift["prediction"]["score"])
    performance = summary.get("performance") or {}
    if performance.get("value") is not None:
        out.add(names.LIVE_METRIC, performance["value"], metric=str(performance["metric"]))
        out.add(names.LABELLED_ROWS, performance.get("rows"))
    return out.series


def _rows_per_second(summaries: Iterable[Mapping[str, Any]]) -> float | None:
    """Rows per second of model time over the dates: ``latency_ms_per_1k`` is that time per
    1,000 rows in ms (``sum(score_seconds) * 1e6 / rows_scored``), so seconds = rows * it / 1e6."""
    rows = seconds = 0.0
    for s in summaries:
        if s.get("latency_ms_per_1k") is not None and s.get("rows_scored"):
            rows += s["rows_scored"]
            seconds += s["rows_scored"] * s["latency_ms_per_1k"] / 1e6
    return rows / seconds if seconds > 0 else None


def scoring_series(
    model: str,
    version: str,
    dates: Mapping[str, Mapping[str, Any]],
    failed: Iterable[str] = (),
    *,
    pushed_at: float,
) -> list[Series]:
    """A scoring run's numbers, summed over the dates it published (``{ds: manifest summary}``;
    a daily run publishes one): rows in / scored / quarantined / flagged, rows per second,
    published and failed dates, and the last published day."""
    out = _Builder(model, version)
    out.add(names.LAST_SUCCESS, pushed_at)
    out.add(names.SCORING_DATES, len(dates), outcome="published")
    out.add(names.SCORING_DATES, len(list(failed)), outcome="failed")
    if dates:
        out.add(names.SCORING_DS, day_timestamp(max(dates)))
    for metric, key in (
        (names.ROWS_IN, "rows_in"),
        (names.ROWS_SCORED, "rows_scored"),
        (names.ROWS_QUARANTINED, "rows_quarantined"),
        (names.ROWS_FLAGGED, "rows_flagged"),
    ):
        out.add(metric, sum(int(s.get(key) or 0) for s in dates.values()))
    out.add(names.ROWS_PER_SECOND, _rows_per_second(dates.values()))
    return out.series


def deploy_series(
    model: str, champion: str, action: str, history: list[dict[str, Any]], pushed_at: float
) -> list[Series]:
    """A deploy move's numbers from the audit trail (``history``: the model's deployments):
    succeeded stage changes by target stage (a count of the trail: a rerun recounts the same
    rows), the champion's version and when ``champion`` last became champion by ``action``."""
    out = _Builder(model, champion)
    out.add(names.LAST_SUCCESS, pushed_at)
    succeeded = [row for row in history if row.get("status") == SUCCEEDED]
    counts: dict[str, int] = {}
    for row in succeeded:
        counts[row["to_stage"]] = counts.get(row["to_stage"], 0) + 1
    for stage, count in sorted(counts.items()):
        out.add(names.STAGE_CHANGES, count, to_stage=stage)
    if str(champion).isdigit():
        out.add(names.CHAMPION_VERSION, int(champion))
    made = [r for r in succeeded if str(r["version"]) == str(champion) and r["to_stage"] == CHAMPION]
    moved_at = max((iso_timestamp(r.get("finished_at") or r.get("created_at")) or 0.0 for r in made), default=None)
    out.add(names.LAST_MOVE, moved_at, action=action)
    return out.series
