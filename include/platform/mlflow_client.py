"""An MLflow client that authenticates with its own credentials, never the process environment.

MLflow reads basic-auth credentials from ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` (process-wide)
each time it builds a request. ``mlflow_client(uri, BasicAuth(...))`` instead gives one client
stores (tracking and registry ``RestStore``) and artifact repositories whose host-credentials
function returns these credentials: another client in the same process, or the fluent
``mlflow.*`` API, does not see them, and they are never put in the URI or logged.

Against a tracking server proxying artifacts (``mlflow-artifacts:``), the authenticated
repository uploads and downloads through the server in one request per file: MLflow's
multipart and presigned paths build their credentials from the environment, so they are off.

Outages are named in one place: every call through ``mlflow_client()``'s client (and every
artifact download) that fails because the server did not answer (connection refused, timeout,
5xx after MLflow's own retries) raises ``RegistryUnavailable`` naming the tracking URI (without
credentials); Airflow retries it with backoff. An answer that says the request itself is wrong
(``RESOURCE_DOES_NOT_EXIST``, ``INVALID_PARAMETER_VALUE``, ``PERMISSION_DENIED``, ...) raises
``MlflowRequestRefused``: a ``RegistryStateError`` (fails at once, not retried) that is still an
``MlflowException`` with its ``error_code``, so callers that handle MLflow's own errors keep
working.
MLflow's HTTP client retries for minutes by default: ``scripts/env.sh`` and the compose file set
``MLFLOW_HTTP_REQUEST_MAX_RETRIES``/``_BACKOFF_FACTOR``/``_TIMEOUT`` so a dead server is named
in seconds (``docs/production.md``).

mlflow is imported inside functions (DAG files may import the registry module at parse time).
"""

from __future__ import annotations

import contextlib
import functools
import posixpath
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from include.errors import RegistryStateError, RegistryUnavailable

HostCreds = Callable[[str], Any]  # host URL -> mlflow.utils.rest_utils.MlflowHostCreds

# MLflow's wording when its HTTP layer gave up (connection refused, timeout, retries exhausted).
_OUTAGE_MESSAGE = re.compile(r"API request to \S+ failed with (timeout )?exception")
_OUTAGE_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"})
_USERINFO = re.compile(r"//[^/@\s]*@")
# MLflow's answers that the request itself is wrong: the same request gets the same answer.
_REFUSED_CODES = frozenset(
    {
        "BAD_REQUEST",
        "INVALID_PARAMETER_VALUE",
        "INVALID_STATE",
        "MALFORMED_REQUEST",
        "NOT_FOUND",
        "PERMISSION_DENIED",
        "RESOURCE_ALREADY_EXISTS",
        "RESOURCE_DOES_NOT_EXIST",
        "UNAUTHENTICATED",
    }
)
_CREDENTIAL_CODES = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED"})


def safe_uri(uri: str) -> str:
    """``uri`` without user information (``http://user:pass@host`` -> ``http://host``)."""
    return _USERINFO.sub("//", uri)


def is_registry_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the MLflow server did not answer, not that the request was wrong."""
    import requests
    from mlflow.exceptions import MlflowException

    if isinstance(exc, requests.exceptions.HTTPError):
        status = getattr(exc.response, "status_code", None)
        return status is not None and status >= 500
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return True
    if isinstance(exc, MlflowException):
        return exc.error_code in _OUTAGE_CODES or bool(_OUTAGE_MESSAGE.search(str(exc)))
    return False


@functools.cache
def refused_error_class() -> type:
    """``MlflowRequestRefused``: a ``RegistryStateError`` that is also an ``MlflowException``
    (built on first use: mlflow is not imported at parse time)."""
    from mlflow.exceptions import MlflowException

    cls = type(
        "MlflowRequestRefused",
        (RegistryStateError, MlflowException),
        {"__module__": __name__, "__doc__": "MLflow refused the request: a retry gets the same answer."},
    )
    globals()["MlflowRequestRefused"] = cls  # importable by name (pickling)
    return cls


def refused_request(exc: Any, tracking_uri: str, what: str) -> Exception:
    """The ``MlflowRequestRefused`` for MLflow's refusal ``exc`` (same message and error code)."""
    from mlflow.protos.databricks_pb2 import ErrorCode

    message = f"MLflow at {safe_uri(tracking_uri)} refused {what}: {safe_uri(exc.message)}"
    if exc.error_code in _CREDENTIAL_CODES:
        message += " (check the login of the mlflow_default connection: the pipeline's MLflow account)"
    error: Exception = refused_error_class()(message, error_code=ErrorCode.Value(exc.error_code))
    return error


@contextlib.contextmanager
def registry_outages(tracking_uri: str, what: str) -> Iterator[None]:
    """An outage inside the block becomes ``RegistryUnavailable`` naming the server; MLflow's
    answer that the request is wrong becomes ``MlflowRequestRefused`` (not retried)."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except Exception as exc:
        refused = isinstance(exc, MlflowException) and not isinstance(exc, RegistryStateError)
        if refused and exc.error_code in _REFUSED_CODES:  # type: ignore[attr-defined]
            raise refused_request(exc, tracking_uri, what) from exc
        if not is_registry_outage(exc):
            raise
        detail = safe_uri(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]
        raise RegistryUnavailable(
            f"MLflow at {safe_uri(tracking_uri)} did not answer ({what}): {detail}; retried with backoff"
        ) from exc


class GuardedClient:
    """An ``MlflowClient`` whose calls name outages (``registry_outages``); every other attribute
    and error is the client's own."""

    def __init__(self, client: Any, tracking_uri: str) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_uri", tracking_uri)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            with registry_outages(self._uri, name):
                return attr(*args, **kwargs)

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._client, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._client, name)

    def __repr__(self) -> str:
        return f"GuardedClient({self._client!r})"


@dataclass(frozen=True)
class BasicAuth:
    """Basic-auth credentials for one MLflow tracking server (the password never in repr)."""

    username: str
    password: str = field(repr=False)


def basic_auth_creds(auth: BasicAuth) -> HostCreds:
    """Host credentials carrying ``auth``; TLS settings still come from MLflow's usual variables."""

    def host_creds(host: str) -> Any:
        from mlflow.utils.credentials import get_default_host_creds

        creds = get_default_host_creds(host)
        creds.username, creds.password = auth.username, auth.password
        return creds

    return host_creds


def is_http_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def mlflow_client(tracking_uri: str, auth: BasicAuth | None = None) -> Any:
    """``MlflowClient`` for ``tracking_uri`` (also the registry URI); with ``auth`` (HTTP servers
    only), its stores and artifact repositories authenticate with ``auth`` alone."""
    from mlflow import MlflowClient

    if auth is None or not is_http_uri(tracking_uri):
        return GuardedClient(MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri), tracking_uri)
    return GuardedClient(_authenticated_client_class()(tracking_uri, basic_auth_creds(auth)), tracking_uri)


def artifact_repository(artifact_uri: str, tracking_uri: str, creds: HostCreds | None = None) -> Any:
    """The artifact repository of ``artifact_uri``; an HTTP one authenticates with ``creds``."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    repo = get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
    if creds is None or not isinstance(repo, HttpArtifactRepository):
        return repo
    base = MlflowArtifactsRepository if isinstance(repo, MlflowArtifactsRepository) else HttpArtifactRepository
    authenticated = _authenticated_repository_class(base)(artifact_uri, tracking_uri=tracking_uri)
    authenticated.host_creds_for = creds
    return authenticated


def artifact_location(client: Any, uri: str) -> str:
    """Where the artifacts of ``uri`` are stored: ``runs:/<run>/<path>``, ``models:/<name>/<version>``,
    ``models:/<name>@<alias>`` and ``models:/<model_id>`` are resolved through ``client`` (again
    when a version's source is itself such a URI)."""
    for _ in range(4):
        scheme = urllib.parse.urlparse(uri).scheme
        if scheme not in ("runs", "models"):
            return uri
        uri = _resolve_once(client, uri)
    raise ValueError(f"{uri!r} does not resolve to an artifact location")


def _resolve_once(client: Any, uri: str) -> str:
    parsed = urllib.parse.urlparse(uri)
    parts = parsed.path.strip("/").split("/", 1)
    if parsed.scheme == "runs":
        base = client.get_run(parts[0]).info.artifact_uri
        return posixpath.join(base, parts[1]) if len(parts) > 1 and parts[1] else base
    if len(parts) == 2:
        return client.get_model_version_download_uri(parts[0], parts[1])
    if "@" in parts[0]:
        name, alias = parts[0].split("@", 1)
        version = client.get_model_version_by_alias(name, alias).version
        return client.get_model_version_download_uri(name, version)
    return client.get_logged_model(parts[0]).artifact_location


def download_artifact_uri(client: Any, uri: str, creds: HostCreds | None = None) -> Path:
    """A local copy of the file or directory at ``uri`` (any form ``artifact_location`` takes)."""
    location = artifact_location(client, uri).rstrip("/")
    root, _, name = location.rpartition("/")
    repo = artifact_repository(root, client.tracking_uri, creds)
    with registry_outages(client.tracking_uri, f"download {uri}"):
        return Path(repo.download_artifacts(name, dst_path=tempfile.mkdtemp(prefix="mlops-artifact-")))


# -- MLflow subclasses (built on first use: mlflow is imported lazily) ---------------------------
_CLASSES: dict[str, type] = {}


def _authenticated_client_class() -> type:
    if "client" in _CLASSES:
        return _CLASSES["client"]
    from mlflow import MlflowClient
    from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.tracking._model_registry.client import ModelRegistryClient
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    class _TrackingService(TrackingServiceClient):
        """Tracking store and artifact repositories with this client's credentials (repositories
        cached per client, not in MLflow's process-wide cache)."""

        def __init__(self, tracking_uri: str, creds: HostCreds) -> None:
            self._creds = creds
            self._store = RestStore(lambda: creds(tracking_uri))
            self._repos: dict[str, Any] = {}
            super().__init__(tracking_uri)

        @property
        def store(self) -> Any:
            return self._store

        def _get_artifact_repo(self, resource_id: str, *, resource: str = "run") -> Any:
            if resource_id not in self._repos:
                if resource == "run":
                    location = self.get_run(resource_id).info.artifact_uri
                else:
                    location = self.get_logged_model(resource_id).artifact_location
                self._repos[resource_id] = artifact_repository(location, self.tracking_uri, self._creds)
            return self._repos[resource_id]

    class _RegistryService(ModelRegistryClient):
        def __init__(self, registry_uri: str, tracking_uri: str, creds: HostCreds) -> None:
            self._store = RegistryRestStore(lambda: creds(registry_uri))
            super().__init__(registry_uri, tracking_uri)

        @property
        def store(self) -> Any:
            return self._store

    class AuthenticatedMlflowClient(MlflowClient):
        """``MlflowClient`` whose tracking and registry requests carry its own credentials."""

        def __init__(self, tracking_uri: str, creds: HostCreds) -> None:
            super().__init__(tracking_uri=tracking_uri, registry_uri=tracking_uri)
            self.host_creds = creds
            self._tracking_client = _TrackingService(tracking_uri, creds)
            self._registry_client_lazy = _RegistryService(tracking_uri, tracking_uri, creds)

        def __repr__(self) -> str:
            return f"AuthenticatedMlflowClient({self.tracking_uri!r})"

    _CLASSES["client"] = AuthenticatedMlflowClient
    return AuthenticatedMlflowClient


def _authenticated_repository_class(base: type) -> type:
    key = f"repo:{base.__name__}"
    if key in _CLASSES:
        return _CLASSES[key]
    from mlflow.entities import FileInfo
    from mlflow.utils.rest_utils import augmented_raise_for_status, http_request
    from mlflow.utils.uri import validate_path_is_safe

    class AuthenticatedArtifactRepository(base):
        host_creds_for: HostCreds

        @property
        def _host_creds(self) -> Any:
            return self.host_creds_for(self.artifact_uri)

        def _fetch_server_capabilities(self) -> dict[str, bool]:
            return {}  # no multipart or presigned transfers: MLflow builds their credentials from the environment

        def _is_multipart_upload_enabled(self) -> bool:
            return False

        def list_artifacts(self, path: str | None = None) -> list[Any]:
            """As ``HttpArtifactRepository.list_artifacts``, with this repository's credentials."""
            endpoint = "/mlflow-artifacts/artifacts"
            url, tail = self.artifact_uri.split(endpoint, maxsplit=1)
            root = tail.lstrip("/")
            params = {"path": posixpath.join(root, path) if path else root}
            resp = http_request(self.host_creds_for(url), endpoint, "GET", params=params)
            augmented_raise_for_status(resp)
            infos = []
            for f in resp.json().get("files", []):
                safe = validate_path_is_safe(f["path"])
                size = int(f["file_size"]) if "file_size" in f else None
                infos.append(FileInfo(posixpath.join(path, safe) if path else safe, f["is_dir"], size))
            # A path naming a single file lists as empty (the ArtifactRepository contract).
            lone_file = path is not None and len(infos) == 1 and not infos[0].is_dir
            if lone_file and infos[0].path == posixpath.join(str(path), posixpath.basename(str(path))):
                return []
            return sorted(infos, key=lambda f: f.path)

    _CLASSES[key] = AuthenticatedArtifactRepository
    return AuthenticatedArtifactRepository
