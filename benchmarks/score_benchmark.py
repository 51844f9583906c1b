#!/usr/bin/env python
"""Batch scoring throughput and memory: the project's scoring path against a floor and a naive loop.

Scores N rows (default 2,000,000) of the sample ``churn`` model three ways, each in its own
subprocess so that its peak RSS (the child's own VmHWM; see ``peak_rss_mb``) belongs to that way alone:

* ``floor``   read the parquet file(s) whole with pandas, ``model.predict_proba``, write parquet:
              the least work any scorer must do (no checks, no chunking, memory grows with the file);
* ``project`` ``include.score.plan.plan`` -> ``score_unit`` for every unit -> ``publish`` on a
              LocalStorage, as the batch_score DAG runs them (here the units run one after the other in
              one process; the DAG maps them to parallel tasks);
* ``naive``   read the file with pandas and call ``predict_proba`` on a one-row frame per row; run on
              a sample (``--naive-rows``) and extrapolated to N.

Setup is not timed: N rows are generated with ``include.dev.sample_data`` (streamed, one row group of
``--row-group-rows`` at a time) into one committed feature partition ``features/churn/ds=2026-03-01``
and cached under ``benchmarks/results/cache/``; a model is trained once with the project code and
saved with skops, with its scoring contract. ``--scale-check`` also runs the project way on
``--scale-rows`` (default 10x) rows and compares its peak RSS with the 1x run. A reference "floor in
batches" (the floor streamed in ``scoring.chunk_rows`` batches) runs too unless ``--no-batched-floor``.

Run from the project root:  source scripts/env.sh && python benchmarks/score_benchmark.py
Results: printed, and written to benchmarks/results/score_benchmark.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_model, current_rss_mb, load_avg, memory_gib, peak_rss_mb  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CACHE = RESULTS / "cache"
MODEL_NAME = "churn"
DS = "2026-03-01"
RUN_ID = "benchmark__score"
DATA_VERSION = 1  # bump when the generated data changes, to invalidate the cache
FLOOR_TARGET = 0.75  # project rows/s must be at least this share of the floor's
RSS_TARGET = 1.5  # peak RSS at 10x rows within this factor of the 1x run


# -- helpers -------------------------------------------------------------------------------------
def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def machine_facts() -> dict[str, Any]:
    import numpy
    import pandas
    import pyarrow
    import sklearn
    import skops
    import threadpoolctl

    with threadpoolctl.threadpool_limits(limits=None):
        import sklearn.ensemble

        pools = {f"{p['internal_api']}": p["num_threads"] for p in threadpoolctl.threadpool_info()}
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "load_avg_start": load_avg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "threads": pools,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


# -- setup: data and model (not timed) -----------------------------------------------------------
def feature_files(data_root: Path) -> list[Path]:
    from include.platform.partitions import partition_prefix, read_manifest
    from include.platform.storage import LocalStorage

    storage = LocalStorage(data_root)
    manifest = read_manifest(storage, "features", MODEL_NAME, DS)
    prefix = partition_prefix("features", MODEL_NAME, DS)
    return [data_root / prefix / entry["name"] for entry in manifest.files]


def ensure_dataset(rows: int, row_group_rows: int, rows_per_file: int) -> Path:
    """A LocalStorage root holding one committed feature partition of ``rows`` rows (cached).

    Streams: one ``generate_day`` block of ``row_group_rows`` rows at a time becomes one row
    group, appended with a ParquetWriter; never more than one block in memory.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from include.dev import sample_data as sd
    from include.platform.partitions import commit_partition, partition_prefix
    from include.platform.storage import LocalStorage

    spec = {"version": DATA_VERSION, "rows": rows, "row_group_rows": row_group_rows, "rows_per_file": rows_per_file}
    root = CACHE / f"data-{rows}"
    marker = root / "benchmark_data.json"
    if marker.exists() and json.loads(marker.read_text()).get("spec") == spec:
        print(f"  reusing {rows:,} rows in {root}")
        return root
    shutil.rmtree(root, ignore_errors=True)
    storage = LocalStorage(root)
    prefix = partition_prefix("features", MODEL_NAME, DS)
    directory = root / prefix
    directory.mkdir(parents=True)
    token = f"bench{rows}"
    began = time.perf_counter()
    day0 = dt.date.fromisoformat(DS)
    entries: list[dict[str, Any]] = []
    schema = None
    writer = None
    file_rows = done = block = 0
    path = None

    def close_file() -> None:
        nonlocal writer, file_rows
        writer.close()
        entries.append(
            {"name": path.name, "rows": file_rows, "bytes": path.stat().st_size, "sha256": file_sha256(path)}
        )
        writer, file_rows = None, 0

    while done < rows:
        n = min(row_group_rows, rows - done)
        # Distinct days of one customer pool (rows_per_day <= customers), moved onto the
        # partition's date, with customer ids renumbered so (customer_id, event_ts) is unique.
        day = day0 - dt.timedelta(days=block)
        features, _ = sd.generate_day(day, customers=2 * row_group_rows, rows_per_day=n, seed=7)
        features[sd.ENTITY_ID] = [f"C{i:09d}" for i in range(done, done + n)]
        seconds = features[sd.TIMESTAMP] - pd.Timestamp(day, tz="UTC")
        features[sd.TIMESTAMP] = pd.Timestamp(day0, tz="UTC") + seconds
        table = pa.Table.from_pandas(features, schema=schema, preserve_index=False)
        if schema is None:
            schema = table.schema
        if writer is None:
            path = directory / f"part-{token}-{len(entries):05d}.parquet"
            writer = pq.ParquetWriter(path, schema, compression="snappy")
        writer.write_table(table, row_group_size=row_group_rows)
        file_rows += n
        done += n
        block += 1
        if file_rows >= rows_per_file:
            close_file()
        if block % 20 == 0:
            print(f"  generated {done:,}/{rows:,} rows ({time.perf_counter() - began:.0f} s)", flush=True)
    if writer is not None:
        close_file()
    meta = {"generator": "benchmarks/score_benchmark.py", **spec}
    commit_partition(storage, "features", MODEL_NAME, DS, entries, token, meta)
    seconds = time.perf_counter() - began
    marker.write_text(json.dumps({"spec": spec, "files": len(entries), "seconds": round(seconds, 1)}, indent=2))
    size = sum(e["bytes"] for e in entries) / 1e6
    print(f"  generated {rows:,} rows in {len(entries)} file(s), {size:,.0f} MB, {seconds:.0f} s -> {root}")
    return root


def ensure_model() -> tuple[Path, Path]:
    """The sample model trained with the project code on ~7,200 generated rows, saved with skops."""
    directory = CACHE / "model"
    model_path, contract_path, meta_path = (
        directory / "model.skops",
        directory / "contract.json",
        directory / "model.json",
    )
    if model_path.exists() and contract_path.exists() and meta_path.exists():
        print(f"  reusing model {model_path}")
        return model_path, contract_path
    import skops.io
    from threadpoolctl import threadpool_limits

    from include.config import get_config
    from include.dev import sample_data as sd
    from include.ml.contract import scoring_contract
    from include.ml.evaluation import holdout_metrics
    from include.ml.training import check_trusted_types, fit, split_holdout

    config = get_config(MODEL_NAME)
    began = time.perf_counter()
    features, labels = sd.generate_frames("2026-02-01", 6, customers=5000, rows_per_day=1500, seed=7)
    frame = features.assign(**{sd.TARGET: labels[sd.TARGET].to_numpy()})
    train, holdout = split_holdout(config, frame)
    with threadpool_limits(limits=2):
        model = fit(config, train)
        metrics = holdout_metrics(config, model, holdout)
    trusted = check_trusted_types(config, model)
    directory.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, model_path)
    contract_path.write_text(json.dumps(scoring_contract(config, train), indent=2))
    meta = {
        "train_rows": len(train),
        "holdout": metrics,
        "trusted_types": trusted,
        "seconds": round(time.perf_counter() - began, 1),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    print(
        f"  trained on {len(train):,} rows in {meta['seconds']} s,"
        f" hold-out roc_auc {metrics.get('roc_auc', float('nan')):.3f}"
    )
    return model_path, contract_path


def warm_cache(files: list[Path]) -> None:
    """Read the inputs once so every way starts with them in the page cache."""
    for path in files:
        with open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass


# -- workers (each runs in its own process) ------------------------------------------------------
def _load(model_path: str) -> tuple[Any, Any]:
    import skops.io

    from include.config import get_config

    config = get_config(MODEL_NAME)
    return config, skops.io.load(model_path, trusted=list(config.skops_trusted_types))


def worker_floor(args: argparse.Namespace, config: Any, model: Any) -> dict[str, Any]:
    import pandas as pd

    out = Path(args.out)
    features, key, ts = config.features.all, config.entity_id, config.timestamp
    timing = {"read_s": 0.0, "predict_s": 0.0, "write_s": 0.0}
    rows = 0
    for index, path in enumerate(feature_files(Path(args.data))):
        t0 = time.perf_counter()
        frame = pd.read_parquet(path)
        t1 = time.perf_counter()
        scores = model.predict_proba(frame[features])[:, 1]
        t2 = time.perf_counter()
        result = {key: frame[key], ts: frame[ts], "prediction": (scores >= 0.5).astype("int8"), "score": scores}
        pd.DataFrame(result).to_parquet(out / f"part-{index:05d}.parquet", index=False)
        t3 = time.perf_counter()
        rows += len(frame)
        timing["read_s"] += t1 - t0
        timing["predict_s"] += t2 - t1
        timing["write_s"] += t3 - t2
        del frame, result
    return {"rows": rows, "phases": {k: round(v, 3) for k, v in timing.items()}}


def worker_floor_batches(args: argparse.Namespace, config: Any, model: Any) -> dict[str, Any]:
    """Reference, not one of the three ways: the floor streamed in batches of scoring.chunk_rows."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    features, key, ts = config.features.all, config.entity_id, config.timestamp
    rows = 0
    for index, path in enumerate(feature_files(Path(args.data))):
        writer = None
        for batch in pq.ParquetFile(path).iter_batches(batch_size=config.scoring.chunk_rows):
            frame = batch.to_pandas()
            scores = model.predict_proba(frame[features])[:, 1]
            result = {key: frame[key], ts: frame[ts], "prediction": (scores >= 0.5).astype("int8"), "score": scores}
            table = pa.Table.from_pandas(pd.DataFrame(result), preserve_index=False)
            writer = writer or pq.ParquetWriter(Path(args.out) / f"part-{index:05d}.parquet", table.schema)
            writer.write_table(table)
            rows += len(frame)
        if writer is not None:
            writer.close()
    return {"rows": rows}


def worker_project(args: argparse.Namespace, config: Any, model: Any) -> dict[str, Any]:
    from include.platform.registry import ModelRef
    from include.platform.storage import LocalStorage
    from include.score.plan import plan
    from include.score.publish import publish
    from include.score.unit import score_unit

    storage = LocalStorage(args.data)
    contract = json.loads(Path(args.contract).read_text())
    ref = ModelRef(name=config.name, version="1", run_id="benchmark-model")
    t0 = time.perf_counter()
    units = plan(storage, config, [DS])
    t1 = time.perf_counter()
    stats = [score_unit(storage, config, unit, (ref, model), contract, run_id=RUN_ID) for unit in units]
    t2 = time.perf_counter()
    published = publish(storage, config, units, stats, contract, ref, run_id=RUN_ID)
    t3 = time.perf_counter()
    summary = published["dates"][DS]
    return {
        "rows": summary["rows_in"],
        "rows_scored": summary["rows_scored"],
        "rows_quarantined": summary["rows_quarantined"],
        "units": len(units),
        "unit_rows": [u["rows"] for u in units],
        "chunk_rows": config.scoring.chunk_rows,
        "phases": {
            "plan_s": round(t1 - t0, 3),
            "score_units_s": round(t2 - t1, 3),
            "of_which_predict_s": round(sum(s["score_seconds"] for s in stats), 3),
            "publish_s": round(t3 - t2, 3),
        },
    }


def worker_naive(args: argparse.Namespace, config: Any, model: Any) -> dict[str, Any]:
    import pandas as pd

    features = config.features.all
    path = feature_files(Path(args.data))[0]
    t0 = time.perf_counter()
    frame = pd.read_parquet(path)  # the whole file
    t1 = time.perf_counter()
    sample = min(args.naive_rows, len(frame))
    scores = []
    for i in range(sample):  # one row at a time
        scores.append(model.predict_proba(frame.iloc[i : i + 1][features])[0, 1])
    t2 = time.perf_counter()
    out = frame.iloc[:sample][[config.entity_id, config.timestamp]].assign(score=scores)
    out.to_parquet(Path(args.out) / "part-00000.parquet", index=False)
    t3 = time.perf_counter()
    per_row = (t2 - t1) / sample
    total = args.rows
    # Extrapolated to every row: each file read once, every row predicted alone.
    estimate = (t1 - t0) * total / len(frame) + per_row * total + (t3 - t2) * total / sample
    return {
        "rows": sample,
        "sampled": True,
        "file_rows": len(frame),
        "phases": {"read_s": round(t1 - t0, 3), "predict_loop_s": round(t2 - t1, 3), "write_s": round(t3 - t2, 3)},
        "ms_per_row": round(per_row * 1000, 3),
        "extrapolated_rows": total,
        "extrapolated_wall_s": round(estimate, 1),
    }


WORKERS = {
    "floor": worker_floor,
    "floor_batches": worker_floor_batches,
    "project": worker_project,
    "naive": worker_naive,
}


def run_worker(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    config, model = _load(args.model)
    loaded = time.perf_counter()
    rss_loaded = current_rss_mb()
    profiler = None
    if args.profile_out:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    result = WORKERS[args.worker](args, config, model)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile_out)
    from threadpoolctl import threadpool_info

    result.update(
        {
            "way": args.worker,
            "wall_s": round(wall, 3),
            "cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 2),
            "rows_per_s": result["rows"] / wall,
            "startup_s": round(loaded - started, 3),
            "rss_after_load_mb": rss_loaded,
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "threads": {p["internal_api"]: p["num_threads"] for p in threadpool_info()},
        }
    )
    print(json.dumps(result))


# -- orchestration -------------------------------------------------------------------------------
def cpu_busy_s() -> float | None:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait: float, max_busy: float = 0.5) -> float | None:
    """Wait (up to max_wait s) until other processes use less than max_busy cores; return their use."""
    deadline = time.monotonic() + max_wait
    waited = False
    while True:
        before = cpu_busy_s()
        if before is None:
            return None
        time.sleep(1.0)
        busy = cpu_busy_s() - before  # this process is asleep: all of it is someone else
        if busy < max_busy or time.monotonic() >= deadline:
            if waited:
                print(f"    (others now use {busy:.1f} cores)", flush=True)
            return round(busy, 2)
        if not waited:
            print(f"    other processes use {busy:.1f} cores: waiting up to {max_wait:.0f} s for a quieter machine")
            waited = True
        time.sleep(4.0)


SETTINGS: dict[str, Any] = {"max_wait": 60.0, "threads": None}  # --max-wait, --threads


def spawn(
    way: str, data: Path, model: Path, contract: Path, rows: int, naive_rows: int, profile_out: Path | None = None
) -> dict[str, Any]:
    out = CACHE / f"out-{way}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    clean_project_outputs(data)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        way,
        "--data",
        str(data),
        "--model",
        str(model),
        "--contract",
        str(contract),
        "--out",
        str(out),
        "--rows",
        str(rows),
        "--naive-rows",
        str(naive_rows),
    ]
    if profile_out:
        cmd += ["--profile-out", str(profile_out)]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if SETTINGS.get("threads"):
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(SETTINGS["threads"])
    others_before = wait_for_quiet(SETTINGS["max_wait"])
    load_before = load_avg()
    busy0, child0 = cpu_busy_s(), resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - began
    busy1, child1 = cpu_busy_s(), resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = child1.ru_utime + child1.ru_stime - child0.ru_utime - child0.ru_stime
    # Cores other processes kept busy while the worker ran (this process only waits).
    others = None if busy0 is None else round(max(busy1 - busy0 - child_cpu, 0.0) / elapsed, 2)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"worker {way} failed with exit code {proc.returncode}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(
        {
            "process_s": round(elapsed, 2),
            "load_avg_before": load_before,
            "load_avg_after": load_avg(),
            "other_cores_before": others_before,
            "other_cores_during": others,
        }
    )
    return result


def clean_project_outputs(data: Path) -> None:
    for dataset in ("predictions", "shadow_predictions", "quarantine"):
        shutil.rmtree(data / dataset, ignore_errors=True)


def check_agreement(data: Path, floor_rows: int) -> dict[str, Any]:
    """The project's published scores equal the floor's, row for row (after quarantine)."""
    import pandas as pd

    from include.platform.partitions import read_partition
    from include.platform.storage import LocalStorage

    floor = pd.read_parquet(CACHE / "out-floor", columns=["customer_id", "score"])
    project = read_partition(LocalStorage(data), "predictions", MODEL_NAME, DS, columns=["customer_id", "score"])
    joined = floor.merge(project, on="customer_id", suffixes=("_floor", "_project"))
    diff = (joined["score_floor"] - joined["score_project"]).abs()
    return {
        "floor_rows": len(floor),
        "project_rows": len(project),
        "matched_rows": len(joined),
        "max_abs_score_diff": float(diff.max()) if len(diff) else None,
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = dict(max(runs, key=lambda r: r["rows_per_s"]))
    if len(runs) > 1:
        chosen["all_wall_s"] = [r["wall_s"] for r in runs]
    return chosen


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    head = f"{'way':<28}{'rows':>12}{'wall s':>10}{'rows/s':>12}{'peak RSS MB':>13}"
    lines = [head + f"{'cpu s':>8}{'rows/cpu-s':>12}{'others':>8}"]
    for label, r in rows:
        rows_text = f"{r['rows']:,}" + ("*" if r.get("sampled") else "")
        per_cpu = "-" if r.get("extrapolated") else f"{r['rows'] / max(r['cpu_s'], 1e-9):,.0f}"
        others = "?" if r["other_cores_during"] is None else f"{r['other_cores_during']:.2f}"
        lines.append(
            f"{label:<28}{rows_text:>12}{r['wall_s']:>10.2f}{r['rows_per_s']:>12,.0f}{r['peak_rss_mb']:>13,.0f}"
            f"{r['cpu_s']:>8.1f}{per_cpu:>12}{others:>8}"
        )
    return "\n".join(lines)


def print_profile(path: Path, limit: int) -> list[dict[str, Any]]:
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt
    entries = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        where = "/".join(Path(filename).parts[-2:])
        entries.append(
            {
                "function": f"{where}:{line}({name})" if line else name,
                "calls": calls,
                "tottime": tottime,
                "cumtime": cumtime,
            }
        )
    print(f"\ncProfile of the project way (total {total:.1f} s profiled; profiling slows Python-level code)")
    for key in ("tottime", "cumtime"):
        print(f"\n  top {limit} by {key}:")
        print(f"  {'tottime':>8} {'cumtime':>8} {'calls':>9}  function")
        for e in sorted(entries, key=lambda e: -e[key])[:limit]:
            print(f"  {e['tottime']:>8.2f} {e['cumtime']:>8.2f} {e['calls']:>9}  {e['function']}")
    return sorted(entries, key=lambda e: -e["tottime"])[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows to score (default 2,000,000)")
    parser.add_argument("--naive-rows", type=int, default=2_000, help="rows the naive loop scores (extrapolated)")
    parser.add_argument("--row-group-rows", type=int, default=100_000, help="rows per parquet row group")
    parser.add_argument("--rows-per-file", type=int, default=2_000_000, help="rows per feature file")
    parser.add_argument("--repeat", type=int, default=3, help="runs of floor and project each; the fastest counts")
    parser.add_argument(
        "--no-batched-floor",
        dest="batched_floor",
        action="store_false",
        help="skip the reference floor that streams in scoring.chunk_rows batches",
    )
    parser.add_argument("--scale-check", action="store_true", help="also run the project way at --scale-rows")
    parser.add_argument("--scale-rows", type=int, default=None, help="rows for --scale-check (default 10x --rows)")
    parser.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        default="auto",
        help="cProfile the project way (auto: when it is below the floor target)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=SETTINGS["max_wait"],
        help="seconds to wait for other processes to go quiet before a run",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="OpenMP/BLAS threads in every worker (default: all cores)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "score_benchmark.json")
    # internal: run one way in this process and print its result as JSON
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--contract", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return

    SETTINGS["max_wait"], SETTINGS["threads"] = args.max_wait, args.threads
    began = time.perf_counter()
    facts = machine_facts()
    facts["worker_threads"] = args.threads or "all cores (OpenMP default)"
    print("machine: {cores} cores ({cpu}), {memory_gib} GiB, load avg {load_avg_start}".format(**facts))
    print(
        f"versions: python {facts['python']}, numpy {facts['numpy']}, pandas {facts['pandas']},"
        f" pyarrow {facts['pyarrow']}, "
        f"scikit-learn {facts['scikit-learn']}, skops {facts['skops']}; threads {facts['threads']}"
        f", OMP_NUM_THREADS={facts['OMP_NUM_THREADS']}"
    )
    print("setup (not timed):")
    model, contract = ensure_model()
    data = ensure_dataset(args.rows, args.row_group_rows, args.rows_per_file)
    files = feature_files(data)
    warm_cache(files)

    ways = ("floor", "floor_batches", "project") if args.batched_floor else ("floor", "project")
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in ways}
    for attempt in range(args.repeat):  # interleaved, so a burst of load on the machine hits every way
        for way in ways:
            run = f", run {attempt + 1}/{args.repeat}" if args.repeat > 1 else ""
            print(f"running {way} ({args.rows:,} rows{run}) ...", flush=True)
            runs[way].append(spawn(way, data, model, contract, args.rows, args.naive_rows))
            if way == "project":
                agreement = check_agreement(data, args.rows)
    floor, project = best(runs["floor"]), best(runs["project"])
    batches = best(runs["floor_batches"]) if args.batched_floor else None
    print(f"running naive ({args.naive_rows:,}-row sample, extrapolated to {args.rows:,}) ...", flush=True)
    naive = spawn("naive", data, model, contract, args.rows, args.naive_rows)
    naive_extrapolated = {
        **naive,
        "rows": args.rows,
        "wall_s": naive["extrapolated_wall_s"],
        "rows_per_s": args.rows / naive["extrapolated_wall_s"],
        "extrapolated": True,
        "sampled": False,
    }
    naive_sample = {**naive, "sampled": True}

    scale = None
    if args.scale_check:
        scale_rows = args.scale_rows or 10 * args.rows
        print(f"setup for --scale-check ({scale_rows:,} rows, not timed):")
        scale_data = ensure_dataset(scale_rows, args.row_group_rows, args.rows_per_file)
        warm_cache(feature_files(scale_data))
        print(f"running project ({scale_rows:,} rows) ...", flush=True)
        scale = spawn("project", scale_data, model, contract, scale_rows, args.naive_rows)
        clean_project_outputs(scale_data)

    speed_vs_floor = project["rows_per_s"] / floor["rows_per_s"]
    speed_vs_naive = project["rows_per_s"] / naive_extrapolated["rows_per_s"]
    lines = [
        ("floor (pandas+predict)", floor),
        ("project (plan/score/pub)", project),
        ("naive (sampled rows)", naive_sample),
        ("naive (extrapolated)", naive_extrapolated),
    ]
    if batches:
        lines.insert(2, ("(ref) floor, batches", batches))
    if scale:
        lines.append((f"project at {scale['rows'] / args.rows:.0f}x", scale))
    print()
    print(table(lines))
    print(
        f"* naive: {naive['rows']:,} rows predicted one at a time ({naive['ms_per_row']} ms/row), extrapolated to "
        f"{args.rows:,} rows with the whole-file read ({naive['phases']['read_s']} s);"
        " its peak RSS is for the sample run."
    )
    print(
        "cpu s = the worker's CPU time during the work (rows/cpu-s is less sensitive to a busy machine than rows/s);"
        " others = cores other processes kept busy during the run"
        f" (of {facts['cores']}): well above 0 means that run was slowed by them."
    )
    print(
        f"best of {args.repeat} interleaved run(s) per way (wall s of every run: "
        + ", ".join(f"{w} {[r['wall_s'] for r in rs]}" for w, rs in runs.items())
        + "); wall s = work only (after imports and model load, "
        f"floor {floor['startup_s']} s / project {project['startup_s']} s); each way in its own process; "
        "project units run sequentially in one process (the DAG maps them to parallel tasks)."
    )
    print(f"\nfloor phases:   {floor['phases']}")
    print(
        f"project phases: {project['phases']}  ({project['units']} units, chunk_rows {project['chunk_rows']:,}, "
        f"{project['rows_quarantined']:,} rows quarantined)"
    )
    if scale:
        print(f"project {scale['rows']:,} rows phases: {scale['phases']} ({scale['units']} units)")
    print(f"agreement: {agreement}")
    verdict = "met" if speed_vs_floor >= FLOOR_TARGET else "NOT met"
    print(f"\nproject / floor rows/s: {speed_vs_floor:.2f}x  (target >= {FLOOR_TARGET}: {verdict})")
    cpu_ratio = (project["rows"] / project["cpu_s"]) / (floor["rows"] / floor["cpu_s"])
    print(f"project / floor rows per CPU-second: {cpu_ratio:.2f}x")
    print(f"project / naive speed-up: {speed_vs_naive:,.0f}x")
    speed_vs_batches = project["rows_per_s"] / batches["rows_per_s"] if batches else None
    if batches:
        print(
            f"(ref) project / floor in {project['chunk_rows']:,}-row batches: {speed_vs_batches:.2f}x"
            " (the same floor streamed like the project; no target)"
        )
    rss_ratio = None
    if scale:
        rss_ratio = scale["peak_rss_mb"] / project["peak_rss_mb"]
        print(
            f"peak RSS at {scale['rows']:,} rows vs {args.rows:,}: {scale['peak_rss_mb']:,.0f} MB"
            f" / {project['peak_rss_mb']:,.0f} MB = {rss_ratio:.2f}x"
            f"  (target <= {RSS_TARGET}: {'met' if rss_ratio <= RSS_TARGET else 'NOT met'});"
            f" rows/s at scale {scale['rows_per_s']:,.0f}"
            f" ({scale['rows_per_s'] / project['rows_per_s']:.2f}x the 1x run)"
        )

    profile = None
    if args.profile == "always" or (args.profile == "auto" and speed_vs_floor < FLOOR_TARGET):
        profile_path = RESULTS / "score_benchmark_project.prof"
        print(f"\nprofiling the project way ({args.rows:,} rows) -> {profile_path} ...", flush=True)
        profiled = spawn("project", data, model, contract, args.rows, args.naive_rows, profile_out=profile_path)
        profile = {"wall_s": profiled["wall_s"], "top_by_tottime": print_profile(profile_path, 25)}
    clean_project_outputs(data)

    facts["load_avg_end"] = load_avg()
    report = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": facts,
        "args": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if v is not None and k not in {"worker", "data", "model", "contract", "out", "profile_out"}
        },
        "floor": floor,
        "floor_batches": batches,
        "project": project,
        "naive": naive,
        "naive_extrapolated_rows_per_s": naive_extrapolated["rows_per_s"],
        "agreement": agreement,
        "ratios": {
            "project_vs_floor_rows_per_s": speed_vs_floor,
            "project_vs_floor_target": FLOOR_TARGET,
            "project_vs_floor_rows_per_cpu_s": cpu_ratio,
            "project_vs_naive_speedup": speed_vs_naive,
            "project_vs_floor_batches_rows_per_s": speed_vs_batches,
        },
        "scale_check": None if scale is None else {**scale, "peak_rss_ratio_vs_1x": rss_ratio, "target": RSS_TARGET},
        "profile": profile,
        "total_seconds": round(time.perf_counter() - began, 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwrote {args.output} (total {report['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
