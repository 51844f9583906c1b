"""Drift of a current window stored as parquet against a reference profile, in bounded memory.

``drift_from_parquet(profile, sources)`` returns the ``DriftReport`` of ``drift_from_profile(
profile, pd.read_parquet(sources))`` (same test choice, thresholds and errors), reading the files
batch by batch (``ParquetFile.iter_batches``: one row group at a time, only the checked columns).
What is kept per column does not grow with the rows:

* categorical: exact value counts (one per category);
* numerical, pass 1: exact count, min, max, mean and variance (Chan's merge of batch moments),
  and the exact distinct values with counts while there are at most ``max_distinct``;
* numerical with more distinct values, pass 2: the count of values below each of ~35,000 fixed
  edges (a sinh grid around the mean, linear within std/64 and geometric beyond; the profile's
  sketch values; the Sturges edges of the binned tests; one-ulp bins at min, max, each sketch
  value and each value frequent in the first batches): a quantile sketch of the profile's kind,
  linear in rank between edges.

Each test then takes the current side from that summary: value or Sturges-bin counts (``psi``,
``jensenshannon``, ``kl_div``, ``chisquare``, ``z``), the moments (``t_test``), the CDF integrated
exactly between support points (``wasserstein``, ``ed``, and ``ks``: D, and scipy's asymptotic
p-value, its own choice above 10,000 rows, from the true sizes), or, for any other test, a
pseudo-sample of ``m = min(n, max_points)`` points at the quantiles (i + 0.5) / m run through the
registered test unchanged.

EXACT (equal to ``drift_from_profile`` on the same rows, to rounding):
  * categorical columns (a truncated profile stays approximate and listed, as there);
  * numerical columns with at most ``max_distinct`` distinct current values: every test when
    n <= ``max_points`` (the pseudo-sample is the column itself), every test above except
    ``hellinger``, ``mannw``, ``anderson`` and a project's own tests;
  * ``psi`` / ``jensenshannon`` / ``kl_div`` on Sturges bins (> 20 distinct reference values,
    every edge is in the grid) and ``t_test``: always;
  * the default test choice (exact sizes and distinct counts).

APPROXIMATE (listed in ``DriftReport.approximate`` with the sketch columns of the profile): the
other numerical columns, for ``wasserstein`` (the default above 1,000 reference rows), ``ks``,
``ed`` and the pseudo-sample tests. Largest |streaming - drift_from_profile| on 1,000,000 current
rows against a 1,000,000-row reference (default sketch), current from the reference distribution
and shifted by 0.1 std, normal / zero-inflated / Student-t(3) / lognormal / Pareto(1.5)
(``benchmarks/streaming_accuracy.py``): ``wasserstein`` (normed) 3e-8 ... 4.2e-7; ``ed`` 2e-8 ...
1.2e-7; ``ks`` D 0 ... 5.7e-6, hence p-values 1.3e-4 ... 4.6e-3 apart where p ~ 0.1 ... 1;
``hellinger`` 0 here (for continuous data its bins are the Sturges edges of the grid); no verdict
differed. A verdict can flip only when the exact score is that close to its threshold.

With more than ``max_points`` rows the pseudo-sample is downsampled: distance tests on it are
approximate; other p-value tests (``mannw``, ``anderson``, a project's own) would get the wrong
size and raise ``ConfigError`` (use ``drift_from_profile`` or a larger ``max_points``).

Memory: one batch of ``batch_rows`` rows at a time, column chunks read through a 1 MiB buffer
(not a whole row group per column), per column O(``max_distinct`` + grid) numbers and, while its
test runs, the reference (as ``drift_from_profile``: ``count`` points for a sketch column) and
arrays of its size, or at most a ``max_points`` pseudo-sample. ``benchmarks/drift_benchmark.py
--streaming`` measures it (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pandas as pd

from include.errors import ConfigError, DataError
from include.ml.cleaning import clean_numeric, value_counts
from include.ml.profile import check_profile
from include.monitor.drift.binning import N_BINS_UNIQUE_LIMIT, histogram_sorted, sturges_edges
from include.monitor.drift.detect import (
    FEW_VALUES,
    ColumnDrift,
    DriftReport,
    check_drift_share,
    check_overrides,
    default_for_counts,
    drift_of_pair,
    map_columns,
    summarize_drift,
)
from include.monitor.drift.pairs import CategoricalPair, NumericPair, Pair, sorted_nunique, sorted_unique_counts
from include.monitor.drift.profile import categorical_pair_from_counts, reference_numeric
from include.monitor.drift.stattests import get_stattest
from include.monitor.drift.summary import NumericSummary
from include.platform.parquet import open_parquet_file

Source = str | os.PathLike[str] | IO[bytes]

DEFAULT_BATCH_ROWS = 65_536
READ_BUFFER = 1 << 20  # column chunks are read through a buffer of this size, not whole
DEFAULT_MAX_POINTS = 1_000_000
DEFAULT_MAX_DISTINCT = 10_000
BINNED_TESTS = ("jensenshannon", "psi", "kl_div")
COUNT_TESTS = ("chisquare", "z", *BINNED_TESTS)
# computed from the two CDFs, with the tests' own verdicts (stattests/wasserstein.py, ed.py, ks.py)
FROM_CDF: dict[str, Callable[[float, float], bool]] = {"wasserstein": operator.ge, "ed": operator.gt, "ks": operator.le}
KS_EXACT_ROWS = 10_000  # scipy's ks_2samp uses its exact p-value up to this many rows a side


# -- reading ---------------------------------------------------------------------------------------
def _label(source: Source) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else str(getattr(source, "name", repr(source)))


def _open(sources: Source | Sequence[Source], names: list[str]) -> list[Any]:
    """The parquet files, each checked for the columns; DataError naming the file otherwise."""
    items: list[Source] = list(sources) if isinstance(sources, (list, tuple)) else [sources]  # type: ignore[list-item]
    files = []
    for source in items:
        try:
            f = open_parquet_file(source, buffer_size=READ_BUFFER, pre_buffer=False)
        except Exception as exc:  # pyarrow raises several types for bad files
            raise DataError(f"{_label(source)} is not a readable parquet file: {exc}") from exc
        missing = [c for c in names if c not in f.schema_arrow.names]
        if missing:
            raise DataError(f"Cannot find columns {missing} in current dataset {_label(source)}")
        files.append(f)
    if sum(f.metadata.num_rows for f in files) == 0:
        raise DataError(f"no rows in the current data: {', '.join(_label(s) for s in items) or 'no files'}")
    return files


def _batches(files: list[Any], columns: list[str], batch_rows: int) -> Iterator[pd.DataFrame]:
    for f in files:
        for batch in f.iter_batches(batch_size=batch_rows, columns=columns):
            yield batch.to_pandas()


def _scan(
    files: list[Any], types: dict[str, str], batch_rows: int, max_distinct: int
) -> dict[str, NumericSummary | dict[Any, int]]:
    """Pass 1: a summary of every column."""
    out: dict[str, NumericSummary | dict[Any, int]] = {
        c: NumericSummary() if t == "num" else {} for c, t in types.items()
    }
    for frame in _batches(files, list(types), batch_rows):
        for name, summary in out.items():
            if isinstance(summary, NumericSummary):
                summary.add(clean_numeric(frame[name], name=name, side="current"), max_distinct)
            else:
                keys, counts = value_counts(frame[name])
                for k, c in zip(keys, counts.tolist(), strict=True):
                    summary[k] = summary.get(k, 0) + c
    return out


def _bin_pass(files: list[Any], summaries: dict[str, NumericSummary], batch_rows: int) -> None:
    """Pass 2 over the columns with too many distinct values."""
    for frame in _batches(files, list(summaries), batch_rows):
        for name, summary in summaries.items():
            summary.add_bins(clean_numeric(frame[name], name=name, side="current"))
    for name, summary in summaries.items():
        if int(summary.below[-1]) != summary.n:
            raise DataError(f"column {name!r}: the current data changed between the two passes")


# -- the tests on the summaries ------------------------------------------------------------------------
@dataclass
class _Reference:
    values: np.ndarray  # sorted
    std: float
    approximate: bool

    @classmethod
    def of(cls, col: dict[str, Any], sample: pd.Series | None) -> _Reference:
        raw, std, approx = reference_numeric(col, sample)
        return cls(np.sort(raw), float(np.std(raw)) if std is None else std, approx)

    def pair(self, current: np.ndarray) -> NumericPair:
        pair = NumericPair(self.values, current)
        pair.ref_std = self.std
        return pair

    def knots(self, col: dict[str, Any]) -> np.ndarray:
        return np.asarray(col["sketch"]["values"]) if "sketch" in col and self.approximate else np.unique(self.values)


def _sturges(ref: np.ndarray, cur: NumericSummary) -> np.ndarray:
    lo, hi = min(ref[0], cur.lo), max(ref[-1], cur.hi)
    return sturges_edges(lo, hi, ref.size + cur.n, np.result_type(ref.dtype, cur.dtype))


def _nunique_upto(ref: np.ndarray, cur: NumericSummary, limit: int) -> int:
    """Distinct values over both sides, exact when <= limit (as ``NumericPair.nunique_upto``)."""
    n_ref = sorted_nunique(ref)
    if n_ref > limit or cur.values is None or cur.values.size > limit:
        return max(n_ref, limit + 1)
    return int(np.union1d(ref, cur.values).size)


def _counts_pair(ref: np.ndarray, cur: NumericSummary, binned: bool) -> CategoricalPair:
    """The column as counts: per Sturges bin (``binned``) or per distinct value."""
    if binned:
        edges = _sturges(ref, cur)
        below = cur.below_at(edges[:-1].astype(np.float64))
        cur_counts = np.diff(np.append(below, cur.n))
        return CategoricalPair(list(range(edges.size - 1)), histogram_sorted(ref, edges), cur_counts)
    assert cur.values is not None
    rv, rc = sorted_unique_counts(ref)
    keys = np.union1d(rv, cur.values)
    r = np.zeros(keys.size, dtype=np.int64)
    c = np.zeros(keys.size, dtype=np.int64)
    r[np.searchsorted(keys, rv)] = rc
    c[np.searchsorted(keys, cur.values)] = cur.counts
    return CategoricalPair(keys.tolist(), r, c)


def _moment_t_test(ref: np.ndarray, cur: NumericSummary) -> float:
    from scipy.stats import ttest_ind_from_stats

    cur_sd = float(np.sqrt(cur.m2 / (cur.n - 1))) if cur.n > 1 else float("nan")
    ref_sd = float(np.std(ref, ddof=1)) if ref.size > 1 else float("nan")
    return float(ttest_ind_from_stats(float(np.mean(ref)), ref_sd, ref.size, cur.mean, cur_sd, cur.n)[1])


def _from_cdf(name: str, ref: _Reference, cur: NumericSummary) -> float:
    """wasserstein (normed), ed or ks (scipy's asymptotic two-sided p-value, its choice above
    10,000 rows, for the true sizes) from the CDF distances."""
    w1, l2, d = cur.cdf_distances(ref.values)
    if name == "wasserstein":
        return w1 / max(ref.std, 0.001)
    if name == "ed":
        return float(np.sqrt(2 * l2))
    from scipy.stats import kstwo  # ~4 s to import on a busy machine: only when needed

    n_ref, n_cur = ref.values.size, cur.n
    return float(np.clip(kstwo.sf(d, np.round(n_ref * n_cur / (n_ref + n_cur))), 0, 1))


def _score(name: str, ref: _Reference, cur: NumericSummary, thr: float, max_points: int) -> tuple[float, bool, bool]:
    """(score, drifted, approximate on the current side?) of one numerical column."""
    test = get_stattest(name)
    if name in BINNED_TESTS and sorted_nunique(ref.values) > N_BINS_UNIQUE_LIMIT:
        return (*test.impl(_counts_pair(ref.values, cur, True), thr), False)
    if name in COUNT_TESTS and cur.values is not None:
        return (*test.impl(_counts_pair(ref.values, cur, False), thr), False)
    if name == "t_test":
        p = _moment_t_test(ref.values, cur)
        return p, p < thr, False
    if name in FROM_CDF and (name != "ks" or max(ref.values.size, cur.n) > KS_EXACT_ROWS):
        score = _from_cdf(name, ref, cur)
        return score, FROM_CDF[name](score, thr), cur.values is None
    m = min(cur.n, max_points)
    exact = cur.values is not None and m == cur.n  # the pseudo-sample is the current column itself
    if test.kind == "pvalue" and m < cur.n:
        raise ConfigError(
            f"stattest {name!r} needs the current's size: streaming keeps {m:,} of {cur.n:,} rows "
            "(use drift_from_profile or a larger max_points)"
        )
    return (*test.impl(ref.pair(cur.pseudo_sample(m)), thr), not exact)


def _numeric_drift(
    name: str, col: dict[str, Any], cur: NumericSummary, sample: pd.Series | None, spec: dict, max_points: int
) -> tuple[ColumnDrift, bool]:
    if cur.n == 0:
        raise DataError(f"An empty column '{name}' was provided for drift calculation in the current dataset.")
    ref = _Reference.of(col, sample)
    test_name = spec.get("stattest") or default_for_counts(
        ref.values.size, _nunique_upto(ref.values, cur, FEW_VALUES), "num"
    )
    test = get_stattest(test_name)
    thr = float(test.default_threshold if spec.get("threshold") is None else spec["threshold"])
    score, drifted, approx = _score(test_name, ref, cur, thr, max_points)
    drift = ColumnDrift(name, "num", test_name, thr, float(score), bool(drifted), test.kind, ref.values.size, cur.n)
    return drift, approx or ref.approximate


def _categorical_drift(
    name: str, col: dict[str, Any], counts: dict[Any, int], sample: pd.Series | None, spec: dict
) -> tuple[ColumnDrift, bool]:
    keys, cur_counts = list(counts), np.asarray(list(counts.values()), dtype=np.int64)
    pair: Pair
    if sample is not None:
        ref_keys, ref_counts = value_counts(sample)
        if not ref_keys or not keys:
            side = "reference" if not ref_keys else "current"
            raise DataError(f"An empty column '{name}' was provided for drift calculation in the {side} dataset.")
        pair, approx = CategoricalPair.from_counts(ref_keys, ref_counts, keys, cur_counts), False
    else:
        pair, approx = categorical_pair_from_counts(col, keys, cur_counts, name)
    return drift_of_pair(name, pair, "cat", spec.get("stattest"), spec.get("threshold")), approx


def _check_sizes(batch_rows: int, max_points: int, max_distinct: int) -> None:
    limits = (("batch_rows", batch_rows, 1), ("max_points", max_points, 100_000), ("max_distinct", max_distinct, 20))
    for key, value, low in limits:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")


def drift_from_parquet(
    profile: dict[str, Any],
    sources: Source | Sequence[Source],
    *,
    columns: list[str] | None = None,
    sample: pd.DataFrame | None = None,
    overrides: dict[str, dict] | None = None,
    drift_share: float = 0.5,
    max_workers: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    max_points: int = DEFAULT_MAX_POINTS,
    max_distinct: int = DEFAULT_MAX_DISTINCT,
) -> DriftReport:
    """Drift of the rows of ``sources`` (one parquet file or several: paths or binary file
    objects, read as one table) against a reference profile, in bounded memory.

    Arguments as ``drift_from_profile``; ``batch_rows`` rows are read at a time; ``max_points``
    and ``max_distinct`` bound what is kept per column (see the module docstring for exactness).
    """
    check_profile(profile)
    check_drift_share(drift_share)
    _check_sizes(batch_rows, max_points, max_distinct)
    cols_meta = profile["columns"]
    names = list(cols_meta) if columns is None else list(columns)
    unknown = [c for c in names if c not in cols_meta]
    if unknown:
        raise DataError(f"columns not in the profile: {unknown}")
    use_sample = sample if sample is not None and bool(profile["sample"].get("complete")) else None
    absent = [c for c in names if use_sample is not None and c not in use_sample.columns]
    if absent:
        raise DataError(f"reference sample lacks columns {absent}")
    types = {c: cols_meta[c]["type"] for c in names}
    checked = check_overrides(overrides, types)
    files = _open(sources, names)
    summaries = _scan(files, types, batch_rows, max_distinct)
    binned = {c: s for c, s in summaries.items() if isinstance(s, NumericSummary) and s.values is None and s.n}
    for name, s in binned.items():
        ref = _Reference.of(cols_meta[name], None if use_sample is None else use_sample[name])
        s.start_bins(ref.knots(cols_meta[name]), _sturges(ref.values, s).astype(np.float64))
    if binned:
        _bin_pass(files, binned, batch_rows)

    def one(name: str) -> tuple[ColumnDrift, bool]:
        spec = checked.get(name, {})
        summary = summaries[name]
        sample_col = None if use_sample is None else use_sample[name]
        if isinstance(summary, NumericSummary):
            return _numeric_drift(name, cols_meta[name], summary, sample_col, spec, max_points)
        return _categorical_drift(name, cols_meta[name], summary, sample_col, spec)

    results = map_columns(one, names, max_workers)
    return summarize_drift([r for r, _ in results], drift_share, [r.column for r, a in results if a])
