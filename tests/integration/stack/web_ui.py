"""A person in the stack's Airflow web UI: headless Chromium driven by Playwright.

The browser is Debian's ``chromium`` package (``/usr/bin/chromium``; .ci/run installs it when
missing), launched by Playwright for Python: ``playwright install`` (a browser download) is never
run. ``WebUI`` holds the steps a person takes (sign in, fill a DAG's Params form, read a task's
log, follow its extra link, answer Required Actions) and keeps a screenshot of each under
``test-artifacts/stack/ui-<step>.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

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
VIEWPORT = {"width": 1400, "height": 1000}


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (a clear failure when the package is missing)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WebUI:
    """One signed-in browser tab on the Airflow UI at ``base_url``."""

    page: Any
    base_url: str
    artifacts: Path

    def shot(self, name: str, page: Any = None) -> Path:
        path = self.artifacts / f"ui-{name}.png"
        (page or self.page).screenshot(path=str(path), full_page=False)
        return path

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")
        self.page.wait_for_load_state("networkidle")

    def sign_in(self, user: str, password: str, landing: str) -> None:
        """Open ``landing``: an anonymous visitor is sent to the login form, then back."""
        from playwright.sync_api import expect

        self.page.goto(f"{self.base_url}{landing}")
        expect(self.page.get_by_text("Sign into Airflow")).to_be_visible()
        self.page.get_by_label("Username").fill(user)
        self.page.get_by_label("Password").fill(password)
        self.shot("01-login")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(re.compile(rf".*{re.escape(landing)}$"))
        self.page.wait_for_load_state("networkidle")

    def trigger_form(self, dag_id: str) -> Any:
        """Open the DAG's page and its Trigger dialog (the Params form); the dialog."""
        from playwright.sync_api import expect

        self.goto(f"/dags/{dag_id}")
        self.page.get_by_role("button", name="Trigger").first.click()
        dialog = self.page.get_by_role("dialog")
        expect(dialog.get_by_text(f"Trigger Dag - {dag_id}")).to_be_visible()
        return dialog

    def submit_trigger(self, dialog: Any, dag_id: str) -> str:
        """Press the dialog's Trigger; the UI opens the new run: its run id."""
        from playwright.sync_api import expect

        submit = dialog.get_by_test_id("trigger-dag-submit")
        expect(submit).to_be_enabled()
        submit.click()
        self.page.wait_for_url(re.compile(rf".*/dags/{dag_id}/runs/[^/]+$"))
        run_id = unquote(self.page.url.rsplit("/runs/", 1)[1])
        expect(self.page.get_by_text(run_id, exact=True).first).to_be_visible()
        return run_id

    def task_path(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        path = f"/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}"
        return f"{path}/mapped/{map_index}" if map_index >= 0 else path

    def open_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        """The task instance's page (its Logs tab); the log's text locator."""
        self.goto(self.task_path(dag_id, run_id, task_id, map_index))
        return self.page.get_by_test_id("virtualized-list")

    def log_lines(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        """The task's log as the Logs tab shows it (once its last line has rendered)."""
        from playwright.sync_api import expect

        log = self.open_log(dag_id, run_id, task_id, map_index)
        expect(log.get_by_text("Post Execute")).to_be_visible()  # the end of a finished task's log
        return str(log.inner_text())

    def answer_required_action(self, subject: str, choice: str, reason: str) -> str:
        """Browse -> Required Actions -> the pending action called ``subject``: type ``reason``,
        press ``choice``; the panel's text as the person read it before answering."""
        from playwright.sync_api import expect

        self.goto("/required_actions")
        expect(self.page.get_by_text("Approval Required").first).to_be_visible()
        self.shot("required-actions")
        self.page.get_by_role("link", name=subject).first.click()
        button = self.page.get_by_role("button", name=choice, exact=True)  # the "Required Action" tab
        expect(button).to_be_enabled()
        shown = str(self.page.locator("body").inner_text())
        self.page.locator("input[name=element_reason]").fill(reason)
        self.shot("approval-panel")
        button.click()
        return shown

    def follow_extra_link(self, dag_id: str, run_id: str, task_id: str, name: str) -> Any:
        """The task's Details tab -> Extra Links -> ``name``: the page it opens (a new tab)."""
        self.goto(f"{self.task_path(dag_id, run_id, task_id)}/details")
        link = self.page.get_by_role("link", name=name)
        with self.page.context.expect_page() as opened:
            link.click()
        page = opened.value
        page.wait_for_load_state("domcontentloaded")
        return page

    def show_document(self, html: str, name: str) -> Any:
        """A report file (HTML the pipeline wrote) opened in a tab of its own, as a person opens
        a downloaded report; the tab, after a screenshot of it."""
        page = self.page.context.new_page()
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(self.artifacts / f"ui-{name}.png"), full_page=False)
        return page

    @staticmethod
    def overflows_horizontally(page: Any) -> bool:
        """Whether the page is wider than the window (a horizontal scroll bar)."""
        return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
