"""The reports the "Model health" view links to, read where the pipelines left them: a monitor
run's drift report in storage, a version's model card in MLflow (its training run's artifacts).
A missing report is a page that says so (404), not an error."""

from __future__ import annotations

from fastapi import HTTPException

from include.errors import PartitionError


def drift_report_html(model: str, ds: str) -> str:
    from include.contracts import monitor_report
    from mlops_airflow.health_sources import sources

    try:
        key = monitor_report(model, ds, "drift_report.html")
    except PartitionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    storage = sources().storage
    if not storage.exists(key):
        raise HTTPException(status_code=404, detail=f"no drift report for {model} on {ds} ({storage.uri(key)})")
    return storage.read_text(key)


def model_card_html(model: str, version: str) -> str:
    from include.contracts import Artifact
    from include.errors import RegistryStateError
    from mlops_airflow.health_sources import sources

    registry = sources().registry
    if registry is None:
        raise HTTPException(status_code=404, detail="no MLflow registry configured")
    try:
        run_id = registry.get(model, version).run_id
    except RegistryStateError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    try:
        path = registry.download_artifact(run_id, f"{Artifact.MODEL_CARD_DIR}/model_card.html")
    except Exception as exc:  # MLflow names a missing artifact in several ways (store-dependent)
        raise HTTPException(status_code=404, detail=f"no model card for {model} v{version}: {exc}") from exc
    return path.read_text(encoding="utf-8")
