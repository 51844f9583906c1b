"""``[core] hostname_callable`` for the stack's Celery workers.

In a real deployment every worker is its own machine or pod, so the hostname Airflow records on a
task instance tells the workers apart. The stack suite runs its two workers on one machine: each
gets ``MLOPS_STACK_WORKER_HOSTNAME`` (its Celery node name, e.g. ``w1@host``) and reports it as
the task instance hostname through this callable. Without the variable it is Airflow's default.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("MLOPS_STACK_WORKER_HOSTNAME") or socket.getfqdn()
