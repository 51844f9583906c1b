"""Links into the MLflow UI: one base (configured, else an http tracking server, else none)."""

from __future__ import annotations

import pytest

from include.platform import mlflow_links
from include.platform.mlflow_links import artifact_url, experiment_url, run_url, ui_base, version_url, with_url


@pytest.fixture(autouse=True)
def no_ui_env(monkeypatch):
    monkeypatch.delenv(mlflow_links.UI_URL_ENV, raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def test_configured_ui_wins_over_the_tracking_server(monkeypatch):
    monkeypatch.setenv("MLOPS_MLFLOW_UI_URL", "https://mlflow.example.com/")
    assert ui_base("http://mlflow:5000") == "https://mlflow.example.com"
    assert run_url("3", "abc", "http://mlflow:5000") == "https://mlflow.example.com/#/experiments/3/runs/abc"


def test_an_http_tracking_server_is_its_own_ui(monkeypatch):
    assert version_url("churn", 4, "http://127.0.0.1:5000/") == "http://127.0.0.1:5000/#/models/churn/versions/4"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://tracking.example.com")
    assert ui_base() == "https://tracking.example.com"
    assert experiment_url("7") == "https://tracking.example.com/#/experiments/7"


@pytest.mark.parametrize("uri", ["sqlite:///tmp/mlflow.db", "file:///tmp/mlruns", "databricks", ""])
def test_a_local_store_has_no_ui(uri):
    assert ui_base(uri) is None
    assert run_url("1", "abc", uri) is None and version_url("churn", "1", uri) is None
    assert with_url("Registered churn v1", None) == "Registered churn v1"


def test_an_explicit_local_tracking_uri_is_not_replaced_by_the_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://other:5000")
    assert ui_base("sqlite:///x.db") is None


def test_names_and_paths_are_quoted():
    base = "http://mlflow:5000"
    assert version_url("churn model/eu", "2", base) == f"{base}/#/models/churn%20model%2Feu/versions/2"
    card = artifact_url("1", "r9", "model_card/model_card.html", base)
    assert card == f"{base}/#/experiments/1/runs/r9/artifactPath/model_card/model_card.html"
    assert with_url("Trained run r9", run_url("1", "r9", base)) == f"Trained run r9: {base}/#/experiments/1/runs/r9"


def test_routes_exist_in_the_installed_mlflow_ui():
    """The routes built here are routes of the MLflow UI that is installed."""
    from pathlib import Path

    import mlflow

    bundle = "".join(
        path.read_text(errors="replace")
        for path in (Path(mlflow.__file__).parent / "server/js/build/static/js").glob("*.js")
    )
    for route in (
        "/experiments/:experimentId/runs/:runUuid",
        "/experiments/:experimentId/runs/:runUuid/artifactPath/*",
        "/models/:modelName/versions/:version",
    ):
        assert f'"{route}"' in bundle, route
