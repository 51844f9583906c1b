"""Which training window a run trains on: the ``window_end`` Param, else the run's dates."""

from __future__ import annotations

import datetime as dt

from include.config import ModelConfig
from include.errors import ParamError
from include.retrain.features import TrainingWindow


def resolve_window(
    config: ModelConfig,
    window_end: str | None = None,
    window_days: int | None = None,
    interval_end: dt.datetime | None = None,
    run_after: dt.datetime | None = None,
) -> TrainingWindow:
    """Window from an explicit Param, else the run's data interval, else its run_after date.

    Manual runs in Airflow 3 may have no logical date; run_after is still fixed per run, so
    the window stays the same on retries.
    """
    days = int(window_days or config.training.window_days)
    if window_end:
        try:
            end = dt.date.fromisoformat(str(window_end))
        except ValueError as exc:
            raise ParamError(f"window_end must be YYYY-MM-DD, got {window_end!r}") from exc
    elif interval_end is not None:
        end = interval_end.date()
    elif run_after is not None:
        end = run_after.date()
    else:
        raise ParamError("no window_end Param, data interval or run_after to place the training window")
    return TrainingWindow.ending(end, days)
