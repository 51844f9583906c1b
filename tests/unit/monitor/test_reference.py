"""The champion a monitor run compares with, and the window it checks."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from include.errors import MonitoringError
from include.monitor.reference import load_reference, window, window_end
from tests.unit.monitor.conftest import CLEAN_DS, HOLDOUT_ROC_AUC, TRAINED_UNTIL


def test_window_ends_after_the_checked_day(world) -> None:
    assert window(world.config, "2026-02-10") == (dt.date(2026, 2, 10), dt.date(2026, 2, 11))
    three = dataclasses.replace(world.config, monitoring=dataclasses.replace(world.config.monitoring, window_days=3))
    assert window(three, "2026-03-01") == (dt.date(2026, 2, 27), dt.date(2026, 3, 2))
    assert window_end("2026-02-28") == "2026-03-01"


def test_load_reference_reads_the_champions_run(world) -> None:
    reference = load_reference(world.registry, world.config, CLEAN_DS)
    assert reference["version"] == world.version and reference["run_id"] == world.run_id
    assert reference["trained_until"] == TRAINED_UNTIL
    assert reference["holdout_metrics"] == {"roc_auc": HOLDOUT_ROC_AUC}
    assert reference["ds"] == CLEAN_DS
    assert dt.datetime.fromisoformat(reference["created"]).tzinfo is not None
    assert "ds" not in load_reference(world.registry, world.config)


def test_no_champion_is_a_monitoring_error(world) -> None:
    other = dataclasses.replace(world.config, name="nobody")
    with pytest.raises(MonitoringError, match="'nobody' has no champion"):
        load_reference(world.registry, other)
