"""Where a model's notifications go: the ``notifications`` list of a model config."""

from __future__ import annotations

from dataclasses import dataclass, field

from include.config.checks import fail

# Built-in target types; each is delivered by a function registered in include/notify/targets.py.
# A type registered there beyond these is accepted too (looked up only when a config names one).
NOTIFY_TYPES = ("log", "file", "webhook", "smtp", "slack")


# -- the notification events: the one list of what a notification can be about ----------------
# A target's ``events`` names some of these (default: DEFAULT_EVENTS); each producer picks one per
# message (README "Notifications").
class Event:
    """Event names, as configs and notifications spell them."""

    SUCCESS = "success"  # a pipeline run did its job (retrain registered, scoring published, monitor clean)
    GATE_FAILURE = "gate_failure"  # a retrained candidate failed a validation gate; nothing promoted
    FAILURE = "failure"  # a task or a date failed (quality failed, a date not published, a task error)
    DRIFT = "drift"  # features or predictions drifted (with or without a retrain requested)
    PROMOTION = "promotion"  # the champion changed
    REFUSED = "refused"  # a promotion did not happen: criteria not met, rejected at approval, retired
    ROLLBACK = "rollback"  # the champion went back to an earlier version
    CANARY_ADVANCED = "canary_advanced"  # a canary challenger advanced to a larger share of entities
    CANARY_HALTED = "canary_halted"  # a canary failed a step: every entity back to the champion
    AB_DECISION = "ab_decision"  # an A/B test rejected its challenger (a promotion is a "promotion")
    INFO = "info"  # nothing to act on (e.g. no challenger to promote); sent only to targets that list it


# event -> what it means (README "Notifications" lists the same).
EVENTS: dict[str, str] = {
    Event.SUCCESS: "a run did its job: retrain registered, scoring published every date, monitoring found nothing",
    Event.GATE_FAILURE: "a retrained candidate failed a validation gate and was not promoted",
    Event.FAILURE: "a task failed, a date published nothing, or the data quality check failed",
    Event.DRIFT: "features or predictions drifted, with or without a retrain requested",
    Event.PROMOTION: "a challenger became champion",
    Event.REFUSED: "a promotion did not happen: criteria not met, rejected at approval or a stale challenger retired",
    Event.ROLLBACK: "the champion went back to an earlier version (requested, or after a failed health check)",
    Event.CANARY_ADVANCED: "a canary challenger passed its step and is published for a larger share of entities",
    Event.CANARY_HALTED: "a canary challenger failed a step: halted, rejected, every entity back to the champion",
    Event.AB_DECISION: "an A/B test rejected its challenger at the horizon (a promotion it decides is a promotion)",
    Event.INFO: "nothing to act on (a promote run found no challenger); only targets that list it get it",
}
NOTIFY_EVENTS: tuple[str, ...] = tuple(EVENTS)
# What a target sends when its config lists no ``events``: everything but ``info``.
DEFAULT_EVENTS: tuple[str, ...] = tuple(e for e in NOTIFY_EVENTS if e != Event.INFO)
# Events that report good news (logged at INFO by the ``log`` target; the others at WARNING).
GOOD_EVENTS: frozenset[str] = frozenset({Event.SUCCESS, Event.PROMOTION, Event.CANARY_ADVANCED, Event.INFO})


@dataclass
class NotificationTarget:
    type: str
    events: list[str] = field(default_factory=lambda: list(DEFAULT_EVENTS))  # all but info
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
