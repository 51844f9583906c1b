"""Drift tests for one column, each reproducing evidently 0.7.23's test of the same name.

Every test is one small pure function ``test(reference, current, threshold, column_type="num")
-> (score, drifted)`` registered by name in :data:`STATTESTS` (``get_stattest(name)``). The
arguments are array-likes (numpy, pandas, lists) of one column; values are cleaned as evidently
cleans them before testing (+-inf -> NaN, then NaN dropped). ``detect`` prepares each column
once (a :class:`NumericPair` or :class:`CategoricalPair`) and calls the tests' ``impl`` on it,
so several tests on one column share the sort and the counts.

What each test does, read from ``evidently/legacy/calculations/stattests/*.py`` (0.7.23):

=============  ======  =========  ===========  ======================================================
name           kind    threshold  drift when   computation
=============  ======  =========  ===========  ======================================================
ks             pvalue  0.05       p <= thr     ``scipy.stats.ks_2samp`` (two-sided, method auto)
chisquare      pvalue  0.05       p < thr      ``scipy.stats.chisquare(f_obs=current counts,
                                               f_exp=reference counts * n_cur / n_ref)`` over the
                                               union of values (goodness of fit, not contingency)
z              pvalue  0.05       p < thr      two-proportion z-test on "value == smallest value";
                                               p = 2 * (1 - Phi(|z|)); p = 1 when both sides hold
                                               one and the same single value
wasserstein    dist.   0.1        >= thr       W1(ref, cur) / max(std(ref, ddof=0), 0.001)
jensenshannon  dist.   0.1        >= thr       ``scipy.spatial.distance.jensenshannon`` (natural
                                               log) of the binned shares, no zero fill
psi            dist.   0.1        >= thr       sum((r - c) * ln(r / c)) of the binned shares, zeros
                                               filled (see ``fill_zeros``)
kl_div         dist.   0.1        >= thr       ``scipy.stats.entropy(r, c)`` of the binned shares,
                                               zeros filled
hellinger      dist.   0.1        >= thr       categorical: sqrt(1 - sum sqrt(p*q)); numerical:
                                               Sturges bins over the *distinct* values, densities
ed             dist.   0.1        > thr        ``scipy.stats.energy_distance`` (strictly greater)
t_test         pvalue  0.05       p < thr      ``scipy.stats.ttest_ind`` (equal variances)
mannw          pvalue  0.05       p < thr      ``scipy.stats.mannwhitneyu(alternative="less")``
=============  ======  =========  ===========  ======================================================

Binning of the binned tests (``get_binned_data``): a *numerical* column whose reference holds
more than 20 distinct values is cut into Sturges bins computed on reference and current
together (``np.histogram_bin_edges(concat, "sturges")``); anything else (categorical columns,
numerical ones with <= 20 distinct reference values) is compared value by value over the union
of the values. Shares are counts / n of each side. PSI and KL replace a zero share by 1e-4, or
by (smallest non-zero share) / 1e6 when that smallest share is itself <= 1e-4; Jensen-Shannon
does not fill.

Column types allowed by name (evidently raises for others; this module raises ``ValueError``):
ks, wasserstein, ed, t_test, mannw numerical only; chisquare and z *categorical only* (although
evidently's default choice applies them to numerical columns with <= 5 values, which bypasses the
check, see ``detect.default_stattest``); jensenshannon, psi, kl_div, hellinger both.

Scores agree with evidently's to floating-point rounding (a few ulp; the Wasserstein distance
and the unique counts are computed on sorted arrays instead of scipy's and pandas' code paths).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

ColumnType = Literal["num", "cat"]
COLUMN_TYPES = ("num", "cat")
N_BINS_UNIQUE_LIMIT = 20  # get_binned_data: numerical columns with more distinct reference values are binned
PSI_FILL = 1e-4


# -- cleaning and preparation -----------------------------------------------------------------------
def _as_series(values: Any) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, (pd.Index, pd.Categorical)):
        return pd.Series(values)
    return pd.Series(np.asarray(values) if not isinstance(values, (list, tuple)) else values)


def clean_numeric(values: Any, *, name: str = "column", side: str = "reference") -> np.ndarray:
    """Finite values of a numerical column as a 1-d numpy array (int dtypes kept, bool -> int64).

    evidently drops +-inf and NaN (``replace([-inf, inf], nan).dropna()``) and requires a numeric
    dtype (``pd.api.types.is_numeric_dtype``); so does this.
    """
    if isinstance(values, pd.Series):
        if not pd.api.types.is_numeric_dtype(values.dtype):
            raise ValueError(f"Column '{name}' in {side} dataset should contain numerical values only.")
        if isinstance(values.dtype, np.dtype):
            arr = values.to_numpy()
        else:  # pandas extension dtypes (Int64, Float64, boolean) may hold pd.NA
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(values)
        if arr.dtype == object:
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Column '{name}' in {side} dataset should contain numerical values only.") from exc
        elif arr.dtype.kind not in "biuf":
            raise ValueError(f"Column '{name}' in {side} dataset should contain numerical values only.")
    arr = np.ravel(arr)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            arr = arr[finite]
    return arr


def _is_inf(key: Any) -> bool:
    return isinstance(key, (float, np.floating)) and math.isinf(key)


def value_counts(values: Any) -> tuple[list[Any], np.ndarray]:
    """(distinct values, counts) of a column, NaN/None and +-inf dropped, zero counts dropped."""
    s = _as_series(values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(s.cat.categories))
        nz = np.flatnonzero(counts)
        keys = s.cat.categories[nz].tolist()
        counts = counts[nz]
    else:
        vc = s.value_counts(dropna=True, sort=False)
        keys = vc.index.tolist()
        counts = vc.to_numpy()
    counts = np.asarray(counts, dtype=np.int64)
    inf = [i for i, k in enumerate(keys) if _is_inf(k)]
    if inf:
        keep = np.ones(len(keys), dtype=bool)
        keep[inf] = False
        keys = [k for i, k in enumerate(keys) if keep[i]]
        counts = counts[keep]
    return keys, counts


def _sorted_unique_counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts of a sorted array."""
    if a.size == 0:
        return a[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], a[1:] != a[:-1])))
    counts = np.diff(np.append(starts, a.size))
    return a[starts], counts


def _sorted_nunique(a: np.ndarray) -> int:
    if a.size == 0:
        return 0
    return 1 + int(np.count_nonzero(a[1:] != a[:-1]))


@dataclass
class CategoricalPair:
    """Counts of reference and current over the union of their values (keys)."""

    keys: list[Any]
    ref_counts: np.ndarray
    cur_counts: np.ndarray

    @property
    def n_ref(self) -> int:
        return int(self.ref_counts.sum())

    @property
    def n_cur(self) -> int:
        return int(self.cur_counts.sum())

    @property
    def nunique(self) -> int:
        """Distinct values over reference and current together."""
        return len(self.keys)

    @property
    def ref_nunique(self) -> int:
        return int(np.count_nonzero(self.ref_counts))

    @property
    def cur_nunique(self) -> int:
        return int(np.count_nonzero(self.cur_counts))

    @classmethod
    def from_counts(
        cls, ref_keys: Sequence[Any], ref_counts: np.ndarray, cur_keys: Sequence[Any], cur_counts: np.ndarray
    ) -> CategoricalPair:
        index: dict[Any, int] = {}
        for k in ref_keys:
            index.setdefault(k, len(index))
        for k in cur_keys:
            index.setdefault(k, len(index))
        r = np.zeros(len(index), dtype=np.int64)
        c = np.zeros(len(index), dtype=np.int64)
        np.add.at(r, [index[k] for k in ref_keys], np.asarray(ref_counts, dtype=np.int64))
        np.add.at(c, [index[k] for k in cur_keys], np.asarray(cur_counts, dtype=np.int64))
        return cls(list(index), r, c)

    @classmethod
    def from_values(cls, reference: Any, current: Any, *, name: str = "column") -> CategoricalPair:
        rk, rc = value_counts(reference)
        ck, cc = value_counts(current)
        if not rk:
            raise ValueError(f"An empty column '{name}' was provided for drift calculation in the reference dataset.")
        if not ck:
            raise ValueError(f"An empty column '{name}' was provided for drift calculation in the current dataset.")
        return cls.from_counts(rk, rc, ck, cc)


class NumericPair:
    """Finite values of reference and current, each sorted once; counts and statistics derived lazily."""

    def __init__(self, reference: np.ndarray, current: np.ndarray, *, name: str = "column") -> None:
        if reference.size == 0:
            raise ValueError(f"An empty column '{name}' was provided for drift calculation in the reference dataset.")
        if current.size == 0:
            raise ValueError(f"An empty column '{name}' was provided for drift calculation in the current dataset.")
        # np.std of the reference in its original order (as evidently: pandas' std, ddof=0).
        self.ref_std = float(np.std(reference))
        self.ref = np.sort(reference)
        self.cur = np.sort(current)
        self._counts: CategoricalPair | None = None
        self._ref_nunique: int | None = None

    @classmethod
    def from_values(cls, reference: Any, current: Any, *, name: str = "column") -> NumericPair:
        return cls(
            clean_numeric(reference, name=name, side="reference"),
            clean_numeric(current, name=name, side="current"),
            name=name,
        )

    @property
    def n_ref(self) -> int:
        return int(self.ref.size)

    @property
    def n_cur(self) -> int:
        return int(self.cur.size)

    @property
    def ref_nunique(self) -> int:
        if self._ref_nunique is None:
            self._ref_nunique = _sorted_nunique(self.ref)
        return self._ref_nunique

    def nunique_upto(self, limit: int) -> int:
        """Distinct values over both sides, exact when <= limit (else some number > limit)."""
        if self.ref_nunique > limit:
            return self.ref_nunique
        cur_n = _sorted_nunique(self.cur)
        if cur_n > limit:
            return cur_n
        return self.counts().nunique

    @property
    def nunique(self) -> int:
        if self._counts is not None:
            return self._counts.nunique
        return _sorted_nunique(np.sort(np.concatenate((self.ref, self.cur)), kind="stable"))

    def counts(self) -> CategoricalPair:
        """The column as counts over its distinct values (for value-by-value comparisons)."""
        if self._counts is None:
            rv, rc = _sorted_unique_counts(self.ref)
            cv, cc = _sorted_unique_counts(self.cur)
            keys = np.union1d(rv, cv)
            r = np.zeros(keys.size, dtype=np.int64)
            c = np.zeros(keys.size, dtype=np.int64)
            r[np.searchsorted(keys, rv)] = rc
            c[np.searchsorted(keys, cv)] = cc
            self._counts = CategoricalPair(keys.tolist(), r, c)
        return self._counts

    @property
    def combined_dtype(self) -> np.dtype:
        return np.result_type(self.ref.dtype, self.cur.dtype)


Pair = NumericPair | CategoricalPair


def make_pair(reference: Any, current: Any, column_type: ColumnType, *, name: str = "column") -> Pair:
    if column_type == "num":
        return NumericPair.from_values(reference, current, name=name)
    if column_type == "cat":
        return CategoricalPair.from_values(reference, current, name=name)
    raise ValueError(f"column_type must be one of {COLUMN_TYPES}, got {column_type!r}")


def _as_counts(pair: Pair) -> CategoricalPair:
    return pair.counts() if isinstance(pair, NumericPair) else pair


def _need_numeric(pair: Pair, test: str) -> NumericPair:
    if not isinstance(pair, NumericPair):
        raise ValueError(f"Stattest {test} isn't applicable to feature of type cat")
    return pair


# -- binning (evidently's get_binned_data) ----------------------------------------------------------
try:  # numpy's own helper, so that integer ranges are subtracted exactly as np.histogram_bin_edges does
    from numpy.lib._histograms_impl import _unsigned_subtract
except ImportError:  # pragma: no cover - layout of older/newer numpy

    def _unsigned_subtract(a: Any, b: Any) -> Any:
        dt = np.result_type(a, b)
        if np.issubdtype(dt, np.signedinteger):
            udt = np.dtype(dt.str.replace("i", "u"))
            return np.subtract(np.asarray(a, dtype=dt), np.asarray(b, dtype=dt), casting="unsafe", dtype=udt)
        return np.subtract(a, b, dtype=dt)


def sturges_edges(lo: Any, hi: Any, size: int, dtype: np.dtype) -> np.ndarray:
    """``np.histogram_bin_edges(a, bins="sturges")`` from min, max, size and dtype of ``a`` only."""
    dtype = np.dtype(dtype)
    a_min = np.asarray(lo, dtype=dtype)[()]
    a_max = np.asarray(hi, dtype=dtype)[()]
    first, last = a_min, a_max
    if first == last:
        first = first - 0.5
        last = last + 0.5
    width = _unsigned_subtract(a_max, a_min) / (np.log2(size) + 1.0)
    if width:
        if np.issubdtype(dtype, np.integer) and width < 1:
            width = 1
        n_bins = int(np.ceil(_unsigned_subtract(last, first) / width))
    else:
        n_bins = 1
    bin_type = np.result_type(first, last, np.empty(0, dtype=dtype))
    if np.issubdtype(bin_type, np.integer):
        bin_type = np.result_type(bin_type, float)
    return np.linspace(first, last, n_bins + 1, endpoint=True, dtype=bin_type)


def histogram_sorted(a_sorted: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(a, edges)[0]`` of a sorted array (bins [e_i, e_i+1), the last one closed)."""
    cum = np.concatenate((a_sorted.searchsorted(edges[:-1], "left"), a_sorted.searchsorted(edges[-1:], "right")))
    return np.diff(cum)


def fill_zeros(shares: np.ndarray) -> np.ndarray:
    """evidently's zero fill for PSI / KL: 1e-4, or min non-zero / 1e6 when that is <= 1e-4."""
    nonzero = shares[shares != 0]
    if nonzero.size == shares.size:
        return shares
    smallest = nonzero.min()
    fill = smallest / 10**6 if smallest <= PSI_FILL else PSI_FILL
    out = shares.copy()
    np.place(out, out == 0, fill)
    return out


def binned_shares(pair: Pair, *, fill: bool) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current shares per bin (evidently's ``get_binned_data``)."""
    if isinstance(pair, NumericPair) and pair.ref_nunique > N_BINS_UNIQUE_LIMIT:
        edges = sturges_edges(
            min(pair.ref[0], pair.cur[0]), max(pair.ref[-1], pair.cur[-1]), pair.n_ref + pair.n_cur, pair.combined_dtype
        )
        ref = histogram_sorted(pair.ref, edges) / pair.n_ref
        cur = histogram_sorted(pair.cur, edges) / pair.n_cur
    else:
        counts = _as_counts(pair)
        ref = counts.ref_counts / counts.n_ref
        cur = counts.cur_counts / counts.n_cur
    if fill:
        ref, cur = fill_zeros(ref), fill_zeros(cur)
    return ref, cur


# -- statistics on prepared pairs ---------------------------------------------------------------------
def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """First Wasserstein distance of two sorted samples: the integral of |Q_u(t) - Q_v(t)| over t.

    Equals ``scipy.stats.wasserstein_distance(u, v)`` (its CDF integral) up to rounding, without
    scipy's argsorts and searchsorted over the merged sample.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    n, m = u.size, v.size
    if n == m:
        return float(np.abs(u - v).mean())
    g = math.gcd(n, m)
    su, sv = m // g, n // g  # one u value spans su units of t, one v value sv units; total n*m/g
    total = n * su
    bounds = np.concatenate((np.arange(1, n + 1, dtype=np.int64) * su, np.arange(1, m + 1, dtype=np.int64) * sv))
    bounds.sort()
    widths = np.diff(bounds, prepend=0)
    keep = widths > 0
    bounds, widths = bounds[keep], widths[keep]
    iu = (bounds - 1) // su
    iv = (bounds - 1) // sv
    return float(np.dot(np.abs(u[iu] - v[iv]), widths.astype(np.float64)) / total)


def _ks(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import ks_2samp

    p = _need_numeric(pair, "ks")
    p_value = float(ks_2samp(p.ref, p.cur)[1])
    return p_value, p_value <= threshold


def _chisquare(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import chisquare as scipy_chisquare

    c = _as_counts(pair)
    k_norm = c.n_cur / c.n_ref
    f_exp = c.ref_counts * k_norm
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = float(scipy_chisquare(c.cur_counts, f_exp)[1])
    return p_value, p_value < threshold


def _z(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import norm

    c = _as_counts(pair)
    ref_present = np.flatnonzero(c.ref_counts)
    cur_present = np.flatnonzero(c.cur_counts)
    if ref_present.size == 1 and cur_present.size == 1 and ref_present[0] == cur_present[0]:
        p_value = 1.0
    else:
        first = c.keys.index(sorted(c.keys)[0])
        n1, n2 = c.n_ref, c.n_cur
        # evidently maps value == smallest key -> 0, else 1, and takes the mean of that.
        p1 = float(n1 - int(c.ref_counts[first])) / n1
        p2 = float(n2 - int(c.cur_counts[first])) / n2
        big_p = float(p1 * n1 + p2 * n2) / (n1 + n2)
        z_stat = (p1 - p2) / np.sqrt(big_p * (1 - big_p) * (1.0 / n1 + 1.0 / n2))
        p_value = float(2 * (1 - norm.cdf(np.abs(z_stat))))
    return p_value, p_value < threshold


def _wasserstein(pair: Pair, threshold: float) -> tuple[float, bool]:
    p = _need_numeric(pair, "wasserstein")
    norm = max(p.ref_std, 0.001)
    value = wasserstein_sorted(p.ref, p.cur) / norm
    return value, value >= threshold


def _jensenshannon(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.spatial import distance

    ref, cur = binned_shares(pair, fill=False)
    value = float(distance.jensenshannon(ref, cur))
    return value, value >= threshold


def _psi(pair: Pair, threshold: float) -> tuple[float, bool]:
    ref, cur = binned_shares(pair, fill=True)
    value = float(np.sum((ref - cur) * np.log(ref / cur)))
    return value, value >= threshold


def _kl_div(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import entropy

    ref, cur = binned_shares(pair, fill=True)
    value = float(entropy(ref, cur))
    return value, value >= threshold


def _hellinger(pair: Pair, threshold: float) -> tuple[float, bool]:
    if isinstance(pair, CategoricalPair):
        ref = pair.ref_counts / pair.n_ref
        cur = pair.cur_counts / pair.n_cur
        total = 0.0
        for a, b in zip(ref.tolist(), cur.tolist(), strict=True):
            total += math.sqrt(a * b)
    else:
        keys = np.asarray(pair.counts().keys)
        bins = np.histogram_bin_edges(keys, bins="sturges")
        widths = np.diff(bins)
        h_ref = histogram_sorted(pair.ref, bins)
        h_cur = histogram_sorted(pair.cur, bins)
        d_ref = h_ref / widths / h_ref.sum()  # np.histogram(density=True): n / db / n.sum()
        d_cur = h_cur / widths / h_cur.sum()
        bin_width = (max(bins) - min(bins)) / (len(bins) - 1)
        total = 0.0
        for a, b in zip(d_ref.tolist(), d_cur.tolist(), strict=True):
            total += math.sqrt(float(a) * float(b)) * bin_width
    value = math.sqrt(1 - float(np.clip(total, 0, 1)))
    return value, value >= threshold


def _energy(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import energy_distance

    p = _need_numeric(pair, "ed")
    value = float(energy_distance(p.ref, p.cur))
    return value, value > threshold


def _t_test(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import ttest_ind

    p = _need_numeric(pair, "t_test")
    p_value = float(ttest_ind(p.ref, p.cur)[1])
    return p_value, p_value < threshold


def _mannw(pair: Pair, threshold: float) -> tuple[float, bool]:
    from scipy.stats import mannwhitneyu

    p = _need_numeric(pair, "mannw")
    p_value = float(mannwhitneyu(x=p.ref, y=p.cur, alternative="less")[1])
    return p_value, p_value < threshold


# -- the registry -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatTest:
    """A registered test: ``test(reference, current, threshold=None, column_type="num")``."""

    name: str
    display_name: str  # evidently's display name (what its reports show as the method)
    default_threshold: float
    kind: Literal["pvalue", "distance"]
    column_types: tuple[str, ...]
    impl: Callable[[Pair, float], tuple[float, bool]]

    def __call__(
        self, reference: Any, current: Any, threshold: float | None = None, column_type: ColumnType = "num"
    ) -> tuple[float, bool]:
        self.check_type(column_type)
        pair = make_pair(reference, current, column_type)
        return self.impl(pair, self.default_threshold if threshold is None else threshold)

    def check_type(self, column_type: str) -> None:
        if column_type not in self.column_types:
            raise ValueError(
                f"Stattest {self.name} isn't applicable to feature of type {column_type}. "
                f"Available feature types: {list(self.column_types)}"
            )


STATTESTS: dict[str, StatTest] = {}


def register(test: StatTest) -> StatTest:
    STATTESTS[test.name] = test
    return test


for _t in (
    StatTest("ks", "K-S p_value", 0.05, "pvalue", ("num",), _ks),
    StatTest("chisquare", "chi-square p_value", 0.05, "pvalue", ("cat",), _chisquare),
    StatTest("z", "Z-test p_value", 0.05, "pvalue", ("cat",), _z),
    StatTest("wasserstein", "Wasserstein distance (normed)", 0.1, "distance", ("num",), _wasserstein),
    StatTest("jensenshannon", "Jensen-Shannon distance", 0.1, "distance", ("cat", "num"), _jensenshannon),
    StatTest("psi", "PSI", 0.1, "distance", ("cat", "num"), _psi),
    StatTest("kl_div", "Kullback-Leibler divergence", 0.1, "distance", ("cat", "num"), _kl_div),
    StatTest("hellinger", "Hellinger distance", 0.1, "distance", ("cat", "num"), _hellinger),
    StatTest("ed", "Energy-distance", 0.1, "distance", ("num",), _energy),
    StatTest("t_test", "t_test", 0.05, "pvalue", ("num",), _t_test),
    StatTest("mannw", "Mann-Whitney U-rank test", 0.05, "pvalue", ("num",), _mannw),
):
    register(_t)


def get_stattest(name: str) -> StatTest:
    try:
        return STATTESTS[name]
    except KeyError:
        raise ValueError(f"No stattest found of name {name!r}. Available stattests: {sorted(STATTESTS)}") from None


# -- the pure functions, one per test ------------------------------------------------------------------
def ks(reference: Any, current: Any, threshold: float = 0.05, column_type: ColumnType = "num") -> tuple[float, bool]:
    """Two-sample Kolmogorov-Smirnov p-value; drift when p <= threshold."""
    return STATTESTS["ks"](reference, current, threshold, column_type)


def chisquare(
    reference: Any, current: Any, threshold: float = 0.05, column_type: ColumnType = "cat"
) -> tuple[float, bool]:
    """Chi-square goodness of fit of current counts to scaled reference counts; drift when p < threshold."""
    return STATTESTS["chisquare"].impl(make_pair(reference, current, column_type), threshold)


def z(reference: Any, current: Any, threshold: float = 0.05, column_type: ColumnType = "cat") -> tuple[float, bool]:
    """Two-proportion z-test (share of the smallest value); drift when p < threshold."""
    return STATTESTS["z"].impl(make_pair(reference, current, column_type), threshold)


def wasserstein(
    reference: Any, current: Any, threshold: float = 0.1, column_type: ColumnType = "num"
) -> tuple[float, bool]:
    """Wasserstein-1 distance normed by the reference std (floor 0.001); drift when >= threshold."""
    return STATTESTS["wasserstein"](reference, current, threshold, column_type)


def jensenshannon(
    reference: Any, current: Any, threshold: float = 0.1, column_type: ColumnType = "num"
) -> tuple[float, bool]:
    """Jensen-Shannon distance of the binned shares; drift when >= threshold."""
    return STATTESTS["jensenshannon"](reference, current, threshold, column_type)


def psi(reference: Any, current: Any, threshold: float = 0.1, column_type: ColumnType = "num") -> tuple[float, bool]:
    """Population stability index of the binned shares; drift when >= threshold."""
    return STATTESTS["psi"](reference, current, threshold, column_type)


def kl_div(reference: Any, current: Any, threshold: float = 0.1, column_type: ColumnType = "num") -> tuple[float, bool]:
    """Kullback-Leibler divergence KL(reference || current) of the binned shares; drift when >= threshold."""
    return STATTESTS["kl_div"](reference, current, threshold, column_type)


def hellinger(
    reference: Any, current: Any, threshold: float = 0.1, column_type: ColumnType = "num"
) -> tuple[float, bool]:
    """Hellinger distance; drift when >= threshold."""
    return STATTESTS["hellinger"](reference, current, threshold, column_type)


def ed(reference: Any, current: Any, threshold: float = 0.1, column_type: ColumnType = "num") -> tuple[float, bool]:
    """Energy distance; drift when > threshold (strictly, as evidently)."""
    return STATTESTS["ed"](reference, current, threshold, column_type)


def t_test(
    reference: Any, current: Any, threshold: float = 0.05, column_type: ColumnType = "num"
) -> tuple[float, bool]:
    """Student's t-test p-value; drift when p < threshold."""
    return STATTESTS["t_test"](reference, current, threshold, column_type)


def mannw(reference: Any, current: Any, threshold: float = 0.05, column_type: ColumnType = "num") -> tuple[float, bool]:
    """Mann-Whitney U (alternative "less") p-value; drift when p < threshold."""
    return STATTESTS["mannw"](reference, current, threshold, column_type)
