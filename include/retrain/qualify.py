"""Qualify stage: a new ``candidate`` version moves on by its gate verdicts.

* every gate passed -> ``shadow`` (alias ``challenger``): it shadow-scores beside the champion
  until the deploy pipeline promotes it;
* every gate passed and the model name never had a champion -> ``champion`` (bootstrap);
* a gate failed -> ``rejected``.

Promotion (challenger -> champion) is not this stage: it is the deploy pipeline's.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.config import ModelConfig
from include.contracts import CHALLENGER_ALIAS, CHAMPION, REJECTED, SHADOW
from include.ml import model_card
from include.platform import stages
from include.platform.registry import ModelRegistry
from include.retrain.payloads import GateReportDict, Qualification, RegisteredVersion


@dataclass(frozen=True)
class QualifyMove:
    action: str  # what the summary and the notification call it
    target: str  # the stage the version moves to
    bootstrap: bool
    reason: str


def qualify_move(gates: GateReportDict, had_champion: bool) -> QualifyMove:
    """Where a candidate goes, from its gate verdicts and whether the name ever had a champion."""
    if not gates["passed"]:
        return QualifyMove(REJECTED, REJECTED, False, "gates failed: " + ", ".join(gates["failed"]))
    if not had_champion:
        return QualifyMove(CHAMPION, CHAMPION, True, "bootstrap: first model of this name passed every gate")
    return QualifyMove(
        CHALLENGER_ALIAS, SHADOW, False, "passed every gate; shadow-scores beside the champion until promoted"
    )


def qualify(
    registry: ModelRegistry,
    config: ModelConfig,
    registered: RegisteredVersion,
    gates: GateReportDict,
    *,
    actor: str = "",
) -> Qualification:
    """candidate -> challenger when every gate passed (-> champion for the very first model),
    -> rejected when not. A version that is no longer a candidate is left where it is."""
    name, version = config.name, registered["version"]
    current = registry.stage_of(name, version)
    if current != stages.CANDIDATE:
        return Qualification(action="none", stage=current, version=version, reason=f"already {current}")
    move = qualify_move(gates, had_champion=gates["passed"] and registry.had_champion(name))
    registry.record_move(
        name,
        version,
        move.target,
        reason=move.reason,
        actor=actor,
        evidence=dict(gates),
        bootstrap=move.bootstrap,
    )
    model_card.publish_card(registry, config, version)  # the card shows the new stage and history
    return Qualification(action=move.action, stage=move.target, version=version, reason=move.reason)
