"""Public disclosure (责任公示): what the public may see of each grid, and nothing else.

The plan asks that every grid's 五定 and responsible persons be published (向社会公开公示). This
module is the only door from the public page (``pages/public.py``) and the signboards
(:mod:`gis.disclosure.signboard`) to the store: it reads grids, posts, persons, reaches and river chiefs and
returns frozen records holding **only public fields**:

* per grid: name, level, parent, responsible body (责任主体), area (as geometry and text), the
  五定 texts, the hotline (the grid's own, else ``RIVERGRID_HOTLINE``), whether the boundary is
  illustrative (示意);
* per person: name, title and post; the phone number **only** when ``Person.phone_public``;
  departed persons (已离任) are left out (the post then reads 待补充);
* the reaches the grid supervises (those running inside it for more than
  :data:`MIN_REACH_LENGTH_M` metres), with their river chiefs and length inside the grid.

Volunteers (志愿者) are private citizens and are not published; 协管员 are.
Incidents, patrols, users, notes and the audit log are never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.config import settings
from gis.errors import NotFoundError
from gis.geometry.crs import metric_crs_for, to_crs
from gis.model import (
    STORE_CRS,
    GridLevel,
    GridRole,
    PersonStatus,
    ReachChiefLevel,
)
from gis.store.queries import live_grids
from gis.store.schema import Reach, ReachChief, not_deleted

__all__ = [
    "PUBLIC_POSTS",
    "PublicGrid",
    "PublicPerson",
    "PublicReach",
    "grid_of_reach",
    "published_hotline",
    "published_person",
    "published_posts",
    "public_grid",
    "public_grids",
    "public_url",
]

PUBLIC_POSTS: tuple[GridRole, ...] = (
    GridRole.MAIN_RESPONSIBLE,
    GridRole.TOWNSHIP_SUPERVISOR,
    GridRole.SUPERVISOR,
    GridRole.ASSISTANT,
)
"""Grid posts published, in this order (volunteers are private citizens and are not)."""

CHIEF_ORDER: tuple[ReachChiefLevel, ...] = (ReachChiefLevel.COUNTY, ReachChiefLevel.TOWNSHIP, ReachChiefLevel.VILLAGE)
"""River chiefs top-down, as signboards list them."""

MIN_REACH_LENGTH_M = 1.0
"""A reach counts as supervised by a grid when more than this many metres of it lie inside."""


@dataclass(frozen=True)
class PublicPerson:
    """A person as published: name, title, post; ``phone`` is ``""`` unless marked public."""

    name: str
    title: str
    post: str
    phone: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "title": self.title, "post": self.post, "phone": self.phone}


@dataclass(frozen=True)
class PublicReach:
    """A reach supervised by a grid.

    ``length_km`` is the length inside the grid, in kilometres (measured in a metric CRS);
    ``geometry`` the reach's whole line in WGS84 longitude/latitude.
    """

    id: int
    name: str
    river: str
    length_km: float
    chiefs: tuple[PublicPerson, ...]
    geometry: BaseGeometry | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "river": self.river,
            "length_km": self.length_km,
            "chiefs": [c.to_dict() for c in self.chiefs],
        }


@dataclass(frozen=True)
class PublicGrid:
    """One grid as the public sees it (五定, people, reaches, hotline).

    ``geometry`` is the grid's area in WGS84 longitude/latitude (None when not drawn);
    ``upper`` holds the main responsible persons of the grids above it, nearest first, as
    ``(grid name, level label, persons)``.
    """

    id: int
    name: str
    level: str
    parent_name: str
    responsible_body: str
    area_desc: str
    personnel_desc: str
    duties: str
    tasks: str
    rewards: str
    hotline: str
    illustrative: bool
    persons: tuple[PublicPerson, ...]
    reaches: tuple[PublicReach, ...]
    upper: tuple[tuple[str, str, tuple[PublicPerson, ...]], ...] = ()
    geometry: BaseGeometry | None = field(default=None, compare=False, repr=False)

    @property
    def level_label(self) -> str:
        return GridLevel(self.level).label

    def people(self, post: GridRole) -> list[PublicPerson]:
        """The published holders of ``post`` (empty when vacant)."""
        return [p for p in self.persons if p.post == post.label]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the geometry as GeoJSON-like WKT is left out."""
        return {
            "id": self.id,
            "name": self.name,
            "level": self.level,
            "level_label": self.level_label,
            "parent": self.parent_name,
            "responsible_body": self.responsible_body,
            "area": self.area_desc,
            "personnel": self.personnel_desc,
            "duties": self.duties,
            "tasks": self.tasks,
            "rewards": self.rewards,
            "hotline": self.hotline,
            "illustrative": self.illustrative,
            "persons": [p.to_dict() for p in self.persons],
            "reaches": [r.to_dict() for r in self.reaches],
            "upper": [{"grid": g, "level_label": lv, "persons": [p.to_dict() for p in ps]} for g, lv, ps in self.upper],
        }


def public_url(grid_id: int | None = None, *, reach_id: int | None = None, base_url: str | None = None) -> str:
    """Address of the public page, selecting a grid (and a reach) when given.

    ``base_url`` defaults to ``RIVERGRID_PUBLIC_URL`` (see :mod:`gis.config`), e.g.
    ``http://localhost:8501/public?grid=3&reach=2``.
    """
    base = (base_url or settings().public_url).rstrip("/")
    query = [f"grid={int(grid_id)}"] if grid_id is not None else []
    if reach_id is not None:
        query.append(f"reach={int(reach_id)}")
    return f"{base}/public" + ("?" + "&".join(query) if query else "")


def _current(valid_from: date | None, valid_to: date | None, today: date) -> bool:
    return (valid_from is None or valid_from <= today) and (valid_to is None or valid_to >= today)


def _person(p: Any, post: str) -> PublicPerson | None:
    if p.status == PersonStatus.LEFT.value:
        return None
    return PublicPerson(name=p.name, title=p.title or "", post=post, phone=p.phone if p.phone_public else "")


def _grid_posts(grid: Any, today: date) -> tuple[PublicPerson, ...]:
    out: list[PublicPerson] = []
    for role in PUBLIC_POSTS:
        for a in sorted(grid.roles, key=lambda a: (a.sort, a.id)):
            if a.role == role.value and _current(a.valid_from, a.valid_to, today):
                person = _person(a.person, role.label)
                if person is not None:
                    out.append(person)
    return tuple(out)


def published_person(person: Any, post: str) -> PublicPerson | None:
    """``person`` holding ``post`` as published (None when departed; phone only when public)."""
    return _person(person, post)


def published_posts(grid: Any, *, today: date | None = None) -> tuple[PublicPerson, ...]:
    """The current posts of ``grid`` as the public page lists them (:data:`PUBLIC_POSTS` order,
    departed persons and volunteers left out, phones only when public)."""
    return _grid_posts(grid, today or clock.today())


def published_hotline(grid: Any, *, hotline: str | None = None) -> str:
    """The grid's own hotline, else ``hotline`` (default ``RIVERGRID_HOTLINE``)."""
    return (grid.hotline or "").strip() or hotline or settings().hotline


def public_grids(session: Session, *, today: date | None = None, hotline: str | None = None) -> list[PublicGrid]:
    """Every live grid as published, county → township → village (by id within a level).

    Parameters
    ----------
    session : Session
        An open store session (read only).
    today : date, keyword-only
        Day on which posts and river chiefs must be current (default: today in Asia/Shanghai).
    hotline : str, keyword-only
        Hotline for grids without their own (default ``RIVERGRID_HOTLINE``).
    """

    today = today or clock.today()
    fallback = hotline or settings().hotline
    grids = live_grids(session)
    by_id = {g.id: g for g in grids}
    reaches = session.scalars(
        select(Reach).where(not_deleted(Reach)).options(selectinload(Reach.river)).order_by(Reach.id)
    ).all()
    chiefs: dict[int, list[Any]] = {}
    for c in session.scalars(select(ReachChief).options(selectinload(ReachChief.person)).order_by(ReachChief.id)):
        if _current(c.valid_from, c.valid_to, today):
            chiefs.setdefault(c.reach_id, []).append(c)

    public_reaches: dict[int, tuple[PublicReach, BaseGeometry]] = {}
    geoms = [g.geom for g in grids if g.geom is not None] + [r.geom for r in reaches]
    crs = metric_crs_for(shapely.GeometryCollection(geoms).bounds) if geoms else None
    reach_m = to_crs(gpd.GeoSeries([r.geom for r in reaches], crs=STORE_CRS), crs) if reaches else None
    reach_arr = np.asarray(reach_m.array) if reach_m is not None else np.empty(0, dtype=object)
    reach_tree = shapely.STRtree(reach_arr)
    for r in reaches:
        shown = []
        for level in CHIEF_ORDER:
            for c in chiefs.get(r.id, []):
                if c.level == level.value and (p := _person(c.person, level.label)) is not None:
                    shown.append(p)
        public_reaches[r.id] = (PublicReach(r.id, r.name, r.river.name, 0.0, tuple(shown), r.geom), r.geom)

    out = []
    for g in grids:
        inside: list[PublicReach] = []
        if g.geom is not None and reach_m is not None:
            area_m = to_crs(gpd.GeoSeries([g.geom], crs=STORE_CRS), crs).iloc[0]
            near = np.sort(reach_tree.query(area_m, predicate="intersects"))  # in reach order
            lengths = shapely.length(shapely.intersection(reach_arr[near], area_m))
            for k, length_m in zip(near, lengths, strict=True):
                r = reaches[int(k)]
                if length_m > MIN_REACH_LENGTH_M:
                    base = public_reaches[r.id][0]
                    inside.append(
                        PublicReach(
                            base.id, base.name, base.river, round(float(length_m) / 1000, 2), base.chiefs, base.geometry
                        )
                    )
        upper = []
        parent = by_id.get(g.parent_id) if g.parent_id is not None else None
        while parent is not None:
            mains = tuple(p for p in _grid_posts(parent, today) if p.post == GridRole.MAIN_RESPONSIBLE.label)
            upper.append((parent.name, GridLevel(parent.level).label, mains))
            parent = by_id.get(parent.parent_id) if parent.parent_id is not None else None
        out.append(
            PublicGrid(
                id=g.id,
                name=g.name,
                level=g.level,
                parent_name=g.parent.name if g.parent else "",
                responsible_body=g.responsible_body or "",
                area_desc=g.area_desc or "",
                personnel_desc=g.personnel_desc or "",
                duties=g.duties or "",
                tasks=g.tasks or "",
                rewards=g.rewards or "",
                hotline=published_hotline(g, hotline=fallback),
                illustrative=bool(g.illustrative),
                persons=_grid_posts(g, today),
                reaches=tuple(inside),
                upper=tuple(upper),
                geometry=g.geom,
            )
        )
    return out


def public_grid(session: Session, grid_id: int, *, today: date | None = None) -> PublicGrid:
    """One live grid as published.

    Raises
    ------
    NotFoundError
        No live grid ``grid_id``.
    """
    for g in public_grids(session, today=today):
        if g.id == grid_id:
            return g
    raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id!r}")


def grid_of_reach(grids: Sequence[PublicGrid], reach_id: int) -> PublicGrid | None:
    """The grid of the finest level holding the longest part of reach ``reach_id`` (None if none)."""
    best: tuple[int, float] | None = None
    chosen = None
    for g in grids:
        for r in g.reaches:
            if r.id == reach_id:
                key = (GridLevel(g.level).rank, r.length_km)
                if best is None or key > best:
                    best, chosen = key, g
    return chosen
