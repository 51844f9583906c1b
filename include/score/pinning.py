"""The versions a scoring run uses: resolved once, then loaded by every task from the pins.

``models:/<name>@champion`` (and ``@challenger``) are resolved at the start of the run; the
tasks load those exact versions, so a promotion during the run cannot mix models.

The champion alias is trusted only when the audit trail agrees: an alias moved outside the
pipeline (MLflow's UI "Promote", the API) skipped gates, shadow evidence and the audit, so
scoring fails closed (``RegistryAuditMismatch``, a ``RegistryStateError``) until reconcile,
promote or rollback fixes it.
A registry without an audit trail (``registry.audit`` None: code outside Airflow that opts
out), or a model the trail has never seen, is scored with a warning in the log: Airflow's
``resolve_models`` always attaches the trail (its default is ``$MLOPS_STATE_DIR/audit.db``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from include.config import ModelConfig
from include.contracts import AB, CANARY, CHALLENGER_ALIAS, CHAMPION, CHAMPION_ALIAS
from include.errors import RegistryAuditMismatch, RegistryStateError
from include.ml.contract import load_contract
from include.platform.dates import partition_dates
from include.platform.registry import ModelRef
from include.score.payloads import CanaryPin, ModelPin, PinnedModels

log = logging.getLogger(__name__)


def _pin(config: ModelConfig, version: Any) -> ModelPin:
    return {"name": config.name, "version": str(version.version), "run_id": version.run_id}


def pin_models(
    registry: Any, config: ModelConfig, *, ds: str | None, ds_end: str | None, interval_start: Any, run_after: Any
) -> PinnedModels:
    """Pin the champion (and a challenger other than the champion) once for the whole run, and
    the dates it scores (Params ``ds``/``ds_end``, else the run's data interval)."""
    champion = registry.alias_version(config.name, CHAMPION_ALIAS)
    if champion is None:
        raise RegistryStateError(f"model {config.name!r} has no 'champion' alias: run retrain_{config.name} first")
    check_champion_trusted(registry, config.name, str(champion.version))
    challenger = registry.alias_version(config.name, CHALLENGER_ALIAS)
    distinct = challenger is not None and str(challenger.version) != str(champion.version)
    return {
        "champion": _pin(config, champion),
        "challenger": _pin(config, challenger) if distinct else None,
        "dates": partition_dates(ds, ds_end, interval_start, run_after),
        "run_after": _run_time(run_after),
        "canary": pin_canary(registry, config, str(challenger.version)) if distinct else None,
    }


def pin_canary(registry: Any, config: ModelConfig, version: str) -> CanaryPin | None:
    """The share of entities the challenger is published for: a canary's now (its latest step
    in the audit trail; the ramp's first share before any), an A/B test's arm; None for shadow."""
    from include.platform.audit.canary import CanarySteps, canary_salt, share_of

    if config.deploy.strategy == AB:
        from include.platform.audit.experiments import experiment_split

        split = experiment_split(config.name, version, config.deploy.ab_treatment_share)
        log.info(
            "%s: A/B test v%s published for its arm, %.0f%% of entities", config.name, version, split["share"] * 100
        )
        return {"share": split["share"], "salt": split["salt"]}
    if config.deploy.strategy != CANARY:
        return None
    audit = getattr(registry, "audit", None)
    state = CanarySteps(audit).latest(config.name, version) if audit is not None else None
    share = share_of(config.deploy.canary_ramp, state)
    log.info("%s: canary v%s published for %.0f%% of entities", config.name, version, share * 100)
    return {"share": share, "salt": canary_salt(config.name, version)}


def _run_time(run_after: Any) -> str:
    """The run's time as ISO 8601 UTC (now when the run has none): later rows are "in the future"."""
    import datetime as dt

    moment = run_after or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat()


def check_champion_trusted(registry: Any, name: str, version: str) -> None:
    """``RegistryAuditMismatch`` unless ``@champion`` (``version``) is the audit trail's champion, or
    the version of a champion move in flight (claimed, not finished)."""
    audit = getattr(registry, "audit", None)
    current = audit.current(name) if audit is not None else {}
    if audit is None or not current:
        log.warning("%s: no audit trail %s: @champion v%s is used unchecked", name, audit or "attached", version)
        return
    held = [v for v, s in current.items() if s == CHAMPION]
    if version in held:
        return
    if any(str(p["version"]) == version and p["to_stage"] == CHAMPION for p in audit.pending(name)):
        log.info("%s: @champion v%s is the champion of a move in flight", name, version)
        return
    audited = ", ".join(f"v{v}" for v in held) or "no version"
    raise RegistryAuditMismatch(
        f"{name}: @champion points at v{version} in MLflow but the audit trail's champion is {audited}: the "
        f"alias was moved outside the pipeline (MLflow UI or API), skipping the gates, the shadow evidence and "
        f"the audit, so scoring refuses it. Fix: trigger reconcile_{name} with restore_aliases=true to put "
        f"{audited} back (or `python -m include.deploy.reconcile {name} --repair --restore-aliases`); to change "
        f"the champion, run promote_{name} or rollback_{name}"
    )


def pinned_ref(pin: ModelPin) -> ModelRef:
    return ModelRef(name=pin["name"], version=pin["version"], run_id=pin["run_id"])


@dataclass(frozen=True)
class LoadedModels:
    """The pinned models loaded, with the champion's training scoring contract."""

    champion: tuple[ModelRef, Any]
    challenger: tuple[ModelRef, Any] | None
    contract: dict[str, Any]


def load_pinned(registry: Any, config: ModelConfig, pinned: PinnedModels) -> LoadedModels:
    """Load the pinned champion (and challenger) models and the champion's scoring contract."""
    champion = pinned_ref(pinned["champion"])
    champion_model = registry.load_model(champion.uri, config.skops_trusted_types)
    challenger = None
    pin = pinned.get("challenger")
    if pin:
        ref = pinned_ref(pin)
        challenger = (ref, registry.load_model(ref.uri, config.skops_trusted_types))
    return LoadedModels((champion, champion_model), challenger, load_contract(registry, champion))
