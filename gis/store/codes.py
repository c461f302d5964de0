"""Human-readable record codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.store.schema import Incident


def next_incident_code(session: Session, reported_at: datetime) -> str:
    """Next free incident code of the report's year: ``SJ-2026-001``, ``SJ-2026-002``, …"""
    prefix = f"SJ-{reported_at.year}-"
    codes = session.scalars(select(Incident.code).where(Incident.code.like(f"{prefix}%"))).all()
    pending = [o.code for o in session.new if isinstance(o, Incident) and (o.code or "").startswith(prefix)]
    numbers = [int(c[len(prefix):]) for c in [*codes, *pending] if c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"
