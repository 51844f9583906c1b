"""The per-chunk line of a scoring task: rows done, rows per second, time left."""

from __future__ import annotations

from include.score.unit import progress_line

UNIT = {"ds": "2026-02-12", "parts": [], "rows": 100_000, "index": 3, "inputs": []}


def test_rows_rate_and_eta():
    line = progress_line(UNIT, 25_000, 10.0)  # 2,500 rows/s: 75,000 rows left take 30 s
    assert line == "unit 3 of 2026-02-12: 25,000/100,000 rows done (25%), 2,500 rows/s, ETA 0m30s"


def test_last_chunk_has_nothing_left():
    assert progress_line(UNIT, 100_000, 200.0).endswith("(100%), 500 rows/s, ETA 0m00s")


def test_long_eta_in_minutes():
    assert progress_line(UNIT, 1_000, 10.0).endswith("100 rows/s, ETA 16m30s")
