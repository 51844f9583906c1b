"""Scale-out of batch scoring over Celery workers: one partition of N rows (default 20 million)
scored by the stack's ``batch_score_churn`` with one worker, then with two.

The stack is the docker compose topology started from local processes
(``tests/integration/stack/airflow_stack.py``: PostgreSQL, Redis, moto S3, an MLflow server,
Airflow's api-server, scheduler, dag-processor, triggerer and two Celery workers of one task
slot each). Every Airflow process, so every task, runs with one OpenMP/BLAS thread
(``OMP_NUM_THREADS=1``): on two cores two workers then have a core each, and the comparison is
fair. Steps:

1. the N rows are generated once (cached, as ``score_benchmark.py`` does) and uploaded to moto as
   the committed partition ``features/churn/ds=2026-03-01`` (files of 2M rows, row groups of
   100k);
2. ``retrain_churn`` makes the champion; a small ``batch_score`` run warms both workers;
3. for each worker count, the other worker stops consuming the Celery queue
   (``cancel_consumer``, as a scaled-down deployment), the partition is scored through the REST
   API, and the run's wall time (Airflow's start to end), the mapped ``score`` tasks per worker,
   the published rows and each worker's peak RSS (its whole process tree: the Celery worker, the
   task supervisor and the task process, sampled every 0.5 s) are recorded.

Prints rows per second per configuration, the speed-up, per-worker efficiency (speed-up /
workers) and the peak RSS per worker; writes ``benchmarks/results/scaleout_benchmark.json``.

    source scripts/env.sh
    python benchmarks/scaleout_benchmark.py                  # 20M rows, 1 then 2 workers
    python benchmarks/scaleout_benchmark.py --rows 2000000   # a quick look

Needs what the stack suite needs: PostgreSQL on 127.0.0.1:5432 and Redis on 6379
(``MLOPS_TEST_POSTGRES_ADMIN_URL``, ``MLOPS_TEST_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
RESULTS = ROOT / "benchmarks" / "results"
MODEL = "churn"
DS = "2026-03-01"
WARM_DAY = "2026-02-11"
TRAIN_END = "2026-02-10"
QUEUE = "default"  # Airflow's [operators] default_queue: where the Celery executor sends tasks
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class RssSampler(threading.Thread):
    """Peak resident memory of each worker's process tree, sampled every ``interval`` seconds."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.peak_tree_mb = dict.fromkeys(pids, 0.0)
        self.peak_process_mb = dict.fromkeys(pids, 0.0)
        self.peak_by_title: dict[str, float] = {}  # a task's process title holds its task instance id
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._stop_event.is_set():
            for name, pid in self.pids.items():
                try:
                    root = psutil.Process(pid)
                    tree = [root, *root.children(recursive=True)]
                    sizes = []
                    for process in tree:
                        try:
                            rss = process.memory_info().rss / 2**20
                            title = " ".join(process.cmdline())
                        except psutil.Error:
                            continue
                        sizes.append(rss)
                        self.peak_by_title[title] = max(self.peak_by_title.get(title, 0.0), rss)
                except psutil.Error:
                    continue
                self.peak_tree_mb[name] = max(self.peak_tree_mb[name], sum(sizes))
                self.peak_process_mb[name] = max(self.peak_process_mb[name], max(sizes, default=0.0))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def peak_by_task(self, tis: list[dict[str, Any]]) -> dict[str, float]:
        """Peak RSS of each task's process (``airflow worker -- <task instance id>``), by task id."""
        peaks: dict[str, float] = {}
        for ti in tis:
            mine = [mb for title, mb in self.peak_by_title.items() if ti["id"] in title]
            if mine:
                label = ti["task_id"]
                peaks[label] = round(max(peaks.get(label, 0.0), *mine))
        return peaks


def model_scoring() -> dict[str, Any]:
    """The model file's own scoring settings (units of total rows / max_parallel, streamed in
    chunk_rows), not the stack suite's small test chunks."""
    import yaml

    return yaml.safe_load((ROOT / "include" / "models" / f"{MODEL}.yaml").read_text())["scoring"]


def upload_partition(local_root: Path, storage: Any) -> dict[str, Any]:
    """The cached local partition as the committed feature partition ``DS`` on S3."""
    from include.platform.partitions import commit_partition, partition_prefix, read_manifest
    from include.platform.storage import LocalStorage

    local = LocalStorage(local_root)
    manifest = read_manifest(local, "features", MODEL, DS)
    prefix = partition_prefix("features", MODEL, DS)
    began = time.perf_counter()
    for entry in manifest.files:
        storage.write_bytes(f"{prefix}/{entry['name']}", (local_root / prefix / entry["name"]).read_bytes())
    commit_partition(storage, "features", MODEL, DS, list(manifest.files), manifest.token, {"source": "benchmark"})
    rows = sum(int(e["rows"]) for e in manifest.files)
    size_mb = sum(int(e["bytes"]) for e in manifest.files) / 1e6
    seconds = time.perf_counter() - began
    print(f"  uploaded {rows:,} rows, {len(manifest.files)} files, {size_mb:,.0f} MB in {seconds:.0f} s")
    return {"rows": rows, "files": len(manifest.files), "mb": round(size_mb, 1)}


def set_consumers(stack: Any, active: list[str]) -> None:
    """Workers in ``active`` consume the task queue, the others stop taking tasks."""
    from celery import Celery

    app = Celery(broker=stack.broker_url)
    try:
        for worker, node in stack.worker_names.items():
            if worker in active:
                app.control.add_consumer(QUEUE, destination=[node], reply=True, timeout=10)
            else:
                app.control.cancel_consumer(QUEUE, destination=[node], reply=True, timeout=10)
        queues = app.control.inspect(timeout=5).active_queues() or {}
    finally:
        app.close()
    consuming = sorted(node for node, qs in queues.items() if any(q["name"] == QUEUE for q in qs))
    wanted = sorted(stack.worker_names[w] for w in active)
    if consuming != wanted:
        raise RuntimeError(f"workers consuming {QUEUE!r}: {consuming}, wanted {wanted}")


def _seconds(start: str, end: str) -> float:
    import datetime as dt

    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def score_once(stack: Any, workers: list[str], rows: int, timeout: float) -> dict[str, Any]:
    """One batch_score run of the partition with ``workers`` consuming; its figures."""
    from include.platform.partitions import read_manifest

    set_consumers(stack, workers)
    pids = {w: stack.processes[f"worker-{w}"].pid for w in stack.worker_names}
    sampler = RssSampler(pids)
    sampler.start()
    try:
        run_id, run = stack.run_dag(
            f"batch_score_{MODEL}", {"ds": DS, "ds_end": DS}, label=f"batch_score {len(workers)} worker(s)",
            timeout=timeout,
        )  # fmt: skip
    finally:
        sampler.stop()
    tis = stack.task_instances(f"batch_score_{MODEL}", run_id)
    scores = [ti for ti in tis if ti["task_id"] == "score"]
    by_worker: dict[str, dict[str, Any]] = {}
    for ti in scores:
        worker = ti["hostname"].split("@")[0]
        entry = by_worker.setdefault(worker, {"tasks": 0, "busy_s": 0.0})
        entry["tasks"] += 1
        entry["busy_s"] += _seconds(ti["start_date"], ti["end_date"])
    published = read_manifest(stack.storage(), "predictions", MODEL, DS)
    published_rows = sum(int(e["rows"]) for e in published.files) if published else 0
    if published_rows != rows:
        raise RuntimeError(f"published {published_rows:,} rows of {rows:,}")
    wall = _seconds(run["start_date"], run["end_date"])
    first = min(ti["start_date"] for ti in scores)
    last = max(ti["end_date"] for ti in scores)
    return {
        "workers": len(workers),
        "run_id": run_id,
        "wall_s": round(wall, 1),
        "score_span_s": round(_seconds(first, last), 1),
        "rows_per_s": round(rows / wall),
        "score_tasks": len(scores),
        "by_worker": {w: {**v, "busy_s": round(v["busy_s"], 1)} for w, v in sorted(by_worker.items())},
        "peak_rss_tree_mb": {w: round(v) for w, v in sampler.peak_tree_mb.items() if w in workers},
        "peak_rss_process_mb": {w: round(v) for w, v in sampler.peak_process_mb.items() if w in workers},
        "peak_rss_by_task_mb": sampler.peak_by_task(tis),
        "other_tasks_s": {
            ti["task_id"]: round(_seconds(ti["start_date"], ti["end_date"]), 1)
            for ti in tis
            if ti["task_id"] != "score" and ti.get("start_date") and ti.get("end_date")
        },
        "published_rows": published_rows,
    }


def report(results: list[dict[str, Any]], rows: int) -> str:
    base = results[0]["rows_per_s"] / results[0]["workers"]
    lines = [
        f"{rows:,} rows, one partition, {results[0]['score_tasks']} mapped score tasks",
        "| workers | wall s | rows/s | speed-up | per-worker efficiency | score tasks per worker "
        "| peak RSS per worker (tree / largest process) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        speedup = r["rows_per_s"] / results[0]["rows_per_s"] * results[0]["workers"]
        tasks = ", ".join(f"{w} {v['tasks']} ({v['busy_s']:.0f} s busy)" for w, v in r["by_worker"].items())
        rss = ", ".join(
            f"{w} {r['peak_rss_tree_mb'][w]:,} / {r['peak_rss_process_mb'][w]:,} MB" for w in r["peak_rss_tree_mb"]
        )
        lines.append(
            f"| {r['workers']} | {r['wall_s']:.0f} | {r['rows_per_s']:,} | {speedup:.2f}x | "
            f"{speedup / r['workers']:.0%} | {tasks} | {rss} |"
        )
    lines.append(f"per-worker rate (1 worker): {base:,.0f} rows/s")
    peaks = results[-1].get("peak_rss_by_task_mb") or {}
    if peaks:
        lines.append("peak RSS of a task's process: " + ", ".join(f"{t} {mb:,.0f} MB" for t, mb in peaks.items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per scoring run")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) afterwards")
    args = parser.parse_args()
    os.environ.update(ONE_THREAD)  # inherited by every stack process

    from machine import load_avg
    from score_benchmark import ensure_dataset

    from tests.integration.stack.airflow_stack import DAG_IDS, start_stack

    print(f"data: {args.rows:,} rows (cached under benchmarks/results/cache)")
    local = ensure_dataset(args.rows, 100_000, 2_000_000)
    root = Path(tempfile.mkdtemp(prefix="mlops-scaleout-"))
    began = time.perf_counter()
    stack = start_stack(root, scoring=model_scoring())
    results: list[dict[str, Any]] = []
    try:
        print(f"stack up in {time.perf_counter() - began:.0f} s ({root})")
        for dag_id in DAG_IDS:
            stack.unpause(dag_id)
        stack.run_dag(f"retrain_{MODEL}", {"window_end": TRAIN_END, "reason": "scale-out benchmark"}, timeout=1200)
        upload = upload_partition(local, stack.storage())
        set_consumers(stack, list(stack.worker_names))
        stack.run_dag(f"batch_score_{MODEL}", {"ds": WARM_DAY, "ds_end": WARM_DAY}, label="warm-up")
        for count in args.workers:
            workers = list(stack.worker_names)[:count]
            result = score_once(stack, workers, upload["rows"], args.timeout)
            result["load_avg_after"] = load_avg()
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        stack.close()
    table = report(results, upload["rows"])
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"rows": upload["rows"], "upload": upload, "threads": ONE_THREAD, "results": results, "table": table}
    (RESULTS / "scaleout_benchmark.json").write_text(json.dumps(out, indent=2))
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
