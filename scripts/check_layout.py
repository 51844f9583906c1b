"""Core modules stay small: ``make lint`` fails on a module of ``include/`` or ``plugins/`` over
400 lines (split it along its seams). Function complexity is ruff's C901 (max 15)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def oversized(paths: tuple[str, ...] = ("include", "plugins"), limit: int = MAX_LINES) -> list[tuple[Path, int]]:
    found = []
    for name in paths:
        for file in sorted((ROOT / name).rglob("*.py")):
            lines = len(file.read_text().splitlines())
            if lines > limit:
                found.append((file.relative_to(ROOT), lines))
    return found


def main() -> int:
    found = oversized()
    for path, lines in found:
        print(f"{path}: {lines} lines > {MAX_LINES}: split it along its seams")
    if not found:
        print(f"layout: every module of include/ and plugins/ has at most {MAX_LINES} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
