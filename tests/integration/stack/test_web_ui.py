"""The Airflow web UI of the stack, used as a person uses it, in a real browser.

Headless Chromium from Debian's ``chromium`` package (``/usr/bin/chromium``; .ci/run installs it
when missing), driven by Playwright for Python with that system browser: ``playwright install``
(a browser download) is never run. The stack's SimpleAuthManager has one admin user whose
password the suite wrote to the passwords file, so the test signs in through the login form.

Steps: sign in -> open ``retrain_churn`` -> *Trigger* -> fill the Params form with a 21-day
window (not the config's 28) ending on a date with data, and a reason -> submit -> the run page
shows the run's tasks and *Success*. The REST API then confirms that the form's values reached
the run (conf and the training window the first task computed). Screenshots of every step go to
``test-artifacts/stack/ui-*.png``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.integration.stack.airflow_stack import ADMIN, MODEL, Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WINDOW_END = "2026-02-10"
WINDOW_DAYS = 21  # the config says 28: a value the person typed, visible in the run
RUN_TIMEOUT_S = 420


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any, artifacts_dir: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        page.screenshot(path=str(artifacts_dir / "ui-99-last.png"))
        context.close()


def test_trigger_retrain_from_the_params_form_and_watch_it_succeed(stack: Stack, page: Any, artifacts_dir: Path):
    from playwright.sync_api import expect

    def shot(name: str) -> None:
        page.screenshot(path=str(artifacts_dir / f"ui-{name}.png"))

    dag_id = f"retrain_{MODEL}"
    stack.unpause(dag_id)  # the person would flip the toggle; test_stack.py did, when it ran first

    with stack.phase("web UI: sign in + trigger form"):
        # Any page sends an anonymous visitor to the login form, then back.
        page.goto(f"{stack.api_url}/dags/{dag_id}")
        expect(page.get_by_text("Sign into Airflow")).to_be_visible()
        page.get_by_label("Username").fill(ADMIN)
        page.get_by_label("Password").fill(stack.password)
        shot("01-login")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(rf".*/dags/{dag_id}$"))
        expect(page.get_by_text(dag_id).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        shot("02-dag")

        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text(f"Trigger Dag - {dag_id}")).to_be_visible()
        expect(dialog.get_by_text("Training window length (days)")).to_be_visible()
        submit = dialog.get_by_test_id("trigger-dag-submit")
        # `reason` is required by the form (a string Param): nothing can be triggered without it.
        expect(submit).to_be_disabled()
        dialog.locator("input[name=element_window_end]").fill(WINDOW_END)
        dialog.get_by_role("spinbutton").fill(str(WINDOW_DAYS))
        dialog.locator("input[name=element_reason]").fill("web UI test: 21-day window")
        expect(submit).to_be_enabled()
        shot("03-params-form")
        submit.click()

        # The UI opens the new run.
        page.wait_for_url(re.compile(rf".*/dags/{dag_id}/runs/[^/]+$"))
        run_id = unquote(page.url.rsplit("/runs/", 1)[1])
        expect(page.get_by_text(run_id, exact=True).first).to_be_visible()
        shot("04-run-started")

    with stack.phase("web UI: run to success"):
        deadline = time.monotonic() + RUN_TIMEOUT_S
        # The run page refreshes itself while the run is active: watch it like a person would.
        while True:
            state = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed") or time.monotonic() > deadline:
                break
            page.wait_for_timeout(3000)
        assert state == "success", f"run {run_id} is {state}\n{stack.describe_run(dag_id, run_id)}"
        # The page shows it without a reload: the run's badge and every task instance.
        task_rows = page.get_by_role("row").filter(has=page.get_by_text("Success", exact=True))
        expect(task_rows).to_have_count(8, timeout=30_000)
        expect(page.get_by_text("Success", exact=True)).to_have_count(9)  # 8 tasks + the run's badge
        shot("05-run-success")

        # Details: the run's conf, as the form sent it (a code viewer that renders when visible).
        page.get_by_role("link", name="Details").click()
        page.wait_for_url(re.compile(r".*/details$"))
        conf = page.locator("tr", has_text="Conf").first
        conf.scroll_into_view_if_needed()
        expect(conf.locator(".view-lines")).to_contain_text(re.compile(r'"window_days":\s*21'))
        expect(conf.locator(".view-lines")).to_contain_text(re.compile(rf'"window_end":\s*"{WINDOW_END}"'))
        shot("06-run-details-conf")

    # The form's values reached the run: its conf, and the window the first task computed.
    run = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    assert run["conf"]["window_days"] == WINDOW_DAYS and run["conf"]["window_end"] == WINDOW_END, run["conf"]
    pulled = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/pull_features/xcomEntries/return_value")[
        "value"
    ]
    start = (dt.date.fromisoformat(WINDOW_END) - dt.timedelta(days=WINDOW_DAYS)).isoformat()
    assert str(pulled["window_start"]).startswith(start), pulled
    assert run.get("triggering_user_name") == ADMIN, run
    assert run.get("triggered_by") == "ui", run
    stack.evidence["web UI run"] = {
        "run_id": run_id,
        "state": run["state"],
        "triggered_by": run["triggered_by"],
        "conf": run["conf"],
        "training window": [pulled["window_start"], pulled["window_end"]],
    }
