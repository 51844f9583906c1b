"""Airflow local settings for the demo's scheduler only: the pipelines' heavy libraries imported
once, before the LocalExecutor forks its workers.

``include/dev/local_airflow.py`` puts this folder first on the scheduler's ``PYTHONPATH`` (and on
no other component's), so ``airflow.settings`` imports this module as ``airflow_local_settings``
when the scheduler starts. The LocalExecutor's workers are forked from the scheduler and every
task process is forked from a worker (Task SDK supervisor, Linux), so each task starts with
pandas, scikit-learn, MLflow, Great Expectations and evidently already imported instead of
paying their import (about 18 s of CPU together on this machine) in every task. Nothing runs
here but imports: no thread pool (OpenMP, pyarrow) is started before the forks.
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
