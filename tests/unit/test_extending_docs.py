"""docs/extending.md's code blocks run as written: the new gate and the new notification
target are registered by the documented code and behave as the page says."""

from __future__ import annotations

import http.server
import json
import re
import threading
from pathlib import Path

import pytest

from tests.unit.conftest import small_churn_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def _block(marker: str) -> str:
    """The python block right after ``<!-- extending:<marker> -->``."""
    match = re.search(rf"<!-- extending:{marker} -->\s*```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"no python block after <!-- extending:{marker} --> in {DOC}"
    return match.group(1)


@pytest.fixture
def documented_gate():
    from include.retrain import gates

    namespace: dict = {}
    exec(compile(_block("gate"), f"{DOC}:gate", "exec"), namespace)
    yield namespace
    gates.GATES.pop("min_holdout_rows", None)


def _evaluation(rows: int) -> dict:
    return {
        "metrics": {"roc_auc": 0.9, "average_precision": 0.6, "f1": 0.6, "log_loss": 0.4},
        "slices": {},
        "latency_ms_per_1k": 5.0,
        "size_mb": 1.0,
        "holdout_rows": rows,
        "champion": None,
    }


def test_the_documented_gate_runs_for_every_model(documented_gate):
    from include.retrain.gates import evaluate_gates

    config = small_churn_config()
    enough = evaluate_gates(config, _evaluation(rows=500))
    too_few = evaluate_gates(config, _evaluation(rows=120))

    assert "min_holdout_rows" in [r.name for r in enough.results]
    assert enough.passed
    assert not too_few.passed and too_few.to_dict()["failed"] == ["min_holdout_rows"]
    assert "[FAIL] min_holdout_rows: 120 hold-out rows, needs 200" in too_few.summary()


class _Inbox(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet test output
        pass


@pytest.fixture
def inbox():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Inbox.received = []
    yield f"http://127.0.0.1:{server.server_port}/hook", _Inbox.received
    server.shutdown()


@pytest.fixture
def documented_target():
    from include.notify import targets

    namespace: dict = {}
    exec(compile(_block("target"), f"{DOC}:target", "exec"), namespace)
    yield namespace
    targets._DELIVERIES.pop("teams", None)


def test_the_documented_target_delivers(documented_target, inbox, monkeypatch):
    from include.notify.delivery import send
    from include.notify.notification import Notification

    url, received = inbox
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", url)
    config = small_churn_config(
        replace={"notifications": [{"type": "teams", "url_env": "TEAMS_WEBHOOK_URL", "events": ["drift"]}]}
    )
    note = Notification(model="churn", event="drift", subject="3 feature(s) drifted", body="monthly_charges: psi")

    outcomes = send(config, note)

    assert outcomes == [{"type": "teams", "ok": True}]
    assert received == [{"title": "[churn] 3 feature(s) drifted", "text": "monthly_charges: psi"}]
    # An event the target does not subscribe to is not sent.
    assert send(config, Notification(model="churn", event="promotion", subject="v2 is champion")) == []
