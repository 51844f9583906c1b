"""The notification a scoring run sends when it ends: what was scored, by which version."""

from __future__ import annotations

from include.notify.delivery import Notification
from include.score.payloads import DateSummary, PinnedModels, PublishResult


def _date_line(ds: str, summary: DateSummary, replaced: str | None = None) -> str:
    line = f"- {ds}: {summary['rows_scored']} rows scored, {summary['rows_quarantined']} quarantined"
    shadow = summary.get("shadow")
    if shadow and shadow.get("agreement") is not None:
        line += f"; challenger v{shadow['version']} agreed on {shadow['agreement']:.1%}"
    if replaced:  # the later of two overlapping runs wins: say whose partition it replaced
        line += f"; replaced the partition of run {replaced}"
    return line


def scoring_notification(name: str, pinned: PinnedModels, published: PublishResult) -> Notification:
    """Subject: rows, dates, version, quarantined (and ``[dry run]``); body: one line per date."""
    dates = published["dates"]
    replaced = published.get("replaced") or {}
    dry_run = bool(published.get("dry_run"))
    version = pinned["champion"]["version"]
    rows = sum(s["rows_scored"] for s in dates.values())
    quarantined = sum(s["rows_quarantined"] for s in dates.values())
    subject = (
        f"scored {rows} rows for {', '.join(sorted(dates))} with v{version}"
        f" ({quarantined} quarantined){' [dry run]' if dry_run else ''}"
    )
    body = [
        f"Model: {name} v{version}",
        f"Dates: {len(dates)}",
        *(_date_line(ds, dates[ds], replaced.get(ds)) for ds in sorted(dates)),
        f"Total: {rows} rows scored, {quarantined} quarantined",
        "Dry run: yes, nothing was published" if dry_run else "Dry run: no, every date was published",
    ]
    return Notification(model=name, event="success", subject=subject, body="\n".join(body), fields={"dates": dates})
