"""The "Model health" view's core, free of Airflow: what a person needs to judge a model at a
glance, gathered from what the pipelines already wrote (nothing is written here).

* ``payloads``: the typed dataclasses the view shows and its JSON API returns;
* ``series``: one point per monitored day (``reports/<model>/monitor/ds=<ds>/summary.json``) and
  per scored day (the predictions manifests' ``meta["summary"]``);
* ``status``: the one-line status of a model (healthy / drifting / degraded / no champion) and why;
* ``gather``: reading the audit trail, the storage and the MLflow registry into a ``ModelHealth``;
* ``svg`` and ``pages``: server-rendered HTML with inline SVG plots (no JavaScript, no chart
  library to download: the page works inside the Airflow UI's iframe and offline).

The Airflow side (the FastAPI app, authentication, the DAG runs from the metadata DB) is
``plugins/mlops_airflow/health_view.py``.
"""
