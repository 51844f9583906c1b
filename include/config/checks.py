"""Field checks shared by the config sections: every error names the file and the field."""

from __future__ import annotations

import re
from typing import Any, NoReturn

from include.errors import ConfigError

COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_ints(section: Any, names: tuple[str, ...], minimum: int = 1) -> None:
    """Integer fields of a section, each >= ``minimum``."""
    for name in names:
        value = getattr(section, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            fail(f"{section._where}.{name}", f"must be {wanted}, got {value!r}")


def check_fractions(section: Any, names: tuple[str, ...]) -> None:
    """Number fields of a section, each in [0, 1]."""
    for name in names:
        value = getattr(section, name)
        if not is_number(value) or not 0 <= value <= 1:
            fail(f"{section._where}.{name}", f"must be in [0, 1], got {value!r}")


def check_non_negative(section: Any, names: tuple[str, ...]) -> None:
    """Number fields of a section, each >= 0."""
    for name in names:
        value = getattr(section, name)
        if not is_number(value) or value < 0:
            fail(f"{section._where}.{name}", f"must be a number >= 0, got {value!r}")
