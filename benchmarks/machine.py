"""What both benchmarks report about the process and the machine (Linux /proc, with fallbacks)."""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path


def _status_mb(field: str) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    return None


def peak_rss_mb() -> float:
    """This process's own peak RSS.

    VmHWM (the high-water mark of this process's address space) rather than ``ru_maxrss``:
    after fork/vfork + exec, Linux carries the parent's peak into the child's ``ru_maxrss``, so
    a worker would report at least the orchestrating process's peak. ``ru_maxrss`` is the
    fallback where /proc is missing.
    """
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float | None:
    return _status_mb("VmRSS")


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return ""


def memory_gib() -> float:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
