"""The model-version lifecycle: one table of allowed moves, enforced by check_move."""

from __future__ import annotations

import itertools

import pytest

from include.platform.stages import (
    ALIAS_FOR_STAGE,
    ALLOWED_MOVES,
    ARCHIVED,
    BOOTSTRAP_MOVE,
    CANDIDATE,
    CHAMPION,
    REJECTED,
    ROLLBACK_MOVE,
    SHADOW,
    STAGES,
    StageTransitionError,
    check_move,
)

ALLOWED = sorted(((src, dst) for src, targets in ALLOWED_MOVES.items() for dst in targets), key=str)
DISALLOWED = [
    (CANDIDATE, CHAMPION),  # only with bootstrap
    (CANDIDATE, CANDIDATE),
    (SHADOW, CANDIDATE),
    (SHADOW, SHADOW),
    (CHAMPION, SHADOW),
    (CHAMPION, CANDIDATE),
    (CHAMPION, CHAMPION),
    (ARCHIVED, CHAMPION),  # only with rollback
    (ARCHIVED, SHADOW),
    (ARCHIVED, CANDIDATE),
    *((REJECTED, stage) for stage in STAGES),
    (None, SHADOW),
    (None, CHAMPION),
]


def test_the_table_covers_every_stage_and_only_known_stages():
    assert set(ALLOWED_MOVES) == {None, *STAGES}
    for targets in ALLOWED_MOVES.values():
        assert targets <= set(STAGES)
    assert set(ALIAS_FOR_STAGE) == {SHADOW, CHAMPION}
    assert ALLOWED_MOVES[ARCHIVED] == ALLOWED_MOVES[REJECTED] == frozenset()


def test_the_documented_lifecycle_is_allowed():
    path = [None, CANDIDATE, SHADOW, CHAMPION, ARCHIVED]
    for current, target in itertools.pairwise(path):
        check_move(current, target)
    assert len(ALLOWED) == 9


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=[f"{c}->{t}" for c, t in ALLOWED])
def test_every_allowed_move_passes(current, target):
    check_move(current, target)
    check_move(current, target, bootstrap=True)  # bootstrap never forbids a normal move


@pytest.mark.parametrize(("current", "target"), DISALLOWED, ids=[f"{c}->{t}" for c, t in DISALLOWED])
def test_disallowed_move_raises_naming_both_stages(current, target):
    with pytest.raises(StageTransitionError) as excinfo:
        check_move(current, target)
    message = str(excinfo.value)
    assert repr(current or "unregistered") in message
    assert repr(target) in message


def test_disallowed_move_message_lists_what_is_allowed():
    with pytest.raises(StageTransitionError) as excinfo:
        check_move(SHADOW, CANDIDATE)
    for allowed in (CHAMPION, REJECTED, ARCHIVED):
        assert allowed in str(excinfo.value)
    with pytest.raises(StageTransitionError, match="final stage"):
        check_move(REJECTED, CHAMPION)


def test_bootstrap_allows_only_candidate_to_champion():
    assert BOOTSTRAP_MOVE == (CANDIDATE, CHAMPION)
    check_move(CANDIDATE, CHAMPION, bootstrap=True)
    for current, target in DISALLOWED:
        if (current, target) in (BOOTSTRAP_MOVE, ROLLBACK_MOVE):
            continue
        with pytest.raises(StageTransitionError):
            check_move(current, target, bootstrap=True)
    with pytest.raises(StageTransitionError):
        check_move(ARCHIVED, CHAMPION, bootstrap=True)


def test_unknown_target_stage():
    with pytest.raises(StageTransitionError, match=r"unknown stage 'production'"):
        check_move(CANDIDATE, "production")
    with pytest.raises(StageTransitionError, match=r"unknown stage 'Champion'"):
        check_move(SHADOW, "Champion", bootstrap=True)


def test_unknown_current_stage():
    with pytest.raises(StageTransitionError) as excinfo:
        check_move("staging", ARCHIVED)
    assert "'staging'" in str(excinfo.value) and "'archived'" in str(excinfo.value)


def test_rollback_allows_only_archived_to_champion():
    assert ROLLBACK_MOVE == (ARCHIVED, CHAMPION)
    check_move(ARCHIVED, CHAMPION, rollback=True)
    for current, target in DISALLOWED:
        if (current, target) == ROLLBACK_MOVE:
            continue
        with pytest.raises(StageTransitionError):
            check_move(current, target, rollback=True)


def test_a_bad_champion_can_be_rejected():
    check_move(CHAMPION, REJECTED)
