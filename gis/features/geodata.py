"""The public geography: rivers, reaches, grids (公示 fields only) and supervised objects.

Grids carry what the public disclosure page shows (:mod:`gis.disclosure.public`): level, parent,
code, responsible body, the 五定 texts, the hotline and the current posts with a phone number only
when marked public (``Person.phone_public``). Reaches carry their river chiefs the same way.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import MultiLineString
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.disclosure.public import CHIEF_ORDER, published_hotline, published_person, published_posts
from gis.features.base import (
    ALL,
    DISCLOSED,
    PUBLIC,
    Feature,
    FeaturePage,
    FeatureQuery,
    Spatial,
    column_spatial,
    paged_rows,
    require_access,
    viewer_of,
)
from gis.geometry.crs import metric_crs_for, to_crs
from gis.model import STORE_CRS, Category, GridLevel, GridRole, RiverLevel
from gis.store.schema import (
    Grid,
    GridRoleAssignment,
    Reach,
    ReachChief,
    River,
    SupervisedObject,
    not_deleted,
)

__all__ = [
    "GRIDS_ACCESS",
    "OBJECTS_ACCESS",
    "REACHES_ACCESS",
    "RIVERS_ACCESS",
    "grid_properties",
    "lengths_m",
    "query_grids",
    "query_objects",
    "query_reaches",
    "query_rivers",
]

RIVERS_ACCESS = REACHES_ACCESS = GRIDS_ACCESS = DISCLOSED
OBJECTS_ACCESS = PUBLIC


def _label(kind: Any, value: str | None) -> str:
    """The Chinese label of a code (the code itself when unknown)."""
    try:
        return str(kind(value).label)
    except ValueError:
        return value or ""


def lengths_m(geoms: list[BaseGeometry | None]) -> list[float | None]:
    """Lengths in metres (one metric CRS for all, :func:`gis.geometry.crs.metric_crs_for`), to 0.1 m."""
    present = [g for g in geoms if g is not None]
    if not present:
        return [None] * len(geoms)
    series = gpd.GeoSeries(geoms, crs=STORE_CRS)
    metric = to_crs(series, metric_crs_for(series.total_bounds))
    return [None if g is None else round(float(v), 1) for g, v in zip(geoms, metric.length.tolist(), strict=True)]


def _is_current(valid_from: date | None, valid_to: date | None, today: date) -> bool:
    return (valid_from is None or valid_from <= today) and (valid_to is None or valid_to >= today)


# ---------------------------------------------------------------------------------------------
# Rivers
# ---------------------------------------------------------------------------------------------


def _river_spatial() -> Spatial:
    reach_filter = column_spatial(Reach, Reach.geom)

    def sql(envelope: ColumnElement[Any]) -> ColumnElement[bool]:
        return River.id.in_(select(Reach.river_id).where(not_deleted(Reach), reach_filter.sql(envelope)))

    def pairs(where: Any) -> Select[Any]:
        return select(Reach.river_id, Reach.geom).where(not_deleted(Reach))

    return Spatial(sql, pairs)


def query_rivers(session: Session, query: FeatureQuery = ALL, *, operator: bool = False) -> FeaturePage:
    """Rivers (河流): their live reaches as one MultiLineString, level, code, reach count and
    length in metres (None when no reach is drawn). No time."""
    require_access(session, viewer_of(session, operator=operator), RIVERS_ACCESS, "河流")
    rivers, matched = paged_rows(session, River, [], query, spatial=_river_spatial())
    lines: dict[int, list[BaseGeometry]] = defaultdict(list)
    if rivers:
        for river_id, geom in session.execute(
            select(Reach.river_id, Reach.geom)
            .where(not_deleted(Reach), Reach.river_id.in_([r.id for r in rivers]))
            .order_by(Reach.id)
        ):
            lines[river_id].append(geom)
    geoms: list[BaseGeometry | None] = []
    for r in rivers:
        parts = [p for g in lines[r.id] for p in shapely.get_parts(g).tolist() if not p.is_empty]
        geoms.append(MultiLineString(parts) if parts else None)
    lengths = lengths_m(geoms)
    features = [
        Feature(
            r.id,
            geom,
            {
                "name": r.name,
                "code": r.code,
                "level": r.level,
                "level_label": _label(RiverLevel, r.level),
                "reach_count": len(lines[r.id]),
                "length_m": length,
                "note": r.note or "",
            },
        )
        for r, geom, length in zip(rivers, geoms, lengths, strict=True)
    ]
    return FeaturePage(features, matched, query.offset, query.limit)


# ---------------------------------------------------------------------------------------------
# Reaches
# ---------------------------------------------------------------------------------------------


def query_reaches(session: Session, query: FeatureQuery = ALL, *, operator: bool = False) -> FeaturePage:
    """Live reaches (河段): river, code, level, start stationing, length in metres and the
    current river chiefs as published (county → township → village; phones only when public)."""
    require_access(session, viewer_of(session, operator=operator), REACHES_ACCESS, "河段")
    reaches, matched = paged_rows(
        session,
        Reach,
        [not_deleted(Reach)],
        query,
        spatial=column_spatial(Reach, Reach.geom),
        options=[selectinload(Reach.river)],
    )
    today = clock.today()
    chiefs: dict[int, list[ReachChief]] = defaultdict(list)
    if reaches:
        for c in session.scalars(
            select(ReachChief)
            .where(ReachChief.reach_id.in_([r.id for r in reaches]))
            .options(selectinload(ReachChief.person))
            .order_by(ReachChief.id)
        ):
            if _is_current(c.valid_from, c.valid_to, today):
                chiefs[c.reach_id].append(c)
    lengths = lengths_m([r.geom for r in reaches])
    features = []
    for r, length in zip(reaches, lengths, strict=True):
        shown = [
            p
            for level in CHIEF_ORDER
            for c in chiefs[r.id]
            if c.level == level.value and (p := published_person(c.person, level.label)) is not None
        ]
        features.append(
            Feature(
                r.id,
                r.geom,
                {
                    "name": r.name,
                    "code": r.code,
                    "level": r.level,
                    "level_label": _label(RiverLevel, r.level),
                    "river_id": r.river_id,
                    "river_name": r.river.name,
                    "start_station_m": r.start_station_m,
                    "length_m": length,
                    "river_chiefs": "、".join(f"{p.name}（{p.post}）" for p in shown),
                    "chiefs": [p.to_dict() for p in shown],
                },
            )
        )
    return FeaturePage(features, matched, query.offset, query.limit)


# ---------------------------------------------------------------------------------------------
# Grids
# ---------------------------------------------------------------------------------------------


def grid_properties(grid: Grid, *, today: date | None = None) -> dict[str, Any]:
    """A grid's public fields (:mod:`gis.disclosure.public`): level, parent, code, responsible
    body, 五定, hotline, and its posts as published (phones only when public)."""
    persons = published_posts(grid, today=today)

    def names(role: GridRole) -> str:
        return "、".join(p.name for p in persons if p.post == role.label)

    return {
        "name": grid.name,
        "code": grid.code,
        "level": grid.level,
        "level_label": _label(GridLevel, grid.level),
        "parent_id": grid.parent_id,
        "parent_name": grid.parent.name if grid.parent else "",
        "responsible_body": grid.responsible_body or "",
        "main_responsible": names(GridRole.MAIN_RESPONSIBLE),
        "township_supervisor": names(GridRole.TOWNSHIP_SUPERVISOR),
        "area_desc": grid.area_desc or "",
        "personnel_desc": grid.personnel_desc or "",
        "duties": grid.duties or "",
        "tasks": grid.tasks or "",
        "rewards": grid.rewards or "",
        "hotline": published_hotline(grid),
        "illustrative": bool(grid.illustrative),
        "persons": [p.to_dict() for p in persons],
    }


def query_grids(session: Session, query: FeatureQuery = ALL, *, operator: bool = False) -> FeaturePage:
    """Live grids (网格) with their public fields (:func:`grid_properties`); a grid whose
    boundary is not drawn has no geometry (and no bbox selects it)."""
    require_access(session, viewer_of(session, operator=operator), GRIDS_ACCESS, "网格")
    grids, matched = paged_rows(
        session,
        Grid,
        [not_deleted(Grid)],
        query,
        spatial=column_spatial(Grid, Grid.geom),
        options=[selectinload(Grid.roles).selectinload(GridRoleAssignment.person), selectinload(Grid.parent)],
    )
    today = clock.today()
    features = [Feature(g.id, g.geom, grid_properties(g, today=today)) for g in grids]
    return FeaturePage(features, matched, query.offset, query.limit)


# ---------------------------------------------------------------------------------------------
# Supervised objects
# ---------------------------------------------------------------------------------------------


def query_objects(session: Session, query: FeatureQuery = ALL, *, operator: bool = False) -> FeaturePage:
    """Supervised objects (监管对象, the nine focus categories) with their grid."""
    require_access(session, viewer_of(session, operator=operator), OBJECTS_ACCESS, "监管对象")
    objects, matched = paged_rows(
        session,
        SupervisedObject,
        [],
        query,
        spatial=column_spatial(SupervisedObject, SupervisedObject.geom),
        options=[selectinload(SupervisedObject.grid)],
    )
    features = [
        Feature(
            o.id,
            o.geom,
            {
                "name": o.name,
                "category": o.category,
                "category_label": _label(Category, o.category),
                "grid_id": o.grid_id,
                "grid_name": o.grid.name if o.grid else "",
                "description": o.description or "",
            },
        )
        for o in objects
    ]
    return FeaturePage(features, matched, query.offset, query.limit)
