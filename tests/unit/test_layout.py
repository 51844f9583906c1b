"""The layout rules `make lint` enforces, checked against planted violations so the checks can
fail, and the project's own tree held to them."""

from __future__ import annotations

import ast
import collections
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "scripts"))

import check_contracts  # noqa: E402
import check_layout  # noqa: E402


def test_contract_scan_finds_literals_and_allows_payload_keys(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        '"""Docstring mentioning mlops.stage and champion is fine."""\n'
        'TAG = "mlops.stage"\n'
        'PATH = f"runs:/{1}/data/scoring_contract.json"\n'
        'ALIAS = "champion"\n'
        'payload = {"champion": 1}\n'
        'value = payload["champion"] or payload.get("challenger")\n'
        'SECTION = "scoring"  # noqa: contract\n'
    )
    found = list(check_contracts.findings(planted, check_contracts.contract_values()))
    assert len(found) == 3, found
    assert any("Tag.STAGE" in f for f in found)
    assert any("Artifact.SCORING_CONTRACT" in f for f in found)
    assert any("CHAMPION" in f for f in found)


def test_project_has_no_contract_literal():
    found = [
        line
        for file in check_contracts.python_files(list(check_contracts.DEFAULT_PATHS))
        for line in check_contracts.findings(file, check_contracts.contract_values())
    ]
    assert found == []


def test_no_core_module_over_400_lines():
    assert check_layout.oversized() == []


def test_module_size_check_can_fail(tmp_path, monkeypatch):
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "big.py").write_text("x = 1\n" * 401)
    monkeypatch.setattr(check_layout, "ROOT", tmp_path)
    assert check_layout.oversized() == [(Path("include/big.py"), 401)]


def test_no_two_public_core_functions_share_a_name():
    where = collections.defaultdict(list)
    for file in sorted((PROJECT / "include").rglob("*.py")):
        for node in ast.parse(file.read_text()).body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            # ``main``: the entry point of a module's command line (``python -m include...``).
            public = not node.name.startswith("_") and node.name != "main"
            if public:
                where[node.name].append(str(file.relative_to(PROJECT)))
    assert {name: files for name, files in where.items() if len(files) > 1} == {}


@pytest.mark.parametrize(
    ("pipeline", "forbidden"),
    [("score", "include.retrain.train"), ("deploy", "include.monitor"), ("platform", "include.ml.training")],
)
def test_import_rules_refuse_a_cross_pipeline_import(tmp_path, pipeline, forbidden):
    """ruff with the project's own per-folder config refuses the import (TID251)."""
    shutil.copy(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    folder = tmp_path / "include" / pipeline
    folder.mkdir(parents=True)
    shutil.copy(PROJECT / "include" / pipeline / "ruff.toml", folder / "ruff.toml")
    (folder / "planted.py").write_text(f"from {forbidden} import something\n\nprint(something)\n")
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--select", "TID251", str(folder / "planted.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TID251" in result.stdout and "is banned" in result.stdout
