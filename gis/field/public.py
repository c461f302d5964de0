"""The phone app's public side (no account): the place a signboard's QR code names, a resident's
report (proof of work, a budget per address, limits) and a case looked up by its 查询码.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import require
from gis.errors import NotFoundError, ValidationError, checked_text
from gis.field.core import (
    check_client_id,
    check_solution,
    new_query_code,
    normal_query_code,
    parse_category,
    parse_number,
)
from gis.field.service import MAX_PHONE_LEN, PUBLIC, PUBLIC_OWNER, find_submission
from gis.incidents.deadlines import local_iso
from gis.incidents.open311 import routing_index
from gis.incidents.reporting import report_incident, routing_of
from gis.incidents.states import ACTION_LABELS
from gis.model import Category, GridLevel, IncidentSource, IncidentStatus
from gis.store.schema import (
    FieldSubmission,
    Grid,
    Incident,
    Reach,
    not_deleted,
)

__all__ = ["public_case", "public_place", "submit_public_report"]


# ---------------------------------------------------------------------------------------------
# Public: place, reports, cases
# ---------------------------------------------------------------------------------------------


def _live_grid(session: Session, grid_id: Any) -> tuple[Grid, BaseGeometry]:
    g = session.get(Grid, int(grid_id)) if str(grid_id).strip().isdigit() else None
    if g is None or g.deleted_at is not None or g.geom is None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no grid {grid_id!r}")
    return g, g.geom


def _live_reach(session: Session, reach_id: Any) -> Reach:
    r = session.get(Reach, int(reach_id)) if str(reach_id).strip().isdigit() else None
    if r is None or r.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {reach_id} 的河段", f"no reach {reach_id!r}")
    return r


def _reach_grid(session: Session, reach: Reach) -> Grid | None:
    """The village grid holding the reach's midpoint (else any grid holding it, lowest first)."""
    mid = shapely.line_interpolate_point(reach.geom, 0.5, normalized=True)
    live = session.scalars(select(Grid).where(not_deleted(Grid), Grid.geom.is_not(None)))
    grids = [g for g in live if g.geom is not None and g.geom.covers(mid)]
    grids.sort(key=lambda g: (-GridLevel(g.level).rank, g.id))
    return grids[0] if grids else None


def public_place(session: Session, *, grid: Any = None, reach: Any = None) -> dict[str, Any]:
    """Where a signboard stands, for the public report page: the grid (and reach), a centre and
    bounds (public fields only: names and ids)."""
    if reach not in (None, ""):
        r = _live_reach(session, reach)
        g = _live_grid(session, grid)[0] if grid not in (None, "") else _reach_grid(session, r)
        mid = shapely.line_interpolate_point(r.geom, 0.5, normalized=True)
        center = (float(mid.x), float(mid.y))
        bounds = r.geom.bounds
    elif grid not in (None, ""):
        r = None
        g, shape = _live_grid(session, grid)
        p = shape.representative_point()
        center = (float(p.x), float(p.y))
        bounds = shape.bounds
    else:
        raise ValidationError("请指定网格（grid）或河段（reach）", "grid or reach required")
    return {
        "grid": None if g is None else {"id": g.id, "name": g.name},
        "reach": None if r is None else {"id": r.id, "name": r.name},
        "center": [round(center[0], 6), round(center[1], 6)],
        "bounds": [round(float(v), 6) for v in bounds],
    }


def _phone(value: Any) -> str:
    text = checked_text(value, "联系电话", max_len=MAX_PHONE_LEN)
    if text and not all(c.isdigit() or c in "+- ()" for c in text):
        raise ValidationError("联系电话只能包含数字、空格和 + - ( )", "phone has other characters")
    return text


def _public_answer(session: Session, sub: FieldSubmission) -> dict[str, Any]:
    inc = session.get(Incident, sub.incident_id) if sub.incident_id is not None else None
    if inc is None:
        raise NotFoundError("该举报的事件已被删除", f"incident of {sub.client_id} is gone")
    return {
        "client_id": sub.client_id,
        "code": inc.code,
        "query_code": sub.query_code,
        "status": inc.status,
        "status_label": IncidentStatus(inc.status).label,
    }


def submit_public_report(
    session: Session,
    *,
    secret: bytes,
    token: Any,
    nonce: Any,
    client_id: Any,
    category: Any,
    description: Any,
    phone: Any = None,
    lon: Any = None,
    lat: Any = None,
    grid: Any = None,
    reach: Any = None,
    photos: Sequence[Any] = (),
) -> tuple[dict[str, Any], bool]:
    """A resident's report from the signboard (a session of :data:`PUBLIC_REPORTER`).

    The challenge (``token``, ``nonce``) must be solved, unexpired and not spent before; the
    position is the phone's (``lon``/``lat``) or else the reach's midpoint or the grid's
    representative point. The case gets source 群众投诉举报, ``phone`` as the reporter's contact and a
    new 查询码. A report sent again with the same ``client_id`` (and a valid challenge) gets the
    same answer. Returns the answer and whether the case was reported now.

    Raises
    ------
    ValidationError
        Bad, expired, unsolved or spent challenge; no category, description or position.
    """
    require(session.info.get("actor"), "incident.report")
    digest = check_solution(secret, token, nonce, clock.now().timestamp())
    cid = check_client_id(client_id)
    known = find_submission(session, PUBLIC, PUBLIC_OWNER, cid)
    if known is not None:
        return _public_answer(session, known), False
    if session.scalar(select(FieldSubmission.id).where(FieldSubmission.challenge == digest)) is not None:
        raise ValidationError("防刷验证已使用过：请刷新页面后重新提交", "challenge already spent")
    cat = parse_category(category)
    contact = _phone(phone)
    if lon not in (None, "") and lat not in (None, ""):
        x, y = parse_number(lon, "经度"), parse_number(lat, "纬度")
    elif reach not in (None, "") or grid not in (None, ""):
        x, y = public_place(session, grid=grid, reach=reach)["center"]
    else:
        raise ValidationError("缺少位置：请允许手机定位，或从公示牌的二维码进入", "position required")
    inc = report_incident(
        session,
        lon=x,
        lat=y,
        category=cat.value,
        description=description if isinstance(description, str) else "",
        source=IncidentSource.PUBLIC_COMPLAINT.value,
        reporter="群众（扫码举报）",
        reporter_contact=contact or None,
        photos=list(photos),
        index=routing_index(session),
    )
    routing_of(inc)
    code = new_query_code()
    while session.scalar(select(FieldSubmission.id).where(FieldSubmission.query_code == code)) is not None:
        code = new_query_code()  # pragma: no cover - 40 random bits
    sub = FieldSubmission(
        kind=PUBLIC, owner=PUBLIC_OWNER, client_id=cid, incident_id=inc.id, query_code=code, challenge=digest
    )
    session.add(sub)
    session.flush()
    return _public_answer(session, sub), True


PUBLIC_REPLIES: dict[str, str] = {
    IncidentStatus.REPORTED.value: "已收到您的举报，正在等待受理。",
    IncidentStatus.ACCEPTED.value: "您的举报已受理，将交由责任网格处理。",
    IncidentStatus.REJECTED.value: "经核实，该举报不予受理。如有疑问请拨打监督电话。",
    IncidentStatus.RESOLVED.value: "问题已处理完毕，感谢您的监督。",
    IncidentStatus.ARCHIVED.value: "问题已处理完毕并归档，感谢您的监督。",
    IncidentStatus.TRANSFERRED.value: "该问题已移送执法或司法机关处理。",
}
"""The public reply of each state: fixed texts (the notes of the steps name people and are never
public, :mod:`gis.incidents.public`)."""


def public_case(session: Session, query_code: str) -> dict[str, Any]:
    """What a resident sees of the case of ``query_code``: code, state, category, when reported,
    the state's public reply and the dated steps (their names only). Unknown code: NotFoundError."""
    code = normal_query_code(query_code)
    sub = (
        session.scalar(
            select(FieldSubmission).where(FieldSubmission.query_code == code, FieldSubmission.kind == PUBLIC)
        )
        if code
        else None
    )
    inc = session.get(Incident, sub.incident_id) if sub is not None and sub.incident_id is not None else None
    if inc is None:
        raise NotFoundError("没有这个查询码对应的举报，请核对后再试", "unknown query code")
    st = IncidentStatus(inc.status)
    updates = [
        {
            "at": local_iso(e.at),
            "status": e.to_status,
            "status_label": IncidentStatus(e.to_status).label,
            "text": ACTION_LABELS.get(e.action, "办理"),
        }
        for e in sorted(inc.events, key=lambda e: (e.at, e.id))
    ]
    return {
        "code": inc.code,
        "query_code": code,
        "status": st.value,
        "status_label": st.label,
        "category_label": Category(inc.category).label,
        "reported_at": local_iso(inc.reported_at),
        "reply": PUBLIC_REPLIES.get(st.value),
        "updates": updates,
    }
