"""May a promotion happen today? Freeze windows of the ``deploy`` config (UTC) and their override."""

from __future__ import annotations

import datetime as dt

from include.config import ModelConfig
from include.deploy.payloads import FreezePayload
from include.errors import RefusedMove

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def freeze_reason(config: ModelConfig, day: dt.date) -> str | None:
    """Why ``day`` (UTC) is frozen for promotions, or None."""
    weekday = _WEEKDAYS[day.weekday()]
    if weekday in config.deploy.freeze_weekdays:
        return f"{day} is a {weekday}: promotions are frozen on {', '.join(config.deploy.freeze_weekdays)}"
    if day.isoformat() in {str(x) for x in config.deploy.freeze_dates}:
        return f"{day} is a listed freeze date"
    return None


def check_freeze(config: ModelConfig, day: dt.date, override_reason: str | None) -> FreezePayload:
    """Refuse inside a freeze window unless an override reason is given (then record it)."""
    reason = freeze_reason(config, day)
    if reason and not (override_reason and override_reason.strip()):
        raise RefusedMove(f"promotion refused: {reason}. Trigger with a freeze override reason to proceed.")
    return {"frozen": bool(reason), "freeze_reason": reason, "override_reason": override_reason if reason else None}
