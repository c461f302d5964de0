"""Domain rules checked on every flush, whatever code path writes the row.

* geometry type per table (grids polygonal, reaches linear, objects and incidents points),
  non-empty, valid, inside the longitude/latitude range;
* grid names unique among the live children of one parent;
* enumerated columns hold known codes.

A violation raises a :mod:`gis.errors` exception before anything is written, so the surrounding
transaction is rolled back whole.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from gis import model
from gis.auth import INSERT_ONLY_ROLES
from gis.errors import CoordinateRangeError, DuplicateNameError, GeometryError, PermissionDenied, ValidationError
from gis.store.audit import AuditedSession
from gis.store.schema import (
    Evaluation,
    Grid,
    GridRoleAssignment,
    GridVersion,
    Incident,
    IncidentEvent,
    PatrolTrack,
    Person,
    Reach,
    ReachChief,
    ReportEdition,
    River,
    SupervisedObject,
    User,
    not_deleted,
)
from gis.store.scope import scope_of

GEOMETRY_TYPES: dict[type, tuple[str, ...]] = {
    Grid: ("Polygon", "MultiPolygon"),
    Reach: ("LineString", "MultiLineString"),
    PatrolTrack: ("LineString", "MultiLineString"),
    SupervisedObject: ("Point",),
    Incident: ("Point",),
}

GEOMETRY_TYPE_LABELS = {
    "Polygon": "面",
    "MultiPolygon": "面",
    "LineString": "线",
    "MultiLineString": "线",
    "Point": "点",
}

ENUM_COLUMNS: dict[type, dict[str, type[model._Labelled]]] = {
    Grid: {"level": model.GridLevel},
    River: {"level": model.RiverLevel},
    Reach: {"level": model.RiverLevel},
    Person: {"status": model.PersonStatus},
    GridRoleAssignment: {"role": model.GridRole},
    ReachChief: {"level": model.ReachChiefLevel},
    SupervisedObject: {"category": model.Category},
    Incident: {
        "category": model.Category,
        "severity": model.Severity,
        "status": model.IncidentStatus,
        "source": model.IncidentSource,
    },
    User: {"role": model.UserRole},
}


def _describe(obj: Any) -> str:
    name = getattr(obj, "name", None) or getattr(obj, "title", None) or getattr(obj, "id", None)
    return f"“{name}”" if name else ""


def check_geometry(geom: BaseGeometry | None, allowed: tuple[str, ...], what: str = "") -> None:
    """Raise :class:`GeometryError` unless ``geom`` is a valid, non-empty geometry of ``allowed``."""
    if geom is None or geom.is_empty:
        raise GeometryError(f"{what}缺少几何图形", "geometry is empty")
    if geom.geom_type not in allowed:
        want = "或".join(dict.fromkeys(GEOMETRY_TYPE_LABELS[a] for a in allowed))
        raise GeometryError(
            f"{what}的几何类型应为{want}，实际为 {geom.geom_type}",
            f"expected {allowed}, got {geom.geom_type}",
        )
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise GeometryError(f"{what}的几何图形无效（{reason}），请修复后再保存", f"invalid geometry: {reason}")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise CoordinateRangeError(
            f"{what}的坐标超出经纬度范围，请确认坐标系为 WGS84/CGCS2000 经纬度",
            f"bounds {geom.bounds} outside lon/lat range",
        )


def _parent_of(session: Session, grid: Grid) -> tuple[int | None, Grid | None]:
    """The parent's id (``None`` for a parent not yet flushed or no parent) and object."""
    parent = grid.parent
    if parent is None and grid.parent_id is not None:
        parent = session.get(Grid, grid.parent_id)
    return (parent.id if parent is not None else None), parent


def _check_unique_grid_name(session: Session, grid: Grid) -> None:
    if grid.deleted_at is not None:
        return
    parent_id, parent = _parent_of(session, grid)
    clash = any(
        isinstance(g, Grid)
        and g is not grid
        and g.name == grid.name
        and g.deleted_at is None
        and _parent_of(session, g)[1] is parent
        for g in session.new
    )
    if not clash and (parent is None or parent_id is not None):
        query = select(Grid.id).where(Grid.name == grid.name, not_deleted(Grid))
        query = query.where(Grid.parent_id.is_(None) if parent_id is None else Grid.parent_id == parent_id)
        if grid.id is not None:
            query = query.where(Grid.id != grid.id)
        clash = session.scalar(query.limit(1)) is not None
    if clash:
        where = f"上级网格“{parent.name}”下" if parent is not None else "顶层"
        raise DuplicateNameError(
            f"{where}已有名为“{grid.name}”的网格，请换一个名称",
            f"duplicate grid name {grid.name!r} under parent {parent_id}",
        )


@event.listens_for(AuditedSession, "before_flush")
def _check_rules(session: Session, flush_context: Any, instances: Any) -> None:
    with session.no_autoflush:
        for obj in list(session.new) + list(session.dirty):
            cls = type(obj)
            for column, enum in ENUM_COLUMNS.get(cls, {}).items():
                value = getattr(obj, column)
                if value is not None:
                    setattr(obj, column, enum.from_any(value).value)
            allowed = GEOMETRY_TYPES.get(cls)
            if allowed is not None and (obj.geom is not None or cls is not Grid):
                check_geometry(obj.geom, allowed, _describe(obj))
            if cls is Grid:
                _check_unique_grid_name(session, obj)


@event.listens_for(AuditedSession, "before_flush")
def _check_locked_evaluations(session: Session, flush_context: Any, instances: Any) -> None:
    """A submitted evaluation (考核评价) is locked: nothing may change or delete it."""
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, Evaluation):
            continue
        h = get_history(obj, "status")
        before = (h.deleted or h.unchanged or [None])[0]
        if before == "submitted" and (obj in session.deleted or session.is_modified(obj)):
            raise ValidationError(
                f"第 {obj.edition} 版评价已提交并锁定，不能修改或删除；如需更改请新建版本",
                f"evaluation {obj.id} is submitted and locked",
            )


def _links_own_track(session: Session, obj: Any, username: str) -> bool:
    """Whether the only change to ``obj`` links a case that ``username`` reported and that had no
    patrol track to a track of that account's own person (a report the field app sent before its
    patrol, linked when the patrol arrives: :mod:`gis.field`)."""
    if not isinstance(obj, Incident):
        return False
    changed = {a.key for a in inspect(obj).mapper.column_attrs if get_history(obj, a.key).has_changes()}
    if changed != {"track_id"}:
        return False
    history = get_history(obj, "track_id")
    if (history.deleted or [None])[0] is not None or obj.track_id is None:
        return False
    reporter = session.scalar(
        select(IncidentEvent.by).where(IncidentEvent.incident_id == obj.id, IncidentEvent.action == "report")
    )
    own = session.scalar(select(User.person_id).where(User.username == username))
    track_person = session.scalar(select(PatrolTrack.person_id).where(PatrolTrack.id == obj.track_id))
    return reporter == username and own is not None and track_person == own


@event.listens_for(AuditedSession, "before_flush")
def _check_volunteer_writes(session: Session, flush_context: Any, instances: Any) -> None:
    """Volunteers and 协管员 (:data:`gis.auth.INSERT_ONLY_ROLES`) only add their own reports.

    They may not change or delete any row; a patrol track they upload belongs to the person
    their account is linked to (filled in when left empty, refused when it names someone
    else); an incident they report is recorded with the source 志愿者/协管员, so both count
    separately in the grid's figures. One change is allowed: linking a case they reported that has
    no patrol track to a track of their own (the field app links a report sent before its patrol
    when the patrol arrives).
    """

    actor = session.info.get("actor")
    if actor is None or actor.role not in INSERT_ONLY_ROLES:
        return
    with session.no_autoflush:
        for obj in list(session.dirty) + list(session.deleted):
            if obj not in session.deleted and _links_own_track(session, obj, actor.username):
                continue
            if obj in session.deleted or session.is_modified(obj, include_collections=False):
                raise PermissionDenied(
                    f"当前角色“{actor.role.label}”只能上报事件和上传巡河轨迹，不能修改或删除已有记录",
                    f"role {actor.role.value} may only insert rows ({obj.__table__.name} {obj.id})",
                )
        own: int | None = None
        if any(isinstance(o, PatrolTrack) for o in session.new):
            user = session.get(User, actor.user_id) if actor.user_id is not None else None
            user = user or session.scalar(select(User).where(User.username == actor.username))
            own = user.person_id if user is not None else None
        for obj in session.new:
            if isinstance(obj, PatrolTrack):
                person_id = obj.person.id if obj.person is not None else obj.person_id
                if own is None:
                    raise PermissionDenied(
                        "该账号未关联人员，不能上传巡河轨迹，请联系管理员",
                        f"user {actor.username} is linked to no person",
                    )
                if person_id is None:
                    obj.person_id = own
                elif person_id != own:
                    raise PermissionDenied(
                        "志愿者/协管员只能上传本人的巡河轨迹",
                        f"user {actor.username} may not upload tracks of person {person_id}",
                    )
            elif isinstance(obj, Incident):
                obj.source = model.IncidentSource.VOLUNTEER.value


def _grid_refs(obj: Any) -> list[tuple[int | None, Any]]:
    """The grids a row belongs to, as ``(id, object)`` pairs (the object when it is set, so that a
    grid added in the same flush can be recognised)."""
    if isinstance(obj, Grid):
        return [(obj.id, obj)] if obj.id is not None else [(obj.parent_id, obj.parent)]
    if isinstance(obj, GridRoleAssignment | GridVersion | Evaluation | PatrolTrack | SupervisedObject):
        return [(obj.grid_id, getattr(obj, "grid", None))]
    return []


@event.listens_for(AuditedSession, "before_flush")
def _check_data_scope(session: Session, flush_context: Any, instances: Any) -> None:
    """数据权限 on every write: an account bound to a grid changes only rows of its grid and the
    grids below (:mod:`gis.store.scope`): grids and new child grids, posts, grid versions, evaluations,
    tracks, supervised objects, and the cases it acts on (a case's grid before the change: a case
    escalated upwards leaves the village's scope by design). Reporting a case is open to everyone
    with ``incident.report``, wherever it lies."""

    actor = session.info.get("actor")
    if actor is None or actor.installer:
        return
    with session.no_autoflush:
        scope = scope_of(session, actor)  # at each flush: grids added by earlier flushes are in it
        if scope.everything:
            return
        new = set(session.new)

        def allowed(grid_id: int | None, grid: Any) -> bool:
            if grid is not None and grid in new:
                return True  # a grid added in this flush, itself checked against its parent
            if grid_id is None and grid is not None:
                grid_id = grid.id  # set through the relationship: the id is copied at flush
            return grid_id is not None and grid_id in (scope.grid_ids or ())

        for obj in [*session.new, *session.dirty, *session.deleted]:
            if isinstance(obj, Incident):
                if obj in new:
                    continue

                before = get_history(obj, "grid_id")
                refs = [((before.deleted or before.unchanged or [obj.grid_id])[0], None)]
            else:
                refs = _grid_refs(obj)
            for grid_id, grid in refs:
                if obj in new and grid_id is None and grid is None and not isinstance(obj, Grid):
                    continue  # a new row of no grid (a track whose grid is not known yet)
                if not allowed(grid_id, grid):
                    what = getattr(obj, "name", None) or getattr(obj, "code", None) or obj.__table__.name
                    raise PermissionDenied(
                        f"“{what}”不在您账号的数据权限（所属网格及下级网格）范围内，不能修改",
                        f"{actor.username} (grid {scope.home_grid_id}) may not write {obj.__table__.name} "
                        f"of grid {grid_id}",
                    )


# --- issue 18: 信息报送 ------------------------------------------------------------------------------


@event.listens_for(AuditedSession, "before_flush")
def _check_report_editions(session: Session, flush_context: Any, instances: Any) -> None:
    """A submitted report edition (信息报送) is locked from the moment it is written: nothing may
    change or delete it (a correction is a new edition). An account bound to a grid submits only
    its own grid's report (数据权限: the report goes upward, a lower grid's report is its own)."""

    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ReportEdition) and (obj in session.deleted or session.is_modified(obj)):
            raise ValidationError(
                f"第 {obj.edition} 版报表已报送并锁定，不能修改或删除；如需更正请报送新版本并说明原因",
                f"report edition {obj.id} is submitted and locked",
            )
    actor = session.info.get("actor")
    if actor is None or actor.installer:
        return
    with session.no_autoflush:
        for obj in session.new:
            if not isinstance(obj, ReportEdition):
                continue
            scope = scope_of(session, actor)
            if not scope.everything and obj.grid_id != scope.home_grid_id:
                raise PermissionDenied(
                    "只能报送本账号所属网格的报表",
                    f"{actor.username} (grid {scope.home_grid_id}) may not submit the report of grid {obj.grid_id}",
                )
