"""Where a model's notifications go: the ``notifications`` list of a model config."""

from __future__ import annotations

from dataclasses import dataclass, field

from include.config.checks import fail

# Built-in target types; each is delivered by a function registered in include/notify/targets.py.
# A type registered there beyond these is accepted too (looked up only when a config names one).
NOTIFY_TYPES = ("log", "file", "webhook", "smtp", "slack")
NOTIFY_EVENTS = ("success", "gate_failure", "failure", "drift", "promotion", "rollback")


@dataclass
class NotificationTarget:
    type: str
    events: list[str] = field(default_factory=lambda: list(NOTIFY_EVENTS))
    # file: path (default: $MLOPS_NOTIFY_DIR/<model>.jsonl); webhook: url or url_env;
    # smtp: to + conn_id; slack: conn_id or url_env. Secrets never live here: only the
    # name of the Airflow connection or environment variable that holds them.
    path: str | None = None
    url_env: str | None = None
    conn_id: str | None = None
    to: list[str] = field(default_factory=list)
    _where: str = field(default="notifications", repr=False, compare=False)

    def __post_init__(self) -> None:
        w = self._where
        if self.type not in NOTIFY_TYPES and self.type not in notify_types():
            fail(f"{w}.type", f"must be one of {list(notify_types())}, got {self.type!r}")
        unknown = set(self.events) - set(NOTIFY_EVENTS)
        if unknown:
            fail(f"{w}.events", f"unknown events {sorted(unknown)}; known: {list(NOTIFY_EVENTS)}")
        if self.type == "webhook" and not self.url_env:
            fail(w, "a webhook target needs url_env (the environment variable holding the URL)")
        if self.type == "smtp" and not self.to:
            fail(f"{w}.to", "an smtp target needs at least one recipient")
        if self.type == "slack" and not (self.conn_id or self.url_env):
            fail(w, "a slack target needs conn_id or url_env")


def notify_types() -> tuple[str, ...]:
    """Every target type a config may name: the built-ins first, then any other registered in
    ``include/notify/targets.py``. Only called for a type that is not built in, so reading the
    usual configs (DAG files do, at parse time) never imports the notification code."""
    from include.notify.targets import target_types

    return target_types()
