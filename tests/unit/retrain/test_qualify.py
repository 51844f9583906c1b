"""Where a candidate goes: challenger (shadow), rejected, or champion for a name's first model."""

from __future__ import annotations

from include.contracts import CHALLENGER_ALIAS, CHAMPION, REJECTED, SHADOW
from include.platform import stages
from include.retrain.qualify import QualifyMove, qualify_move

PASSED = {"passed": True, "failed": [], "results": []}
FAILED = {"passed": False, "failed": ["min_roc_auc", "slice:region:south"], "results": []}


def test_passed_gates_make_a_challenger_that_shadows_the_champion():
    move = qualify_move(PASSED, had_champion=True)
    assert move == QualifyMove(
        CHALLENGER_ALIAS, SHADOW, False, "passed every gate; shadow-scores beside the champion until promoted"
    )
    assert move.target != CHAMPION  # never skips shadow once the name had a champion


def test_first_model_of_a_name_becomes_champion():
    move = qualify_move(PASSED, had_champion=False)
    assert (move.action, move.target, move.bootstrap) == (CHAMPION, CHAMPION, True)
    assert move.reason == "bootstrap: first model of this name passed every gate"


def test_failed_gates_reject_and_name_every_failure():
    for had_champion in (True, False):  # a failed first model is not a champion either
        move = qualify_move(FAILED, had_champion=had_champion)
        assert (move.action, move.target, move.bootstrap) == (REJECTED, REJECTED, False)
        assert move.reason == "gates failed: min_roc_auc, slice:region:south"


def test_every_move_is_one_the_lifecycle_table_allows():
    for gates, had_champion in ((PASSED, True), (PASSED, False), (FAILED, True)):
        move = qualify_move(gates, had_champion)
        stages.check_move(stages.CANDIDATE, move.target, bootstrap=move.bootstrap)  # raises if refused
