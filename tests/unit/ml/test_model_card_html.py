"""The model card's HTML reads as a page: Markdown rendered, evidence as a table, fits the width."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from include.ml.model_card import parse_evidence, render_html, render_markdown
from tests.unit.conftest import small_churn_config
from tests.unit.deploy.helpers import gathered

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 16


class Page(HTMLParser):
    """Visible text, tags in order, and the title of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._skip: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "title", "script"):
            self._skip = tag

    def handle_endtag(self, tag):
        if tag == self._skip:
            self._skip = None

    def handle_data(self, data):
        if self._skip == "title":
            self.title += data
        elif self._skip is None:
            self.text.append(data)


def card(shadow):
    config = small_churn_config()
    facts = {
        "version": "2",
        "stage": "champion",
        "metrics": {"roc_auc": 0.8123},
        "gates": {"results": [{"passed": True, "name": "min_roc_auc", "detail": "roc_auc 0.81 >= 0.70"}]},
        "history": [{"at": "2026-02-14", "from": "shadow", "to": "champion", "by": "ann", "reason": "x | y"}],
        "shadow": shadow,
    }
    markdown = render_markdown(config, facts, ["performance.png"])
    return markdown, render_html(markdown, {"performance.png": PNG})


def test_the_card_html_has_no_raw_markdown_and_the_evidence_is_a_table():
    evidence = dict(gathered(small_churn_config()))
    _, page_html = card(evidence)
    page = Page()
    page.feed(page_html)
    visible = "".join(page.text)
    for marker in ("**", "_Generated", "`", "| ---", "```", "![", '{"', "# Model card"):
        assert marker not in visible, marker
    assert page.title == "Model card: churn v2"
    tags = [t for t, _ in page.tags]
    assert "strong" in tags and "em" in tags and "code" in tags and "h1" in tags
    # The evidence section: a table, one row per fact (criteria one row each), no JSON block.
    section = page_html.split(">Shadow evidence</h2>", 1)[1].split("<h2", 1)[0]
    assert section.lstrip().startswith("<table>") and "<pre" not in section
    assert "<td>evidence.agreement</td>" in section and "<td>0.9500</td>" in section
    assert "<td>verdict.criteria.min_shadow_batches</td>" in section and "PASS" in section
    assert "<td>evidence.dates</td><td>2026-02-11, 2026-02-12, 2026-02-13</td>" in section.replace("\n", "")
    assert "x | y" in visible  # a pipe in a cell stays text
    [img] = [a for t, a in page.tags if t == "img"]
    assert img["src"].startswith("data:image/png;base64,")


def test_the_page_is_laid_out_to_fit_its_width():
    _, page_html = card({"note": "a" * 3000})
    style = page_html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "max-width: 960px" in style and "overflow-wrap: anywhere" in style
    assert "img { max-width: 100%" in style
    assert "width=device-width" in page_html


def test_raw_html_in_the_card_text_is_escaped():
    _, page_html = card({"note": "<script>alert(1)</script>"})
    assert "<script>" not in page_html and "&lt;script&gt;" in page_html


def test_an_evidence_tag_cut_at_the_length_limit_is_kept_as_text():
    text = json.dumps({"agreement": 0.9, "dates": ["2026-02-11"] * 600})[:4900]
    assert parse_evidence(text) == {"evidence (cut off at the tag's length limit)": text}
    assert parse_evidence('{"agreement": 0.9}') == {"agreement": 0.9}
