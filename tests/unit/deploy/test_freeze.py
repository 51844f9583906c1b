"""Freeze windows: weekdays and dates of the ``deploy`` config (UTC), the override and the refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from include.deploy.freeze import check_freeze, freeze_reason
from include.errors import NotRetryable, RefusedMove
from tests.unit.deploy.helpers import churn_config

THURSDAY = dt.date(2026, 1, 1)
FRIDAY = dt.date(2026, 1, 2)
SATURDAY = dt.date(2026, 1, 3)
CHRISTMAS_EVE = dt.date(2026, 12, 24)  # a Thursday


@pytest.fixture(scope="module")
def frozen_weekend():
    return churn_config(freeze_weekdays=["fri", "sat"], freeze_dates=["2026-12-24"])


def test_churn_yaml_freezes_nothing():
    config = churn_config()
    assert [freeze_reason(config, THURSDAY + dt.timedelta(days=n)) for n in range(7)] == [None] * 7


def test_a_frozen_weekday_names_the_day_and_the_list(frozen_weekend):
    assert freeze_reason(frozen_weekend, FRIDAY) == "2026-01-02 is a fri: promotions are frozen on fri, sat"
    assert freeze_reason(frozen_weekend, SATURDAY) == "2026-01-03 is a sat: promotions are frozen on fri, sat"
    assert freeze_reason(frozen_weekend, THURSDAY) is None


def test_a_listed_date_is_frozen_and_the_day_before_is_not(frozen_weekend):
    assert freeze_reason(frozen_weekend, CHRISTMAS_EVE) == "2026-12-24 is a listed freeze date"
    assert freeze_reason(frozen_weekend, CHRISTMAS_EVE - dt.timedelta(days=1)) is None


def test_a_date_on_a_frozen_weekday_gives_the_weekday_reason():
    config = churn_config(freeze_weekdays=["fri"], freeze_dates=["2026-01-02"])
    assert freeze_reason(config, FRIDAY) == "2026-01-02 is a fri: promotions are frozen on fri"


def test_an_open_day_passes_and_records_no_override(frozen_weekend):
    expected = {"frozen": False, "freeze_reason": None, "override_reason": None}
    assert check_freeze(frozen_weekend, THURSDAY, None) == expected
    assert check_freeze(frozen_weekend, THURSDAY, "hotfix") == expected  # nothing to override


@pytest.mark.parametrize("override", [None, "", "   "])
def test_a_frozen_day_is_refused_without_an_override_reason(frozen_weekend, override):
    with pytest.raises(RefusedMove) as refused:
        check_freeze(frozen_weekend, FRIDAY, override)

    assert str(refused.value) == (
        "promotion refused: 2026-01-02 is a fri: promotions are frozen on fri, sat. "
        "Trigger with a freeze override reason to proceed."
    )
    assert isinstance(refused.value, NotRetryable)  # the same day refuses the same way: no retries


def test_an_override_reason_is_recorded_with_the_freeze(frozen_weekend):
    assert check_freeze(frozen_weekend, CHRISTMAS_EVE, "hotfix approved by X") == {
        "frozen": True,
        "freeze_reason": "2026-12-24 is a listed freeze date",
        "override_reason": "hotfix approved by X",
    }
