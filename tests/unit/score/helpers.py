"""Shared by the batch-scoring tests: generated feature partitions on a LocalStorage, the
plan -> score_unit -> publish path, readers of what it wrote, and a stand-in registry."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from include.dev.sample_data import generate_day
from include.ml import training
from include.platform import partitions as P
from include.platform.registry import ModelRef
from include.score.plan import plan
from include.score.publish import publish
from include.score.unit import score_unit
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW
from tests.unit.conftest import small_churn_config

MODEL = "churn"
DS, DS2, DS3 = "2026-02-02", "2026-02-03", "2026-02-04"
KEY = ["customer_id", "event_ts"]
OUTPUT_COLUMNS = [*KEY, "prediction", "score", "model_name", "model_version", "run_id", "flags"]
CUSTOMERS = 3000  # the same customer pool as training: clean scoring days pass every hard check
CHAMPION = ModelRef(MODEL, "3", "mlflow-run-champion")
CHALLENGER = ModelRef(MODEL, "4", "mlflow-run-challenger")


def make_config(estimator: dict[str, Any] | None = None, features: dict[str, Any] | None = None, **scoring_keys: Any):
    """churn.yaml with a small estimator, small chunks and 4 mapped units (overridable)."""
    sections: dict[str, Any] = {"scoring": {"chunk_rows": 500, "max_parallel": 4, **scoring_keys}}
    if features is None:
        return small_churn_config(estimator, **sections)
    return small_churn_config(estimator, replace={"features": features}, evaluation={"slice_column": None}, **sections)


@functools.lru_cache(maxsize=8)
def _day(ds: str, rows: int) -> pd.DataFrame:
    return generate_day(ds, customers=CUSTOMERS, rows_per_day=rows)[0]


def day_features(ds: str = DS, rows: int = 1500) -> pd.DataFrame:
    return _day(ds, rows).copy()


def parquet_file(frame: pd.DataFrame, row_group_rows: int | None = None) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, row_group_size=row_group_rows)
    return buffer.getvalue()


def publish_features(
    storage, ds: str, frame: pd.DataFrame, rows_per_file: int = 400, row_group_rows: int | None = None
) -> P.Manifest:
    """``frame`` as the feature partition of ``ds``: files of rows_per_file rows, each cut in
    row groups of row_group_rows rows."""
    chunks = [frame.iloc[i : i + rows_per_file] for i in range(0, len(frame), rows_per_file)] or [frame]
    return P.publish_files(storage, "features", MODEL, ds, [(parquet_file(c, row_group_rows), len(c)) for c in chunks])


def score_all(storage, config, dates, run_id, model, contract, challenger=None, canary=None):
    units = plan(storage, config, dates)
    champion = (CHAMPION, model)
    second = (CHALLENGER, challenger) if challenger is not None else None
    stats = [
        score_unit(storage, config, unit, champion, contract, run_id=run_id, challenger=second, canary=canary)
        for unit in units
    ]
    return units, stats


def run_scoring(storage, config, dates, run_id, model, contract, challenger=None, dry_run=False, canary=None):
    units, stats = score_all(storage, config, dates, run_id, model, contract, challenger, canary)
    return publish(storage, config, units, stats, contract, CHAMPION, run_id=run_id, dry_run=dry_run)


def read_sorted(storage, dataset: str, ds: str = DS) -> pd.DataFrame:
    frame = P.read_partition(storage, dataset, MODEL, ds, verify=True)
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def files_on_disk(storage, top: str = "") -> set[str]:
    """Every file under ``top``, hidden and temporary ones included (storage.list hides .tmp)."""
    base = Path(storage.root) / top
    if not base.exists():
        return set()
    return {p.relative_to(storage.root).as_posix() for p in base.rglob("*") if p.is_file()}


def output_files(storage) -> set[str]:
    return set().union(*(files_on_disk(storage, d) for d in (PREDICTIONS, QUARANTINE, SHADOW)))


def manifest_text(storage, dataset: str = PREDICTIONS, ds: str = DS) -> str:
    return storage.read_text(f"{P.partition_prefix(dataset, MODEL, ds)}/{P.MANIFEST}")


def expected_scores(model, config, rows: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(training.prepare_features(config, rows))[:, 1]


def keys(frame: pd.DataFrame) -> set[tuple]:
    return set(zip(frame["customer_id"], frame["event_ts"], strict=True))


class Version:
    """What ``ModelRegistry.alias_version`` returns: a version number and its training run."""

    def __init__(self, version: int | str, run_id: str) -> None:
        self.version, self.run_id = version, run_id


class StubRegistry:
    """Stands in for ``ModelRegistry`` (MLflow) where the test is about what scoring asks of it:
    aliases, models and contracts served from memory, every call and every run written kept."""

    def __init__(
        self,
        tmp_path: Path,
        aliases: dict[str, Version] | None = None,
        models: dict[str, Any] | None = None,
        contracts: dict[str, dict] | None = None,
    ) -> None:
        self.tmp_path, self.aliases = tmp_path, aliases or {}
        self.models, self.contracts = models or {}, contracts or {}
        self.calls: list[tuple] = []
        self.runs: dict[str, dict[str, Any]] = {}  # run key -> what the last upsert wrote

    def alias_version(self, model: str, alias: str) -> Version | None:
        self.calls.append(("alias_version", model, alias))
        return self.aliases.get(alias)

    def load_model(self, model_uri: str, trusted_types: list[str]) -> Any:
        self.calls.append(("load_model", model_uri))
        return self.models[model_uri]

    def download_artifact(self, run_id: str, path: str) -> Path:
        self.calls.append(("download_artifact", run_id, path))
        target = self.tmp_path / "artifacts" / run_id / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.contracts[run_id]))
        return target

    def experiment_id(self, model: str) -> str:
        self.calls.append(("experiment_id", model))
        return f"experiment-{model}"

    def upsert_run(self, experiment_id: str, key: str, name: str, tags: dict, metrics: dict) -> str:
        self.calls.append(("upsert_run", key))
        self.runs[key] = {"experiment": experiment_id, "name": name, "tags": tags, "metrics": metrics}
        return f"run-{len(self.runs)}"


def verify_partition(storage, dataset: str, ds: str = DS, model: str = MODEL) -> tuple[P.Manifest, pd.DataFrame]:
    """The partition is complete and verifiable: every listed file exists and matches its hash
    and row count, the manifest's total is what is read, no entity row twice, and nothing but
    the manifest and its files (no orphan, no temporary file) is left in the folder."""
    manifest = P.read_manifest(storage, dataset, model, ds)
    assert manifest is not None, f"{dataset} {ds} is not committed"
    prefix = P.partition_prefix(dataset, model, ds)
    for entry in manifest.files:
        content = storage.read_bytes(f"{prefix}/{entry['name']}")  # ObjectNotFound: listed but deleted
        assert P.sha256(content) == entry["sha256"], entry["name"]
        assert pq.ParquetFile(io.BytesIO(content)).metadata.num_rows == entry["rows"], entry["name"]
    frame = P.read_partition(storage, dataset, model, ds, verify=True)
    assert len(frame) == manifest.rows
    assert not frame.duplicated(KEY).any(), "an entity row published twice"
    listed = {f"{prefix}/{P.MANIFEST}", *(f"{prefix}/{f['name']}" for f in manifest.files)}
    assert set(storage.list(prefix)) == listed, "unlisted files left in the partition"
    if storage.local_path(prefix) and Path(storage.local_path(prefix)).is_dir():
        assert not list(Path(storage.local_path(prefix)).glob(".*.tmp")), "temporary files left"
    return manifest, frame
