"""Open311 GeoReport v2 in RiverGrid's terms: services, requests in and out (the service behind
``/api/open311/v2/``, :mod:`api.open311`).

* **Services** are the incident categories: the nine focus objects of the plan and 其他
  (:class:`gis.model.Category`); ``service_code`` is the category code (``ecology``…), the
  ``service_name`` its Chinese name. One optional attribute, ``severity`` (一般/较大/紧急).
* **A request posted** (:func:`create_request`) is reported exactly as the page and the command
  line report (:func:`gis.incidents.reporting.report_incident`): routed to grid, reach and persons,
  deadlines set, audited under the key's account, photos checked and stored. Its source follows
  the account's role (巡查员 → 日常巡查, 志愿者 → 志愿者/协管员, others → 群众投诉举报, since a platform
  relaying residents' reports uses a staff account), unless ``source`` says otherwise.
  Coordinates are WGS84 unless ``coord_system`` is ``gcj02`` or ``bd09`` (converted on request).
  Open311's ``address_string`` alone cannot be placed (no geocoder on an intranet): a request needs
  ``lat``/``long``; the address is kept in the description.
* **Requests listed** (:func:`list_requests`, :func:`get_request`) carry public fields only
  (:mod:`gis.incidents.public`: no reporter, no contact, no photos, 信访案件 never listed, 污染纠纷
  coarsened to 100 m), whoever asks. RiverGrid's nine states map to Open311's two
  (:func:`open311_status`); the state itself is in ``extended_attributes``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.config import settings
from gis.errors import NotFoundError, ValidationError
from gis.geometry.crs import OFFSET_SOURCES, convert_geometry
from gis.grids.chain import ResponsibilityIndex
from gis.incidents.deadlines import local_iso
from gis.incidents.lists import list_incidents
from gis.incidents.public import is_listed, public_point, public_text
from gis.incidents.reporting import report_incident, routing_of
from gis.model import Category, IncidentSource, IncidentStatus, Severity, UserRole
from gis.store.schema import AuditEntry, Incident
from gis.store.scope import scope_of

__all__ = [
    "DEFAULT_DAYS",
    "MAX_REQUESTS",
    "SPECIFICATION",
    "create_request",
    "get_request",
    "list_requests",
    "open311_status",
    "routing_index",
    "service_definition",
    "services",
]

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_DAYS = 90
"""Without dates, requests of the last 90 days are listed (as the specification suggests)."""
MAX_REQUESTS = 1000
"""Most requests one list returns (newest first)."""

GROUP = "河湖监管"
DESCRIPTIONS: dict[Category, str] = {
    Category.DISCHARGE_ENTERPRISE: "企业偷排、超标排放、私设排污口等",
    Category.ECOLOGY: "河湖水面漂浮物、垃圾、河道生态破坏等",
    Category.PETITION: "与河湖管理有关的信访事项（不公开）",
    Category.POLLUTION_DISPUTE: "因污染引起的纠纷（公开位置精确到 100 米）",
    Category.SAFETY_HAZARD: "危险化学品、堤岸隐患等环境安全隐患",
    Category.ILLEGAL_CONSTRUCTION: "河道管理范围内违法建设、乱占乱建",
    Category.DRINKING_WATER_SOURCE: "饮用水水源保护区内的违法行为或污染",
    Category.NATURE_RESERVE: "自然保护区内的违法开发、破坏",
    Category.LIVESTOCK_POLLUTION: "畜禽养殖粪污直排、乱堆乱放",
    Category.OTHER: "不属于以上类别的河湖问题",
}

CLOSED_STATES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.REVIEW})
"""Open states that Open311 still calls ``closed``: the handling is finished (办结, 审核中)."""

SOURCE_OF_ROLE: dict[UserRole, IncidentSource] = {
    UserRole.PATROLLER: IncidentSource.PATROL,
    UserRole.VOLUNTEER: IncidentSource.VOLUNTEER,
}

ROUTING_TABLES = (
    "grids",
    "reaches",
    "rivers",
    "persons",
    "grid_roles",
    "reach_chiefs",
    "org_bodies",
    "org_members",
)
"""Tables the responsibility index is built from (:func:`routing_index` rebuilds when they change)."""


def services() -> list[dict[str, Any]]:
    """The service list: every category, in the plan's order, 其他 last."""
    return [
        {
            "service_code": c.value,
            "service_name": c.label,
            "description": DESCRIPTIONS[c],
            "metadata": True,
            "type": "realtime",
            "keywords": "河长制,网格," + c.label,
            "group": GROUP,
        }
        for c in Category
    ]


def _category(code: str) -> Category:
    try:
        return Category(code)
    except ValueError:
        pass
    try:
        return Category.from_any(code)
    except ValueError:
        raise NotFoundError(
            f"没有代码为“{code}”的服务；可用：{'、'.join(c.value for c in Category)}", f"no service {code!r}"
        ) from None


def service_definition(code: str) -> dict[str, Any]:
    """The definition of one service: its one optional attribute, the severity."""
    category = _category(code)
    return {
        "service_code": category.value,
        "attributes": [
            {
                "variable": True,
                "code": "severity",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "事件等级，默认“一般”",
                "order": 1,
                "description": "事件等级",
                "values": [{"key": s.value, "name": s.label} for s in Severity],
            }
        ],
    }


def open311_status(status: str) -> str:
    """``open`` while a case is being handled, ``closed`` once handled (办结, 审核), archived,
    not accepted or transferred."""
    state = IncidentStatus(status)
    return "open" if state.is_open and state not in CLOSED_STATES else "closed"


def _updated_at(incident: Incident) -> datetime:
    times = [e.at for e in incident.events if e.at is not None]
    return max(times) if times else incident.reported_at


def public_request(incident: Incident) -> dict[str, Any]:
    """A case as Open311 lists it to anyone (public fields only, see the module notes)."""
    lon, lat = public_point(incident.category, incident.geom.x, incident.geom.y)
    state = IncidentStatus(incident.status)
    category = Category(incident.category)
    grid_name = incident.grid.name if incident.grid is not None else ""
    return {
        "service_request_id": incident.code,
        "status": open311_status(incident.status),
        "status_notes": state.label,
        "service_name": category.label,
        "service_code": category.value,
        "description": public_text(incident.description),
        "agency_responsible": grid_name,
        "service_notice": "",
        "requested_datetime": local_iso(incident.reported_at),
        "updated_datetime": local_iso(_updated_at(incident)),
        "expected_datetime": local_iso(incident.close_due_at),
        "address": incident.reach.name if incident.reach is not None else "",
        "address_id": "",
        "zipcode": "",
        "lat": round(lat, 6),
        "long": round(lon, 6),
        "media_url": "",
        "extended_attributes": {
            "rivergrid_status": state.value,
            "rivergrid_status_label": state.label,
            "title": public_text(incident.title),
            "severity": incident.severity,
            "severity_label": Severity(incident.severity).label,
            "grid": grid_name,
            "reach": incident.reach.name if incident.reach is not None else "",
            "location_coarsened": (lon, lat) != (incident.geom.x, incident.geom.y),
        },
    }


def _moment(text: str | None, what: str) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return clock.parse_moment(text.strip(), what=what)
    except ValueError:
        raise ValidationError(
            f"{what}“{text}”不是有效的时间（应为 ISO 8601，例如 2026-11-28T08:00:00+08:00）", f"bad {what}"
        ) from None


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _with_relations(session: Session, ids: Sequence[int]) -> list[Incident]:
    if not ids:
        return []
    rows = session.scalars(
        select(Incident)
        .where(Incident.id.in_(list(ids)))
        .options(selectinload(Incident.grid), selectinload(Incident.reach), selectinload(Incident.events))
    )
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def list_requests(
    session: Session,
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Requests as Open311 lists them (newest first, at most :data:`MAX_REQUESTS`).

    ``service_request_id`` (codes, comma-separated) takes precedence over the other filters, as
    the specification says. Dates are ISO 8601; without them the last :data:`DEFAULT_DAYS` days.
    ``status`` is ``open``, ``closed`` or both (comma-separated). Only cases the session's actor
    may see (an account bound to a grid: that grid and below; anonymous: all), never the hidden
    categories."""
    ids = _codes(service_request_id)
    if ids:
        found = session.scalars(
            select(Incident.id).where(or_(Incident.code.in_(ids), Incident.code.in_([i.upper() for i in ids])))
        ).all()
        scope = scope_of(session)
        rows = _with_relations(session, list(found))
        return [public_request(r) for r in rows if is_listed(r.category) and scope.covers(r.grid_id)]
    categories = [_category(c) for c in _codes(service_code)]
    wanted = set(_codes(status)) or {"open", "closed"}
    unknown = wanted - {"open", "closed"}
    if unknown:
        raise ValidationError(f"状态只能是 open 或 closed，收到：{'、'.join(sorted(unknown))}", "bad status")
    end = _moment(end_date, "结束时间")
    start = _moment(start_date, "开始时间")
    if start is None:
        start = (end or clock.now()) - timedelta(days=DEFAULT_DAYS)
    if end is not None and end <= start:
        raise ValidationError("结束时间应晚于开始时间", "end_date before start_date")
    rows = list_incidents(
        session,
        category=[c.value for c in categories] or None,
        since=start,
        until=end,
    )
    picked = [r.id for r in rows if is_listed(r.category) and open311_status(r.status) in wanted][:MAX_REQUESTS]
    return [public_request(r) for r in _with_relations(session, picked)]


def get_request(session: Session, request_id: str) -> dict[str, Any]:
    """One request by its code (``SJ-2026-001``), public fields only."""
    found = list_requests(session, service_request_id=request_id)
    if not found:
        raise NotFoundError(f"没有编号为“{request_id}”的公开事件", f"no public request {request_id!r}")
    return found[0]


_index_lock = threading.Lock()
_index_cache: dict[tuple[str, date, int], ResponsibilityIndex] = {}


def routing_index(session: Session) -> ResponsibilityIndex:
    """The responsibility index for routing reports, rebuilt only when the grids, reaches or
    posts changed (the newest audit entry of :data:`ROUTING_TABLES`) or the day did (posts start
    and end on dates). Shared by the threads of the process; lookups are read-only."""
    version = session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.table_name.in_(ROUTING_TABLES))) or 0
    key = (str(session.get_bind().engine.url), clock.today(), int(version))
    with _index_lock:
        index = _index_cache.get(key)
    if index is None:
        index = ResponsibilityIndex.from_session(session, today=key[1])
        with _index_lock:
            _index_cache.clear()  # one version per process is enough
            _index_cache[key] = index
    return index


def _field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(form: Mapping[str, Any], name: str, label: str) -> float:
    text = _field(form, name)
    if not text:
        raise ValidationError(f"缺少{label}（{name}）：请给出事件位置的经纬度；本系统不做地址解析", f"{name} required")
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"{label}（{name}）应为数字，收到“{text}”", f"{name} not a number") from None


def create_request(
    session: Session,
    form: Mapping[str, Any],
    *,
    photos: Iterable[Any] = (),
    index: ResponsibilityIndex | None = None,
) -> dict[str, Any]:
    """Report the incident an Open311 POST describes (see the module notes) and return the
    Open311 answer for it, with the routing in ``extended_attributes``.

    ``form`` holds the posted fields: ``service_code``, ``lat``, ``long`` (required),
    ``description`` (required), ``address_string``, ``first_name``/``last_name`` (the reporter),
    ``phone``/``email`` (the reporter's contact: stored, never listed), ``attribute[severity]``,
    and RiverGrid's extensions ``coord_system`` (``wgs84``, ``gcj02``, ``bd09``), ``source``,
    ``title``, ``allow_far``. ``photos`` are ``(name, bytes)`` pairs."""
    actor = session.info.get("actor")
    category = _category(_field(form, "service_code") or "")
    lat = _number(form, "lat", "纬度")
    lon = _number(form, "long", "经度")
    system = (_field(form, "coord_system") or "wgs84").lower()
    if system in OFFSET_SOURCES:
        from shapely.geometry import Point  # noqa: PLC0415 — shapely only when a point is converted

        moved = convert_geometry(Point(lon, lat), source=system)
        lon, lat = float(moved.x), float(moved.y)
    elif system not in ("wgs84", "cgcs2000"):
        raise ValidationError(
            f"坐标系“{system}”不支持：可用 wgs84（默认）、gcj02（高德/腾讯）、bd09（百度）", "unknown coord_system"
        )
    description = _field(form, "description")
    address = _field(form, "address_string")
    if address and description:
        description = f"{description}（地址：{address}）"
    reporter = (_field(form, "last_name") + _field(form, "first_name")).strip() or None
    contact = "；".join(x for x in (_field(form, "phone"), _field(form, "email")) if x) or None
    source = _field(form, "source") or (
        SOURCE_OF_ROLE.get(actor.role, IncidentSource.PUBLIC_COMPLAINT).value
        if actor is not None
        else IncidentSource.PUBLIC_COMPLAINT.value
    )
    incident = report_incident(
        session,
        lon=lon,
        lat=lat,
        category=category.value,
        description=description,
        severity=_field(form, "attribute[severity]") or "normal",
        source=source,
        reporter=reporter,
        reporter_contact=contact,
        title=_field(form, "title") or None,
        photos=list(photos),
        index=index if index is not None else routing_index(session),
        allow_far=_field(form, "allow_far").lower() in ("1", "true", "yes"),
    )
    routing = routing_of(incident)
    notice = f"已受理，由{routing.grid_name or '上级网格'}负责处理"
    if routing.blind_spot:
        notice += "（该位置不在任何村级网格内，已转最近的网格）"
    elif routing.outside:
        notice += "（该位置不在本街道（县）网格范围内，已转最近的网格核实）"
    hotline = settings().hotline
    return {
        "service_request_id": incident.code,
        "service_notice": f"{notice}；监督电话 {hotline}",
        "account_id": None,
        "extended_attributes": {
            "id": incident.id,
            "rivergrid_status": incident.status,
            "rivergrid_status_label": IncidentStatus(incident.status).label,
            "grid": routing.grid_name,
            "reach": routing.reach_name,
            "station": routing.station,
            "blind_spot": routing.blind_spot,
            "outside": routing.outside,
            "accept_due_at": local_iso(incident.accept_due_at),
            "close_due_at": local_iso(incident.close_due_at),
            "warnings": routing.warnings,
        },
    }
