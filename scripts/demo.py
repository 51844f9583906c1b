"""`make demo`: sample data -> the model's DAGs run by Airflow's scheduler -> a summary a person can read.

Runs on the embedded default: Airflow on SQLite, MLflow on a SQLite file with local artifacts,
data under .local/data. The demo starts Airflow's api-server, scheduler (LocalExecutor) and
dag-processor for its runs (include/dev/local_airflow.py), triggers each DAG with the same conf a
user would give in the web UI, waits for it, and stops the components again, also on Ctrl-C or
a failure. Every run and its task logs are then in `make airflow-ui`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from include.contracts import CHALLENGER_ALIAS, CHAMPION_ALIAS, Dataset
from include.dev.local_airflow import LocalAirflow, RunResult

PROJECT = Path(__file__).resolve().parents[1]
PHASES: list[tuple[str, float]] = []  # (phase, seconds) in order, for the summary
RUNS: list[tuple[str, RunResult, str]] = []  # (label, finished run, outcome)


def log_dir() -> Path:
    path = Path(os.environ["MLOPS_STATE_DIR"]) / "demo-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def phase(name: str, title: str) -> Iterator[None]:
    """A step of the demo: its title now, its time in the summary."""
    print(f"\n==> {title}", flush=True)
    started = time.perf_counter()
    try:
        yield
    finally:
        PHASES.append((name, time.perf_counter() - started))


def run(cmd: list[str], log_name: str) -> None:
    """Run a command with its output in a log file; on failure show the log's tail."""
    log_path = log_dir() / f"{log_name}.log"
    started = time.perf_counter()
    with log_path.open("w") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = log_path.read_text().splitlines()[-40:]
        print("\n".join(tail))
        sys.exit(f"demo: `{' '.join(cmd)}` failed (exit {result.returncode}); full log: {log_path}")
    print(f"    done in {elapsed:.1f}s (log: {log_path.relative_to(PROJECT)})")


def dag_run(airflow: LocalAirflow, dag_id: str, conf: dict, label: str) -> RunResult:
    """Trigger ``dag_id`` with ``conf``, print its progress, wait; a failed run ends the demo
    with its failed tasks' log tails."""
    started = time.perf_counter()
    run_id = airflow.trigger(dag_id, conf, run_id=f"demo__{label}__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    print(f"    triggered run {run_id}", flush=True)

    def progress(line: str) -> None:
        print(f"    [{time.perf_counter() - started:5.0f}s] {line}", flush=True)

    result = airflow.wait(dag_id, run_id, progress=progress)
    exit_unless_succeeded(airflow, result)
    print(f"    {result.state} in {result.seconds:.0f}s", flush=True)
    return result


def exit_unless_succeeded(airflow: LocalAirflow, result: RunResult) -> None:
    """A failed run ends the demo with its failed tasks' log tails."""
    if result.succeeded:
        return
    for ti in result.failed_tasks():
        if ti["state"] == "failed":
            print(f"--- log of {ti['task_id']} (tail) ---")
            print("\n".join(airflow.task_log(result.dag_id, result.run_id, ti).splitlines()[-40:]))
    sys.exit(f"demo: {result.dag_id} run {result.run_id} {result.state}; every task's log: make airflow-ui")


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(f"demo: stopped by signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="churn")
    parser.add_argument("--start", default="2026-01-01", help="first day of sample data")
    parser.add_argument("--days", type=int, default=62)
    parser.add_argument(
        "--drift-from", default="2026-03-02", help="covariate drift in the sample data from this day (empty: none)"
    )
    parser.add_argument("--first-window-end", default="2026-02-22", help="first training window end (exclusive)")
    parser.add_argument("--window-end", default="2026-03-01", help="second training window end (exclusive)")
    parser.add_argument("--score-from", default="2026-02-22", help="first feature partition to score")
    parser.add_argument("--score-date", default="2026-03-03", help="last feature partition to score")
    parser.add_argument(
        "--monitor-from", default="2026-02-28", help="first day to monitor (one monitor run per day to --score-date)"
    )
    args = parser.parse_args()
    model = args.model
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `finally` stops the components then too

    with phase("init", "Airflow under .local/airflow: metadata database (SQLite), deploy pool, DAGs serialised"):
        run([str(PROJECT / "scripts" / "init_airflow.sh")], "airflow-init")

    # Every sample model's data (churn and the regression model delivery_time); the demo runs
    # the pipelines of --model only.
    with phase("sample data", f"Sample data: {args.days} days of features and delayed labels for every sample model"):
        drift = ["--covariate-drift-from", args.drift_from] if args.drift_from else []
        run(
            [sys.executable, "scripts/generate_data.py", "--start", args.start, "--days", str(args.days), *drift],
            "generate-data",
        )

    airflow: LocalAirflow | None = None
    try:
        with phase("start Airflow", "Airflow api-server, scheduler (LocalExecutor) and dag-processor"):
            airflow = LocalAirflow.start(log_dir() / "airflow")
            print(f"    up (api-server {airflow.api_url}; logs: {(log_dir() / 'airflow').relative_to(PROJECT)})")
        run_dags(airflow, args)
    finally:
        if airflow is not None:
            with phase("stop Airflow", "Stopping the Airflow components (DAGs paused again)"):
                airflow.stop()

    summary_path = (
        Path(os.environ["MLOPS_DATA_ROOT"]) / "reports" / model / "retrain" / f"window_end={args.window_end}"
    ) / "summary.json"
    summary = json.loads(summary_path.read_text())
    print_summary(summary, summary_path, args.score_date)
    print_runs()
    print_deploy_cycle(model)
    print_monitoring_trend(model, monitor_days(args.monitor_from, args.score_date))
    print_monitoring(model, args.score_date)
    print("\nPhase times: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in PHASES))
    print(f"Demo wall time: {time.perf_counter() - started:.0f}s")


def run_dags(airflow: LocalAirflow, args: argparse.Namespace) -> None:
    """The demo's five runs, each through the scheduler, each with its outcome recorded."""
    model = args.model
    for label, window_end, title in (
        ("retrain-1", args.first_window_end, "first model (becomes champion: bootstrap)"),
        ("retrain-2", args.window_end, "newer window (passes its gates: challenger)"),
    ):
        with phase(label, f"retrain_{model}: {title}, window ending {window_end}"):
            result = dag_run(airflow, f"retrain_{model}", {"window_end": window_end, "reason": "make demo"}, label)
        RUNS.append((label, result, retrain_outcome(model, window_end)))

    title = f"batch_score_{model}: ds={args.score_from}..{args.score_date} with the champion, challenger in shadow"
    with phase("batch_score", title):
        result = dag_run(airflow, f"batch_score_{model}", {"ds": args.score_from, "ds_end": args.score_date}, "score")
    RUNS.append(("batch_score", result, score_outcome(model, args.score_from, args.score_date)))

    with phase("promote", f"promote_{model}: challenger -> champion if its shadow evidence passes"):
        result = dag_run(airflow, f"promote_{model}", {}, "promote")
    RUNS.append(("promote", result, promote_outcome(airflow, result)))

    days = monitor_days(args.monitor_from, args.score_date)
    title = f"monitor_{model}: quality, drift and live performance, one run per day, ds={days[0]}..{days[-1]}"
    with phase("monitor", title):
        results = queued_dag_runs(airflow, f"monitor_{model}", [{"ds": day} for day in days], "monitor")
    for day, result in zip(days, results, strict=True):
        RUNS.append((f"monitor {day[5:]}", result, monitor_outcome(model, day)))


def monitor_days(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def queued_dag_runs(airflow: LocalAirflow, dag_id: str, confs: list[dict], label: str) -> list[RunResult]:
    """Trigger one run per conf at once (the DAG runs one at a time: ``max_active_runs=1``, the
    scheduler starts the next as soon as one ends, without this script's polling in between),
    then wait for each in order; a failed run ends the demo like ``dag_run``."""
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    run_ids = [airflow.trigger(dag_id, conf, run_id=f"demo__{label}-{n}__{stamp}") for n, conf in enumerate(confs)]
    print(f"    triggered {len(run_ids)} runs, {run_ids[0]} .. {run_ids[-1]}", flush=True)
    results = []
    for run_id, conf in zip(run_ids, confs, strict=True):
        result = airflow.wait(dag_id, run_id)
        exit_unless_succeeded(airflow, result)
        print(f"    {conf} {result.state} in {result.seconds:.0f}s", flush=True)
        results.append(result)
    return results


# -- outcomes: read from the reports, manifests and XComs the runs left ----------------------------
def _read_json(key: str) -> dict:
    from include.platform.storage import get_storage

    return json.loads(get_storage().read_text(key))


def retrain_outcome(model: str, window_end: str) -> str:
    summary = _read_json(f"reports/{model}/retrain/window_end={window_end}/summary.json")
    gates = summary["gates"]
    failed = "; ".join(r["detail"] for r in gates["results"] if not r["passed"])
    return f"v{summary['version']} -> {summary['stage']}; gates " + (
        "all passed" if gates["passed"] else f"FAILED: {failed}"
    )


def score_outcome(model: str, first: str, last: str) -> str:
    from include.platform.partitions import read_manifest
    from include.platform.storage import get_storage

    storage, parts = get_storage(), []
    day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    while day <= end:
        manifest = read_manifest(storage, Dataset.PREDICTIONS, model, day.isoformat())
        if manifest is None:
            parts.append(f"{day}: not published")
        else:
            s = manifest.meta["summary"]
            shadow = s.get("shadow") or {}
            latency = shadow.get("latency_ms_per_1k")
            parts.append(
                f"{day}: {s['rows_scored']} scored, {s['rows_quarantined']} quarantined"
                + (f", shadow v{shadow['version']} {latency:.0f} ms/1k" if latency is not None else "")
            )
        day += dt.timedelta(days=1)
    return "; ".join(parts)


def promote_outcome(airflow: LocalAirflow, result: RunResult) -> str:
    """promoted (with versions) or refused with every failed criterion's numbers."""
    gathered = airflow.xcom(result.dag_id, result.run_id, "gather_evidence") or {}
    verdict = gathered.get("verdict") or {}
    if verdict.get("ready"):
        moved = airflow.xcom(result.dag_id, result.run_id, "promote")
        if not moved:
            states = {ti["task_id"]: ti["state"] for ti in result.tasks}
            return f"ready, not promoted (promote task {states.get('promote')})"
        return f"promoted v{moved['version']} to champion (was v{moved.get('previous')})"
    failed = [f"{c['name']} {c['detail']}" for c in verdict.get("criteria", []) if not c["passed"]]
    first_line = (gathered.get("summary") or "no evidence gathered").splitlines()[0]
    return "refused — " + ("; ".join(failed) if failed else first_line)


def monitor_outcome(model: str, ds: str) -> str:
    summary = _read_json(f"reports/{model}/monitor/ds={ds}/summary.json")
    return str(summary["decision"]["summary"]).splitlines()[0]


def print_runs() -> None:
    print("\nRuns (through the scheduler; each task's log in the web UI: make airflow-ui):")
    for label, result, outcome in RUNS:
        print(f"  {label:<12} {result.state:<8} {result.seconds:5.0f}s  {result.run_id}")
        print(f"               {outcome}")


def print_monitoring_trend(model: str, days: list[str]) -> None:
    """One line per monitored day: the trend the Model health view plots."""
    print(f"\nMonitoring, one run per day ({len(days)} days):")
    for day in days:
        summary = _read_json(f"reports/{model}/monitor/ds={day}/summary.json")
        drift = (summary.get("drift") or {}).get("features") or {}
        drifted = f"{drift['n_drifted']}/{drift['n_columns']} columns drifted" if drift else "no drift check"
        decision = str(summary["decision"]["summary"]).splitlines()[0]
        print(f"  {day}  {drifted:<24} {decision[:90]}")


def print_monitoring(model: str, ds: str) -> None:
    from include.platform.storage import get_storage

    storage = get_storage()
    prefix = f"reports/{model}/monitor/ds={ds}"
    summary = json.loads(storage.read_text(f"{prefix}/summary.json"))
    drift = summary["drift"]["features"] if summary.get("drift") else None
    print(f"\nMonitoring ds={ds} against champion v{summary['champion_version']}:")
    print(f"  quality: {summary['quality']['summary'].splitlines()[0]}")
    if drift:
        print(
            f"  feature drift: {drift['n_drifted']} of {drift['n_columns']} columns drifted "
            f"(dataset drift: {drift['dataset_drift']}) {drift['drifted_columns']}"
        )
    performance = summary.get("performance") or {}
    print(f"  live performance: {performance.get('message') or performance.get('detail')}")
    print(f"  decision: {summary['decision']['summary']}")
    print(f"  report: {storage.uri(prefix + '/drift_report.html')}")


def print_deploy_cycle(model: str) -> None:
    from include.platform.audit import AuditStore
    from include.platform.registry import ModelRegistry

    audit = AuditStore()
    registry = ModelRegistry(os.environ["MLFLOW_TRACKING_URI"], audit=audit)
    print("\nAudit trail (ml_deployments, newest first):")
    for row in audit.history(model)[:10]:
        print(
            f"  #{row['deployment_id']:<3} v{row['version']:<3} {row['from_stage']!s:>9} -> {row['to_stage']:<9} "
            f"{row['status']:<9} {row['reason'][:70]}"
        )
    print(f"Audit and MLflow agree: {not registry.disagreements(model)}  ({audit.safe_url})")
    print(
        f"Rollback is one trigger away: rollback_{model}'s form in the web UI (make airflow-ui), or with it "
        f'running: scripts/airflow dags trigger rollback_{model} --conf \'{{"reason": "why"}}\''
    )


def print_summary(summary: dict, summary_path: Path, score_date: str) -> None:
    from include.platform.partitions import read_manifest
    from include.platform.registry import ModelRegistry
    from include.platform.storage import get_storage

    registry = ModelRegistry(os.environ["MLFLOW_TRACKING_URI"])
    aliases = {
        alias: getattr(registry.alias_version(summary["model"], alias), "version", None)
        for alias in (CHAMPION_ALIAS, CHALLENGER_ALIAS)
    }
    print("\n" + "=" * 72)
    print(f"Model {summary['model']!r} v{summary['version']} after retraining: {summary['stage']}")
    named = {alias: f"v{v}" if v is not None else "none" for alias, v in aliases.items()}
    print(f"Aliases now: champion -> {named['champion']}, challenger -> {named['challenger']}")
    print(f"Training window {summary['window']}, {summary['rows']} rows, data hash {summary['data_hash'][:12]}")
    print("Hold-out metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in summary["metrics"].items()))
    print(f"Latency {summary['latency_ms_per_1k']:.1f} ms per 1,000 rows, model size {summary['size_mb']:.2f} MB")
    print(
        f"Gates: {'all passed' if summary['gates']['passed'] else 'FAILED: ' + ', '.join(summary['gates']['failed'])}"
    )
    for result in summary["gates"]["results"]:
        print(f"  [{'PASS' if result['passed'] else 'FAIL'}] {result['name']}: {result['detail']}")
    storage = get_storage()
    scored = read_manifest(storage, Dataset.PREDICTIONS, summary["model"], score_date)
    if scored is not None:
        s = scored.meta["summary"]
        print(
            f"\nScored ds={score_date} with v{scored.meta['model_version']}: {s['rows_scored']} rows published, "
            f"{s['rows_quarantined']} quarantined, positive share {s.get('positive_share', 0):.1%}, "
            f"median score {s.get('score_p50', float('nan')):.3f}"
        )
        where = storage.uri(f"predictions/{summary['model']}/ds={score_date}")
        print(f"Predictions:   {where}")
    print(f"\nRun summary:   {summary_path}")
    print(f"MLflow:        {summary['tracking_uri']}  (browse: make mlflow-ui -> http://127.0.0.1:5000)")
    print("Airflow UI:    make airflow-ui -> http://127.0.0.1:8080 (same state)")
    print(
        "Model health:  make airflow-ui -> http://127.0.0.1:8080/plugin/model-health (navigation: Model health): "
        "stage timeline, drift and live metric per day, scoring volume"
    )
    print(f"Notifications: {os.environ.get('MLOPS_NOTIFY_DIR')}/{summary['model']}.jsonl")


if __name__ == "__main__":
    main()
