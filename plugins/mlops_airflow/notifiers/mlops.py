"""Airflow notifier that sends to the targets listed in a model config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseNotifier


def failure_note(model_name: str, event: str, context: Any, subject: str | None = None) -> Any:
    """The notification of a task callback: which task of which run, the error as body, the run
    link, and the runbook of the error (a registry/audit mismatch, a failed data validation or
    scoring date: ``include.notify.runbooks.ALERT_FOR_ERROR``; else the event's)."""
    from include.notify.delivery import Notification
    from include.notify.links import run_link
    from include.notify.runbooks import alert_for_error

    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = dag.dag_id if dag else getattr(ti, "dag_id", None)
    task_id = getattr(ti, "task_id", None)
    run_id = context.get("run_id")
    exception = context.get("exception")
    try_number = getattr(ti, "try_number", None)
    where = f"{dag_id or '?'}.{task_id or '?'}"
    error = f"{type(exception).__name__}: {exception}" if exception else "no exception recorded"
    body = f"task {task_id or '?'} (try {try_number or '?'}) {event}: {error}\nSee the task's log for the traceback."
    fields = {
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "try_number": try_number,
        "exception": str(exception) if exception else None,
    }
    return Notification(
        model=model_name,
        event=event,
        subject=subject or f"{event}: {where} in run {run_id}",
        body=body,
        fields=fields,
        link=run_link(dag_id, run_id),
        alert=alert_for_error(exception),
    )


class MlopsNotifier(BaseNotifier):
    """Use as ``on_failure_callback=MlopsNotifier(model_name="churn", event="failure")``.

    Builds the message from the callback context (DAG, task, run, exception, the run's link) and
    delivers it through ``include.notify.delivery.send`` to every target of the model subscribed
    to ``event``.
    """

    template_fields: Sequence[str] = ("model_name", "event", "subject")

    def __init__(self, *, model_name: str, event: str = "failure", subject: str | None = None) -> None:
        super().__init__()
        self.model_name = model_name
        self.event = event
        self.subject = subject

    def notify(self, context: Any) -> None:
        from include.config import get_config
        from include.notify.delivery import send
        from mlops_airflow.hooks.connections import connection_dict

        note = failure_note(self.model_name, self.event, context, self.subject)
        send(get_config(self.model_name), note, resolve=connection_dict)
