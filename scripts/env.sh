# shellcheck shell=bash
# Project environment: sourced by scripts/airflow, the Makefile and .ci/run.
# Everything lives under the project (no global state); every value can be overridden
# from the calling environment, e.g. MLOPS_DATA_ROOT=s3://bucket/prefix.
MLOPS_PROJECT_DIR="${MLOPS_PROJECT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export MLOPS_PROJECT_DIR
export MLOPS_STATE_DIR="${MLOPS_STATE_DIR:-$MLOPS_PROJECT_DIR/.local}"
export MLOPS_DATA_ROOT="${MLOPS_DATA_ROOT:-$MLOPS_STATE_DIR/data}"
export MLOPS_CONFIG_DIR="${MLOPS_CONFIG_DIR:-$MLOPS_PROJECT_DIR/include/models}"
export MLOPS_NOTIFY_DIR="${MLOPS_NOTIFY_DIR:-$MLOPS_STATE_DIR/notifications}"
export MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-sqlite:///$MLOPS_STATE_DIR/mlflow/mlflow.db}"
export MLOPS_MLFLOW_ARTIFACT_ROOT="${MLOPS_MLFLOW_ARTIFACT_ROOT:-$MLOPS_STATE_DIR/mlflow/artifacts}"
# A dead MLflow server is named (RegistryUnavailable) in seconds, then Airflow retries with
# backoff; MLflow's own defaults (7 retries, factor 2, 120 s timeout) wait for minutes.
export MLFLOW_HTTP_REQUEST_MAX_RETRIES="${MLFLOW_HTTP_REQUEST_MAX_RETRIES:-3}"
export MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="${MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR:-1}"
export MLFLOW_HTTP_REQUEST_TIMEOUT="${MLFLOW_HTTP_REQUEST_TIMEOUT:-30}"
# MLflow's download/upload progress bars write one line per update (at ERROR) into task logs.
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="${MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR:-false}"
# The MLflow UI address a browser reaches, for the links in task logs and Airflow's extra links
# (unset: the tracking URI when it is http(s); a local SQLite store has no UI to link to).
# export MLOPS_MLFLOW_UI_URL=http://localhost:5000

export AIRFLOW_HOME="${AIRFLOW_HOME:-$MLOPS_STATE_DIR/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$MLOPS_PROJECT_DIR/dags}"
export AIRFLOW__CORE__PLUGINS_FOLDER="${AIRFLOW__CORE__PLUGINS_FOLDER:-$MLOPS_PROJECT_DIR/plugins}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-True}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}"
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="${AIRFLOW__LOGGING__BASE_LOG_FOLDER:-$AIRFLOW_HOME/logs}"
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="${AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK:-False}"
# Include the project root so `include` imports the same way in DAGs, tasks and tests.
export PYTHONPATH="$MLOPS_PROJECT_DIR:$MLOPS_PROJECT_DIR/plugins${PYTHONPATH:+:$PYTHONPATH}"

# No network here or on many users' CI: never wait on telemetry.
export DO_NOT_TRACK=1
export SCARF_ANALYTICS=false
export AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False
export MLFLOW_DISABLE_TELEMETRY=true
export GX_ANALYTICS_ENABLED=false
export GIT_PYTHON_REFRESH=quiet

VENV="${VENV:-$MLOPS_PROJECT_DIR/.venv}"
if [ -d "$VENV/bin" ]; then
  export PATH="$VENV/bin:$PATH"
fi
