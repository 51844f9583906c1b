"""One column of reference and current, prepared once for every drift test run on it.

A numerical column becomes a :class:`NumericPair` (finite values of each side, sorted once),
a categorical one a :class:`CategoricalPair` (counts of each side over the union of values).
Several tests on one column share the sort and the counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from include.errors import ConfigError, DataError
from include.ml.cleaning import clean_numeric, value_counts

ColumnType = Literal["num", "cat"]
COLUMN_TYPES = ("num", "cat")


def _empty(name: str, side: str) -> DataError:
    return DataError(f"An empty column '{name}' was provided for drift calculation in the {side} dataset.")


def sorted_unique_counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts of a sorted array."""
    if a.size == 0:
        return a[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], a[1:] != a[:-1])))
    counts = np.diff(np.append(starts, a.size))
    return a[starts], counts


def sorted_nunique(a: np.ndarray) -> int:
    """Distinct values of a sorted array."""
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
            raise _empty(name, "reference")
        if not ck:
            raise _empty(name, "current")
        return cls.from_counts(rk, rc, ck, cc)


class NumericPair:
    """Finite values of reference and current, each sorted once; counts and statistics derived lazily."""

    def __init__(self, reference: np.ndarray, current: np.ndarray, *, name: str = "column") -> None:
        if reference.size == 0:
            raise _empty(name, "reference")
        if current.size == 0:
            raise _empty(name, "current")
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
            self._ref_nunique = sorted_nunique(self.ref)
        return self._ref_nunique

    def nunique_upto(self, limit: int) -> int:
        """Distinct values over both sides, exact when <= limit (else some number > limit)."""
        if self.ref_nunique > limit:
            return self.ref_nunique
        cur_n = sorted_nunique(self.cur)
        if cur_n > limit:
            return cur_n
        return self.counts().nunique

    @property
    def nunique(self) -> int:
        if self._counts is not None:
            return self._counts.nunique
        return sorted_nunique(np.sort(np.concatenate((self.ref, self.cur)), kind="stable"))

    def counts(self) -> CategoricalPair:
        """The column as counts over its distinct values (for value-by-value comparisons)."""
        if self._counts is None:
            rv, rc = sorted_unique_counts(self.ref)
            cv, cc = sorted_unique_counts(self.cur)
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


def check_column_type(column_type: str) -> None:
    if column_type not in COLUMN_TYPES:
        raise ConfigError(f"column_type must be one of {COLUMN_TYPES}, got {column_type!r}")


def make_pair(reference: Any, current: Any, column_type: str, *, name: str = "column") -> Pair:
    """The column prepared for its type: numerical ("num") or categorical ("cat")."""
    check_column_type(column_type)
    if column_type == "num":
        return NumericPair.from_values(reference, current, name=name)
    return CategoricalPair.from_values(reference, current, name=name)


def as_counts(pair: Pair) -> CategoricalPair:
    """The pair as value counts (a numerical pair counted over its distinct values)."""
    return pair.counts() if isinstance(pair, NumericPair) else pair


def need_numeric(pair: Pair, test: str) -> NumericPair:
    """The pair, which a numerical-only test needs to be numerical."""
    if not isinstance(pair, NumericPair):
        raise ConfigError(f"Stattest {test} isn't applicable to feature of type cat")
    return pair
