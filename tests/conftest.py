"""Shared test set-up: the project environment, markers by folder, service fixtures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
KINDS = ("dags", "unit", "integration", "e2e")

# Same no-telemetry environment as scripts/env.sh, for test runs that did not source it.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("SCARF_ANALYTICS", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

pytest_plugins = ["tests.fixtures.services"]


# `make test` runs two pytest-xdist workers with `--dist loadfile`: a test file runs in one worker
# (its module-scoped servers and trained models stay there), except that the stack suite's files
# are one unit (one distributed stack, not one per worker: ``pytest_xdist_make_scheduler``).
# The slowest units are collected first. xdist's loadfile scheduling then reorders the files by
# their number of tests, most first (``--loadscope-reorder``, its default), which puts the stack
# suite (7 tests) late; kept on purpose: with the reorder turned off, the stack suite started
# first, overlapped the heavy e2e files and a clean-clone CI run was 30 minutes in with about a
# third of the work left on this 2-core machine, against 24 to 29 minutes in all with the reorder.
STACK_SUITE = "integration/stack"
SLOW_FIRST = (
    STACK_SUITE,
    "e2e/test_deploy_dags.py",
    "e2e/test_batch_score_dag.py",
    "e2e/test_retrain_dag.py",
    "e2e/test_monitor_dag.py",
)


def _unit(rel: Path) -> str:
    path = rel.as_posix()
    return STACK_SUITE if path.startswith(STACK_SUITE + "/") else path


def _slow_rank(item: pytest.Item) -> int:
    unit = _unit(_relative(item))
    return SLOW_FIRST.index(unit) if unit in SLOW_FIRST else len(SLOW_FIRST)


def _relative(item: pytest.Item) -> Path:
    rel = Path(str(item.fspath)).resolve().relative_to(PROJECT_DIR / "tests")
    if rel.parts[0] not in KINDS:
        raise pytest.UsageError(f"{rel}: tests live in one of tests/{{{','.join(KINDS)}}}/")
    return rel


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test carries the marker of its folder (a test outside those folders is an error);
    the slowest units first (a stable sort: the order within a file is kept)."""
    for item in items:
        item.add_marker(getattr(pytest.mark, _relative(item).parts[0]))
    items.sort(key=_slow_rank)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with the stack suite's files as one unit."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class StackAsOneFile(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return f"tests/{STACK_SUITE}" if scope.startswith(f"tests/{STACK_SUITE}/") else scope

    return StackAsOneFile(config, log)
