"""The drift tests by name: register a test, get it by name, list the names.

Each built-in test module (``ks``, ``chisquare``, ...) registers itself when imported; importing
``include.monitor.drift.stattests`` imports them all. A project adds its own test the same way:
a module of this folder named after the test (``register_stattest(StatTest(...))``), then names
it in ``monitoring.stattests`` (configs are checked against this folder's module names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from include.errors import ConfigError
from include.monitor.drift.pairs import Pair, make_pair

TestKind = Literal["pvalue", "distance"]


@dataclass(frozen=True)
class StatTest:
    """A registered test: ``test(reference, current, threshold=None, column_type="num")``.

    ``impl(pair, threshold) -> (score, drifted)`` runs on a prepared column
    (``include.monitor.drift.pairs``), so several tests on one column share its preparation.
    """

    name: str
    display_name: str  # evidently's display name (what its reports show as the method)
    default_threshold: float
    kind: TestKind  # "pvalue": drift when small; "distance": drift when large
    column_types: tuple[str, ...]
    impl: Callable[[Pair, float], tuple[float, bool]]

    def __call__(
        self, reference: Any, current: Any, threshold: float | None = None, column_type: str = "num"
    ) -> tuple[float, bool]:
        self.check_type(column_type)
        pair = make_pair(reference, current, column_type)
        return self.impl(pair, self.default_threshold if threshold is None else threshold)

    def check_type(self, column_type: str) -> None:
        if column_type not in self.column_types:
            raise ConfigError(
                f"Stattest {self.name} isn't applicable to feature of type {column_type}. "
                f"Available feature types: {list(self.column_types)}"
            )


STATTESTS: dict[str, StatTest] = {}


def register_stattest(test: StatTest, *, replace: bool = False) -> StatTest:
    """Make ``test`` available by its name; another test of that name needs ``replace=True``."""
    existing = STATTESTS.get(test.name)
    if existing is not None and existing is not test and not replace:
        raise ConfigError(f"a stattest named {test.name!r} is already registered (pass replace=True)")
    STATTESTS[test.name] = test
    return test


def get_stattest(name: str) -> StatTest:
    try:
        return STATTESTS[name]
    except KeyError:
        raise ConfigError(f"No stattest found of name {name!r}. Available stattests: {sorted(STATTESTS)}") from None


def stattest_names() -> list[str]:
    """Names of the registered tests, sorted."""
    return sorted(STATTESTS)
