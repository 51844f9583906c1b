"""Bring MLflow and the audit trail of one model back together; the audit trail is the truth.

0. A model the audit trail has **never seen** (a new audit database) is adopted once: every
   version's MLflow stage is recorded as it is (``adopted``).
1. **Pending moves** (claims of ``include.deploy.claims`` whose worker died): MLflow side
   complete (the version's stage tag and alias) -> finished ``succeeded``; otherwise ->
   ``failed`` and MLflow is put back (step 2). A pending move younger than ``stale_after``
   seconds is left alone (``in_flight``: its worker may still be running) unless it is the
   caller's own (``actor``: a retry of the same task).
2. **Stage tags** that lag the audit trail are rolled to it (with a history entry), and then
   the ``champion``/``challenger`` aliases are set to the audit trail's holders.
3. **Aliases moved outside the pipeline** (MLflow's UI "Promote", the API) with the stage tags
   in agreement are reported as ``alias_drift``; ``restore_aliases`` puts them back to the
   audit trail's holders. Versions only one side knows are reported, never guessed.

Runs as the first task of ``promote_<model>`` and ``rollback_<model>``, as the manual
``reconcile_<model>`` DAG, and from the command line::

    python -m include.deploy.reconcile <model> [--repair] [--restore-aliases] [--stale-after S]

(``MLFLOW_TRACKING_URI``; the audit DB of ``MLOPS_AUDIT_DB_URL`` or ``$MLOPS_STATE_DIR/audit.db``).
Without ``--repair`` it only reports. Exit status 0 when nothing is left apart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from include.contracts import ALIAS_FOR_STAGE, ARCHIVED
from include.deploy.payloads import AliasDriftPayload, ReconcilePayload, SettledMovePayload, StageRepairPayload
from include.errors import AuditError, RegistryAuditMismatch, RegistryStateError

if TYPE_CHECKING:
    from include.platform.registry import ModelRegistry

log = logging.getLogger(__name__)

STALE_AFTER = 300.0  # seconds: a pending move this old has no live worker (a move takes seconds)
RECONCILED = "reconciled to the audit trail"
ADOPTED = "adopted from MLflow: the audit trail had no record of this model"


def stale_claim_message(name: str, row: dict[str, Any]) -> str:
    """Why a move is refused while another one is pending, and how to clear it."""
    return (
        f"{name}: a move of v{row['version']} {row['from_stage']} -> {row['to_stage']} by {row['actor']} "
        f"(audit deployment {row['deployment_id']}, since {row['created_at']}) is still pending: refused. "
        f"If that task is no longer running, trigger reconcile_{name} (or run "
        f"`python -m include.deploy.reconcile {name} --repair`); it settles a pending move older than "
        f"{int(STALE_AFTER)} s, and the next promote/rollback run does it first"
    )


# -- 0. a model the audit trail has never seen ---------------------------------------------------------
def adopt(registry: ModelRegistry, model: str, *, by: str) -> list[str]:
    """A model the audit trail knows nothing of (a new audit database, a model registered
    without it) is adopted once: every version's MLflow stage recorded as it is. Returns the
    versions recorded (empty when the trail already knows the model)."""
    audit = registry.audit
    if audit is None or audit.current(model):
        return []
    theirs = {v: s for v, s in registry.stages(model).items() if s}
    order = sorted(theirs, key=lambda v: (theirs[v] in ALIAS_FOR_STAGE, int(v) if v.isdigit() else 0))
    for version in order:  # aliased stages last: a holder is recorded once, never superseded
        audit.record(model, version, None, theirs[version], actor=by, reason=ADOPTED)
    if order:
        log.warning("%s: adopted into the audit trail from MLflow: %s", model, theirs)
    return order


# -- 1. pending moves --------------------------------------------------------------------------------
def settle_pending(
    registry: ModelRegistry, model: str, *, by: str, actor: str | None = None, stale_after: float = STALE_AFTER
) -> list[SettledMovePayload]:
    """Finish the model's pending moves by the rule of the module docstring.

    ``actor``: settle only that actor's moves, whatever their age (a retried task settles its
    own first try); None: every actor's move older than ``stale_after`` seconds, and any whose
    MLflow side is complete. ``by`` is recorded as who settled them.
    """
    audit = registry.audit
    if audit is None:
        return []
    settled: list[SettledMovePayload] = []
    now = dt.datetime.now(dt.UTC)
    for row in audit.pending(model):
        if actor is not None and row["actor"] != actor:
            continue
        done = _mlflow_done(registry, model, row)
        stale = actor is not None or (now - _aware(row["created_at"])).total_seconds() >= stale_after
        if not (done or stale):
            continue
        outcome = _finish(audit, row, done=done, by=by)
        settled.append(
            {
                "deployment_id": int(row["deployment_id"]),
                "version": str(row["version"]),
                "from_stage": row["from_stage"],
                "to_stage": row["to_stage"],
                "actor": row["actor"],
                "outcome": outcome,
            }
        )
        log.warning("%s: pending move %s settled as %s", model, row["deployment_id"], outcome)
    if any(s["outcome"] != "succeeded" for s in settled):  # audit.SUCCEEDED
        restore_mlflow(registry, model, by=by, aliases=True)
    return settled


def _finish(audit: Any, row: dict[str, Any], *, done: bool, by: str) -> str:
    from include.platform.audit.schema import FAILED, SUCCEEDED

    status = SUCCEEDED if done else FAILED
    supersede_to = (row.get("evidence") or {}).get("bad_stage") or ARCHIVED
    try:
        if done:
            audit.finish(row["deployment_id"], status, supersede_to=supersede_to)
        else:
            audit.finish(row["deployment_id"], status, error=f"abandoned before MLflow was moved; settled by {by}")
    except AuditError:  # finished meanwhile by its own worker
        return str(audit.get(row["deployment_id"])["status"])
    return status


def _mlflow_done(registry: ModelRegistry, model: str, row: dict[str, Any]) -> bool:
    """True when MLflow holds the move: the stage tag (written last) and the stage's alias."""
    version, target = str(row["version"]), row["to_stage"]
    try:
        if registry.stage_of(model, version) != target:
            return False
    except RegistryStateError:
        return False
    alias = ALIAS_FOR_STAGE.get(target)
    holder = registry.alias_version(model, alias) if alias else None
    return alias is None or (holder is not None and str(holder.version) == version)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# -- 2. and 3. MLflow back to the audit trail ---------------------------------------------------------
def restore_mlflow(
    registry: ModelRegistry, model: str, *, by: str, aliases: bool
) -> tuple[list[StageRepairPayload], list[AliasDriftPayload]]:
    """Stage tags that differ from the audit trail are set to it; then, when a tag was repaired
    or ``aliases`` is set, the aliases go to the audit trail's holders. Versions MLflow does
    not know are left (reported by ``reconcile``). Nothing happens for a model the trail does
    not know."""
    ours = registry.audit.current(model) if registry.audit is not None else {}
    if not ours:
        return [], []
    theirs = registry.stages(model)
    repaired: list[StageRepairPayload] = []
    for version, stage in ours.items():
        if version in theirs and theirs[version] != stage:
            registry.write_stage(model, version, theirs[version], stage, actor=by, reason=RECONCILED)
            repaired.append({"version": version, "audit": stage, "registry": theirs[version]})
    moved: list[AliasDriftPayload] = []
    if aliases or repaired:
        for drift in alias_drift(registry, model):
            if drift["audit"] is None:
                registry.client.delete_registered_model_alias(model, drift["alias"])
            elif drift["audit"] in theirs:
                registry.client.set_registered_model_alias(model, drift["alias"], drift["audit"])
            else:
                continue
            moved.append(drift)
    return repaired, moved


def alias_drift(registry: ModelRegistry, model: str) -> list[AliasDriftPayload]:
    """Aliases whose MLflow holder is not the audit trail's holder of the stage (empty for a
    model the trail does not know)."""
    ours = registry.audit.current(model) if registry.audit is not None else {}
    if not ours:
        return []
    drift: list[AliasDriftPayload] = []
    for stage, alias in ALIAS_FOR_STAGE.items():
        held = [v for v, s in ours.items() if s == stage]
        want = held[-1] if held else None
        holder = registry.alias_version(model, alias)
        have = str(holder.version) if holder is not None else None
        if want != have:
            drift.append({"alias": alias, "registry": have, "audit": want})
    return drift


# -- the whole check ---------------------------------------------------------------------------------
def reconcile(
    registry: ModelRegistry,
    model: str,
    *,
    repair: bool,
    restore_aliases: bool = False,
    by: str,
    stale_after: float = STALE_AFTER,
) -> ReconcilePayload:
    """Compare the audit trail and MLflow for ``model``; with ``repair``, settle stale pending
    moves and roll MLflow to the audit trail; with ``restore_aliases`` too, put aliases moved
    outside the pipeline back. Returns what was found, done and left."""
    audited = registry.audit is not None
    adopted = adopt(registry, model, by=by) if audited and repair else []
    settled: list[SettledMovePayload] = []
    repaired: list[StageRepairPayload] = []
    moved: list[AliasDriftPayload] = []
    if audited and repair:
        settled = settle_pending(registry, model, by=by, stale_after=stale_after)
        repaired, moved = restore_mlflow(registry, model, by=by, aliases=False)
        if restore_aliases:
            moved += restore_mlflow(registry, model, by=by, aliases=True)[1]
    in_flight = [int(p["deployment_id"]) for p in registry.audit.pending(model)] if audited else []
    drift = alias_drift(registry, model)
    disagreements = registry.disagreements(model)
    return {
        "model": model,
        "audited": audited,
        "repair": repair,
        "adopted": adopted,
        "settled": settled,
        "repaired": repaired,
        "aliases_moved": moved,
        "alias_drift": drift,
        "in_flight": in_flight,
        "disagreements": disagreements,
        "ok": not (in_flight or drift or disagreements),
    }


def check_reconciled(result: ReconcilePayload) -> None:
    """``RegistryAuditMismatch`` (a ``RegistryStateError``: not retried) naming what is left apart and how to fix it.
    Pending moves still in flight alone do not fail: their own workers finish them."""
    model = result["model"]
    if result["ok"] or (result["in_flight"] and not (result["alias_drift"] or result["disagreements"])):
        return
    if result["in_flight"]:
        log.warning("%s: moves %s are still pending; what differs may be theirs", model, result["in_flight"])
        return
    problems = [
        f"alias {d['alias']!r} points at v{d['registry']} in MLflow, the audit trail's holder is v{d['audit']}"
        for d in result["alias_drift"]
    ] + [f"v{d['version']}: audit {d['audit']!r}, MLflow {d['registry']!r}" for d in result["disagreements"]]
    raise RegistryAuditMismatch(
        f"{model}: MLflow and the audit trail disagree: {'; '.join(problems)}. An alias moved outside the "
        f"pipeline (MLflow UI or API) skips gates, shadow evidence and the audit: trigger reconcile_{model} "
        f"with restore_aliases=true to put the audit trail's versions back (or run "
        f"`python -m include.deploy.reconcile {model} --repair --restore-aliases`), then promote_{model} or "
        f"rollback_{model} to move the champion through the pipeline"
    )


# -- command line ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.deploy.reconcile", description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--repair", action="store_true", help="settle pending moves, roll MLflow to the audit trail")
    parser.add_argument("--restore-aliases", action="store_true", help="also put aliases moved outside back")
    parser.add_argument("--stale-after", type=float, default=STALE_AFTER, help="seconds (default %(default)s)")
    args = parser.parse_args(argv)
    from include.platform.audit import AuditStore
    from include.platform.registry import ModelRegistry

    with AuditStore() as audit:
        registry = ModelRegistry(audit=audit)
        result = reconcile(
            registry,
            args.model,
            repair=args.repair,
            restore_aliases=args.restore_aliases,
            by="cli:reconcile",
            stale_after=args.stale_after,
        )
    print(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
