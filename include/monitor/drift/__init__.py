"""Data drift: evidently-compatible column tests, dataset drift and reference profiles.

* :mod:`include.monitor.drift.stattests` one small pure function per statistical test, registered by name,
  each reproducing evidently 0.7.23's test of the same name (same binning, fill values, thresholds
  and ``<`` / ``<=`` / ``>=`` semantics);
* :mod:`include.monitor.drift.detect` the default test choice, per-column drift and dataset drift, as
  evidently's ``Report([DataDriftPreset()])`` computes them, on numpy arrays;
* :mod:`include.monitor.drift.profile` a compact JSON reference profile built at training time, and drift
  computed from it (an approximation where the profile is a sketch; see that module);
* :mod:`include.monitor.drift.concept` concept drift: change detection on a model's error stream.

Importing the package itself imports nothing else (no numpy, scipy, pandas or river), so it is
cheap; the submodules load what they need.
"""

from __future__ import annotations

__all__ = ["concept", "detect", "profile", "stattests"]
