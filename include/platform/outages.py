"""Which storage exceptions are outages (retry later) and which are about the data.

The storage layer (``include/platform/storage.py``) runs every operation on the data root
inside :func:`storage_errors`: an exception that says the storage did not answer (a refused
or timed-out connection to the S3 endpoint, a 5xx or throttling reply, a full or failing
local disk, a permission refused) becomes ``StorageUnavailable`` (``Transient``: Airflow
retries the task) naming the root, the endpoint and the key. Anything else passes through
unchanged, so a file with bad bytes is still reported by its reader as a data error.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from include.errors import StorageError, StorageUnavailable

# Local-disk errors that are not about the bytes of a file: the disk, the mount, the rights.
OUTAGE_ERRNOS = frozenset(
    {
        errno.ENOSPC,  # disk full
        errno.EDQUOT,  # quota exceeded
        errno.EFBIG,  # file size limit (RLIMIT_FSIZE) reached
        errno.EIO,  # device I/O error
        errno.EROFS,  # remounted read-only
        errno.EACCES,
        errno.EPERM,
        errno.ESTALE,  # NFS handle gone
        errno.ENOTCONN,
        errno.ETIMEDOUT,
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EMFILE,
        errno.ENFILE,
    }
)
# S3 error codes that mean "the service is struggling", whatever the HTTP status says.
OUTAGE_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "ThrottlingException"}
)


def _client_error_reason(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if status >= 500 or code in OUTAGE_CODES:
        return f"HTTP {status} {code}".strip()
    return None


def _network_error(exc: BaseException) -> bool:
    """botocore's connection / timeout / streaming errors and urllib3's, when installed."""
    kinds: list[type[BaseException]] = []
    try:
        from botocore import exceptions as boto

        kinds += [boto.ConnectionError, boto.HTTPClientError, boto.IncompleteReadError]
    except ImportError:  # pragma: no cover - boto is a dependency of the project
        pass
    try:
        from urllib3.exceptions import HTTPError

        kinds.append(HTTPError)
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, tuple(kinds))


def outage_reason(exc: BaseException) -> str | None:
    """Why ``exc`` is an outage (a short text), or None when it is not one.

    The exception's causes are followed too: boto3's ``S3UploadFailedError`` wraps the
    ``ClientError`` of the failed part.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in OUTAGE_ERRNOS:
            return f"{errno.errorcode[current.errno]}: {current.strerror or current}"
        if _network_error(current):
            return f"{type(current).__name__}: {current}"
        reason = _client_error_reason(current)
        if reason:
            return f"{reason}: {current}"
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def storage_errors(where: str, action: str, key: str) -> Iterator[None]:
    """Turn an outage raised inside the block into ``StorageUnavailable``.

    :param where: the storage root, and the endpoint for S3 (``s3://b/p at http://host:port``).
    :param action: what was being done (``reading``, ``writing``, ``listing``, ``deleting``).
    :param key: the key (or prefix) it was done to.
    """
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        reason = outage_reason(exc)
        if reason is None:
            raise
        raise StorageUnavailable(f"storage {where} unavailable while {action} {key!r}: {reason}") from exc
