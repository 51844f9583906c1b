"""What a scoring run says when it ends: the notification (what was scored, by which version,
which dates failed) and the error that fails the run when a date published nothing."""

from __future__ import annotations

from collections.abc import Iterable

from include.config.notifications import Event
from include.notify.delivery import Notification
from include.notify.runbooks import Alert
from include.score.payloads import DateFailure, DateSummary, PinnedModels, PublishResult


def failure_lines(failed: dict[str, DateFailure]) -> list[str]:
    """One line per reason: ``- ds=<date> failed at <stage>: <reason>``."""
    return [f"- ds={ds} failed at {failed[ds]['stage']}: {r}" for ds in sorted(failed) for r in failed[ds]["reasons"]]


def dates_failed_message(
    name: str, published: Iterable[str], failed: dict[str, DateFailure], dry_run: bool = False
) -> str:
    """The run's verdict when dates failed: which dates published (or passed, in a dry run),
    which failed, why, and what to do."""
    done = sorted(published)
    total = len(done) + len(failed)
    if dry_run:
        head = f"{name}: dry run, nothing published; {len(failed)} of {total} date(s) failed their checks"
        tail = f"passed: {', '.join(done)}" if done else "passed: none"
    elif done:
        head = f"{name}: {len(done)} of {total} date(s) published, {len(failed)} failed and published nothing"
        tail = f"published: {', '.join(done)}"
    else:
        head = f"{name}: nothing published; {len(failed)} of {total} date(s) failed"
        tail = "published: none"
    fix = (
        f"Fix the failed date(s)' feature partitions, then score them again (batch_score_{name} with Params "
        f"ds/ds_end); published dates are complete and need no rerun."
    )
    return "\n".join([f"{head}:", tail, *failure_lines(failed), fix])


def _date_line(ds: str, summary: DateSummary, replaced: str | None = None) -> str:
    line = f"- {ds}: {summary['rows_scored']} rows scored, {summary['rows_quarantined']} quarantined"
    flagged = summary.get("rows_flagged")
    if flagged:  # scored and published with a flag (out of range, unseen category)
        top = sorted((summary.get("flags") or {}).items(), key=lambda kv: -kv[1])[:3]
        line += f", {flagged} flagged" + (f" ({', '.join(f'{f} {c}' for f, c in top)})" if top else "")
    shadow = summary.get("shadow")
    if shadow and shadow.get("agreement") is not None:
        line += f"; challenger v{shadow['version']} agreed on {shadow['agreement']:.1%}"
    if replaced:  # the later of two overlapping runs wins: say whose partition it replaced
        line += f"; replaced the partition of run {replaced}"
    return line


def _outcome(dry_run: bool, published: int, failed: int) -> str:
    if dry_run:
        return "Dry run: yes, nothing was published"
    if failed:
        return f"Dry run: no, {published} date(s) published, {failed} failed and published nothing"
    return "Dry run: no, every date was published"


def scoring_notification(name: str, pinned: PinnedModels, published: PublishResult) -> Notification:
    """Subject: rows, dates, version, quarantined, failed dates (and ``[dry run]``); body: one
    line per date. Event ``failure`` when a date failed, else ``success``."""
    dates = published["dates"]
    failed = published.get("failed") or {}
    replaced = published.get("replaced") or {}
    dry_run = bool(published.get("dry_run"))
    version = pinned["champion"]["version"]
    rows = sum(s["rows_scored"] for s in dates.values())
    quarantined = sum(s["rows_quarantined"] for s in dates.values())
    subject = (
        f"scored {rows} rows for {', '.join(sorted(dates)) or 'no date'} with v{version} ({quarantined} quarantined)"
        f"{f'; {len(failed)} date(s) FAILED: ' + ', '.join(sorted(failed)) if failed else ''}"
        f"{' [dry run]' if dry_run else ''}"
    )
    body = [
        f"Model: {name} v{version}",
        f"Dates: {len(dates)}" + (f" scored, {len(failed)} failed" if failed else ""),
        *(_date_line(ds, dates[ds], replaced.get(ds)) for ds in sorted(dates)),
        *(["Failed (nothing published for these dates):", *failure_lines(failed)] if failed else []),
        f"Total: {rows} rows scored, {quarantined} quarantined",
        _outcome(dry_run, len(dates), len(failed)),
    ]
    fields = {"dates": dates, **({"failed": failed} if failed else {})}
    event, alert = (Event.FAILURE, Alert.FAILED_SCORING_DAY) if failed else (Event.SUCCESS, "")
    return Notification(model=name, event=event, subject=subject, body="\n".join(body), fields=fields, alert=alert)
