"""Each arm's outcomes: the predictions an A/B test published, joined to the labels that arrived.

Batch scoring publishes the challenger's score for the entities in its arm (``bucket(entity,
salt) < ab_treatment_share``) and the champion's for the rest; every row names the version that
scored it. Here the published rows of the test's dates are joined exactly to their labels
(``include.ml.performance.join_predictions_labels``) and each labelled row gives one outcome to
the arm of the version that scored it. A row whose version disagrees with its entity's arm (a
day published under another split) or that another version scored is left out and counted.

One outcome per labelled prediction: an entity scored on several days contributes several.
The tests treat outcomes as independent; with many repeat entities the bootstrap (``ab_test:
bootstrap``) is the more cautious choice (docs/deploy.md, "A/B tests").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from include.config import ModelConfig
from include.contracts import Column, Dataset
from include.ml.performance import DEFAULT_MAX_LABEL_DELAY_DAYS
from include.platform.storage import Storage


@dataclass(frozen=True)
class ArmOutcomes:
    """Per-arm outcome arrays and what was counted on the way."""

    control: Any  # numpy array: the champion's arm
    treatment: Any  # the challenger's arm
    dates: list[str]
    published: int  # rows of the test's dates scored by either version
    labelled: int  # of them, rows whose label arrived
    outside_split: int  # rows whose version disagrees with the entity's arm (left out)

    def counts(self) -> dict[str, Any]:
        return {
            "dates": self.dates,
            "published": self.published,
            "labelled": self.labelled,
            "outside_split": self.outside_split,
            "n_control": len(self.control),
            "n_treatment": len(self.treatment),
        }


def outcome_values(config: ModelConfig, joined: Any) -> Any:
    """One outcome per labelled row: 1.0/0.0 for a right/wrong class, else the absolute error."""
    import numpy as np

    target = joined[config.target].to_numpy(dtype="float64")
    if config.task == "classification":
        return (joined[Column.PREDICTION].to_numpy(dtype="float64") == target).astype("float64")
    return np.abs(joined[Column.SCORE].to_numpy(dtype="float64") - target)


def read_arm_outcomes(
    storage: Storage,
    config: ModelConfig,
    *,
    champion: str,
    challenger: str,
    salt: str,
    share: float,
    dates: list[str],
    max_label_delay_days: int = DEFAULT_MAX_LABEL_DELAY_DAYS,
) -> ArmOutcomes:
    """The outcomes of both arms on ``dates`` (the days the test published)."""
    import numpy as np
    import pandas as pd

    from include.ml.performance import join_predictions_labels
    from include.platform.assignment import in_share
    from include.platform.partitions import list_partitions, read_partition, read_range

    empty = np.empty(0)
    if not dates:
        return ArmOutcomes(empty, empty, [], 0, 0, 0)
    present = set(list_partitions(storage, Dataset.PREDICTIONS, config.name, min(dates), _after(max(dates))))
    frames = [read_partition(storage, Dataset.PREDICTIONS, config.name, ds) for ds in sorted(set(dates) & present)]
    scored = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if scored.empty:
        return ArmOutcomes(empty, empty, list(dates), 0, 0, 0)
    version = scored[Column.MODEL_VERSION].astype(str)
    scored = scored[version.isin([champion, challenger])]
    in_arm = np.asarray(in_share(scored[config.entity_id].tolist(), salt, share), dtype=bool)
    is_challenger = (scored[Column.MODEL_VERSION].astype(str) == challenger).to_numpy()
    consistent = in_arm == is_challenger
    scored = scored[consistent].assign(_treatment=is_challenger[consistent])
    end = _after(max(dates)) + dt.timedelta(days=max_label_delay_days)
    labels, _ = read_range(storage, Dataset.LABELS, config.name, min(dates), end)
    joined = join_predictions_labels(scored, labels, config) if len(labels) else scored.iloc[0:0]
    values = outcome_values(config, joined) if len(joined) else empty
    treated = joined["_treatment"].to_numpy(dtype=bool) if len(joined) else np.zeros(0, dtype=bool)
    return ArmOutcomes(
        control=values[~treated],
        treatment=values[treated],
        dates=sorted(dates),
        published=len(consistent),
        labelled=len(joined),
        outside_split=int((~consistent).sum()),
    )


def _after(ds: str) -> dt.date:
    return dt.date.fromisoformat(ds) + dt.timedelta(days=1)
