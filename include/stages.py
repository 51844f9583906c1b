"""The lifecycle of a model version: one table of allowed moves, enforced in one place.

    candidate -> shadow (alias ``challenger``) -> champion (alias ``champion``) -> archived
    any live stage -> rejected | archived

Bootstrap: the very first version of a model name may go ``candidate -> champion`` when it
passes every gate, because there is no champion to shadow against. Rollback: a version that
was champion before and was archived may return ``archived -> champion`` through the rollback
DAG only. Nothing else skips a stage or comes back.
"""

from __future__ import annotations

CANDIDATE, SHADOW, CHAMPION, ARCHIVED, REJECTED = "candidate", "shadow", "champion", "archived", "rejected"
STAGES = (CANDIDATE, SHADOW, CHAMPION, ARCHIVED, REJECTED)

ALLOWED_MOVES: dict[str | None, frozenset[str]] = {
    None: frozenset({CANDIDATE}),
    CANDIDATE: frozenset({SHADOW, REJECTED, ARCHIVED}),
    SHADOW: frozenset({CHAMPION, REJECTED, ARCHIVED}),
    CHAMPION: frozenset({ARCHIVED, REJECTED}),
    ARCHIVED: frozenset(),
    REJECTED: frozenset(),
}
BOOTSTRAP_MOVE = (CANDIDATE, CHAMPION)
ROLLBACK_MOVE = (ARCHIVED, CHAMPION)

# The registry alias that marks a stage; at most one version holds each alias.
ALIAS_FOR_STAGE = {SHADOW: "challenger", CHAMPION: "champion"}

STAGE_TAG = "mlops.stage"


class StageTransitionError(ValueError):
    """A move that the lifecycle does not allow."""


def check_move(current: str | None, target: str, *, bootstrap: bool = False, rollback: bool = False) -> None:
    if target not in STAGES:
        raise StageTransitionError(f"unknown stage {target!r}; stages: {list(STAGES)}")
    if target in ALLOWED_MOVES.get(current, frozenset()):
        return
    if bootstrap and (current, target) == BOOTSTRAP_MOVE:
        return
    if rollback and (current, target) == ROLLBACK_MOVE:
        return
    allowed = sorted(ALLOWED_MOVES.get(current, frozenset()))
    raise StageTransitionError(
        f"cannot move a version from {current or 'unregistered'!r} to {target!r}: "
        f"allowed from {current or 'unregistered'!r}: {allowed or 'nothing (final stage)'}"
    )
