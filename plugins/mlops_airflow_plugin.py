"""The project's Airflow plugin: the MLflow extra links of every task (``mlops_airflow/links.py``).

Airflow loads every ``.py`` file of the plugins folder and registers the ``AirflowPlugin``
subclasses it finds; this is the only one of the project.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from mlops_airflow.links import MlflowRunGlobalLink, MlflowVersionGlobalLink


class MlopsAirflowPlugin(AirflowPlugin):
    name = "mlops_airflow"
    global_operator_extra_links = [MlflowRunGlobalLink(), MlflowVersionGlobalLink()]
