"""Report stage: the run's summary, stored as JSON under ``report_prefix``, and the notification
that tells the config's targets what happened (``success`` or ``gate_failure``)."""

from __future__ import annotations

import json
import logging

from include.config import ModelConfig
from include.config.notifications import Event
from include.contracts import report_prefix
from include.notify.delivery import ConnectionResolver, Notification, send
from include.platform.storage import Storage
from include.retrain.payloads import (
    Evaluation,
    GateReportDict,
    PulledDataset,
    Qualification,
    RegisteredVersion,
    RunSummary,
    TrainedRun,
)

log = logging.getLogger(__name__)
PIPELINE = "retrain"


def summary_key(config: ModelConfig, window_end: str) -> str:
    """``reports/<model>/retrain/window_end=<date>/summary.json``."""
    return f"{report_prefix(config.name, PIPELINE, f'window_end={window_end}')}/summary.json"


def summarize_run(
    config: ModelConfig,
    pulled: PulledDataset,
    trained: TrainedRun,
    evaluated: Evaluation,
    gates: GateReportDict,
    registered: RegisteredVersion | None,
    qualified: Qualification | None,
    tracking_uri: str,
) -> RunSummary:
    """One run in one dict. ``registered`` and ``qualified`` are None in a dry run."""
    action = qualified["action"] if qualified else ("dry_run" if registered is None else "none")
    return RunSummary(
        model=config.name,
        window=f"{pulled['window_start']}..{pulled['window_end']}",
        rows=pulled["rows"],
        data_hash=pulled["data_hash"],
        run_id=trained["run_id"],
        reused_run=trained["reused"],
        metrics=evaluated["metrics"],
        champion_before=evaluated.get("champion"),
        latency_ms_per_1k=evaluated["latency_ms_per_1k"],
        size_mb=evaluated["size_mb"],
        gates=gates,
        version=registered["version"] if registered else None,
        stage=qualified["stage"] if qualified else (registered["stage"] if registered else None),
        action=action,
        tracking_uri=tracking_uri,
    )


def run_notification(config: ModelConfig, summary: RunSummary) -> Notification:
    """``success`` with the headline metric, or ``gate_failure`` naming every failed gate; a dry
    run says it registered nothing. The body lists the failed gates (or that all passed) and
    where the summary is."""
    gates = summary["gates"]
    metric = config.evaluation.primary_metric
    headline = f"{metric}={summary['metrics'][metric]:.4f}"
    dry_run = summary["action"] == "dry_run"
    if gates["passed"]:
        event = Event.SUCCESS
        outcome = "dry run, nothing registered" if dry_run else f"v{summary['version']} -> {summary['stage']}"
        subject = f"retrain {summary['window']}: {outcome} ({headline})"
    else:
        event = Event.GATE_FAILURE
        failed = ", ".join(gates["failed"])
        outcome = "dry run, nothing registered" if dry_run else f"v{summary['version']} not promoted"
        subject = f"retrain {summary['window']}: gates failed ({failed}); {outcome}"
    failed_lines = [f"- {r['name']}: {r['detail']}" for r in gates["results"] if not r["passed"]]
    lines = failed_lines or [f"all {len(gates['results'])} gates passed"]
    lines.append(f"{summary['rows']} rows, data hash {summary['data_hash'][:12]}, MLflow run {summary['run_id']}")
    if summary.get("summary_uri"):
        lines.append(f"summary: {summary['summary_uri']}")
    return Notification(model=config.name, event=event, subject=subject, body="\n".join(lines), fields=dict(summary))


def report_run(
    storage: Storage,
    config: ModelConfig,
    pulled: PulledDataset,
    trained: TrainedRun,
    evaluated: Evaluation,
    gates: GateReportDict,
    registered: RegisteredVersion | None,
    qualified: Qualification | None,
    *,
    tracking_uri: str,
    resolve: ConnectionResolver | None = None,
) -> RunSummary:
    """Store the summary, then notify; returns the summary with its URI and the delivery outcomes."""
    summary = summarize_run(config, pulled, trained, evaluated, gates, registered, qualified, tracking_uri)
    key = summary_key(config, pulled["window_end"])
    storage.write_text(key, json.dumps(summary, indent=2, default=str))
    summary["summary_uri"] = storage.uri(key)
    log.info("retrain summary of %s: %s", config.name, summary["summary_uri"])
    summary["notifications"] = send(config, run_notification(config, summary), resolve=resolve)
    return summary
