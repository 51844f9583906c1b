"""Airflow local settings for the processes that fork task processes: the pipelines' heavy
libraries imported once, before the forks.

On the ``PYTHONPATH`` of the demo's scheduler (``include/dev/local_airflow.py``; its LocalExecutor
forks the workers) and of each Celery worker (the compose ``airflow-worker`` service and the stack
suite: Celery forks its pool after start-up), and of no other component, so ``airflow.settings``
imports this module as ``airflow_local_settings`` when that process starts. Every task process is
forked from there (Task SDK supervisor, Linux), so each task starts with pandas, scikit-learn,
MLflow, Great Expectations and evidently already imported instead of paying their import (about
18 s of CPU together on this machine) in every task. Nothing runs here but imports: no thread
pool (OpenMP, pyarrow) is started before the forks.
"""

from __future__ import annotations

import importlib
import logging

# What the demo's tasks import (the projects' modules pull in the rest): the slowest first.
PRELOAD = (
    "evidently",
    "great_expectations",
    "mlflow",
    "sklearn.ensemble",
    "scipy.stats",
    "pandas",
    "pyarrow.parquet",
    "include.platform.skops_io",
)

# Great Expectations logs one "Skipping registering function" line per API method on import.
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
for _name in PRELOAD:
    importlib.import_module(_name)
