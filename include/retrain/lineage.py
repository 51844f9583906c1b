"""What a registered version was trained from, read back from its training run in MLflow.

Retrain records, on the run a version was registered from: the window and the data hash
(``Tag.WINDOW``, ``Tag.DATA_HASH``), the code version, the config hash and its snapshot
(``Tag.CONFIG_HASH``, ``Artifact.MODEL_CONFIG``, whose ``training.seed`` seeded the fit), the
library versions (``Artifact.LIBRARY_VERSIONS``), the hold-out metrics (``holdout_<metric>``)
and the hold-out scores (``Artifact.HOLDOUT_SCORES``). ``read_lineage`` gathers them for a
reproduction; a version that lacks what a retrain needs is refused naming what is missing
(``LineageError``, not retried).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from include.contracts import Artifact, Tag, split_artifact
from include.errors import LineageError, ParamError, RegistryStateError
from include.platform.registry import ModelRegistry

REQUIRED_TAGS = (Tag.WINDOW, Tag.DATA_HASH, Tag.CODE_VERSION)
REQUIRED_ARTIFACTS = (Artifact.MODEL_CONFIG, Artifact.HOLDOUT_SCORES)
METRIC_PREFIX = "holdout_"


@dataclass
class Lineage:
    """One registered version's training lineage."""

    model: str
    version: str
    run_id: str
    window_start: str
    window_end: str  # exclusive
    data_hash: str
    code_version: str
    config: dict[str, Any]  # the snapshot the run trained with
    config_hash: str | None  # the recorded tag (runs before it was recorded: None)
    seed: int | None
    holdout_scores: list[float]
    metrics: dict[str, float] = field(default_factory=dict)  # hold-out metrics, without the prefix
    libraries: dict[str, str] | None = None  # None: not recorded (runs before it was)
    rows: int | None = None  # rows of the pulled dataset


def checked_version(version: Any) -> str:
    """The ``version`` Param as a registry version number (``ParamError`` otherwise)."""
    text = str(version or "").strip().removeprefix("v")
    if not text.isdigit():
        raise ParamError(f"Param version must be a registered version number such as 3, got {version!r}")
    return text


def _artifact_paths(registry: ModelRegistry, run_id: str, paths: tuple[str, ...]) -> set[str]:
    """Which of ``paths`` the run holds."""
    found: set[str] = set()
    for folder in {split_artifact(p)[0] for p in paths}:
        found.update(a.path for a in registry.client.list_artifacts(run_id, folder))
    return found & set(paths)


def _run_of(registry: ModelRegistry, model: str, version: str) -> Any:
    """The training run of the version; refused when the version or its run does not exist."""
    try:
        registered = registry.get(model, version)
    except RegistryStateError as exc:
        raise RegistryStateError(f"{exc}: set the Param version to a version of {model!r} listed there") from exc
    if not registered.run_id:
        raise LineageError(
            f"{model} v{version} has no training run (registered outside retrain_{model}): nothing to reproduce "
            "from; pick a version that retrain registered"
        )
    return registry.client.get_run(registered.run_id)


def read_lineage(registry: ModelRegistry, model: str, version: str) -> Lineage:
    """The lineage of ``model`` v``version``; ``LineageError`` naming every missing record."""
    run = _run_of(registry, model, version)
    run_id, tags = run.info.run_id, run.data.tags
    held = _artifact_paths(registry, run_id, (*REQUIRED_ARTIFACTS, Artifact.LIBRARY_VERSIONS, Artifact.PULL_STATS))
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)] + [a for a in REQUIRED_ARTIFACTS if a not in held]
    if missing:
        raise LineageError(
            f"{model} v{version}: its training run {run_id} lacks {missing}, which a reproduction needs "
            f"(a run that did not finish retrain's train and evaluate stages); pick a version retrain completed"
        )
    start, _, end = tags[Tag.WINDOW].partition("..")
    return Lineage(
        model=model,
        version=version,
        run_id=run_id,
        window_start=start,
        window_end=end,
        data_hash=tags[Tag.DATA_HASH],
        code_version=tags[Tag.CODE_VERSION],
        config=_json(registry, run_id, Artifact.MODEL_CONFIG),
        config_hash=tags.get(Tag.CONFIG_HASH),
        seed=int(run.data.params["seed"]) if "seed" in run.data.params else None,
        holdout_scores=_scores(registry, run_id),
        metrics={k.removeprefix(METRIC_PREFIX): v for k, v in run.data.metrics.items() if k.startswith(METRIC_PREFIX)},
        libraries=_json(registry, run_id, Artifact.LIBRARY_VERSIONS) if Artifact.LIBRARY_VERSIONS in held else None,
        rows=_json(registry, run_id, Artifact.PULL_STATS).get("rows") if Artifact.PULL_STATS in held else None,
    )


def _json(registry: ModelRegistry, run_id: str, artifact: str) -> Any:
    return json.loads(registry.download_artifact(run_id, artifact).read_text())


def _scores(registry: ModelRegistry, run_id: str) -> list[float]:
    from include.contracts import Column
    from include.platform.parquet import read_parquet_frame

    frame = read_parquet_frame(registry.download_artifact(run_id, Artifact.HOLDOUT_SCORES))
    return [float(s) for s in frame[Column.SCORE]]
