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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="churn")
    parser.add_argument("--start", default="2026-01-01", help="first day of sample data")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--window-end", default="2026-03-01", help="training window end (exclusive)")
    parser.add_argument("--score-date", default="2026-03-01", help="feature partition to score")
    args = parser.parse_args()
    started = time.perf_counter()

    step("Airflow metadata database (SQLite under .local/airflow)")
    run([*AIRFLOW, "db", "migrate"], "airflow-db-migrate")

    step(f"Sample data: {args.days} days of '{args.model}' features and delayed labels")
    run(
        [sys.executable, "scripts/generate_data.py", "--start", args.start, "--days", str(args.days)],
        "generate-data",
    )

    step(f"retrain_{args.model} through Airflow (airflow dags test, window ending {args.window_end})")
    conf = json.dumps({"window_end": args.window_end, "reason": "make demo"})
    run([*AIRFLOW, "dags", "test", f"retrain_{args.model}", "--conf", conf], f"retrain_{args.model}")

    step(f"batch_score_{args.model} through Airflow (score ds={args.score_date} with the champion)")
    conf = json.dumps({"ds": args.score_date})
    run([*AIRFLOW, "dags", "test", f"batch_score_{args.model}", "--conf", conf], f"batch_score_{args.model}")

    summary_path = (
        Path(os.environ["MLOPS_DATA_ROOT"]) / "reports" / args.model / "retrain" / f"window_end={args.window_end}"
    ) / "summary.json"
    summary = json.loads(summary_path.read_text())
    print_summary(summary, summary_path, time.perf_counter() - started, args.score_date)


def print_summary(summary: dict, summary_path: Path, elapsed: float, score_date: str) -> None:
    from include.partitions import read_manifest
    from include.registry import ModelRegistry
    from include.storage import get_storage

    registry = ModelRegistry(os.environ["MLFLOW_TRACKING_URI"])
    aliases = {
        alias: getattr(registry.alias_version(summary["model"], alias), "version", None)
        for alias in ("champion", "challenger")
    }
    print("\n" + "=" * 72)
    print(f"Model {summary['model']!r}  version {summary['version']}  stage {summary['stage']}  ({summary['action']})")
    print(f"Aliases now: champion -> v{aliases['champion']}, challenger -> v{aliases['challenger']}")
    print(f"Training window {summary['window']}, {summary['rows']} rows, data hash {summary['data_hash'][:12]}")
    print("Hold-out metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in summary["metrics"].items()))
    print(f"Latency {summary['latency_ms_per_1k']:.1f} ms per 1,000 rows, model size {summary['size_mb']:.2f} MB")
    print(
        f"Gates: {'all passed' if summary['gates']['passed'] else 'FAILED: ' + ', '.join(summary['gates']['failed'])}"
    )
    for result in summary["gates"]["results"]:
        print(f"  [{'PASS' if result['passed'] else 'FAIL'}] {result['name']}: {result['detail']}")
    storage = get_storage()
    scored = read_manifest(storage, "predictions", summary["model"], score_date)
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
    print(f"Demo wall time: {elapsed:.0f}s")


if __name__ == "__main__":
    main()
