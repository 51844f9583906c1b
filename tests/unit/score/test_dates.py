"""Each date of a scoring run stands alone (issue 11, finding 2): a date that fails at plan,
at score or at publish publishes nothing and leaves nothing behind, the other dates publish.

The whole path for real: plan_dates -> score_unit per unit -> publish -> check_dates, the
notification and the MLflow records (a real SQLite tracking store), on a LocalStorage under
tmp_path, with a small real model. Nothing is mocked.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from include.dev.sample_data import generate_day
from include.errors import NotRetryable, ScoringInputError
from include.platform import partitions as P
from include.platform.registry import ModelRegistry
from include.score.messages import scoring_notification
from include.score.plan import plan_dates
from include.score.publish import check_dates, publish
from include.score.record import record_scoring_runs
from include.score.unit import score_unit
from include.score.writer import PREDICTIONS, QUARANTINE, SHADOW, run_token
from tests.unit.score.helpers import (
    CHALLENGER,
    CHAMPION,
    CUSTOMERS,
    DS,
    DS2,
    DS3,
    MODEL,
    day_features,
    make_config,
    manifest_text,
    output_files,
    parquet_file,
    publish_features,
    run_scoring,
    verify_partition,
)

pytestmark = pytest.mark.usefixtures("one_thread")

UNCOMMITTED, LAST = "2026-02-05", "2026-02-06"
PINNED = {
    "champion": {"name": MODEL, "version": CHAMPION.version, "run_id": CHAMPION.run_id},
    "challenger": {"name": MODEL, "version": CHALLENGER.version, "run_id": CHALLENGER.run_id},
    "dates": [DS, DS2, DS3, UNCOMMITTED, LAST],
}


def corrupt_page_file(frame, column_name: str = "region") -> bytes:
    """A parquet file whose footer is fine (plan passes) but whose first page of ``column_name``
    is garbage: only reading the rows finds it (a feature column at score, a key column at plan,
    which reads the keys for duplicates)."""
    data = bytearray(parquet_file(frame))
    metadata = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    column = metadata.row_group(0).column(metadata.schema.names.index(column_name))
    offset = column.dictionary_page_offset or column.data_page_offset
    data[offset : offset + 40] = b"\xff" * 40
    return bytes(data)


def folders(storage, ds: str) -> list[str]:
    """The output folders of ``ds`` on disk (empty or not)."""
    root = Path(storage.root)
    return [d for d in (PREDICTIONS, QUARANTINE, SHADOW) if (root / P.partition_prefix(d, MODEL, ds)).exists()]


def test_a_failing_date_among_good_ones_publishes_nothing_and_leaves_nothing(
    tmp_path, storage, model, contract, challenger
):
    # Two units per date: a failed unit's sibling wrote files. Unseen categories quarantined.
    config = make_config(max_parallel=8, unseen_category="quarantine")
    # DS2 was published before; this run's DS2 has a fifth of its rows of an unseen category.
    publish_features(storage, DS2, day_features(DS2), rows_per_file=400)
    run_scoring(storage, config, [DS2], "scheduled__before", model, contract)
    before_text, before_files = manifest_text(storage, ds=DS2), output_files(storage)
    bad = generate_day(DS2, customers=CUSTOMERS, rows_per_day=1500, corrupt={"day": DS2, "kind": "bad_category"})[0]
    publish_features(storage, DS2, bad, rows_per_file=400)
    # DS3: the first file's first page is corrupt; UNCOMMITTED has no partition at all.
    frame = day_features(DS3)
    chunks = [frame.iloc[i : i + 400] for i in range(0, 1500, 400)]
    contents = [corrupt_page_file(chunks[0]), *(parquet_file(c) for c in chunks[1:])]
    P.publish_files(storage, "features", MODEL, DS3, [(c, len(f)) for c, f in zip(contents, chunks, strict=True)])
    for ds in (DS, LAST):
        publish_features(storage, ds, day_features(ds), rows_per_file=400)
    run_id = "manual__range"

    planned = plan_dates(storage, config, PINNED["dates"])
    units = planned["units"]
    assert [ds for ds in (DS, DS2, DS3, LAST) if sum(u["ds"] == ds for u in units) != 2] == []
    stats = [
        score_unit(storage, config, u, (CHAMPION, model), contract, run_id=run_id, challenger=(CHALLENGER, challenger))
        for u in units
    ]
    errors = [s for s in stats if s.get("error")]
    assert [s["ds"] for s in errors] == [DS3]  # one unit of DS3 failed; the task did not
    token = run_token(run_id)
    assert any(token in f and f"ds={DS3}" in f for f in output_files(storage)), "DS3's other unit wrote files"

    result = publish(storage, config, units, stats, contract, CHAMPION, run_id=run_id, failed=planned["failed"])

    # The good dates are committed, whole and verifiable.
    assert sorted(result["dates"]) == [DS, LAST]
    for ds in (DS, LAST):
        manifest, out = verify_partition(storage, PREDICTIONS, ds)
        assert len(out) == 1500 and manifest.meta["run_id"] == run_id
        verify_partition(storage, SHADOW, ds)
    # Each failed date: its stage and reasons; nothing of this run left, not even a folder.
    failed = result["failed"]
    assert {ds: f["stage"] for ds, f in failed.items()} == {DS2: "publish", DS3: "score", UNCOMMITTED: "plan"}
    assert failed[DS2]["reasons"][0].startswith("300 of 1500 rows (20.0%) failed hard checks")
    feature_file = P.read_manifest(storage, "features", MODEL, DS3).files[0]["name"]
    assert failed[DS3]["reasons"] == [
        f"{storage.uri(P.partition_prefix('features', MODEL, DS3))}/{feature_file} cannot be read: "
        + errors[0]["error"].split(" cannot be read: ", 1)[1]
    ]
    assert "Deserializing page header failed" in failed[DS3]["reasons"][0]
    assert "is not committed (no _manifest.json or _SUCCESS); commit the files" in failed[UNCOMMITTED]["reasons"][0]
    assert manifest_text(storage, ds=DS2) == before_text  # the previous DS2 stays published
    assert {f for f in output_files(storage) if f"ds={DS2}" in f} == {f for f in before_files if f"ds={DS2}" in f}
    assert folders(storage, DS2) == [PREDICTIONS], "DS2's quarantine and shadow folders of this run are left"
    assert folders(storage, DS3) == [] and folders(storage, UNCOMMITTED) == []
    assert not [f for f in output_files(storage) if f.endswith(".tmp")]

    # The run's verdict after record and notify: red, not retried, every date named.
    with pytest.raises(NotRetryable) as caught:
        check_dates(MODEL, result)
    message = str(caught.value)
    assert isinstance(caught.value, ScoringInputError)
    assert message.startswith("churn: 2 of 5 date(s) published, 3 failed and published nothing:\n")
    assert f"published: {DS}, {LAST}\n" in message
    assert f"- ds={DS2} failed at publish: 300 of 1500 rows" in message
    assert f"- ds={DS3} failed at score: " in message and f"- ds={UNCOMMITTED} failed at plan: " in message

    note = scoring_notification(MODEL, PINNED, result)
    assert note.event == "failure"
    assert note.subject == (
        f"scored 3000 rows for {DS}, {LAST} with v3 (0 quarantined); 3 date(s) FAILED: {DS2}, {DS3}, {UNCOMMITTED}"
    )
    body = note.body.splitlines()
    assert body[1] == "Dates: 2 scored, 3 failed"
    assert f"- ds={DS3} failed at score: {failed[DS3]['reasons'][0]}" in body
    assert body[-1] == "Dry run: no, 2 date(s) published, 3 failed and published nothing"

    registry = ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}")
    recorded = record_scoring_runs(registry, config, PINNED, result, run_id)
    assert sorted(recorded["runs"]) == [DS, LAST]  # only the published dates
    assert recorded["asset_extra"] == {"dates": [DS, LAST], "model_version": CHAMPION.version}


def test_when_every_date_fails_nothing_is_published_and_publish_fails(storage, strict_config, model, contract):
    config = strict_config  # unseen categories quarantined
    for ds in (DS, DS2):
        bad = generate_day(ds, customers=CUSTOMERS, rows_per_day=1500, corrupt={"day": ds, "kind": "bad_category"})
        publish_features(storage, ds, bad[0], rows_per_file=400)
    with pytest.raises(NotRetryable) as caught:
        run_scoring(storage, config, [DS, DS2], "scheduled__all_bad", model, contract)
    message = str(caught.value)
    assert message.startswith("churn: nothing published; 2 of 2 date(s) failed:\npublished: none\n")
    assert f"- ds={DS} failed at publish: " in message and f"- ds={DS2} failed at publish: " in message
    assert not output_files(storage)
    assert folders(storage, DS) == folders(storage, DS2) == []


def test_a_clean_date_leaves_no_empty_quarantine_folder(storage, config, model, contract):
    publish_features(storage, DS, day_features(), rows_per_file=400)
    result = run_scoring(storage, config, [DS], "scheduled__clean", model, contract)
    assert result["failed"] == {} and result["dates"][DS]["rows_quarantined"] == 0
    assert folders(storage, DS) == [PREDICTIONS]
    check_dates(MODEL, result)  # every date published: the run's last task passes


def test_a_dry_run_with_a_failed_date_publishes_nothing_and_fails_at_the_end(storage, strict_config, model, contract):
    config = strict_config  # unseen categories quarantined
    publish_features(storage, DS, day_features(), rows_per_file=400)
    bad = generate_day(DS2, customers=CUSTOMERS, rows_per_day=1500, corrupt={"day": DS2, "kind": "bad_category"})
    publish_features(storage, DS2, bad[0], rows_per_file=400)
    result = run_scoring(storage, config, [DS, DS2], "manual__dry", model, contract, dry_run=True)
    assert result["dry_run"] is True and sorted(result["dates"]) == [DS] and sorted(result["failed"]) == [DS2]
    assert not output_files(storage) and folders(storage, DS) == folders(storage, DS2) == []
    with pytest.raises(ScoringInputError, match=r"^churn: dry run, nothing published; 1 of 2 date\(s\) failed"):
        check_dates(MODEL, result)


def test_a_unit_whose_file_is_gone_since_plan_reports_it_instead_of_raising(storage, config, model, contract):
    publish_features(storage, DS, day_features(), rows_per_file=400)
    units = plan_dates(storage, config, [DS])["units"]
    gone = units[0]["parts"][0][0]
    storage.delete([gone])
    stats = score_unit(storage, config, units[0], (CHAMPION, model), contract, run_id="scheduled__gone")
    assert stats["error"].startswith(f"{storage.uri(gone)} is not a readable parquet file: ")
    assert stats["files"] == {}
    assert not output_files(storage)  # the unit's writers wrote nothing and left no temporary file


def test_a_corrupt_key_column_fails_its_date_at_plan(storage, config):
    """plan reads the entity id and timestamp of every row (duplicates): a corrupt page there
    fails that date at plan, naming the file; the other dates are planned."""
    frame = day_features(DS2)
    P.publish_files(storage, "features", MODEL, DS2, [(corrupt_page_file(frame, "customer_id"), len(frame))])
    publish_features(storage, DS, day_features(), rows_per_file=400)
    planned = plan_dates(storage, config, [DS, DS2])
    assert {u["ds"] for u in planned["units"]} == {DS} and list(planned["failed"]) == [DS2]
    (reason,) = planned["failed"][DS2]["reasons"]
    assert " cannot be read: " in reason and f"ds={DS2}/" in reason
