"""The lifecycle of a model version: one table of allowed moves, enforced in one place.

    candidate -> shadow (alias ``challenger``) -> champion (alias ``champion``) -> archived
    any live stage -> rejected | archived

Bootstrap: the very first version of a model name may go ``candidate -> champion`` when it
passes every gate, because there is no champion to shadow against. Rollback: a version that
was champion before and was archived may return ``archived -> champion`` through the rollback
DAG only. Nothing else skips a stage or comes back.
"""

from __future__ import annotations

from include.contracts import ALIAS_FOR_STAGE, ARCHIVED, CANDIDATE, CHAMPION, REJECTED, SHADOW, STAGES, Tag
from include.errors import StageTransitionError

__all__ = [
    "ALIAS_FOR_STAGE",
    "ALLOWED_MOVES",
    "ARCHIVED",
    "CANDIDATE",
    "CHAMPION",
    "REJECTED",
    "SHADOW",
    "STAGES",
    "StageTransitionError",
    "check_move",
]

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

STAGE_TAG = Tag.STAGE


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
