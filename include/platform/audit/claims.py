"""Retrain claims: one DAG run at a time trains and registers a given (model, run key).

The run key (``include/retrain/train.py``) names the window, the data and the config; it is the
retrain's idempotency key. Looking for a finished MLflow run with that key is not atomic (two
runs started together both find none and both register), so the key is claimed in the audit
database, whose primary key ``(model, run_key)`` admits one row:

* ``claim``: the first run inserts the row (``training``) and holds it under a lease
  (``$MLOPS_RETRAIN_LEASE_SECONDS``, default 900 s, renewed while it trains). Another run finds
  it held and gets ``RetrainClaimed`` (an outage-like wait: Airflow retries it with backoff);
  once the holder has registered, the claim says ``registered`` and the other run reuses the
  holder's training run and version. The same DAG run (a task retry) renews its own claim.
  A holder that died stops renewing: after the lease expired, the next run takes the claim over.
* ``begin_register``: the registration step checks, in one transaction, that the claim is still
  its own and the process was not told to stop (SIGTERM), and marks it ``registering``;
  otherwise ``RunTerminated``: a killed or superseded run registers nothing.
* ``registered``: the version is recorded (only by the holder).

Every check and write is one transaction, serialised per key: an advisory lock on PostgreSQL,
the ``BEGIN IMMEDIATE`` write lock on SQLite.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from include.errors import RetrainClaimed, RunTerminated
from include.platform.audit.columns import utcnow
from include.platform.audit.engine import advisory_lock, audit_transaction
from include.platform.audit.schema import CLAIM_REGISTERED, CLAIM_REGISTERING, CLAIM_TRAINING, claims_table
from include.platform.termination import check_not_stopped

log = logging.getLogger(__name__)

LEASE_ENV = "MLOPS_RETRAIN_LEASE_SECONDS"
DEFAULT_LEASE_S = 900.0
_C = claims_table.c


def lease_seconds() -> float:
    """``$MLOPS_RETRAIN_LEASE_SECONDS`` (default 900): how long a silent holder keeps its claim."""
    return float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE_S)


@dataclass(frozen=True)
class Claim:
    model: str
    run_key: str
    claimed_by: str
    status: str
    expires_at: dt.datetime
    run_id: str | None = None
    version: str | None = None
    takeovers: int = 0

    @property
    def done(self) -> bool:
        return self.status == CLAIM_REGISTERED


def claim_decision(row: Claim | None, owner: str, now: dt.datetime, *, force: bool) -> str:
    """What ``claim`` does with the existing row: ``insert``, ``reuse`` (registered: nothing to
    do), ``renew`` (ours), ``take`` (expired, or registered and forced) or ``held``."""
    if row is None:
        return "insert"
    if row.done and not force:
        return "reuse"
    if row.claimed_by == owner and not row.done:
        return "renew"
    if row.done or row.expires_at <= now:
        return "take"
    return "held"


class RetrainClaims:
    """The claims in an ``AuditStore``'s database (migrated on first use)."""

    def __init__(self, store: Any, lease_s: float | None = None) -> None:
        self.store = store
        self.lease = dt.timedelta(seconds=lease_s if lease_s is not None else lease_seconds())

    def get(self, model: str, run_key: str) -> Claim | None:
        with self._transaction(model, run_key, write=False) as conn:
            return self._row(conn, model, run_key)

    def claim(self, model: str, run_key: str, owner: str, *, force: bool = False) -> Claim:
        """Claim the key for ``owner`` (see the module docstring); ``RetrainClaimed`` when
        another live run holds it."""
        with self._transaction(model, run_key, write=True) as conn:
            row = self._row(conn, model, run_key)
            now = utcnow()
            decision = claim_decision(row, owner, now, force=force)
            if decision == "reuse":
                return row  # type: ignore[return-value]
            if decision == "held":
                raise RetrainClaimed(self._held_message(row))  # type: ignore[arg-type]
            values: dict[str, Any] = {"claimed_by": owner, "expires_at": now + self.lease}
            if decision == "insert":
                conn.execute(
                    claims_table.insert().values(
                        model=model, run_key=run_key, claimed_at=now, status=CLAIM_TRAINING, **values
                    )
                )
            elif decision == "take":
                assert row is not None
                log.warning("retrain claim %s %s: %s takes over from %s", model, run_key, owner, row.claimed_by)
                values.update(claimed_at=now, status=CLAIM_TRAINING, takeovers=row.takeovers + 1)
                if row.done:  # forced: a new training run and a new version
                    values.update(run_id=None, version=None)
                self._update(conn, model, run_key, values)
            else:
                self._update(conn, model, run_key, values)
            return self._row(conn, model, run_key)  # type: ignore[return-value]

    def renew(self, model: str, run_key: str, owner: str, *, run_id: str | None = None) -> Claim:
        """Extend ``owner``'s lease (and record its training run); ``RunTerminated`` when the claim
        is no longer its own."""
        with self._transaction(model, run_key, write=True) as conn:
            row = self._owned(conn, model, run_key, owner, "keep training")
            values: dict[str, Any] = {"expires_at": utcnow() + self.lease}
            if run_id is not None and not row.done:
                values["run_id"] = run_id
            self._update(conn, model, run_key, values)
            return self._row(conn, model, run_key)  # type: ignore[return-value]

    def begin_register(self, model: str, run_key: str, owner: str, run_id: str) -> Claim:
        """Before a version is created: the claim must be ``owner``'s (or registered already,
        then it is returned for reuse) and the process not told to stop; marks it ``registering``."""
        with self._transaction(model, run_key, write=True) as conn:
            check_not_stopped(f"register {model} ({run_key})")
            row = self._row(conn, model, run_key)
            if row is not None and row.done:
                return row
            now = utcnow()
            values: dict[str, Any] = {"status": CLAIM_REGISTERING, "run_id": run_id, "expires_at": now + self.lease}
            if row is None:  # trained before claims existed: claim it now
                conn.execute(
                    claims_table.insert().values(
                        model=model, run_key=run_key, claimed_by=owner, claimed_at=now, **values
                    )
                )
            else:
                self._owned(conn, model, run_key, owner, "register a version")
                self._update(conn, model, run_key, values)
            return self._row(conn, model, run_key)  # type: ignore[return-value]

    def registered(self, model: str, run_key: str, owner: str, version: str) -> None:
        """Record the version ``owner`` registered (``RunTerminated`` if the claim was taken over)."""
        with self._transaction(model, run_key, write=True) as conn:
            row = self._owned(conn, model, run_key, owner, f"record version {version}")
            if not row.done:
                self._update(conn, model, run_key, {"status": CLAIM_REGISTERED, "version": str(version)})

    def release(self, model: str, run_key: str, owner: str) -> None:
        """End ``owner``'s lease now (its training failed or was stopped): the next run of the
        window takes the claim over at once. A claim that is not ``owner``'s is left alone."""
        with self._transaction(model, run_key, write=True) as conn:
            row = self._row(conn, model, run_key)
            if row is not None and row.claimed_by == owner and not row.done:
                self._update(conn, model, run_key, {"expires_at": utcnow()})

    @contextlib.contextmanager
    def keep_alive(self, model: str, run_key: str, owner: str) -> Iterator[threading.Event]:
        """Renew the lease in the background while the block runs (a long training); the event
        is set when the claim was lost (the caller's next ``renew`` raises)."""
        lost, stop = threading.Event(), threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease.total_seconds() / 3):
                try:
                    self.renew(model, run_key, owner)
                except RunTerminated:
                    lost.set()
                    return
                except Exception as error:  # an outage: the next beat tries again
                    log.warning("retrain claim %s %s: lease not renewed: %s", model, run_key, error)

        thread = threading.Thread(target=beat, name=f"claim-lease-{model}", daemon=True)
        thread.start()
        try:
            yield lost
        finally:
            stop.set()
            thread.join()

    # -- internals ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self, model: str, run_key: str, *, write: bool) -> Iterator[Connection]:
        self.store.migrate()
        with audit_transaction(self.store.engine, write=write) as conn:
            if write:
                advisory_lock(conn, f"claim:{model}:{run_key}")
            yield conn

    def _row(self, conn: Connection, model: str, run_key: str) -> Claim | None:
        query = sa.select(claims_table).where((_C.model == model) & (_C.run_key == run_key))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found = conn.execute(query).first()
        if found is None:
            return None
        data = dict(found._mapping)
        return Claim(
            model=data["model"],
            run_key=data["run_key"],
            claimed_by=data["claimed_by"],
            status=data["status"],
            expires_at=data["expires_at"],
            run_id=data["run_id"],
            version=data["version"],
            takeovers=int(data["takeovers"] or 0),
        )

    def _update(self, conn: Connection, model: str, run_key: str, values: dict[str, Any]) -> None:
        conn.execute(claims_table.update().where((_C.model == model) & (_C.run_key == run_key)).values(**values))

    def _owned(self, conn: Connection, model: str, run_key: str, owner: str, what: str) -> Claim:
        row = self._row(conn, model, run_key)
        if row is None or row.claimed_by != owner:
            holder = "nobody" if row is None else row.claimed_by
            raise RunTerminated(
                f"{owner} may not {what} for {model} ({run_key}): its retrain claim is held by {holder} "
                "(its lease expired and another run took the window over); this run registers nothing"
            )
        return row

    def _held_message(self, row: Claim) -> str:
        return (
            f"model {row.model}: the same window and data ({row.run_key}) is being retrained by "
            f"{row.claimed_by} (status {row.status}, lease until {row.expires_at:%Y-%m-%d %H:%M:%S} UTC); "
            "this run is retried and then reuses its result. If that run was killed, mark it failed: "
            f"its claim is taken over once the lease expires (${LEASE_ENV})"
        )
