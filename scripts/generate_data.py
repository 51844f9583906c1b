"""Write the sample models' synthetic data (features and delayed labels) to the data root.

    python scripts/generate_data.py --days 60                    # every sample model
    python scripts/generate_data.py --model delivery_time --days 30
    python scripts/generate_data.py --data-root s3://bucket/prefix --covariate-drift-from 2026-02-15

The sample models: ``churn`` (classification, include/dev/sample_data.py) and ``delivery_time``
(regression, include/dev/delivery_data.py). For each, publishes ``features/<model>/ds=D`` for
each generated day and ``labels/<model>/ds=D+delay`` (labels that would arrive after the last
day are left out). Partitions are replaced whole, so re-running with the same arguments
reproduces the same data. Run from the project root with ``scripts/env.sh`` sourced (it sets
``MLOPS_DATA_ROOT`` and ``PYTHONPATH``).
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


# Sample model -> its label delay when --label-delay-days is not given.
MODELS = {"churn": 7, "delivery_time": 2}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Generate the sample models' synthetic features and delayed labels as daily partitions.",
    )
    parser.add_argument(
        "--data-root",
        default=os.environ.get("MLOPS_DATA_ROOT"),
        help="local directory or s3://bucket/prefix (default: $MLOPS_DATA_ROOT)",
    )
    parser.add_argument(
        "--model",
        choices=["all", *MODELS],
        default="all",
        help="the sample model whose data to write (default: all of them)",
    )
    parser.add_argument("--start", type=_date, default=dt.date(2026, 1, 1), help="first day (default: 2026-01-01)")
    parser.add_argument("--days", type=_positive, default=60, help="number of days (default: 60)")
    parser.add_argument("--rows-per-day", type=_positive, default=1500, help="snapshots per day (default: 1500)")
    parser.add_argument("--customers", type=_positive, default=5000, help="churn's customer pool (default: 5000)")
    parser.add_argument(
        "--label-delay-days",
        type=_non_negative,
        help="days until a label arrives (default: 7 for churn, 2 for delivery_time)",
    )
    parser.add_argument("--covariate-drift-from", type=_date, help="feature distributions shift from this day")
    parser.add_argument("--concept-drift-from", type=_date, help="the feature -> target relation changes from this day")
    parser.add_argument(
        "--label-noise-from", type=_date, help="flip --label-noise of the labels from this day (default: --start)"
    )
    parser.add_argument(
        "--label-noise", type=_fraction, default=0.0, help="share of labels flipped or replaced (default: 0)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument(
        "--json", action="store_true", help="print the summaries as JSON (model -> summary) instead of prose"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.data_root:
        parser.error("no data root: pass --data-root or set MLOPS_DATA_ROOT (source scripts/env.sh)")
    if args.label_noise > 0 and args.label_noise_from is None:
        args.label_noise_from = args.start
    if args.model in ("all", "churn") and args.rows_per_day > args.customers:
        parser.error(f"--rows-per-day ({args.rows_per_day}) cannot exceed --customers ({args.customers})")

    from include.platform.storage import get_storage

    storage = get_storage(args.data_root)
    models = list(MODELS) if args.model == "all" else [args.model]
    summaries = {model: write_model_data(storage, model, args) for model in models}
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    print("\n".join(describe(summary) for summary in summaries.values()))
    return 0


def write_model_data(storage: object, model: str, args: argparse.Namespace) -> dict:
    """One sample model's partitions, with the options that apply to it; its summary."""
    options = {
        "start": args.start,
        "days": args.days,
        "rows_per_day": args.rows_per_day,
        "label_delay_days": MODELS[model] if args.label_delay_days is None else args.label_delay_days,
        "covariate_drift_from": args.covariate_drift_from,
        "concept_drift_from": args.concept_drift_from,
        "label_noise_from": args.label_noise_from,
        "label_noise": args.label_noise,
        "seed": args.seed,
    }
    if model == "churn":
        from include.dev.sample_data import write_sample_data

        return write_sample_data(storage, customers=args.customers, **options)
    from include.dev.delivery_data import write_delivery_data

    return write_delivery_data(storage, **options)


def describe(summary: dict) -> str:
    """One paragraph for people."""
    model, root = summary["model"], summary["root"]
    text = (
        f"Wrote {summary['feature_partitions']} feature partitions ({summary['feature_rows']:,} rows, "
        f"ds={summary['feature_days'][0]}..{summary['feature_days'][-1]}) to {root}/features/{model}/"
    )
    if summary["label_partitions"]:
        if summary.get("positive_rate") is not None:
            target = f"{summary['positive_rate']:.1%} churned"
        else:
            target = f"mean {summary['mean_target']:.1f} minutes"
        text += (
            f" and {summary['label_partitions']} label partitions ({summary['label_rows']:,} rows, "
            f"ds={summary['label_days'][0]}..{summary['label_days'][-1]}, {target}) "
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
    text += f". Seed {options['seed']}"
    text += f", {options['customers']:,} customers" if "customers" in options else ""
    text += f"; {', '.join(extras)}" if extras else "; no drift"
    text += f". Took {summary['seconds']} s; partitions are replaced whole, so re-running is safe."
    return text


if __name__ == "__main__":
    raise SystemExit(main())
