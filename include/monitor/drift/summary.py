"""A numerical column of the current data summarized in bounded memory, for the streaming
drift check (``include.monitor.drift.streaming``, whose docstring gives the exactness).

:class:`NumericSummary` takes the column batch by batch. Pass 1 (``add``): exact count, min,
max, mean and variance (Chan's merge of batch moments) and the exact distinct values with
their counts while there are at most ``max_distinct``. Pass 2, only past that (``start_bins``,
then ``add_bins``): the count of values below each of ~35,000 fixed edges, i.e. a quantile
sketch of the reference profile's kind, linear in rank between the edges. The edges: a grid
equally spaced in asinh((x - mean) / (std / 64)) (linear near the mean, geometric in the tails),
the reference's knots (the profile's sketch values), the caller's exact edges (the Sturges edges
of the binned tests) and one-ulp bins [v, nextafter(v)) at min, max, each knot and each value
frequent in the first batches, which hold exactly the repeated value v.

From it: counts below any edge (``below_at``), a pseudo-sample of m points at the quantiles
(i + 0.5) / m (``pseudo_sample``), and W1, the squared L2 distance and the sup distance of the
two CDFs against a sorted reference (``cdf_distances``), integrated exactly between support
points (the summary's CDF is linear between edges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

GRID_EDGES = 32_768  # sinh-spaced edges of pass 2
GRID_SCALE = 64  # the grid is linear within std / GRID_SCALE of the mean, geometric beyond
ATOM_SHARE = 1e-3  # values holding this share of the first batches get a one-ulp bin


def _up(x: Any) -> Any:
    return np.nextafter(x, np.inf)


@dataclass
class NumericSummary:
    """One numerical column of the current data, in bounded memory (see the module docstring)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: Any = None
    hi: Any = None
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.int64))
    values: np.ndarray | None = field(default_factory=lambda: np.empty(0))  # None: over max_distinct
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    atoms: np.ndarray = field(default_factory=lambda: np.empty(0))
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))  # pass 2: the grid
    below: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # #(x < edge)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.n)) if self.n else 0.0

    def add(self, x: np.ndarray, max_distinct: int) -> None:
        """Pass 1: one batch of finite values."""
        if x.size == 0:
            return
        xf = x.astype(np.float64, copy=False)
        mean_b = float(xf.mean())
        m2_b = float(np.square(xf - mean_b).sum())
        n = self.n + x.size
        delta = mean_b - self.mean
        self.m2 += m2_b + delta * delta * self.n * x.size / n
        self.mean += delta * x.size / n
        self.n = n
        lo, hi = x.min(), x.max()
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)
        self.dtype = x.dtype if self.n == x.size else np.result_type(self.dtype, x.dtype)
        if self.values is not None:
            self._add_distinct(x, max_distinct)

    def _add_distinct(self, x: np.ndarray, max_distinct: int) -> None:
        assert self.values is not None
        v, c = np.unique(x, return_counts=True)
        if self.values.size:
            v, inverse = np.unique(np.concatenate((self.values, v)), return_inverse=True)
            c = np.bincount(inverse, weights=np.concatenate((self.counts, c))).astype(np.int64)
        if v.size > max_distinct:
            self.atoms = v[c >= max(2.0, ATOM_SHARE * self.n)].astype(np.float64)
            self.values, self.counts = None, np.zeros(0, dtype=np.int64)
        else:
            self.values, self.counts = v, c

    def start_bins(self, knots: np.ndarray, sturges: np.ndarray) -> None:
        """Pass 2's edges: sinh grid, reference knots, Sturges edges, one-ulp bins (docstring)."""
        lo, hi = float(self.lo), float(self.hi)
        scale = self.std / GRID_SCALE
        if not np.isfinite(scale) or scale <= 0:
            scale = max(abs(lo), abs(hi), 1.0)
        u = np.linspace(np.arcsinh((lo - self.mean) / scale), np.arcsinh((hi - self.mean) / scale), GRID_EDGES)
        pinned = np.concatenate((knots, self.atoms, [lo, hi])).astype(np.float64)
        edges = np.unique(np.concatenate((self.mean + scale * np.sinh(u), sturges, pinned, _up(pinned))))
        self.edges = edges[(edges >= lo) & (edges <= _up(np.float64(hi)))]
        self.below = np.zeros(self.edges.size, dtype=np.int64)

    def add_bins(self, x: np.ndarray) -> None:
        """Pass 2: one batch counted below every edge (sorting the batch keeps this cheap)."""
        self.below += np.searchsorted(np.sort(x.astype(np.float64)), self.edges, "left")

    def below_at(self, points: np.ndarray) -> np.ndarray:
        """#(x < p) for each point: exact for any point with exact values, for grid edges otherwise
        (and for points outside [min, max])."""
        if self.values is not None:
            cum = np.concatenate(([0], np.cumsum(self.counts)))
            return cum[np.searchsorted(self.values, points, "left")]
        out = np.where(points <= self.edges[0], 0, self.n).astype(np.int64)
        inside = (points > self.edges[0]) & (points <= self.edges[-1])
        idx = np.searchsorted(self.edges, points[inside], "left")
        if not np.array_equal(self.edges[idx], points[inside]):
            raise RuntimeError("a point is missing from the pass-2 grid")
        out[inside] = self.below[idx]
        return out

    def pseudo_sample(self, m: int) -> np.ndarray:
        """m sorted points at the quantiles (i + 0.5) / m (the column itself when m == n and exact)."""
        if self.values is not None and m == self.n:
            return np.repeat(self.values, self.counts)
        pos = (np.arange(m, dtype=np.float64) + 0.5) * (self.n / m)
        if self.values is not None:
            return self.values[np.searchsorted(np.cumsum(self.counts), pos, "right")]
        j = np.searchsorted(self.below, pos, "right") - 1
        width = np.diff(self.edges)
        width[self.edges[1:] == _up(self.edges[:-1])] = 0.0  # one-ulp bins hold one value
        frac = (pos - self.below[j]) / (self.below[j + 1] - self.below[j])
        return self.edges[j] + frac * width[j]

    def cdf_distances(self, ref: np.ndarray) -> tuple[float, float, float]:
        """(W1, integral of (F_ref - F_cur)^2, sup |F_ref - F_cur|), integrated exactly between the
        merged support points: F_ref steps at the reference values, F_cur steps at the exact current
        values or is linear between the pass-2 edges."""
        xs = np.union1d(ref, self.edges if self.values is None else self.values).astype(np.float64)
        if xs.size < 2:  # one and the same value on both sides
            return 0.0, 0.0, 0.0
        f_ref = np.searchsorted(ref, xs[:-1], "right") / ref.size
        if self.values is not None:
            cum = np.concatenate(([0], np.cumsum(self.counts)))
            d1 = d2 = f_ref - cum[np.searchsorted(self.values, xs[:-1], "right")] / self.n
        else:
            # F_cur(x) counts the values <= x: one ulp up (exact past a one-ulp bin of a repeated value)
            d1 = f_ref - np.interp(_up(xs[:-1]), self.edges, self.below) / self.n
            d2 = f_ref - np.interp(xs[1:], self.edges, self.below) / self.n  # left limits
        dx, a1, a2 = np.diff(xs), np.abs(d1), np.abs(d2)
        with np.errstate(divide="ignore", invalid="ignore"):  # where d1 == d2 == 0 "same" holds
            mean_abs = np.where(d1 * d2 >= 0, (a1 + a2) / 2, (d1 * d1 + d2 * d2) / (2 * (a1 + a2)))
        return float(dx @ mean_abs), float(dx @ ((d1 * d1 + d1 * d2 + d2 * d2) / 3)), float(max(a1.max(), a2.max()))
