"""Concept drift: change detection on a model's error stream, with river's detectors.

Feature drift asks "do the inputs look different?"; concept drift asks "is the model wrong more
often?", which needs labels and so arrives late (see ``include/ml/performance.py`` for the error
stream built from predictions joined to delayed labels). The detectors here are river's, run
row by row over the errors in time order; nothing is hand-written.

Detectors and defaults (``DEFAULT_PARAMS``; any river parameter can be overridden by keyword).
Numbers measured with river 0.26.1 on seeded Bernoulli 0/1 streams: false alarms over
stationary streams of 100,000 rows at 5%, 15% and 30% error (10 per rate, two independent seed
sets); delay = rows from an abrupt jump of the error rate to the first detection (20 streams).

* ``adwin`` -- :class:`river.drift.ADWIN`, river's defaults (``delta=0.002``, checks every
  ``clock=32`` rows). Adaptive windowing on any bounded real-valued stream (0/1 errors or
  absolute errors). It tests for a change of the mean in both directions: ``directions`` says
  whether the error went up (a problem) or down. No false alarm in 6,000,000 stationary rows;
  15% -> 50%: median 71 rows, max 103; 15% -> 30%: median 199-231, max 455; 15% -> 20%:
  median ~1,300-1,850 and not always within 5,000 rows.
* ``page_hinkley`` -- :class:`river.drift.PageHinkley` as a one-sided CUSUM on increases:
  ``mode="up"``, ``alpha=1.0`` (no forgetting), ``delta=0.05``, ``threshold=25``. river's
  defaults (``delta=0.005``, ``threshold=50``, ``alpha=0.9999``) alarm on a stationary 0/1
  stream: with forgetting the cumulative sum becomes a stationary process whose distance to
  its running minimum regularly exceeds the threshold (measured: about one false alarm per
  40,000 rows at 15% error). Without forgetting it is the textbook CUSUM, a random walk
  drifting down by ``delta`` per row while the error rate is unchanged. ``delta`` is the
  slack: increases of the error rate of ~0.1 and more are caught, increases below ~``delta``
  may never be (15% -> 20% was missed in 17 of 20 streams). ``threshold=25`` rather than 20
  keeps high-variance streams (30% error) quiet. No false alarm in 3,000,000 stationary rows;
  15% -> 50%: median 85 rows, max 126; 15% -> 30%: median 271, max 363. The parameters are in
  units of the error: they suit 0/1 streams; for absolute errors of a regression pass
  ``delta`` and ``threshold`` scaled to the error's spread (or use ADWIN).
* ``ddm`` -- :class:`river.drift.binary.DDM` (binary errors only: 0 = correct, 1 = wrong),
  ``warm_start=500``, ``warning_threshold=3.0``, ``drift_threshold=4.0`` instead of river's
  30 / 2.0 / 3.0. DDM compares the running error rate with the lowest one seen; with river's
  defaults a lucky start (the first few hundred rows) sets a low minimum and a stationary 15%
  stream alarms about once per 25,000 rows. With the longer warm start and higher threshold:
  one false alarm in 6,000,000 stationary rows (at 5% error); slower detection: 15% -> 50%:
  median ~205 rows, max 467; 15% -> 30%: median ~560, max 1,664. DDM degenerates on a
  near-perfect model: with no error in the warm start its minimum deviation is 0 and the
  first error alarms. Use ADWIN for such models.

``tests/unit/test_concept_drift.py`` asserts bounded versions of these numbers, on river's
SEA concept-drift stream and on the project's sample data with ``concept_drift_from``.

Only the standard library is imported at module level; numpy and river load on first use.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from include.errors import ConceptDriftError

DETECTORS = ("adwin", "page_hinkley", "ddm")
_ALIASES = {"ph": "page_hinkley", "pagehinkley": "page_hinkley"}

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "adwin": {"delta": 0.002, "clock": 32, "max_buckets": 5, "min_window_length": 5, "grace_period": 10},
    "page_hinkley": {"min_instances": 30, "delta": 0.05, "threshold": 25.0, "alpha": 1.0, "mode": "up"},
    "ddm": {"warm_start": 500, "warning_threshold": 3.0, "drift_threshold": 4.0},
}


@dataclass
class ConceptDriftResult:
    detector: str
    params: dict[str, Any]
    n: int
    # Row indices (0-based, in the order given) at which the detector flagged a change.
    detections: list[int] = field(default_factory=list)
    # Per detection: "up" when the error increased, "down" when it decreased.
    directions: list[str] = field(default_factory=list)
    # DDM only: rows at which the detector entered its warning zone.
    warnings: list[int] = field(default_factory=list)
    mean_error: float | None = None
    # Mean error before and after the first detection: a rough size of the change (the change
    # itself happened some rows before it was detected).
    mean_before_first: float | None = None
    mean_after_first: float | None = None

    @property
    def first_detection(self) -> int | None:
        return self.detections[0] if self.detections else None

    @property
    def first_increase(self) -> int | None:
        """First detection where the error went up: the one worth an alert."""
        return next((i for i, d in zip(self.detections, self.directions, strict=True) if d == "up"), None)

    @property
    def drift_detected(self) -> bool:
        return self.first_increase is not None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["first_detection"] = self.first_detection
        out["first_increase"] = self.first_increase
        out["drift_detected"] = self.drift_detected
        return out


def _detector_name(detector: str) -> str:
    name = str(detector).strip().lower().replace("-", "_")
    name = _ALIASES.get(name, name)
    if name not in DETECTORS:
        raise ConceptDriftError(f"unknown concept drift detector {detector!r}; known: {list(DETECTORS)}")
    return name


def _river_class(name: str) -> type:
    from river import drift
    from river.drift import binary

    return {"adwin": drift.ADWIN, "page_hinkley": drift.PageHinkley, "ddm": binary.DDM}[name]


def make_detector(detector: str = "adwin", **params: Any) -> tuple[str, dict[str, Any], Any]:
    """``(name, effective params, river detector)``; unknown parameters are refused by name."""
    name = _detector_name(detector)
    cls = _river_class(name)
    allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConceptDriftError(f"{name}: unknown parameter(s) {unknown}; river's {cls.__name__} takes {allowed}")
    effective = {**DEFAULT_PARAMS[name], **params}
    try:
        return name, effective, cls(**effective)
    except (TypeError, ValueError) as exc:
        raise ConceptDriftError(f"{name}: invalid parameters {params}: {exc}") from exc


def _as_stream(errors: Sequence[float | int] | Any, name: str) -> Any:
    import numpy as np

    try:
        values = np.asarray(errors, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ConceptDriftError(f"errors must be numbers, got {type(errors).__name__}: {exc}") from exc
    if values.ndim != 1:
        raise ConceptDriftError(f"errors must be one-dimensional, got shape {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ConceptDriftError(
            f"errors must be finite; {bad.size} value(s) are NaN or infinite (first at index {bad[0]}): "
            "drop rows without a label or a score before building the error stream"
        )
    if name == "ddm":
        not_binary = np.flatnonzero((values != 0) & (values != 1))
        if not_binary.size:
            i = not_binary[0]
            raise ConceptDriftError(
                f"ddm takes a binary error stream (0 = correct, 1 = error); got {float(values[i]):g} at index {i} "
                f"({not_binary.size} non-binary value(s)); use 'adwin' or 'page_hinkley' for real-valued errors"
            )
    return values


def detect_concept_drift(
    errors: Sequence[float | int] | Any, detector: str = "adwin", **params: Any
) -> ConceptDriftResult:
    """Run one river detector over the error stream (in time order) and list where it fired.

    ``errors``: 0/1 misclassifications or absolute errors, oldest first (see
    ``include.ml.performance.error_stream``). ``params`` override ``DEFAULT_PARAMS[detector]``
    and are passed to the river class unchanged. The detector resets itself after each
    detection, so later detections are changes relative to the new regime.
    """
    name, effective, det = make_detector(detector, **params)
    values = _as_stream(errors, name)
    detections: list[int] = []
    directions: list[str] = []
    warnings: list[int] = []
    in_warning = False
    # Running mean of the values since the last detection: the direction of a two-sided
    # Page-Hinkley alarm (the statistic that crosses the threshold grows only with values on
    # its side of the mean).
    seg_sum, seg_n = 0.0, 0
    mode = effective.get("mode")
    for i, value in enumerate(values.tolist()):
        before = det.estimation if name == "adwin" else None
        x = int(value) if name == "ddm" else value
        det.update(x)
        if name == "ddm":
            warning = bool(det.warning_detected)
            if warning and not in_warning:
                warnings.append(i)
            in_warning = warning
        if det.drift_detected:
            detections.append(i)
            if name == "adwin":
                directions.append("down" if det.estimation < before else "up")
            elif name == "page_hinkley" and mode in ("up", "down"):
                directions.append(mode)
            elif name == "page_hinkley":
                directions.append("up" if seg_n == 0 or value >= seg_sum / seg_n else "down")
            else:  # DDM only detects increases of the error rate
                directions.append("up")
            seg_sum, seg_n, in_warning = 0.0, 0, False
        else:
            seg_sum += value
            seg_n += 1
    n = int(values.size)
    result = ConceptDriftResult(
        detector=name,
        params=effective,
        n=n,
        detections=detections,
        directions=directions,
        warnings=warnings,
        mean_error=float(values.mean()) if n else None,
    )
    if detections:
        first = detections[0]
        result.mean_before_first = float(values[: first + 1].mean())
        after = values[first + 1 :]
        result.mean_after_first = float(after.mean()) if after.size else None
    return result


def detection_delay(result: ConceptDriftResult, change_at: int) -> int | None:
    """Rows from a known change point to the first increase detected at or after it."""
    after = [i for i, d in zip(result.detections, result.directions, strict=True) if i >= change_at and d == "up"]
    return after[0] - change_at if after else None
