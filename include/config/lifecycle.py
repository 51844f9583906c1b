"""The sections for a model in production: monitoring (when to retrain) and deploy (when to promote)."""

from __future__ import annotations

import datetime as dt
import itertools
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from include.config.checks import MAX_DAYS, check_fractions, check_ints, check_non_negative, fail, is_number
from include.config.experiment import check_ab_numbers
from include.contracts import DEPLOY_STRATEGIES, SHADOW

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RETRAIN_TRIGGERS = ("dataset_drift", "performance_drop", "concept_drift", "new_labels", "model_age", "manual")
# monitoring.triggers when a config does not list them: every trigger but concept_drift, which is
# opt-in (it reads the same delayed labels as performance_drop and fires on a rise of the error
# rate that may be too small to move the metric; list it to retrain on the earlier signal).
DEFAULT_TRIGGERS = tuple(t for t in RETRAIN_TRIGGERS if t != "concept_drift")
# Concept drift detectors of include/monitor/drift/concept.py (DETECTORS; a test keeps them equal).
CONCEPT_DETECTORS = ("adwin", "page_hinkley", "ddm")
PERFORMANCE_DROP_MODES = ("absolute", "relative")
STATTESTS_DIR = Path(__file__).resolve().parents[1] / "monitor" / "drift" / "stattests"
_NOT_STATTESTS = {"registry"}


def stattest_module_names() -> list[str]:
    """The drift tests a config may name: one module per test in include/monitor/drift/stattests/,
    named after its test (a test keeps this equal to the registry). Module names only: reading a
    config never imports the tests (scipy)."""
    return sorted(m.name for m in pkgutil.iter_modules([str(STATTESTS_DIR)]) if m.name not in _NOT_STATTESTS)


@dataclass
class MonitoringConfig:
    """What monitor_<model> checks and when it asks for a retrain (see include/monitor/decision.py)."""

    # Current window: the feature partitions of the last window_days days up to the run's day.
    window_days: int = 1
    # Dataset drift when at least this share of features drift (evidently's DataDriftPreset).
    drift_share: float = 0.5
    # Per-column test overrides, e.g. {monthly_charges: {stattest: psi, threshold: 0.2}}.
    stattests: dict[str, dict[str, Any]] = field(default_factory=dict)
    null_rate_margin: float = 0.1
    row_count_tolerance: float = 0.5
    trailing_partitions: int = 7
    # Performance on delayed labels over this many days of predictions.
    performance_window_days: int = 14
    # How much worse than the champion's hold-out the live primary metric may get, in its own
    # direction: "absolute" in the metric's units (0.05 of roc_auc, 1.5 minutes of rmse),
    # "relative" as a share of the hold-out value (0.2: 20% worse). From 0 to 1 when relative or
    # when the metric itself lies in [0, 1].
    max_performance_drop: float = 0.05
    performance_drop_mode: str = "absolute"
    concept_detector: str = "adwin"
    min_new_labels: int = 20000
    max_model_age_days: int = 30
    triggers: list[str] = field(default_factory=lambda: list(DEFAULT_TRIGGERS))
    report_sample_rows: int = 5000
    _where: str = field(default="monitoring", repr=False, compare=False)  # noqa: contract

    def __post_init__(self) -> None:
        w = self._where
        check_ints(self, ("window_days", "trailing_partitions", "performance_window_days"), maximum=MAX_DAYS)
        # A very large age switches the model_age trigger off in effect; 100 years still fits dates.
        check_ints(self, ("max_model_age_days",), maximum=10 * MAX_DAYS)
        check_ints(self, ("min_new_labels", "report_sample_rows"))
        check_fractions(self, ("drift_share", "null_rate_margin"))
        check_non_negative(self, ("row_count_tolerance", "max_performance_drop"))
        if self.performance_drop_mode not in PERFORMANCE_DROP_MODES:
            fail(
                f"{w}.performance_drop_mode",
                f"must be one of {list(PERFORMANCE_DROP_MODES)}, got {self.performance_drop_mode!r}",
            )
        if self.concept_detector not in CONCEPT_DETECTORS:
            fail(f"{w}.concept_detector", f"must be one of {list(CONCEPT_DETECTORS)}, got {self.concept_detector!r}")
        if not isinstance(self.triggers, list) or not all(isinstance(t, str) for t in self.triggers):
            fail(
                f"{w}.triggers", f"must be a list of trigger names from {list(RETRAIN_TRIGGERS)}, got {self.triggers!r}"
            )
        unknown = sorted(set(self.triggers) - set(RETRAIN_TRIGGERS))
        if unknown:
            fail(f"{w}.triggers", f"unknown trigger(s) {unknown}; known: {list(RETRAIN_TRIGGERS)}")
        if not isinstance(self.stattests, dict):
            fail(f"{w}.stattests", f"must be a mapping of column -> {{stattest, threshold}}, got {self.stattests!r}")
        for column, spec in self.stattests.items():
            self._check_stattest(f"{w}.stattests.{column}", spec)

    @staticmethod
    def _check_stattest(where: str, spec: Any) -> None:
        if not isinstance(spec, dict) or not set(spec) <= {"stattest", "threshold"}:
            fail(where, f"must hold stattest and/or threshold, got {spec!r}")
        if "stattest" in spec and spec["stattest"] not in (known := stattest_module_names()):
            fail(f"{where}.stattest", f"unknown stattest {spec['stattest']!r}; known: {known}")
        threshold = spec.get("threshold")
        if threshold is not None and (not is_number(threshold) or threshold <= 0):
            fail(f"{where}.threshold", f"must be a finite number > 0, got {threshold!r}")


@dataclass
class DeployConfig:
    """When a challenger may replace the champion (see include/deploy/criteria.py)."""

    # Shadow evidence the challenger needs: batches and rows scored beside the champion,
    # spanning at least min_hours of data.
    min_shadow_batches: int = 3
    min_shadow_rows: int = 1000
    min_shadow_hours: float = 48.0
    # Share of shadow rows where the challenger agrees with the champion: the same class for a
    # classifier; for a regressor a score within agreement_tolerance (relative) of the champion's,
    # |challenger - champion| <= agreement_tolerance * |champion|.
    min_agreement: float = 0.8
    agreement_tolerance: float = 0.1
    max_error_rate: float = 0.0
    max_latency_ms_per_1k: float = 500.0
    # Where labels have arrived: challenger's live primary metric may trail the champion's by
    # at most this much, in the metric's units and direction (roc_auc below, rmse above).
    max_live_regression: float = 0.02
    # A challenger still in shadow after this many days is rejected.
    reject_after_days: int = 30
    # No promotions on these weekdays (mon..sun) or dates (YYYY-MM-DD), UTC.
    freeze_weekdays: list[str] = field(default_factory=list)
    freeze_dates: list[str] = field(default_factory=list)
    approval_required: bool = False
    approval_timeout_hours: float = 24.0
    # Post-promotion health check: champion scores of the saved sample must match the scores
    # recorded at training time within this absolute tolerance.
    health_tolerance: float = 1e-6
    # shadow: the challenger's scores are never published; canary: they are published for a
    # share of entities chosen by a hash of the entity id (stable across days), ramped one step
    # per promote run while the step's criteria hold (include/deploy/canary.py).
    strategy: str = SHADOW
    canary_ramp: list[float] = field(default_factory=lambda: [0.05, 0.25, 0.5, 1.0])
    # A step advances after this many scored dates at its share...
    canary_min_batches: int = 1
    # ...when the challenger's mean |score - champion's score| on the same rows stays within this.
    canary_max_score_diff: float = 0.1
    # ab: the challenger's scores are published for a fixed arm of entities (a salted hash of the
    # entity id) until the delayed outcomes of both arms reach the sample size planned for
    # ab_min_detectable_effect at ab_power; then one one-sided test at ab_alpha decides promote
    # or reject (include/deploy/ab.py). The outcome is a classifier's correct prediction (a
    # success rate) or a regressor's absolute error; ab_min_detectable_effect is in its unit.
    ab_treatment_share: float = 0.5
    ab_hypothesis: str = "superiority"  # or non_inferiority, with ab_margin > 0
    ab_margin: float = 0.0
    ab_alpha: float = 0.05
    ab_power: float = 0.8
    ab_min_detectable_effect: float | None = None
    # The champion's success rate (classifier) or the standard deviation of its absolute error
    # (regressor); empty: from the champion's hold-out accuracy, or its rmse and mae.
    ab_baseline: float | None = None
    ab_test: str | None = None  # two_proportion_z | bootstrap (classifier), welch_t | bootstrap (regressor)
    _where: str = field(default="deploy", repr=False, compare=False)

    def __post_init__(self) -> None:
        w = self._where
        check_ints(self, ("min_shadow_batches", "min_shadow_rows"), minimum=0)
        check_ints(self, ("reject_after_days",), minimum=0, maximum=MAX_DAYS)
        check_fractions(self, ("min_agreement", "max_error_rate"))
        check_non_negative(self, ("min_shadow_hours", "approval_timeout_hours"), maximum=24 * MAX_DAYS)
        check_non_negative(
            self, ("max_latency_ms_per_1k", "max_live_regression", "health_tolerance", "agreement_tolerance")
        )
        bad = [d for d in self.freeze_weekdays if d not in WEEKDAYS]
        if bad:
            fail(f"{w}.freeze_weekdays", f"unknown weekday(s) {bad}; use {list(WEEKDAYS)}")
        for day in self.freeze_dates:
            try:
                dt.date.fromisoformat(str(day))
            except ValueError:
                fail(f"{w}.freeze_dates", f"{day!r} is not a YYYY-MM-DD date")
        if not isinstance(self.approval_required, bool):
            fail(f"{w}.approval_required", f"must be true or false, got {self.approval_required!r}")
        self._check_canary()
        check_ab_numbers(self)

    def _check_canary(self) -> None:
        w = self._where
        if self.strategy not in DEPLOY_STRATEGIES:
            fail(f"{w}.strategy", f"must be one of {', '.join(DEPLOY_STRATEGIES)}, got {self.strategy!r}")
        check_ints(self, ("canary_min_batches",), minimum=1)
        check_non_negative(self, ("canary_max_score_diff",))
        ramp = self.canary_ramp
        if (
            not isinstance(ramp, list)
            or not ramp
            or not all(is_number(share) and 0 < share <= 1 for share in ramp)
            or any(a >= b for a, b in itertools.pairwise(ramp))
            or ramp[-1] != 1
        ):
            fail(
                f"{w}.canary_ramp",
                f"must be increasing shares in (0, 1] ending at 1, e.g. [0.05, 0.25, 0.5, 1.0]; got {ramp!r}",
            )
