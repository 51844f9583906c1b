"""Writing to a training run in MLflow: artifacts from bytes or JSON, and batches of metrics.

MLflow is imported inside the functions: operators import the retrain modules at parse time.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from include.contracts import split_artifact
from include.platform.registry import ModelRegistry


def log_run_bytes(registry: ModelRegistry, run_id: str, artifact: str, content: bytes) -> None:
    """Log ``content`` as the artifact path ``artifact`` (e.g. ``Artifact.HEALTH_SAMPLE``)."""
    folder, name = split_artifact(artifact)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        registry.client.log_artifact(run_id, str(path), folder)


def log_run_json(registry: ModelRegistry, run_id: str, artifact: str, payload: Any) -> None:
    """Log ``payload`` as indented JSON at the artifact path ``artifact``."""
    folder, name = split_artifact(artifact)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        registry.client.log_artifact(run_id, str(path), folder)


def log_run_metrics(registry: ModelRegistry, run_id: str, values: dict[str, float]) -> None:
    """Log every number of ``values`` at once; ``None`` and NaN are left out (MLflow refuses NaN)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(k, float(v), now, 0) for k, v in values.items() if v is not None and not math.isnan(float(v))]
    registry.client.log_batch(run_id, metrics=metrics)
