"""The training window: the window_end Param wins, then the data interval, then run_after."""

from __future__ import annotations

import datetime as dt

import pytest

from include.errors import NotRetryable, ParamError
from include.retrain.window import resolve_window
from tests.unit.conftest import small_churn_config

INTERVAL_END = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
RUN_AFTER = dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def config():
    return small_churn_config(training={"window_days": 28})


def test_window_end_param_wins(config):
    window = resolve_window(config, window_end="2026-02-10", interval_end=INTERVAL_END, run_after=RUN_AFTER)
    assert (window.start, window.end) == (dt.date(2026, 1, 13), dt.date(2026, 2, 10))


def test_data_interval_end_then_run_after(config):
    assert resolve_window(config, interval_end=INTERVAL_END, run_after=RUN_AFTER).end == dt.date(2026, 3, 1)
    assert resolve_window(config, run_after=RUN_AFTER).end == dt.date(2026, 4, 2)  # manual run, no interval


def test_window_days_param_overrides_the_config(config):
    assert resolve_window(config, window_end="2026-02-10").start == dt.date(2026, 1, 13)  # 28 from the config
    window = resolve_window(config, window_end="2026-02-10", window_days=7)
    assert (window.start, window.end) == (dt.date(2026, 2, 3), dt.date(2026, 2, 10))


def test_bad_window_end_is_a_param_error(config):
    with pytest.raises(ParamError, match=r"window_end must be YYYY-MM-DD, got '10/02/2026'") as caught:
        resolve_window(config, window_end="10/02/2026")
    assert isinstance(caught.value, NotRetryable)  # fails in one try, not retried


def test_no_date_at_all_is_a_param_error(config):
    with pytest.raises(ParamError, match="no window_end Param, data interval or run_after"):
        resolve_window(config)
