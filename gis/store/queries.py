"""Read models: what pages, layers and the command line show, built from the store.

Every function takes an open session and returns plain data (GeoDataFrames in EPSG:4326, dicts);
none writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.model import (
    LOCAL_TZ,
    STORE_CRS,
    GridLevel,
    GridRole,
    IncidentStatus,
)
from gis.store.schema import (
    AUDITED_TABLES,
    Base,
    Grid,
    GridRoleAssignment,
    Incident,
    OrgBody,
    PatrolTrack,
    Person,
    Reach,
    SupervisedObject,
)


@dataclass(frozen=True)
class MapData:
    """Everything the overview map shows, each a GeoDataFrame in EPSG:4326."""

    reaches: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    tracks: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    objects: gpd.GeoDataFrame


def _frame(rows: list[dict], columns: list[str]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=STORE_CRS)
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns + ["geometry"]), geometry="geometry", crs=STORE_CRS)


def _py_time(value: object) -> datetime | None:
    """A frame cell as ``datetime`` (``None`` for missing)."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def _active(assignment_valid_to: date | None, today: date) -> bool:
    return assignment_valid_to is None or assignment_valid_to >= today


def grid_people(grid: Grid, *, today: date | None = None) -> dict[GridRole, list[Person]]:
    """Current holders of each post of ``grid`` (assignments whose period includes ``today``)."""
    today = today or clock.today()
    people: dict[GridRole, list[Person]] = {role: [] for role in GridRole}
    for a in sorted(grid.roles, key=lambda a: (a.sort, a.id)):
        if (a.valid_from is None or a.valid_from <= today) and _active(a.valid_to, today):
            people[GridRole(a.role)].append(a.person)
    return people


def live_grids(session: Session) -> list[Grid]:
    """Grids not deleted, with their posts loaded, ordered by level then name."""
    grids = session.scalars(
        select(Grid)
        .where(Grid.deleted_at.is_(None))
        .options(selectinload(Grid.roles).selectinload(GridRoleAssignment.person), selectinload(Grid.parent))
    ).all()
    return sorted(grids, key=lambda g: (GridLevel(g.level).rank, g.id))


def load_map_data(session: Session) -> MapData:
    """All live features for the overview map."""
    from gis.geometry.crs import metric_crs_for

    reaches = [
        {"id": r.id, "name": r.name, "river_name": r.river.name, "code": r.code or "", "level": r.level, "geometry": r.geom}
        for r in session.scalars(select(Reach).where(Reach.deleted_at.is_(None)).options(selectinload(Reach.river)))
    ]
    grid_rows = []
    for g in live_grids(session):
        people = grid_people(g)
        grid_rows.append({
            "id": g.id, "name": g.name, "level": g.level,
            "parent_name": g.parent.name if g.parent else "",
            "responsible_body": g.responsible_body,
            "main_responsible": "、".join(p.name for p in people[GridRole.MAIN_RESPONSIBLE]),
            "township_supervisor": "、".join(p.name for p in people[GridRole.TOWNSHIP_SUPERVISOR]),
            "illustrative": g.illustrative,
            "geometry": g.geom,
        })
    grid_rows = [r for r in grid_rows if r["geometry"] is not None]
    grid_names = dict(session.execute(select(Grid.id, Grid.name)).all())
    tracks = [
        {"id": t.id, "person_name": t.person.name if t.person else "", "grid_name": grid_names.get(t.grid_id, ""),
         "grid_id": t.grid_id, "started_at": t.started_at, "ended_at": t.ended_at, "geometry": t.geom}
        for t in session.scalars(select(PatrolTrack).options(selectinload(PatrolTrack.person)))
    ]
    incidents = [
        {"id": i.id, "code": i.code, "title": i.title, "category": i.category, "severity": i.severity,
         "status": i.status, "reported_at": i.reported_at, "accept_due_at": i.accept_due_at,
         "close_due_at": i.close_due_at,
         "grid_name": grid_names.get(i.grid_id, ""), "grid_id": i.grid_id, "description": i.description,
         "geometry": i.geom}
        for i in session.scalars(select(Incident).order_by(Incident.reported_at))
    ]
    objects = [
        {"id": o.id, "name": o.name, "category": o.category, "grid_name": grid_names.get(o.grid_id, ""), "geometry": o.geom}
        for o in session.scalars(select(SupervisedObject))
    ]
    tracks_gdf = _frame(tracks, ["id", "person_name", "grid_name", "grid_id", "started_at", "ended_at"])
    if len(tracks_gdf):
        tracks_gdf["length_m"] = tracks_gdf.to_crs(metric_crs_for(tracks_gdf.total_bounds)).length.round(1)
    else:
        tracks_gdf["length_m"] = pd.Series(dtype=float)
    return MapData(
        reaches=_frame(reaches, ["id", "name", "river_name", "code", "level"]),
        grids=_frame(grid_rows, ["id", "name", "level", "parent_name", "responsible_body", "main_responsible",
                                 "township_supervisor", "illustrative"]),
        tracks=tracks_gdf,
        incidents=_frame(incidents, ["id", "code", "title", "category", "severity", "status", "reported_at",
                                     "accept_due_at", "close_due_at", "grid_name", "grid_id", "description"]),
        objects=_frame(objects, ["id", "name", "category", "grid_name"]),
    )


def table_counts(session: Session) -> dict[str, int]:
    """Number of rows in every table (the audit log included)."""
    counts = {}
    for table in Base.metadata.sorted_tables:
        if table.name in AUDITED_TABLES or table.name == "audit_log":
            counts[table.name] = session.scalar(select(func.count()).select_from(table))
    return dict(sorted(counts.items()))


def person_json(p: Person, *, with_phone: bool = True) -> dict:
    out = {"id": p.id, "name": p.name, "title": p.title, "unit": p.unit, "status": p.status}
    if with_phone:
        out["phone"] = p.phone
    return out


def store_info(session: Session) -> dict:
    """Counts per table, each grid with its current responsible persons, and the leading group."""
    grids = []
    for g in live_grids(session):
        people = grid_people(g)
        grids.append({
            "id": g.id,
            "name": g.name,
            "level": g.level,
            "level_label": GridLevel(g.level).label,
            "parent": g.parent.name if g.parent else None,
            "responsible_body": g.responsible_body,
            "illustrative": g.illustrative,
            "persons": {
                role.value: [person_json(p) for p in people[role]] for role in GridRole if people[role]
            },
        })
    bodies = []
    for body in session.scalars(select(OrgBody).options(selectinload(OrgBody.members))):
        bodies.append({
            "name": body.name,
            "kind": body.kind,
            "members": [{"position": m.position, "name": m.person.name, "title": m.person.title} for m in body.members],
        })
    return {"counts": table_counts(session), "grids": grids, "organisation": bodies}



def overview_kpis(data: MapData, *, now: datetime | None = None) -> dict[str, float | int]:
    """Key figures for the overview page, computed from the map data.

    Returns
    -------
    dict
        ``reaches``, ``reach_km`` (length of all reaches in km, measured in a projected CRS),
        ``grids``, ``village_grids``, ``incidents_open``, ``incidents_overdue`` (past the deadline
        running in their state at ``now``: accepting while 上报, closing while being handled; the
        rule of :func:`gis.incidents.workflow.is_overdue`, as on the page 事件处置), ``patrols_month`` (tracks started in ``now``'s
        calendar month, Asia/Shanghai time).
    """
    from gis.geometry.crs import metric_crs_for
    from gis.incidents.workflow import is_overdue

    now = now or clock.now()
    month = now.astimezone(LOCAL_TZ).strftime("%Y-%m")
    reach_km = 0.0
    if len(data.reaches):
        reach_km = float(data.reaches.to_crs(metric_crs_for(data.reaches.total_bounds)).length.sum()) / 1000
    incidents = data.incidents
    is_open = incidents["status"].map(lambda s: IncidentStatus(s).is_open).astype(bool)
    overdue = [
        is_overdue(status, _py_time(accept), _py_time(close), now)
        for status, accept, close in zip(incidents["status"], incidents["accept_due_at"], incidents["close_due_at"])
    ]
    started = pd.to_datetime(data.tracks["started_at"], utc=True)
    return {
        "reaches": len(data.reaches),
        "reach_km": round(reach_km, 1),
        "grids": len(data.grids),
        "village_grids": int((data.grids["level"] == GridLevel.VILLAGE.value).sum()),
        "incidents_open": int(is_open.sum()),
        "incidents_overdue": sum(overdue),
        "patrols_month": int((started.dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m") == month).sum()),
    }
