"""Field checks shared by the config sections: every error names the file and the field.

Messages avoid ``[word...]`` (Rich, which renders ``airflow dags list-import-errors``, takes it
for a markup tag and drops it): ranges read ``from 0 to 1``, lists are Python reprs.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

from include.errors import ConfigError

COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Upper bounds of integer fields: a number of days beyond ten years, or a count beyond a
# billion, is a typo, and would overflow date arithmetic long after the config was read.
MAX_DAYS = 3650
MAX_COUNT = 1_000_000_000
# Cron presets as Airflow 3 reads them (airflow.utils.dates.cron_presets).
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}


def fail(where: str, message: str) -> NoReturn:
    raise ConfigError(f"{where}: {message}")


def check_columns(where: str, columns: Any) -> list[str]:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        fail(where, f"must be a list of column names, got {columns!r}")
    for column in columns:
        if not COLUMN_RE.match(column):
            fail(where, f"{column!r} is not a valid column name")
    if len(set(columns)) != len(columns):
        fail(where, f"lists a column twice: {columns}")
    return columns


def check_mapping(where: str, value: Any) -> dict:
    if not isinstance(value, dict):
        fail(where, f"must be a mapping, got {value!r}")
    return value


def is_number(value: Any) -> bool:
    """An int or float that is finite: NaN and +-inf are refused everywhere (``.nan`` in YAML
    would make every comparison false and so switch a check off)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_ints(section: Any, names: tuple[str, ...], minimum: int = 1, maximum: int = MAX_COUNT) -> None:
    """Integer fields of a section, each from ``minimum`` to ``maximum``."""
    for name in names:
        value = getattr(section, name)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            fail(f"{section._where}.{name}", f"must be an integer from {minimum} to {maximum}, got {value!r}")


def check_fractions(section: Any, names: tuple[str, ...]) -> None:
    """Number fields of a section, each from 0 to 1."""
    for name in names:
        value = getattr(section, name)
        if not is_number(value) or not 0 <= value <= 1:
            fail(f"{section._where}.{name}", f"must be a number from 0 to 1, got {value!r}")


def check_non_negative(section: Any, names: tuple[str, ...], maximum: float | None = None) -> None:
    """Finite number fields of a section, each >= 0 (and <= ``maximum`` when given)."""
    for name in names:
        value = getattr(section, name)
        if not is_number(value) or value < 0 or (maximum is not None and value > maximum):
            wanted = "a finite number >= 0" if maximum is None else f"a number from 0 to {maximum}"
            fail(f"{section._where}.{name}", f"must be {wanted}, got {value!r}")


def check_cron(where: str, value: Any) -> None:
    """A schedule: null, an Airflow cron preset or a 5-field cron expression that croniter (the
    library Airflow's cron timetables use) accepts. Checked here so that a bad schedule fails
    this model's config, not the DAG file that builds every model's DAG."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        fail(where, f"must be a cron expression, a preset or null, got {value!r}")
    expression = CRON_PRESETS.get(value, value)  # as Airflow maps it: the exact preset only
    if value.strip().startswith("@") and value not in CRON_PRESETS:
        fail(where, f"unknown preset {value!r}; presets: {', '.join(CRON_PRESETS)}")
    from croniter import CroniterError, croniter  # croniter comes with Airflow

    fields = expression.split()
    try:
        croniter(expression)
    except (CroniterError, ValueError, KeyError) as exc:
        reason = re.sub(r"^\[.*?\]\s*", "", str(exc))  # croniter starts with "[<expression>]"
        fail(where, f"{value!r} is not a cron expression ({reason}); use 5 fields: minute hour day month weekday")
    if len(fields) != 5:
        fail(where, f"{value!r} has {len(fields)} fields; use 5: minute hour day month weekday")
