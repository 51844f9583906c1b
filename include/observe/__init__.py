"""Run metrics for Prometheus: the names (``names``), the series built from the summaries the
pipelines write (``families``) and the push to a Pushgateway (``push``). Airflow-free: the
Airflow connection lookup is ``plugins/mlops_airflow/hooks/metrics.py``."""
