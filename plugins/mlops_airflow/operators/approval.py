"""Human approval of a deploy step, with the answer kept for the audit trail."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from include.deploy.payloads import ApprovalAnswer

APPROVAL_XCOM_KEY = "approval"


def evidence_markdown(summary: str | None) -> str:
    """The evidence summary as Markdown for the Required Actions panel, which renders the body
    as Markdown (single newlines join lines into one paragraph): the first line as a paragraph,
    every other line as a bullet."""
    lines = [line.strip() for line in str(summary or "").splitlines() if line.strip()]
    if not lines:
        return ""
    head, items = lines[0], lines[1:]
    return "\n".join([head, "", *(f"- {item}" for item in items)]) if items else head


def approval_answer(event: dict[str, Any]) -> ApprovalAnswer:
    """Who answered, what and when, from the HITL trigger's success event."""
    user = event.get("responded_by_user") or {}
    return {
        "choice": (event.get("chosen_options") or [None])[0],
        "by": user.get("name") or user.get("id"),
        "at": str(event.get("responded_at") or ""),
        "reason": str((event.get("params_input") or {}).get("reason") or ""),
    }


class RecordedApprovalOperator(ApprovalOperator):
    """``ApprovalOperator`` that shows its (rendered) body as a Markdown list and pushes the
    answer to XCom key ``approval`` before acting on it.

    On Reject the parent skips the downstream tasks by raising, so its return value never
    reaches XCom; downstream tasks (the promotion's audit record, the notification) still need
    to say who rejected or approved.
    """

    def execute(self, context: Any) -> Any:
        self.body = evidence_markdown(self.body)  # rendered by now: the evidence summary's lines
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if "error" not in event:
            context["ti"].xcom_push(key=APPROVAL_XCOM_KEY, value=approval_answer(event))
        return super().execute_complete(context=context, event=event)
