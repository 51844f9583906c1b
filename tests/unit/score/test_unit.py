"""Scoring one unit (include/score/unit.py) with real parts.

Real parquet partitions on a LocalStorage under tmp_path, a real (small) model trained with
``include.ml.training.fit`` on generated data, and its scoring contract. The tests of the
``*_pinned`` entry points serve the pinned model and contract from ``StubRegistry`` (memory);
the same path against a real MLflow server runs in tests/e2e/test_batch_score_dag.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.contracts import Artifact
from include.ml.evaluation import predict_scores
from include.platform import partitions as P
from include.platform.storage import LocalStorage
from include.score.plan import plan
from include.score.publish import publish
from include.score.unit import score_pinned_unit, score_unit
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW, run_token
from tests.unit.score.helpers import (
    CHALLENGER,
    CHAMPION,
    DS,
    KEY,
    MODEL,
    OUTPUT_COLUMNS,
    StubRegistry,
    day_features,
    expected_scores,
    files_on_disk,
    keys,
    publish_features,
    read_sorted,
    run_scoring,
    score_all,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_retried_unit_overwrites_its_own_files(storage, config, model, contract):
    publish_features(storage, DS, day_features(), rows_per_file=400)
    run_id = "scheduled__retry"
    assert run_token(run_id) == run_token(run_id) != run_token(run_id + "x")
    units, stats = score_all(storage, config, [DS], run_id, model, contract)
    # Airflow retries the first mapped task: same run, same unit, same output names.
    stats[0] = score_unit(storage, config, units[0], (CHAMPION, model), contract, run_id=run_id)
    publish(storage, config, units, stats, contract, CHAMPION, run_id=run_id)
    out = read_sorted(storage, PREDICTIONS)
    assert len(out) == 1500
    assert not out.duplicated(KEY).any()


def test_quarantine_chunks_with_an_all_null_column(storage, strict_config, model, contract):
    config = strict_config  # unseen categories quarantined
    frame = day_features()
    frame.loc[10, "contract_type"] = "lifetime"  # first chunk: payment_method present
    frame.loc[[610, 620], "contract_type"] = "lifetime"
    frame.loc[[610, 620], "payment_method"] = None  # second chunk: payment_method all null
    publish_features(storage, DS, frame, rows_per_file=1500)
    run_scoring(storage, config, [DS], "scheduled__nulls", model, contract)
    assert len(P.read_partition(storage, QUARANTINE, MODEL, DS)) == 3


def test_challenger_scores_in_shadow_beside_an_unchanged_champion(tmp_path, config, model, contract, challenger):
    plain, shadowed = LocalStorage(tmp_path / "plain"), LocalStorage(tmp_path / "shadowed")
    frame = day_features()
    for storage in (plain, shadowed):
        publish_features(storage, DS, frame, rows_per_file=400)
    run_id = "scheduled__shadow"
    run_scoring(plain, config, [DS], run_id, model, contract)
    result = run_scoring(shadowed, config, [DS], run_id, model, contract, challenger=challenger)

    champion_out = read_sorted(shadowed, PREDICTIONS)
    pd.testing.assert_frame_equal(champion_out, read_sorted(plain, PREDICTIONS))
    assert P.read_manifest(plain, SHADOW, MODEL, DS) is None

    shadow_out = read_sorted(shadowed, SHADOW)
    assert list(shadow_out.columns) == OUTPUT_COLUMNS
    assert keys(shadow_out) == keys(champion_out)
    assert set(shadow_out["model_version"]) == {CHALLENGER.version}
    rows = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    np.testing.assert_allclose(shadow_out["score"].to_numpy(), expected_scores(challenger, config, rows), rtol=1e-12)

    shadow = result["dates"][DS]["shadow"]
    assert shadow["version"] == CHALLENGER.version
    assert shadow["rows"] == 1500
    agree = (shadow_out["prediction"] == champion_out["prediction"]).mean()
    assert 0 <= shadow["agreement"] <= 1
    assert shadow["agreement"] == pytest.approx(agree)
    diff = (shadow_out["score"] - champion_out["score"]).abs().mean()
    assert shadow["mean_abs_score_diff"] == pytest.approx(diff) and diff > 0  # really another model
    assert shadow["error_rate"] == 0
    assert shadow["latency_ms_per_1k"] > 0
    stored = P.read_manifest(shadowed, PREDICTIONS, MODEL, DS).meta["summary"]["shadow"]
    assert stored == pytest.approx(shadow)


def test_a_canary_publishes_the_challengers_scores_for_its_share_of_entities(
    tmp_path, config, model, contract, challenger
):
    """deploy.strategy canary: the hash-selected entities get the challenger's scores, every
    published row names the version that scored it, the shadow output still holds every row,
    and a larger share keeps every entity of the smaller one (none moves back)."""
    from include.platform.assignment import in_share

    frame = day_features()
    rows = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    champion_scores, challenger_scores = expected_scores(model, config, rows), expected_scores(challenger, config, rows)
    canaries = {}
    for share in (0.25, 0.5):
        storage = LocalStorage(tmp_path / f"canary-{share}")
        publish_features(storage, DS, frame, rows_per_file=400)
        canary = {"share": share, "salt": "churn:canary:v2"}
        result = run_scoring(storage, config, [DS], "scheduled__canary", model, contract, challenger, canary=canary)
        out = read_sorted(storage, PREDICTIONS)
        expected = np.array(in_share(out[config.entity_id].tolist(), canary["salt"], share))
        assert (out["model_version"] == CHALLENGER.version).to_numpy().tolist() == expected.tolist()
        assert abs(expected.mean() - share) < 0.06  # about the share of 1,500 entities
        np.testing.assert_allclose(out["score"], np.where(expected, challenger_scores, champion_scores), rtol=1e-12)
        assert len(read_sorted(storage, SHADOW)) == len(out) == 1500  # the challenger scored every row
        summary = result["dates"][DS]
        assert summary["rows_canary"] == int(expected.sum()) and summary["rows_scored"] == 1500
        canaries[share] = set(out.loc[expected, config.entity_id])
    assert canaries[0.25] < canaries[0.5]


def test_a_failing_challenger_never_blocks_the_champion(tmp_path, config, model, contract, broken_challenger):
    plain, shadowed = LocalStorage(tmp_path / "plain"), LocalStorage(tmp_path / "shadowed")
    for storage in (plain, shadowed):
        publish_features(storage, DS, day_features(), rows_per_file=400)
    with pytest.raises(ValueError):  # the challenger really cannot score these rows
        predict_scores(config, broken_challenger, day_features().iloc[:10])
    run_id = "scheduled__broken"
    run_scoring(plain, config, [DS], run_id, model, contract)
    result = run_scoring(shadowed, config, [DS], run_id, model, contract, challenger=broken_challenger)

    shadow = result["dates"][DS]["shadow"]
    assert shadow["error_rate"] == 1.0
    assert shadow["rows"] == 0
    assert shadow["agreement"] is None
    assert result["dates"][DS]["rows_scored"] == 1500
    pd.testing.assert_frame_equal(read_sorted(shadowed, PREDICTIONS), read_sorted(plain, PREDICTIONS))
    assert P.read_manifest(shadowed, SHADOW, MODEL, DS) is None
    assert not files_on_disk(shadowed, SHADOW)


# -- the mapped task's entry point ---------------------------------------------------------------
def _pin(ref):
    return {"name": ref.name, "version": ref.version, "run_id": ref.run_id}


COUNTS = ("ds", "index", "rows_in", "rows_scored", "rows_quarantined", "reasons", "nulls", "histogram", "positives")


@pytest.mark.parametrize("with_challenger", [True, False], ids=["champion-and-challenger", "champion-only"])
def test_score_pinned_unit_loads_the_pinned_versions_and_the_champions_contract(
    tmp_path, storage, config, model, contract, challenger, with_challenger
):
    publish_features(storage, DS, day_features(), rows_per_file=400)
    registry = StubRegistry(
        tmp_path,
        models={CHAMPION.uri: model, CHALLENGER.uri: challenger},
        contracts={CHAMPION.run_id: contract},
    )
    pinned = {"champion": _pin(CHAMPION), "challenger": _pin(CHALLENGER) if with_challenger else None, "dates": [DS]}
    unit = plan(storage, config, [DS])[0]

    stats = score_pinned_unit(registry, storage, config, unit, pinned, run_id="scheduled__pinned")

    loads = [("load_model", CHAMPION.uri), *([("load_model", CHALLENGER.uri)] if with_challenger else [])]
    assert registry.calls == [*loads, ("download_artifact", CHAMPION.run_id, Artifact.SCORING_CONTRACT)]
    second = (CHALLENGER, challenger) if with_challenger else None
    direct = score_unit(storage, config, unit, (CHAMPION, model), contract, run_id="other", challenger=second)
    assert {k: stats[k] for k in COUNTS} == {k: direct[k] for k in COUNTS}
    assert stats["rows_scored"] == unit["rows"] > 0
    if with_challenger:
        assert stats["shadow"]["version"] == CHALLENGER.version
        assert stats["shadow"]["rows"] == unit["rows"]
        assert stats["files"][SHADOW]["rows"] == unit["rows"]
    else:
        assert stats["shadow"] is None
        assert set(stats["files"]) == {PREDICTIONS, QUARANTINE}
    assert stats["files"][QUARANTINE] is None  # clean rows: no quarantine file
    assert stats["files"][PREDICTIONS]["name"].startswith(f"part-{run_token('scheduled__pinned')}-")
