"""The stack suite's fixture: the compose topology from local processes (airflow_stack.py).

One stack for test_stack.py: the MLOps cycle driven through the REST API (as the scheduler and
scripts do) and, where a person acts, in a browser (``web``: headless Chromium signed in to the
Airflow UI, web_ui.py). Both are torn down as soon as that module ends (module scope, not
session: the suite runs first in its pytest-xdist worker, which then goes on with other files,
and an idle stack with a browser on MLflow's page kept taking CPU from them for the rest of the
run). Start-up, each DAG run and teardown are timed;
the timings are printed at the end of the session and saved to
``test-artifacts/stack/timings.json``. A failing test gets the tail of every stack process's log
in its report; all logs stay in the session's tmp dir (path printed).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.services import ServiceUnavailable
from tests.integration.stack.airflow_stack import ADMIN, PROJECT, Stack, start_stack
from tests.integration.stack.web_ui import VIEWPORT, WebUI, chromium

ARTIFACTS = PROJECT / "test-artifacts" / "stack"
_STACKS: list[Stack] = []


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}: stopping the stack")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[Stack]:
    # SIGTERM (a CI timeout, a `kill`) becomes KeyboardInterrupt, so pytest still runs this
    # fixture's teardown and the stack's processes, databases and Redis keys do not outlive it.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield from _running_stack(tmp_path_factory, artifacts_dir)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _running_stack(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[Stack]:
    started = time.perf_counter()
    problem = None
    try:
        running = start_stack(tmp_path_factory.mktemp("stack"))
    except ServiceUnavailable as error:
        problem = str(error)
    if problem:  # a missing server fails every test of the suite, naming it: never a skip
        pytest.fail(problem, pytrace=False)
    running.timings["stack start (total)"] = time.perf_counter() - started
    _STACKS.append(running)
    try:
        yield running
    finally:
        running.close()
        running.timings["suite wall time"] = time.perf_counter() - started
        (artifacts_dir / "timings.json").write_text(json.dumps(running.timings, indent=2))
        (artifacts_dir / "evidence.json").write_text(json.dumps(running.evidence, indent=2, default=str))


@pytest.fixture(scope="module")
def web(stack: Stack, artifacts_dir: Path) -> Iterator[WebUI]:
    """One browser tab signed in to the stack's Airflow UI for the whole suite; MLflow's basic
    auth answered as the read-only user (a person browsing the registry)."""
    reader = stack.mlflow_reader
    assert reader is not None, "the stack has no MLflow reader account"
    mlflow_login = {"username": reader.username, "password": reader.password, "origin": stack.mlflow_url}
    with chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT, http_credentials=mlflow_login)
        context.set_default_timeout(30_000)
        ui = WebUI(page=context.new_page(), base_url=stack.api_url, artifacts=artifacts_dir)
        try:
            ui.sign_in(ADMIN, stack.password, landing="/dags")
            yield ui
        finally:
            ui.shot("99-last")
            context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """On failure, the tail of every stack process's log goes into the test's report."""
    report = yield
    running = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(running, Stack):
        report.sections.append((f"stack process logs ({running.log_dir})", running.process_logs(lines=40)))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for running in _STACKS:
        terminalreporter.section("stack phases (seconds)", sep="-")
        width = max(len(name) for name in running.timings)
        for name, seconds in running.timings.items():
            terminalreporter.write_line(f"{name:<{width}}  {seconds:7.1f}")
        for name, value in running.evidence.items():
            terminalreporter.write_line(f"{name}: {json.dumps(value, default=str)}")
        terminalreporter.write_line(f"process logs: {running.log_dir}")
