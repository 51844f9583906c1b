"""Drift of a current window against a reference profile (``include.ml.profile``) instead of the
training data itself.

``drift_from_profile(profile, current)`` computes the same report as
``detect.dataset_drift(reference, current, ...)`` with the reference replaced by the profile:

EXACT (verdict and score equal to the raw-reference result, hence to evidently's):
  * categorical columns with at most ``max_categories`` distinct reference values (the counts
    are the whole distribution);
  * numerical columns with at most ``max_exact_values`` distinct reference values: the
    reference is rebuilt exactly from values x counts (only its row order is lost, which moves
    the std by an ulp);
  * any column, when the complete reference sample is passed (``sample=``; the profile records
    whether its sample is complete);
  * the choice of the default test everywhere: reference row counts are exact and distinct counts
    are exact, or known to exceed 5 (a sketch column has > ``max_exact_values`` >= 20 values).

APPROXIMATE (listed in ``DriftReport.approximate``; verdicts can differ from evidently's):
  * numerical columns with more distinct values than ``max_exact_values``: the reference is
    replaced by a pseudo-sample of the same size read off the sketch (linear in rank between the
    kept order statistics; min and max exact). Per test:
      - ``wasserstein`` (the default for n > 1000): W1 of the pseudo-sample, normed by the stored
        exact std. Measured error of the normed score on 1,000,000 rows with the default sketch:
        ~1e-7 to 1e-5 (normal, zero-inflated, Student-t(3)), ~2e-5 to 6e-5 (lognormal, Pareto);
        a verdict flips only when the exact score is that close to the threshold;
      - ``psi`` / ``jensenshannon`` / ``kl_div``: the Sturges edges are exact (min, max and n are
        exact); the reference share of each bin is the pseudo-sample's, off by at most the mass
        of the one sketch bin that straddles each edge (<= 1/levels, usually far less);
      - ``ks``: D is off by at most about one sketch bin's mass; the p-value uses the exact sizes.
        Also ``ed``, ``t_test``, ``mannw``: pseudo-sample statistics;
      - ``hellinger`` (numerical): its bins depend on the number of distinct values, which the
        pseudo-sample does not keep: can differ more than the others;
  * categorical columns with more than ``max_categories`` distinct values: the rarest values are
    merged into one "other" bucket on both sides (current values unseen in the profile's kept
    set are *new* only if the reference never had them; the profile cannot tell, so they go to
    "other" as well when the profile was truncated): fewer categories than evidently sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from include.errors import DataError
from include.ml.cleaning import clean_numeric, json_scalar, value_counts
from include.ml.profile import check_profile
from include.monitor.drift.detect import (
    ColumnDrift,
    DriftReport,
    check_drift_share,
    check_overrides,
    drift_of_pair,
    map_columns,
    summarize_drift,
)
from include.monitor.drift.pairs import CategoricalPair, NumericPair, Pair

OTHER = "__other__"


def _pseudo_reference(sketch: dict[str, Any], n: int) -> np.ndarray:
    """n sorted points: the stored order statistics at their ranks, linear in rank between them."""
    ranks = np.asarray(sketch["ranks"], dtype=np.float64)
    values = np.asarray(sketch["values"], dtype=np.float64)
    return np.interp(np.arange(n, dtype=np.float64), ranks, values)


def reference_numeric(col: dict[str, Any], sample_values: pd.Series | None) -> tuple[np.ndarray, float | None, bool]:
    """(reference values, std override, approximate?) of a numerical profile column."""
    if sample_values is not None:
        return clean_numeric(sample_values), None, False
    if "values" in col:
        dtype = np.dtype(col.get("dtype", "float64"))
        vals = np.asarray(col["values"]["values"], dtype=dtype)
        return np.repeat(vals, np.asarray(col["values"]["counts"], dtype=np.int64)), None, False
    return _pseudo_reference(col["sketch"], int(col["count"])), float(col["std"]), True


def categorical_pair_from_counts(
    col: dict[str, Any], cur_keys: list[Any], cur_counts: np.ndarray, name: str
) -> tuple[CategoricalPair, bool]:
    """(profiled categorical column against the current value counts, approximate?): the counts
    as ``include.ml.cleaning.value_counts`` gives them (NaN, None and +-inf dropped)."""
    keys = list(col["values"])
    counts = np.asarray(col["counts"], dtype=np.int64)
    if not cur_keys:
        raise DataError(f"An empty column '{name}' was provided for drift calculation in the current dataset.")
    if col.get("stringified"):
        cur_keys = [str(json_scalar(k)) for k in cur_keys]
    truncated = int(col.get("other_count", 0)) > 0
    if truncated:
        kept = set(keys)
        other = int(sum(int(c) for k, c in zip(cur_keys, cur_counts, strict=True) if k not in kept))
        pairs = [(k, c) for k, c in zip(cur_keys, cur_counts, strict=True) if k in kept]
        cur_keys = [k for k, _ in pairs] + ([OTHER] if other else [])
        cur_counts = np.asarray([c for _, c in pairs] + ([other] if other else []), dtype=np.int64)
        keys = [*keys, OTHER]
        counts = np.append(counts, int(col["other_count"]))
    return CategoricalPair.from_counts(keys, counts, cur_keys, cur_counts), truncated


def _profile_pair(col: dict[str, Any], name: str, current: pd.Series, sample: pd.Series | None) -> tuple[Pair, bool]:
    """(prepared column, approximate?) of one profiled column against its current values."""
    if col["type"] == "num":
        ref, std, approx = reference_numeric(col, sample)
        pair = NumericPair(ref, clean_numeric(current, name=name, side="current"), name=name)
        if std is not None:
            pair.ref_std = std
        return pair, approx
    if sample is not None:
        return CategoricalPair.from_values(sample, current, name=name), False
    return categorical_pair_from_counts(col, *value_counts(current), name)


def _check_columns(profile: dict[str, Any], names: list[str], current: pd.DataFrame, sample: Any) -> None:
    unknown = [c for c in names if c not in profile["columns"]]
    if unknown:
        raise DataError(f"columns not in the profile: {unknown}")
    missing = [c for c in names if c not in current.columns]
    if missing:
        raise DataError(f"Cannot find columns {missing} in current dataset")
    absent = [c for c in names if sample is not None and c not in sample.columns]
    if absent:
        raise DataError(f"reference sample lacks columns {absent}")


def drift_from_profile(
    profile: dict[str, Any],
    current: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    sample: pd.DataFrame | None = None,
    overrides: dict[str, dict] | None = None,
    drift_share: float = 0.5,
    max_workers: int | None = None,
) -> DriftReport:
    """Drift of ``current`` against a reference profile (see the module docstring for exactness).

    ``sample``: the stored reference sample; used only when the profile says it is complete
    (then every column is exact). ``columns``: a subset of the profiled columns (default all).
    """
    check_profile(profile)
    check_drift_share(drift_share)
    cols_meta = profile["columns"]
    names = list(cols_meta) if columns is None else list(columns)
    use_sample = sample if sample is not None and bool(profile["sample"].get("complete")) else None
    _check_columns(profile, names, current, use_sample)
    checked = check_overrides(overrides, {c: cols_meta[c]["type"] for c in names})

    def one(name: str) -> tuple[ColumnDrift, bool]:
        spec = checked.get(name, {})
        col = cols_meta[name]
        sample_col = use_sample[name] if use_sample is not None else None
        pair, approx = _profile_pair(col, name, current[name], sample_col)
        return drift_of_pair(name, pair, col["type"], spec.get("stattest"), spec.get("threshold")), approx

    results = map_columns(one, names, max_workers)
    return summarize_drift([r for r, _ in results], drift_share, [r.column for r, a in results if a])
