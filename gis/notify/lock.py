"""One notification runner at a time, across worker processes and machines.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection held for
the pass, keyed by the database schema (so two installations in one database do not block each
other); it goes away with the connection if the process dies. SQLite: a row of ``notify_locks``
with a holder and an expiry (:data:`LOCK_TTL_S`), taken in a write transaction; the row of a
process that died expires (while a pass runs, its holder renews it). Both are *try* locks: a
second runner does not wait, it skips its pass.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, insert, select, text, update

from gis import clock
from gis.store import Store
from gis.store.schema import NotifyLock

__all__ = ["LOCK_NAME", "LOCK_TTL_S", "runner_lock"]

LOG = logging.getLogger("rivergrid.notify")

LOCK_NAME = "notify"
LOCK_TTL_S = 900.0
"""How long a SQLite lock row holds without its holder (a pass takes far less)."""


@contextmanager
def runner_lock(store: Store, name: str = LOCK_NAME, *, ttl_s: float = LOCK_TTL_S) -> Iterator[bool]:
    """Hold the runner's lock for the block; yields whether it was obtained (False: another
    runner holds it, the caller skips its pass)."""
    if store.backend == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            key = f"rivergrid-{name}:" + str(conn.execute(text("SELECT current_schema()")).scalar())
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
        return
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with store.session(write=True) as s:
        now = clock.now()
        row = s.get(NotifyLock, name)
        if row is None:
            s.execute(insert(NotifyLock).values(name=name, holder=holder, expires_at=now + timedelta(seconds=ttl_s)))
            got = True
        elif row.expires_at <= now:
            s.execute(
                update(NotifyLock)
                .where(NotifyLock.name == name)
                .values(holder=holder, expires_at=now + timedelta(seconds=ttl_s))
            )
            got = True
        else:
            got = False
        s.expunge_all()
    stop = threading.Event()
    renewer = None
    if got:  # a long pass (a slow mail server) keeps its row: renewed every third of the expiry
        renewer = threading.Thread(target=_renew, args=(store, name, holder, ttl_s, stop), daemon=True)
        renewer.start()
    try:
        yield got
    finally:
        if got:
            stop.set()
            if renewer is not None:
                renewer.join()
            with store.session(write=True) as s:
                s.execute(delete(NotifyLock).where(NotifyLock.name == name, NotifyLock.holder == holder))


def _renew(store: Store, name: str, holder: str, ttl_s: float, stop: threading.Event) -> None:
    while not stop.wait(ttl_s / 3):
        try:
            with store.session(write=True) as s:
                s.execute(
                    update(NotifyLock)
                    .where(NotifyLock.name == name, NotifyLock.holder == holder)
                    .values(expires_at=clock.now() + timedelta(seconds=ttl_s))
                )
        except Exception:  # noqa: BLE001 — a busy database: the next renewal comes before the expiry
            LOG.warning("could not renew the notification lock", exc_info=True)


def lock_holder(store: Store, name: str = LOCK_NAME) -> str | None:
    """Who holds the SQLite lock row now (None: nobody, or PostgreSQL)."""
    with store.session() as s:
        row = s.scalar(select(NotifyLock).where(NotifyLock.name == name))
        return None if row is None or row.expires_at <= clock.now() else row.holder
