"""Every error the core raises, in two families: those a retry cannot fix and outages.

* ``NotRetryable``: the same input fails the same way on every try (bad data, bad config, a
  refused deploy move, a registry that is not in the state an operation needs). Airflow fails
  the task at once, without retries (``plugins/mlops_airflow/errors.py``), with this message,
  which says what to fix.
* ``Transient``: a service did not answer (storage, MLflow, a database). Airflow retries the
  task with exponential backoff; the message names the service and the address.

Anything else (a bug, an unexpected library error) keeps Airflow's retries: it may be an outage
the core did not recognise.

Only the standard library is imported here: DAG files import it at parse time.
"""

from __future__ import annotations


class MlopsError(Exception):
    """Base of every error the project raises on purpose."""


# -- a retry cannot fix these ---------------------------------------------------------------------
class NotRetryable(MlopsError):
    """Deterministic: fix the data, the config or the registry state, then run again."""


class ConfigError(NotRetryable, ValueError):
    """A model config is invalid; the message names the file and the field."""


class ParamError(NotRetryable, ValueError):
    """A DAG run's Params (or conf) cannot be used; the message names the Param."""


class DataError(NotRetryable, ValueError):
    """Input data cannot be used as it is (schema, missing or uncommitted partition, no rows)."""


class StorageError(MlopsError):
    """Something about the data root; the subclass says whether a retry can help."""


class StorageConfigError(StorageError, ConfigError):
    """The storage root is missing or malformed, or a key escapes it."""


class ObjectNotFound(StorageError, DataError):
    """No object at a key that should exist."""


class PartitionError(StorageError, DataError):
    """A partition is not readable as committed (bad date, corrupt manifest, hash mismatch)."""


class PartitionNotCommitted(PartitionError):
    """A partition folder exists, or is expected, but has no ``_manifest.json`` / ``_SUCCESS``."""


class ScoringInputError(DataError):
    """The input partition cannot be scored as it is; the message says what is wrong."""


class DataValidationError(DataError):
    """Great Expectations found failed expectations; the message lists every one and
    ``report`` holds the full result."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.report = report

    def __reduce__(self) -> tuple[type, tuple[str, object]]:  # pickle despite the two-arg init
        return (type(self), (self.message, self.report))


class FeaturePullError(DataError):
    """The point-in-time training pull found no usable data for the window."""


class PerformanceError(DataError):
    """Predictions and labels cannot be joined into a metric."""


class ConceptDriftError(DataError):
    """A concept-drift detector was given an error stream it cannot read."""


class TrainingError(NotRetryable):
    """The model cannot be trained or saved as configured (estimator, skops trusted types)."""


class RefusedMove(NotRetryable):
    """A deploy rule refused a move (freeze window, compare-and-set lost, lifecycle table)."""


class StageTransitionError(RefusedMove, ValueError):
    """A move that the lifecycle table (``include/platform/stages.py``) does not allow."""


class HealthCheckFailed(RefusedMove):
    """The champion failed its health check after a move (and was rolled back when asked to)."""


class MetricsConfigError(NotRetryable, ValueError):
    """The Pushgateway address is malformed or is not a Pushgateway (it refused the push)."""


class RegistryStateError(NotRetryable):
    """The registry is not in the state an operation needs (no champion, unknown version,
    a model that is not a skops scikit-learn model, a missing artifact of a run)."""


class RegistryAuditMismatch(RegistryStateError):
    """MLflow and the audit trail disagree (an alias moved outside the pipeline, a stage that
    lags): scoring refuses ``@champion`` and reconcile fails until ``reconcile_<model>`` with
    ``restore_aliases`` (or a promote/rollback) brings them back together."""


class MonitoringError(RegistryStateError):
    """The model has nothing to monitor against (no champion or no reference)."""


class LineageError(RegistryStateError):
    """A registered version cannot be reproduced: it has no training run, or its run lacks the
    lineage retrain records (window, data hash, config snapshot, hold-out scores)."""


class AuditError(NotRetryable):
    """The audit store was used wrongly (unknown stage or deployment, schema newer than the code)."""


class RunTerminated(NotRetryable):
    """This run was told to stop (SIGTERM) or lost its retrain claim: it writes nothing more."""


# -- outages: retried with backoff ----------------------------------------------------------------
class Transient(MlopsError):
    """A service did not answer; a retry after the outage succeeds."""


class StorageUnavailable(StorageError, Transient):
    """The data root (local disk or S3) could not be read or written."""


class RegistryUnavailable(Transient):
    """The MLflow tracking server / registry did not answer."""


class DatabaseUnavailable(Transient):
    """The audit database did not answer (down, or locked beyond the busy timeout)."""


class RetrainClaimed(Transient):
    """Another live run is retraining the same window and data: retried until it has finished,
    then this run reuses its result."""


def describe(exc: BaseException) -> str:
    """``ClassName: message``: what a log line or a notification says about an error."""
    return f"{type(exc).__name__}: {exc}"
