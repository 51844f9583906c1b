"""The champion a monitor run compares with, and the window of days it checks.

Everything is compared with the *champion's* training run: its scoring contract (quality),
its reference profile and sample (feature drift), its hold-out scores (prediction drift) and
its hold-out metric (performance). Monitoring never re-reads the training data.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from include.config import ModelConfig
from include.contracts import CHAMPION_ALIAS, Artifact, Tag
from include.errors import MonitoringError
from include.monitor.payloads import Reference


def window(config: ModelConfig, ds: str) -> tuple[dt.date, dt.date]:
    """[start, end) of the current window ending with day ``ds``."""
    end = dt.date.fromisoformat(ds) + dt.timedelta(days=1)
    return end - dt.timedelta(days=config.monitoring.window_days), end


def window_end(ds: str) -> str:
    """The day after ``ds``: the exclusive end of a window that includes the checked day."""
    return (dt.date.fromisoformat(ds) + dt.timedelta(days=1)).isoformat()


def load_reference(registry: Any, config: ModelConfig, ds: str | None = None) -> Reference:
    """The champion's version, run, training window end and hold-out metrics (small: XCom).

    ``ds``: the day a monitor run checks, carried along for the steps after it.
    """
    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is None:
        raise MonitoringError(f"{config.name!r} has no champion: nothing to monitor against")
    evaluation = json.loads(registry.download_artifact(champion.run_id, Artifact.EVALUATION).read_text())
    window_tag = champion.tags.get(Tag.WINDOW, "..")
    reference: Reference = {
        "version": str(champion.version),
        "run_id": champion.run_id,
        "trained_until": window_tag.split("..")[-1] or None,
        "created": dt.datetime.fromtimestamp(champion.creation_timestamp / 1000, dt.UTC).isoformat(),
        "holdout_metrics": evaluation["metrics"],
    }
    if ds is not None:
        reference["ds"] = ds
    return reference
