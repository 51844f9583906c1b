"""Contract literals outside ``include/contracts.py``: ``make lint`` fails on any.

A value defined in ``include/contracts.py`` (stage, alias, dataset, artifact path, tag key, run
kind, output column) written as a string literal anywhere else in ``include/``, ``plugins/``,
``dags/`` or ``scripts/`` is reported with file, line and the constant to use instead.

What counts: a string constant equal to a stage, alias, dataset, run kind, artifact path or tag
key, and any string (f-string parts too) containing a distinctive one (a tag key ``mlops.*`` or
an artifact path with a ``/``). Output column names (``contracts.Column``) and one-word artifact
folders are not scanned: words like ``run_id`` or ``model`` mean many other things. What does not
count: docstrings, dict keys, subscripts and ``.get()`` keys (payload field names such as ``pinned["champion"]``
are not contracts), ``__all__``, and a line marked ``# noqa: contract`` (the same word with
another meaning, e.g. a config section called ``scoring``).

Usage: ``python scripts/check_contracts.py [paths...]``; exit 1 when something is found.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "include" / "contracts.py"
DEFAULT_PATHS = ("include", "plugins", "dags", "scripts")


def contract_values(path: Path = CONTRACTS) -> dict[str, str]:
    """``{value: "Class.NAME"}`` for every string constant defined in the contracts module."""
    values: dict[str, str] = {}

    def visit(body: list[ast.stmt], owner: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{node.name}.")
            target = None
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value = node.target.id, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            is_text = target and isinstance(value, ast.Constant) and isinstance(value.value, str)
            if is_text and owner != "Column." and (owner != "Artifact." or "/" in value.value):
                values.setdefault(value.value, f"{owner}{target}")

    visit(ast.parse(path.read_text()).body, "")
    return values


def _distinctive(value: str) -> bool:
    return value.startswith("mlops.") or "/" in value


def _excluded(tree: ast.AST) -> set[int]:
    """ids of constants that are docstrings, dict keys, subscripts or ``__all__`` entries."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.Dict):
            skip.update(id(k) for k in node.keys if k is not None)
        if isinstance(node, ast.Subscript):
            skip.update(id(n) for n in ast.walk(node.slice))
        getter = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
        if getter and node.func.attr in ("get", "pop", "setdefault"):  # payload.get("champion"): a field name
            skip.add(id(node.args[0]))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            skip.update(id(n) for n in ast.walk(node.value))
    return skip


def findings(path: Path, values: dict[str, str]) -> Iterator[str]:
    source = path.read_text()
    tree = ast.parse(source, filename=str(path))
    skip = _excluded(tree)
    marked = {n for n, line in enumerate(source.splitlines(), start=1) if line.rstrip().endswith("# noqa: contract")}
    distinctive = [v for v in values if _distinctive(v)]
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        if node.lineno in marked or getattr(node, "end_lineno", node.lineno) in marked:
            continue
        text = node.value
        if text in values:
            yield f"{path}:{node.lineno}: {text!r} is contracts.{values[text]}"
            continue
        for value in distinctive:
            if value in text and len(value) > 6:
                yield f"{path}:{node.lineno}: {text!r} contains {value!r}: use contracts.{values[value]}"
                break


def python_files(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        path = (ROOT / name) if not Path(name).is_absolute() else Path(name)
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            if file.resolve() != CONTRACTS.resolve() and ".venv" not in file.parts:
                yield file


def main(argv: list[str]) -> int:
    values = contract_values()
    found = [line for file in python_files(argv or list(DEFAULT_PATHS)) for line in findings(file, values)]
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} contract literal(s): import the constant from include/contracts.py", file=sys.stderr)
        return 1
    print("contracts: no literal outside include/contracts.py")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
