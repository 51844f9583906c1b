"""Synthetic food-delivery data for the regression sample model ``delivery_time``
(``include/models/delivery_time.yaml``): minutes from order to doorstep.

Every day D has ``rows_per_day`` orders at random times within D. An order's features are known
when it is placed (distance, basket, the kitchen's queue, the weather, the courier's vehicle,
the zone, the restaurant's kind); its label, ``delivery_minutes``, is reconciled from the
couriers' logs and published ``label_delay_days`` later, in ``labels/delivery_time/ds=D + delay``,
with the order's ``(order_id, order_ts)``: labels join to features on both columns.

The minutes follow a simple, realistic recipe: preparation time by kind of restaurant and queue,
travel time from distance and vehicle speed (slower in the centre, in the rush hours and in
rain), plus noise with a long right tail (gamma). Typical deliveries take 20 to 60 minutes.

Conventions as in ``include/dev/sample_data.py`` (the churn data): ``order_ts`` is UTC
(``datetime64[ns, UTC]``), numerics are ``float64``, categoricals strings (``None`` when
missing), and the output is a pure function of the arguments: each day draws from its own
random stream keyed by ``(seed, day)``, and the options never change which numbers are drawn,
only what is done with them (a drifted run equals the clean run before the drift day).

Options: covariate drift (longer trips and more rain: the features move, the recipe stays),
concept drift (a courier shortage: every trip slower, the features unchanged) and label noise
(a share of the labels replaced by unrelated minutes: a way to train a worse model).

numpy and pandas are imported inside functions: DAG files may import this module at parse time.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from include.dev.publishing import as_date, publish_days

MODEL = "delivery_time"
ENTITY_ID = "order_id"
TIMESTAMP = "order_ts"
TARGET = "delivery_minutes"
NUMERIC = ["distance_km", "items", "order_value", "kitchen_queue", "hour_of_day", "rain_mm"]
CATEGORIES: dict[str, list[str]] = {
    "zone": ["centre", "inner", "outer", "suburb"],
    "vehicle": ["bike", "scooter", "car"],
    "restaurant_type": ["fast_food", "casual", "fine_dining"],
}
CATEGORICAL = list(CATEGORIES)
FEATURE_COLUMNS = [ENTITY_ID, TIMESTAMP, *NUMERIC, *CATEGORICAL]
LABEL_COLUMNS = [ENTITY_ID, TIMESTAMP, TARGET]
# Share of missing values per column (drawn per row and day).
MISSING_RATES = {"rain_mm": 0.03, "kitchen_queue": 0.02, "restaurant_type": 0.01}

_PREP_MINUTES = {"fast_food": 6.0, "casual": 12.0, "fine_dining": 20.0}
_SPEED_KMH = {"bike": 14.0, "scooter": 22.0, "car": 26.0}
_ZONE_SLOWDOWN = {"centre": 1.35, "inner": 1.15, "outer": 1.0, "suburb": 0.9}
_ZONE_DISTANCE_KM = {"centre": 1.8, "inner": 3.0, "outer": 4.5, "suburb": 6.5}
# Concept drift: a courier shortage makes every trip this much slower, and adds waiting time.
_SHORTAGE_SLOWDOWN, _SHORTAGE_WAIT = 1.35, 6.0


def _hour_weights() -> Any:
    import numpy as np

    # Few orders at night, peaks at lunch (12:00) and dinner (19:00).
    hours = np.arange(24)
    return 0.2 + np.exp(-0.5 * ((hours - 12) / 1.5) ** 2) + 1.4 * np.exp(-0.5 * ((hours - 19) / 1.8) ** 2)


def _rush(hour: Any) -> Any:
    return ((hour >= 11) & (hour <= 13)) | ((hour >= 18) & (hour <= 20))


def _active(from_day: Any, day: dt.date, name: str) -> bool:
    return from_day is not None and day >= as_date(from_day, name)


def _draw(rng: Any, n: int, covariate: bool) -> dict[str, Any]:
    """The orders' features (before missing values); covariate drift moves their distribution."""
    import numpy as np

    zone = rng.choice(4, size=n, p=[0.3, 0.3, 0.25, 0.15])
    vehicle = rng.choice(3, size=n, p=[0.45, 0.35, 0.2])
    kind = rng.choice(3, size=n, p=[0.45, 0.4, 0.15])
    hour = rng.choice(24, size=n, p=_hour_weights() / _hour_weights().sum()).astype(float)
    base_km = np.array(list(_ZONE_DISTANCE_KM.values()))[zone]
    distance = rng.gamma(4.0, base_km / 4.0)
    rainy = rng.uniform(0, 1, n) < 0.25
    rain = np.where(rainy, rng.gamma(1.5, 2.0, n), 0.0)
    items = 1 + rng.poisson(2.0, n)
    value = items * rng.gamma(6.0, 2.5, n) * np.array([0.7, 1.0, 2.2])[kind]
    queue = rng.poisson(3.0 + 3.0 * _rush(hour))
    if covariate:  # longer trips (a wider delivery area) and a rainy season
        distance = distance * 1.6
        rain = rain + np.where(rainy, 3.0, 0.0)
    return {
        "distance_km": np.round(np.clip(distance, 0.2, 40.0), 2),
        "items": items.astype(float),
        "order_value": np.round(value, 2),
        "kitchen_queue": queue.astype(float),
        "hour_of_day": hour,
        "rain_mm": np.round(rain, 1),
        "zone": np.array(CATEGORIES["zone"], dtype=object)[zone],
        "vehicle": np.array(CATEGORIES["vehicle"], dtype=object)[vehicle],
        "restaurant_type": np.array(CATEGORIES["restaurant_type"], dtype=object)[kind],
    }


def _minutes(rng: Any, f: dict[str, Any], concept: bool, noise: float) -> Any:
    """Delivery minutes from the clean features (the recipe); drawn whatever the options."""
    import numpy as np

    n = len(f["distance_km"])
    prep = np.array([_PREP_MINUTES[k] for k in f["restaurant_type"]]) + 1.2 * f["kitchen_queue"] + 0.4 * f["items"]
    speed = np.array([_SPEED_KMH[v] for v in f["vehicle"]]) / np.array([_ZONE_SLOWDOWN[z] for z in f["zone"]])
    slowdown = (1.0 + 0.25 * _rush(f["hour_of_day"])) * (1.0 + 0.04 * np.minimum(f["rain_mm"], 15.0))
    travel = 60.0 * f["distance_km"] / speed * slowdown
    tail = rng.gamma(2.0, 2.5, n)  # handover, stairs, a lost courier: a long right tail
    random_minutes = rng.uniform(10.0, 90.0, n)
    flipped = rng.uniform(0, 1, n) < noise
    if concept:
        travel = travel * _SHORTAGE_SLOWDOWN + _SHORTAGE_WAIT
    minutes = 4.0 + prep + travel + tail
    return np.round(np.where(flipped, random_minutes, minutes), 1)


def generate_delivery_day(
    day: dt.date | str,
    *,
    rows_per_day: int = 1500,
    covariate_drift_from: dt.date | str | None = None,
    concept_drift_from: dt.date | str | None = None,
    label_noise_from: dt.date | str | None = None,
    label_noise: float = 0.0,
    seed: int = 7,
) -> tuple[Any, Any]:
    """One day's orders and their delivery minutes: ``(features, labels)``, sorted by order time; no I/O."""
    import numpy as np
    import pandas as pd

    day = as_date(day)
    if rows_per_day < 1:
        raise ValueError(f"rows_per_day must be positive, got {rows_per_day!r}")
    if not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"label_noise must be in [0, 1], got {label_noise!r}")
    rng = np.random.default_rng([seed, day.toordinal(), 11])
    n = rows_per_day
    clean = _draw(rng, n, _active(covariate_drift_from, day, "covariate_drift_from"))
    # Orders land in their hour of the day (a feature), at a random second within it.
    seconds = (clean["hour_of_day"] * 3600 + rng.integers(0, 3600, n)).astype("int64")
    noise = label_noise if _active(label_noise_from, day, "label_noise_from") else 0.0
    minutes = _minutes(rng, clean, _active(concept_drift_from, day, "concept_drift_from"), noise)
    missing = {c: rng.uniform(0, 1, n) < rate for c, rate in MISSING_RATES.items()}
    ids = np.array([f"O{day:%Y%m%d}{i:05d}" for i in range(n)], dtype=object)
    features = pd.DataFrame({ENTITY_ID: ids, TIMESTAMP: pd.Timestamp(day, tz="UTC") + pd.to_timedelta(seconds, "s")})
    for column in [*NUMERIC, *CATEGORICAL]:
        values = clean[column].astype(float if column in NUMERIC else object)
        blank = np.nan if column in NUMERIC else None
        features[column] = np.where(missing[column], blank, values) if column in missing else values
    order = np.lexsort((ids, seconds))
    features = features.iloc[order].reset_index(drop=True)
    labels = pd.DataFrame(
        {ENTITY_ID: features[ENTITY_ID], TIMESTAMP: features[TIMESTAMP], TARGET: minutes[order].astype("float64")}
    )
    return features, labels


def write_delivery_data(
    storage: Any,
    *,
    start: dt.date | str,
    days: int,
    rows_per_day: int = 1500,
    label_delay_days: int = 2,
    covariate_drift_from: dt.date | str | None = None,
    concept_drift_from: dt.date | str | None = None,
    label_noise_from: dt.date | str | None = None,
    label_noise: float = 0.0,
    seed: int = 7,
    model: str = MODEL,
) -> dict[str, Any]:
    """Publish ``features/<model>/ds=D`` for D in ``[start, start+days)`` and the labels in
    ``labels/<model>/ds=D+label_delay_days`` (labels arriving after the last day are not written).

    Each partition is replaced whole, so a re-run with the same arguments gives the same data.
    Returns a summary dict shaped as ``write_sample_data``'s (``mean_target`` instead of
    ``positive_rate``).
    """
    options: dict[str, Any] = {
        "rows_per_day": rows_per_day,
        "covariate_drift_from": covariate_drift_from,
        "concept_drift_from": concept_drift_from,
        "label_noise_from": label_noise_from,
        "label_noise": label_noise,
        "seed": seed,
    }
    meta_options = {k: (as_date(v, k).isoformat() if k.endswith("_from") and v else v) for k, v in options.items()}
    meta = {"generator": __name__, **meta_options}
    generate = functools.partial(generate_delivery_day, **options)
    published = publish_days(storage, model, start, days, label_delay_days, generate=generate, meta=meta, target=TARGET)
    mean = round(published.target_sum / published.label_rows, 2) if published.label_rows else None
    return {**published.summary(storage.uri(), model, meta_options), "mean_target": mean}
