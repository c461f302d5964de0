"""One incident for display: its details and its history (IncidentEvent rows), in Chinese labels.

Read only; the map page's chain panel shows it beside the responsibility chain. Times are kept
timezone-aware (UTC, as stored) and written in Asia/Shanghai by :func:`local_time`; deadlines
counted on an estimated calendar year are written with “（估算）”
(:attr:`IncidentCard.accept_due_text`, :attr:`IncidentCard.close_due_text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.errors import NotFoundError
from gis.formatting import local_time
from gis.incidents.deadlines import ESTIMATED_MARK  # the workflow's own names and marks
from gis.incidents.states import ACTION_LABELS
from gis.model import Category, IncidentSource, IncidentStatus, Severity
from gis.store.schema import Attachment, CoTask, DeadlineExtension, Department, Incident


def _label(enum: Any, code: str | None) -> str:
    if not code:
        return ""
    try:
        return str(enum(code).label)
    except ValueError:
        return code


@dataclass(frozen=True)
class PhotoRef:
    """A photo of a step: its hash and MIME type (to find the file with
    :class:`gis.incidents.attachments.AttachmentStore`), original name and size in bytes."""

    sha256: str
    mime: str
    name: str
    size_bytes: int


@dataclass(frozen=True)
class IncidentStep:
    """One row of an incident's history.

    ``at`` is timezone-aware UTC; ``from_label``/``to_label`` are the Chinese state names
    (``from_label`` is ``""`` for the report).
    """

    at: datetime
    action: str
    action_label: str
    from_status: str | None
    from_label: str
    to_status: str
    to_label: str
    by: str
    note: str
    photos: tuple[PhotoRef, ...] = ()

    @property
    def at_local(self) -> str:
        """:attr:`at` in Asia/Shanghai, to the minute."""
        return local_time(self.at)


@dataclass(frozen=True)
class IncidentCard:
    """An incident's details in display form.

    Attributes
    ----------
    id, code, title, description
        As stored.
    category, severity, status, source
        Chinese labels (the raw code when unknown).
    status_code
        The :class:`~gis.model.IncidentStatus` code.
    is_open, overdue
        Still being handled; open and past its closing deadline at ``now``.
    reporter
        Who reported it.
    reported_at, accept_due_at, close_due_at, closed_at
        Timezone-aware UTC (or None).
    grid, reach, object
        Names of the recorded grid, reach and supervised object (``""`` when none).
    lon, lat
        Location in decimal degrees (WGS84).
    history
        :class:`IncidentStep` rows, oldest first, each with its photos.
    deadline_estimated
        The deadlines were counted, at least in part, on an estimated calendar year (估算).
    extended_days
        Working days added to the close deadline by approved 延期 requests (issue 17); the close
        deadline's text then says so.
    open_cotasks
        Names of the departments whose 协办 sub-task is not answered yet.
    """

    id: int
    code: str
    title: str
    description: str
    category: str
    severity: str
    status: str
    status_code: str
    source: str
    is_open: bool
    overdue: bool
    reporter: str
    reported_at: datetime | None
    accept_due_at: datetime | None
    close_due_at: datetime | None
    closed_at: datetime | None
    grid: str
    reach: str
    object: str
    lon: float | None
    lat: float | None
    history: list[IncidentStep] = field(default_factory=list)
    deadline_estimated: bool = False
    extended_days: int = 0
    open_cotasks: tuple[str, ...] = ()

    def _due(self, moment: datetime | None) -> str:
        text = local_time(moment)
        return text + ESTIMATED_MARK if text and self.deadline_estimated else text

    @property
    def accept_due_text(self) -> str:
        """The accept deadline in Asia/Shanghai, with “（估算）” when estimated (``""`` if none)."""
        return self._due(self.accept_due_at)

    @property
    def close_due_text(self) -> str:
        """The close deadline in Asia/Shanghai, with “（估算）” when estimated and
        “（已延期 N 个工作日）” after an approved 延期 (``""`` if none)."""
        text = self._due(self.close_due_at)
        return f"{text}（已延期 {self.extended_days} 个工作日）" if text and self.extended_days else text


def load_incident_card(session: Session, incident_id: int, *, now: datetime | None = None) -> IncidentCard:
    """The card of incident ``incident_id``.

    Parameters
    ----------
    session
        An open store session (read only).
    incident_id
        The incident's id.
    now
        Time at which "overdue" is judged (timezone-aware; default: now).

    Raises
    ------
    gis.errors.NotFoundError
        No incident with that id.
    """

    incident = session.scalar(
        select(Incident)
        .where(Incident.id == incident_id)
        .options(
            selectinload(Incident.events),
            selectinload(Incident.grid),
            selectinload(Incident.reach),
            selectinload(Incident.object),
        )
    )
    if incident is None:
        raise NotFoundError(f"没有编号为 {incident_id} 的事件", f"no incident with id {incident_id!r}")
    now = now or clock.now()
    try:
        is_open = IncidentStatus(incident.status).is_open
    except ValueError:
        is_open = False
    due = incident.close_due_at
    overdue = bool(is_open and due is not None and due < now)
    events = sorted(incident.events, key=lambda e: (e.at, e.id))
    photos: dict[int | None, list[PhotoRef]] = {}
    for a in session.scalars(select(Attachment).where(Attachment.incident_id == incident.id).order_by(Attachment.id)):
        photos.setdefault(a.event_id, []).append(PhotoRef(a.sha256, a.mime, a.original_name, a.size_bytes))
    history = [
        IncidentStep(
            at=e.at,
            action=e.action,
            action_label=ACTION_LABELS.get(e.action, e.action),
            from_status=e.from_status,
            from_label=_label(IncidentStatus, e.from_status),
            to_status=e.to_status,
            to_label=_label(IncidentStatus, e.to_status),
            by=e.by or "",
            note=e.note or "",
            photos=tuple(photos.get(e.id, ())),
        )
        for e in events
    ]
    geom = incident.geom
    return IncidentCard(
        id=incident.id,
        code=incident.code,
        title=incident.title,
        description=incident.description or "",
        category=_label(Category, incident.category),
        severity=_label(Severity, incident.severity),
        status=_label(IncidentStatus, incident.status),
        status_code=incident.status,
        source=_label(IncidentSource, incident.source),
        is_open=is_open,
        overdue=overdue,
        reporter=incident.reporter or "",
        reported_at=incident.reported_at,
        accept_due_at=incident.accept_due_at,
        close_due_at=incident.close_due_at,
        closed_at=incident.closed_at,
        grid=incident.grid.name if incident.grid is not None else "",
        reach=incident.reach.name if incident.reach is not None else "",
        object=incident.object.name if incident.object is not None else "",
        lon=float(geom.x) if geom is not None and not geom.is_empty else None,
        lat=float(geom.y) if geom is not None and not geom.is_empty else None,
        history=history,
        deadline_estimated=bool(incident.deadline_estimated),
        extended_days=sum(
            session.scalars(
                select(DeadlineExtension.days).where(
                    DeadlineExtension.incident_id == incident.id, DeadlineExtension.status == "approved"
                )
            )
        ),
        open_cotasks=tuple(
            session.scalars(
                select(Department.name)
                .join(CoTask, CoTask.department_id == Department.id)
                .where(CoTask.incident_id == incident.id, CoTask.answered_at.is_(None))
                .order_by(CoTask.id)
            )
        ),
    )


__all__ = ["ACTION_LABELS", "IncidentCard", "IncidentStep", "PhotoRef", "load_incident_card", "local_time"]
