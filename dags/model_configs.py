"""Model configs that cannot be read: this file fails to import, naming each broken file and field.

The pipeline DAG files (retrain, batch_score, monitor, promote, rollback, reconcile, reproduce)
build one Airflow DAG per **valid** model config in `include/models/*.yaml` and skip a broken one,
so that one bad file disables only its own model's DAGs. This file builds no DAG: it raises when
any config is broken, so the error shows under the web UI's import errors (and in
`airflow dags list-import-errors`) with the file, the field and what to fix, until the config is
fixed.
"""

from __future__ import annotations

from include.config import ConfigError, load_valid
from include.config.loading import broken_configs_message

_errors = load_valid().errors
if _errors:
    raise ConfigError(broken_configs_message(_errors))
