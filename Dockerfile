# syntax=docker/dockerfile:1
# Project image: the official Airflow image plus this project's pinned dependencies and code.
# docker-compose.yaml runs every Airflow component (Celery workers included) and the MLflow
# tracking server from it; a Helm/Kubernetes deployment uses the same image (docs/production.md).
#
#   docker compose build            (or: docker build -t mlops-airflow:local .)
#
# The Airflow version in FROM must equal the apache-airflow pin in requirements.txt, and Python
# must be 3.11 like the tested venv: tests/unit/test_deploy_files.py checks both.
FROM apache/airflow:3.3.2-python3.11

# No network calls home from any tool, at build time or at run time (same as scripts/env.sh).
# PYTHONPATH: the code imports `include.*` (project root) and `mlops_airflow.*` (plugins/).
ENV DO_NOT_TRACK=1 \
    SCARF_ANALYTICS=false \
    AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False \
    MLFLOW_DISABLE_TELEMETRY=true \
    GX_ANALYTICS_ENABLED=false \
    GIT_PYTHON_REFRESH=quiet \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PYTHONPATH=/opt/airflow:/opt/airflow/plugins

USER airflow
WORKDIR /opt/airflow

# Dependencies before code, so that editing a DAG does not re-run the slow install.
# The base image already has Airflow and its providers. requirements.txt pins apache-airflow to
# the same version, so pip keeps it; the check fails the build if the install moved Airflow
# anyway (e.g. the pin was changed without changing FROM). requirements.txt also stays in the
# image: training logs it to MLflow as the run's environment (include/retrain/train.py).
# `pip check` reports conflicts between our pins and providers preinstalled in the base image
# that this project does not use; it warns instead of failing, since those providers are not
# part of the tested set.
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
RUN set -eu; \
    airflow_version() { python -c 'import importlib.metadata as m; print(m.version("apache-airflow"))'; }; \
    before="$(airflow_version)"; \
    pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt; \
    after="$(airflow_version)"; \
    if [ "$before" != "$after" ]; then \
        echo "pip changed apache-airflow from $before to $after: align FROM with requirements.txt" >&2; \
        exit 1; \
    fi; \
    pip check || echo "WARNING: pip check found conflicts with packages of the base image (see above)" >&2

# Mount point of the mlflow-auth volume (MLflow's basic-auth user store, docker/mlflow/basic_auth.ini):
# created here so that a new volume is owned by the airflow user the server runs as.
RUN mkdir -p /opt/airflow/mlflow-auth

COPY --chown=airflow:0 include /opt/airflow/include
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 dags /opt/airflow/dags

# Fail the build, not the first DAG run, if the code cannot be imported, a model config is
# invalid, the CeleryExecutor (docker-compose.yaml's workers) or what `mlflow server --app-name
# basic-auth` needs (mlflow[auth]: Flask-WTF) is missing from this image.
RUN python -c "import mlops_airflow.hooks.storage, mlops_airflow.hooks.registry, mlops_airflow.hooks.audit; from include.config import load_all; load_all()" \
 && python -c "import airflow.providers.celery.executors.celery_executor" \
 && python -c "import flask_wtf, mlflow.server.auth.config"
