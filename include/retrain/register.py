"""Register stage: the trained model becomes a ``candidate`` version, with its lineage and gate
verdicts as tags and a model card. Registering the same run again returns the same version.

With an audit database the retrain claim (``include/platform/audit/claims.py``) is checked
first, in one transaction: a run whose claim was taken over, or whose process was told to stop,
registers nothing (``RunTerminated``); a window another run already registered returns that
version."""

from __future__ import annotations

from include.config import ModelConfig
from include.contracts import Tag
from include.ml import model_card
from include.platform.failpoints import failpoint
from include.platform.registry import ModelRegistry, code_version
from include.retrain.payloads import GateReportDict, PulledDataset, RegisteredVersion, TrainedRun


def version_tags(pulled: PulledDataset, trained: TrainedRun, gates: GateReportDict, actor: str) -> dict[str, str]:
    """Lineage (run key, data hash, window, code) and gate verdicts of the new version."""
    return {
        Tag.RUN_KEY: trained["run_key"],
        Tag.DATA_HASH: pulled["data_hash"],
        Tag.WINDOW: f"{pulled['window_start']}..{pulled['window_end']}",
        Tag.CODE_VERSION: code_version(),
        Tag.GATES_PASSED: str(gates["passed"]).lower(),
        Tag.GATES_FAILED: ",".join(gates["failed"]) or "-",
        Tag.ACTOR: actor,
    }


def card_link(registry: ModelRegistry, run_id: str, card_uri: str) -> str:
    """The model card in the MLflow UI (the run's page with the card open), else its ``runs:/`` URI."""
    from include.platform.mlflow_links import registry_run_url

    return registry_run_url(registry, run_id, artifact=card_uri.removeprefix(f"runs:/{run_id}/")) or card_uri


def version_description(config: ModelConfig, pulled: PulledDataset, gates: GateReportDict, card: str) -> str:
    """The version's description in MLflow: a short model card (what, trained on, gates) and its link."""
    verdict = "all passed" if gates["passed"] else f"failed: {', '.join(gates['failed'])}"
    lines = [
        config.description or f"{config.task} model {config.name}",
        f"Trained on {pulled['window_start']}..{pulled['window_end']} ({pulled['rows']} rows, "
        f"data {pulled['data_hash'][:12]}); target `{config.target}`; owner {config.owner}.",
        f"Validation gates: {verdict}.",
        f"Model card: {card}",
    ]
    return "\n\n".join(lines)


def register_candidate(
    registry: ModelRegistry,
    config: ModelConfig,
    pulled: PulledDataset,
    trained: TrainedRun,
    gates: GateReportDict,
    *,
    actor: str = "",
) -> RegisteredVersion:
    """Register the run's model (once per run key when claimed, once per run anyway) and publish its card."""
    from include.retrain.train import retrain_claims

    claims, owner, key = retrain_claims(registry), actor or "unknown", trained["run_key"]
    claim = claims.begin_register(config.name, key, owner, trained["run_id"]) if claims is not None else None
    if claim is not None and claim.done and claim.version is not None:
        version = registry.get(config.name, claim.version)  # registered by the run that held the claim
    else:
        failpoint("retrain.register.before_version")
        tags = version_tags(pulled, trained, gates, actor)
        version = registry.register(config.name, trained["model_uri"], trained["run_id"], tags, config.description)
        if claims is not None:
            claims.registered(config.name, key, owner, str(version.version))
    card = model_card.publish_card(registry, config, version.version)
    description = version_description(config, pulled, gates, card_link(registry, trained["run_id"], card["html"]))
    registry.client.update_model_version(config.name, str(version.version), description=description)
    return RegisteredVersion(
        version=str(version.version),
        stage=registry.stage_of(config.name, version.version),
        model_card=card["html"],
    )
