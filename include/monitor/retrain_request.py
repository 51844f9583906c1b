"""A monitor run's request for a retrain: the extra of the one ``retrain_request/<model>`` asset
event it may emit, and the check that makes it at most one per monitor run.

``retrain_<model>`` is scheduled on its cron *or* that asset; an asset-triggered retrain reads
``window_end`` and ``reason`` from the event's extra (``mlops_airflow.dag_defaults.requested_retrain``).
An event is only recorded when the emitting task succeeds, so retries cannot emit twice; a task
cleared and run again finds its run's earlier event and skips (``plan_retrain_request``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from include.config import ModelConfig
from include.monitor.payloads import Decision, RetrainRequest


class SourcedEvent(Protocol):
    """What is read of an earlier asset event: the run that emitted it."""

    @property
    def source_dag_id(self) -> str | None: ...

    @property
    def source_run_id(self) -> str | None: ...


@dataclass(frozen=True)
class RetrainPlan:
    """``request`` to emit, or None with ``why`` there is nothing to emit."""

    request: RetrainRequest | None
    why: str


def retrain_request(config: ModelConfig, decision: Decision, ds: str) -> RetrainRequest:
    """The event's extra: the retrain's window end and reason, the triggers that fired."""
    return {
        "model": config.name,
        "ds": ds,
        "window_end": decision["window_end"],
        "reason": decision["retrain_reason"],
        "triggers": [r["trigger"] for r in decision["reasons"]],
    }


def already_requested(earlier: Iterable[SourcedEvent], dag_id: str, run_id: str) -> bool:
    """Whether one of the ``earlier`` events came from this DAG run."""
    return any(e.source_dag_id == dag_id and e.source_run_id == run_id for e in earlier)


def plan_retrain_request(
    config: ModelConfig,
    decision: Decision,
    ds: str,
    earlier: Iterable[SourcedEvent],
    *,
    dag_id: str,
    run_id: str,
) -> RetrainPlan:
    """What monitor run ``run_id`` emits: nothing unless its decision asks for a retrain, and
    nothing when one of the ``earlier`` events (of the asset, since the run began) is its own."""
    if not decision["retrain"]:
        return RetrainPlan(None, f"no retrain: {decision['summary']}")
    if already_requested(earlier, dag_id, run_id):
        return RetrainPlan(None, f"{dag_id} run {run_id} already requested a retrain")
    request = retrain_request(config, decision, ds)
    return RetrainPlan(request, f"retrain requested ({', '.join(request['triggers'])}): {request['reason']}")
