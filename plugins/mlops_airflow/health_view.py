"""The "Model health" view: a read-only FastAPI app the Airflow api-server mounts under
``/mlops-health`` (``plugins/mlops_airflow_plugin.py``), shown in the UI's navigation.

Routes (every one behind Airflow's own authentication, ``GetUserDep``: the UI's ``_token``
cookie or an ``Authorization: Bearer`` token; without one, 401):

* ``GET /`` and ``GET /api/models``: every model with its status and why (HTML, JSON);
* ``GET /models/{model}`` and ``GET /api/models/{model}``: one model's health (HTML with plots, JSON);
* ``GET /models/{model}/drift/{ds}``: the drift report a monitor run wrote for that day;
* ``GET /models/{model}/versions/{version}/card``: the version's model card (an MLflow artifact).

The reading and rendering is ``include/health`` (Airflow-free); this module adds the routes,
authentication, the DAG runs from the metadata DB and the links into the Airflow UI. Handlers
are plain functions: FastAPI runs them in its thread pool, so slow storage or MLflow never
blocks the api-server's event loop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

URL_PREFIX = "/mlops-health"
# The drift report (evidently's HTML) and the model card carry their own scripts and the data of
# the monitored day: served in a sandbox (an opaque origin), they run, but cannot read the Airflow
# UI's token (cookie, storage) or call the API as the signed-in user.
REPORT_HEADERS = {"Content-Security-Policy": "sandbox allow-scripts allow-popups allow-downloads"}
# The navigation item's icon (a heartbeat line): public, as the UI's own icons are; no data.
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#d97706" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M3 12h4l3-7 4 14 3-7h4"/></svg>'
)


def _configs() -> tuple[list[Any], dict[str, str]]:
    from include.config import load_valid

    loaded = load_valid()
    return loaded.configs, loaded.errors


def _config(model: str) -> Any:
    configs, _ = _configs()
    found = next((c for c in configs if c.name == model), None)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no valid model config named {model!r}")
    return found


def _base(request: Request) -> str:
    """Where this app is mounted (``/mlops-health`` under Airflow's own root path)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _airflow_root(request: Request) -> str:
    return _base(request).removesuffix(URL_PREFIX)


def _health(request: Request, model: str) -> Any:
    from include.health.gather import dag_ids, model_health, with_run_links
    from mlops_airflow.health_sources import dag_runs, sources

    found = sources()
    health = model_health(found, _config(model), runs=dag_runs(dag_ids(model)))
    root = _airflow_root(request)
    return with_run_links(
        health, found.registry, lambda dag_id, run_id: f"{root}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}"
    )


def _summaries() -> tuple[list[Any], list[str]]:
    from include.health.gather import model_health, summary_of
    from mlops_airflow.health_sources import sources

    configs, errors = _configs()
    found = sources()
    # A status line needs only the newest monitored and scored day of each model.
    healths = [model_health(found, config, days=1) for config in configs]
    problems = [p for h in healths for p in h.problems] + [f"config {k}: {v}" for k, v in sorted(errors.items())]
    return [summary_of(h) for h in healths], sorted(set(problems))


def create_app() -> FastAPI:
    app = FastAPI(title="MLOps model health", description="Read-only health of every model (issue 13)")

    @app.get("/icon.svg", include_in_schema=False)
    def icon() -> Response:
        return Response(ICON, media_type="image/svg+xml")

    @app.get("/api/models")
    def api_models(user: GetUserDep) -> dict[str, Any]:
        from include.health.payloads import as_json

        models, problems = _summaries()
        return {"models": as_json(models), "problems": problems}

    @app.get("/api/models/{model}")
    def api_model(model: str, request: Request, user: GetUserDep) -> Any:
        from include.health.payloads import as_json

        return as_json(_health(request, model))

    @app.get("/", response_class=HTMLResponse)
    def model_list(request: Request, user: GetUserDep) -> HTMLResponse:
        from include.health.pages import model_list_page

        models, problems = _summaries()
        return HTMLResponse(model_list_page(models, _base(request), problems))

    @app.get("/models/{model}", response_class=HTMLResponse)
    def model(model: str, request: Request, user: GetUserDep) -> HTMLResponse:
        from include.health.pages import model_page

        return HTMLResponse(model_page(_health(request, model), _base(request), _airflow_root(request)))

    @app.get("/models/{model}/drift/{ds}", response_class=HTMLResponse)
    def drift_report(model: str, ds: str, user: GetUserDep) -> HTMLResponse:
        from mlops_airflow.health_reports import drift_report_html

        return HTMLResponse(drift_report_html(_config(model).name, ds), headers=REPORT_HEADERS)

    @app.get("/models/{model}/versions/{version}/card", response_class=HTMLResponse)
    def model_card(model: str, version: str, user: GetUserDep) -> HTMLResponse:
        from mlops_airflow.health_reports import model_card_html

        return HTMLResponse(model_card_html(_config(model).name, version), headers=REPORT_HEADERS)

    return app
