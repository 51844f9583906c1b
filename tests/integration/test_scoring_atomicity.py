"""Batch scoring atomicity with real services and real crashes.

(a) plan -> score_unit -> publish and a rerun against a real moto S3 server; a failed publish
    there leaves the previous partition and no files of its own.
(b) a scoring process SIGKILLed while it writes leaves no visible partial output (readers see
    exactly the previous version), and the retry (same run id, as Airflow retries) succeeds
    and removes the killed attempt's files.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from threadpoolctl import threadpool_limits

from include.config import parse_config
from include.dev.sample_data import generate_day, generate_frames
from include.errors import ScoringInputError
from include.ml import training
from include.ml.contract import scoring_contract
from include.platform import partitions as P
from include.platform.registry import ModelRef
from include.platform.storage import LocalStorage
from include.score.plan import plan
from include.score.publish import publish
from include.score.unit import score_unit
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW, run_token

PROJECT = Path(__file__).resolve().parents[2]
CHURN = yaml.safe_load((PROJECT / "include" / "models" / "churn.yaml").read_text())
MODEL, DS = "churn", "2026-02-02"
KEY = ["customer_id", "event_ts"]
CHAMPION = ModelRef(MODEL, "3", "mlflow-run-champion")
BIG_ROWS = 200_000


def config_data(**scoring_keys: Any) -> dict[str, Any]:
    data = copy.deepcopy(CHURN)
    data["estimator"]["params"]["max_iter"] = 30
    data["scoring"].update({"chunk_rows": 500, "max_parallel": 4, **scoring_keys})
    return data


@pytest.fixture(scope="module")
def trained():
    """(config, model, contract): a small real model on generated data."""
    config = parse_config(config_data(), source="test/churn.yaml")
    features, labels = generate_frames("2026-01-01", 8, customers=3000, rows_per_day=400)
    frame = features.assign(churned=labels["churned"])
    with threadpool_limits(1):
        model = training.fit(config, frame)
    return config, model, scoring_contract(config, frame)


def run_scoring(storage, config, model, contract, run_id: str, dates=(DS,)) -> dict[str, Any]:
    with threadpool_limits(1):
        units = plan(storage, config, list(dates))
        stats = [score_unit(storage, config, u, (CHAMPION, model), contract, run_id=run_id) for u in units]
        return publish(storage, config, units, stats, contract, CHAMPION, run_id=run_id)


def read_sorted(storage, dataset: str = PREDICTIONS) -> pd.DataFrame:
    frame = P.read_partition(storage, dataset, MODEL, DS, verify=True)
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def manifest_text(storage) -> str:
    return storage.read_text(f"{P.partition_prefix(PREDICTIONS, MODEL, DS)}/{P.MANIFEST}")


def output_keys(storage) -> set[str]:
    return {k for d in (PREDICTIONS, QUARANTINE, SHADOW) for k in storage.list(d)}


# -- (a) S3 ----------------------------------------------------------------------------------------
def test_score_publish_and_rerun_on_s3(s3_storage, trained, tmp_path, monkeypatch):
    # S3 parts are staged in the system temp dir: point it at tmp_path to see what is left there.
    staging = tmp_path / "staging"
    staging.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging))
    config, model, contract = trained
    storage = s3_storage
    frame = generate_day(DS, customers=3000, rows_per_day=1500)[0]
    P.publish_frame(storage, "features", MODEL, DS, frame, rows_per_file=400)

    result = run_scoring(storage, config, model, contract, "scheduled__s3")
    first = read_sorted(storage)
    assert result["dates"][DS]["rows_scored"] == len(first) == 1500
    assert list(first.columns) == [*KEY, "prediction", "score", "model_name", "model_version", "run_id", "flags"]
    assert not first.duplicated(KEY).any()
    rows = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    expected = model.predict_proba(training.prepare_features(config, rows))[:, 1]
    np.testing.assert_allclose(first["score"].to_numpy(), expected, rtol=1e-12)
    meta = P.read_manifest(storage, PREDICTIONS, MODEL, DS).meta
    assert meta["model_version"] == CHAMPION.version
    assert [i["sha256"] for i in meta["inputs"]] == [P.sha256(storage.read_bytes(i["key"])) for i in meta["inputs"]]

    run_scoring(storage, config, model, contract, "manual__s3_rerun")
    second = read_sorted(storage)
    pd.testing.assert_frame_equal(first.drop(columns="run_id"), second.drop(columns="run_id"))
    assert set(second["run_id"]) == {"manual__s3_rerun"}
    old = run_token("scheduled__s3")
    assert not [k for k in storage.list(PREDICTIONS) if old in k]
    manifest = P.read_manifest(storage, PREDICTIONS, MODEL, DS)
    prefix = P.partition_prefix(PREDICTIONS, MODEL, DS)
    assert storage.list(PREDICTIONS) == sorted(
        [f"{prefix}/{P.MANIFEST}", *(f"{prefix}/{f['name']}" for f in manifest.files)]
    )

    # A failing run on S3: nothing published, previous version intact, its own files gone.
    before_text, before_keys = manifest_text(storage), output_keys(storage)
    bad = generate_day(DS, customers=3000, rows_per_day=1500, corrupt={"day": DS, "kind": "bad_category"})[0]
    P.publish_frame(storage, "features", MODEL, DS, bad, rows_per_file=400)
    strict = parse_config(config_data(unseen_category="quarantine"), source="test/churn.yaml")
    with pytest.raises(ScoringInputError, match="nothing published"):
        run_scoring(storage, strict, model, contract, "scheduled__s3_bad")
    assert manifest_text(storage) == before_text
    assert output_keys(storage) == before_keys
    pd.testing.assert_frame_equal(read_sorted(storage), second)
    assert not list(staging.iterdir()), "staged part files left in the temp dir"


# -- (b) SIGKILL while writing ---------------------------------------------------------------------
SCORER = """
import json, pickle, sys
from threadpoolctl import threadpool_limits
from include.score.plan import plan
from include.score.publish import publish
from include.score.unit import score_unit
from include.config import parse_config
from include.platform.registry import ModelRef
from include.platform.storage import LocalStorage

args = json.loads(open(sys.argv[1]).read())
config = parse_config(args["config"], source="test/churn.yaml")
with open(args["model"], "rb") as handle:
    model = pickle.load(handle)
storage, ref = LocalStorage(args["root"]), ModelRef(**args["champion"])
with threadpool_limits(1):
    units = plan(storage, config, [args["ds"]])
    print("planned", len(units), flush=True)
    stats = [
        score_unit(storage, config, u, (ref, model), args["contract"], run_id=args["run_id"])
        for u in units
    ]
    publish(storage, config, units, stats, args["contract"], ref, run_id=args["run_id"])
print("published", flush=True)
"""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed or removed since it was listed
        return 0


@pytest.fixture(scope="module")
def killed_run(trained, tmp_path_factory):
    """A previous version published, then a scorer SIGKILLed mid-write, then the retry."""
    _, model, contract = trained
    # Nothing quarantined (range_tolerance): this test is about files, not about checks.
    data = config_data(chunk_rows=2000, max_parallel=4, range_tolerance=100)
    config = parse_config(data, source="test/churn.yaml")
    work = tmp_path_factory.mktemp("killed")
    storage = LocalStorage(work / "data")
    state: dict[str, Any] = {"storage": storage, "config": config}

    previous = generate_day(DS, customers=3000, rows_per_day=2000)[0]
    P.publish_frame(storage, "features", MODEL, DS, previous, rows_per_file=500)
    run_scoring(storage, config, model, contract, "scheduled__previous")
    state["previous"] = read_sorted(storage)
    state["previous_manifest"] = manifest_text(storage)

    big = generate_day(DS, customers=BIG_ROWS, rows_per_day=BIG_ROWS)[0]
    P.publish_frame(storage, "features", MODEL, DS, big, rows_per_file=25_000)
    state["big"] = big

    killed_id = "scheduled__killed"
    token = state["killed_token"] = run_token(killed_id)
    model_path = work / "model.pkl"
    model_path.write_bytes(pickle.dumps(model))
    args = {
        "config": data,
        "model": str(model_path),
        "root": storage.root,
        "champion": vars(CHAMPION),
        "contract": contract,
        "ds": DS,
        "run_id": killed_id,
    }
    (work / "args.json").write_text(json.dumps(args))
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "OMP_NUM_THREADS": "1"}
    log = work / "scorer.log"
    predictions_dir = Path(storage.local_path(P.partition_prefix(PREDICTIONS, MODEL, DS)))
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SCORER, str(work / "args.json")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(work),
            start_new_session=True,
        )
    try:
        # Wait until the scorer has finished a part file (unit 0) and has written into the
        # temporary file of the next one: a kill in the middle of writing.
        deadline = time.monotonic() + 40
        while not (
            list(predictions_dir.glob(f"part-{token}-*.parquet"))
            and any(_size(p) > 0 for p in predictions_dir.glob(f".part-{token}-*.tmp"))
        ):
            assert process.poll() is None, f"scorer exited early ({process.returncode}):\n{log.read_text()}"
            assert time.monotonic() < deadline, f"scorer wrote nothing in 40 s:\n{log.read_text()}"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, f"the scorer was not killed mid-run:\n{log.read_text()}"
    state["log"] = log.read_text()
    state["after_kill"] = {p.name for p in predictions_dir.iterdir()}
    state["after_kill_manifest"] = manifest_text(storage)
    state["after_kill_frame"] = read_sorted(storage)
    state["after_kill_quarantine"] = P.read_manifest(storage, QUARANTINE, MODEL, DS)

    started = time.monotonic()
    # The Airflow retry of the killed task: the same run id. (Another run's files are never
    # deleted while recent: they may be an overlapping run's unpublished output; a dead run's
    # files go once older than partitions.ORPHAN_AGE, see tests/unit/platform/test_storage.py.)
    state["retry"] = run_scoring(storage, config, model, contract, killed_id)
    state["retry_seconds"] = time.monotonic() - started
    root = Path(storage.root)
    state["files_after_retry"] = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return state


def test_a_killed_run_leaves_no_visible_output_and_the_retry_succeeds(killed_run):
    state, storage = killed_run, killed_run["storage"]
    token = state["killed_token"]
    assert "published" not in state["log"]
    # The kill really happened mid-write: a finished part and an open temporary file on disk.
    assert any(n.startswith(f"part-{token}-") and n.endswith(".parquet") for n in state["after_kill"])
    assert any(n.startswith(f".part-{token}-") and n.endswith(".tmp") for n in state["after_kill"])

    # Readers saw exactly the previous version.
    assert state["after_kill_manifest"] == state["previous_manifest"]
    pd.testing.assert_frame_equal(state["after_kill_frame"], state["previous"])
    assert len(state["previous"]) == 2000
    assert state["after_kill_quarantine"] is None

    # The retry (same run id) published the whole big partition once.
    summary = state["retry"]["dates"][DS]
    assert summary["rows_in"] == summary["rows_scored"] == BIG_ROWS
    out = read_sorted(storage)
    assert len(out) == BIG_ROWS
    assert not out.duplicated(KEY).any()
    assert set(out["run_id"]) == {"scheduled__killed"}
    big_keys = set(zip(state["big"]["customer_id"], state["big"]["event_ts"], strict=True))
    assert set(zip(out["customer_id"], out["event_ts"], strict=True)) == big_keys

    # The commit removed the killed attempt's (and the previous version's) part files.
    visible = storage.list(PREDICTIONS) + storage.list(QUARANTINE)
    committed = {f["name"] for f in P.read_manifest(storage, PREDICTIONS, MODEL, DS).files}
    assert not [k for k in visible if token in k and k.rsplit("/", 1)[-1] not in committed]
    manifest = P.read_manifest(storage, PREDICTIONS, MODEL, DS)
    prefix = P.partition_prefix(PREDICTIONS, MODEL, DS)
    assert storage.list(PREDICTIONS) == sorted(
        [f"{prefix}/{P.MANIFEST}", *(f"{prefix}/{f['name']}" for f in manifest.files)]
    )


def test_a_killed_run_leaves_no_temporary_files_after_the_retry(killed_run):
    storage = killed_run["storage"]
    committed = {
        f"{P.partition_prefix(d, MODEL, DS)}/{f['name']}"
        for d in (PREDICTIONS, QUARANTINE)
        if (m := P.read_manifest(storage, d, MODEL, DS))
        for f in m.files
    }
    leftovers = sorted(f for f in killed_run["files_after_retry"] if killed_run["killed_token"] in f)
    assert not [f for f in leftovers if f not in committed], leftovers
