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

numpy and pandas are imported inside functions: DAG files may import this module at parse time.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Any

from include.contracts import Dataset

MODEL = "churn"
FEATURES_DATASET = Dataset.FEATURES
LABELS_DATASET = Dataset.LABELS
ENTITY_ID = "customer_id"
TIMESTAMP = "event_ts"
TARGET = "churned"

NUMERIC = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_tickets_90d",
    "avg_session_minutes",
    "days_since_last_login",
    "logins_30d",
    "data_usage_gb",
    "late_payments_12m",
    "discount_pct",
]
CATEGORIES: dict[str, list[str]] = {
    "contract_type": ["month_to_month", "one_year", "two_year"],
    "payment_method": ["card", "bank_transfer", "paypal", "check"],
    "region": ["north", "south", "east", "west"],
    "plan_tier": ["basic", "standard", "premium"],
}
CATEGORICAL = list(CATEGORIES)
FEATURE_COLUMNS = [ENTITY_ID, TIMESTAMP, *NUMERIC, *CATEGORICAL]
LABEL_COLUMNS = [ENTITY_ID, TIMESTAMP, TARGET]
CORRUPT_KINDS = ("nulls", "out_of_range", "drop_column", "bad_category")

# Tenure counts from this date: a customer's tenure grows by one month every ~30.44 days.
REFERENCE_DATE = dt.date(2026, 1, 1)
# Share of missing values per column (drawn independently per row and day).
MISSING_RATES = {
    "total_charges": 0.02,
    "avg_session_minutes": 0.03,
    "days_since_last_login": 0.02,
    "data_usage_gb": 0.04,
    "payment_method": 0.01,
}
# Intercepts calibrated (on the default pool) to ~15% positives before and after concept drift.
_INTERCEPT = -3.2
_INTERCEPT_CONCEPT = -2.75
_HIDDEN_RISK_SCALE = 0.6


def _as_date(value: Any, name: str = "day") -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{name} must be a date or YYYY-MM-DD, got {value!r}") from exc


def _maybe_date(value: Any, name: str) -> dt.date | None:
    return None if value is None else _as_date(value, name)


def _active(from_day: dt.date | None, day: dt.date) -> bool:
    return from_day is not None and day >= from_day


@functools.lru_cache(maxsize=8)
def _pool(customers: int, seed: int) -> dict[str, Any]:
    """Stable per-customer traits (cached: callers must not mutate the arrays)."""
    import numpy as np

    rng = np.random.default_rng([seed, customers, 0])
    n = customers
    t: dict[str, Any] = {"id": np.array([f"C{i:06d}" for i in range(n)], dtype=object)}
    t["contract"] = rng.choice(3, size=n, p=[0.52, 0.27, 0.21])
    # Longer contracts go with longer tenure (months as of REFERENCE_DATE).
    shape = np.array([1.2, 2.0, 3.0])[t["contract"]]
    scale = np.array([13.0, 15.0, 17.0])[t["contract"]]
    t["tenure0"] = np.clip(rng.gamma(shape, scale), 0, 118)
    t["plan"] = rng.choice(3, size=n, p=[0.42, 0.36, 0.22])
    spread = np.array([7.0, 10.0, 14.0])[t["plan"]]
    t["base_charge"] = np.clip(np.array([38.0, 72.0, 112.0])[t["plan"]] + spread * rng.normal(0, 1, n), 20, 150)
    t["payment"] = rng.choice(4, size=n, p=[0.40, 0.30, 0.20, 0.10])
    t["region"] = rng.choice(4, size=n, p=[0.30, 0.26, 0.24, 0.20])
    t["engagement"] = rng.normal(0, 1, n)
    t["support_rate"] = np.exp(-0.4 + 0.6 * rng.normal(0, 1, n) - 0.25 * t["engagement"] + 0.2 * (t["plan"] == 0))
    t["late_rate"] = np.exp(-1.3 + 0.8 * rng.normal(0, 1, n) + 0.6 * (t["payment"] == 3))
    has_discount = rng.random(n) < np.array([0.25, 0.45, 0.6])[t["contract"]]
    t["discount"] = np.where(has_discount, np.round(rng.uniform(5, 40, n) / 5) * 5, 0.0)
    usage = np.array([8.0, 22.0, 45.0])[t["plan"]]
    t["usage_scale"] = usage * np.exp(0.4 * t["engagement"] + 0.3 * rng.normal(0, 1, n))
    t["hidden_risk"] = rng.normal(0, 1, n)
    return t


def _logit(x: dict[str, Any], hidden_risk: Any, concept: bool) -> Any:
    """Log-odds of churn from the clean (pre-missingness) features."""
    import numpy as np

    contract = x["contract_type"]
    m2m = (contract == "month_to_month").astype(float)
    two_year = (contract == "two_year").astype(float)
    tenure = x["tenure_months"]
    log_tenure = np.log1p(tenure)
    tickets = np.minimum(x["support_tickets_90d"], 8)
    late = np.minimum(x["late_payments_12m"], 6)
    idle = np.log1p(x["days_since_last_login"])
    logins = x["logins_30d"]
    discount = x["discount_pct"]
    charges = x["monthly_charges"]
    check = (x["payment_method"] == "check").astype(float)
    premium = (x["plan_tier"] == "premium").astype(float)
    if not concept:
        z = (
            _INTERCEPT
            + 1.3 * m2m
            - 1.0 * two_year
            - 0.55 * (log_tenure - 2.5)
            + 0.9 * m2m * (tenure < 6)  # new month-to-month customers are the flightiest
            + 0.38 * tickets
            - 0.25 * premium * tickets  # premium support resolves tickets better
            + 0.45 * late
            + 0.75 * (idle - 1.5)
            - 0.025 * (logins - 12)
            - 0.035 * discount
            + 0.01 * (charges - 70)
            + 0.3 * check
        )
    else:
        # A competitor poaches long-contract, long-tenure customers; tickets matter less,
        # discounts no longer retain, price sensitivity rises.
        z = (
            _INTERCEPT_CONCEPT
            - 0.9 * m2m
            + 1.4 * two_year
            + 0.45 * (log_tenure - 2.5)
            + 0.1 * tickets
            + 0.2 * late
            + 0.3 * (idle - 1.5)
            + 0.02 * discount
            + 0.025 * (charges - 70)
            - 0.4 * check
        )
    return z + _HIDDEN_RISK_SCALE * hidden_risk


def _snapshot(pool: dict[str, Any], idx: Any, day: dt.date, rng: Any, covariate: bool) -> dict[str, Any]:
    """Clean feature values (no missing values yet) of the sampled customers on ``day``."""
    import numpy as np

    n = len(idx)
    p = {key: values[idx] for key, values in pool.items()}
    eng = p["engagement"]
    x: dict[str, Any] = {}
    x["tenure_months"] = np.clip(np.floor(p["tenure0"] + (day - REFERENCE_DATE).days / 30.44), 0, 120)
    monthly = np.clip(p["base_charge"] * (1 + rng.normal(0, 0.03, n)), 20, 150)
    total_noise = rng.normal(0, 0.05, n)
    first_month = rng.uniform(0.1, 1.0, n)
    x["support_tickets_90d"] = rng.poisson(p["support_rate"] * np.exp(rng.normal(0, 0.2, n))).astype(float)
    x["avg_session_minutes"] = np.round(np.clip(np.exp(3.0 + 0.35 * eng + rng.normal(0, 0.25, n)), 1, 240), 1)
    idle = np.clip(np.round(rng.exponential(np.exp(1.4 - 0.8 * eng))), 0, 90)
    logins = np.clip(rng.poisson(np.exp(2.5 + 0.5 * eng + rng.normal(0, 0.15, n))), 0, 150).astype(float)
    x["data_usage_gb"] = np.round(p["usage_scale"] * np.exp(rng.normal(0, 0.2, n)), 2)
    x["late_payments_12m"] = np.clip(rng.poisson(p["late_rate"]), 0, 12).astype(float)
    x["discount_pct"] = p["discount"].astype(float)
    for column, key in (
        ("contract_type", "contract"),
        ("payment_method", "payment"),
        ("region", "region"),
        ("plan_tier", "plan"),
    ):
        x[column] = np.array(CATEGORIES[column], dtype=object)[p[key]]
    drift_u = rng.random((2, n))
    if covariate:
        monthly *= 1.25  # a price rise
        idle = np.minimum(idle * 2, 180)  # a buggy app release: people log in less
        x["payment_method"] = np.where(drift_u[0] < 0.35, "check", x["payment_method"]).astype(object)
        x["region"] = np.where(drift_u[1] < 0.30, "south", x["region"]).astype(object)  # a push in the south
    x["monthly_charges"] = np.round(monthly, 2)
    x["days_since_last_login"] = idle.astype(float)
    x["logins_30d"] = np.where(idle > 30, 0.0, logins)  # nobody logged in in the last 30 days
    tenure = x["tenure_months"]
    total = np.where(tenure > 0, tenure * monthly * (1 + total_noise), monthly * first_month)
    x["total_charges"] = np.round(np.maximum(total, 0), 2)
    return x


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
    day = _as_date(day)
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

    pool = _pool(customers, seed)
    idx, seconds, clean, missing = _draw_features(pool, day, seed, rows_per_day, covariate)
    churned = _draw_labels(clean, pool["hidden_risk"][idx], seed, day, concept=concept, noise=noise)
    features, labels = _frames(pool["id"][idx], seconds, day, clean, missing=missing, churned=churned)
    for kind in corruptions:
        features = _corrupt(features, kind, seed, day)
    return features, labels


def _draw_features(pool: dict[str, Any], day: dt.date, seed: int, rows: int, covariate: bool) -> tuple[Any, ...]:
    """Which customers get a snapshot, when (seconds into the day), their values, what is missing."""
    import numpy as np

    # Separate streams per day and purpose, so the options never shift which numbers are drawn.
    rng = np.random.default_rng([seed, day.toordinal(), 1])
    idx = np.sort(rng.choice(len(pool["id"]), size=rows, replace=False))
    seconds = rng.integers(0, 86_400, size=rows)
    clean = _snapshot(pool, idx, day, rng, covariate)
    missing = {column: rng.random(rows) < rate for column, rate in MISSING_RATES.items()}
    return idx, seconds, clean, missing


def _draw_labels(
    clean: dict[str, Any], hidden_risk: Any, seed: int, day: dt.date, *, concept: bool, noise: float
) -> Any:
    """Churn drawn from the logistic model of the clean features; then ``noise`` of them flipped."""
    import numpy as np

    rng = np.random.default_rng([seed, day.toordinal(), 2])
    z = _logit(clean, hidden_risk, concept)
    churned = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(np.int64)
    flip = rng.random(len(z)) < noise  # drawn even when noise is 0: same stream either way
    return np.where(flip, 1 - churned, churned)


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
        out.append({"day": _as_date(spec.get("day"), "corrupt day"), "kind": kind})
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

    start = _as_date(start, "start")
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
    from include.platform.partitions import publish_frame

    began = time.perf_counter()
    start = _as_date(start, "start")
    if days < 1:
        raise ValueError(f"days must be positive, got {days!r}")
    if label_delay_days < 0:
        raise ValueError(f"label_delay_days must be >= 0, got {label_delay_days!r}")
    last = start + dt.timedelta(days=days - 1)
    options = {
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
    feature_rows = label_rows = positives = 0
    feature_days: list[str] = []
    label_days: list[str] = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        features, labels = generate_day(day, **options)
        meta = {"generator": "include.dev.sample_data", "snapshot_day": day.isoformat(), **meta_options}
        publish_frame(storage, FEATURES_DATASET, model, day, features, meta=meta)
        feature_rows += len(features)
        feature_days.append(day.isoformat())
        arrival = day + dt.timedelta(days=label_delay_days)
        if arrival <= last:
            publish_frame(storage, LABELS_DATASET, model, arrival, labels, meta=meta)
            label_rows += len(labels)
            positives += int(labels[TARGET].sum())
            label_days.append(arrival.isoformat())
    return {
        "root": storage.uri(),
        "model": model,
        "start": start.isoformat(),
        "end": (last + dt.timedelta(days=1)).isoformat(),
        "days": days,
        "feature_partitions": len(feature_days),
        "feature_rows": feature_rows,
        "feature_days": [feature_days[0], feature_days[-1]],
        "label_partitions": len(label_days),
        "label_rows": label_rows,
        "label_days": [label_days[0], label_days[-1]] if label_days else [],
        "positive_rate": round(positives / label_rows, 4) if label_rows else None,
        "options": meta_options,
        "seconds": round(time.perf_counter() - began, 2),
    }
