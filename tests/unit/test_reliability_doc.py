"""docs/reliability.md is a claim per fault: every test it names exists, every fail point in the
code is listed there."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
DOC = PROJECT / "docs" / "reliability.md"
TEST_REF = re.compile(r"`(?:(tests/[\w/]+\.py)|([\w]+\.py))::(\w+)")


def _test_files() -> dict[str, list[Path]]:
    by_name: dict[str, list[Path]] = {}
    for path in (PROJECT / "tests").rglob("test_*.py"):
        by_name.setdefault(path.name, []).append(path)
    return by_name


def test_every_test_the_reliability_doc_names_exists():
    text = DOC.read_text(encoding="utf-8")
    by_name = _test_files()
    refs = TEST_REF.findall(text)
    assert len(refs) > 30, "the scan no longer finds the doc's test references"
    missing = []
    for full, short, name in refs:
        files = [PROJECT / full] if full else by_name.get(short, [])
        if not any(f.exists() and re.search(rf"def {name}\(", f.read_text(encoding="utf-8")) for f in files):
            missing.append(f"{full or short}::{name}")
    assert missing == [], f"docs/reliability.md names tests that do not exist: {missing}"


def test_every_fail_point_is_in_the_reliability_doc():
    text = DOC.read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for p in (PROJECT / "include").rglob("*.py"))
    named = set(re.findall(r'failpoint\("([\w.]+)"\)', code))
    prefixes = set(re.findall(r'_POINTS = "([\w.]+)"', code))
    assert named and prefixes, "the scan no longer finds the fail points"
    assert [n for n in sorted(named) if n not in text] == []
    assert [p for p in sorted(prefixes) if p not in text] == []
