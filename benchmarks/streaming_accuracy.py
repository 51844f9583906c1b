#!/usr/bin/env python
"""How far ``streaming.drift_from_parquet`` is from ``profile.drift_from_profile`` on the same rows.

A 1,000,000-row reference (default profile: every column below is a sketch column) and a current
window of ``--rows`` rows (default 1,000,000) of the same five distributions as the profile
module's measurements (normal, zero-inflated, Student-t(3), lognormal, Pareto(1.5)), once from the
reference distribution and once shifted by 0.1 reference std. Every test is forced on every
column (``overrides``); printed: per test and column, max |streaming score - in-memory score| over
both currents, and whether any verdict differs. ``--max-points`` below ``--rows`` downsamples the
pseudo-sample (only ``hellinger`` here uses it) as a window of more than ``max_points`` rows does.

Run from the project root:  source scripts/env.sh && python benchmarks/streaming_accuracy.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE = ROOT / "benchmarks" / "results" / "cache"
COLUMNS = ["normal", "zero_inflated", "student_t3", "lognormal", "pareto"]
TESTS = ["wasserstein", "ks", "ed", "psi", "jensenshannon", "kl_div", "t_test", "hellinger"]


def frame(n: int, seed: int, shift: dict[str, float] | None = None):
    import numpy as np
    import pandas as pd

    r = np.random.default_rng(seed)
    cols = {
        "normal": r.normal(0, 1, n),
        "zero_inflated": np.where(r.random(n) < 0.3, 0.0, r.exponential(1.0, n)),
        "student_t3": r.standard_t(3, n),
        "lognormal": r.lognormal(0, 1, n),
        "pareto": r.pareto(1.5, n) + 1.0,
    }
    return pd.DataFrame({c: v + (shift or {}).get(c, 0.0) for c, v in cols.items()})


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from include.ml.profile import build_profile
    from include.monitor.drift.profile import drift_from_profile
    from include.monitor.drift.streaming import drift_from_parquet

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--max-points", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    ref = frame(1_000_000, 0)
    prof = build_profile(ref, COLUMNS, [])
    shift = {c: 0.1 * float(np.std(ref[c])) for c in COLUMNS}
    del ref
    CACHE.mkdir(parents=True, exist_ok=True)
    currents = []
    for label, sh in (("same", None), ("shifted", shift)):
        cur = frame(args.rows, 1, sh)
        path = CACHE / f"streaming_accuracy_{label}_{args.rows}.parquet"
        cur.to_parquet(path, index=False, row_group_size=250_000)
        currents.append((cur, path))
    table: dict[str, dict[str, float]] = {}
    flips = []
    for test in TESTS:
        over = {c: {"stattest": test} for c in COLUMNS}
        row = dict.fromkeys(COLUMNS, 0.0)
        for cur, path in currents:
            exact = {c.column: c for c in drift_from_profile(prof, cur, overrides=over).columns}
            for c in drift_from_parquet(prof, path, overrides=over, max_points=args.max_points).columns:
                row[c.column] = max(row[c.column], abs(c.score - exact[c.column].score))
                if c.drifted != exact[c.column].drifted:
                    flips.append((test, c.column, exact[c.column].score, c.score))
        table[test] = row
        print(f"{test:14s} " + "  ".join(f"{k} {v:.1e}" for k, v in row.items()), flush=True)
    print(f"verdicts that differ: {flips or 'none'}")
    out = ROOT / "benchmarks" / "results" / "streaming_accuracy.json"
    summary = {"rows": args.rows, "max_points": args.max_points, "max_abs_diff": table, "flips": flips}
    out.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
