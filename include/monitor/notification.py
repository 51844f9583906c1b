"""The notification a monitor run sends: event, subject and body from the structured results."""

from __future__ import annotations

from include.config import ModelConfig
from include.config.notifications import Event
from include.monitor.payloads import Decision, DriftResult, QualityResult, ReportPaths
from include.monitor.quality import first_error
from include.notify.delivery import ConnectionResolver, Notification, NotifyOutcome, deliver
from include.notify.runbooks import Alert


def _event_and_subject(quality: QualityResult, drift: DriftResult | None, decision: Decision) -> tuple[str, str, str]:
    """Event, subject and alert (which runbook: "" for the event's own)."""
    if quality["failed"]:
        issue = first_error(quality)
        what = f"[{issue['severity']}] {issue['detail']}" if issue else f"{len(quality['issues'])} issue(s)"
        return Event.FAILURE, f"data quality failed: {what}", Alert.DATA_QUALITY
    if decision["retrain"]:
        triggers = [r["trigger"] for r in decision["reasons"]]
        # The performance_drop trigger (include.monitor.decision) has a runbook of its own.
        alert = Alert.PERFORMANCE_DROP if Alert.PERFORMANCE_DROP in triggers else ""
        return Event.DRIFT, f"retrain triggered ({', '.join(triggers)})", alert
    if drift and drift["features"]["n_drifted"]:
        return Event.DRIFT, f"{drift['features']['n_drifted']} feature(s) drifted; no retrain", ""
    return Event.SUCCESS, "monitoring: no issue", ""


def monitor_notification(
    config: ModelConfig, quality: QualityResult, drift: DriftResult | None, decision: Decision, paths: ReportPaths
) -> Notification:
    """failure (quality failed), drift (a retrain requested, or drifted features without one) or
    success; the body is the decision's summary and where the report is."""
    event, subject, alert = _event_and_subject(quality, drift, decision)
    body = "\n".join([decision["summary"], f"report: {paths.get('html') or paths['summary']}"])
    return Notification(
        model=config.name, event=event, subject=subject, body=body, fields={"decision": decision}, alert=alert
    )


def notify_outcome(
    config: ModelConfig,
    quality: QualityResult,
    drift: DriftResult | None,
    decision: Decision,
    paths: ReportPaths,
    resolve: ConnectionResolver | None = None,
) -> NotifyOutcome:
    """Send ``monitor_notification`` to the model's targets: the message and one outcome per target."""
    return deliver(config, monitor_notification(config, quality, drift, decision, paths), resolve=resolve)
