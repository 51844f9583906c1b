"""Synthetic customer-churn data for the sample model ``churn`` (``include/models/churn.yaml``).

A fixed pool of customers (ids ``C000000``...) has stable latent traits: contract, plan, region,
payment method, base price, engagement, support and late-payment propensities, discount and a
hidden risk nobody observes (it keeps the problem from being trivially separable). Every day D a
sample of customers gets a feature snapshot at a random time within D; the label ("churned
within 30 days" of that snapshot) is drawn from a logistic model of the features and arrives
``label_delay_days`` later, in the labels partition of day ``D + delay``.

Conventions:

* ``event_ts`` is timezone-aware UTC (pandas ``datetime64[ns, UTC]``) in features and labels; a
  label's ``event_ts`` is exactly the ``event_ts`` of the snapshot it refers to, so labels join
  to features on ``(customer_id, event_ts)``.
* Numeric features are always ``float64`` (count-like ones hold whole numbers) so every daily
  partition has the same schema whether or not it contains nulls; categoricals are strings
  (``None`` when missing); ``churned`` is ``int64`` 0/1.
* Output is a pure function of the arguments: each day draws from its own random stream keyed
  by ``(seed, day)``, and the drift, noise and corruption options never change which random
  numbers are drawn, only what is done with them. So a drifted run equals the clean run before
  the drift day, and concept drift leaves the features bit-for-bit unchanged.

Options: covariate drift (feature distributions move, the feature -> churn relation stays),
concept drift (the relation changes, the features do not), label noise (a share of labels is
flipped: a way to train a deliberately worse model) and corruption of one day's features (for
data-validation tests).

The simulation (customer pool, daily snapshots, churn model) is ``include/dev/churn_simulation.py``;
this module turns it into frames, corrupts them on request and publishes the partitions.

numpy and pandas are imported inside functions: DAG files may import this module at parse time.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from include.contracts import Dataset
from include.dev.churn_simulation import (
    CATEGORIES,
    MISSING_RATES,
    NUMERIC,
    REFERENCE_DATE,
    customer_pool,
    draw_features,
    draw_labels,
)
from include.dev.publishing import as_date, publish_days

__all__ = [
    "CATEGORICAL",
    "CATEGORIES",
    "CORRUPT_KINDS",
    "ENTITY_ID",
    "FEATURES_DATASET",
    "FEATURE_COLUMNS",
    "LABELS_DATASET",
    "LABEL_COLUMNS",
    "MISSING_RATES",
    "MODEL",
    "NUMERIC",
    "REFERENCE_DATE",
    "TARGET",
    "TIMESTAMP",
    "generate_day",
    "generate_frames",
    "write_sample_data",
]

MODEL = "churn"
FEATURES_DATASET = Dataset.FEATURES
LABELS_DATASET = Dataset.LABELS
ENTITY_ID = "customer_id"
TIMESTAMP = "event_ts"
TARGET = "churned"

CATEGORICAL = list(CATEGORIES)
FEATURE_COLUMNS = [ENTITY_ID, TIMESTAMP, *NUMERIC, *CATEGORICAL]
LABEL_COLUMNS = [ENTITY_ID, TIMESTAMP, TARGET]
CORRUPT_KINDS = ("nulls", "out_of_range", "drop_column", "bad_category")


def _maybe_date(value: Any, name: str) -> dt.date | None:
    return None if value is None else as_date(value, name)


def _active(from_day: dt.date | None, day: dt.date) -> bool:
    return from_day is not None and day >= from_day


def generate_day(
    day: dt.date | str,
    *,
    customers: int = 5000,
    rows_per_day: int = 1500,
    covariate_drift_from: dt.date | str | None = None,
    concept_drift_from: dt.date | str | None = None,
    label_noise_from: dt.date | str | None = None,
    label_noise: float = 0.0,
    seed: int = 7,
    corrupt: dict[str, Any] | list[dict[str, Any]] | None = None,
) -> tuple[Any, Any]:
    """One day's feature snapshot and the labels for it: ``(features, labels)``; no I/O.

    ``labels`` has one row per snapshot row (same order): customer_id, event_ts, churned.
    Where the labels are published (and whether they have arrived yet) is up to the caller;
    see :func:`write_sample_data`.
    """
    day = as_date(day)
    if customers < 1 or rows_per_day < 1:
        raise ValueError("customers and rows_per_day must be positive")
    if rows_per_day > customers:
        raise ValueError(f"rows_per_day ({rows_per_day}) cannot exceed customers ({customers})")
    if not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"label_noise must be in [0, 1], got {label_noise!r}")
    covariate = _active(_maybe_date(covariate_drift_from, "covariate_drift_from"), day)
    concept = _active(_maybe_date(concept_drift_from, "concept_drift_from"), day)
    noise = label_noise if _active(_maybe_date(label_noise_from, "label_noise_from"), day) else 0.0
    corruptions = [spec["kind"] for spec in _corruptions(corrupt) if spec["day"] == day]

    pool = customer_pool(customers, seed)
    idx, seconds, clean, missing = draw_features(pool, day, seed, rows_per_day, covariate)
    churned = draw_labels(clean, pool["hidden_risk"][idx], seed, day, concept=concept, noise=noise)
    features, labels = _frames(pool["id"][idx], seconds, day, clean, missing=missing, churned=churned)
    for kind in corruptions:
        features = _corrupt(features, kind, seed, day)
    return features, labels


def _frames(
    ids: Any, seconds: Any, day: dt.date, clean: dict[str, Any], *, missing: dict[str, Any], churned: Any
) -> tuple[Any, Any]:
    """Features (with missing values) and labels, both sorted by event time."""
    import numpy as np
    import pandas as pd

    event_ts = pd.Timestamp(day, tz="UTC") + pd.to_timedelta(seconds, unit="s")
    features = pd.DataFrame({ENTITY_ID: ids, TIMESTAMP: event_ts})
    for column in [*NUMERIC, *CATEGORICAL]:
        blank = np.nan if column in NUMERIC else None
        values = clean[column].astype(float if column in NUMERIC else object)
        features[column] = np.where(missing[column], blank, values) if column in missing else values
    order = np.lexsort((ids, seconds))
    features = features.iloc[order].reset_index(drop=True)
    labels = pd.DataFrame({ENTITY_ID: features[ENTITY_ID], TIMESTAMP: features[TIMESTAMP], TARGET: churned[order]})
    return features, labels


def _corruptions(corrupt: dict[str, Any] | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if corrupt is None:
        return []
    specs = [corrupt] if isinstance(corrupt, dict) else list(corrupt)
    out = []
    for spec in specs:
        kind = spec.get("kind")
        if kind not in CORRUPT_KINDS:
            raise ValueError(f"corrupt kind must be one of {list(CORRUPT_KINDS)}, got {kind!r}")
        out.append({"day": as_date(spec.get("day"), "corrupt day"), "kind": kind})
    return out


def _corrupt(features: Any, kind: str, seed: int, day: dt.date) -> Any:
    """Bad data for validation tests, applied to one day's features (labels stay clean)."""
    import numpy as np

    rng = np.random.default_rng([seed, day.toordinal(), 3])
    features = features.copy()
    n = len(features)
    if kind == "nulls":  # half of tenure_months missing
        rows = rng.choice(n, size=n // 2, replace=False)
        features.loc[rows, "tenure_months"] = np.nan
    elif kind == "out_of_range":  # a sign bug upstream: a quarter of the charges negative
        rows = rng.choice(n, size=max(n // 4, 1), replace=False)
        features.loc[rows, "monthly_charges"] = -features.loc[rows, "monthly_charges"].abs()
    elif kind == "drop_column":
        features = features.drop(columns=["contract_type"])
    elif kind == "bad_category":  # a new contract type nobody told the model about
        rows = rng.choice(n, size=max(n // 5, 1), replace=False)
        features.loc[rows, "contract_type"] = "lifetime"
    return features


def generate_frames(start: dt.date | str, days: int, **options: Any) -> tuple[Any, Any]:
    """Features and labels of ``days`` consecutive days concatenated (all labels, arrived or not)."""
    import pandas as pd

    start = as_date(start, "start")
    pairs = [generate_day(start + dt.timedelta(days=i), **options) for i in range(days)]
    if not pairs:
        return pd.DataFrame(columns=FEATURE_COLUMNS), pd.DataFrame(columns=LABEL_COLUMNS)
    return (
        pd.concat([f for f, _ in pairs], ignore_index=True),
        pd.concat([lab for _, lab in pairs], ignore_index=True),
    )


def write_sample_data(
    storage: Any,
    *,
    start: dt.date | str,
    days: int,
    rows_per_day: int = 1500,
    customers: int = 5000,
    label_delay_days: int = 7,
    covariate_drift_from: dt.date | str | None = None,
    concept_drift_from: dt.date | str | None = None,
    label_noise_from: dt.date | str | None = None,
    label_noise: float = 0.0,
    seed: int = 7,
    model: str = MODEL,
    corrupt: dict[str, Any] | list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Publish ``features/<model>/ds=D`` for D in ``[start, start+days)`` and the labels.

    Day D's labels go to ``labels/<model>/ds=D+label_delay_days``, which then holds exactly day
    D's labels; labels arriving after the last generated day are not written (not arrived yet).
    Each partition is replaced whole, so a re-run with the same arguments gives the same data.
    Returns a summary dict.
    """
    options: dict[str, Any] = {
        "customers": customers,
        "rows_per_day": rows_per_day,
        "covariate_drift_from": _maybe_date(covariate_drift_from, "covariate_drift_from"),
        "concept_drift_from": _maybe_date(concept_drift_from, "concept_drift_from"),
        "label_noise_from": _maybe_date(label_noise_from, "label_noise_from"),
        "label_noise": label_noise,
        "seed": seed,
        "corrupt": corrupt,
    }
    meta_options = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in options.items()}
    meta_options["corrupt"] = [{"day": c["day"].isoformat(), "kind": c["kind"]} for c in _corruptions(corrupt)]
    meta = {"generator": __name__, **meta_options}
    generate = functools.partial(generate_day, **options)
    published = publish_days(storage, model, start, days, label_delay_days, generate=generate, meta=meta, target=TARGET)
    rate = round(published.target_sum / published.label_rows, 4) if published.label_rows else None
    return {**published.summary(storage.uri(), model, meta_options), "positive_rate": rate}
