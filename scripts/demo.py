"""`make demo`: sample data -> retrain_churn through Airflow -> a summary a person can read.

Runs on the embedded default: Airflow on SQLite, MLflow on a SQLite file with local artifacts,
data under .local/data. Every step goes through the same commands a user would type.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from include.contracts import CHALLENGER_ALIAS, CHAMPION_ALIAS, Dataset

PROJECT = Path(__file__).resolve().parents[1]
AIRFLOW = [str(PROJECT / "scripts" / "airflow")]


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def run(cmd: list[str], log_name: str) -> None:
    """Run a command with its output in a log file; on failure show the log's tail."""
    log_dir = Path(os.environ["MLOPS_STATE_DIR"]) / "demo-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{log_name}.log"
    started = time.perf_counter()
    with log_path.open("w") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = log_path.read_text().splitlines()[-40:]
        print("\n".join(tail))
        sys.exit(f"demo: `{' '.join(cmd)}` failed (exit {result.returncode}); full log: {log_path}")
    print(f"    done in {elapsed:.1f}s (log: {log_path.relative_to(PROJECT)})")


def dag_test(dag_id: str, conf: dict, log_name: str | None = None) -> None:
    run([*AIRFLOW, "dags", "test", dag_id, "--conf", json.dumps(conf)], log_name or dag_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="churn")
    parser.add_argument("--start", default="2026-01-01", help="first day of sample data")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--first-window-end", default="2026-02-22", help="first training window end (exclusive)")
    parser.add_argument("--window-end", default="2026-03-01", help="second training window end (exclusive)")
    parser.add_argument("--score-from", default="2026-02-27", help="first feature partition to score")
    parser.add_argument("--score-date", default="2026-03-01", help="last feature partition to score")
    args = parser.parse_args()
    model = args.model
    started = time.perf_counter()

    step("Airflow under .local/airflow: metadata database (SQLite), deploy pool, DAGs serialised")
    run([str(PROJECT / "scripts" / "init_airflow.sh")], "airflow-init")

    # Every sample model's data (churn and the regression model delivery_time); the demo runs
    # the pipelines of --model only.
    step(f"Sample data: {args.days} days of features and delayed labels for every sample model")
    run(
        [sys.executable, "scripts/generate_data.py", "--start", args.start, "--days", str(args.days)],
        "generate-data",
    )

    step(f"retrain_{model}: first model, window ending {args.first_window_end} (becomes champion: bootstrap)")
    dag_test(f"retrain_{model}", {"window_end": args.first_window_end, "reason": "make demo"}, f"retrain_{model}-1")

    step(f"retrain_{model}: newer window ending {args.window_end} (passes its gates: challenger)")
    dag_test(f"retrain_{model}", {"window_end": args.window_end, "reason": "make demo"}, f"retrain_{model}-2")

    step(f"batch_score_{model}: ds={args.score_from}..{args.score_date} with the champion, challenger in shadow")
    dag_test(f"batch_score_{model}", {"ds": args.score_from, "ds_end": args.score_date})

    step(f"promote_{model}: challenger -> champion if its shadow evidence passes")
    dag_test(f"promote_{model}", {})

    step(f"monitor_{model}: quality, drift and live performance for ds={args.score_date}")
    dag_test(f"monitor_{model}", {"ds": args.score_date})

    summary_path = (
        Path(os.environ["MLOPS_DATA_ROOT"]) / "reports" / model / "retrain" / f"window_end={args.window_end}"
    ) / "summary.json"
    summary = json.loads(summary_path.read_text())
    print_summary(summary, summary_path, args.score_date)
    print_deploy_cycle(model)
    print_monitoring(model, args.score_date)
    print(f"\nDemo wall time: {time.perf_counter() - started:.0f}s")


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
        "Rollback is one trigger away: scripts/airflow dags test rollback_"
        f'{model} --conf \'{{"reason": "why"}}\'  (or the web UI form)'
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
    print(f"Notifications: {os.environ.get('MLOPS_NOTIFY_DIR')}/{summary['model']}.jsonl")


if __name__ == "__main__":
    main()
