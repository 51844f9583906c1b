"""The churn simulation behind the sample data: a fixed pool of customers with latent traits,
their daily feature snapshots and the logistic churn model (before and after concept drift).

numpy is imported inside functions: DAG files may import the sample data module at parse time.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

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


@functools.lru_cache(maxsize=8)
def customer_pool(customers: int, seed: int) -> dict[str, Any]:
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


def draw_features(pool: dict[str, Any], day: dt.date, seed: int, rows: int, covariate: bool) -> tuple[Any, ...]:
    """Which customers get a snapshot, when (seconds into the day), their values, what is missing."""
    import numpy as np

    # Separate streams per day and purpose, so the options never shift which numbers are drawn.
    rng = np.random.default_rng([seed, day.toordinal(), 1])
    idx = np.sort(rng.choice(len(pool["id"]), size=rows, replace=False))
    seconds = rng.integers(0, 86_400, size=rows)
    clean = _snapshot(pool, idx, day, rng, covariate)
    missing = {column: rng.random(rows) < rate for column, rate in MISSING_RATES.items()}
    return idx, seconds, clean, missing


def draw_labels(
    clean: dict[str, Any], hidden_risk: Any, seed: int, day: dt.date, *, concept: bool, noise: float
) -> Any:
    """Churn drawn from the logistic model of the clean features; then ``noise`` of them flipped."""
    import numpy as np

    rng = np.random.default_rng([seed, day.toordinal(), 2])
    z = _logit(clean, hidden_risk, concept)
    churned = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(np.int64)
    flip = rng.random(len(z)) < noise  # drawn even when noise is 0: same stream either way
    return np.where(flip, 1 - churned, churned)
