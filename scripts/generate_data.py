"""Write synthetic churn data (features and delayed labels) to the data root.

    python scripts/generate_data.py --days 60
    python scripts/generate_data.py --data-root s3://bucket/prefix --covariate-drift-from 2026-02-15

Publishes ``features/<model>/ds=D`` for each generated day and ``labels/<model>/ds=D+delay``
(labels that would arrive after the last day are left out). Partitions are replaced whole, so
re-running with the same arguments reproduces the same data. Run from the project root with
``scripts/env.sh`` sourced (it sets ``MLOPS_DATA_ROOT`` and ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

# Allow running without scripts/env.sh: make the project root importable.
_PROJECT = Path(__file__).resolve().parents[1]
if str(_PROJECT) not in sys.path:
    sys.path.insert(0, str(_PROJECT))


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from exc


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value!r}") from exc
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value!r}")
    return number


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value!r}") from exc
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Generate synthetic customer-churn features and delayed labels as daily partitions.",
    )
    parser.add_argument(
        "--data-root",
        default=os.environ.get("MLOPS_DATA_ROOT"),
        help="local directory or s3://bucket/prefix (default: $MLOPS_DATA_ROOT)",
    )
    parser.add_argument("--model", default="churn", help="model name in the partition paths (default: churn)")
    parser.add_argument("--start", type=_date, default=dt.date(2026, 1, 1), help="first day (default: 2026-01-01)")
    parser.add_argument("--days", type=_positive, default=60, help="number of days (default: 60)")
    parser.add_argument("--rows-per-day", type=_positive, default=1500, help="snapshots per day (default: 1500)")
    parser.add_argument("--customers", type=_positive, default=5000, help="customer pool size (default: 5000)")
    parser.add_argument(
        "--label-delay-days", type=_non_negative, default=7, help="days until a label arrives (default: 7)"
    )
    parser.add_argument("--covariate-drift-from", type=_date, help="feature distributions shift from this day")
    parser.add_argument("--concept-drift-from", type=_date, help="the feature -> churn relation changes from this day")
    parser.add_argument(
        "--label-noise-from", type=_date, help="flip --label-noise of the labels from this day (default: --start)"
    )
    parser.add_argument("--label-noise", type=_fraction, default=0.0, help="share of labels flipped (default: 0)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of prose")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.data_root:
        parser.error("no data root: pass --data-root or set MLOPS_DATA_ROOT (source scripts/env.sh)")
    if args.label_noise > 0 and args.label_noise_from is None:
        args.label_noise_from = args.start
    if args.rows_per_day > args.customers:
        parser.error(f"--rows-per-day ({args.rows_per_day}) cannot exceed --customers ({args.customers})")

    from include.dev.sample_data import write_sample_data
    from include.platform.storage import get_storage

    storage = get_storage(args.data_root)
    summary = write_sample_data(
        storage,
        start=args.start,
        days=args.days,
        rows_per_day=args.rows_per_day,
        customers=args.customers,
        label_delay_days=args.label_delay_days,
        covariate_drift_from=args.covariate_drift_from,
        concept_drift_from=args.concept_drift_from,
        label_noise_from=args.label_noise_from,
        label_noise=args.label_noise,
        seed=args.seed,
        model=args.model,
    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(describe(summary))
    return 0


def describe(summary: dict) -> str:
    """One paragraph for people."""
    model, root = summary["model"], summary["root"]
    text = (
        f"Wrote {summary['feature_partitions']} feature partitions ({summary['feature_rows']:,} rows, "
        f"ds={summary['feature_days'][0]}..{summary['feature_days'][-1]}) to {root}/features/{model}/"
    )
    if summary["label_partitions"]:
        rate = summary["positive_rate"]
        text += (
            f" and {summary['label_partitions']} label partitions ({summary['label_rows']:,} rows, "
            f"ds={summary['label_days'][0]}..{summary['label_days'][-1]}, {rate:.1%} churned) "
            f"to {root}/labels/{model}/"
        )
    else:
        text += "; no labels have arrived yet (every arrival day is after the last generated day)"
    options = summary["options"]
    extras = [
        f"{name.replace('_', ' ')} from {options[key]}"
        for key, name in (("covariate_drift_from", "covariate drift"), ("concept_drift_from", "concept drift"))
        if options.get(key)
    ]
    if options.get("label_noise"):
        extras.append(f"{options['label_noise']:.0%} of labels flipped from {options['label_noise_from']}")
    text += f". Seed {options['seed']}, {options['customers']:,} customers"
    text += f"; {', '.join(extras)}" if extras else "; no drift"
    text += f". Took {summary['seconds']} s; partitions are replaced whole, so re-running is safe."
    return text


if __name__ == "__main__":
    raise SystemExit(main())
