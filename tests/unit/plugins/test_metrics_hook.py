"""Where PushgatewayHook pushes: the connection (Airflow's environment-variable secrets backend,
no patching), else MLOPS_PUSHGATEWAY_URL, else nowhere with one log line."""

from __future__ import annotations

import logging

from mlops_airflow.hooks.metrics import PUSHGATEWAY_URL_ENV, PushgatewayHook, push_scoring_metrics


def test_the_connection_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(PUSHGATEWAY_URL_ENV, "http://from-env:9091")
    monkeypatch.setenv(
        "AIRFLOW_CONN_PUSHGATEWAY_TEST",
        '{"conn_type": "http", "host": "pushgateway", "port": 9091, "login": "pusher", "password": "pw"}',
    )
    hook = PushgatewayHook(pushgateway_conn_id="pushgateway_test")
    assert hook.url() == "http://pushgateway:9091"
    assert hook.auth() == ("pusher", "pw")
    monkeypatch.setenv("AIRFLOW_CONN_PUSHGATEWAY_TLS", '{"conn_type": "http", "host": "https://gw.example"}')
    assert PushgatewayHook(pushgateway_conn_id="pushgateway_tls").url() == "https://gw.example"


def test_without_a_connection_the_environment(monkeypatch):
    monkeypatch.setenv(PUSHGATEWAY_URL_ENV, "http://from-env:9091")
    hook = PushgatewayHook(pushgateway_conn_id="pushgateway_missing")
    assert hook.url() == "http://from-env:9091" and hook.auth() is None


def test_nothing_configured_is_one_log_line(monkeypatch, caplog):
    monkeypatch.delenv(PUSHGATEWAY_URL_ENV, raising=False)
    published = {"dates": {"2026-02-02": {"rows_in": 3, "rows_scored": 3}}, "dry_run": False, "failed": {}}
    with caplog.at_level(logging.DEBUG, logger="mlops_airflow.hooks.metrics"):
        assert push_scoring_metrics("churn", "1", published, PushgatewayHook(pushgateway_conn_id=None)) is False
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(("mlops_airflow", "include"))]
    assert lines == [f"metrics not pushed: no Pushgateway configured ({PUSHGATEWAY_URL_ENV})"]


def test_a_dry_run_pushes_nothing(monkeypatch, caplog):
    monkeypatch.delenv(PUSHGATEWAY_URL_ENV, raising=False)
    with caplog.at_level(logging.INFO):
        assert push_scoring_metrics("churn", "1", {"dates": {}, "dry_run": True}) is False
    assert "metrics" not in caplog.text
