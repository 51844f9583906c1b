"""The project's Airflow plugin: the MLflow extra links of every task (``mlops_airflow/links.py``)
and the "Model health" view (``mlops_airflow/health_view.py``), an app the api-server mounts
under ``/mlops-health`` and the UI shows from its navigation.

Airflow loads every ``.py`` file of the plugins folder and registers the ``AirflowPlugin``
subclasses it finds; this is the only one of the project. Every Airflow process loads plugins,
so this module stays light: the view's app (FastAPI, and through its handlers pandas, MLflow,
boto3) is built on its first request (``LazyApp``), in the api-server only.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from mlops_airflow.links import MlflowRunGlobalLink, MlflowVersionGlobalLink

HEALTH_PREFIX = "/mlops-health"  # mlops_airflow.health_view.URL_PREFIX


class LazyApp:
    """An ASGI app that builds ``mlops_airflow.health_view.create_app()`` on its first request."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from mlops_airflow.health_view import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class MlopsAirflowPlugin(AirflowPlugin):
    name = "mlops_airflow"
    global_operator_extra_links = [MlflowRunGlobalLink(), MlflowVersionGlobalLink()]
    fastapi_apps = [{"app": LazyApp(), "url_prefix": HEALTH_PREFIX, "name": "Model health"}]
    external_views = [
        {
            "name": "Model health",
            "href": f"{HEALTH_PREFIX}/",
            "destination": "nav",
            "url_route": "model-health",
            "icon": f"{HEALTH_PREFIX}/icon.svg",
            "nav_top_level": True,
        }
    ]
