"""Row policies of scoring on real, messy data (issue 11, findings 1 and 4), through the real
plan -> score_unit -> publish path: out-of-range and unseen values flagged (or quarantined),
infinite values and bad timestamps quarantined by name, duplicate entity ids resolved over the
whole date (across files and units).

Real parquet partitions on a LocalStorage under tmp_path and a real (small) model with its
scoring contract (see conftest.py); nothing is mocked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.errors import NotRetryable, ScoringInputError
from include.platform import partitions as P
from include.score.checks import REASON
from include.score.duplicates import date_keys, dropped_rows
from include.score.plan import plan, plan_dates
from include.score.publish import publish
from include.score.record import record_scoring_runs
from include.score.unit import score_pinned_unit, score_unit
from include.score.writer import PREDICTIONS, QUARANTINE
from tests.unit.score.helpers import (
    CHAMPION,
    DS,
    DS2,
    MODEL,
    StubRegistry,
    day_features,
    expected_scores,
    files_on_disk,
    make_config,
    publish_features,
    read_sorted,
    run_scoring,
)

pytestmark = pytest.mark.usefixtures("one_thread")
NOW = pd.Timestamp("2026-02-05T05:00:00Z")  # the run's time: after the scored day
SUPERSEDED = "duplicate entity_id: superseded by a later row"


def _quarantined(storage) -> pd.DataFrame:
    return P.read_partition(storage, QUARANTINE, MODEL, DS, verify=True)


def _run(storage, config, model, contract, run_id="scheduled__policies", now=NOW):
    units = plan(storage, config, [DS])
    stats = [score_unit(storage, config, u, (CHAMPION, model), contract, run_id=run_id, now=now) for u in units]
    return units, stats, publish(storage, config, units, stats, contract, CHAMPION, run_id=run_id)


# -- finding 4: drift beyond the training range --------------------------------------------------
def test_an_out_of_range_burst_is_scored_and_flagged_not_quarantined(storage, config, model, contract):
    frame = day_features()
    high = contract["features"]["tenure_months"]["max"]
    burst = frame.index[: int(len(frame) * 0.8)]  # the world changed for most rows of the day
    frame.loc[burst, "tenure_months"] = high * 3
    publish_features(storage, DS, frame, rows_per_file=400)

    summary = run_scoring(storage, config, [DS], "scheduled__drift", model, contract)["dates"][DS]

    assert summary["rows_scored"] == 1500 and summary["rows_quarantined"] == 0
    assert summary["rows_flagged"] == summary["rows_out_of_range"] == len(burst) == 1200
    assert summary["flagged_share"] == pytest.approx(0.8)
    assert summary["flags"] == {"out_of_range:tenure_months": 1200}
    out = read_sorted(storage, PREDICTIONS)
    by_key = frame.set_index(["customer_id", "event_ts"])
    flagged = out.set_index(["customer_id", "event_ts"])["flags"]
    assert (flagged[by_key.loc[flagged.index, "tenure_months"] == high * 3] == "out_of_range:tenure_months").all()
    assert (flagged[by_key.loc[flagged.index, "tenure_months"] != high * 3] == "").all()
    rows = frame.sort_values(["customer_id", "event_ts"], kind="stable").reset_index(drop=True)
    np.testing.assert_allclose(out["score"].to_numpy(), expected_scores(model, config, rows), rtol=1e-12)
    stored = P.read_manifest(storage, PREDICTIONS, MODEL, DS).meta["summary"]
    assert stored["rows_flagged"] == 1200 and stored["flags"] == summary["flags"]


def test_out_of_range_rows_are_quarantined_when_configured(storage, model, contract):
    config = make_config(out_of_range="quarantine")
    frame = day_features()
    frame.loc[frame.index[:1200], "tenure_months"] = contract["features"]["tenure_months"]["max"] * 3
    publish_features(storage, DS, frame, rows_per_file=400)
    with pytest.raises(ScoringInputError, match=r"1200 of 1500 rows \(80.0%\) failed hard checks") as caught:
        run_scoring(storage, config, [DS], "scheduled__strict", model, contract)
    assert "out of range: tenure_months (1200)" in str(caught.value)
    assert P.read_manifest(storage, PREDICTIONS, MODEL, DS) is None


def test_an_unseen_category_is_scored_through_the_encoder_and_flagged(storage, config, model, contract):
    frame = day_features()
    frame.loc[[3, 500, 1400], "region"] = "mars"
    publish_features(storage, DS, frame, rows_per_file=400)

    summary = run_scoring(storage, config, [DS], "scheduled__mars", model, contract)["dates"][DS]

    assert summary["rows_scored"] == 1500 and summary["rows_quarantined"] == 0
    assert summary["flags"] == {"unseen_category:region": 3} and summary["rows_unseen_category"] == 3
    out = read_sorted(storage, PREDICTIONS)
    mars = frame.loc[[3, 500, 1400]].sort_values(["customer_id", "event_ts"])
    scored = out.merge(mars[["customer_id", "event_ts"]], on=["customer_id", "event_ts"])
    assert list(scored["flags"]) == ["unseen_category:region"] * 3
    # OneHotEncoder(handle_unknown="ignore"): the same score the pipeline gives those rows directly.
    np.testing.assert_allclose(scored["score"].to_numpy(), expected_scores(model, config, mars), rtol=1e-12)


def test_infinite_values_are_quarantined_by_name(storage, config, model, contract):
    frame = day_features()
    frame.loc[[7, 900], "monthly_charges"] = [np.inf, -np.inf]
    publish_features(storage, DS, frame, rows_per_file=400)

    summary = run_scoring(storage, config, [DS], "scheduled__inf", model, contract)["dates"][DS]

    assert summary["reasons"] == {"infinite value: monthly_charges": 2}
    assert summary["rows_infinite"] == 2 and summary["rows_flagged"] == 0
    assert sorted(_quarantined(storage)["monthly_charges"]) == [-np.inf, np.inf]


# -- finding 1: timestamps ------------------------------------------------------------------------
def test_future_and_off_day_timestamps_are_quarantined_with_their_reasons(storage, config, model, contract):
    frame = day_features()
    frame.loc[5, "event_ts"] = pd.Timestamp("2036-02-02T10:00:00Z")  # ten years ahead
    frame.loc[6, "event_ts"] = pd.Timestamp("2026-01-20T10:00:00Z")  # two weeks before the day
    frame.loc[7, "event_ts"] = pd.Timestamp("2026-02-03T20:00:00Z")  # next evening: inside 24 h
    publish_features(storage, DS, frame, rows_per_file=400)

    _, _, result = _run(storage, config, model, contract)

    summary = result["dates"][DS]
    assert summary["reasons"] == {"timestamp in the future": 1, "timestamp outside ds=2026-02-02 by more than 24 h": 1}
    assert summary["rows_timestamp"] == 2 and summary["rows_scored"] == 1498
    quarantined = _quarantined(storage).set_index("customer_id")[REASON]
    assert quarantined[frame.at[5, "customer_id"]] == "timestamp in the future"
    assert quarantined[frame.at[6, "customer_id"]] == "timestamp outside ds=2026-02-02 by more than 24 h"


def test_the_mapped_task_takes_the_runs_time_from_the_pins(tmp_path, storage, config, model, contract):
    frame = day_features()
    frame.loc[5, "event_ts"] = pd.Timestamp("2026-02-02T23:00:00Z")  # inside the day, after the run
    publish_features(storage, DS, frame, rows_per_file=1500)
    registry = StubRegistry(tmp_path, models={CHAMPION.uri: model}, contracts={CHAMPION.run_id: contract})
    pin = {"name": MODEL, "version": CHAMPION.version, "run_id": CHAMPION.run_id}
    unit = plan(storage, config, [DS])[0]
    pinned = {"champion": pin, "challenger": None, "dates": [DS], "run_after": "2026-02-02T22:00:00+00:00"}
    stats = score_pinned_unit(registry, storage, config, unit, pinned, run_id="manual__early")
    late = (frame["event_ts"] > pd.Timestamp("2026-02-02T22:00:00Z")).sum()
    assert stats["reasons"] == {"timestamp in the future": late} and late >= 1


# -- finding 1: duplicate entity ids over the whole date ------------------------------------------
def _with_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Three ids twice, each pair across the first and the last file (400-row files): the later
    row wins; on a tie of timestamps the last in file order (row 1392)."""
    frame = frame.copy()
    day = pd.Timestamp(f"{DS}T00:00:00Z")
    pairs = {"earlier_first": (390, 1390), "later_first": (391, 1391), "tie": (392, 1392)}
    stamps = {"earlier_first": (8, 9), "later_first": (9, 8), "tie": (8, 8)}
    for name, (first, second) in pairs.items():
        frame.loc[second, "customer_id"] = frame.at[first, "customer_id"]
        frame.loc[first, "event_ts"] = day + pd.Timedelta(hours=stamps[name][0])
        frame.loc[second, "event_ts"] = day + pd.Timedelta(hours=stamps[name][1])
    losers = {"earlier_first": 390, "later_first": 1391, "tie": 392}
    return frame, losers


def test_keep_latest_keeps_the_latest_row_across_files_and_units(storage, config, model, contract):
    frame, losers = _with_duplicates(day_features())
    publish_features(storage, DS, frame, rows_per_file=400, row_group_rows=128)

    units, _, result = _run(storage, config, model, contract)

    assert len({u["index"] for u in units}) == 4  # the pairs are scored by different units
    assert len({u["duplicates"] for u in units}) == 1  # every unit of the date reads the one file
    summary = result["dates"][DS]
    assert summary["reasons"] == {SUPERSEDED: 3} and summary["rows_duplicate"] == 3
    assert summary["rows_scored"] == 1497
    quarantined = _quarantined(storage)
    assert sorted(quarantined["event_ts"]) == sorted(frame.loc[list(losers.values()), "event_ts"])
    assert set(quarantined[REASON]) == {SUPERSEDED}
    out = read_sorted(storage, PREDICTIONS)
    assert not out["customer_id"].duplicated().any()
    winners = frame.drop(index=list(losers.values()))
    assert set(zip(out["customer_id"], out["event_ts"], strict=True)) == set(
        zip(winners["customer_id"], winners["event_ts"], strict=True)
    )


def test_the_duplicate_quarantine_policy_quarantines_every_row_of_the_id(storage, model, contract):
    config = make_config(duplicates="quarantine")
    frame, _ = _with_duplicates(day_features())
    publish_features(storage, DS, frame, rows_per_file=400, row_group_rows=128)
    _, _, result = _run(storage, config, model, contract)
    summary = result["dates"][DS]
    assert summary["reasons"] == {"duplicate entity_id: every row of the id quarantined": 6}
    assert summary["rows_scored"] == 1494
    assert len(set(_quarantined(storage)["customer_id"])) == 3


def test_the_duplicate_fail_policy_fails_the_date_with_count_and_examples(storage, contract):
    config = make_config(duplicates="fail")
    frame, _ = _with_duplicates(day_features())
    publish_features(storage, DS, frame, rows_per_file=400)
    with pytest.raises(NotRetryable) as caught:
        plan(storage, config, [DS])
    message = str(caught.value)
    assert f"ds={DS}: 3 entity ids appear more than once (6 rows), e.g. " in message
    assert repr(frame.at[390, "customer_id"]) in message and "scoring.duplicates is 'fail'" in message
    # In a range the date fails alone: the next day is planned (each date stands alone).
    publish_features(storage, DS2, day_features(DS2), rows_per_file=400)
    planned = plan_dates(storage, config, [DS, DS2])
    assert {u["ds"] for u in planned["units"]} == {DS2} and list(planned["failed"]) == [DS]
    assert [u["index"] for u in planned["units"]] == list(range(len(planned["units"])))
    assert planned["failed"][DS] == {"stage": "plan", "reasons": [message]}


def test_a_date_without_duplicates_writes_and_reads_nothing(storage, config):
    publish_features(storage, DS, day_features(), rows_per_file=400)
    units = plan(storage, config, [DS])
    assert not any("duplicates" in unit for unit in units)
    assert not files_on_disk(storage, "scoring_duplicates")


def test_rows_with_a_bad_key_or_timestamp_take_no_part_in_duplicates(storage, config):
    frame, _ = _with_duplicates(day_features())
    frame.loc[1390, "event_ts"] = pd.Timestamp("2036-01-01T00:00:00Z")  # would win, but is quarantined
    frame.loc[1391, "customer_id"] = None
    publish_features(storage, DS, frame, rows_per_file=400)
    keys = list(dict.fromkeys(f["key"] for unit in plan(storage, config, [DS]) for f in unit["inputs"]))
    dropped = dropped_rows(config, DS, date_keys(storage, config, keys))
    # Only the tie is left (row 392 of the first file loses to row 1392 of the last).
    assert list(zip(dropped["file"], dropped["row"], strict=True)) == [(keys[0], 392)]


def test_only_the_rows_of_repeated_ids_reach_pandas(storage, config):
    """date_keys hashes the ids in numpy and hands pandas the rows of repeated ids only, for
    string ids (duplicates across files) and integer ids alike."""
    frame, _ = _with_duplicates(day_features())
    publish_features(storage, DS, frame, rows_per_file=400)
    keys = list(dict.fromkeys(f["key"] for unit in plan(storage, config, [DS]) for f in unit["inputs"]))
    rows = date_keys(storage, config, keys)
    assert len(rows) == 6 and rows["id"].value_counts().tolist() == [2, 2, 2]
    assert len(dropped_rows(config, DS, rows)) == 3
    numbered = day_features(DS2).iloc[:40].assign(customer_id=[*range(20), *range(10, 30)])
    publish_features(storage, DS2, numbered, rows_per_file=20)
    keys = list(dict.fromkeys(f["key"] for unit in plan(storage, config, [DS2]) for f in unit["inputs"]))
    assert sorted(date_keys(storage, config, keys)["id"]) == sorted([*range(10, 20)] * 2)


def test_equal_ids_hash_alike_wherever_they_lie_in_the_buffers():
    import pyarrow as pa

    from include.score.duplicates import id_hashes

    ids = [f"C{i:09d}" for i in range(1000)] + ["", "x", "C000000007", "ab", "ba"]
    whole = id_hashes(pa.chunked_array([pa.array(ids)]))
    pieces = id_hashes(pa.chunked_array([pa.array(ids[:333]), pa.array(ids[333:]).slice(0)]))
    sliced = id_hashes(pa.chunked_array([pa.array(["pad", *ids]).slice(1)]))
    large = id_hashes(pa.chunked_array([pa.array(ids, type=pa.large_string())]))
    assert (whole == pieces).all() and (whole == sliced).all() and (whole == large).all()
    assert whole[1002] == whole[7] and len(set(whole.tolist())) == len(set(ids))  # "ab" != "ba"


# -- counted in MLflow ------------------------------------------------------------------------------
def test_the_scoring_run_records_flagged_and_per_kind_counts(tmp_path, storage, config, model, contract):
    frame, _ = _with_duplicates(day_features())
    frame.loc[frame.index[:100], "tenure_months"] = contract["features"]["tenure_months"]["max"] * 3
    frame.loc[1000, "discount_pct"] = np.inf
    publish_features(storage, DS, frame, rows_per_file=400)
    _, _, result = _run(storage, config, model, contract)
    registry = StubRegistry(tmp_path)
    pinned = {"champion": {"name": MODEL, "version": "3", "run_id": "r"}, "challenger": None, "dates": [DS]}
    record_scoring_runs(registry, config, pinned, result, "scheduled__policies")
    metrics = registry.runs[f"scoring/{DS}/v3"]["metrics"]
    assert metrics["rows_flagged"] == 100 and metrics["flagged_share"] == pytest.approx(100 / 1500)
    assert metrics["rows_out_of_range"] == 100 and metrics["rows_duplicate"] == 3
    assert metrics["rows_infinite"] == 1 and metrics["rows_quarantined"] == 4


def test_a_later_run_with_duplicates_removes_day_old_duplicate_files(storage, config):
    import os
    import time

    frame, _ = _with_duplicates(day_features())
    publish_features(storage, DS, frame, rows_per_file=400)
    first = plan(storage, config, [DS])[0]["duplicates"]
    old = first.replace("duplicates-", "duplicates-old")
    storage.write_bytes(old, storage.read_bytes(first))
    day_ago = time.time() - 25 * 3600
    os.utime(storage.local_path(old), (day_ago, day_ago))
    frame.loc[1392, "customer_id"] = "someone-else"  # other duplicates: another file
    publish_features(storage, DS, frame, rows_per_file=400)
    second = plan(storage, config, [DS])[0]["duplicates"]
    assert second != first
    assert sorted(storage.list(second.rsplit("/", 1)[0])) == sorted([first, second])  # fresh: kept
