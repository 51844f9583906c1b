"""Named fail points: the fault-injection suite kills the process between two writes.

``MLOPS_FAILPOINTS`` holds a comma-separated list of point names. A process that reaches a
listed point is killed at once with SIGKILL (no ``finally``, no ``atexit``, no flush: what a
worker that loses its machine does). Unset, a point costs one environment lookup.

Every point is named ``<pipeline>.<where>`` (``deploy.promote.after_audit``) and listed with the
test that fires it in ``docs/reliability.md``.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "MLOPS_FAILPOINTS"


def armed(name: str) -> bool:
    """True when ``name`` is listed in ``MLOPS_FAILPOINTS``."""
    names = os.environ.get(ENV)
    if not names:
        return False
    return name in {n.strip() for n in names.split(",")}


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL when ``name`` is armed; otherwise do nothing."""
    if armed(name):
        sys.stderr.write(f"failpoint {name}: killing process {os.getpid()}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
