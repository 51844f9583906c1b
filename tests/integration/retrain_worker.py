"""One retrain of a window, as a separate process: pull -> train -> register (claimed in the
audit database). Used by tests/integration/test_retrain_claims.py to run real concurrent and
killed retrains.

Usage: ``python -m tests.integration.retrain_worker <model> <window_end> <actor> [ready_dir]``
with ``MLOPS_DATA_ROOT``, ``MLFLOW_TRACKING_URI``, ``MLOPS_AUDIT_DB_URL`` set. With ``ready_dir``
the process writes ``<actor-safe>.ready`` there after the pull and waits until every expected
worker (``$WORKERS``) is ready, so the trainings really overlap. Prints the result as JSON.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path


def _barrier(ready_dir: Path, actor: str) -> None:
    (ready_dir / (re.sub(r"[^A-Za-z0-9]", "_", actor) + ".ready")).write_text(actor)
    while len(list(ready_dir.glob("*.ready"))) < int(os.environ.get("WORKERS", "2")):
        time.sleep(0.05)


def main(model: str, window_end: str, actor: str, ready_dir: str | None = None) -> None:
    from include.config import get_config
    from include.platform.audit import AuditStore
    from include.platform.registry import ModelRegistry
    from include.platform.storage import get_storage
    from include.retrain.pull import pull
    from include.retrain.register import register_candidate
    from include.retrain.train import train
    from include.retrain.window import resolve_window

    config = get_config(model)
    storage = get_storage(os.environ["MLOPS_DATA_ROOT"])
    registry = ModelRegistry(os.environ["MLFLOW_TRACKING_URI"], audit=AuditStore(os.environ["MLOPS_AUDIT_DB_URL"]))
    window = resolve_window(config, window_end=window_end, window_days=None, interval_end=None, run_after=None)
    pulled = pull(storage, config, window)
    if ready_dir:
        _barrier(Path(ready_dir), actor)
    trained = train(storage, registry, config, pulled, actor=actor)
    gates = {"passed": True, "failed": [], "results": []}
    registered = register_candidate(registry, config, pulled, trained, gates, actor=actor)  # type: ignore[arg-type]
    print(json.dumps({"trained": trained, "registered": registered}))


if __name__ == "__main__":
    main(*sys.argv[1:])
