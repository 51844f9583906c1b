"""Notification delivery to real loopback servers (HTTP, SMTP), files and the log."""

from __future__ import annotations

import copy
import email
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.config import parse_config
from include.notify.delivery import Notification, send

PROJECT = Path(__file__).resolve().parents[3]
CHURN = yaml.safe_load((PROJECT / "include" / "models" / "churn.yaml").read_text())


def config_with(*targets: dict[str, Any]):
    data = copy.deepcopy(CHURN)
    data["notifications"] = list(targets)
    return parse_config(data)


def note(event: str = "gate_failure", subject: str = "2 gate(s) failed") -> Notification:
    return Notification(
        model="churn", event=event, subject=subject, body="roc_auc 0.61 < 0.70", fields={"version": "3", "auc": 0.61}
    )


# -- loopback servers -------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    status = 200

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Recorder(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append(
            {"path": self.path, "content_type": self.headers["Content-Type"], "json": json.loads(body)}
        )
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def http_server() -> Iterator[_HTTPServer]:
    server = _HTTPServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command is OK; DATA is read up to the lone dot."""

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test SMTP\r\n")
        envelope: dict[str, Any] = {"rcpt": [], "data": []}
        in_data = False
        for raw in self.rfile:
            line = raw.decode("utf-8").rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    self.server.messages.append({**envelope, "data": "\r\n".join(envelope["data"])})  # type: ignore[attr-defined]
                    envelope = {"rcpt": [], "data": []}
                    self.wfile.write(b"250 queued\r\n")
                else:
                    envelope["data"].append(line[1:] if line.startswith("..") else line)
                continue
            verb = line[:4].upper()
            if verb == "RCPT":
                envelope["rcpt"].append(line.split(":", 1)[1].strip())
            if verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            in_data = verb == "DATA"
            self.wfile.write(b"354 go ahead\r\n" if in_data else b"250 OK\r\n")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


# -- file -------------------------------------------------------------------------------------


def test_file_target_appends_one_json_line_per_send(tmp_path):
    path = tmp_path / "out" / "notes.jsonl"
    config = config_with({"type": "file", "path": str(path)})
    assert send(config, note()) == [{"type": "file", "ok": True, "path": str(path)}]
    send(config, note("success", "trained v4"))
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "gate_failure"
    assert first["subject"] == "2 gate(s) failed"
    assert first["fields"] == {"version": "3", "auc": 0.61}
    assert first["model"] == "churn"
    assert "at" in first
    assert (second["event"], second["subject"]) == ("success", "trained v4")


def test_file_target_default_path_is_under_the_notify_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_NOTIFY_DIR", str(tmp_path / "notify"))
    [outcome] = send(config_with({"type": "file"}), note())
    assert outcome["path"] == str(tmp_path / "notify" / "churn.jsonl")
    assert json.loads(Path(outcome["path"]).read_text(encoding="utf-8"))["event"] == "gate_failure"


def test_targets_only_receive_subscribed_events(tmp_path):
    failures, successes = tmp_path / "failures.jsonl", tmp_path / "successes.jsonl"
    config = config_with(
        {"type": "file", "path": str(failures), "events": ["gate_failure", "failure"]},
        {"type": "file", "path": str(successes), "events": ["success"]},
    )
    outcomes = send(config, note("success", "trained"))
    assert outcomes == [{"type": "file", "ok": True, "path": str(successes)}]
    assert not failures.exists()
    send(config, note("gate_failure"))
    send(config, note("failure", "task crashed"))
    assert [json.loads(x)["event"] for x in failures.read_text().splitlines()] == ["gate_failure", "failure"]
    assert len(successes.read_text().splitlines()) == 1
    assert send(config, note("drift", "psi 0.4")) == []


# -- webhook and Slack ------------------------------------------------------------------------


def test_webhook_posts_the_notification_as_json(http_server, monkeypatch):
    monkeypatch.setenv("TEST_MLOPS_WEBHOOK", http_server.url + "/hooks/mlops")
    monkeypatch.delenv("MLOPS_RUNBOOK_BASE_URL", raising=False)
    config = config_with({"type": "webhook", "url_env": "TEST_MLOPS_WEBHOOK"})
    assert send(config, note()) == [{"type": "webhook", "ok": True}]
    [request] = http_server.requests
    assert request["path"] == "/hooks/mlops"
    assert request["content_type"] == "application/json"
    assert request["json"] == {
        "model": "churn",
        "event": "gate_failure",
        "subject": "2 gate(s) failed",
        "body": "roc_auc 0.61 < 0.70",
        "fields": {"version": "3", "auc": 0.61},
        "link": "",  # outside an Airflow task: no run to link
        "alert": "",
        "runbook": "docs/runbooks/gate-failure.md",  # MLOPS_RUNBOOK_BASE_URL unset: the path in the repo
    }


def test_webhook_with_unset_env_var_reports_and_does_not_raise(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("TEST_MLOPS_WEBHOOK_UNSET", raising=False)
    path = tmp_path / "n.jsonl"
    config = config_with(
        {"type": "webhook", "url_env": "TEST_MLOPS_WEBHOOK_UNSET"}, {"type": "file", "path": str(path)}
    )
    with caplog.at_level(logging.WARNING, logger="include.notify.delivery"):
        outcomes = send(config, note())
    assert outcomes[0]["ok"] is False
    assert outcomes[0]["type"] == "webhook"
    assert "TEST_MLOPS_WEBHOOK_UNSET" in outcomes[0]["error"] and "not set" in outcomes[0]["error"]
    assert outcomes[1]["ok"] is True and path.exists()  # one broken target does not stop the others
    assert "TEST_MLOPS_WEBHOOK_UNSET" in caplog.text


def test_webhook_http_error_is_an_outcome(http_server, monkeypatch):
    http_server.status = 500
    monkeypatch.setenv("TEST_MLOPS_WEBHOOK", http_server.url)
    [outcome] = send(config_with({"type": "webhook", "url_env": "TEST_MLOPS_WEBHOOK"}), note())
    assert outcome["ok"] is False
    assert "500" in outcome["error"]
    assert len(http_server.requests) == 1


def test_slack_target_posts_text_via_the_resolved_connection(http_server, monkeypatch):
    """Chat gets the text: subject, body and the runbook's link under MLOPS_RUNBOOK_BASE_URL."""
    monkeypatch.setenv("MLOPS_RUNBOOK_BASE_URL", "https://github.com/acme/mlops/blob/main/docs/runbooks/")
    asked: list[str] = []

    def resolve(conn_id: str) -> dict[str, Any] | None:
        asked.append(conn_id)
        return {"host": http_server.url, "password": "/services/T000/B000/secret"} if conn_id == "slack_ops" else None

    config = config_with({"type": "slack", "conn_id": "slack_ops"})
    assert send(config, note(), resolve=resolve) == [{"type": "slack", "ok": True}]
    assert asked == ["slack_ops"]
    [request] = http_server.requests
    assert request["path"] == "/services/T000/B000/secret"
    assert request["json"] == {
        "text": "[churn] 2 gate(s) failed\nroc_auc 0.61 < 0.70\n"
        "Runbook: https://github.com/acme/mlops/blob/main/docs/runbooks/gate-failure.md"
    }


def test_slack_with_unknown_connection_is_an_outcome(http_server):
    [outcome] = send(config_with({"type": "slack", "conn_id": "missing"}), note(), resolve=lambda _: None)
    assert outcome["ok"] is False
    assert "'missing'" in outcome["error"]
    assert http_server.requests == []


# -- SMTP -------------------------------------------------------------------------------------


def test_smtp_target_sends_mail_to_the_recipients(smtp_server):
    port = smtp_server.server_address[1]
    config = config_with({"type": "smtp", "conn_id": "smtp_test", "to": ["a@example.com", "b@example.com"]})

    def resolve(conn_id: str) -> dict[str, Any] | None:
        return {"host": "127.0.0.1", "port": port, "extra": {"from_email": "mlops@example.com"}}

    assert send(config, note(), resolve=resolve) == [{"type": "smtp", "ok": True}]
    [mail] = smtp_server.messages
    assert sorted(mail["rcpt"]) == ["<a@example.com>", "<b@example.com>"]
    message = email.message_from_string(mail["data"])
    assert message["Subject"] == "[mlops:churn] 2 gate(s) failed"
    assert message["From"] == "mlops@example.com"
    assert message["To"] == "a@example.com, b@example.com"
    body = message.get_payload()
    assert "roc_auc 0.61 < 0.70" in body
    assert '"version": "3"' in body


def test_smtp_without_a_host_is_an_outcome(monkeypatch):
    monkeypatch.delenv("MLOPS_SMTP_HOST", raising=False)
    [outcome] = send(config_with({"type": "smtp", "to": ["a@example.com"]}), note(), resolve=lambda _: None)
    assert outcome["ok"] is False
    assert "smtp_default" in outcome["error"]


# -- log --------------------------------------------------------------------------------------


def test_log_target_level_follows_the_event(caplog):
    config = config_with({"type": "log"})
    with caplog.at_level(logging.DEBUG, logger="include.notify.targets"):
        assert send(config, note("gate_failure", "gates failed for v7")) == [{"type": "log", "ok": True}]
        send(config, note("promotion", "v7 is champion"))
    levels = {r.getMessage().split("\n")[0]: r.levelno for r in caplog.records if r.name == "include.notify.targets"}
    assert levels["[churn] gates failed for v7"] == logging.WARNING
    assert levels["[churn] v7 is champion"] == logging.INFO
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert '"version": "3"' in warning.getMessage()
