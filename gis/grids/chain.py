"""Who is responsible here? The responsibility chain (责任链) of any point.

:class:`ResponsibilityIndex` is built once from the store (:meth:`ResponsibilityIndex.from_session`)
or from frames (:meth:`ResponsibilityIndex.from_frames`) and answers :meth:`~ResponsibilityIndex.lookup`
for a longitude/latitude in well under a millisecond, with spatial indexes (STRtree) over the
grids and reaches:

* the grids of every level that **cover** the point (a point on a boundary is inside: both grids
  of a shared edge are listed);
* the nearest live reach within ``tolerance_m`` metres, its river chiefs and the stationing (桩号)
  of the point projected on it;
* the chain, bottom-up: the reach's river chiefs (村级 → 乡级 → 县级河长) → each village grid's
  主要责任人 → its 乡级监管责任人 → the township grid's 主要责任人 → the leading group office's
  主任 (领导小组办公室) → the county grid's 主要责任人 and 监管工作组 (监管人员 of the county grid);
* warnings (Chinese) when the answer may be someone else's: the point lies within
  ``tolerance_m`` of another grid of the same level, in two grids of one level, in no grid of the
  lowest level (a blind spot, or outside the jurisdiction: below, with the nearest grid and its
  distance), or a post is vacant.

A point in no village grid (no grid of the lowest level) is never an error; which of two it is
follows the 盲区检查 (:mod:`gis.checks.report`):

* a **blind spot** (盲区, :attr:`Chain.blind_spot`) when it lies inside the *area*: the drawn grids
  of the nearest level above the lowest that has drawn grids (the townships, for village grids);
* **outside the jurisdiction** (:attr:`Chain.outside`: "该点不在本街道（县）网格范围内") when it
  lies outside that area, or, when the lowest level is the top level (county), outside its grids;
* when no level above the lowest has drawn grids the two cannot be told apart and the point is
  taken as a blind spot, as the 盲区检查 then does.

Either way :attr:`Chain.nearest_grid` names the nearest grid of the lowest level with its
distance, and the township and county part of the chain is still given when they cover the
point.

Geometry conventions: the point and the stored geometries are WGS84 longitude/latitude in
decimal degrees (EPSG:4326); the *covers* test runs on them unchanged (so it agrees exactly with
``shapely.covers`` on the stored data), every distance is measured in metres in a projected CRS
chosen by :func:`gis.geometry.crs.metric_crs_for` (CGCS2000 3-degree Gauss-Krüger near Linjiang).

The people of the chain and the result types (:class:`~gis.grids.links.Chain`,
:class:`~gis.grids.links.ChainLink`, …) are :mod:`gis.grids.links`; this module holds the index,
the lookup and the loading from the store.

The upper levels of the chain follow the spatial answer and the grid hierarchy together: the
township of the chain is every township grid covering the point plus the parent of each village
grid covering it (so an undrawn township still appears, with a warning when a drawn parent does
not cover the point).
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely import STRtree
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.errors import CRSError, NotFoundError, ValidationError
from gis.formatting import plain
from gis.geometry.crs import check_lonlat_range, metric_crs_for, to_crs, transformer
from gis.grids.links import (
    CHIEF_COLUMNS,
    OFFICE_COLUMNS,
    OFFICE_DIRECTOR_POSITION,
    OUTSIDE_TEXT,
    POST_COLUMNS,
    Chain,
    ChainLink,
    GridHit,
    ReachHit,
    grid_links,
    office_links,
    plain_text,
    reach_links,
    require_columns,
)
from gis.model import STORE_CRS, GridLevel, OrgBodyKind
from gis.store.queries import grid_people, live_grids
from gis.store.schema import Incident, OrgBody, OrgMember, Reach, ReachChief, not_deleted

__all__ = ["DEFAULT_TOLERANCE_M", "OUTSIDE_TEXT", "ResponsibilityIndex", "chain_for_incident", "reach_frames"]

DEFAULT_TOLERANCE_M = 50.0
"""Default search radius for the reach and the neighbouring grids, in metres."""

_LEVELS_UP = (GridLevel.VILLAGE, GridLevel.TOWNSHIP, GridLevel.COUNTY)


def _area_level(lowest: GridLevel, drawn_levels: set[str]) -> str | None:
    """The level whose drawn grids make the area in which a point outside every grid of the
    ``lowest`` level is a blind spot: the nearest level above with drawn grids; ``lowest``
    itself when it is the top level (outside its grids is outside); None when no level above
    has drawn grids (the two cannot be told apart)."""
    if lowest.parent_level is None:
        return lowest.value
    up: GridLevel | None = lowest.parent_level
    while up is not None:
        if up.value in drawn_levels:
            return up.value
        up = up.parent_level
    return None


def _to_lonlat(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:4326 (a copy when reprojected); refuses a missing CRS."""
    if gdf.crs is None:
        raise CRSError(
            f"{what}没有坐标系，请先设置坐标系，例如 EPSG:4326（WGS84 经纬度）",
            f"{what} frame has no CRS",
        )
    if not pyproj.CRS(gdf.crs).equals(pyproj.CRS(STORE_CRS)):
        gdf = to_crs(gdf, STORE_CRS)
    check_lonlat_range(gdf)
    return gdf


def _drawn(geoms: np.ndarray) -> np.ndarray:
    """Mask of geometries that are present and not empty."""
    present = np.array([g is not None for g in geoms], dtype=bool)
    present[present] = ~shapely.is_empty(geoms[present])
    return present


class ResponsibilityIndex:
    """Spatial index of grids and reaches with the people of every post, for :meth:`lookup`.

    Build it with :meth:`from_session` (live store data, posts current on ``today``) or
    :meth:`from_frames`. It is a snapshot: rebuild it after the data change. Lookups do not
    touch the database and are safe to run from several threads.

    Parameters
    ----------
    grids : GeoDataFrame
        Columns ``id``, ``name``, ``level`` (code or Chinese label), optional ``parent_id``;
        polygons in any CRS (reprojected to EPSG:4326). Undrawn grids (no geometry) take part
        in the hierarchy only.
    reaches : GeoDataFrame, optional
        Columns ``id``, ``name``, optional ``river`` and ``start_station_m`` (metres); lines.
    posts, reach_chiefs, offices : DataFrame, optional
        People, see :meth:`from_frames`.
    incidents : GeoDataFrame, optional
        Columns ``id``, optional ``code``, ``grid_id``, ``reach_id``; points.
    crs : optional
        Metric CRS for distances (default: :func:`gis.geometry.crs.metric_crs_for` of the data).
    """

    def __init__(
        self,
        grids: gpd.GeoDataFrame,
        reaches: gpd.GeoDataFrame | None = None,
        *,
        posts: pd.DataFrame | None = None,
        reach_chiefs: pd.DataFrame | None = None,
        offices: pd.DataFrame | None = None,
        incidents: gpd.GeoDataFrame | None = None,
        crs: Any = None,
    ) -> None:
        require_columns(grids, ["id", "name", "level"], "网格")
        grids = _to_lonlat(grids, "网格")
        if reaches is None:
            reaches = gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=STORE_CRS)
        require_columns(reaches, ["id", "name"], "河段")
        reaches = _to_lonlat(reaches, "河段")

        # -- grids ---------------------------------------------------------------------------
        ids = [plain(v) for v in grids["id"]]
        if len(set(ids)) != len(ids):
            raise ValidationError("网格编号重复", "grid ids are not unique")
        levels = [GridLevel.from_any(v).value for v in grids["level"]]
        parents = [plain(v) for v in grids["parent_id"]] if "parent_id" in grids else [None] * len(ids)
        names = [plain_text(v) for v in grids["name"]]
        self._grid_pos: dict[Any, int] = {g: i for i, g in enumerate(ids)}
        self._grid_id = ids
        self._grid_name = names
        self._grid_level = levels
        self._grid_parent = parents
        geoms = np.asarray(grids.geometry.array, dtype=object)
        drawn = _drawn(geoms)
        self._grid_drawn = drawn
        reach_geoms = np.asarray(reaches.geometry.array, dtype=object)
        reach_drawn = _drawn(reach_geoms)
        if not drawn.any():
            raise ValidationError("没有已绘制边界的网格，无法查询责任链", "no grid has a geometry")

        if crs is None:
            parts = [geoms[drawn]] + ([reach_geoms[reach_drawn]] if reach_drawn.any() else [])
            crs = metric_crs_for(shapely.total_bounds(np.concatenate(parts)))
        self.crs = pyproj.CRS(crs)
        if not self.crs.is_projected:
            raise CRSError(
                f"量算距离需要投影坐标系（单位米），当前为 {self.crs.name}",
                f"metric CRS must be projected, got {self.crs.to_string()}",
            )
        self._to_metric = transformer(STORE_CRS, self.crs)

        drawn_idx = np.flatnonzero(drawn)
        self._ll = geoms[drawn_idx].copy()
        shapely.prepare(self._ll)
        self._ll_pos = drawn_idx  # tree index -> grid position
        self._ll_tree = STRtree(self._ll)
        metric = np.asarray(to_crs(gpd.GeoSeries(self._ll, crs=STORE_CRS), self.crs).array, dtype=object)
        shapely.prepare(metric)
        self._metric = metric  # aligned with self._ll
        level_arr = np.asarray(levels, dtype=object)[drawn_idx]
        self._level_trees: dict[str, tuple[STRtree, np.ndarray]] = {}
        for lvl in GridLevel:
            sel = np.flatnonzero(level_arr == lvl.value)
            if len(sel):
                self._level_trees[lvl.value] = (STRtree(metric[sel]), sel)
        present = {lvl for lvl in levels}
        self._lowest_level = next((lvl.value for lvl in _LEVELS_UP if lvl.value in present), GridLevel.VILLAGE.value)
        self._area_level = _area_level(GridLevel(self._lowest_level), set(self._level_trees))

        self._set_reaches(reaches, reach_chiefs)

        # -- people ----------------------------------------------------------------------------
        self._grid_links, self._grid_notes = grid_links(posts, self._grid_id, self._grid_level, self._grid_name)
        self._office_links = office_links(offices, dict(zip(self._grid_id, self._grid_name, strict=True)))

        # -- incidents -------------------------------------------------------------------------
        self._incidents: dict[Any, dict[str, Any]] = {}
        if incidents is not None and len(incidents):
            require_columns(incidents, ["id"], "事件")
            incidents = _to_lonlat(incidents, "事件")
            for row, geom in zip(
                incidents.drop(columns=incidents.geometry.name).to_dict("records"), incidents.geometry.array
            ):
                self._incidents[plain(row["id"])] = {
                    "code": plain_text(row.get("code")),
                    "grid_id": plain(row.get("grid_id")),
                    "reach_id": plain(row.get("reach_id")),
                    "geometry": geom,
                }

    def _set_reaches(self, reaches: gpd.GeoDataFrame, reach_chiefs: pd.DataFrame | None) -> None:
        reach_geoms = np.asarray(reaches.geometry.array, dtype=object)
        r_idx = np.flatnonzero(_drawn(reach_geoms))
        self._reach_id = [plain(v) for v in reaches["id"].iloc[r_idx]]
        self._reach_index = {r: i for i, r in enumerate(self._reach_id)}
        self._reach_name = [plain_text(v) for v in reaches["name"].iloc[r_idx]]
        self._reach_river = (
            [plain_text(v) for v in reaches["river"].iloc[r_idx]] if "river" in reaches else [""] * len(r_idx)
        )
        starts = reaches["start_station_m"].iloc[r_idx] if "start_station_m" in reaches else [0.0] * len(r_idx)
        self._reach_start = [float(plain(v) or 0.0) for v in starts]
        self._reach_metric = np.asarray(
            to_crs(gpd.GeoSeries(reach_geoms[r_idx], crs=STORE_CRS), self.crs).array, dtype=object
        )
        self._reach_tree = STRtree(self._reach_metric) if len(r_idx) else None
        self._reach_links, self._reach_notes = reach_links(reach_chiefs, self._reach_id, self._reach_name)

    def with_reaches(self, reaches: gpd.GeoDataFrame, reach_chiefs: pd.DataFrame | None = None) -> ResponsibilityIndex:
        """A copy of the index whose reaches are ``reaches`` (and their chiefs) instead of its own:
        for a store with too many reaches to index them all, the few near a clicked point
        (:func:`reach_frames`); grids, posts and incidents are shared, not copied."""
        require_columns(reaches, ["id", "name"], "河段")
        other = copy.copy(self)
        other._set_reaches(_to_lonlat(reaches, "河段"), reach_chiefs)
        return other

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_frames(
        cls,
        grids: gpd.GeoDataFrame,
        reaches: gpd.GeoDataFrame | None = None,
        *,
        posts: pd.DataFrame | None = None,
        reach_chiefs: pd.DataFrame | None = None,
        offices: pd.DataFrame | None = None,
        incidents: gpd.GeoDataFrame | None = None,
        crs: Any = None,
    ) -> ResponsibilityIndex:
        """Build the index from frames (nothing is copied back or changed in the inputs).

        Parameters
        ----------
        grids : GeoDataFrame
            ``id``, ``name``, ``level`` (code or label), optional ``parent_id``; polygons with a CRS.
        reaches : GeoDataFrame, optional
            ``id``, ``name``, optional ``river``, ``start_station_m`` (metres); lines with a CRS.
        posts : DataFrame, optional
            Current grid posts: ``grid_id``, ``role`` (:class:`~gis.model.GridRole` code),
            ``name``, optional ``title``, ``phone``, ``phone_public``, ``status``, ``sort``.
        reach_chiefs : DataFrame, optional
            Current river chiefs: ``reach_id``, ``level`` (:class:`~gis.model.ReachChiefLevel`
            code), ``name``, optional ``title``, ``phone``, ``phone_public``, ``status``.
        offices : DataFrame, optional
            Directors (主任) of leading group offices: ``body`` (office name), ``grid_id`` (the
            grid it belongs to; None: every chain), ``name``, optional ``title``, ``phone``,
            ``phone_public``, ``status``, ``sort``.
        incidents : GeoDataFrame, optional
            ``id``, optional ``code``, ``grid_id``, ``reach_id``; points, for
            :meth:`lookup_incident`.
        crs : optional
            Metric CRS for distances (default: chosen from the data's location).
        """
        return cls(
            grids, reaches, posts=posts, reach_chiefs=reach_chiefs, offices=offices, incidents=incidents, crs=crs
        )

    @classmethod
    def from_session(
        cls, session: Session, *, today: date | None = None, crs: Any = None, reaches: bool = True
    ) -> ResponsibilityIndex:
        """Build the index from the store's live grids and reaches and the posts current on ``today``.

        Parameters
        ----------
        session : Session
            An open store session (read only).
        today : datetime.date, optional
            Day on which posts must be current (``valid_from <= today <= valid_to``, an empty date
            being open); default: today in Asia/Shanghai.
        crs : optional
            Metric CRS for distances (default: chosen from the data's location).
        reaches : bool, optional
            False: index no reach (a store with too many; add the ones near a point with
            :meth:`with_reaches` and :func:`reach_frames`).
        """
        return cls(**_frames_from_session(session, today=today, reaches=reaches), crs=crs)

    # -- properties -------------------------------------------------------------------------------

    @property
    def grid_count(self) -> int:
        """Number of grids (drawn or not)."""
        return len(self._grid_id)

    @property
    def reach_count(self) -> int:
        """Number of reaches with a geometry."""
        return len(self._reach_id)

    def grid_links(self, grid_id: Any) -> list[ChainLink]:
        """The chain links of grid ``grid_id``'s own posts (empty for an unknown grid)."""
        return list(self._grid_links.get(grid_id, []))

    # -- lookups ----------------------------------------------------------------------------------

    def _hit(self, pos: int, distance_m: float = 0.0) -> GridHit:
        return GridHit(self._grid_level[pos], self._grid_id[pos], self._grid_name[pos], distance_m)

    def covering(self, lon: float, lat: float) -> list[Any]:
        """Ids of the grids covering the point (boundary included), county → village, by id."""
        return [self._grid_id[p] for p in self._covering_positions(Point(lon, lat))]

    def _covering_positions(self, pt: Point) -> list[int]:
        cand = self._ll_tree.query(pt)
        if len(cand):
            cand = cand[shapely.covers(self._ll[cand], pt)]
        pos = [int(self._ll_pos[i]) for i in cand]
        pos.sort(key=lambda p: (GridLevel(self._grid_level[p]).rank, _sort_key(self._grid_id[p])))
        return pos

    def lookup(self, lon: float, lat: float, *, tolerance_m: float = DEFAULT_TOLERANCE_M) -> Chain:
        """The grids, reach and responsibility chain of a point.

        Parameters
        ----------
        lon, lat : float
            WGS84 longitude and latitude of the point, decimal degrees.
        tolerance_m : float, keyword-only
            Search radius in metres (measured in the index's metric CRS) for the nearest reach
            and for neighbouring grids whose boundary is close enough that they might be
            responsible instead. Default 50.

        Returns
        -------
        Chain
            Never raises for a point outside every grid: see :attr:`Chain.blind_spot`.

        Raises
        ------
        CoordinateRangeError
            ``lon``/``lat`` are not valid longitude/latitude (e.g. swapped or in metres).
        ValidationError
            ``tolerance_m`` is negative or not finite.
        """
        lon, lat = float(lon), float(lat)
        check_lonlat_range((lon, lat, lon, lat))
        if not (math.isfinite(tolerance_m) and tolerance_m >= 0):
            raise ValidationError(
                f"容差应为不小于 0 的米数，当前为 {tolerance_m}",
                f"tolerance_m must be a finite number >= 0, got {tolerance_m}",
            )
        pt = Point(lon, lat)
        x, y = self._to_metric.transform(lon, lat)
        pt_m = Point(x, y)
        warnings: list[str] = []

        cover_pos = self._covering_positions(pt)
        covering: dict[str, list[int]] = defaultdict(list)
        for p in cover_pos:
            covering[self._grid_level[p]].append(p)
        grids = [self._hit(p) for p in cover_pos]

        # -- blind spot or outside, and neighbours, level by level (village first) ------------
        missing = not covering.get(self._lowest_level)
        if not missing:
            blind_spot = outside = False
        elif self._area_level is None:  # no drawn area above: cannot tell, as the 盲区检查
            blind_spot, outside = True, False
        elif self._area_level == self._lowest_level:  # the lowest level is the top one
            blind_spot, outside = False, True
        else:
            blind_spot = bool(covering.get(self._area_level))
            outside = not blind_spot
        nearest: GridHit | None = None
        for lvl in _LEVELS_UP:
            if lvl.value not in self._level_trees:
                continue
            tree, sel = self._level_trees[lvl.value]
            here = covering.get(lvl.value, [])
            nearest_pos = None
            if not here and lvl.value == self._lowest_level:
                idx, dist = tree.query_nearest(pt_m, return_distance=True, all_matches=True)
                best = min(
                    range(len(idx)), key=lambda k: (dist[k], _sort_key(self._grid_id[self._ll_pos[sel[idx[k]]]]))
                )
                nearest_pos = int(self._ll_pos[sel[idx[best]]])
                nearest = self._hit(nearest_pos, float(dist[best]))
                if outside:
                    warnings.append(
                        f"{OUTSIDE_TEXT}；最近的网格是{lvl.label}“{nearest.name}”，距离约 {nearest.distance_m:,.0f} 米"
                    )
                else:
                    warnings.append(
                        f"没有{lvl.label}覆盖该点（盲区）；最近的{lvl.label}是“{nearest.name}”，"
                        f"距离约 {nearest.distance_m:,.0f} 米"
                    )
            if len(here) > 1:
                names = "、".join(f"“{self._grid_name[p]}”" for p in here)
                warnings.append(f"该点同时位于{lvl.label}{names}内（共同边界或重叠区），请核实由哪个网格负责")
            if tolerance_m <= 0:
                continue
            # candidates by bounding box, minus the grids covering the point (the costly ones);
            # then an exact distance test on the prepared metric geometries
            near = [
                k
                for k in tree.query(shapely.box(x - tolerance_m, y - tolerance_m, x + tolerance_m, y + tolerance_m))
                if (p := int(self._ll_pos[sel[k]])) not in here and p != nearest_pos
            ]
            if not near:
                continue
            dist = shapely.distance(self._metric[sel[np.asarray(near)]], pt_m)
            close = [(k, float(d)) for k, d in zip(near, dist) if d <= tolerance_m]
            for k, d in sorted(close, key=lambda kd: _sort_key(self._grid_id[self._ll_pos[sel[kd[0]]]])):
                p = int(self._ll_pos[sel[k]])
                warnings.append(
                    f"该点距相邻{lvl.label}“{self._grid_name[p]}”边界约 {d:,.0f} 米，可能属于该网格，请核实"
                )

        # -- grids of the chain: covering ones plus the parents of the level below ------------
        chosen: dict[str, list[int]] = {}
        below: list[int] = []
        for lvl in _LEVELS_UP:
            picked = list(covering.get(lvl.value, []))
            for child in below:
                parent = self._grid_pos.get(self._grid_parent[child])
                if parent is None or self._grid_level[parent] != lvl.value or parent in picked:
                    continue
                picked.append(parent)
                why = "未绘制边界" if not self._grid_drawn[parent] else "边界未覆盖该点（上下级边界不一致）"
                warnings.append(
                    f"{GridLevel(self._grid_level[child]).label}“{self._grid_name[child]}”的上级网格"
                    f"“{self._grid_name[parent]}”{why}，已按上下级关系列入责任链"
                )
            # children whose parent skips this level keep climbing
            skipping = [
                c
                for c in below
                if (pp := self._grid_pos.get(self._grid_parent[c])) is not None
                and GridLevel(self._grid_level[pp]).rank < lvl.rank
            ]
            chosen[lvl.value] = picked
            below = picked + skipping
            if not picked and lvl.value != self._lowest_level and lvl.value in self._level_trees:
                warnings.append(f"没有{lvl.label}覆盖该点")

        # -- reach ---------------------------------------------------------------------------
        reach = self._nearest_reach(pt_m, tolerance_m)
        chain: list[ChainLink] = []
        if reach is not None:
            chain.extend(reach.chiefs)
            warnings.extend(self._reach_notes[self._reach_index[reach.id]])
        for lvl in (GridLevel.VILLAGE, GridLevel.TOWNSHIP):
            for p in chosen[lvl.value]:
                gid = self._grid_id[p]
                chain.extend(self._grid_links[gid])
                warnings.extend(self._grid_notes[gid])
        office_grids = [self._grid_id[p] for lvl in _LEVELS_UP for p in chosen[lvl.value]]
        offices = [link for gid in office_grids for link in self._office_links.get(gid, [])]
        offices += self._office_links.get(None, [])
        chain.extend(offices)
        for link in offices:
            if link.departed:
                warnings.append(f"{link.role_label}{link.person}已离任，请尽快补充")
        if chosen[GridLevel.TOWNSHIP.value] and not offices and self._office_links:
            names = "、".join(f"“{self._grid_name[p]}”" for p in chosen[GridLevel.TOWNSHIP.value])
            warnings.append(f"没有找到{names}的{OrgBodyKind.OFFICE.label}{OFFICE_DIRECTOR_POSITION}")
        for p in chosen[GridLevel.COUNTY.value]:
            gid = self._grid_id[p]
            chain.extend(self._grid_links[gid])
            warnings.extend(self._grid_notes[gid])
        return Chain(
            lon=lon,
            lat=lat,
            grids=grids,
            reach=reach,
            chain=chain,
            warnings=_unique(warnings),
            blind_spot=blind_spot,
            nearest_grid=nearest,
            outside=outside,
        )

    def _nearest_reach(self, pt_m: Point, tolerance_m: float) -> ReachHit | None:
        if self._reach_tree is None:
            return None
        idx, dist = self._reach_tree.query_nearest(
            pt_m, max_distance=max(tolerance_m, 1e-9), return_distance=True, all_matches=True
        )
        if not len(idx):
            return None
        k = min(range(len(idx)), key=lambda j: (dist[j], _sort_key(self._reach_id[idx[j]])))
        i = int(idx[k])
        along = float(shapely.line_locate_point(self._reach_metric[i], pt_m))
        return ReachHit(
            id=self._reach_id[i],
            name=self._reach_name[i],
            river=self._reach_river[i],
            distance_m=float(dist[k]),
            station_m=self._reach_start[i] + along,
            chiefs=list(self._reach_links[i]),
        )

    def lookup_incident(self, incident_id: Any, *, tolerance_m: float = DEFAULT_TOLERANCE_M) -> Chain:
        """:meth:`lookup` at an incident's location, with warnings when its recorded grid or
        reach differs from the spatial answer.

        Raises
        ------
        NotFoundError
            The index holds no incident ``incident_id`` (build it with incidents).
        """
        info = self._incidents.get(incident_id)
        if info is None:
            raise NotFoundError(f"没有编号为 {incident_id} 的事件", f"unknown incident id {incident_id!r}")
        geom = info["geometry"]
        if geom is None or geom.is_empty:
            raise ValidationError(
                f"事件 {info['code'] or incident_id} 没有位置", f"incident {incident_id!r} has no point"
            )
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        chain = self.lookup(pt.x, pt.y, tolerance_m=tolerance_m)
        label = info["code"] or str(incident_id)
        grid_id = info["grid_id"]
        if grid_id is not None and grid_id not in {g.id for g in chain.grids}:
            pos = self._grid_pos.get(grid_id)
            name = self._grid_name[pos] if pos is not None else str(grid_id)
            chain.warnings.append(f"事件 {label} 登记的网格“{name}”不覆盖事件位置，请核实")
        reach_id = info["reach_id"]
        if reach_id is not None and (chain.reach is None or chain.reach.id != reach_id):
            i = self._reach_index.get(reach_id)
            name = self._reach_name[i] if i is not None else str(reach_id)
            chain.warnings.append(
                f"事件 {label} 登记的河段“{name}”不是距事件位置 {tolerance_m:g} 米内最近的河段，请核实"
            )
        return chain


def _sort_key(value: Any) -> tuple[int, Any]:
    """Order ids of mixed types: numbers first, then strings."""
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _current(valid_from: date | None, valid_to: date | None, today: date) -> bool:
    return (valid_from is None or valid_from <= today) and (valid_to is None or valid_to >= today)


def _person_row(p: Any) -> dict[str, Any]:
    return {
        "name": p.name,
        "title": p.title,
        "phone": p.phone,
        "phone_public": bool(p.phone_public),
        "status": p.status,
    }


def _frames_from_session(session: Session, *, today: date | None, reaches: bool = True) -> dict[str, Any]:
    """Frames for :class:`ResponsibilityIndex` from the store's live rows."""
    today = today or clock.today()
    grid_rows = live_grids(session)
    grids = gpd.GeoDataFrame(
        {
            "id": [g.id for g in grid_rows],
            "name": [g.name for g in grid_rows],
            "level": [g.level for g in grid_rows],
            "parent_id": pd.array([g.parent_id for g in grid_rows], dtype="object"),
        },
        geometry=[g.geom for g in grid_rows],
        crs=STORE_CRS,
    )
    posts: list[dict[str, Any]] = []
    for g in grid_rows:
        for role, people in grid_people(g, today=today).items():
            posts.extend(
                {"grid_id": g.id, "role": role.value, "sort": n, **_person_row(p)} for n, p in enumerate(people)
            )
    reach_part = reach_frames(session, None if reaches else [], today=today)
    offices = [
        {"body": b.name, "grid_id": b.grid_id, "sort": m.sort, **_person_row(m.person)}
        for b in session.scalars(
            select(OrgBody)
            .where(OrgBody.kind == OrgBodyKind.OFFICE.value)
            .options(selectinload(OrgBody.members).selectinload(OrgMember.person))
            .order_by(OrgBody.id)
        )
        for m in b.members
        if m.position == OFFICE_DIRECTOR_POSITION
    ]
    incident_rows = session.execute(
        select(Incident.id, Incident.code, Incident.grid_id, Incident.reach_id, Incident.geom).order_by(Incident.id)
    ).all()
    incidents = gpd.GeoDataFrame(
        {
            "id": [i.id for i in incident_rows],
            "code": [i.code for i in incident_rows],
            "grid_id": pd.array([i.grid_id for i in incident_rows], dtype="object"),
            "reach_id": pd.array([i.reach_id for i in incident_rows], dtype="object"),
        },
        geometry=[i.geom for i in incident_rows],
        crs=STORE_CRS,
    )
    return {
        "grids": grids,
        "reaches": reach_part["reaches"],
        "posts": pd.DataFrame(posts, columns=POST_COLUMNS),
        "reach_chiefs": reach_part["reach_chiefs"],
        "offices": pd.DataFrame(offices, columns=OFFICE_COLUMNS),
        "incidents": incidents,
    }


def reach_frames(session: Session, ids: Sequence[int] | None = None, *, today: date | None = None) -> dict[str, Any]:
    """``reaches`` and ``reach_chiefs`` frames of :class:`ResponsibilityIndex` (for its constructor
    or :meth:`ResponsibilityIndex.with_reaches`): the live reaches whose id is in ``ids`` (None:
    every live reach) and their chiefs current on ``today``."""
    today = today or clock.today()
    query = select(Reach).where(not_deleted(Reach)).options(selectinload(Reach.river)).order_by(Reach.id)
    reach_rows: list[Reach] = []
    if ids is None:
        reach_rows = list(session.scalars(query).all())
    else:
        wanted = list(ids)
        for start in range(0, len(wanted), 900):
            reach_rows += session.scalars(query.where(Reach.id.in_(wanted[start : start + 900]))).all()
    reaches = gpd.GeoDataFrame(
        {
            "id": [r.id for r in reach_rows],
            "name": [r.name for r in reach_rows],
            "river": [r.river.name for r in reach_rows],
            "start_station_m": [r.start_station_m or 0.0 for r in reach_rows],
        },
        geometry=[r.geom for r in reach_rows],
        crs=STORE_CRS,
    )
    chief_query = select(ReachChief).options(selectinload(ReachChief.person)).order_by(ReachChief.id)
    if ids is not None:
        chief_query = chief_query.where(ReachChief.reach_id.in_([r.id for r in reach_rows] or [-1]))
    chiefs = [
        {"reach_id": c.reach_id, "level": c.level, **_person_row(c.person)}
        for c in session.scalars(chief_query)
        if _current(c.valid_from, c.valid_to, today)
    ]
    return {"reaches": reaches, "reach_chiefs": pd.DataFrame(chiefs, columns=CHIEF_COLUMNS)}


def chain_for_incident(
    session_or_index: Session | ResponsibilityIndex,
    incident_id: Any,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    today: date | None = None,
) -> Chain:
    """The responsibility chain at an incident's location.

    Parameters
    ----------
    session_or_index : Session or ResponsibilityIndex
        An open store session (an index is built from it, posts current on ``today``) or an
        index built with incidents (:meth:`ResponsibilityIndex.from_session` loads them).
    incident_id
        The incident's id.
    tolerance_m : float, keyword-only
        Search radius in metres, as in :meth:`ResponsibilityIndex.lookup`.
    today : datetime.date, keyword-only
        Day for current posts when a session is given.

    Raises
    ------
    NotFoundError
        No such incident.
    """
    index = session_or_index
    if not isinstance(index, ResponsibilityIndex):
        index = ResponsibilityIndex.from_session(index, today=today)
    return index.lookup_incident(incident_id, tolerance_m=tolerance_m)
