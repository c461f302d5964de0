"""Reporting an incident (上报): input checked, the point routed to grid, reach and persons.

:func:`report_incident` validates the input (Chinese messages), routes the point with
:class:`gis.grids.chain.ResponsibilityIndex` (village grid covering it, nearest reach within
``tolerance_m``, the chain of persons: :func:`route`), computes the deadlines
(:mod:`gis.incidents.deadlines`) and records the 上报 event. A point in no village grid goes to the
nearest village grid, with a warning in the routing: inside the township (the area above the
village grids) it is a blind spot (盲区), marked ``【盲区】`` in the report event's note and counted
as a coverage problem by :func:`gis.incidents.lists.blind_spot_incidents`; outside it the point is
not in the jurisdiction ("该点不在本街道（县）网格范围内", with the nearest grid and its distance),
marked ``【辖区外】``, and is not a coverage problem (see :mod:`gis.grids.chain`).

Reporters (巡查员, 工作人员, 管理员: ``incident.report``) report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry import Point
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import require
from gis.errors import NotFoundError, ValidationError, checked_text
from gis.geometry.crs import check_lonlat_range
from gis.grids.jurisdiction import check_near
from gis.grids.links import OUTSIDE_TEXT
from gis.incidents.attachments import AttachmentStore, attach, check_uploads
from gis.incidents.deadlines import DEFAULT_POLICY, DeadlinePolicy, as_utc
from gis.incidents.states import MAX_TEXT, S
from gis.model import Category, GridLevel, IncidentSource, Severity
from gis.store.codes import next_incident_code
from gis.store.schema import Incident, IncidentEvent, PatrolTrack, SupervisedObject

__all__ = ["BLIND_SPOT_MARK", "OUTSIDE_MARK", "Routing", "report_incident", "route", "routing_of"]

BLIND_SPOT_MARK = "【盲区】"
"""Written at the start of the report event's note when the point is a blind spot: inside the
township (the area above the village grids) but in no village grid."""

OUTSIDE_MARK = "【辖区外】"
"""Written at the start of the report event's note when the point lies outside the jurisdiction."""


@dataclass
class Routing:
    """Where a reported point goes: grid, reach, persons and warnings (Chinese).

    ``grid_id``/``grid_name`` is the village grid covering the point (the first by id when the
    point lies in two), or for a blind spot (``blind_spot`` True) or a point outside the
    jurisdiction (``outside`` True) the nearest village grid; the lowest covering grid of another
    level when the store has no village grids.
    """

    grid_id: int | None
    grid_name: str
    reach_id: int | None
    reach_name: str
    reach_distance_m: float | None
    station: str
    persons: list[str]
    chain: list[dict[str, Any]]
    grids: list[dict[str, Any]]
    warnings: list[str]
    blind_spot: bool
    outside: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": {"id": self.grid_id, "name": self.grid_name} if self.grid_id is not None else None,
            "reach": (
                {
                    "id": self.reach_id,
                    "name": self.reach_name,
                    "distance_m": self.reach_distance_m,
                    "station": self.station,
                }
                if self.reach_id is not None
                else None
            ),
            "persons": list(self.persons),
            "chain": list(self.chain),
            "grids": list(self.grids),
            "warnings": list(self.warnings),
            "blind_spot": self.blind_spot,
            "outside": self.outside,
        }

    def note(self) -> str:
        """One Chinese line for the report event."""
        parts = [BLIND_SPOT_MARK] if self.blind_spot else [OUTSIDE_MARK] if self.outside else []
        parts.append(f"网格：{self.grid_name or '无'}")
        if self.reach_id is not None:
            parts.append(f"河段：{self.reach_name}（距 {self.reach_distance_m:,.0f} 米，桩号 {self.station}）")
        if self.persons:
            parts.append("责任人：" + "、".join(dict.fromkeys(self.persons)))
        parts.extend(f"提示：{w}" for w in self.warnings)
        return "；".join(parts)


def route(session_or_index: Any, lon: float, lat: float, *, tolerance_m: float = 50.0) -> Routing:
    """Route a point (WGS84 decimal degrees) to its grid, nearest reach within ``tolerance_m``
    metres and the chain of persons (:class:`gis.grids.chain.ResponsibilityIndex`)."""
    from gis.grids.chain import ResponsibilityIndex  # noqa: PLC0415 — loads geopandas (~0.5 s); only routing needs it

    index = session_or_index
    if not isinstance(index, ResponsibilityIndex):
        index = ResponsibilityIndex.from_session(index, today=clock.today())
    chain = index.lookup(lon, lat, tolerance_m=tolerance_m)
    warnings = list(chain.warnings)
    target = None
    if chain.blind_spot and chain.nearest_grid is not None:
        target = chain.nearest_grid
        warnings.insert(0, f"该点不在任何村级网格内（盲区，按网格覆盖问题登记），已派往最近的网格“{target.name}”")
    elif chain.outside and chain.nearest_grid is not None:
        target = chain.nearest_grid
        warnings.insert(
            0,
            f"{OUTSIDE_TEXT}，已派往最近的网格“{target.name}”（距离约 {target.distance_m:,.0f} 米），"
            "请核实是否属于本辖区",
        )
    elif chain.grids:
        lowest = max(GridLevel(g.level).rank for g in chain.grids)
        target = next(g for g in chain.grids if GridLevel(g.level).rank == lowest)
    else:
        warnings.insert(0, "该点不在任何网格内，也找不到最近的网格，请手动指定网格")
    links = list(chain.chain)
    if (chain.blind_spot or chain.outside) and target is not None:
        # the nearest village grid's own posts join the chain after the river chiefs
        extra = index.grid_links(target.id)
        at = sum(1 for link in links if link.step == "reach")
        links[at:at] = extra
    reach = chain.reach
    return Routing(
        grid_id=None if target is None else int(target.id),
        grid_name="" if target is None else target.name,
        reach_id=None if reach is None else int(reach.id),
        reach_name="" if reach is None else reach.name,
        reach_distance_m=None if reach is None else round(reach.distance_m, 1),
        station="" if reach is None else reach.station,
        persons=[link.person for link in links if link.person],
        chain=[link.to_dict() for link in links],
        grids=[g.to_dict() for g in chain.grids],
        warnings=warnings,
        blind_spot=chain.blind_spot,
        outside=chain.outside,
    )


def _text(value: Any, what: str, *, required: bool = False, max_len: int = MAX_TEXT) -> str:
    return checked_text(value, what, required=required, max_len=max_len)


def report_incident(
    session: Session,
    *,
    lon: float,
    lat: float,
    category: str,
    description: str,
    severity: str = "normal",
    source: str = "patrol",
    reporter: str | None = None,
    reporter_contact: str | None = None,
    reported_at: datetime | None = None,
    title: str | None = None,
    object_id: int | None = None,
    track_id: int | None = None,
    photos: Sequence[str] | None = None,
    tolerance_m: float = 50.0,
    index: Any = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
    files: AttachmentStore | None = None,
    allow_far: bool = False,
) -> Incident:
    """Report an incident at a point and route it (上报).

    Parameters
    ----------
    session : Session
        An open store session whose actor holds ``incident.report``.
    lon, lat : float
        WGS84 longitude and latitude, decimal degrees.
    category, severity, source : str
        Codes or Chinese labels (:class:`~gis.model.Category`, :class:`~gis.model.Severity`,
        :class:`~gis.model.IncidentSource`).
    description : str
        What was found (required).
    reporter : str, optional
        Name of the reporter (default: the actor's display name).
    reporter_contact : str, optional
        The reporter's phone or other contact (a resident's, say): kept out of the audit log and
        shown only on request, each reading logged (:func:`gis.incidents.contact.reveal_reporter_contact`).
    reported_at : datetime, optional
        When it was found (default now); a naive time is Beijing time.
    title : str, optional
        Default: the start of the description.
    object_id, track_id : int, optional
        A related supervised object or patrol track (must exist).
    photos : sequence, optional
        Photos: file paths, ``(name, bytes)`` pairs or uploaded files (see
        :func:`gis.incidents.attachments.to_upload`). Each is checked (size, a real image) before anything
        is written, stored under the data folder by its SHA-256 with a thumbnail, recorded as an
        :class:`~gis.store.schema.Attachment` of the report event and named in its note.
    tolerance_m : float
        Search radius for the nearest reach, metres.
    index : ResponsibilityIndex, optional
        A prebuilt index (default: built from ``session``).
    policy : DeadlinePolicy
        Deadline rules.
    files : AttachmentStore, optional
        Where photos go (default ``<RIVERGRID_DATA_DIR>/attachments``).
    allow_far : bool
        Accept a point farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid (the
        reporter confirmed it; see :mod:`gis.grids.jurisdiction`).

    Returns
    -------
    Incident
        Flushed (it has its ``id`` and ``code``); ``incident.routing`` holds the
        :class:`Routing` (set on this object only, not stored).

    Raises
    ------
    PermissionDenied, ValidationError, CoordinateRangeError, NotFoundError
    TooFarError
        The point lies farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid and
        ``allow_far`` is not set.
    """
    actor = require(session.info.get("actor"), "incident.report")
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError(f"经纬度应为数字：经度 {lon!r}，纬度 {lat!r}", "lon/lat must be numbers") from None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise ValidationError(f"经纬度应为有限的数字：经度 {lon_f}，纬度 {lat_f}", "lon/lat must be finite")
    check_lonlat_range((lon_f, lat_f, lon_f, lat_f))
    check_near(
        session,
        [Point(lon_f, lat_f)],
        labels=["事件位置"],
        allow_far=allow_far,
        hint="如确属本辖区请勾选“仍然上报”（命令行加 --allow-far）",
    )
    cat = Category.from_any(category)
    sev = Severity.from_any(severity)
    src = IncidentSource.from_any(source)
    desc = _text(description, "事件描述", required=True)
    title_text = _text(title, "事件标题", max_len=200) or (desc[:30] + ("…" if len(desc) > 30 else ""))
    reporter_text = _text(reporter, "上报人", max_len=100) or actor.display_name or actor.username
    contact_text = _text(reporter_contact, "上报人联系方式", max_len=100)
    at = as_utc(reported_at) or clock.now()
    checked = check_uploads(photos)
    if object_id is not None and session.get(SupervisedObject, object_id) is None:
        raise NotFoundError(f"没有编号为 {object_id} 的监管对象", f"no supervised object {object_id}")
    if track_id is not None and session.get(PatrolTrack, track_id) is None:
        raise NotFoundError(f"没有编号为 {track_id} 的巡河轨迹", f"no patrol track {track_id}")

    routing = route(index if index is not None else session, lon_f, lat_f, tolerance_m=tolerance_m)
    due = policy.compute(cat.value, sev.value, at)
    note = routing.note()
    if checked:
        note += "；附件：" + "、".join(p.name for p in checked)
    incident = Incident(
        code=next_incident_code(session, at),
        title=title_text,
        category=cat.value,
        severity=sev.value,
        status=S.REPORTED.value,
        description=desc,
        source=src.value,
        reporter=reporter_text,
        reporter_contact=contact_text,
        reported_at=at,
        grid_id=routing.grid_id,
        reach_id=routing.reach_id,
        object_id=object_id,
        track_id=track_id,
        accept_due_at=due.accept_due_at,
        close_due_at=due.close_due_at,
        deadline_estimated=due.estimated,
        geom=Point(lon_f, lat_f),
    )
    event = IncidentEvent(
        action="report", from_status=None, to_status=S.REPORTED.value, at=at, by=actor.username, note=note
    )
    incident.events = [event]
    session.add(incident)
    session.flush()
    attach(session, checked, incident_id=incident.id, event_id=event.id, by=actor.username, at=at, files=files)
    incident.routing = routing  # type: ignore[attr-defined]
    return incident


def routing_of(incident: Incident) -> Routing:
    """How :func:`report_incident` routed the case it returned (kept on that object only)."""
    routing = incident.__dict__.get("routing")
    if not isinstance(routing, Routing):
        raise ValueError("the incident was not returned by report_incident")
    return routing
