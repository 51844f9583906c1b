"""The versions a scoring run uses: resolved once, then loaded by every task from the pins.

``models:/<name>@champion`` (and ``@challenger``) are resolved at the start of the run; the
tasks load those exact versions, so a promotion during the run cannot mix models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.config import ModelConfig
from include.contracts import CHALLENGER_ALIAS, CHAMPION_ALIAS
from include.errors import RegistryStateError
from include.ml.contract import load_contract
from include.platform.dates import partition_dates
from include.platform.registry import ModelRef
from include.score.payloads import ModelPin, PinnedModels


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
    challenger = registry.alias_version(config.name, CHALLENGER_ALIAS)
    distinct = challenger is not None and str(challenger.version) != str(champion.version)
    return {
        "champion": _pin(config, champion),
        "challenger": _pin(config, challenger) if distinct else None,
        "dates": partition_dates(ds, ds_end, interval_start, run_after),
    }


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
