"""Which day partitions a run covers: Params first, else the run's data interval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.errors import ParamError


def _date(name: str, value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ParamError(f"Param {name} must be a YYYY-MM-DD date, got {value!r}") from exc


def partition_dates(ds: str | None, ds_end: str | None, interval_start: Any, run_after: Any) -> list[str]:
    """The partitions a run scores: Params first, else the run's data interval start date."""
    if ds:
        first = _date("ds", ds)
    elif interval_start is not None:
        first = interval_start.date()
    elif run_after is not None:
        first = run_after.date() - dt.timedelta(days=1)
    else:
        raise ParamError("no ds Param, data interval or run_after to choose the partition")
    last = _date("ds_end", ds_end) if ds_end else first
    if last < first:
        raise ParamError(f"Param ds_end {last} is before ds {first}")
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
