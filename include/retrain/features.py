"""Feature pull: join labels to features point-in-time correct.

Training examples are the labels that *arrived* in the window (label partitions
``labels/<model>/ds`` with ``window_start <= ds < window_end``): what was known at the end of
the window, so a rerun of the same window reads the same data however many labels arrive later.
Each label gets the entity's latest feature row at or before the label's own timestamp
(``merge_asof`` backward, no older than ``max_feature_age_days``): a label never sees features
from after its timestamp.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from include.config import ModelConfig
from include.contracts import Dataset
from include.errors import FeaturePullError
from include.platform.partitions import list_partitions, not_committed_message, read_partition
from include.platform.storage import Storage


@dataclass
class TrainingWindow:
    start: dt.date
    end: dt.date  # exclusive

    @classmethod
    def ending(cls, end: dt.date | str, days: int) -> TrainingWindow:
        end = dt.date.fromisoformat(end) if isinstance(end, str) else end
        return cls(start=end - dt.timedelta(days=days), end=end)


@dataclass
class PullStats:
    window_start: str
    window_end: str
    label_partitions: list[str]
    feature_partitions: list[str]
    labels_read: int
    labels_without_features: int
    duplicates_dropped: int
    rows: int
    data_hash: str
    positive_rate: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _require_columns(frame: Any, columns: list[str], what: str, partitions: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FeaturePullError(
            f"{what} partitions {partitions[0]}..{partitions[-1]} are missing column(s) {missing} "
            f"required by the model config"
        )


def _to_utc(series: Any) -> Any:
    import pandas as pd

    out = pd.to_datetime(series, utc=True)
    return out.astype("datetime64[ns, UTC]")


def _read_partitions(storage: Storage, dataset: str, model: str, dates: list[str], columns: list[str]) -> Any:
    """Read partitions one at a time, checking columns before selecting them."""
    import pandas as pd

    frames = []
    for ds in dates:
        frame = read_partition(storage, dataset, model, ds)
        _require_columns(frame, columns, dataset, [ds])
        if len(frame):
            frames.append(frame[columns])
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def point_in_time_join(config: ModelConfig, labels: Any, features: Any) -> tuple[Any, int]:
    """Attach to each label the latest feature row at or before its timestamp.

    Returns the joined frame (label timestamp kept as the row's timestamp) and the number of
    labels that found no feature row young enough.
    """
    import pandas as pd

    key, ts = config.entity_id, config.timestamp
    labels = labels[[key, ts, config.target]].copy()
    features = features[[key, ts, *config.features.all]].copy()
    labels[ts] = _to_utc(labels[ts])
    features[ts] = _to_utc(features[ts])
    features["_feature_ts"] = features[ts]
    # Same entity and time twice in the feature feed: the last published row wins.
    features = features.drop_duplicates([key, ts], keep="last")
    joined = pd.merge_asof(
        labels.sort_values(ts, kind="stable"),
        features.sort_values(ts, kind="stable"),
        on=ts,
        by=key,
        direction="backward",  # feature_ts <= label_ts: no leakage from the future
        tolerance=pd.Timedelta(days=config.training.max_feature_age_days),
        allow_exact_matches=True,
    )
    matched = joined["_feature_ts"].notna()
    unmatched = int((~matched).sum())
    joined = joined[matched].drop(columns=["_feature_ts"]).reset_index(drop=True)
    return joined, unmatched


def dedupe_entities(config: ModelConfig, frame: Any) -> tuple[Any, int]:
    if config.training.dedupe == "none":
        return frame, 0
    key, ts = config.entity_id, config.timestamp
    deduped = frame.sort_values([key, ts], kind="stable").drop_duplicates(key, keep="last")
    return deduped.reset_index(drop=True), len(frame) - len(deduped)


def frame_hash(frame: Any) -> str:
    """Content hash independent of row order and of the parquet writer."""
    import numpy as np
    import pandas as pd

    # Sort the per-row hashes, not the rows: rows tied on any sort key (same entity and
    # timestamp with dedupe: none) would otherwise hash differently in a different order.
    row_hashes = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    digest = hashlib.sha256(row_hashes.tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def pull_training_data(storage: Storage, config: ModelConfig, window: TrainingWindow) -> tuple[Any, PullStats]:
    """Labels that arrived in the window, joined point-in-time to features."""
    model = config.name
    label_dates = list_partitions(storage, Dataset.LABELS, model, window.start, window.end)
    if not label_dates:
        raise FeaturePullError(not_committed_message(storage, Dataset.LABELS, model, window.start, window.end))
    labels = _read_partitions(
        storage, Dataset.LABELS, model, label_dates, [config.entity_id, config.timestamp, config.target]
    )
    if labels.empty:
        raise FeaturePullError(f"label partitions {label_dates[0]}..{label_dates[-1]} of {model!r} are empty")
    label_ts = _to_utc(labels[config.timestamp])
    # Features needed: from the oldest label minus the max feature age, up to the newest label.
    first = (label_ts.min() - dt.timedelta(days=config.training.max_feature_age_days)).date()
    last = label_ts.max().date() + dt.timedelta(days=1)
    feature_end = min(last, window.end)
    feature_dates = list_partitions(storage, Dataset.FEATURES, model, first, feature_end)
    if not feature_dates:
        raise FeaturePullError(not_committed_message(storage, Dataset.FEATURES, model, first, feature_end))
    features = _read_partitions(
        storage, Dataset.FEATURES, model, feature_dates, [config.entity_id, config.timestamp, *config.features.all]
    )
    joined, unmatched = point_in_time_join(config, labels, features)
    joined, dropped = dedupe_entities(config, joined)
    if joined.empty:
        raise FeaturePullError(f"no label in [{window.start}, {window.end}) found a feature row to join")
    positive_rate = None
    if config.task == "classification":
        positive_rate = float(joined[config.target].mean())
    stats = PullStats(
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        label_partitions=label_dates,
        feature_partitions=feature_dates,
        labels_read=len(labels),
        labels_without_features=unmatched,
        duplicates_dropped=dropped,
        rows=len(joined),
        data_hash=frame_hash(joined),
        positive_rate=positive_rate,
    )
    return joined, stats
