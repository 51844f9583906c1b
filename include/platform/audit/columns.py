"""Column types of the audit tables: UTC-aware timestamps and JSON documents (JSONB on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out (TIMESTAMPTZ on PostgreSQL, text on SQLite)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the audit trail stores UTC-aware timestamps")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, non-finite floats as strings (JSON has none)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return jsonable(value.item())
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy array
        return jsonable(value.tolist())
    raise TypeError(f"evidence value of type {type(value).__name__} is not JSON serialisable: {value!r:.200}")


def json_text(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def jsonb_text(value: Any) -> str:
    """JSON for a JSONB column. JSONB keeps numbers as ``numeric``, which prints ``6.02e+23`` as
    ``602000000000000000000000``: that would come back as an int. Large floats are therefore
    written as their exact integer digits plus ``.0``, which comes back as the same float."""
    return _encode_exact(jsonable(value))


def _encode_exact(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)
        return f"{int(value)}.0" if "e+" in text else text
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}:{_encode_exact(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode_exact(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class JSONDocument(TypeDecorator):
    """JSON: ``JSONB`` on PostgreSQL, ``TEXT`` elsewhere (SQLite's ``JSON`` type name has numeric affinity)."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return jsonable(value)  # JSONB's bind processor serialises, with jsonb_text (see engine)
        return json_text(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, (str, bytes)) and dialect.name != "postgresql":
            return json.loads(value)
        return value
