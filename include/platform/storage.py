"""Object storage for the data root: a local directory or ``s3://bucket/prefix``.

One small interface (bytes in, bytes out, list, delete) with two backends, so the rest of the
code never branches on where data lives. S3 goes through boto3; the endpoint can point at any
S3-compatible store (MinIO, moto) and credentials come from the caller (an Airflow connection,
see ``plugins/mlops_airflow/hooks/storage.py``) or boto3's usual chain (environment, profile).

Writes are atomic per object: locally through a temp file and ``os.replace``; on S3 a single
PUT is atomic by design. Multi-file atomicity is built on top in ``include/platform/partitions.py``.

Errors: every operation runs inside ``include.platform.outages.storage_errors``, so an outage
(S3 endpoint refused or timed out, a 5xx, a full or failing disk, a permission refused) is
raised as ``StorageUnavailable`` naming the root, the endpoint and the key, and never reaches a
reader that would call it bad data. Files written locally get ``0666 & ~umask`` (what ``open()``
gives), not the ``0600`` of ``tempfile.mkstemp``.
"""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from include.errors import ObjectNotFound, StorageConfigError
from include.platform.outages import storage_errors


def process_umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but a fallback only)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode every file the project writes gets: ``0666 & ~umask``, as ``open()`` gives."""
    return 0o666 & ~process_umask()


def mkstemp_shared(**kwargs: Any) -> tuple[int, str]:
    """``tempfile.mkstemp`` with the file's mode set to :func:`file_mode` instead of 0600."""
    fd, path = tempfile.mkstemp(**kwargs)
    os.fchmod(fd, file_mode())
    return fd, path


class Storage:
    """Base class: paths are '/'-separated keys relative to the storage root."""

    root: str

    def uri(self, key: str = "") -> str:
        key = key.strip("/")
        return f"{self.root.rstrip('/')}/{key}" if key else self.root

    def where(self) -> str:
        """How errors name this storage: the root (and the endpoint for S3)."""
        return self.root

    def guard(self, action: str, key: str) -> Any:
        """A context manager: an outage inside it becomes ``StorageUnavailable`` naming ``key``."""
        return storage_errors(self.where(), action, key)

    # -- primitives every backend implements -------------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def list(self, prefix: str = "") -> list[str]:
        """All keys under prefix (recursive), sorted."""
        raise NotImplementedError

    def modified(self, prefix: str = "") -> dict[str, float]:
        """Every key under prefix with its last-modified time (epoch seconds)."""
        raise NotImplementedError

    def delete(self, keys: Iterable[str]) -> None:
        raise NotImplementedError

    def local_path(self, key: str) -> str | None:
        """A filesystem path for the key when the backend has one (lets pyarrow stream)."""
        return None

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        """Upload a local file (streamed, not read into memory); the file is consumed."""
        raise NotImplementedError

    # -- conveniences built on the primitives -----------------------------------------------
    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        self.delete(keys)
        return len(keys)

    def read_text(self, key: str) -> str:
        return self.read_bytes(key).decode("utf-8")

    def write_text(self, key: str, text: str) -> None:
        self.write_bytes(key, text.encode("utf-8"))

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        """Immediate child 'directories' of prefix (names only), sorted."""
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""  # "" lists the root's dirs
        names = {k[len(prefix) :].split("/", 1)[0] for k in self.list(prefix) if "/" in k[len(prefix) :]}
        return sorted(names)


class LocalStorage(Storage):
    def __init__(self, root: str | os.PathLike) -> None:
        self.base = Path(root).expanduser().resolve()
        self.root = str(self.base)

    def _path(self, key: str) -> Path:
        path = (self.base / key.strip("/")).resolve()
        if path != self.base and self.base not in path.parents:
            raise StorageConfigError(f"key {key!r} escapes the storage root {self.root}")
        return path

    def local_path(self, key: str) -> str:
        return str(self._path(key))

    def read_bytes(self, key: str) -> bytes:
        try:
            with self.guard("reading", key):
                return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object at {self.uri(key)}") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.guard("writing", key):
            self._write(self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename: readers never see a half-written file.
        fd, tmp = mkstemp_shared(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        with self.guard("checking", key):
            return self._path(key).is_file()

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        target = self._path(key)
        with self.guard("writing", key):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path, file_mode())
            try:
                os.replace(path, target)  # same filesystem: an atomic rename
            except OSError:
                shutil.copyfile(path, f"{target}.tmp")
                os.replace(f"{target}.tmp", target)
                Path(path).unlink(missing_ok=True)

    def _files(self, prefix: str) -> builtins.list[Path]:
        start = self._path(prefix) if prefix.strip("/") else self.base
        if start.is_file():
            return [start]
        if not start.is_dir():
            return []
        return [p for p in start.rglob("*") if p.is_file() and not p.name.endswith(".tmp")]

    def list(self, prefix: str = "") -> list[str]:
        with self.guard("listing", prefix):
            return sorted(p.relative_to(self.base).as_posix() for p in self._files(prefix))

    def modified(self, prefix: str = "") -> dict[str, float]:
        found = {}
        with self.guard("listing", prefix):
            for path in self._files(prefix):
                try:
                    found[path.relative_to(self.base).as_posix()] = path.stat().st_mtime
                except FileNotFoundError:  # removed since listed
                    continue
        return found

    def delete(self, keys: Iterable[str]) -> None:
        keys = builtins.list(keys)
        with self.guard("deleting", f"{keys[0]} (and {len(keys) - 1} more)" if len(keys) > 1 else "".join(keys)):
            self._delete(keys)

    def _delete(self, keys: Iterable[str]) -> None:
        parents = set()
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            parents.add(path.parent)
        # Tidy empty directories left behind, never the root itself.
        for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
            directory = parent
            while directory != self.base and directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
                directory = directory.parent

    def delete_prefix(self, prefix: str) -> int:
        path = self._path(prefix)
        if path == self.base or not path.is_dir():
            # The root itself is kept (its objects go), and a plain key is deleted like any
            # listed key: the count returned is always what was actually deleted.
            return super().delete_prefix(prefix)
        count = len(self.list(prefix))
        with self.guard("deleting", prefix):
            shutil.rmtree(path)
        return count


class S3Storage(Storage):
    def __init__(self, root: str, client: Any = None, **client_kwargs: Any) -> None:
        if not root.startswith("s3://"):
            raise StorageConfigError(f"not an s3:// URI: {root!r}")
        bucket_and_prefix = root[len("s3://") :].strip("/")
        if not bucket_and_prefix:
            raise StorageConfigError(f"no bucket in {root!r}")
        self.bucket, _, self.prefix = bucket_and_prefix.partition("/")
        self.root = f"s3://{bucket_and_prefix}"
        if client is None:
            import boto3

            endpoint = client_kwargs.pop("endpoint_url", None) or os.environ.get("MLOPS_S3_ENDPOINT_URL")
            client = boto3.client("s3", endpoint_url=endpoint or None, **client_kwargs)
        self.client = client

    def _key(self, key: str) -> str:
        key = key.strip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def where(self) -> str:
        endpoint = getattr(getattr(self.client, "meta", None), "endpoint_url", None)
        return f"{self.root} at {endpoint}" if endpoint else self.root

    def read_bytes(self, key: str) -> bytes:
        try:
            with self.guard("reading", key):
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise ObjectNotFound(f"no object at {self.uri(key)}") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.guard("writing", key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        with self.guard("writing", key):
            self.client.upload_file(str(path), self.bucket, self._key(key))  # multipart for big files
        Path(path).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        with self.guard("checking", key):
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise

    def _objects(self, prefix: str) -> Iterable[tuple[str, Any]]:
        full = self._key(prefix)
        if full and not full.endswith("/"):  # "data/" so that "data2/..." is not listed
            full += "/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            yield from ((obj["Key"][strip:], obj["LastModified"]) for obj in page.get("Contents", []))

    def list(self, prefix: str = "") -> list[str]:
        with self.guard("listing", prefix):
            return sorted(key for key, _ in self._objects(prefix))

    def modified(self, prefix: str = "") -> dict[str, float]:
        with self.guard("listing", prefix):
            return {key: stamp.timestamp() for key, stamp in self._objects(prefix)}

    def delete(self, keys: Iterable[str]) -> None:
        batch = [{"Key": self._key(k)} for k in keys]
        for start in range(0, len(batch), 1000):  # S3's DeleteObjects limit
            chunk = batch[start : start + 1000]
            if chunk:
                with self.guard("deleting", chunk[0]["Key"]):
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})


def get_storage(root: str | None = None, **s3_kwargs: Any) -> Storage:
    """Storage for ``root`` (default ``$MLOPS_DATA_ROOT``)."""
    root = root or os.environ.get("MLOPS_DATA_ROOT")
    if not root:
        raise StorageConfigError("MLOPS_DATA_ROOT is not set and no storage root was given")
    if root.startswith("s3://"):
        return S3Storage(root, **s3_kwargs)
    if "://" in root and not root.startswith("file://"):
        raise StorageConfigError(f"unsupported storage URI {root!r}: use a local path or s3://bucket/prefix")
    return LocalStorage(root.removeprefix("file://"))


def new_token() -> str:
    """A unique, sortable-enough token for staging and versioned writes."""
    return uuid.uuid4().hex[:16]
