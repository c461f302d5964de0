"""The field app's services (session-bound): sign-in of a device, 我的, patrols and reports sent
from a phone, and residents' reports from the signboard (the HTTP surface is ``api/field.py``).

Device sign-in
    :func:`sign_in_device` checks the password with the sign-in rules of the pages
    (:func:`gis.accounts.signin.sign_in`: failures counted, names and addresses locked) and issues
    an ordinary API key (:func:`gis.accounts.keys.create_key`) named ``手机：<device>``. Issuing and
    revoking keys needs ``user.manage``: the account acts for itself here, in one session that
    only creates (or revokes) its own key, audited under its own name (:func:`_for_itself`). An
    account that must first change its initial password is refused (the page does that).

Patrols and reports, once each
    Every submission carries a ``client_id`` made by the phone; ``field_submissions`` keeps it
    unique per account and kind, so a patrol or report sent again (the answer was lost, the sync
    retried) is found and answered again, never stored twice. A patrol's fixes go through the one
    path of every track into the store (:func:`gis.patrol.track_import.import_tracks`: cleaning, checks,
    matching, flags); its figures and whether it counts come from
    :func:`gis.patrol.service.patrol_report` of its month, as every list shows them. A report names
    its patrol by the patrol's ``client_id``: linked at once when the patrol is stored, or when it
    arrives later.

Public reports
    :data:`PUBLIC_REPORTER` acts for residents (no account): a solved proof-of-work challenge
    (:mod:`gis.field.core`) is spent on each report (a replay is refused), the case is reported as
    every case is (:func:`gis.incidents.reporting.report_incident`) with source 群众投诉举报 and the
    phone as the reporter's contact (never public), and a 查询码 returned. :func:`public_case`
    shows what the public may see of it (:mod:`gis.incidents.public`): state, category, dates and
    fixed texts per step; no description, place, names or notes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.accounts.keys import actor_for_key, create_key, key_digest, revoke_key
from gis.accounts.signin import sign_in
from gis.auth import EVERYTHING, Actor, require
from gis.errors import AuthenticationError, NotFoundError, PermissionDenied, checked_text
from gis.field.core import check_client_id, fixes_json, parse_category, parse_number, track_from_fixes
from gis.geometry.linref import format_range
from gis.incidents.deadlines import local_iso
from gis.incidents.lists import incident_dict
from gis.incidents.open311 import routing_index
from gis.incidents.reporting import report_incident
from gis.model import LOCAL_TZ, Category, GridLevel, IncidentSource, IncidentStatus, UserRole
from gis.patrol.object_ledger import object_ledger
from gis.patrol.rules import FREQUENCIES
from gis.patrol.service import patrol_report, store_reaches
from gis.patrol.track_import import import_tracks
from gis.store.engine import Store
from gis.store.schema import (
    ApiKey,
    FieldSubmission,
    Grid,
    GridRoleAssignment,
    Incident,
    IncidentEvent,
    PatrolTrack,
    Person,
    Reach,
    SupervisedObject,
    User,
    not_deleted,
)
from gis.store.scope import grid_and_below, scope_of

__all__ = [
    "PUBLIC_REPORTER",
    "DeviceSession",
    "categories",
    "find_submission",
    "me",
    "objects_of_grids",
    "sign_in_device",
    "sign_out_device",
    "submit_patrol",
    "submit_report",
]

PUBLIC_REPORTER = Actor("公众扫码举报", UserRole.PATROLLER, "群众（公示牌扫码举报）")
"""Who acts for residents reporting from the signboard (no account): may report a case, nothing
else is done in its sessions. Its name (not a possible user name: those are Latin) is what the
audit log and the case's 上报 step show."""

PATROL, REPORT, PUBLIC = "patrol", "report", "public_report"
PUBLIC_OWNER = "public"
MAX_DEVICE_LEN = 40
MAX_PHONE_LEN = 30

_GEOD = pyproj.Geod(ellps="WGS84")
SIMPLIFY_DEG = 0.00005
"""Tolerance of the reach lines sent to phones, degrees (about 5 m at Linjiang's latitude)."""


def categories() -> list[dict[str, str]]:
    """The report categories: the nine focus objects and 其他 (the app offers no default)."""
    return [{"code": c.value, "label": c.label} for c in Category]


# ---------------------------------------------------------------------------------------------
# Device sign-in
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceSession:
    """A device signed in: its new key (shown once) and what the app shows first."""

    key: str
    key_id: int
    body: dict[str, Any]


def _for_itself(actor: Actor) -> Actor:
    """The account acting for itself to issue or revoke its own device key (needs ``user.manage``,
    which the security administrator alone holds on the pages)."""
    return replace(actor, installer=True)


def _user_dict(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_label": UserRole(user.role).label,
        "person_id": user.person_id,
    }


def _grid_dict(g: Grid) -> dict[str, Any]:
    bounds = [round(float(v), 6) for v in g.geom.bounds] if g.geom is not None else None
    return {"id": g.id, "name": g.name, "level": g.level, "level_label": GridLevel(g.level).label, "bounds": bounds}


def _user_grids(session: Session, user: User) -> list[Grid]:
    """The grids the app shows an account: its bound grid and those below; else the grids of its
    person's current posts and those below; else every grid."""
    if user.grid_id is not None:
        ids = set(grid_and_below(session, user.grid_id))
    elif user.person_id is not None:
        today = clock.today()
        posts = session.scalars(select(GridRoleAssignment).where(GridRoleAssignment.person_id == user.person_id))
        ids = set()
        for a in posts:
            if (a.valid_from is None or a.valid_from <= today) and (a.valid_to is None or a.valid_to >= today):
                ids.update(grid_and_below(session, a.grid_id))
    else:
        ids = set()
    query = select(Grid).where(not_deleted(Grid), Grid.geom.is_not(None)).order_by(Grid.id)
    rows = list(session.scalars(query))
    return [g for g in rows if g.id in ids] if ids else rows


def _user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise AuthenticationError("账号不存在或已停用，请重新登录", f"no account for {actor.username}")
    return user


def sign_in_device(store: Store, username: str, password: str, device: str, *, ip: str = "") -> DeviceSession:
    """Sign a phone in: check the password (throttled and locked as on the sign-in page) and issue
    a key named ``手机：<device>`` (a second one of that name gets ``（2）``…).

    Raises
    ------
    AuthenticationError
        Wrong name or password, a locked name or address (reason ``locked``), a disabled account.
    PermissionDenied
        The account must change its initial password first (on the web page).
    """
    label = checked_text(device, "设备名称", max_len=MAX_DEVICE_LEN) or "手机"
    result = sign_in(store, username, password, ip=ip)
    if result.must_change_password:
        raise PermissionDenied(
            "该账号须先修改初始密码：请先在电脑或手机浏览器中登录网页版修改密码，再在手机端登录",
            "password change required",
        )
    actor = result.actor
    with store.session(_for_itself(actor)) as s:
        taken = set(s.scalars(select(ApiKey.name).where(ApiKey.user_id == actor.user_id, ApiKey.revoked_at.is_(None))))
        name = f"手机：{label}"
        n = 1
        while name in taken:
            n += 1
            name = f"手机：{label}（{n}）"
        made = create_key(s, actor.username, name)
        user = _user(s, actor)
        body = {
            "key": made.key,
            "user": _user_dict(user),
            "grids": [_grid_dict(g) for g in _user_grids(s, user)],
        }
    return DeviceSession(made.key, made.info.id, body)


def sign_out_device(store: Store, key: str) -> None:
    """Revoke ``key`` (the key the app signs out with); an unknown or revoked key is a 401."""
    with store.session() as s:
        actor = actor_for_key(s, key)
        key_id = s.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_digest(key)))
    if key_id is None:  # pragma: no cover - actor_for_key found it
        raise AuthenticationError("接口密钥无效", "unknown key")
    with store.session(_for_itself(actor)) as s:
        revoke_key(s, key_id)


# ---------------------------------------------------------------------------------------------
# 我的
# ---------------------------------------------------------------------------------------------


def _reach_rows(session: Session, grids: Sequence[Grid]) -> list[dict[str, Any]]:
    shapes = [(g.id, g.geom) for g in grids if g.geom is not None]
    rows = session.scalars(select(Reach).where(not_deleted(Reach)).order_by(Reach.id)).all()
    out = []
    for r in rows:
        inside = [gid for gid, geom in shapes if geom.intersects(r.geom)]
        if not inside:
            continue
        line = shapely.simplify(r.geom, SIMPLIFY_DEG, preserve_topology=True)
        out.append(
            {
                "id": r.id,
                "name": r.name,
                "code": r.code,
                "grid_ids": inside,
                "start_station_m": r.start_station_m or 0.0,
                "length_m": round(float(_GEOD.geometry_length(r.geom)), 1),
                "geometry": json.loads(shapely.to_geojson(line, indent=None)),
            }
        )
    return out


def _current_period(frequency: str | None) -> str:
    today = clock.today()
    if frequency == "quarter":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    if frequency == "year":
        return str(today.year)
    return f"{today.year}-{today.month:02d}"


def _client_ids(session: Session, owner: str, kind: str) -> dict[int, str]:
    column = FieldSubmission.track_id if kind == PATROL else FieldSubmission.incident_id
    rows = session.execute(
        select(column, FieldSubmission.client_id).where(
            FieldSubmission.owner == owner, FieldSubmission.kind == kind, column.is_not(None)
        )
    )
    return {int(a): str(b) for a, b in rows if a is not None}


def _owner(actor: Actor) -> str:
    return f"user:{actor.user_id}"


def me(session: Session) -> dict[str, Any]:
    """我的: the account, its grids and their reaches, the categories, this period's patrols of the
    account's person against the required frequency, the cases the account reported and the
    supervised objects of its grids (for inspection records: :func:`objects_of_grids`)."""
    actor = require(session.info.get("actor"), "read")
    user = _user(session, actor)
    grids = _user_grids(session, user)
    person = user.person_id
    first = patrol_report(session, _current_period(None), scope=EVERYTHING)
    name = _person_name(session, person)
    row = next((p for p in first.persons if p["person"] == name), None) if name else None
    frequency = row["frequency"] if row else None
    report = (
        first
        if frequency not in ("quarter", "year")
        else patrol_report(session, _current_period(frequency), scope=EVERYTHING)
    )
    if report is not first:
        row = next((p for p in report.persons if p["person"] == name), None)
    cids = _client_ids(session, _owner(actor), PATROL)
    items = [
        {
            "client_id": cids.get(t["track_id"]),
            "track_id": t["track_id"],
            "name": t["name"],
            "started_at": pd.Timestamp(t["start"]).tz_convert(LOCAL_TZ).isoformat() if t["start"] else None,
            "length_m": t["length_m"],
            "river_length_m": t["river_length_m"],
            "counted": t["counted"],
            "reasons": t["not_counted_because"],
        }
        for t in report.tracks
        if name and t["person"] == name and t["start"] and _in_period(report.period, t["start"])
    ]
    incidents = session.scalars(
        select(Incident)
        .join(IncidentEvent, IncidentEvent.incident_id == Incident.id)
        .where(IncidentEvent.action == "report", IncidentEvent.by == actor.username)
        .options(selectinload(Incident.grid), selectinload(Incident.reach))
        .order_by(Incident.reported_at.desc(), Incident.id.desc())
        .limit(200)
    ).all()
    rids = _client_ids(session, _owner(actor), REPORT)
    reports = []
    for inc in incidents:
        d = incident_dict(inc)
        reports.append(
            {
                "client_id": rids.get(inc.id),
                "code": inc.code,
                "status": d["status"],
                "status_label": d["status_label"],
                "category": d["category"],
                "category_label": d["category_label"],
                "reported_at": d["reported_at"],
                "deadline": d["deadline"]["due_at"] if inc.closed_at is None else None,
                "track_id": inc.track_id,
                "grid": d["grid"],
            }
        )
    return {
        "user": _user_dict(user),
        "grids": [_grid_dict(g) for g in grids],
        "reaches": _reach_rows(session, grids),
        "categories": categories(),
        "period": report.period.to_dict(),
        "patrols": {
            "done": row["done"] if row else len([i for i in items if i["counted"]]),
            "required": row["required"] if row and row["frequency"] else None,
            "frequency": FREQUENCIES.get(row["frequency"]) if row and row["frequency"] else None,
            "items": items,
        },
        "reports": reports,
        "objects": objects_of_grids(session, grids),
    }


def objects_of_grids(session: Session, grids: Sequence[Grid]) -> list[dict[str, Any]]:
    """The live supervised objects of ``grids`` that the session's actor may see, by id, each with
    its point (``lon``/``lat``, decimal degrees), its 五定 interval and responsible person, and its
    last visit (track or record, Beijing time) and whether it is overdue now, as this month's
    object ledger (:func:`gis.patrol.object_ledger.object_ledger`) has them."""
    ids = {g.id for g in grids}
    rows = [r for r in object_ledger(session, _current_period(None)) if r["grid_id"] in ids]
    points = {
        o.id: o.geom
        for o in session.scalars(
            select(SupervisedObject).where(SupervisedObject.id.in_([r["object_id"] for r in rows]))
        )
    }
    out = []
    for r in rows:
        point = points.get(r["object_id"])
        out.append(
            {
                "id": r["object_id"],
                "name": r["name"],
                "category": r["category"],
                "category_label": r["category_label"],
                "subtype_label": r["subtype_label"],
                "grid": r["grid"],
                "responsible": r["responsible"],
                "interval": r["interval"],
                "last_visit": r["last_visit"],
                "last_visit_source": r["last_visit_source"],
                "overdue": bool(r["overdue"]),
                "lon": round(float(point.x), 7) if point is not None else None,
                "lat": round(float(point.y), 7) if point is not None else None,
            }
        )
    return out


def _in_period(period: Any, start_iso: str) -> bool:
    return bool(period.contains(pd.Timestamp(start_iso).tz_convert("UTC").tz_localize(None).to_datetime64()))


def _person_name(session: Session, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    p = session.get(Person, person_id)
    return p.name if p is not None else None


# ---------------------------------------------------------------------------------------------
# Patrols
# ---------------------------------------------------------------------------------------------


def find_submission(session: Session, kind: str, owner: str, client_id: str) -> FieldSubmission | None:
    """The submission ``client_id`` of ``owner`` of this kind, if it was received before."""
    return session.scalar(
        select(FieldSubmission).where(
            FieldSubmission.kind == kind, FieldSubmission.owner == owner, FieldSubmission.client_id == client_id
        )
    )


def _month_of(started: Any) -> str:
    local = started.astimezone(LOCAL_TZ)
    return f"{local.year}-{local.month:02d}"


def _patrol_answer(session: Session, sub: FieldSubmission) -> dict[str, Any]:
    track = session.get(PatrolTrack, sub.track_id) if sub.track_id is not None else None
    if track is None or track.started_at is None:
        raise NotFoundError("该巡河记录已被删除", f"track of {sub.client_id} is gone")
    report = patrol_report(session, _month_of(track.started_at), scope=EVERYTHING)
    row = next((t for t in report.tracks if t["track_id"] == track.id), None)
    if row is None:  # pragma: no cover - every stored track of the month is in its report
        raise NotFoundError("巡河记录不在本月的巡河统计中", f"track {track.id} not in its month's report")
    reaches = store_reaches(session)
    matched = []
    for m in row["matched"]:
        rid = m["reach_id"]
        offset = float(reaches.at[rid, "start_station_m"]) if rid in reaches.index else 0.0
        matched.append(
            {
                "reach_id": rid,
                "reach": str(reaches.at[rid, "name"]) if rid in reaches.index else "",
                "from_m": m["from_m"],
                "to_m": m["to_m"],
                "from_station": round(m["from_m"] + offset, 1),
                "to_station": round(m["to_m"] + offset, 1),
                "stations": format_range(m["from_m"] + offset, m["to_m"] + offset),
                "length_m": m["length_m"],
            }
        )
    grid = session.get(Grid, track.grid_id) if track.grid_id is not None else None
    return {
        "client_id": sub.client_id,
        "track_id": track.id,
        "name": track.name,
        "started_at": local_iso(track.started_at),
        "length_m": row["length_m"],
        "river_length_m": row["river_length_m"],
        "duration_s": row["duration_s"],
        "counted": row["counted"],
        "reasons": row["not_counted_because"],
        "flags": [{"code": f["code"], "label": f["label"], "message": f.get("message", "")} for f in row["flags"]],
        "matched": matched,
        "grid": None if grid is None else {"id": grid.id, "name": grid.name},
    }


def submit_patrol(
    session: Session, *, client_id: Any, fixes: Any, name: Any = None, max_points: int = 2_000_000
) -> tuple[dict[str, Any], bool]:
    """Store a patrol recorded by the app (once per ``client_id`` of the account) and link the
    reports taken on it; return its answer and whether it was stored now (False: sent before).

    The fixes become a track (:func:`gis.field.core.track_from_fixes`) stored through
    :func:`gis.patrol.track_import.import_tracks` as a patrol of the account's person (the fixes as
    sent kept as its source data).

    Raises
    ------
    PermissionDenied
        No ``patrol.write``, or an account linked to no person.
    ValidationError, LimitError, TooFarError
        Unusable fixes (too few, too short, no times…), too many, or far from the grids.
    """
    actor = require(session.info.get("actor"), "patrol.write")
    cid = check_client_id(client_id)
    owner = _owner(actor)
    known = find_submission(session, PATROL, owner, cid)
    if known is not None:
        return _patrol_answer(session, known), False
    user = _user(session, actor)
    if user.person_id is None:
        raise PermissionDenied("该账号未关联人员，不能上传巡河轨迹，请联系管理员", f"{actor.username} has no person")
    label = checked_text(name, "巡河名称", max_len=100)
    track = track_from_fixes(fixes, name=label, max_points=max_points)
    first = pd.Timestamp(track.times[~np.isnat(track.times)].min()).tz_localize("UTC").tz_convert(LOCAL_TZ)
    done = import_tracks(
        session,
        [track],
        person=user.person_id,
        source_name=f"手机巡河-{cid}.json",
        source_data=fixes_json(fixes),
        default_name=f"手机巡河 {first.strftime('%Y-%m-%d %H:%M')}",
    )
    sub = FieldSubmission(kind=PATROL, owner=owner, client_id=cid, user_id=user.id, track_id=done.ids[0])
    session.add(sub)
    session.flush()
    _link_waiting_reports(session, owner, cid, done.ids[0])
    return _patrol_answer(session, sub), True


def _link_waiting_reports(session: Session, owner: str, patrol_cid: str, track_id: int) -> None:
    """Link the account's reports that named this patrol before it arrived."""
    waiting = session.scalars(
        select(FieldSubmission).where(
            FieldSubmission.owner == owner,
            FieldSubmission.kind == REPORT,
            FieldSubmission.patrol_client_id == patrol_cid,
        )
    ).all()
    scope = scope_of(session)
    for sub in waiting:
        inc = session.get(Incident, sub.incident_id) if sub.incident_id is not None else None
        if inc is not None and inc.track_id is None and scope.covers(inc.grid_id):
            inc.track_id = track_id
    session.flush()


# ---------------------------------------------------------------------------------------------
# Reports of an account
# ---------------------------------------------------------------------------------------------


def _report_answer(session: Session, sub: FieldSubmission) -> dict[str, Any]:
    inc = session.get(Incident, sub.incident_id) if sub.incident_id is not None else None
    if inc is None:
        raise NotFoundError("该上报的事件已被删除", f"incident of {sub.client_id} is gone")
    st = IncidentStatus(inc.status)
    grid = inc.grid
    return {
        "client_id": sub.client_id,
        "code": inc.code,
        "status": st.value,
        "status_label": st.label,
        "category_label": Category(inc.category).label,
        "grid": None if grid is None else {"id": grid.id, "name": grid.name},
        "reach": None if inc.reach is None else {"id": inc.reach.id, "name": inc.reach.name},
        "track_id": inc.track_id if inc.track_id is not None else _patrol_track(session, sub),
        "patrol_client_id": sub.patrol_client_id,
    }


def _patrol_track(session: Session, sub: FieldSubmission) -> int | None:
    """The track of the patrol a report names, once stored (also when the case itself could not be
    linked: a case outside the account's grids, which it may report but not change)."""
    if not sub.patrol_client_id:
        return None
    patrol = find_submission(session, PATROL, sub.owner, sub.patrol_client_id)
    return patrol.track_id if patrol is not None else None


def submit_report(
    session: Session,
    *,
    client_id: Any,
    category: Any,
    description: Any,
    lon: Any,
    lat: Any,
    patrol_client_id: Any = None,
    photos: Sequence[Any] = (),
) -> tuple[dict[str, Any], bool]:
    """Report a case from the field (once per ``client_id`` of the account), routed and timed as
    every report (:func:`gis.incidents.reporting.report_incident`, source 日常巡查; 志愿者/协管员
    for volunteers), linked to the patrol ``patrol_client_id`` when it is stored (now or later).
    Returns the answer and whether the case was reported now."""
    actor = require(session.info.get("actor"), "incident.report")
    cid = check_client_id(client_id)
    owner = _owner(actor)
    known = find_submission(session, REPORT, owner, cid)
    if known is not None:
        return _report_answer(session, known), False
    patrol_cid = None
    if isinstance(patrol_client_id, str) and patrol_client_id.strip():
        patrol_cid = check_client_id(patrol_client_id, "patrol_client_id")
    cat = parse_category(category)
    patrol = find_submission(session, PATROL, owner, patrol_cid) if patrol_cid else None
    inc = report_incident(
        session,
        lon=parse_number(lon, "经度"),
        lat=parse_number(lat, "纬度"),
        category=cat.value,
        description=description if isinstance(description, str) else "",
        source=IncidentSource.PATROL.value,
        track_id=patrol.track_id if patrol is not None else None,
        photos=list(photos),
        index=routing_index(session),
    )
    sub = FieldSubmission(
        kind=REPORT, owner=owner, client_id=cid, user_id=actor.user_id, incident_id=inc.id, patrol_client_id=patrol_cid
    )
    session.add(sub)
    session.flush()
    return _report_answer(session, sub), True
