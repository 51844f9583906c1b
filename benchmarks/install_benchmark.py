#!/usr/bin/env python
"""`make install`'s two installers, timed from clean venvs one after the other: uv and pip.

Each way builds a new venv under a temporary folder with the same Python and installs
``requirements-dev.txt`` under ``constraints.txt``, exactly as the Makefile does:

* ``uv``:  ``pip install uv==<Makefile's UV_VERSION>`` into the venv, then ``uv pip install``
  (the time to install uv itself is counted);
* ``pip``: ``pip install --upgrade pip``, then ``pip install`` (the Makefile's fallback).

``cold`` runs start with an empty cache of their own (``UV_CACHE_DIR`` / ``PIP_CACHE_DIR`` in the
temporary folder), so every wheel is downloaded; ``--warm`` adds a second run of each way on a
new venv with the cache the cold run filled (a developer's second clone). After the runs, the
installed sets are compared (``pip freeze`` of each venv): both ways must install the same
versions, or the script exits 1.

Run from the project root:  python benchmarks/install_benchmark.py [--warm] [--ways uv,pip]
Results: printed, and written to benchmarks/results/install_benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_model, load_avg, memory_gib  # noqa: E402

REQUIREMENTS = ("-r", "requirements-dev.txt", "-c", "constraints.txt")
RESULTS = ROOT / "benchmarks" / "results" / "install_benchmark.json"


def uv_version() -> str:
    """The uv version the Makefile pins (one home for it)."""
    match = re.search(r"^UV_VERSION \?= (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    if not match:
        raise SystemExit("Makefile: no `UV_VERSION ?= ...` line")
    return match.group(1)


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def _steps(way: str, venv: Path) -> list[list[str]]:
    pip = [str(venv / "bin" / "pip"), "install", "--quiet"]
    if way == "uv":
        uv = [
            str(venv / "bin" / "uv"),
            "pip",
            "install",
            "--quiet",
            "--system-certs",
            "--python",
            str(venv / "bin" / "python"),
        ]
        return [[*pip, f"uv=={uv_version()}"], [*uv, *REQUIREMENTS]]
    return [[*pip, "--upgrade", "pip"], [*pip, *REQUIREMENTS]]


def install(way: str, work: Path, cache: Path, python: str) -> dict[str, Any]:
    """One way on a new venv: seconds for the venv and for each step, and the installed set."""
    venv = work / f"venv-{way}-{time.monotonic_ns()}"
    env = {**os.environ, "UV_CACHE_DIR": str(cache / "uv"), "PIP_CACHE_DIR": str(cache / "pip")}
    env.pop("VIRTUAL_ENV", None)
    venv_s = _run([python, "-m", "venv", str(venv)], env)
    step_s = [_run(step, env) for step in _steps(way, venv)]
    freeze = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout
    packages = sorted(line for line in freeze.splitlines() if not line.startswith(("pip==", "uv==", "setuptools==")))
    shutil.rmtree(venv, ignore_errors=True)
    return {
        "venv_s": round(venv_s, 1),
        "steps_s": [round(s, 1) for s in step_s],
        "total_s": round(venv_s + sum(step_s), 1),
        "packages": packages,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ways", default="uv,pip", help="comma-separated, run in this order (default uv,pip)")
    parser.add_argument("--warm", action="store_true", help="also a second run of each way with a filled cache")
    parser.add_argument("--python", default=sys.executable if sys.prefix == sys.base_prefix else None)
    args = parser.parse_args()
    python = args.python or shutil.which("python3.11") or shutil.which("python3") or "python3"
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    if not set(ways) <= {"uv", "pip"}:
        parser.error(f"--ways: uv and/or pip, not {ways}")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="install-bench-") as tmp:
        work = Path(tmp)
        for cache_state in ("cold", "warm") if args.warm else ("cold",):
            for way in ways:
                load_before = load_avg()
                result = install(way, work, work / f"cache-{way}", python)
                runs.append({"way": way, "cache": cache_state, "load_before": load_before, **result})
                print(
                    f"{way:>4} {cache_state}: {result['total_s']:7.1f} s  (venv {result['venv_s']} s, "
                    f"steps {result['steps_s']}), {len(result['packages'])} packages, load {load_before}"
                )
    print()
    print("| way | cache | total s | packages |")
    print("| --- | --- | --- | --- |")
    for run in runs:
        print(f"| {run['way']} | {run['cache']} | {run['total_s']} | {len(run['packages'])} |")
    sets = {tuple(r["packages"]) for r in runs}
    same = len(sets) == 1
    by_way = {(r["way"], r["cache"]): r["total_s"] for r in runs}
    for cache_state in ("cold", "warm"):
        if ("uv", cache_state) in by_way and ("pip", cache_state) in by_way:
            ratio = by_way[("pip", cache_state)] / by_way[("uv", cache_state)]
            print(f"{cache_state}: pip / uv = {ratio:.1f}x")
    print("installed sets:", "identical" if same else "DIFFER")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "cpu": cpu_model(),
                    "cores": os.cpu_count(),
                    "memory_gib": memory_gib(),
                    "python": platform.python_version(),
                    "uv": uv_version(),
                },
                "runs": [
                    {k: v for k, v in r.items() if k != "packages"} | {"n_packages": len(r["packages"])} for r in runs
                ],
                "identical_sets": same,
            },
            indent=2,
        )
    )
    if not same:
        first, *rest = [set(s) for s in sets]
        print("differences:", sorted(first.symmetric_difference(*rest))[:40])
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
