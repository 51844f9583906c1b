"""Publishing generated days, shared by the sample data generators (churn, delivery time).

Day D's features go to ``features/<model>/ds=D``; its labels to ``labels/<model>/ds=D+delay``,
which then holds exactly day D's labels. Labels that would arrive after the last generated day
are not written (not arrived yet). Each partition is replaced whole, so a re-run with the same
arguments gives the same data.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from include.contracts import Dataset

if TYPE_CHECKING:  # pandas is imported by the generators, not at DAG parse time
    import pandas as pd

GenerateDay = Callable[[dt.date], "tuple[pd.DataFrame, pd.DataFrame]"]


def as_date(value: Any, name: str = "day") -> dt.date:
    """A date from a date, a datetime or ``YYYY-MM-DD``; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{name} must be a date or YYYY-MM-DD, got {value!r}") from exc


@dataclass
class DaysPublished:
    """What ``publish_days`` wrote: partitions, rows, and the labels' target sum."""

    start: dt.date
    days: int
    began: float = field(default_factory=time.perf_counter)
    feature_days: list[str] = field(default_factory=list)
    label_days: list[str] = field(default_factory=list)
    feature_rows: int = 0
    label_rows: int = 0
    target_sum: float = 0.0

    def summary(self, root: str, model: str, options: dict[str, Any]) -> dict[str, Any]:
        last = self.start + dt.timedelta(days=self.days - 1)
        return {
            "root": root,
            "model": model,
            "start": self.start.isoformat(),
            "end": (last + dt.timedelta(days=1)).isoformat(),
            "days": self.days,
            "feature_partitions": len(self.feature_days),
            "feature_rows": self.feature_rows,
            "feature_days": [self.feature_days[0], self.feature_days[-1]],
            "label_partitions": len(self.label_days),
            "label_rows": self.label_rows,
            "label_days": [self.label_days[0], self.label_days[-1]] if self.label_days else [],
            "options": options,
            "seconds": round(time.perf_counter() - self.began, 2),
        }


def publish_days(
    storage: Any,
    model: str,
    start: Any,
    days: int,
    label_delay_days: int,
    *,
    generate: GenerateDay,
    meta: dict[str, Any],
    target: str,
) -> DaysPublished:
    """Generate and publish ``days`` days from ``start`` (see the module docstring); ``meta`` is
    written beside each partition with the day's ``snapshot_day``."""
    from include.platform.partitions import publish_frame

    began = time.perf_counter()
    start = as_date(start, "start")
    if days < 1:
        raise ValueError(f"days must be positive, got {days!r}")
    if label_delay_days < 0:
        raise ValueError(f"label_delay_days must be >= 0, got {label_delay_days!r}")
    last = start + dt.timedelta(days=days - 1)
    published = DaysPublished(start=start, days=days, began=began)
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        features, labels = generate(day)
        day_meta = {**meta, "snapshot_day": day.isoformat()}
        publish_frame(storage, Dataset.FEATURES, model, day, features, meta=day_meta)
        published.feature_rows += len(features)
        published.feature_days.append(day.isoformat())
        arrival = day + dt.timedelta(days=label_delay_days)
        if arrival <= last:
            publish_frame(storage, Dataset.LABELS, model, arrival, labels, meta=day_meta)
            published.label_rows += len(labels)
            published.target_sum += float(labels[target].sum())
            published.label_days.append(arrival.isoformat())
    return published
