"""Data drift: evidently-compatible column tests, dataset drift, drift from a reference profile.

* :mod:`include.monitor.drift.stattests` one small module per statistical test, each registered
  by name (``get_stattest``, ``stattest_names``, ``register_stattest``) and reproducing evidently
  0.7.23's test of the same name (same binning, fill values, thresholds and ``<`` / ``<=`` /
  ``>=`` semantics);
* :mod:`include.monitor.drift.pairs` and :mod:`include.monitor.drift.binning` what the tests share:
  a column prepared once, evidently's bins; cleaning is ``include.ml.cleaning``;
* :mod:`include.monitor.drift.detect` the default test choice, per-column drift and dataset drift, as
  evidently's ``Report([DataDriftPreset()])`` computes them, on numpy arrays;
* :mod:`include.monitor.drift.profile` drift computed from the compact JSON reference profile
  built at training time (``include.ml.profile``; an approximation where the profile is a sketch);
* :mod:`include.monitor.drift.streaming` the same from parquet files read batch by batch, in memory
  that does not grow with the rows (the current side summarized by :mod:`.summary`);
* :mod:`include.monitor.drift.concept` concept drift: change detection on a model's error stream.

Importing the package itself imports nothing else (no numpy, scipy, pandas or river), so it is
cheap; the submodules load what they need.
"""

from __future__ import annotations

__all__ = ["binning", "concept", "detect", "pairs", "profile", "stattests", "streaming", "summary"]
