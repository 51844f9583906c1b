"""Two scoring runs of one date that overlap always leave a complete, verifiable partition.

Manual runs, backfills and ``airflow dags test`` are not held by ``max_active_runs``: run A and
run B of the same date can score and publish in any order. Every interleaving of A.score,
A.publish, B.score, B.publish (each run's score before its publish) is forced here with the
real plan / score_unit / publish on a real local data root (the S3 backend is exercised in
``tests/integration/test_scoring_faults.py``).

The rule: the later publish wins. Its manifest is the partition, its result names the run it
replaced (``replaced``); the earlier publish's files are deleted by the later commit because
its manifest listed them. No commit deletes another run's unpublished files.
"""

from __future__ import annotations

import itertools

import pytest

from include.platform import partitions as P
from include.score.publish import publish
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW
from tests.unit.score.helpers import (
    CHAMPION,
    DS,
    MODEL,
    day_features,
    files_on_disk,
    publish_features,
    run_scoring,
    score_all,
    verify_partition,
)

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS = ("A.score", "A.publish", "B.score", "B.publish")
RUNS = {"A": "manual__overlap_a", "B": "backfill__overlap_b"}


def orderings() -> list[tuple[str, ...]]:
    """The 6 orders of the four steps in which each run scores before it publishes."""
    return [
        order
        for order in itertools.permutations(STEPS)
        if order.index("A.score") < order.index("A.publish") and order.index("B.score") < order.index("B.publish")
    ]


def test_there_are_six_orderings():
    assert len(orderings()) == 6


@pytest.mark.parametrize("order", orderings(), ids=lambda o: "-".join(s.replace(".", "") for s in o))
def test_overlapping_runs_of_one_date_end_in_a_verifiable_partition(storage, config, model, contract, order):
    frame = day_features(DS, rows=1200)
    publish_features(storage, DS, frame, rows_per_file=300)
    run_scoring(storage, config, [DS], "scheduled__base", model, contract)  # a previous version
    scored: dict[str, tuple] = {}
    results: dict[str, dict] = {}
    for step in order:
        run, what = step.split(".")
        if what == "score":
            scored[run] = score_all(storage, config, [DS], RUNS[run], model, contract)
        else:
            units, stats = scored[run]
            results[run] = publish(storage, config, units, stats, contract, CHAMPION, run_id=RUNS[run])

    first, last = sorted("AB", key=lambda r: order.index(f"{r}.publish"))
    # Both runs report success with the truth: the later one replaced the earlier one.
    assert results[first]["replaced"] == {DS: "scheduled__base"}
    assert results[last]["replaced"] == {DS: RUNS[first]}
    assert results[first]["dates"][DS]["rows_scored"] == results[last]["dates"][DS]["rows_scored"] == 1200

    manifest, out = verify_partition(storage, PREDICTIONS)
    assert manifest.meta["run_id"] == RUNS[last] and manifest.rows == 1200
    assert set(out["run_id"]) == {RUNS[last]}
    assert manifest.replaces == results[first]["token"]
    # Nothing of the earlier run or of the base version is left anywhere (no orphans).
    for dataset in (PREDICTIONS, QUARANTINE, SHADOW):
        if P.read_manifest(storage, dataset, MODEL, DS):
            verify_partition(storage, dataset)
    token = results[last]["token"]
    leftovers = {f for d in (PREDICTIONS, QUARANTINE, SHADOW) for f in files_on_disk(storage, d)}
    assert all(token in f or f.endswith(P.MANIFEST) for f in leftovers), leftovers
