"""Batch scoring under real faults: a stopped S3 server, a full disk, a process killed mid-publish.

(a) The moto server is frozen with SIGSTOP at a chosen request (a botocore ``before-send`` hook
    on the real client picks the moment: a unit file upload, then the manifest write) and
    resumed with SIGCONT. SIGSTOP, not SIGKILL: moto keeps everything in memory, so a killed
    server loses the bucket and "the retry after the fault clears succeeds" could not be shown;
    a frozen server is the outage an operator meets most (an endpoint that stops answering) and
    keeps its state. (A refused connection is covered in tests/unit/platform/test_outages.py.)
(b) The data root is a 16 MiB tmpfs (``mount -t tmpfs``; the sandbox runs as root), filled to
    the last byte before scoring and before publishing: ENOSPC from the real kernel.
(c) Fail points in publish fire in a real subprocess (SIGKILL, returncode -9).

After each fault the visible partition is the previous one or the new one, never a mix; the
retry (same run id, as an Airflow retry) succeeds and leaves a verifiable partition.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from threadpoolctl import threadpool_limits

from include.config import parse_config
from include.dev.sample_data import generate_day, generate_frames
from include.errors import StorageUnavailable
from include.ml import training
from include.ml.contract import scoring_contract
from include.platform import partitions as P
from include.platform.storage import LocalStorage, S3Storage
from include.score.plan import plan
from include.score.publish import publish
from include.score.unit import score_unit
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW
from tests.fixtures.services import FAKE_AWS, LOOPBACK, free_port, start_service, venv_executable
from tests.integration.test_scoring_atomicity import SCORER
from tests.integration.test_scoring_atomicity import config_data as atomicity_config
from tests.unit.score.helpers import verify_partition

PROJECT = Path(__file__).resolve().parents[2]
MODEL, DS = "churn", "2026-02-02"
CHAMPION_ARGS = {"name": MODEL, "version": "3", "run_id": "mlflow-run-champion"}


def config_data() -> dict[str, Any]:
    """The atomicity tests' small config; nothing quarantined (these tests are about storage)."""
    return atomicity_config(range_tolerance=100)


@pytest.fixture(scope="module")
def trained():
    """(config, model, contract): a small real model on generated data."""
    config = parse_config(config_data(), source="test/churn.yaml")
    features, labels = generate_frames("2026-01-01", 8, customers=3000, rows_per_day=400)
    frame = features.assign(churned=labels["churned"])
    with threadpool_limits(1):
        model = training.fit(config, frame)
    return config, model, scoring_contract(config, frame)


def champion():
    from include.platform.registry import ModelRef

    return ModelRef(**CHAMPION_ARGS)


def score_units(storage, trained, run_id: str) -> tuple[list, list]:
    config, model, contract = trained
    with threadpool_limits(1):
        units = plan(storage, config, [DS])
        return units, [score_unit(storage, config, u, (champion(), model), contract, run_id=run_id) for u in units]


def publish_run(storage, trained, scored, run_id: str) -> dict:
    config, _, contract = trained
    return publish(storage, config, *scored, contract, champion(), run_id=run_id)


def run_scoring(storage, trained, run_id: str) -> dict:
    return publish_run(storage, trained, score_units(storage, trained, run_id), run_id)


def setup_partition(storage, trained, rows: int = 1500) -> str:
    """Features of DS and a previous scoring version; the previous manifest's text."""
    frame = generate_day(DS, customers=3000, rows_per_day=rows)[0]
    P.publish_frame(storage, "features", MODEL, DS, frame, rows_per_file=400)
    run_scoring(storage, trained, "scheduled__previous")
    return manifest_text(storage)


def manifest_text(storage, dataset: str = PREDICTIONS) -> str:
    return storage.read_text(f"{P.partition_prefix(dataset, MODEL, DS)}/{P.MANIFEST}")


def committed_files_intact(storage, dataset: str = PREDICTIONS) -> P.Manifest:
    """Readers see a whole version: every listed file there, hashes and rows as listed."""
    manifest = P.read_manifest(storage, dataset, MODEL, DS)
    frame = P.read_partition(storage, dataset, MODEL, DS, verify=True)
    assert len(frame) == manifest.rows
    return manifest


def verify_outputs(storage) -> P.Manifest:
    for dataset in (QUARANTINE, SHADOW):
        if P.read_manifest(storage, dataset, MODEL, DS):
            verify_partition(storage, dataset, DS, MODEL)
    return verify_partition(storage, PREDICTIONS, DS, MODEL)[0]


# -- (a) S3 server frozen -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def frozen_moto(tmp_path_factory) -> Iterator[Any]:
    """An own moto server (the session one is shared): SIGSTOP here must not stall other tests."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    service = start_service(
        "moto-faults",
        [venv_executable("moto_server"), "-H", LOOPBACK, "-p", str(port)],
        ready_url=f"{url}/moto-api/",
        log_dir=tmp_path_factory.mktemp("moto-faults"),
        timeout=30,
    )
    service.url = url
    try:
        yield service
    finally:
        os.kill(service.pid, signal.SIGCONT)
        service.stop()


@pytest.fixture
def s3(frozen_moto, request) -> S3Storage:
    """S3Storage on the own moto server; short timeouts and no client retries, so an outage is
    reported in seconds (Airflow's task retries are the retry policy)."""
    config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"})
    storage = S3Storage(
        "s3://faults-" + request.node.name.lower().replace("_", "-")[:40] + "/data",
        endpoint_url=frozen_moto.url,
        config=config,
        **FAKE_AWS,
    )
    storage.client.create_bucket(Bucket=storage.bucket)
    return storage


class Freeze:
    """Freeze the server (SIGSTOP) just before the n-th request of ``operation`` is sent."""

    def __init__(self, storage: S3Storage, pid: int, operation: str, nth: int) -> None:
        self.pid, self.nth, self.seen, self.frozen = pid, nth, 0, False
        self.event = f"before-send.s3.{operation}"
        self.storage = storage
        storage.client.meta.events.register(self.event, self)

    def __call__(self, **_: Any) -> None:
        self.seen += 1
        if self.seen == self.nth and not self.frozen:
            os.kill(self.pid, signal.SIGSTOP)
            self.frozen = True

    def thaw(self) -> None:
        self.storage.client.meta.events.unregister(self.event, self)
        os.kill(self.pid, signal.SIGCONT)


# Requests of score_units: plan reads the manifest (GET 1) and the 4 footers (GET 2-5); then each
# unit reads its file (GET 6-9) and uploads its predictions (PUT 1-4).
@pytest.mark.parametrize(
    "operation,nth,key",
    [
        ("GetObject", 7, "features/churn/ds=2026-02-02/part-"),  # unit 1 reading its input
        ("PutObject", 2, "predictions/churn/ds=2026-02-02/part-"),  # unit 1 uploading its output
    ],
)
def test_s3_frozen_while_scoring_is_an_outage_and_the_retry_succeeds(s3, frozen_moto, trained, operation, nth, key):
    previous = setup_partition(s3, trained)
    freeze = Freeze(s3, frozen_moto.pid, operation, nth=nth)
    try:
        with pytest.raises(StorageUnavailable) as info:
            score_units(s3, trained, "scheduled__frozen")
        assert freeze.frozen
    finally:
        freeze.thaw()
    message = str(info.value)
    assert frozen_moto.url in message and s3.root in message and key in message
    assert "not a readable parquet" not in message
    # Nothing half-visible: readers still see the previous version, whole.
    assert manifest_text(s3) == previous
    assert committed_files_intact(s3).meta["run_id"] == "scheduled__previous"

    run_scoring(s3, trained, "scheduled__frozen")  # the Airflow retry: same run id
    manifest = verify_outputs(s3)
    assert manifest.meta["run_id"] == "scheduled__frozen" and manifest.rows == 1500


def test_s3_frozen_at_the_manifest_write_leaves_old_or_new_and_the_retry_succeeds(s3, frozen_moto, trained):
    previous = setup_partition(s3, trained)
    scored = score_units(s3, trained, "manual__frozen_publish")
    freeze = Freeze(s3, frozen_moto.pid, "PutObject", nth=1)  # publish's first write: the manifest
    try:
        with pytest.raises(StorageUnavailable, match=r"while writing 'predictions/churn/ds=2026-02-02/_manifest.json'"):
            publish_run(s3, trained, scored, "manual__frozen_publish")
    finally:
        freeze.thaw()
    # A timed-out PUT may still land once the server resumes: old or new, never a mix.
    manifest = committed_files_intact(s3)
    assert manifest_text(s3) == previous or manifest.meta["run_id"] == "manual__frozen_publish"

    result = publish_run(s3, trained, scored, "manual__frozen_publish")
    manifest = verify_outputs(s3)
    assert manifest.meta["run_id"] == "manual__frozen_publish" and result["dates"][DS]["rows_scored"] == 1500


def test_overlapping_runs_on_s3_end_in_a_verifiable_partition(s3_storage, trained):
    """The interleaving A.score, B.score, A.publish, B.publish on S3 (all six are forced on a
    local root in tests/unit/score/test_overlap.py)."""
    setup_partition(s3_storage, trained)
    a = score_units(s3_storage, trained, "manual__a")
    b = score_units(s3_storage, trained, "backfill__b")
    first = publish_run(s3_storage, trained, a, "manual__a")
    second = publish_run(s3_storage, trained, b, "backfill__b")
    assert first["replaced"] == {DS: "scheduled__previous"} and second["replaced"] == {DS: "manual__a"}
    manifest = verify_outputs(s3_storage)
    assert manifest.meta["run_id"] == "backfill__b" and manifest.rows == 1500


# -- (b) disk full --------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=False, capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}): needs root or CAP_SYS_ADMIN")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte; the filler file, to free the space again."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == 28, exc
    return filler


def test_disk_full_while_scoring_and_publishing_is_an_outage_and_the_retry_succeeds(small_disk, trained):
    storage = LocalStorage(small_disk / "data")
    previous = setup_partition(storage, trained)

    filler = fill(small_disk)
    with pytest.raises(StorageUnavailable, match=rf"storage {storage.root} unavailable while .*ENOSPC"):
        score_units(storage, trained, "scheduled__full")
    filler.unlink()
    scored = score_units(storage, trained, "scheduled__full")

    filler = fill(small_disk)
    with pytest.raises(StorageUnavailable) as info:
        publish_run(storage, trained, scored, "scheduled__full")
    assert "ENOSPC" in str(info.value) and "_manifest.json" in str(info.value)
    assert manifest_text(storage) == previous  # the previous partition, intact
    committed_files_intact(storage)

    filler.unlink()  # space freed: the retry publishes
    publish_run(storage, trained, scored, "scheduled__full")
    manifest = verify_outputs(storage)
    assert manifest.meta["run_id"] == "scheduled__full" and manifest.rows == 1500


# -- (c) fail points in publish -------------------------------------------------------------------
# The scorer process is the SIGKILL test's (SCORER): plan, score every unit, publish.

POINTS = {  # fail point -> which version readers see after the kill
    "score.publish.after_files": "previous",
    "partition.commit.after_manifest": "new",
    "score.publish.after_manifest": "new",
}


@pytest.mark.parametrize("point", list(POINTS))
def test_a_kill_at_a_publish_fail_point_leaves_old_or_new_and_the_retry_succeeds(point, trained, tmp_path):
    _, model, contract = trained
    storage = LocalStorage(tmp_path / "data")
    previous = setup_partition(storage, trained)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    args = {
        "config": config_data(),
        "model": str(tmp_path / "model.pkl"),
        "root": storage.root,
        "champion": CHAMPION_ARGS,
        "contract": contract,
        "ds": DS,
        "run_id": "scheduled__crash",
    }
    (tmp_path / "args.json").write_text(json.dumps(args))
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "OMP_NUM_THREADS": "1", "MLOPS_FAILPOINTS": point}
    done = subprocess.run(
        [sys.executable, "-c", SCORER, str(tmp_path / "args.json")],
        check=False,
        capture_output=True,
        env=env,
        cwd=str(tmp_path),
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    assert f"failpoint {point}" in done.stderr.decode()

    manifest = committed_files_intact(storage)  # never half: every listed file there and intact
    if POINTS[point] == "previous":
        assert manifest_text(storage) == previous
    else:
        assert manifest.meta["run_id"] == "scheduled__crash" and manifest.rows == 1500

    run_scoring(storage, trained, "scheduled__crash")  # the Airflow retry: same run id
    manifest = verify_outputs(storage)  # and no file of the killed attempt or of the old version
    assert manifest.meta["run_id"] == "scheduled__crash" and manifest.rows == 1500
