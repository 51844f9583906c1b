"""The notification of a scoring run (include/score/messages.py)."""

from __future__ import annotations

from include.notify.delivery import Notification
from include.score.messages import scoring_notification

PINNED = {"champion": {"name": "churn", "version": "3", "run_id": "run-3"}, "challenger": None, "dates": []}


def summary(scored: int, quarantined: int, **more) -> dict:
    return {"rows_in": scored + quarantined, "rows_scored": scored, "rows_quarantined": quarantined, **more}


DATES = {"2026-02-03": summary(1200, 0), "2026-02-02": summary(1484, 16)}


def test_subject_and_body_of_a_published_run():
    note = scoring_notification("churn", PINNED, {"dates": DATES, "dry_run": False, "token": "abc"})
    assert isinstance(note, Notification)
    assert (note.model, note.event) == ("churn", "success")
    assert note.subject == "scored 2684 rows for 2026-02-02, 2026-02-03 with v3 (16 quarantined)"
    assert note.body.splitlines() == [
        "Model: churn v3",
        "Dates: 2",
        "- 2026-02-02: 1484 rows scored, 16 quarantined",
        "- 2026-02-03: 1200 rows scored, 0 quarantined",
        "Total: 2684 rows scored, 16 quarantined",
        "Dry run: no, every date was published",
    ]
    assert note.fields == {"dates": DATES}
    assert note.text().startswith("[churn] scored 2684 rows")


def test_a_dry_run_says_so_in_subject_and_body():
    note = scoring_notification("churn", PINNED, {"dates": {"2026-02-02": summary(10, 0)}, "dry_run": True})
    assert note.subject == "scored 10 rows for 2026-02-02 with v3 (0 quarantined) [dry run]"
    assert note.body.splitlines()[-1] == "Dry run: yes, nothing was published"


def test_the_challengers_agreement_is_listed_per_date():
    shadow = {"version": "4", "rows": 1484, "agreement": 0.9731, "error_rate": 0.0}
    dates = {"2026-02-02": summary(1484, 16, shadow=shadow)}
    note = scoring_notification("churn", PINNED, {"dates": dates, "dry_run": False})
    assert "- 2026-02-02: 1484 rows scored, 16 quarantined; challenger v4 agreed on 97.3%" in note.body.splitlines()
    failed = {"dates": {"2026-02-02": summary(1484, 16, shadow={**shadow, "agreement": None})}, "dry_run": False}
    assert "challenger" not in scoring_notification("churn", PINNED, failed).body


def test_the_run_a_publish_replaced_is_named_per_date():
    published = {"dates": DATES, "dry_run": False, "token": "abc", "replaced": {"2026-02-02": "manual__a"}}
    lines = scoring_notification("churn", PINNED, published).body.splitlines()
    assert lines[2] == "- 2026-02-02: 1484 rows scored, 16 quarantined; replaced the partition of run manual__a"
    assert lines[3] == "- 2026-02-03: 1200 rows scored, 0 quarantined"


def test_flagged_rows_are_counted_per_date_with_the_top_flags():
    flags = {"out_of_range:tenure_months": 900, "unseen_category:region": 12}
    dates = {"2026-02-02": summary(1484, 16, rows_flagged=905, flags=flags)}
    lines = scoring_notification("churn", PINNED, {"dates": dates, "dry_run": False}).body.splitlines()
    assert lines[2] == (
        "- 2026-02-02: 1484 rows scored, 16 quarantined, 905 flagged"
        " (out_of_range:tenure_months 900, unseen_category:region 12)"
    )
