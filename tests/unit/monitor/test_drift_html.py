"""The drift report's HTML names the test that made each verdict and has a title."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from include.monitor.drift_check import check_drift
from include.monitor.drift_html import evidently_test_options
from include.monitor.reference import load_reference
from include.monitor.report import html_report
from tests.unit.monitor.conftest import DRIFT_DS, MODEL


class Rows(HTMLParser):
    """The title and the rows of the first table (the project's verdicts)."""

    def __init__(self) -> None:
        super().__init__()
        self.title, self.rows, self._in, self._tables = "", [], None, 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._tables += 1
        if tag == "tr" and self._tables == 1:
            self.rows.append([])
        self._in = tag

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in in ("td", "th", "span") and self._tables == 1 and self.rows:
            self.rows[-1].append(data)

    def handle_endtag(self, tag):
        self._in = None


def test_the_report_names_the_configured_test_and_has_a_title(world) -> None:
    assert world.config.monitoring.stattests["discount_pct"] == {"stattest": "psi", "threshold": 0.2}
    reference = load_reference(world.registry, world.config, DRIFT_DS)
    drift = check_drift(world.storage, world.registry, world.config, reference, DRIFT_DS)

    page = html_report(world.storage, world.registry, world.config, reference, DRIFT_DS, drift)

    parsed = Rows()
    parsed.feed(page)
    assert parsed.title == f"Drift report: {MODEL}, ds={DRIFT_DS}"
    header, *rows = parsed.rows
    assert header[:5] == ["column", "type", "test", "threshold", "statistic"]
    by_column = {row[0]: row for row in rows}
    assert set(by_column) == set(world.config.features.all)
    assert by_column["discount_pct"][2:4] == ["psi", "0.2"]
    for column in drift["features"]["columns"]:  # every verdict as the monitor run made it
        row = by_column[column["column"]]
        assert row[2] == column["stattest"] and row[6] == ("drifted" if column["drifted"] else "not drifted")
    # evidently's own widgets ran the same test on discount_pct (its data is embedded as JSON).
    assert re.search(r"discount_pct[^}]{0,400}PSI", page), "evidently's report does not use PSI for discount_pct"
    assert not re.search(r"discount_pct[^}]{0,400}Wasserstein", page)


def test_evidently_gets_each_columns_test_and_threshold(world) -> None:
    reference = load_reference(world.registry, world.config, DRIFT_DS)
    drift = check_drift(world.storage, world.registry, world.config, reference, DRIFT_DS)
    options = evidently_test_options(drift)
    assert options["per_column_method"]["discount_pct"] == "psi"
    assert options["per_column_threshold"]["discount_pct"] == 0.2
    for column in drift["features"]["columns"]:
        if column["column"] in options["per_column_method"]:
            assert options["per_column_method"][column["column"]] == column["stattest"]
    assert evidently_test_options(None) == {"per_column_method": {}, "per_column_threshold": {}}
