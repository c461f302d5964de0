"""曝光台 — what the public sees of how a grid's cases were handled: its closed cases and its
monthly figures.

Closed cases follow the rules of :mod:`gis.incidents.public`, the one statement of what of a case
is public: only cases whose category is listed (信访案件 never), and of each only the case number,
its category, a coarse place (the reach's name, else the grid's), the title with phone and ID
numbers masked, the dates (reported, closed: days, Beijing time), the state and the **public
reply** (``incidents.public_reply``, written by staff for publication, masked the same way). The
reporter, their contact, the description, the workflow notes, photos and the exact location are
never read into these records.

Monthly figures, per month of the last :data:`MONTHS`: reports received (cases reported in the
grid and the grids below it), cases closed and of those closed within their deadline, and the
patrol completion rate of the grid (the ``rate`` of :func:`gis.patrol.service.patrol_report`, as
the assessment counts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.auth import EVERYTHING, require
from gis.errors import NotFoundError, PermissionDenied, ValidationError
from gis.incidents.public import is_listed, public_text
from gis.incidents.workflow import get_incident
from gis.model import LOCAL_TZ, Category, IncidentStatus
from gis.store.schema import Grid, Incident
from gis.store.scope import grid_and_below, scope_of

__all__ = [
    "CLOSED_STATES",
    "MONTHS",
    "MonthFigures",
    "PublicCase",
    "closed_cases",
    "monthly_figures",
    "set_public_reply",
]

CLOSED_STATES = (IncidentStatus.ARCHIVED.value, IncidentStatus.TRANSFERRED.value)
"""States of a case shown on the 曝光台: handled and archived (办结归档) or transferred (已移送)."""

MONTHS = 6
"""How many months (this one included) the monthly figures cover."""

MAX_CASES = 50
"""Most closed cases listed (newest closed first)."""

MAX_REPLY_CHARS = 2000


@dataclass(frozen=True)
class PublicCase:
    """A closed case as published (every text already masked; escape it when rendering)."""

    code: str
    category: str
    title: str
    place: str
    reported_on: str
    closed_on: str
    status: str
    reply: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "category": self.category,
            "title": self.title,
            "place": self.place,
            "reported_on": self.reported_on,
            "closed_on": self.closed_on,
            "status": self.status,
            "reply": self.reply,
        }


@dataclass(frozen=True)
class MonthFigures:
    """One month of a grid: reports received, cases closed, of those on time, patrol rate (0–1 or None)."""

    month: str
    received: int
    closed: int
    closed_on_time: int
    patrol_rate: float | None

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "received": self.received,
            "closed": self.closed,
            "closed_on_time": self.closed_on_time,
            "on_time_rate": self.on_time_rate,
            "patrol_rate": self.patrol_rate,
        }


def _local_day(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).date().isoformat()


def _live_grid(session: Session, grid_id: int) -> Grid:
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id!r}")
    return grid


def closed_cases(session: Session, grid_id: int, *, limit: int = MAX_CASES) -> list[PublicCase]:
    """The closed cases of grid ``grid_id`` and the grids below it, newest closed first, public
    fields only (see the module notes)."""
    _live_grid(session, grid_id)
    grids = grid_and_below(session, grid_id)
    rows = session.scalars(
        select(Incident)
        .where(Incident.grid_id.in_(grids), Incident.status.in_(CLOSED_STATES))
        .options(selectinload(Incident.reach), selectinload(Incident.grid))
        .order_by(Incident.closed_at.desc(), Incident.id.desc())
    ).all()
    out: list[PublicCase] = []
    for i in rows:
        if not is_listed(i.category):
            continue
        place = i.reach.name if i.reach is not None else (i.grid.name if i.grid is not None else "")
        out.append(
            PublicCase(
                code=i.code,
                category=Category(i.category).label,
                title=public_text(i.title),
                place=place,
                reported_on=_local_day(i.reported_at),
                closed_on=_local_day(i.closed_at),
                status=IncidentStatus(i.status).label,
                reply=public_text(i.public_reply),
            )
        )
        if len(out) >= limit:
            break
    return out


def _month_starts(today: date, months: int) -> list[date]:
    out = []
    y, m = today.year, today.month
    for _ in range(months):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _utc_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ).astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def monthly_figures(
    session: Session, grid_id: int, *, months: int = MONTHS, today: date | None = None
) -> list[MonthFigures]:
    """Figures of grid ``grid_id`` (and the grids below it) for the last ``months`` months, oldest first."""
    from gis.patrol.service import patrol_report  # noqa: PLC0415 — patrol matching (geopandas work) loads only for the figures

    _live_grid(session, grid_id)
    today = today or clock.today()
    starts = _month_starts(today, months)
    grids = grid_and_below(session, grid_id)
    first = _utc_start(starts[0])
    reported = session.execute(
        select(Incident.reported_at).where(Incident.grid_id.in_(grids), Incident.reported_at >= first)
    ).all()
    closed = session.execute(
        select(Incident.closed_at, Incident.close_due_at).where(
            Incident.grid_id.in_(grids),
            Incident.closed_at.is_not(None),
            Incident.closed_at >= first,
            Incident.status.in_(CLOSED_STATES),
        )
    ).all()
    rates: dict[str, float | None] = {}
    for start in starts:
        label = f"{start.year}-{start.month:02d}"
        report = patrol_report(session, label, scope=EVERYTHING)
        row = next((r for r in report.grids if r["grid_id"] == grid_id), None)
        value = row.get("rate") if row is not None else None
        rates[label] = None if value is None or value != value else float(value)  # NaN → None
    out = []
    for k, start in enumerate(starts):
        lo = _utc_start(start)
        hi = _utc_start(starts[k + 1]) if k + 1 < len(starts) else None

        def inside(t: datetime | None, lo: datetime = lo, hi: datetime | None = hi) -> bool:
            if t is None:
                return False
            t = _aware(t)
            return t >= lo and (hi is None or t < hi)

        done = [(_aware(c), d) for c, d in closed if c is not None and inside(c)]
        label = f"{start.year}-{start.month:02d}"
        out.append(
            MonthFigures(
                month=label,
                received=sum(1 for (t,) in reported if inside(t)),
                closed=len(done),
                closed_on_time=sum(1 for c, d in done if d is None or c <= _aware(d)),
                patrol_rate=rates.get(label),
            )
        )
    return out


def set_public_reply(session: Session, incident_id: int | str, text: str) -> Incident:
    """Write the public reply of a case (id or code; needs 处置事件 ``incident.handle`` and the case in
    the actor's data scope); phone and ID numbers in it are masked when published, but staff
    should keep names and numbers out of it."""
    actor = require(session.info.get("actor"), "incident.handle")
    incident = get_incident(session, incident_id)
    if not scope_of(session, actor).covers(incident.grid_id):
        raise PermissionDenied(f"事件 {incident.code} 不在您的数据权限内", f"incident {incident.id} outside the scope")
    reply = (text or "").strip()
    if len(reply) > MAX_REPLY_CHARS:
        raise ValidationError(f"公开答复不能超过 {MAX_REPLY_CHARS} 个字", "public reply too long")
    incident.public_reply = reply
    session.flush()
    return incident
