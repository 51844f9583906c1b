"""Every file the project writes under the data root gets one mode: ``0666 & ~umask``.

``tempfile.mkstemp`` creates 0600 files; scoring outputs, manifests and reports used to keep
that mode while SQLite databases got 0644. A real scoring publish, a report written the way
the monitor and retrain reports are, and a real SQLite audit database, all under one root.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from include.contracts import report_prefix
from include.platform.audit.store import AuditStore
from tests.unit.score.helpers import DS, day_features, publish_features, run_scoring

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_scoring_outputs_reports_and_audit_db_share_one_mode(storage, config, model, contract, umask_022):
    publish_features(storage, DS, day_features(DS, rows=800), rows_per_file=400)
    run_scoring(storage, config, [DS], "scheduled__modes", model, contract)
    storage.write_text(f"{report_prefix('churn', 'monitor', f'ds={DS}')}/summary.json", "{}")
    with AuditStore(f"sqlite:///{Path(storage.root) / 'audit.db'}") as audit:
        audit.migrate()
    modes = {
        p.relative_to(storage.root).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in Path(storage.root).rglob("*")
        if p.is_file()
    }
    assert any(k.startswith("predictions/") for k in modes) and "audit.db" in modes
    assert set(modes.values()) == {0o644}, {k: oct(v) for k, v in modes.items()}
