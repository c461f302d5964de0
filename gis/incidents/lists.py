"""Lists of incidents: filtered for the actor's grids, as rows for the CLI and exports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.incidents.deadlines import DEFAULT_POLICY, DeadlinePolicy, as_utc, deadline_status, local_iso, moment_or_now
from gis.incidents.states import allowed_actions
from gis.model import Category, IncidentSource, IncidentStatus, Severity
from gis.store.schema import Incident
from gis.store.scope import grid_and_below, scope_of

__all__ = ["blind_spot_incidents", "grid_and_below", "incident_dict", "list_incidents"]


def list_incidents(
    session: Session,
    *,
    status: str | Iterable[str] | None = None,
    category: str | Iterable[str] | None = None,
    grid_id: int | Iterable[int] | None = None,
    overdue: bool | None = None,
    due_soon: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> list[Incident]:
    """Incidents by reporting time (newest first), filtered.

    Only the cases the session's actor may see (:func:`gis.store.scope.scope_of`: an account bound to a
    grid sees its grid and those below). ``status``, ``category`` and ``grid_id`` take one value
    or several (codes or Chinese labels); ``since`` (inclusive) and ``until`` (exclusive) bound
    the reporting time (a naive time is Beijing time); ``overdue``/``due_soon`` are judged at
    ``now``.
    """
    query = (
        select(Incident)
        .options(selectinload(Incident.grid), selectinload(Incident.reach))
        .order_by(Incident.reported_at.desc(), Incident.id.desc())
    )
    visible = scope_of(session).where_case(Incident.id, Incident.grid_id)
    if visible is not None:
        query = query.where(visible)
    if status is not None:
        states = [status] if isinstance(status, str) else list(status)
        query = query.where(Incident.status.in_([IncidentStatus.from_any(s).value for s in states]))
    if category is not None:
        cats = [category] if isinstance(category, str) else list(category)
        query = query.where(Incident.category.in_([Category.from_any(c).value for c in cats]))
    if grid_id is not None:
        ids = [grid_id] if isinstance(grid_id, int) else list(grid_id)
        query = query.where(Incident.grid_id.in_(ids))
    if since is not None:
        query = query.where(Incident.reported_at >= as_utc(since))
    if until is not None:
        query = query.where(Incident.reported_at < as_utc(until))
    rows = list(session.scalars(query))
    if overdue is None and due_soon is None:
        return rows
    t = moment_or_now(now)
    out = []
    for inc in rows:
        d = deadline_status(inc, now=t, policy=policy)
        if (overdue is None or d.overdue == overdue) and (due_soon is None or d.due_soon == due_soon):
            out.append(inc)
    return out


def blind_spot_incidents(session: Session, *, index: Any = None) -> list[Incident]:
    """Incidents whose point lies in no village grid now (coverage problems, 盲区), by id."""
    from gis.grids.chain import ResponsibilityIndex  # noqa: PLC0415 — loads geopandas (~0.5 s); only routing needs it

    index = index or ResponsibilityIndex.from_session(session)
    rows = session.scalars(select(Incident).order_by(Incident.id)).all()
    return [inc for inc in rows if index.lookup(inc.geom.x, inc.geom.y, tolerance_m=0).blind_spot]


def incident_dict(
    incident: Incident, *, now: datetime | None = None, policy: DeadlinePolicy = DEFAULT_POLICY
) -> dict[str, Any]:
    """JSON-friendly summary (times in Beijing time, ISO 8601)."""
    d = deadline_status(incident, now=now, policy=policy)
    st = IncidentStatus(incident.status)
    return {
        "id": incident.id,
        "code": incident.code,
        "title": incident.title,
        "category": incident.category,
        "category_label": Category(incident.category).label,
        "severity": incident.severity,
        "severity_label": Severity(incident.severity).label,
        "status": st.value,
        "status_label": st.label,
        "source": incident.source,
        "source_label": IncidentSource(incident.source).label,
        "reporter": incident.reporter,
        "reported_at": local_iso(incident.reported_at),
        "grid": None if incident.grid is None else {"id": incident.grid.id, "name": incident.grid.name},
        "reach": None if incident.reach is None else {"id": incident.reach.id, "name": incident.reach.name},
        "lon": incident.geom.x,
        "lat": incident.geom.y,
        "accept_due_at": local_iso(incident.accept_due_at),
        "close_due_at": local_iso(incident.close_due_at),
        "deadline_estimated": bool(incident.deadline_estimated),
        "closed_at": local_iso(incident.closed_at),
        "version": incident.version,
        "deadline": {
            "kind": d.kind,
            "due_at": local_iso(d.due_at),
            "overdue": d.overdue,
            "due_soon": d.due_soon,
            "overdue_hours": round(d.overdue_hours, 1),
            "estimated": d.estimated,
            "label": d.label,
        },
        "allowed_actions": [a.code for a in allowed_actions(st)],
    }
