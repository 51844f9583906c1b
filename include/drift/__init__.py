"""Data drift: evidently-compatible column tests, dataset drift and reference profiles.

* :mod:`include.drift.stattests` one small pure function per statistical test, registered by name,
  each reproducing evidently 0.7.23's test of the same name (same binning, fill values, thresholds
  and ``<`` / ``<=`` / ``>=`` semantics);
* :mod:`include.drift.detect` the default test choice, per-column drift and dataset drift, as
  evidently's ``Report([DataDriftPreset()])`` computes them, on numpy arrays;
* :mod:`include.drift.profile` a compact JSON reference profile built at training time, and drift
  computed from it (an approximation where the profile is a sketch; see that module).

Heavy imports (numpy, scipy, pandas) happen inside these modules; importing the package itself
is cheap, and DAG files never import it at parse time.
"""

from __future__ import annotations

__all__ = ["detect", "profile", "stattests"]
