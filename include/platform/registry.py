"""MLflow tracking and model registry, the way this project uses them.

* One experiment per model, ``mlops/<model>``.
* Versions carry lineage and gate results as tags; ``mlops.stage`` holds the lifecycle stage
  (``include/platform/stages.py``) and the aliases ``challenger``/``champion`` mark the live stages.
  The deprecated registry "stages" API is never used.
* Models are stored with skops and loaded only with the allow-list from the model config,
  never with the list stored inside the model (a crafted model could widen its own list).
* Basic-auth credentials (``auth``) reach this registry's MLflow client only
  (``include/platform/mlflow_client.py``), never the process environment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.contracts import Tag, evidence_tag, experiment_name, version_uri
from include.errors import RegistryStateError
from include.platform import stages
from include.platform.failpoints import failpoint
from include.platform.mlflow_client import (
    BasicAuth,
    basic_auth_creds,
    download_artifact_uri,
    is_http_uri,
    mlflow_client,
)
from include.platform.stages import ALIAS_FOR_STAGE, STAGE_TAG, check_move

HISTORY_TAG = Tag.HISTORY
HAD_CHAMPION_TAG = Tag.HAD_CHAMPION
_HISTORY_LIMIT = 4500  # MLflow caps tag values at 5,000 characters


def code_version() -> str:
    """The git commit of the project when there is one, else $MLOPS_CODE_VERSION."""
    if os.environ.get("MLOPS_CODE_VERSION"):
        return os.environ["MLOPS_CODE_VERSION"]
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
        return f"{sha}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass(frozen=True)
class ModelRef:
    """One registered version and the training run it came from."""

    name: str
    version: str
    run_id: str

    @property
    def uri(self) -> str:
        return version_uri(self.name, self.version)


def metric_key(text: str) -> str:
    """A name MLflow accepts as a metric key (slice values can be any string).

    MLflow also refuses a name that is not its own normalised path ("a//b", "x/", "/..", "..."),
    so "/" is replaced too and a leading dot gets a "_" in front.
    """
    name = re.sub(r"[^A-Za-z0-9_\-. :]", "_", str(text))
    return "_" + name if not name or name.startswith(".") else name


class ModelRegistry:
    """MLflow registry access; every stage move is also written to ``audit`` when given.

    ``auth``: basic-auth credentials for an HTTP tracking server, used by ``client`` and by this
    registry's artifact transfers only. Without it MLflow's own variables apply.
    """

    def __init__(self, tracking_uri: str | None = None, audit: Any = None, auth: BasicAuth | None = None) -> None:
        self.audit = audit
        import mlflow

        self.tracking_uri = tracking_uri or mlflow.get_tracking_uri()
        # Everything goes through this client (never the fluent mlflow.* API, which reads the
        # process-wide tracking URI and credentials from the environment).
        self.client = mlflow_client(self.tracking_uri, auth)
        self._creds = basic_auth_creds(auth) if auth is not None and is_http_uri(self.tracking_uri) else None

    def __repr__(self) -> str:
        return f"ModelRegistry({self.tracking_uri!r})"

    # -- experiments and runs ------------------------------------------------------------------
    def experiment_id(self, model: str) -> str:
        name = experiment_name(model)
        existing = self.client.get_experiment_by_name(name)
        if existing is not None:
            return existing.experiment_id
        artifact_location = None
        root = os.environ.get("MLOPS_MLFLOW_ARTIFACT_ROOT")
        # A tracking *server* decides where artifacts go; a local database needs a place.
        if root and not self.tracking_uri.startswith(("http://", "https://")):
            artifact_location = (Path(root) / model).resolve().as_uri()
        from mlflow.exceptions import MlflowException

        try:
            return self.client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException:  # created concurrently by another task (an outage is not caught)
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def find_run(self, model: str, run_key: str) -> Any | None:
        """The finished training run with this key, if one exists (reruns reuse it)."""
        runs = self.client.search_runs(
            [self.experiment_id(model)],
            filter_string=f"tags.`{Tag.RUN_KEY}` = '{run_key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return runs[0] if runs else None

    def upsert_run(
        self, experiment_id: str, key: str, name: str, tags: dict[str, str], metrics: dict[str, float]
    ) -> str:
        """A finished run identified by ``key``: created once, updated by later calls.

        For records per date (scoring, shadow, monitoring): rerunning a date updates its run
        instead of adding evidence twice.
        """
        import math
        import time

        from mlflow.entities import Metric, RunTag

        found = self.client.search_runs([experiment_id], filter_string=f"tags.`{Tag.RUN_KEY}` = '{key}'", max_results=1)
        if found:
            run_id = found[0].info.run_id
        else:
            run_id = self.client.create_run(experiment_id, run_name=name, tags={Tag.RUN_KEY: key}).info.run_id
        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if v is not None and not math.isnan(v)],
            tags=[RunTag(k, str(v)) for k, v in tags.items()],
        )
        if not found:
            self.client.set_terminated(run_id)
        return run_id

    # -- versions and aliases ------------------------------------------------------------------
    def version_for_run(self, model: str, run_id: str) -> Any | None:
        found = self.client.search_model_versions(f"name = '{model}' and run_id = '{run_id}'")
        return max(found, key=lambda v: int(v.version)) if found else None

    def register(self, model: str, model_uri: str, run_id: str, tags: dict[str, str], description: str = "") -> Any:
        """Register the run's model once: a rerun returns the version it registered before."""
        existing = self.version_for_run(model, run_id)
        if existing is not None:
            return existing
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(model)
        except MlflowException:  # not registered yet (RegistryUnavailable is not caught)
            self.client.create_registered_model(model, description=description or None)
        version = self._create_version(model, model_uri, run_id, tags)
        self.record_move(model, version.version, stages.CANDIDATE, reason="registered", actor=tags.get(Tag.ACTOR, ""))
        return self.client.get_model_version(model, version.version)

    def _create_version(self, model: str, model_uri: str, run_id: str, tags: dict[str, str]) -> Any:
        """What ``mlflow.register_model`` does, through this registry's client: a ``models:/<id>``
        URI registers that logged model, which then lists the version (``mlflow.modelVersions``)."""
        from mlflow.store.artifact.utils.models import _parse_model_id_if_present
        from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

        model_id = _parse_model_id_if_present(model_uri)
        version = self.client.create_model_version(model, model_uri, run_id=run_id, tags=tags, model_id=model_id)
        if model_id:
            logged = self.client.get_logged_model(model_id)
            listed = json.loads(logged.tags.get(MLFLOW_MODEL_VERSIONS) or "[]")
            key = (version.name, str(version.version))
            if all((entry.get("name"), str(entry.get("version"))) != key for entry in listed):  # a server adds it
                listed.append({"name": version.name, "version": version.version})
                self.client.set_logged_model_tags(model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(listed)})
        return version

    def log_model_dir(self, run_id: str, local_dir: str | Path, name: str = "model") -> str:
        """Log a saved MLflow model (the directory ``mlflow.sklearn.save_model`` writes) as a logged
        model of the run, through this registry's client; returns ``models:/<model_id>`` (for
        ``register`` and ``load_model``). The client-API counterpart of ``mlflow.sklearn.log_model``."""
        experiment_id = self.client.get_run(run_id).info.experiment_id
        logged = self.client.create_logged_model(experiment_id, name=name, source_run_id=run_id)
        try:
            self.client.log_model_artifacts(logged.model_id, str(local_dir))
        except Exception:
            self.client.finalize_logged_model(logged.model_id, "FAILED")
            raise
        self.client.finalize_logged_model(logged.model_id, "READY")
        return f"models:/{logged.model_id}"

    def get(self, model: str, version: str | int) -> Any:
        """The registered version; ``RegistryStateError`` (not retried) when there is none."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(model, str(version))
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            raise RegistryStateError(f"model {model!r} has no version {str(version)!r} in the registry") from exc

    def alias_version(self, model: str, alias: str) -> Any | None:
        """The version holding ``alias``, None when none does (an outage raises RegistryUnavailable)."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(model, alias)
        except MlflowException:
            return None

    def stage_of(self, model: str, version: str | int) -> str | None:
        return self.get(model, version).tags.get(STAGE_TAG)

    def had_champion(self, model: str) -> bool:
        """An outage raises RegistryUnavailable (it must not look like "never had a champion")."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(model).tags.get(HAD_CHAMPION_TAG) == "true"
        except MlflowException:
            return False

    def record_move(
        self,
        model: str,
        version: str | int,
        target: str,
        *,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None = None,
        bootstrap: bool = False,
        rollback: bool = False,
        supersede_to: str = stages.ARCHIVED,
        audited: bool = True,
        points: str = "registry.move",
    ) -> dict[str, Any]:
        """Move a version to ``target``: check the table, then update tags and aliases.

        Idempotent: moving a version to the stage it is already in changes nothing.
        A version taking an alias pushes the previous holder to ``supersede_to`` (archived).
        The audit store (when set and ``audited``) gets a pending row first, then succeeded or
        failed with the error, so a failed move is on record too. The version's stage tag is
        written last: it says the MLflow side of the move is complete. ``points`` names the
        fail point ``<points>.after_alias`` (between the alias and the tags).
        """
        version = str(version)
        current = self.stage_of(model, version)
        record = {"from": current, "to": target, "reason": reason, "actor": actor, "version": version}
        if current == target:
            return {**record, "changed": False}
        check_move(current, target, bootstrap=bootstrap, rollback=rollback)
        deployment = None
        if self.audit is not None and audited:
            deployment = self.audit.begin(model, version, current, target, actor, reason, evidence or {})
        try:
            self._apply_move(model, version, current, target, reason, actor, evidence, supersede_to, audited, points)
        except Exception as exc:
            if deployment is not None:
                self.audit.finish(deployment, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        if deployment is not None:
            self.audit.finish(deployment, "succeeded")
        return {**record, "changed": True, "deployment_id": deployment}

    def _apply_move(
        self,
        model: str,
        version: str,
        current: str | None,
        target: str,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None,
        supersede_to: str,
        audited: bool,
        points: str,
    ) -> None:
        alias = ALIAS_FOR_STAGE.get(target)
        if alias:
            holder = self.alias_version(model, alias)
            if holder is not None and str(holder.version) != version:
                self.record_move(
                    model,
                    holder.version,
                    supersede_to,
                    reason=f"superseded by v{version}",
                    actor=actor,
                    audited=audited,
                )
            self.client.set_registered_model_alias(model, alias, version)
            failpoint(f"{points}.after_alias")
        leaving = ALIAS_FOR_STAGE.get(current or "")
        if leaving and (holder := self.alias_version(model, leaving)) is not None and str(holder.version) == version:
            self.client.delete_registered_model_alias(model, leaving)
        if target == stages.CHAMPION:
            self.client.set_registered_model_tag(model, HAD_CHAMPION_TAG, "true")
        if evidence:
            self.client.set_model_version_tag(model, version, evidence_tag(target), json.dumps(evidence)[:4900])
        self.write_stage(model, version, current, target, actor=actor, reason=reason)

    def write_stage(
        self, model: str, version: str, current: str | None, target: str, *, actor: str, reason: str
    ) -> None:
        """A history entry, then the version's stage tag (last: the move is complete). No checks,
        no aliases: ``record_move`` moves; ``include.deploy.reconcile`` repairs tags with this."""
        entry = {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),  # audit timestamp, not logic
            "from": current,
            "to": target,
            "by": actor,
            "reason": reason,
        }
        history = json.loads(self.get(model, version).tags.get(HISTORY_TAG, "[]"))
        history.append(entry)
        while len(json.dumps(history)) > _HISTORY_LIMIT and len(history) > 1:
            history.pop(0)
        self.client.set_model_version_tag(model, version, HISTORY_TAG, json.dumps(history))
        self.client.set_model_version_tag(model, version, STAGE_TAG, target)

    def stages(self, model: str) -> dict[str, str | None]:
        """{version: stage} as MLflow holds it (to reconcile with the audit table)."""
        versions = self.client.search_model_versions(f"name = '{model}'")
        return {str(v.version): v.tags.get(STAGE_TAG) for v in versions}

    def disagreements(self, model: str) -> list[dict[str, Any]]:
        """Where the audit table and MLflow disagree (empty when consistent or unaudited)."""
        if self.audit is None:
            return []
        return self.audit.reconcile(model, self.stages(model))

    # -- loading -------------------------------------------------------------------------------
    def load_model(self, model_uri: str, trusted_types: list[str]) -> Any:
        """Load a skops-serialised sklearn model, trusting only ``trusted_types``."""
        import yaml

        from include.platform.skops_io import skops_io

        local = download_artifact_uri(self.client, model_uri, self._creds)
        mlmodel = yaml.safe_load((local / "MLmodel").read_text())
        flavor = mlmodel.get("flavors", {}).get("sklearn")
        if not flavor:
            raise RegistryStateError(f"{model_uri} is not a scikit-learn model")
        if flavor.get("serialization_format") != "skops":
            raise RegistryStateError(
                f"{model_uri} is serialised as {flavor.get('serialization_format')!r}; only skops models are loaded"
            )
        return skops_io().load(local / flavor["pickled_model"], trusted=list(trusted_types))

    def download_artifact(self, run_id: str, path: str) -> Path:
        """A local copy of one artifact of a run (``contracts.Artifact``)."""
        return download_artifact_uri(self.client, f"runs:/{run_id}/{path}", self._creds)

    def load_version(self, model: str, version: str | int, trusted_types: list[str]) -> Any:
        return self.load_model(f"models:/{model}/{version}", trusted_types)
