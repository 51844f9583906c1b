"""Row checks against the training scoring contract and the partition's day; the quarantine
file's schema.

Every row gets a verdict. Quarantined (not scored, written to the quarantine output with the
reason in ``REASON``; the first failing check wins):

- a null entity id or timestamp;
- a timestamp after the run's time ("timestamp in the future") or outside the partition's day
  by more than ``scoring.timestamp_tolerance_hours``;
- a row that lost to another of its entity id (include/score/duplicates.py; the reason is set
  by the scoring unit);
- an infinite numeric value ("infinite value: <col>"), always;
- out of range / unseen category, when ``scoring.out_of_range`` / ``scoring.unseen_category``
  is ``quarantine``.

Flagged (scored and published, their ``flags`` column names why, e.g.
``out_of_range:tenure_months;unseen_category:region``): out of range (a numeric value beyond
the training [min, max] widened by ``scoring.range_tolerance`` of the span) and unseen
category (only when the contract lists every category), under the default ``flag`` policies.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from include.config import ModelConfig
from include.config.sections import RowPolicy
from include.contracts import Column

REASON = Column.QUARANTINE_REASON
FLAG_SEPARATOR = ";"


class Problem:
    """The kinds of row problems: the prefix of a flag, the ``rows_<kind>`` summary counts."""

    NULL_KEY = "null_key"
    TIMESTAMP = "timestamp"
    DUPLICATE = "duplicate"
    INFINITE = "infinite"
    OUT_OF_RANGE = "out_of_range"
    UNSEEN_CATEGORY = "unseen_category"
    ALL = (NULL_KEY, TIMESTAMP, DUPLICATE, INFINITE, OUT_OF_RANGE, UNSEEN_CATEGORY)


# Quarantine reasons (the start of each names its kind, see ``problem_kind``).
NULL_KEY_REASON = "null entity_id or timestamp"
FUTURE_REASON = "timestamp in the future"
SUPERSEDED_REASON = "duplicate entity_id: superseded by a later row"
DUPLICATE_REASON = "duplicate entity_id: every row of the id quarantined"
_KIND_OF_REASON = {
    "null ": Problem.NULL_KEY,
    "timestamp ": Problem.TIMESTAMP,
    "duplicate ": Problem.DUPLICATE,
    "infinite ": Problem.INFINITE,
    "out of range": Problem.OUT_OF_RANGE,
    "unseen category": Problem.UNSEEN_CATEGORY,
}


def problem_kind(reason_or_flag: str) -> str | None:
    """The ``Problem`` kind of a quarantine reason or a flag; None when unknown."""
    if reason_or_flag.split(":", 1)[0] in Problem.ALL:
        return reason_or_flag.split(":", 1)[0]
    return next((kind for start, kind in _KIND_OF_REASON.items() if reason_or_flag.startswith(start)), None)


def outside_day_reason(ds: str, hours: float) -> str:
    return f"timestamp outside ds={ds} by more than {hours:g} h"


def day_window(ds: str, hours: float) -> tuple[Any, Any]:
    """``[start, end)`` of the timestamps a partition of ``ds`` accepts (UTC)."""
    import pandas as pd

    start = pd.Timestamp(dt.date.fromisoformat(ds), tz="UTC")
    slack = pd.Timedelta(hours=hours)
    return start - slack, start + pd.Timedelta(days=1) + slack


def utc_timestamps(values: Any) -> Any:
    """A timestamp column as UTC (naive values are read as UTC); unparseable values are NaT."""
    import pandas as pd

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    if pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype):
        return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    return pd.to_datetime(values, utc=True, errors="coerce")


class Verdicts(NamedTuple):
    """Per row: the quarantine reason ('' = scored) and the flags ('' = none) of scored rows."""

    reasons: Any
    flags: Any


class RowChecks:
    """Vectorised row checks against the training scoring contract and the partition's day.

    :param ds: the partition's day (the timestamp window check is skipped when None).
    :param now: the run's time; a later timestamp is "in the future" (skipped when None).
    """

    def __init__(self, config: ModelConfig, contract: dict[str, Any], ds: str | None = None, now: Any = None) -> None:
        import pandas as pd

        self.config = config
        scoring = config.scoring
        tolerance = scoring.range_tolerance
        self.bounds: dict[str, tuple[float, float]] = {}
        self.categories: dict[str, set[str]] = {}
        for column, spec in contract["features"].items():
            if spec["kind"] == "numeric" and spec.get("min") is not None:
                span = max(spec["max"] - spec["min"], 1e-9)
                self.bounds[column] = (spec["min"] - tolerance * span, spec["max"] + tolerance * span)
            # Only a complete category list can call a value unseen.
            if spec["kind"] == "categorical" and spec.get("n_categories", 0) <= len(spec.get("categories", [])):
                self.categories[column] = set(spec["categories"])
        self.quarantine_out_of_range = scoring.out_of_range == RowPolicy.QUARANTINE
        self.quarantine_unseen = scoring.unseen_category == RowPolicy.QUARANTINE
        self.window = day_window(ds, scoring.timestamp_tolerance_hours) if ds else None
        self.window_reason = outside_day_reason(ds, scoring.timestamp_tolerance_hours) if ds else ""
        self.now = None if now is None else pd.Timestamp(now)
        if self.now is not None:  # a naive time is UTC
            self.now = self.now.tz_convert("UTC") if self.now.tzinfo else self.now.tz_localize("UTC")

    def reasons(self, frame: Any) -> Any:
        """One quarantine reason per row ('' when the row is scored)."""
        return self.verdicts(frame).reasons

    def verdicts(self, frame: Any, superseded: Any = None) -> Verdicts:
        """Quarantine reasons (the first failing check wins) and the flags of the other rows.

        :param superseded: per row, a duplicate reason ('' for none), from the duplicate plan.
        """
        import numpy as np

        reasons = np.full(len(frame), "", dtype=object)

        def mark(mask: Any, reason: str) -> None:
            mask = np.asarray(mask) & (reasons == "")
            reasons[mask] = reason

        key, ts = frame[self.config.entity_id], frame[self.config.timestamp]
        mark(key.isna() | ts.isna(), NULL_KEY_REASON)
        self._timestamps(frame, mark)
        if superseded is not None:
            for reason in (r for r in np.unique(superseded) if r):
                mark(superseded == reason, reason)
        for column in self.config.features.numeric:
            mark(np.isinf(_floats(frame[column])), f"infinite value: {column}")
        flags = np.full(len(frame), "", dtype=object)
        for column, (low, high) in self.bounds.items():
            values = _floats(frame[column])
            self._policy(
                reasons,
                flags,
                (values < low) | (values > high),
                self.quarantine_out_of_range,
                f"out of range: {column}",
                f"{Problem.OUT_OF_RANGE}:{column}",
            )
        for column, allowed in self.categories.items():
            values = frame[column]
            unseen = (values.notna() & ~values.isin(allowed)).to_numpy()
            self._policy(
                reasons,
                flags,
                unseen,
                self.quarantine_unseen,
                f"unseen category: {column}",
                f"{Problem.UNSEEN_CATEGORY}:{column}",
            )
        flags[reasons != ""] = ""  # a quarantined row is not published: no flag
        return Verdicts(reasons, flags)

    def _timestamps(self, frame: Any, mark: Any) -> None:
        if self.window is None and self.now is None:
            return
        raw = frame[self.config.timestamp]
        stamps = utc_timestamps(raw)
        mark((stamps.isna() & raw.notna()).to_numpy(), "timestamp not readable as a date and time")
        if self.now is not None:
            mark((stamps > self.now).to_numpy(), FUTURE_REASON)
        if self.window is not None:
            start, end = self.window
            mark(((stamps < start) | (stamps >= end)).to_numpy(), self.window_reason)

    @staticmethod
    def _policy(reasons: Any, flags: Any, mask: Any, quarantine: bool, reason: str, flag: str) -> None:
        import numpy as np

        if quarantine:
            reasons[np.asarray(mask) & (reasons == "")] = reason
            return
        hit = np.asarray(mask)
        if hit.any():
            flags[hit] = np.where(flags[hit] == "", flag, flags[hit] + FLAG_SEPARATOR + flag)


def _floats(values: Any) -> Any:
    import numpy as np

    return values.to_numpy(dtype="float64", na_value=np.nan)


def quarantine_schema(config: ModelConfig, schema: Any) -> Any:
    """The input file's types for the quarantined columns (all-null columns get their kind's type)."""
    import pyarrow as pa

    fields = []
    for column in [config.entity_id, config.timestamp, *config.features.all]:
        kind = schema.field(column).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_null(kind):
            kind = pa.float64() if column in config.features.numeric else pa.string()
        fields.append(pa.field(column, kind))
    return pa.schema([*fields, pa.field(REASON, pa.string())])
