"""The one home of the metric names the pipelines push, their labels and help texts.

The Grafana dashboard (``docker/grafana/dashboards/model-health.json``) may use only these names
(``tests/unit/observe/test_dashboard.py`` parses its PromQL), and docs/production.md lists them.
Every series carries ``model`` and ``version`` (the champion version the run used), plus the
labels named here; ``job`` comes from the push's grouping key (``include/observe/push.py``).
Counters are exposed with their ``_total`` suffix: that is the name PromQL sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

JOB_PREFIX = "mlops_"  # the grouping key's job: mlops_<pipeline>
MODEL_LABEL = "model"
VERSION_LABEL = "version"


class Job:
    """The pipelines that push (the ``job`` label, ``mlops_<pipeline>``)."""

    MONITOR = "mlops_monitor"
    SCORING = "mlops_batch_score"
    DEPLOY = "mlops_deploy"


@dataclass(frozen=True)
class Metric:
    name: str  # as PromQL sees it (counters with _total)
    kind: Literal["gauge", "counter"]
    help: str
    labels: tuple[str, ...] = ()  # besides model and version

    @property
    def family(self) -> str:
        """The family name prometheus_client wants (a counter's without ``_total``)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


def _gauge(name: str, help_text: str, *labels: str) -> Metric:
    return Metric(name, "gauge", help_text, labels)


# -- every pipeline ------------------------------------------------------------------------------
LAST_SUCCESS = _gauge(
    "mlops_last_success_timestamp_seconds", "Unix time the run pushed its numbers (after its data was published)."
)

# -- monitor: reports/<model>/monitor/ds=<ds>/summary.json -----------------------------------------
MONITOR_DS = _gauge(
    "mlops_monitor_ds_timestamp_seconds", "The day the last monitor run checked (midnight UTC, Unix time)."
)
DRIFT_SHARE = _gauge("mlops_monitor_drift_share", "Share of the feature columns that drifted.")
DATASET_DRIFT = _gauge("mlops_monitor_dataset_drift", "1 when the drifted share is at or above monitoring.drift_share.")
COLUMN_DRIFT = _gauge("mlops_monitor_column_drift", "1 when this column drifted.", "column")
COLUMN_DRIFT_SCORE = _gauge(
    "mlops_monitor_column_drift_score", "This column's drift test statistic or p-value.", "column"
)
PREDICTION_DRIFT_SCORE = _gauge("mlops_monitor_prediction_drift_score", "Drift score of the predictions.")
LIVE_METRIC = _gauge("mlops_monitor_live_metric", "The primary metric on labelled live rows.", "metric")
LABELLED_ROWS = _gauge("mlops_monitor_labelled_rows", "Labelled rows the live metric was computed on.")
QUALITY_ISSUES = _gauge("mlops_monitor_quality_issues", "Data quality issues found in the day's features.")
RETRAIN = _gauge("mlops_monitor_retrain_decision", "1 when the monitor run decided to request a retrain.")
CHAMPION_TRAINED = _gauge(
    "mlops_champion_trained_timestamp_seconds",
    "Unix time the champion version was registered (end of its training); time() minus this is its age.",
)

# -- batch scoring: the manifest summary of each published date --------------------------------------
SCORING_DS = _gauge(
    "mlops_scoring_ds_timestamp_seconds", "The last day the scoring run published (midnight UTC, Unix time)."
)
SCORING_DATES = _gauge("mlops_scoring_dates", "Dates of the scoring run, by outcome (published or failed).", "outcome")
ROWS_IN = _gauge("mlops_scoring_rows_in", "Input rows of the dates the run published.")
ROWS_SCORED = _gauge("mlops_scoring_rows_scored", "Rows scored and published.")
ROWS_QUARANTINED = _gauge("mlops_scoring_rows_quarantined", "Rows quarantined (not scored) by hard checks.")
ROWS_FLAGGED = _gauge(
    "mlops_scoring_rows_flagged", "Rows scored and published with a flag (out of range, unseen category)."
)
ROWS_PER_SECOND = _gauge(
    "mlops_scoring_rows_per_second", "Rows scored per second of model time (from latency_ms_per_1k)."
)

# -- deploy moves: the audit trail -----------------------------------------------------------------
STAGE_CHANGES = Metric(
    "mlops_deploy_stage_changes_total",
    "counter",
    "Stage changes in the audit trail that succeeded, by target stage (a count of the trail, so a rerun never adds).",
    ("to_stage",),
)
LAST_MOVE = _gauge(
    "mlops_deploy_last_move_timestamp_seconds", "Unix time of the last champion move, by action.", "action"
)
CHAMPION_VERSION = _gauge("mlops_deploy_champion_version", "The champion's version number after the last move.")

MONITOR_METRICS = (
    MONITOR_DS,
    DRIFT_SHARE,
    DATASET_DRIFT,
    COLUMN_DRIFT,
    COLUMN_DRIFT_SCORE,
    PREDICTION_DRIFT_SCORE,
    LIVE_METRIC,
    LABELLED_ROWS,
    QUALITY_ISSUES,
    RETRAIN,
    CHAMPION_TRAINED,
)
SCORING_METRICS = (SCORING_DS, SCORING_DATES, ROWS_IN, ROWS_SCORED, ROWS_QUARANTINED, ROWS_FLAGGED, ROWS_PER_SECOND)
DEPLOY_METRICS = (STAGE_CHANGES, LAST_MOVE, CHAMPION_VERSION)
ALL_METRICS = (LAST_SUCCESS, *MONITOR_METRICS, *SCORING_METRICS, *DEPLOY_METRICS)
EMITTED: frozenset[str] = frozenset(m.name for m in ALL_METRICS)
