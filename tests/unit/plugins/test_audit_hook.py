"""AuditHook: the SQLAlchemy URL from an Airflow connection, the fallback, and no password in logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from airflow.sdk import Connection

from include.platform import audit
from mlops_airflow.hooks import audit as audit_hook
from mlops_airflow.hooks.audit import AuditHook, safe_url, url_from_connection

PASSWORD = "s3cr:t/p@ss w%rd"  # every character that needs quoting in a URL


def pg_connection(**overrides) -> Connection:
    fields = {
        "conn_id": "mlops_audit",
        "conn_type": "postgres",
        "host": "db.internal",
        "login": "mlops",
        "password": PASSWORD,
        "port": 5433,
        "schema": "audit",
    }
    return Connection(**{**fields, **overrides})


def use_connection(monkeypatch: pytest.MonkeyPatch, conn: Connection | None) -> list[str | None]:
    asked: list[str | None] = []

    def lookup(conn_id: str | None) -> Connection | None:
        asked.append(conn_id)
        return conn

    monkeypatch.setattr(audit_hook, "optional_connection", lookup)
    return asked


def assert_no_password(caplog: pytest.LogCaptureFixture, password: str = PASSWORD) -> None:
    assert caplog.records, "expected the hook to log something"
    for record in caplog.records:
        assert password not in record.getMessage()
        assert password not in repr(record.args)


def test_postgres_url_quotes_the_password(monkeypatch, caplog):
    asked = use_connection(monkeypatch, pg_connection())
    caplog.set_level(logging.DEBUG)
    url = AuditHook().sqlalchemy_url()
    assert asked == ["mlops_audit"]
    assert url == "postgresql+psycopg2://mlops:s3cr%3At%2Fp%40ss w%25rd@db.internal:5433/audit"
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    assert parsed.password == PASSWORD  # quoting round-trips
    assert (parsed.username, parsed.host, parsed.port, parsed.database) == ("mlops", "db.internal", 5433, "audit")
    assert_no_password(caplog)
    assert "db.internal:5433/audit" in caplog.text and "***" in caplog.text


@pytest.mark.parametrize("conn_type", ["postgres", "postgresql", "Postgres"])
def test_postgres_conn_types(conn_type):
    url = url_from_connection(pg_connection(conn_type=conn_type, password=None, port=None, login="u"))
    assert url == "postgresql+psycopg2://u@db.internal/audit"


def test_postgres_libpq_extras_become_query_parameters():
    conn = pg_connection(extra='{"sslmode": "require", "connect_timeout": 5, "cursor": "dictcursor"}')
    url = url_from_connection(conn)
    assert url.endswith("/audit?connect_timeout=5&sslmode=require")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"host": "/var/lib/mlops/audit.db"}, "sqlite:////var/lib/mlops/audit.db"),
        ({"schema": "/srv/audit.db"}, "sqlite:////srv/audit.db"),
        ({"host": "relative/audit.db"}, "sqlite:///relative/audit.db"),
        ({"host": "sqlite:////already/a/url.db"}, "sqlite:////already/a/url.db"),
    ],
)
def test_sqlite_urls(fields, expected):
    assert url_from_connection(Connection(conn_id="mlops_audit", conn_type="sqlite", **fields)) == expected


def test_sqlite_connection_without_a_path_is_an_error():
    with pytest.raises(ValueError, match="no database path"):
        url_from_connection(Connection(conn_id="mlops_audit", conn_type="sqlite"))


def test_unsupported_conn_type_names_it_without_the_password():
    with pytest.raises(ValueError, match="'mysql'") as raised:
        url_from_connection(pg_connection(conn_type="mysql"))
    assert PASSWORD not in str(raised.value)


def test_missing_connection_falls_back_to_default_url(monkeypatch, caplog, tmp_path):
    use_connection(monkeypatch, None)
    monkeypatch.setenv("MLOPS_AUDIT_DB_URL", f"postgresql+psycopg2://u:{PASSWORD.replace('/', '%2F')}@h/db")
    caplog.set_level(logging.DEBUG)
    assert AuditHook(audit_conn_id="nope").sqlalchemy_url().startswith("postgresql+psycopg2://u:")
    assert_no_password(caplog, PASSWORD.replace("/", "%2F"))

    monkeypatch.delenv("MLOPS_AUDIT_DB_URL")
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "state"))
    assert AuditHook().sqlalchemy_url() == f"sqlite:///{tmp_path / 'state' / 'audit.db'}"


def test_default_url_without_environment(monkeypatch):
    monkeypatch.delenv("MLOPS_AUDIT_DB_URL", raising=False)
    monkeypatch.delenv("MLOPS_STATE_DIR", raising=False)
    project = Path(__file__).resolve().parents[3]
    assert audit.default_url() == f"sqlite:///{project / '.local' / 'audit.db'}"


def test_connection_from_the_environment(monkeypatch, tmp_path):
    """The real lookup (Airflow's environment-variable secrets backend), no patching."""
    db = tmp_path / "env" / "audit.db"
    monkeypatch.setenv("AIRFLOW_CONN_MLOPS_AUDIT_ENV", f'{{"conn_type": "sqlite", "host": "{db}"}}')
    assert AuditHook(audit_conn_id="mlops_audit_env").sqlalchemy_url() == f"sqlite:///{db}"


def test_get_conn_returns_a_migrated_store(monkeypatch, tmp_path, caplog):
    db = tmp_path / "hook" / "audit.db"
    use_connection(monkeypatch, Connection(conn_id="mlops_audit", conn_type="sqlite", host=str(db)))
    caplog.set_level(logging.INFO)
    store = AuditHook().get_conn()
    try:
        assert isinstance(store, audit.AuditStore)
        assert store.schema_version() == audit.LATEST_VERSION
        assert db.exists()
        store.record("churn", "1", None, "candidate", actor="test")
        assert store.stage_of("churn", "1") == "candidate"
    finally:
        store.close()


def test_store_repr_and_safe_url_hide_the_password():
    url = url_from_connection(pg_connection())
    assert PASSWORD not in safe_url(url) and "s3cr" not in safe_url(url)
    store = audit.AuditStore(url)  # no connection is made until used
    try:
        assert "s3cr" not in repr(store) and "s3cr" not in store.safe_url
    finally:
        store.close()
    assert safe_url("not a url") == "***"
