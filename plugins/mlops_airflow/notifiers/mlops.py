"""Airflow notifier that sends to the targets listed in a model config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseNotifier


class MlopsNotifier(BaseNotifier):
    """Use as ``on_failure_callback=MlopsNotifier(model_name="churn", event="failure")``.

    Builds the message from the callback context (DAG, task, run, exception) and delivers it
    through ``include.notify.delivery.send`` to every target of the model subscribed to ``event``.
    """

    template_fields: Sequence[str] = ("model_name", "event", "subject")

    def __init__(self, *, model_name: str, event: str = "failure", subject: str | None = None) -> None:
        super().__init__()
        self.model_name = model_name
        self.event = event
        self.subject = subject

    def notify(self, context: Any) -> None:
        from include.config import get_config
        from include.notify.delivery import Notification, send
        from mlops_airflow.hooks.connections import connection_dict

        ti = context.get("ti") or context.get("task_instance")
        dag = context.get("dag")
        exception = context.get("exception")
        where = f"{dag.dag_id if dag else '?'}.{getattr(ti, 'task_id', '?')}"
        subject = self.subject or f"{self.event}: {where} in run {context.get('run_id')}"
        fields = {
            "dag_id": dag.dag_id if dag else None,
            "task_id": getattr(ti, "task_id", None),
            "run_id": context.get("run_id"),
            "try_number": getattr(ti, "try_number", None),
            "exception": str(exception) if exception else None,
        }
        note = Notification(
            model=self.model_name, event=self.event, subject=subject, body=str(exception or ""), fields=fields
        )
        send(get_config(self.model_name), note, resolve=connection_dict)
