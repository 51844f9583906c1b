"""Reference profile: a compact, JSON-serialisable summary of the training data.

Built once at training time (``build_profile``) and stored next to the model, so that scoring-time
drift checks never re-read the training data (``include.monitor.drift.profile`` compares a current
window with it). Per column:

* every column: ``type`` ("num" / "cat"), ``rows``, ``count`` (values left after evidently's
  cleaning: NaN, None and +-inf dropped), ``null_rate`` (NaN/None share of rows), ``inf_count``;
* numerical: ``dtype``, ``min``, ``max``, ``mean``, ``std`` (ddof=0, evidently's Wasserstein norm),
  ``nunique``, ``quantiles`` (p01 ... p99), ``histogram`` (Sturges edges on the reference, counts;
  for people and dashboards) and EITHER ``values`` (every distinct value with its count, when there
  are at most ``max_exact_values`` of them: an exact representation) OR ``sketch``: exact order
  statistics at about 1,000 ranks (``ranks`` / ``values``): ``levels + 1`` equally spaced ranks
  (equal-frequency bins), the ranks where ``levels + 1`` equally spaced values fall (equal-width
  bins, which resolve long tails), and the ``tail`` smallest and largest values. Between two kept
  ranks the reference is taken as linear in rank (uniform within the bin);
* categorical: ``values`` / ``counts`` of the ``max_categories`` most frequent values and
  ``other_count`` for the rest (0 unless the column has more distinct values than that).

``reference_sample`` draws a bounded seeded sample of raw rows (default up to 10,000) for the
caller to store alongside (``include.platform.parquet.frame_to_parquet`` -> bytes); it is
complete when the reference has no more rows than that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from include.errors import ConfigError, DataError
from include.ml.cleaning import clean_numeric, json_scalar, value_counts

PROFILE_KIND = "mlops-drift-reference-profile"
PROFILE_VERSION = 1
DEFAULT_LEVELS = 500
DEFAULT_TAIL = 32
DEFAULT_MAX_EXACT_VALUES = 1000
DEFAULT_MAX_CATEGORIES = 10_000
DEFAULT_SAMPLE_ROWS = 10_000
_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _json_key(x: Any) -> Any:
    x = json_scalar(x)
    return x if isinstance(x, (str, bool, int, float)) else None


def _sorted_quantiles(s: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``np.quantile(s, probs)`` (linear method) of an already sorted array."""
    pos = probs * (s.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, s.size - 1)
    frac = pos - lo
    a = s[lo].astype(np.float64)
    b = s[hi].astype(np.float64)
    return a + (b - a) * frac


def _numeric_profile(series: pd.Series, name: str, levels: int, tail: int, max_exact_values: int) -> dict[str, Any]:
    rows = len(series)
    raw = series.to_numpy() if isinstance(series.dtype, np.dtype) else None
    if raw is not None and raw.dtype.kind == "f":
        n_nan = int(np.isnan(raw).sum())
        n_inf = int(np.isinf(raw).sum())
    else:
        n_nan = int(series.isna().sum())
        n_inf = 0
    values = clean_numeric(series, name=name)
    if values.size == 0:
        raise DataError(f"reference column {name!r} has no finite values")
    std = float(np.std(values))
    mean = float(np.mean(values))
    s = np.sort(values)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    nunique = int(starts.size)
    hist_counts, hist_edges = np.histogram(s, bins="sturges")
    out: dict[str, Any] = {
        "type": "num",
        "dtype": str(s.dtype),
        "rows": rows,
        "count": int(s.size),
        "null_rate": n_nan / rows if rows else 0.0,
        "inf_count": n_inf,
        "min": json_scalar(s[0]),
        "max": json_scalar(s[-1]),
        "mean": mean,
        "std": std,
        "nunique": nunique,
        "quantiles": {
            f"p{round(q * 100):02d}": float(v)
            for q, v in zip(_QUANTILES, _sorted_quantiles(s, np.array(_QUANTILES)), strict=True)
        },
        "histogram": {"edges": hist_edges.tolist(), "counts": hist_counts.tolist()},
    }
    if nunique <= max_exact_values:
        counts = np.diff(np.append(starts, s.size))
        out["values"] = {"values": s[starts].tolist(), "counts": counts.tolist()}
    else:
        ranks = _sketch_ranks(s, levels, tail)
        out["sketch"] = {
            "levels": levels,
            "tail": tail,
            "ranks": ranks.tolist(),
            "values": s[ranks].astype(np.float64).tolist(),
        }
    return out


def _sketch_ranks(s: np.ndarray, levels: int, tail: int) -> np.ndarray:
    """Ranks kept by the sketch of a sorted array: ``levels`` equally spaced ranks (equal mass),
    the ranks where ``levels`` equally spaced values fall (equal width: resolves long tails), and
    the ``tail`` smallest and largest values."""
    n = s.size
    equal_mass = np.round(np.linspace(0, n - 1, levels + 1)).astype(np.int64)
    grid = np.linspace(float(s[0]), float(s[-1]), levels + 1)
    left = np.clip(np.searchsorted(s, grid, "left"), 0, n - 1)
    right = np.clip(np.searchsorted(s, grid, "right") - 1, 0, n - 1)
    ends = np.concatenate((np.arange(min(tail, n)), np.arange(max(0, n - tail), n)))
    return np.unique(np.concatenate((equal_mass, left, right, ends)))


def _categorical_profile(series: pd.Series, name: str, max_categories: int) -> dict[str, Any]:
    rows = len(series)
    n_null = int(series.isna().sum())
    keys, counts = value_counts(series)
    if not keys:
        raise DataError(f"reference column {name!r} has no values")
    n_inf = rows - n_null - int(counts.sum())
    order = np.argsort(-counts, kind="stable")
    keep, rest = order[:max_categories], order[max_categories:]
    json_keys = [_json_key(keys[i]) for i in keep]
    stringified = any(k is None for k in json_keys)
    if stringified:
        json_keys = [str(json_scalar(keys[i])) for i in keep]
    return {
        "type": "cat",
        "rows": rows,
        "count": int(counts.sum()),
        "null_rate": n_null / rows if rows else 0.0,
        "inf_count": n_inf,
        "nunique": len(keys),
        "values": json_keys,
        "counts": counts[keep].tolist(),
        "other_count": int(counts[rest].sum()),
        "stringified": stringified,
    }


def build_profile(
    data: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    *,
    levels: int = DEFAULT_LEVELS,
    tail: int = DEFAULT_TAIL,
    max_exact_values: int = DEFAULT_MAX_EXACT_VALUES,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = 42,
) -> dict[str, Any]:
    """JSON-serialisable reference profile of ``data`` (see the module docstring)."""
    if levels < 10:
        raise ConfigError(f"levels must be >= 10, got {levels}")
    if max_exact_values < 20:
        raise ConfigError(f"max_exact_values must be >= 20 (evidently's binning limit), got {max_exact_values}")
    if sample_rows < 1001:
        raise ConfigError(f"sample_rows must be > 1000 (evidently's small-reference limit), got {sample_rows}")
    both = set(numeric) & set(categorical)
    if both:
        raise ConfigError(f"columns listed as both numeric and categorical: {sorted(both)}")
    missing = [c for c in [*numeric, *categorical] if c not in data.columns]
    if missing:
        raise DataError(f"columns not in the reference data: {missing}")
    columns: dict[str, Any] = {}
    for col in numeric:
        columns[col] = _numeric_profile(data[col], col, levels, tail, max_exact_values)
    for col in categorical:
        columns[col] = _categorical_profile(data[col], col, max_categories)
    n = len(data)
    return {
        "kind": PROFILE_KIND,
        "version": PROFILE_VERSION,
        "rows": n,
        "numeric": list(numeric),
        "categorical": list(categorical),
        "settings": {
            "levels": levels,
            "tail": tail,
            "max_exact_values": max_exact_values,
            "max_categories": max_categories,
            "sample_rows": sample_rows,
            "seed": seed,
        },
        "sample": {"rows": min(n, sample_rows), "complete": n <= sample_rows, "seed": seed},
        "columns": columns,
    }


def reference_sample(
    data: pd.DataFrame, columns: list[str] | None = None, *, max_rows: int = DEFAULT_SAMPLE_ROWS, seed: int = 42
) -> pd.DataFrame:
    """Up to ``max_rows`` raw rows, drawn without replacement with ``seed`` (all rows when fewer)."""
    frame = data if columns is None else data[columns]
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    idx = np.sort(np.random.default_rng(seed).choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[idx].reset_index(drop=True)


def save_profile(profile: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(profile, separators=(",", ":"), allow_nan=False))


def load_profile(path: str | Path) -> dict[str, Any]:
    profile = json.loads(Path(path).read_text())
    check_profile(profile)
    return profile


def check_profile(profile: dict[str, Any]) -> None:
    if not isinstance(profile, dict) or profile.get("kind") != PROFILE_KIND:
        raise DataError("not a drift reference profile")
    if profile.get("version") != PROFILE_VERSION:
        raise DataError(f"unsupported profile version {profile.get('version')!r} (expected {PROFILE_VERSION})")


def profile_size_bytes(profile: dict[str, Any]) -> int:
    return len(json.dumps(profile, separators=(",", ":")).encode())
