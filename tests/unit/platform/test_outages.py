"""Storage outages are named as outages; bad bytes stay a data error; files get one mode.

The classifier is fed the exceptions the libraries really raise (an ``OSError`` with an errno,
botocore's ``ClientError`` with a 503 reply); the S3 connection error comes from a real client
talking to a loopback port where nothing listens. Full disks and stopped servers are tested on
real processes in ``tests/integration/test_scoring_faults.py``.
"""

from __future__ import annotations

import errno
import os
import stat

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from include.errors import NotRetryable, ScoringInputError, StorageUnavailable, Transient
from include.platform import partitions as P
from include.platform.outages import outage_reason, storage_errors
from include.platform.parquet import frame_to_parquet
from include.platform.storage import LocalStorage, S3Storage, file_mode, process_umask
from include.score.reading import open_parquet
from include.score.writer import PartWriter
from tests.fixtures.services import FAKE_AWS, free_port


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "root")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EFBIG])
def test_disk_errors_are_outages(code):
    with (
        pytest.raises(
            StorageUnavailable, match=rf"storage /data unavailable while writing 'a/b': {errno.errorcode[code]}"
        ),
        storage_errors("/data", "writing", "a/b"),
    ):
        raise OSError(code, os.strerror(code))


@pytest.mark.parametrize("status,code", [(503, "ServiceUnavailable"), (500, "InternalError"), (200, "SlowDown")])
def test_s3_server_errors_are_outages(status, code):
    error = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")
    assert outage_reason(error).startswith(f"HTTP {status} {code}")


def test_a_wrapped_cause_is_followed():
    try:
        try:
            raise ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Put")
        except ClientError as exc:
            raise RuntimeError("Failed to upload part") from exc  # what boto3's upload_file does
    except RuntimeError as outer:
        assert "SlowDown" in outage_reason(outer)


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOENT, "No such file"),
        ValueError("Parquet magic bytes not found"),
        ClientError({"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject"),
    ],
)
def test_other_errors_pass_through_unchanged(exc):
    assert outage_reason(exc) is None
    with pytest.raises(type(exc)), storage_errors("/data", "reading", "k"):
        raise exc


def test_an_unreachable_s3_endpoint_is_storage_unavailable_naming_it():
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=2)
    storage = S3Storage("s3://bucket/data", endpoint_url=endpoint, config=config, **FAKE_AWS)
    with pytest.raises(StorageUnavailable) as info:
        storage.read_bytes("features/m/ds=2026-01-01/part-1.parquet")
    message = str(info.value)
    assert endpoint in message and "s3://bucket/data" in message
    assert "features/m/ds=2026-01-01/part-1.parquet" in message
    assert isinstance(info.value, Transient) and not isinstance(info.value, NotRetryable)
    with pytest.raises(StorageUnavailable, match="while listing"):
        storage.list("features")
    with pytest.raises(StorageUnavailable, match="while writing"):
        storage.write_bytes("x", b"1")


def test_bad_bytes_are_still_a_data_error(storage):
    storage.write_bytes("features/m/ds=2026-01-01/part-1.parquet", b"not parquet at all")
    with pytest.raises(ScoringInputError, match="is not a readable parquet file"):
        open_parquet(storage, "features/m/ds=2026-01-01/part-1.parquet")


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_every_written_file_gets_the_umask_mode(storage, umask_022, tmp_path):
    import pandas as pd

    assert process_umask() == 0o022 and file_mode() == 0o644
    storage.write_text("reports/summary.json", "{}")
    staged = tmp_path / "staged.bin"
    staged.write_bytes(b"x")
    os.chmod(staged, 0o600)  # what tempfile.mkstemp gives
    storage.put_file("reports/put.bin", staged)
    writer = PartWriter(storage, "predictions/m/ds=2026-01-01/part-t-00000.parquet")
    writer.write(pd.DataFrame({"a": [1, 2]}))
    writer.close()
    P.publish_files(storage, "features", "m", "2026-01-01", [(frame_to_parquet(pd.DataFrame({"a": [1]})), 1)])
    modes = {k: stat.S_IMODE(os.stat(storage.local_path(k)).st_mode) for k in storage.list()}
    assert len(modes) == 5 and set(modes.values()) == {0o644}, modes
