"""The names modules agree on, in one place: stages and aliases, dataset folders, MLflow
artifact paths, tag keys and run kinds, output columns.

A module that writes one of these and a module that reads it both import it from here, so a
rename is one edit and cannot break monitoring or deploy silently.
``tests/unit/test_contracts.py`` scans the code for these values written as literals anywhere
else.

Only the standard library (and ``include.errors``) is imported here: DAG files import it at
parse time.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from include.errors import PartitionError

# -- lifecycle stages (the move table is include/platform/stages.py) and registry aliases ------
CANDIDATE: Final = "candidate"
SHADOW: Final = "shadow"
CHAMPION: Final = "champion"
ARCHIVED: Final = "archived"
REJECTED: Final = "rejected"
STAGES: Final = (CANDIDATE, SHADOW, CHAMPION, ARCHIVED, REJECTED)

CHAMPION_ALIAS: Final = "champion"
CHALLENGER_ALIAS: Final = "challenger"
# The registry alias that marks a stage; at most one version holds each alias.
ALIAS_FOR_STAGE: Final = {SHADOW: CHALLENGER_ALIAS, CHAMPION: CHAMPION_ALIAS}

# -- deploy strategies (``deploy.strategy``): how a challenger earns the champion's place ----------
# shadow: scored beside the champion, never published; canary: published for a hash-selected,
# ramped share of entities (include/deploy/canary.py); ab: published for a fixed, hash-selected
# arm and decided on the delayed outcomes of both arms (include/deploy/ab.py).
CANARY: Final = "canary"
AB: Final = "ab"
DEPLOY_STRATEGIES: Final = (SHADOW, CANARY, AB)


# -- dataset folders under the data root: <dataset>/<model>/ds=YYYY-MM-DD/ ----------------------
class Dataset:
    FEATURES: Final = "features"
    LABELS: Final = "labels"
    PREDICTIONS: Final = "predictions"
    SHADOW_PREDICTIONS: Final = "shadow_predictions"
    QUARANTINE: Final = "quarantine"
    # The rows a scoring run drops as duplicate entity ids, per date (written by plan, read by
    # the scoring units; only when a date has duplicates).
    SCORING_DUPLICATES: Final = "scoring_duplicates"


def partition_prefix(dataset: str, model: str, ds: str | dt.date) -> str:
    """``<dataset>/<model>/ds=YYYY-MM-DD``: one day of one model's dataset."""
    return f"{dataset}/{model}/ds={partition_date(ds)}"


def partition_date(ds: str | dt.date) -> str:
    """``YYYY-MM-DD`` of a partition; anything else is a ``PartitionError``."""
    if isinstance(ds, dt.date):
        return ds.isoformat()
    try:
        return dt.date.fromisoformat(str(ds)).isoformat()
    except ValueError as exc:
        raise PartitionError(f"partition date must be YYYY-MM-DD, got {ds!r}") from exc


def training_prefix(model: str, window_end: str) -> str:
    """Where retrain keeps the pulled dataset and the hold-out of one window."""
    return f"training/{model}/window_end={window_end}"


def report_prefix(model: str, pipeline: str, partition: str) -> str:
    """``reports/<model>/<pipeline>/<partition>``, e.g. ``reports/churn/monitor/ds=2026-03-01``."""
    return f"{reports_folder(model, pipeline)}/{partition}"


def reports_folder(model: str, pipeline: str) -> str:
    """``reports/<model>/<pipeline>``: every report of one pipeline of a model."""
    return f"reports/{model}/{pipeline}"


def monitor_reports(model: str) -> str:
    """``reports/<model>/monitor``: one ``ds=YYYY-MM-DD`` folder per monitored day."""
    return reports_folder(model, "monitor")


def monitor_report(model: str, ds: str | dt.date, name: str) -> str:
    """A file a monitor run writes for its day: ``summary.json`` (read by the metrics push and the
    Model health view) or ``drift_report.html``."""
    return f"{monitor_reports(model)}/ds={partition_date(ds)}/{name}"


# -- MLflow: experiments, runs, artifacts ---------------------------------------------------------
def experiment_name(model: str) -> str:
    return f"mlops/{model}"


def version_uri(model: str, version: str | int) -> str:
    return f"models:/{model}/{version}"


def alias_uri(model: str, alias: str) -> str:
    return f"models:/{model}@{alias}"


class Artifact:
    """Paths inside a training run's artifact store, written by retrain, read everywhere."""

    MODEL: Final = "model"
    MODEL_CONFIG: Final = "config/model_config.json"
    PULL_STATS: Final = "data/pull_stats.json"
    SCORING_CONTRACT: Final = "data/scoring_contract.json"
    HEALTH_SAMPLE: Final = "data/health_sample.parquet"
    REFERENCE_PROFILE: Final = "drift/reference_profile.json"
    REFERENCE_SAMPLE: Final = "drift/reference_sample.parquet"
    HOLDOUT_SCORES: Final = "drift/holdout_scores.parquet"
    EVALUATION: Final = "evaluation/evaluation.json"
    GATES: Final = "evaluation/gates.json"
    MODEL_CARD_DIR: Final = "model_card"
    ENVIRONMENT_DIR: Final = "environment"
    # The installed versions of the libraries a fit and its predictions depend on (and Python's).
    LIBRARY_VERSIONS: Final = "environment/library_versions.json"
    # Written by a monitor run into its own MLflow run.
    MONITOR_SUMMARY: Final = "monitor/summary.json"
    MONITOR_DRIFT_REPORT: Final = "monitor/drift_report.html"
    # Written by a reproduction (reproduce_<model>) into its own MLflow run.
    REPRODUCTION_REPORT: Final = "reproduction/report.json"


def split_artifact(path: str) -> tuple[str, str]:
    """``("drift", "reference_sample.parquet")`` for ``drift/reference_sample.parquet``."""
    folder, _, name = path.rpartition("/")
    return folder, name


class Tag:
    """Tag keys on MLflow runs, model versions and registered models."""

    RUN_KEY: Final = "mlops.run_key"
    MODEL: Final = "mlops.model"
    MODEL_URI: Final = "mlops.model_uri"
    DATA_HASH: Final = "mlops.data_hash"
    WINDOW: Final = "mlops.window"
    CODE_VERSION: Final = "mlops.code_version"
    # sha256 of the model config the run trained with (its snapshot is Artifact.MODEL_CONFIG).
    CONFIG_HASH: Final = "mlops.config_hash"
    ACTOR: Final = "mlops.actor"
    GATES_PASSED: Final = "mlops.gates.passed"
    GATES_FAILED: Final = "mlops.gates.failed"
    # Per-date records of scoring, shadow scoring and monitoring runs.
    KIND: Final = "mlops.kind"
    DS: Final = "mlops.ds"
    MODEL_VERSION: Final = "mlops.model_version"
    AIRFLOW_RUN_ID: Final = "mlops.airflow_run_id"
    SHADOW_VERSION: Final = "mlops.shadow.version"
    # The canary share the challenger's scores were published for on that date (canary only).
    CANARY_SHARE: Final = "mlops.canary.share"
    SHADOW_CHAMPION_VERSION: Final = "mlops.shadow.champion_version"
    # A reproduction run: the training run it retrained, and its verdict (identical | differs).
    REPRODUCED_RUN: Final = "mlops.reproduction.run_id"
    REPRODUCTION_VERDICT: Final = "mlops.reproduction.verdict"
    # Model versions: lifecycle stage, the moves that led there, the evidence of each move.
    STAGE: Final = "mlops.stage"
    HISTORY: Final = "mlops.history"
    EVIDENCE_PREFIX: Final = "mlops.evidence."
    # Registered model: some version has been champion (the bootstrap rule no longer applies).
    HAD_CHAMPION: Final = "mlops.had_champion"


def evidence_tag(stage: str) -> str:
    """The version tag holding the evidence of its move into ``stage``."""
    return f"{Tag.EVIDENCE_PREFIX}{stage}"


class RunKind:
    """Values of ``Tag.KIND`` on the per-date MLflow runs, and on reproduction runs."""

    SCORING: Final = "scoring"
    SHADOW: Final = "shadow"
    MONITOR: Final = "monitoring"
    REPRODUCTION: Final = "reproduction"


# -- columns the pipelines add to data ------------------------------------------------------------
class Column:
    PREDICTION: Final = "prediction"
    SCORE: Final = "score"
    MODEL_NAME: Final = "model_name"
    MODEL_VERSION: Final = "model_version"
    RUN_ID: Final = "run_id"
    QUARANTINE_REASON: Final = "_quarantine_reason"
    # Why a published row is suspect but scored: "out_of_range:<col>;unseen_category:<col>", "" when none.
    FLAGS: Final = "flags"
    # The health sample saved at training keeps the scores the model gave it then.
    EXPECTED_SCORE: Final = "__expected_score__"


PREDICTION_COLUMNS: Final = (
    Column.PREDICTION,
    Column.SCORE,
    Column.MODEL_NAME,
    Column.MODEL_VERSION,
    Column.RUN_ID,
    Column.FLAGS,
)
