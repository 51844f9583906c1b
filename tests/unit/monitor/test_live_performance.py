"""Live performance is not computed on broken data or without labels; new labels are counted."""

from __future__ import annotations

import pandas as pd

from include.contracts import Dataset
from include.monitor.live_performance import check_performance, new_labels_since
from include.monitor.reference import load_reference
from include.platform.partitions import publish_frame
from include.platform.storage import LocalStorage
from tests.unit.monitor.conftest import CLEAN_DS


def test_not_computed_when_quality_failed(world) -> None:
    reference = load_reference(world.registry, world.config, CLEAN_DS)
    failed = {"rows": 0, "failed": True, "issues": [], "summary": "", "dates": []}
    assert check_performance(world.storage, world.config, reference, CLEAN_DS, quality=failed) is None  # type: ignore[arg-type]


def test_unknown_without_labelled_predictions(world) -> None:
    reference = load_reference(world.registry, world.config, CLEAN_DS)
    result = check_performance(world.storage, world.config, reference, CLEAN_DS)
    assert result == {
        "rows": 0,
        "metric": "roc_auc",
        "status": "unknown",
        "detail": "no labelled predictions in [2026-01-28, 2026-02-11)",
    }


def test_new_labels_since_counts_committed_label_partitions(tmp_path, world) -> None:
    storage = LocalStorage(tmp_path)
    for day, rows in (("2026-02-05", 3), ("2026-02-06", 4), ("2026-02-10", 5), ("2026-02-11", 6)):
        publish_frame(storage, Dataset.LABELS, world.config.name, day, pd.DataFrame({"x": range(rows)}))
    assert new_labels_since(storage, world.config, "2026-02-06", "2026-02-10") == 9
    assert new_labels_since(storage, world.config, None, "2026-02-11") == 18
