"""A run that was told to stop (SIGTERM) writes nothing more.

Airflow's task runner answers SIGTERM by calling the task's ``on_kill`` and then *returning*:
under a supervisor the SIGKILL follows after a grace period, but ``airflow dags test`` runs
tasks in its own process with no supervisor, so a terminated ``dags test`` went on training and
registered a version under the killed run's id.

``stop_on_sigterm()`` (installed for every MLOps task, see ``mlops_airflow.dag_defaults``, and
around the retrain stages) chains onto whatever handler is installed: it records the stop for
the whole process, calls the previous handler (Airflow's ``on_kill``), and raises
``RunTerminated`` in the main thread, so the current task fails at once. ``check_not_stopped``
lets a later write (the registration) refuse in a process that was told to stop.

Airflow installs its own handler afresh as each task starts, before ``pre_execute``: a SIGTERM
in that gap reaches only the task's ``on_kill``. So every MLOps task's ``on_kill`` calls
``request_stop()`` too (``MlopsBaseOperator.on_kill``; ``mlops_dag`` wraps the ``@task`` ones),
and the ``pre_execute`` that follows refuses to start.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from include.errors import RunTerminated

_STOP = threading.Event()
_MARK = "_mlops_stop_on_sigterm"


def stop_requested() -> bool:
    return _STOP.is_set()


def request_stop() -> None:
    """Record that this process was told to stop (Airflow's ``on_kill``: SIGTERM or a timeout)."""
    _STOP.set()


def check_not_stopped(what: str) -> None:
    """``RunTerminated`` when this process was told to stop."""
    if _STOP.is_set():
        raise RunTerminated(f"{what}: this process received SIGTERM; it writes nothing more (run it again)")


def stop_on_sigterm(*_args: Any) -> None:
    """Install the handler (idempotent; main thread only, elsewhere a no-op), after refusing to
    start anything in a process that was already told to stop. Accepts and ignores arguments so
    it can be an operator's ``pre_execute`` callback."""
    check_not_stopped("start a task")
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if getattr(previous, _MARK, False):
        return

    def _on_term(signum: int, frame: FrameType | None) -> None:
        _STOP.set()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
        raise RunTerminated("received SIGTERM: the run was told to stop")

    setattr(_on_term, _MARK, True)
    signal.signal(signal.SIGTERM, _on_term)
