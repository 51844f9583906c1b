"""Run evidently 0.7.23 itself on the same data, for the drift agreement tests.

Two entry points:

* ``ev_column`` evidently's per-column drift, exactly as its ``ValueDrift`` metric computes it
  (``legacy.calculations.data_drift.get_one_column_drift`` with the same arguments): cleaning,
  default test choice, threshold and verdict. Fast enough to call many times.
* ``ev_report`` the whole ``Report([DataDriftPreset(...)], include_tests=True)`` with the column
  types set explicitly (no type inference), read back into plain dicts.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from include.monitor.drift.stattests import STATTESTS

# evidently reports a configured method by name and an auto-chosen one by display name.
NAME_OF = {t.display_name: t.name for t in STATTESTS.values()} | {t.name: t.name for t in STATTESTS.values()}


def ev_column(
    reference: pd.Series,
    current: pd.Series,
    column_type: str,
    stattest: str | None = None,
    threshold: float | None = None,
) -> tuple[str, float, bool]:
    """(stattest name, score, drifted) from evidently's per-column drift calculation."""
    from evidently.legacy.calculations.data_drift import get_one_column_drift
    from evidently.legacy.core import ColumnType
    from evidently.legacy.metric_results import DatasetColumns, DatasetUtilityColumns
    from evidently.legacy.options.data_drift import DataDriftOptions

    col = "x"
    ctype = ColumnType.Numerical if column_type == "num" else ColumnType.Categorical
    ref = pd.DataFrame({col: pd.Series(reference).reset_index(drop=True)})
    cur = pd.DataFrame({col: pd.Series(current).reset_index(drop=True)})
    options = DataDriftOptions(all_features_stattest=stattest, all_features_threshold=threshold)
    columns = DatasetColumns(
        utility_columns=DatasetUtilityColumns(date=None, id=None, target=None, prediction=None),
        target_type=None,
        task=None,
        num_feature_names=[col] if column_type == "num" else [],
        cat_feature_names=[col] if column_type == "cat" else [],
        text_feature_names=[],
        datetime_feature_names=[],
        target_names=None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drift = get_one_column_drift(
            current_data=cur,
            reference_data=ref,
            column_name=col,
            options=options,
            dataset_columns=columns,
            column_type=ctype,
            agg_data=True,
        )
    return NAME_OF[drift.stattest_name], float(drift.drift_score), bool(drift.drift_detected)


def ev_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    **preset: Any,
) -> dict[str, Any]:
    """evidently's ``Report([DataDriftPreset(**preset)])``: per-column and dataset results."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=list(numeric), categorical_columns=list(categorical))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset(**preset)], include_tests=True).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
    return parse_snapshot(snapshot.dict())


def parse_snapshot(d: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {"columns": columns}
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            out["n_drifted"] = int(m["value"]["count"])
            out["share_drifted"] = float(m["value"]["share"])
        elif cfg["type"].endswith("ValueDrift"):
            columns[cfg["column"]] = {
                "stattest": NAME_OF[cfg["method"]],
                "threshold": float(cfg["threshold"]),
                "score": float(m["value"]),
            }
    for t in d["tests"]:
        params = t["metric_config"]["params"]
        if params["type"].endswith("ValueDrift"):
            columns[params["column"]]["drifted"] = t["status"] == "FAIL"
        elif params["type"].endswith("DriftedColumnsCount"):
            out["dataset_drift"] = t["status"] == "FAIL"
    return out
