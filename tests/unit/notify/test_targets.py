"""The target registry: a new target type is one registered function."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.config import NOTIFY_TYPES, ConfigError, parse_config
from include.notify import targets
from include.notify.delivery import Notification, send
from include.notify.targets import notification_target, target_types

PROJECT = Path(__file__).resolve().parents[3]
CHURN = yaml.safe_load((PROJECT / "include" / "models" / "churn.yaml").read_text())


def config_with(*items: dict[str, Any]):
    data = copy.deepcopy(CHURN)
    data["notifications"] = list(items)
    return parse_config(data)


@pytest.fixture
def registry(monkeypatch):
    """Registrations made by a test disappear after it."""
    monkeypatch.setattr(targets, "_DELIVERIES", dict(targets._DELIVERIES))


def test_built_in_types_are_the_config_names():
    assert target_types() == NOTIFY_TYPES


def test_a_registered_type_is_accepted_by_the_config_and_delivered_through(registry):
    received: list[tuple[Any, ...]] = []

    @notification_target("pager")
    def pager(target, note, resolve):
        received.append((target.type, target.conn_id, note.subject, resolve("pager_conn")))
        return {"incident": "P-1"}

    config = config_with({"type": "pager", "conn_id": "pager_conn", "events": ["failure"]}, {"type": "log"})
    note = Notification(model="churn", event="failure", subject="retrain failed")
    outcomes = send(config, note, resolve=lambda conn_id: {"host": f"{conn_id}.example"})
    assert outcomes == [{"type": "pager", "ok": True, "incident": "P-1"}, {"type": "log", "ok": True}]
    assert received == [("pager", "pager_conn", "retrain failed", {"host": "pager_conn.example"})]
    # Not subscribed to this event: not called.
    send(config, Notification(model="churn", event="success", subject="ok"))
    assert len(received) == 1


def test_a_failing_registered_target_is_an_outcome(registry):
    @notification_target("broken")
    def broken(target, note, resolve):
        raise LookupError("no route to pager")

    [outcome] = send(config_with({"type": "broken"}), Notification(model="churn", event="failure", subject="x"))
    assert outcome == {"type": "broken", "ok": False, "error": "LookupError: no route to pager"}


def test_unregistered_type_is_still_a_config_error():
    with pytest.raises(ConfigError, match=r"notifications\[0\].type.*'pager'"):
        config_with({"type": "pager"})


def test_a_type_cannot_be_registered_twice(registry):
    with pytest.raises(ConfigError, match="'log' is already registered"):
        notification_target("log")(lambda target, note, resolve: None)


def test_reading_configs_does_not_import_the_notification_code():
    code = (
        "import sys, include.config as c; c.get_config('churn'); "
        "assert not [m for m in sys.modules if m.startswith('include.notify')], sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT)
