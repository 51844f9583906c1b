"""Airflow operators, hooks and notifiers wrapping the Airflow-free core in ``include/``."""
