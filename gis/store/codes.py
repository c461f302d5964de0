"""Human-readable record codes, numbered by counters that simultaneous writers cannot share.

A case number ``SJ-2026-015`` comes from the counter row ``incident:2026`` of table
``counters``, advanced by one atomic statement in the caller's transaction::

    INSERT INTO counters (name, value) VALUES (:name, :first)
    ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value

On PostgreSQL the statement locks the counter row until the transaction ends, so a second
writer waits and then reads the first one's number + 1; on SQLite the writing session holds the
database's write lock from its start (:mod:`gis.store.engine`). A rolled-back transaction gives
its number back with it. The first number of a year follows the highest code already stored
(codes loaded by the demo or an import), and a number whose code is already taken is skipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.model import LOCAL_TZ
from gis.store.schema import Counter, Incident

_ADVANCE = text(
    "INSERT INTO counters (name, value) VALUES (:name, :first) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)


def next_number(session: Session, name: str, *, first: int = 1) -> int:
    """Advance counter ``name`` and return its new value (``first`` when it did not exist)."""
    return int(session.execute(_ADVANCE, {"name": name, "first": first}).scalar_one())


def _highest_code_number(session: Session, prefix: str) -> int:
    codes = session.scalars(select(Incident.code).where(Incident.code.like(f"{prefix}%"))).all()
    return max((int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()), default=0)


def next_incident_code(session: Session, reported_at: datetime) -> str:
    """Next case number of the report's year (Beijing time): ``SJ-2026-001``, ``SJ-2026-002``, …"""
    year = reported_at.astimezone(LOCAL_TZ).year if reported_at.tzinfo else reported_at.year
    prefix = f"SJ-{year}-"
    name = f"incident:{year}"
    first = 1
    if session.get(Counter, name) is None:
        first = _highest_code_number(session, prefix) + 1
    while True:
        code = f"{prefix}{next_number(session, name, first=first):03d}"
        taken = session.scalar(select(Incident.id).where(Incident.code == code))
        if taken is None and not any(isinstance(o, Incident) and o.code == code for o in session.new):
            return code
