"""The object ledger in the store (对象台账, session-bound): the 五定 of each supervised object, its
inspection records, and the ledger of a period (responsible person, interval, last visit, overdue)
that ``patrol-report`` lists and the page 监管对象 shows.

Visits come from two sources (see :mod:`gis.patrol.objects` for the geometry):

* ``patrol``: a stored patrol track passing within ``RIVERGRID_OBJECT_VISIT_M`` metres (default
  50) of the object; derived from the tracks every time, never stored;
* ``record``: an inspection record (``object_inspections``: who, when, note, an optional photo
  stored like incident photos), made on the page (:func:`record_inspection`) or sent by the
  phone app (:func:`gis.field.inspections.submit_inspection`).

The ledger of a period counts what happened *in or before* the period (before its end) and
judges ``overdue`` at the period's end, or now when the period has not ended yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.auth import Scope, require
from gis.config import settings
from gis.errors import NotFoundError, ValidationError, checked_text
from gis.incidents.attachments import AttachmentStore, check_uploads
from gis.model import LOCAL_TZ, Category
from gis.patrol.objects import (
    check_interval_days,
    check_subtype,
    interval_label,
    is_overdue,
    last_times,
    subtype_label,
    track_visits,
)
from gis.patrol.rules import Period, parse_period
from gis.patrol.tracks import track_from_record
from gis.store.schema import Grid, ObjectInspection, PatrolTrack, Person, SupervisedObject, User, not_deleted
from gis.store.scope import scope_of

__all__ = [
    "MAX_NOTE_LEN",
    "inspections_of",
    "object_frame",
    "object_ledger",
    "person_of_actor",
    "record_inspection",
    "set_object_duties",
    "store_visits",
]

MAX_NOTE_LEN = 2000


def _live_objects(session: Session, scope: Scope) -> list[SupervisedObject]:
    rows = session.scalars(
        select(SupervisedObject)
        .outerjoin(Grid, SupervisedObject.grid_id == Grid.id)
        .where((SupervisedObject.grid_id.is_(None)) | not_deleted(Grid))
        .options(selectinload(SupervisedObject.grid), selectinload(SupervisedObject.responsible))
        .order_by(SupervisedObject.id)
    ).all()
    return [o for o in rows if scope.covers(o.grid_id)]


def object_frame(objects: Sequence[SupervisedObject]) -> gpd.GeoDataFrame:
    """The objects' points (EPSG:4326), indexed by object id."""
    return gpd.GeoDataFrame(
        {"id": [o.id for o in objects]}, geometry=[o.geom for o in objects], crs="EPSG:4326"
    ).set_index("id")


def _track_frame(session: Session, before: pd.Timestamp) -> gpd.GeoDataFrame:
    """Stored tracks that started before ``before`` (UTC) as LineStrings with per-vertex times."""
    rows = session.scalars(
        select(PatrolTrack)
        .where(PatrolTrack.started_at.is_(None) | (PatrolTrack.started_at < before.to_pydatetime()))
        .order_by(PatrolTrack.id)
    ).all()
    ids, lines, times = [], [], []
    for r in rows:
        t = track_from_record(r)
        if len(t) < 2:
            continue
        ids.append(r.id)
        lines.append(shapely.linestrings(np.column_stack([t.lon, t.lat])))
        times.append(t.times)
    return gpd.GeoDataFrame({"id": ids, "times": times}, geometry=lines, crs="EPSG:4326").set_index("id")


def store_visits(
    session: Session, objects: Sequence[SupervisedObject], *, before: pd.Timestamp, max_distance_m: float | None = None
) -> pd.DataFrame:
    """Visits of ``objects`` by the stored tracks that started before ``before`` (UTC), as
    :func:`gis.patrol.objects.track_visits` (within ``max_distance_m``, default the setting
    ``RIVERGRID_OBJECT_VISIT_M``)."""
    distance = settings().object_visit_m if max_distance_m is None else max_distance_m
    return track_visits(object_frame(objects), _track_frame(session, before), max_distance_m=distance)


def _records(session: Session, ids: Sequence[int], before: pd.Timestamp) -> pd.DataFrame:
    rows = (
        session.execute(
            select(ObjectInspection.id, ObjectInspection.object_id, ObjectInspection.at).where(
                ObjectInspection.object_id.in_(list(ids)), ObjectInspection.at < before.to_pydatetime()
            )
        ).all()
        if ids
        else []
    )
    return pd.DataFrame(
        {
            "id": pd.Series([r[0] for r in rows], dtype="int64"),
            "object_id": pd.Series([r[1] for r in rows], dtype="int64"),
            "at": pd.to_datetime(pd.Series([r[2] for r in rows], dtype=object), utc=True),
        }
    )


def _local_iso(t: pd.Timestamp | datetime) -> str:
    return pd.Timestamp(t).tz_convert(LOCAL_TZ).isoformat(timespec="seconds")


def object_ledger(
    session: Session,
    period: str | Period,
    *,
    scope: Scope | None = None,
    max_distance_m: float | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One row per live supervised object (in ``scope``, default the session actor's): its 五定,
    its last visit (track or record) before the end of ``period`` and whether it is overdue at
    the end of the period (or ``now`` if earlier; default :func:`gis.clock.now`).

    Row keys: ``object_id``, ``name``, ``category``, ``category_label``, ``subtype``,
    ``subtype_label``, ``grid_id``, ``grid``, ``responsible`` (name or None), ``responsible_id``,
    ``interval`` (Chinese, e.g. 每月, or None), ``interval_days``, ``tasks``, ``rewards``,
    ``last_visit`` (Beijing time ISO 8601 or None), ``last_visit_source`` (``patrol``/``record``),
    ``last_visit_ref`` (track id or record id), ``days_since`` (whole days at the reference
    moment), ``overdue`` (bool), ``checked_at`` (the reference moment).
    """
    scope = scope if scope is not None else scope_of(session)
    period = parse_period(period) if isinstance(period, str) else period
    end = pd.Timestamp(period.end_utc).tz_localize("UTC")
    at = min(end, pd.Timestamp(now or clock.now()).tz_convert("UTC"))
    objects = _live_objects(session, scope)
    visits = store_visits(session, objects, before=end, max_distance_m=max_distance_m)
    records = _records(session, [o.id for o in objects], end)
    last = last_times([o.id for o in objects], visits, records, before=end)
    rows = []
    for o in objects:
        seen = last.get(o.id)
        when = seen[0] if seen is not None else None
        rows.append(
            {
                "object_id": o.id,
                "name": o.name,
                "category": o.category,
                "category_label": Category(o.category).label,
                "subtype": o.subtype,
                "subtype_label": subtype_label(o.subtype) or None,
                "grid_id": o.grid_id,
                "grid": o.grid.name if o.grid is not None else None,
                "responsible": o.responsible.name if o.responsible is not None else None,
                "responsible_id": o.responsible_id,
                "interval": interval_label(o.inspect_every_days),
                "interval_days": o.inspect_every_days,
                "tasks": o.tasks or "",
                "rewards": o.rewards or "",
                "last_visit": _local_iso(when) if when is not None else None,
                "last_visit_source": seen[1] if seen is not None else None,
                "last_visit_ref": seen[2] if seen is not None else None,
                "days_since": int((at - when) / pd.Timedelta(days=1)) if when is not None else None,
                "overdue": is_overdue(
                    when.to_pydatetime() if when is not None else None, o.inspect_every_days, at.to_pydatetime()
                ),
                "checked_at": _local_iso(at),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Writing: 五定 and inspection records
# ---------------------------------------------------------------------------------------------


def _object(session: Session, object_id: Any) -> SupervisedObject:
    text = str(object_id).strip() if object_id is not None else ""
    obj = session.get(SupervisedObject, int(text)) if text.isdigit() else None
    if obj is None:
        raise NotFoundError(f"找不到编号为“{text}”的监管对象", f"no supervised object {text!r}")
    if obj.grid is not None and obj.grid.deleted_at is not None:
        raise NotFoundError(f"监管对象“{obj.name}”所在的网格已删除", f"object {obj.id} is in a deleted grid")
    if not scope_of(session).covers(obj.grid_id):
        raise NotFoundError(f"找不到编号为“{text}”的监管对象", f"object {text} outside the account's grids")
    return obj


def _person(session: Session, person: int | str | None) -> Person | None:
    if person is None or (isinstance(person, str) and not person.strip()):
        return None
    if isinstance(person, int) or str(person).strip().isdigit():
        found = session.get(Person, int(person))
    else:
        matches = session.scalars(select(Person).where(Person.name == str(person).strip())).all()
        if len(matches) > 1:
            raise ValidationError(f"有多位名为“{person}”的人员，请按编号选择", f"person name {person!r} is ambiguous")
        found = matches[0] if matches else None
    if found is None:
        raise NotFoundError(f"找不到人员“{person}”", f"no person {person!r}")
    return found


def person_of_actor(session: Session) -> Person | None:
    """The person of the session's signed-in account, if the account names one."""
    actor = session.info.get("actor")
    if actor is None or actor.user_id is None:
        return None
    user = session.get(User, actor.user_id)
    return session.get(Person, user.person_id) if user is not None and user.person_id is not None else None


def set_object_duties(
    session: Session,
    object_id: int | str,
    *,
    responsible: int | str | None,
    interval: Any,
    tasks: str = "",
    rewards: str = "",
    subtype: str | None = None,
) -> SupervisedObject:
    """Set the 五定 of a supervised object: responsible person (id or unique name; None: nobody),
    inspection interval (days, or 每周/每旬/每月/每季度; None: none), tasks, rewards and penalties,
    and subtype (排污口/取水口 or none). Needs ``geodata.write``; audited like every write."""
    require(session.info.get("actor"), "geodata.write")
    obj = _object(session, object_id)
    person = _person(session, responsible)
    obj.responsible_id = person.id if person is not None else None
    obj.inspect_every_days = check_interval_days(interval)
    obj.tasks = checked_text(tasks, "监管任务", max_len=MAX_NOTE_LEN)
    obj.rewards = checked_text(rewards, "奖惩措施", max_len=MAX_NOTE_LEN)
    obj.subtype = check_subtype(subtype)
    session.flush()
    return obj


def record_inspection(
    session: Session,
    object_id: int | str,
    *,
    note: Any,
    photo: Any = None,
    person: int | str | None = None,
    at: datetime | None = None,
    files: AttachmentStore | None = None,
) -> ObjectInspection:
    """Record an inspection of a supervised object (source ``record``): a note (required) and at
    most one photo (checked and stored like incident photos: metadata stripped, by content hash).
    ``person`` defaults to the signed-in account's person; ``at`` to now (not in the future).
    Needs ``patrol.write`` (巡查员, 工作人员, 志愿者/协管员, 管理员)."""
    actor = require(session.info.get("actor"), "patrol.write")
    obj = _object(session, object_id)
    text = checked_text(note, "巡查情况", required=True, max_len=MAX_NOTE_LEN)
    who = _person(session, person) if person is not None else person_of_actor(session)
    when = at or clock.now()
    if when.tzinfo is None:
        raise ValidationError("巡查时间缺少时区", "inspection time must be timezone-aware")
    if when > clock.now():
        raise ValidationError("巡查时间不能晚于现在", "inspection time in the future")
    checked = check_uploads([photo] if photo is not None else [], max_files=1)
    row = ObjectInspection(
        object_id=obj.id,
        person_id=who.id if who is not None else None,
        at=when,
        note=text,
        source="record",
        recorded_by=actor.username,
    )
    if checked:
        (files or AttachmentStore()).save(checked[0])
        row.photo_sha256, row.photo_mime, row.photo_name = checked[0].sha256, checked[0].mime, checked[0].name
    session.add(row)
    session.flush()
    return row


def inspections_of(
    session: Session, object_id: int | str, *, max_distance_m: float | None = None
) -> list[dict[str, Any]]:
    """Every visit of one object, newest first: inspection records and patrol tracks passing
    within the visit distance. Keys: ``source`` (``record``/``patrol``), ``source_label``
    (巡查记录/巡河轨迹), ``at`` (Beijing ISO), ``person``, ``note``, ``photo_sha256``,
    ``photo_mime``, ``ref`` (record or track id), ``distance_m`` (tracks)."""
    obj = _object(session, object_id)
    rows: list[dict[str, Any]] = []
    for r in session.scalars(
        select(ObjectInspection)
        .where(ObjectInspection.object_id == obj.id)
        .options(selectinload(ObjectInspection.person))
    ):
        rows.append(
            {
                "source": "record",
                "source_label": "巡查记录",
                "at": _local_iso(r.at),
                "person": r.person.name if r.person is not None else "",
                "note": r.note,
                "photo_sha256": r.photo_sha256,
                "photo_mime": r.photo_mime,
                "ref": r.id,
                "distance_m": None,
            }
        )
    far = pd.Timestamp(clock.now()).tz_convert("UTC") + pd.Timedelta(days=1)
    visits = store_visits(session, [obj], before=far, max_distance_m=max_distance_m)
    if len(visits):
        people = dict(
            session.execute(
                select(PatrolTrack.id, Person.name)
                .join(Person, PatrolTrack.person_id == Person.id)
                .where(PatrolTrack.id.in_([int(t) for t in visits["track_id"]]))
            ).all()
        )
        for tid, d, t in zip(visits["track_id"], visits["distance_m"], visits["visited_at"], strict=True):
            rows.append(
                {
                    "source": "patrol",
                    "source_label": "巡河轨迹",
                    "at": _local_iso(t),
                    "person": people.get(int(tid), ""),
                    "note": f"巡河轨迹经过，最近距离约 {d:.0f} 米",
                    "photo_sha256": None,
                    "photo_mime": None,
                    "ref": int(tid),
                    "distance_m": round(float(d), 1),
                }
            )
    return sorted(rows, key=lambda r: (r["at"], r["ref"]), reverse=True)
