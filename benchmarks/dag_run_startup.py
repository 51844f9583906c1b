"""How long one ``airflow dags test`` takes: a plain ``airflow`` subprocess against a run forked
from the test suite's fork server (``tests/fixtures/forkserver.py``), side by side.

    source scripts/env.sh
    python benchmarks/dag_run_startup.py                 # reconcile_churn, 5 runs each, interleaved
    python benchmarks/dag_run_startup.py --runs 3 --dag reconcile_churn

Both ways run the same DAG on the same private Airflow home (SQLite), MLflow store (SQLite) and
audit trail, in turns (plain, forked, plain, ...), so that a busy machine slows both alike. The
DAG is cheap on purpose (``reconcile_<model>`` on an empty registry): what is measured is the cost
of starting a DAG run, which every e2e test pays per run. Prints each run's wall time, the best
and the median of each way, and their ratio. The fork server's own start (imports and the
execution API, once per pytest worker) is printed apart.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.e2e.conftest import airflow_home_env  # noqa: E402 - after the path is set
from tests.fixtures.forkserver import ForkServer  # noqa: E402

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _environment(home: Path) -> dict[str, str]:
    """The e2e suite's Airflow home environment, with local MLflow, data and audit trail."""
    return {
        **airflow_home_env(home),
        "MLOPS_DATA_ROOT": str(home / "data"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "MLOPS_MLFLOW_ARTIFACT_ROOT": str(home / "artifacts"),
        "MLOPS_STATE_DIR": str(home / "state"),
        "MLOPS_AUDIT_DB_URL": f"sqlite:///{home / 'audit.db'}",
    }


def _succeeded(log: str) -> bool:
    return "DagRun Finished" in log and "state=success" in log


def _plain(dag: str, env: dict[str, str], log: Path) -> float:
    began = time.perf_counter()
    with open(log, "wb") as out:
        cmd = [AIRFLOW, "dags", "test", dag]
        subprocess.run(cmd, env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, check=False)
    return time.perf_counter() - began


def _forked(server: ForkServer, dag: str, env: dict[str, str], log: Path) -> float:
    began = time.perf_counter()
    log.touch()
    server.spawn(["dags", "test", dag], env, PROJECT, log).wait(timeout=600)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dag", default="reconcile_churn")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dag-run-startup-") as tmp:
        home = Path(tmp)
        env = _environment(home)
        cmd = [AIRFLOW, "db", "migrate"]
        migrate = subprocess.run(cmd, env=env, cwd=PROJECT, capture_output=True, text=True, check=False)
        if migrate.returncode:
            sys.exit(f"airflow db migrate failed:\n{migrate.stdout[-2000:]}{migrate.stderr[-2000:]}")
        began = time.perf_counter()
        server = ForkServer(env, PROJECT, home / "forkserver.sock")
        server_start = time.perf_counter() - began
        times: dict[str, list[float]] = {"plain": [], "forked": []}
        try:
            for run in range(args.runs):
                for way in ("plain", "forked"):
                    log = home / f"{way}-{run}.log"
                    seconds = _plain(args.dag, env, log) if way == "plain" else _forked(server, args.dag, env, log)
                    if not _succeeded(log.read_text(errors="replace")):
                        sys.exit(f"{way} run {run} of {args.dag} did not succeed; its log: {log}")
                    times[way].append(seconds)
                    print(f"run {run + 1} {way:>6}: {seconds:6.2f} s", flush=True)
        finally:
            server.close()

    best = {way: min(values) for way, values in times.items()}
    median = {way: statistics.median(values) for way, values in times.items()}
    print(f"\n{args.dag}, {args.runs} runs each, interleaved")
    print(f"{'way':>8} {'best s':>8} {'median s':>9}")
    for way in times:
        print(f"{way:>8} {best[way]:8.2f} {median[way]:9.2f}")
    ratio_best, ratio_median = best["plain"] / best["forked"], median["plain"] / median["forked"]
    print(f"plain / forked: {ratio_best:.1f}x (best), {ratio_median:.1f}x (median)")
    print(f"fork server start (once per pytest worker): {server_start:.1f} s")


if __name__ == "__main__":
    main()
