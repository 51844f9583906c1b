"""Shared test set-up: the project environment, markers by folder, service fixtures."""

from __future__ import annotations

import os
from pathlib import Path

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test carries the marker of its folder; a test outside those folders is an error."""
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(PROJECT_DIR / "tests")
        kind = rel.parts[0]
        if kind not in KINDS:
            raise pytest.UsageError(f"{rel}: tests live in one of tests/{{{','.join(KINDS)}}}/")
        item.add_marker(getattr(pytest.mark, kind))
