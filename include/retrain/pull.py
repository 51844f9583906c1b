"""Pull stage: the window's labels joined point-in-time to features (``features.py``), stored
beside the window's hold-out under ``training_prefix``."""

from __future__ import annotations

from typing import cast

from include.config import ModelConfig
from include.contracts import training_prefix
from include.platform.parquet import frame_to_parquet
from include.platform.storage import Storage
from include.retrain.features import TrainingWindow, pull_training_data
from include.retrain.payloads import PulledDataset


def dataset_key(config: ModelConfig, window_end: str) -> str:
    return f"{training_prefix(config.name, window_end)}/dataset.parquet"


def pull(storage: Storage, config: ModelConfig, window: TrainingWindow) -> PulledDataset:
    """Write the window's training data to storage; return its key and statistics."""
    frame, stats = pull_training_data(storage, config, window)
    key = dataset_key(config, stats.window_end)
    storage.write_bytes(key, frame_to_parquet(frame))
    return cast(PulledDataset, {"dataset_key": key, **stats.to_dict()})
