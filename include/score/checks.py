"""Hard row checks against the training scoring contract, and the quarantine file's schema.

A row fails when its key is null, a numeric value lies far outside the training range or a
categorical value was never seen in training (only when the contract lists every category).
Failing rows go to the quarantine output with the reason in ``REASON``.
"""

from __future__ import annotations

from typing import Any

from include.config import ModelConfig
from include.contracts import Column

REASON = Column.QUARANTINE_REASON


class RowChecks:
    """Vectorised hard checks against the training scoring contract."""

    def __init__(self, config: ModelConfig, contract: dict[str, Any]) -> None:
        self.config = config
        tolerance = config.scoring.range_tolerance
        self.bounds: dict[str, tuple[float, float]] = {}
        self.categories: dict[str, set[str]] = {}
        for column, spec in contract["features"].items():
            if spec["kind"] == "numeric" and spec.get("min") is not None:
                span = max(spec["max"] - spec["min"], 1e-9)
                self.bounds[column] = (spec["min"] - tolerance * span, spec["max"] + tolerance * span)
            # Only a complete category list can call a value unseen.
            if spec["kind"] == "categorical" and spec.get("n_categories", 0) <= len(spec.get("categories", [])):
                self.categories[column] = set(spec["categories"])

    def reasons(self, frame: Any) -> Any:
        """One reason per row ('' when the row is fine); the first failing check wins."""
        import numpy as np

        reasons = np.full(len(frame), "", dtype=object)

        def mark(mask: Any, reason: str) -> None:
            mask = np.asarray(mask) & (reasons == "")
            reasons[mask] = reason

        key_null = frame[self.config.entity_id].isna() | frame[self.config.timestamp].isna()
        mark(key_null, "null entity_id or timestamp")
        for column, (low, high) in self.bounds.items():
            values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
            mark((values < low) | (values > high), f"out of range: {column}")
        for column, allowed in self.categories.items():
            values = frame[column]
            mark(values.notna() & ~values.isin(allowed), f"unseen category: {column}")
        return reasons


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
