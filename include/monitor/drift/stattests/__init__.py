"""Drift tests for one column, each reproducing evidently 0.7.23's test of the same name.

One small module per test; each registers its :class:`StatTest` by name with
:mod:`.registry` when imported, and importing this package imports every module of the folder
(a new test is one file: see ``anderson``, the worked example of docs/extending.md) (``get_stattest``,
``stattest_names``, ``register_stattest`` for a project's own tests). Every test is also a pure
function ``test(reference, current, threshold, column_type) -> (score, drifted)`` of array-likes
(numpy, pandas, lists) of one column; values are cleaned as evidently cleans them
(``include.ml.cleaning``: +-inf -> NaN, then NaN dropped). ``include.monitor.drift.detect``
prepares each column once (``include.monitor.drift.pairs``) and calls the tests' ``impl`` on it.

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
                                               filled (see ``binning.fill_zeros``)
kl_div         dist.   0.1        >= thr       ``scipy.stats.entropy(r, c)`` of the binned shares,
                                               zeros filled
hellinger      dist.   0.1        >= thr       categorical: sqrt(1 - sum sqrt(p*q)); numerical:
                                               Sturges bins over the *distinct* values, densities
ed             dist.   0.1        > thr        ``scipy.stats.energy_distance`` (strictly greater)
t_test         pvalue  0.05       p < thr      ``scipy.stats.ttest_ind`` (equal variances)
mannw          pvalue  0.05       p < thr      ``scipy.stats.mannwhitneyu(alternative="less")``
=============  ======  =========  ===========  ======================================================

The binning of the binned tests is ``include.monitor.drift.binning`` (evidently's
``get_binned_data``).

Column types allowed by name (evidently raises for others; so does this, ``ConfigError``):
ks, wasserstein, ed, t_test, mannw numerical only; chisquare and z *categorical only* (although
evidently's default choice applies them to numerical columns with <= 5 values, which bypasses the
check, see ``detect.default_stattest``); jensenshannon, psi, kl_div, hellinger both.

Scores agree with evidently's to floating-point rounding (a few ulp; the Wasserstein distance
and the unique counts are computed on sorted arrays instead of scipy's and pandas' code paths).
"""

from __future__ import annotations

import importlib
import pkgutil

from include.monitor.drift.stattests.chisquare import chisquare
from include.monitor.drift.stattests.ed import ed
from include.monitor.drift.stattests.hellinger import hellinger
from include.monitor.drift.stattests.jensenshannon import jensenshannon
from include.monitor.drift.stattests.kl_div import kl_div
from include.monitor.drift.stattests.ks import ks
from include.monitor.drift.stattests.mannw import mannw
from include.monitor.drift.stattests.psi import psi
from include.monitor.drift.stattests.registry import (
    STATTESTS,
    StatTest,
    get_stattest,
    register_stattest,
    stattest_names,
)
from include.monitor.drift.stattests.t_test import t_test
from include.monitor.drift.stattests.wasserstein import wasserstein
from include.monitor.drift.stattests.z import z

__all__ = [
    "STATTESTS",
    "StatTest",
    "chisquare",
    "ed",
    "get_stattest",
    "hellinger",
    "jensenshannon",
    "kl_div",
    "ks",
    "mannw",
    "psi",
    "register_stattest",
    "stattest_names",
    "t_test",
    "wasserstein",
    "z",
]


def _register_every_module() -> None:
    """Import every other module of this folder: a new test is one file, nothing else to edit."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_register_every_module()
