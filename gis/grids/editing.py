"""Grid boundary editing (网格管理): fit on save, versions, conflicts, split, merge, past states.

Two layers:

* :func:`fit_grid` is pure geometry: it takes a drawn boundary and returns it repaired, snapped
  to the neighbouring and parent boundaries, clipped to the parent, cut free of its siblings
  and without slivers, plus what changed (areas, dropped pieces, Chinese sentences) for the UI
  to show before the user confirms.
* The store functions (:func:`save_grid`, :func:`restore_version`, :func:`delete_grid`,
  :func:`restore_grid`, :func:`split_grid`, :func:`merge_grids`) change grids inside an
  audited session (:meth:`gis.store.Store.session`), so every change is permission-checked,
  written to the audit log in the caller's transaction and can be undone with
  :func:`gis.store.audit.undo_batch`. :func:`grid_history` and :func:`grids_as_of` read.

Geometries go in and come out in EPSG:4326 (longitude/latitude, decimal degrees). Overlays
(clip, cut, split, union) run in longitude/latitude, the CRS the boundaries are stored in, so a
fitted boundary reuses its neighbours' vertices exactly; distances and areas are measured in a
metric CRS (:func:`gis.geometry.crs.metric_crs_for`), in metres and square metres.

Versions
--------
``grid_versions`` (:class:`~gis.store.schema.GridVersion`) holds one row per saved state;
``GridVersion.version`` is the grid's ``version`` (its optimistic-locking counter) right after
that state was written, so the row with ``version == grid.version`` is the live grid. Every
writing function here takes the ``expected_version`` the user's screen was built from and
raises :class:`~gis.errors.ConflictError` naming who saved the grid last, and when, if it moved
on; nothing is overwritten silently.

Grids written outside this module (the demo loader, imports, attribute pages, an undo from the
audit page) change ``grid.version`` without a history row. Their states are not lost: the
audit log holds each of them, so the history of a grid is its recorded rows plus an *implicit*
version for every audited state of a version number not recorded (author and time from the
audit entry), plus, when even that is missing, the live row itself (author and time unknown).
:func:`grid_history` and :func:`grids_as_of` show implicit versions without writing; the next
write to the grid records them (``recorded`` then becomes true), so a demo grid at version 1
gets its version 1 (author ``system``, the time it was loaded) and version 2 on its first save.
An undone save stays in the history as what it was, followed by the undo as a later version.
History rows are written with plain INSERTs in the caller's transaction and are not audited
themselves (the grid rows they describe are); undoing a grid's creation removes its history.

Permissions: every writing function requires ``geodata.write`` (staff, admin) of the
session's actor and raises :class:`~gis.errors.PermissionDenied` otherwise (leaders); the
reads need none, like every read of the store, so leaders can look at the history.

For the editor page (网格管理): :func:`preview_fit` is the fit a save would apply, against the
live family, without writing; :func:`split_parts` the two parts a line would make;
:func:`siblings` the merge candidates and :func:`deleted_grids` the restorable grids.

After a save, hand ``SaveResult.grid_id`` and ``SaveResult.geometry`` to
:meth:`gis.checks.report.IncrementalCheck.update_grid` to refresh the 盲区检查.
"""

from __future__ import annotations

import inspect as _inspect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as _split
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gis.auth import SYSTEM, Actor, require
from gis.geometry.crs import check_lonlat_range, metric_crs_for
from gis.geometry.shapes import polygonal_part
from gis.errors import (
    ConflictError,
    CRSError,
    GeometryError,
    NotFoundError,
    ValidationError,
)
from gis.formatting import format_area as _fmt_area
from gis.model import STORE_CRS, GridLevel
from gis.model import LOCAL_TZ
from gis.store.schema import AuditEntry, Grid, GridVersion, User, utcnow, not_deleted
from gis.checks.topology import NOISE_AREA_M2

__all__ = [
    "ATTRIBUTE_FIELDS",
    "EDITABLE_FIELDS",
    "FIT_STEPS",
    "DroppedPiece",
    "FitResult",
    "GridVersionInfo",
    "SaveResult",
    "delete_grid",
    "deleted_grids",
    "fit_grid",
    "grid_geometry",
    "grid_history",
    "grids_as_of",
    "merge_grids",
    "preview_fit",
    "restore_grid",
    "restore_version",
    "save_grid",
    "siblings",
    "split_grid",
    "split_parts",
]

FIT_STEPS = ("repair", "snap", "clip_to_parent", "cut_overlaps", "drop_slivers")
"""The steps of :func:`fit_grid`, in the order they run."""

STEP_LABELS = {
    "repair": "修复无效边界",
    "snap": "吸附到相邻边界",
    "clip_to_parent": "裁剪到上级网格",
    "cut_overlaps": "去除与相邻网格的重叠",
    "drop_slivers": "去除碎片",
}

ATTRIBUTE_FIELDS = ("code", "responsible_body", "area_desc", "personnel_desc", "duties", "tasks", "rewards",
                    "hotline", "illustrative")
"""Grid columns kept in ``GridVersion.attributes`` (the 五定 texts and the rest)."""

EDITABLE_FIELDS = ("name", "level", "parent_id", *ATTRIBUTE_FIELDS)
"""Keys accepted in ``attributes`` of :func:`save_grid`."""

_KEEP: Any = object()
"""Default of :func:`preview_fit`'s ``parent_id``: the grid's own parent."""

PIECE_REASONS = {"outside_parent": "超出上级网格", "overlap": "与相邻网格重叠", "sliver": "碎片"}


# =============================================================================================
# Results
# =============================================================================================


@dataclass(frozen=True)
class DroppedPiece:
    """A piece :func:`fit_grid` cut away.

    Attributes
    ----------
    geometry
        The piece, EPSG:4326.
    area_m2
        Its area in square metres.
    reason
        ``outside_parent``, ``overlap`` or ``sliver`` (:data:`PIECE_REASONS` has the labels).
    neighbour
        For ``overlap``: the label of the sibling it overlapped (a key of ``neighbours``).
    """

    geometry: BaseGeometry
    area_m2: float
    reason: str
    neighbour: Any = None

    @property
    def reason_label(self) -> str:
        return PIECE_REASONS[self.reason]


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit_grid` made of a drawing.

    Attributes
    ----------
    geometry
        The fitted boundary, a Polygon or MultiPolygon in EPSG:4326.
    area_before_m2, area_after_m2
        Area of the drawing (of its repaired form when it was invalid: a self-intersecting
        ring has no area) and of the result, in m².
    added_m2, removed_m2
        Area gained and lost, in m²; ``area_after_m2 == area_before_m2 - removed_m2 +
        added_m2`` up to floating point (all four are measured on the same projected shapes).
    added, removed
        The gained and lost areas themselves (EPSG:4326), for the map.
    dropped_pieces
        The pieces cut away by clipping, by cutting overlaps and as slivers.
    changes
        Chinese sentences describing each change, for the confirmation dialogue.
    steps_applied
        The steps that ran (switched on and applicable), in order; a subset of
        :data:`FIT_STEPS`.
    crs
        The metric CRS used for distances and areas.
    snapped_vertices, inserted_vertices
        How many vertices snapping moved and how many neighbour vertices it inserted.
    """

    geometry: BaseGeometry
    area_before_m2: float
    area_after_m2: float
    added_m2: float
    removed_m2: float
    added: BaseGeometry
    removed: BaseGeometry
    dropped_pieces: list[DroppedPiece]
    changes: list[str]
    steps_applied: list[str]
    crs: pyproj.CRS
    snapped_vertices: int = 0
    inserted_vertices: int = 0

    @property
    def changed(self) -> bool:
        """Whether fitting changed the drawing at all."""
        return bool(self.snapped_vertices or self.inserted_vertices or self.dropped_pieces
                    or self.added_m2 > NOISE_AREA_M2 or self.removed_m2 > NOISE_AREA_M2)


@dataclass(frozen=True)
class SaveResult:
    """Outcome of a write to one grid.

    ``version`` is the grid's version now (pass it as ``expected_version`` next time);
    ``changed`` is false when the save changed nothing (then no version is written).
    ``geometry`` is the boundary saved (EPSG:4326), to hand to
    :meth:`gis.checks.report.IncrementalCheck.update_grid`.
    """

    grid_id: int
    version: int
    name: str
    geometry: BaseGeometry | None
    created: bool = False
    changed: bool = True
    fit: FitResult | None = None


@dataclass(frozen=True)
class GridVersionInfo:
    """One version of a grid as :func:`grid_history` lists it.

    ``recorded`` is false for an implicit version (see the module notes) not yet written to
    ``grid_versions``; ``saved_at`` is ``None`` when the time is unknown; ``author`` is a user
    name, ``author_name`` the display name.
    """

    grid_id: int
    version: int
    name: str
    level: str
    parent_id: int | None
    geometry: BaseGeometry | None
    attributes: dict[str, Any]
    deleted: bool
    author: str
    saved_at: datetime | None
    note: str
    recorded: bool
    author_name: str = ""
    current: bool = False


# =============================================================================================
# Geometry helpers
# =============================================================================================


class _Metric:
    """Forward projection EPSG:4326 → a metric CRS for coordinate arrays and geometries."""

    def __init__(self, crs: pyproj.CRS) -> None:
        self.crs = crs
        self._fwd = pyproj.Transformer.from_crs(STORE_CRS, crs, always_xy=True)

    def xy(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        if not len(lonlat):
            return np.empty((0, 2))
        x, y = self._fwd.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    def geom(self, g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, self.xy)

    def area(self, g: BaseGeometry | None) -> float:
        return 0.0 if g is None or g.is_empty else float(shapely.area(self.geom(g)))


class _LocalFrame:
    """An affine local frame in metres: (lon, lat) scaled by the ellipsoid's metres per degree.

    Snapping measures distances here rather than in the metric CRS: the frame is affine in
    longitude/latitude, so a boundary that is straight as stored stays straight, a vertex lying
    on a neighbour's edge is at distance 0 from it, and a foot point found here lies on the
    stored edge. Over a few kilometres its distances agree with the metric CRS to millimetres.
    """

    def __init__(self, geom: BaseGeometry) -> None:
        minx, miny, maxx, maxy = geom.bounds
        self.origin = np.array([(minx + maxx) / 2.0, (miny + maxy) / 2.0])
        geod = pyproj.Geod(ellps="GRS80")
        h = 0.0005
        lon0, lat0 = self.origin
        kx = geod.inv(lon0 - h, lat0, lon0 + h, lat0)[2] / (2 * h)
        ky = geod.inv(lon0, lat0 - h, lon0, lat0 + h)[2] / (2 * h)
        self.scale = np.array([kx, ky])

    def xy(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        return (np.asarray(lonlat, dtype=np.float64).reshape(-1, 2) - self.origin) * self.scale

    def geom(self, g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, self.xy)


_TOUCH_M = 0.01
"""Boundaries closer than this (metres) touch, for :func:`merge_grids`."""

_MIN_SHARED_M = 1.0
"""Two grids are neighbours when they share at least this length of boundary (metres)."""

_ON_EDGE_M = 1e-9
"""A vertex closer than this (metres) to a reference vertex or edge is already on it: not moved."""


def _polygons(geom: BaseGeometry | None) -> list[Polygon]:
    """The polygon parts of any geometry (collections searched recursively)."""
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def _areal(polys: list[Polygon]) -> BaseGeometry:
    """One Polygon or MultiPolygon from disjoint polygons (an empty Polygon for none)."""
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _union(geoms: Iterable[BaseGeometry]) -> BaseGeometry:
    items = [g for g in geoms if g is not None and not g.is_empty]
    if not items:
        return Polygon()
    return _areal(_polygons(shapely.union_all(items)))


def _make_valid(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of ``make_valid`` (the area enclosed, collapsed parts dropped)."""
    return polygonal_part(geom)


def _as_geometry(value: Any, what: str = "图形") -> BaseGeometry:
    """A 2D shapely geometry from a shapely geometry or a GeoJSON-like mapping, range-checked."""
    if isinstance(value, BaseGeometry):
        geom = value
    elif isinstance(value, Mapping) or hasattr(value, "__geo_interface__"):
        try:
            geom = shape(value)
        except Exception as exc:
            raise GeometryError(f"{what}不是有效的 GeoJSON 几何", f"cannot read geometry: {exc}") from exc
    else:
        raise GeometryError(f"{what}缺少几何图形", f"expected a shapely geometry, got {type(value).__name__}")
    if geom.is_empty:
        raise GeometryError(f"{what}缺少几何图形", "geometry is empty")
    check_lonlat_range(geom)
    return shapely.force_2d(geom)


def _labelled(neighbours: Any) -> dict[Any, BaseGeometry]:
    """Neighbours as ``{label: geometry}`` from a mapping, a GeoSeries/GeoDataFrame or a list."""
    if neighbours is None:
        return {}
    if isinstance(neighbours, gpd.GeoDataFrame):
        neighbours = neighbours.geometry
    if isinstance(neighbours, gpd.GeoSeries):
        if neighbours.crs is not None and not neighbours.crs.equals(pyproj.CRS(STORE_CRS)):
            neighbours = neighbours.to_crs(STORE_CRS)
        items: Iterable[tuple[Any, Any]] = neighbours.items()
    elif isinstance(neighbours, Mapping):
        items = neighbours.items()
    else:
        items = enumerate(neighbours)
    out = {}
    for label, g in items:
        if g is None or g.is_empty:
            continue
        out[label] = g if g.is_valid else _make_valid(g)
    return out


# =============================================================================================
# Snapping
# =============================================================================================


@dataclass
class _SnapStats:
    moved: int = 0
    inserted: int = 0
    max_move_m: float = 0.0


@dataclass
class _References:
    """Reference linework: segments (a→b) and their distinct vertices, in lon/lat (``_ll``) and in
    the local metre frame (``_m``), with spatial indexes on the latter."""

    a_ll: NDArray[np.float64]
    b_ll: NDArray[np.float64]
    a_m: NDArray[np.float64]
    b_m: NDArray[np.float64]
    v_ll: NDArray[np.float64]
    v_m: NDArray[np.float64]
    seg_tree: shapely.STRtree = field(init=False)
    vert_tree: shapely.STRtree = field(init=False)

    def __post_init__(self) -> None:
        self.seg_tree = shapely.STRtree(shapely.linestrings(np.stack([self.a_m, self.b_m], axis=1)))
        self.vert_tree = shapely.STRtree(shapely.points(self.v_m))


def _rings(geom: BaseGeometry) -> list[NDArray[np.float64]]:
    out = []
    for poly in _polygons(geom):
        out.append(np.asarray(poly.exterior.coords)[:, :2])
        out.extend(np.asarray(r.coords)[:, :2] for r in poly.interiors)
    return out


def _references(refs: list[BaseGeometry], frame: _LocalFrame, around_m: BaseGeometry,
                tol: float) -> _References | None:
    rings = [ring for r in refs for ring in _rings(r)]
    if not rings:
        return None
    a_ll = np.concatenate([r[:-1] for r in rings])
    b_ll = np.concatenate([r[1:] for r in rings])
    a_m, b_m = frame.xy(a_ll), frame.xy(b_ll)
    minx, miny, maxx, maxy = around_m.bounds
    near = ~((np.maximum(a_m[:, 0], b_m[:, 0]) < minx - tol) | (np.minimum(a_m[:, 0], b_m[:, 0]) > maxx + tol)
             | (np.maximum(a_m[:, 1], b_m[:, 1]) < miny - tol) | (np.minimum(a_m[:, 1], b_m[:, 1]) > maxy + tol))
    if not near.any():
        return None
    a_ll, b_ll, a_m, b_m = a_ll[near], b_ll[near], a_m[near], b_m[near]
    v_ll = np.unique(np.concatenate([a_ll, b_ll]), axis=0)
    return _References(a_ll, b_ll, a_m, b_m, v_ll, frame.xy(v_ll))


def _drop_repeats(ll: NDArray[np.float64]) -> NDArray[np.float64]:
    """Remove consecutive duplicate vertices of an open ring (cyclically)."""
    if len(ll) < 2:
        return ll
    keep = np.any(ll != np.roll(ll, -1, axis=0), axis=1)
    return ll[keep]


def _snap_ring(ring_ll: NDArray[np.float64], ref: _References, frame: _LocalFrame, tol: float,
               stats: _SnapStats) -> NDArray[np.float64] | None:
    """Snap one closed ring; ``None`` when it collapses."""
    p_ll = ring_ll[:-1].copy()
    p_m = frame.xy(p_ll)
    n = len(p_ll)
    moved = np.zeros(n, dtype=bool)
    # 1. vertices to the nearest reference vertex within the tolerance (exact coordinates)
    (src, dst), dist = ref.vert_tree.query_nearest(shapely.points(p_m), max_distance=tol, return_distance=True,
                                                   all_matches=False)
    exact = dist > _ON_EDGE_M
    p_ll[src], p_m[src] = ref.v_ll[dst], ref.v_m[dst]
    moved[src[exact]] = True
    done = np.zeros(n, dtype=bool)
    done[src] = True
    if exact.any():
        stats.max_move_m = max(stats.max_move_m, float(dist[exact].max()))
    # 2. the others onto the nearest reference segment within the tolerance
    rest = np.flatnonzero(~done)
    if rest.size:
        (src, seg), dist = ref.seg_tree.query_nearest(shapely.points(p_m[rest]), max_distance=tol,
                                                      return_distance=True, all_matches=False)
        real = dist > _ON_EDGE_M
        src, seg, dist = rest[src[real]], seg[real], dist[real]
        if src.size:
            ab = ref.b_m[seg] - ref.a_m[seg]
            t = np.einsum("ij,ij->i", p_m[src] - ref.a_m[seg], ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300)
            t = np.clip(t, 0.0, 1.0)[:, None]
            p_ll[src] = ref.a_ll[seg] + t * (ref.b_ll[seg] - ref.a_ll[seg])
            p_m[src] = frame.xy(p_ll[src])
            moved[src] = True
            stats.max_move_m = max(stats.max_move_m, float(dist.max()))
    stats.moved += int(moved.sum())
    p_ll = _drop_repeats(p_ll)
    if len(p_ll) < 3:
        return None
    p_m = frame.xy(p_ll)
    # 3. reference vertices lying within the tolerance of a segment are inserted into it
    n = len(p_ll)
    nxt = np.roll(np.arange(n), -1)
    segs = shapely.linestrings(np.stack([p_m, p_m[nxt]], axis=1))
    r_idx, s_idx = shapely.STRtree(segs).query(shapely.points(ref.v_m), predicate="dwithin", distance=tol)
    if r_idx.size:
        a, b, v = p_m[s_idx], p_m[nxt][s_idx], ref.v_m[r_idx]
        ab = b - a
        t = np.einsum("ij,ij->i", v - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300)
        d = np.hypot(*(v - (a + t[:, None] * ab)).T)
        present = {tuple(c) for c in p_ll}
        ok = ((t > 0.0) & (t < 1.0) & (d <= tol) & (np.hypot(*(v - a).T) > 1e-6) & (np.hypot(*(v - b).T) > 1e-6)
              & np.array([tuple(c) not in present for c in ref.v_ll[r_idx]], dtype=bool))
        if ok.any():
            r_idx, s_idx, t, d = r_idx[ok], s_idx[ok], t[ok], d[ok]
            order = np.lexsort((d, r_idx))  # nearest segment first for each reference vertex
            first = np.ones(len(order), dtype=bool)
            first[1:] = r_idx[order][1:] != r_idx[order][:-1]
            chosen = order[first]
            inserts: dict[int, list[tuple[float, int]]] = defaultdict(list)
            for k in chosen:
                inserts[int(s_idx[k])].append((float(t[k]), int(r_idx[k])))
            rows = []
            for i in range(n):
                rows.append(p_ll[i])
                for _, r in sorted(inserts.get(i, ())):
                    rows.append(ref.v_ll[r])
            stats.inserted += len(chosen)
            p_ll = _drop_repeats(np.asarray(rows))
    if len(p_ll) < 3:
        return None
    return np.vstack([p_ll, p_ll[:1]])


def _snap(geom: BaseGeometry, refs: list[BaseGeometry], frame: _LocalFrame,
          tol: float) -> tuple[BaseGeometry, _SnapStats]:
    stats = _SnapStats()
    ref = _references(refs, frame, frame.geom(geom), tol)
    if ref is None:
        return geom, stats
    polys = []
    for poly in _polygons(geom):
        shell = _snap_ring(np.asarray(poly.exterior.coords)[:, :2], ref, frame, tol, stats)
        if shell is None:
            continue
        holes = [h for h in (_snap_ring(np.asarray(r.coords)[:, :2], ref, frame, tol, stats)
                             for r in poly.interiors) if h is not None]
        snapped = Polygon(shell, holes)
        polys.append(snapped if snapped.is_valid else _make_valid(snapped))
    if not (stats.moved or stats.inserted):
        return geom, stats
    return _union(polys), stats


# =============================================================================================
# Fit on save
# =============================================================================================


def _pieces(geom: BaseGeometry, metric: _Metric) -> list[tuple[Polygon, float]]:
    """Polygon parts of ``geom`` with their areas (m²), noise left out."""
    out = []
    for p in _polygons(geom):
        area = metric.area(p)
        if area >= NOISE_AREA_M2:
            out.append((p, area))
    return out


def _tidy(geom: BaseGeometry, metric: _Metric, blockers: BaseGeometry) -> BaseGeometry:
    """Drop parts and fill holes below :data:`NOISE_AREA_M2` (floating-point noise of overlays)."""
    polys = []
    for p in _polygons(geom):
        if metric.area(p) < NOISE_AREA_M2:
            continue
        holes = [r for r in p.interiors
                 if metric.area(Polygon(r)) >= NOISE_AREA_M2
                 or metric.area(shapely.intersection(Polygon(r), blockers)) >= NOISE_AREA_M2]
        polys.append(Polygon(p.exterior, holes) if len(holes) != len(p.interiors) else p)
    return _union(polys) if len(polys) > 1 else _areal(polys)


def fit_grid(
    geom: Any,
    *,
    parent: BaseGeometry | None,
    neighbours: Any,
    crs: Any = None,
    snap_tolerance_m: float = 5.0,
    sliver_area_m2: float = 100.0,
    repair: bool = True,
    clip_to_parent: bool = True,
    snap: bool = True,
    cut_overlaps: bool = True,
    drop_slivers: bool = True,
) -> FitResult:
    """Fit a drawn grid boundary to its parent and siblings (pure; nothing is stored).

    The steps run in the order of :data:`FIT_STEPS`; each can be switched off:

    1. ``repair``: an invalid boundary (self-intersecting ring, …) becomes the area it
       encloses (``make_valid`` with the *structure* method, polygon parts only).
    2. ``snap``: each vertex within ``snap_tolerance_m`` of a vertex of a neighbour or of the
       parent boundary takes that vertex's exact coordinates; otherwise, within the tolerance
       of their edges, it moves onto the nearest edge; and neighbour/parent vertices within the
       tolerance of the drawing's edges are inserted into them, so the boundary follows the
       neighbour's. This closes small gaps (a 3 m gap at the default 5 m).
    3. ``clip_to_parent``: what lies outside ``parent`` is cut away.
    4. ``cut_overlaps``: what overlaps a neighbour is cut away (the neighbour keeps it).
    5. ``drop_slivers``: parts smaller than ``sliver_area_m2`` are dropped (the largest part
       is always kept), and holes smaller than that which overlap no neighbour (and lie in the
       parent) are filled.

    Parts and holes below :data:`gis.checks.topology.NOISE_AREA_M2` (floating-point noise of the
    overlays) are always removed. A drawing that needs none of this comes back unchanged
    (same vertices, same order); a changed one has counter-clockwise exterior rings.

    Where the fitted boundary meets a neighbour's at one of the neighbour's vertices (the usual
    case: a shared stretch ends where a third grid or the parent boundary begins) the two share
    that vertex exactly. A vertex moved onto the middle of a neighbour's edge lies on it only to
    floating-point precision (exactly on edges along a meridian or parallel), and the neighbour
    lacks that vertex: the topology check may call the edge "not edge-matched" until the
    neighbour is saved again, when its own fit inserts the vertex.

    Parameters
    ----------
    geom : shapely geometry or GeoJSON-like mapping
        The drawing, Polygon or MultiPolygon in EPSG:4326 (decimal degrees).
    parent : shapely geometry or None
        The parent grid's boundary (EPSG:4326); ``None`` for a top-level grid or an undrawn
        parent (nothing to clip to).
    neighbours : mapping, GeoSeries/GeoDataFrame or sequence of geometries
        The siblings' boundaries (EPSG:4326). Mapping keys (or the GeoSeries index) label them
        in :attr:`FitResult.changes` and :attr:`DroppedPiece.neighbour`.
    crs : optional
        Metric CRS for distances and areas; default :func:`gis.geometry.crs.metric_crs_for` of the
        drawing and the parent. A geographic CRS is refused.
    snap_tolerance_m : float
        Snapping distance in metres.
    sliver_area_m2 : float
        Parts and holes below this area in m² are slivers.
    repair, snap, clip_to_parent, cut_overlaps, drop_slivers : bool
        Switch each step on or off.

    Returns
    -------
    FitResult

    Raises
    ------
    GeometryError
        The drawing is not polygonal, is invalid with ``repair`` off, or nothing of it is left
        (entirely outside the parent or under the neighbours).
    CRSError, CoordinateRangeError
        ``crs`` is geographic, or the coordinates are not longitude/latitude.
    """
    drawn = _as_geometry(geom, "绘制的网格")
    if not _polygons(drawn):
        raise GeometryError(f"网格边界应为面，实际为 {drawn.geom_type}", f"expected a polygon, got {drawn.geom_type}")
    parent_geom = None
    if parent is not None and not parent.is_empty:
        parent_geom = _as_geometry(parent, "上级网格")
        parent_geom = parent_geom if parent_geom.is_valid else _make_valid(parent_geom)
    nbrs = _labelled(neighbours)
    extent = [drawn] if parent_geom is None else [drawn, parent_geom]
    metric_crs = pyproj.CRS.from_user_input(crs) if crs is not None else metric_crs_for(
        shapely.union_all(shapely.envelope(extent)))
    if metric_crs.is_geographic:
        raise CRSError(
            f"距离和面积需要在投影坐标系（单位米）中计算，{metric_crs.name} 是经纬度坐标系",
            f"crs must be projected (metres), got geographic {metric_crs.to_string()}",
        )
    metric = _Metric(metric_crs)
    steps: list[str] = []
    changes: list[str] = []
    dropped: list[DroppedPiece] = []
    stats = _SnapStats()

    # 1. repair
    work = drawn
    if drawn.is_valid:
        work = _union(_polygons(drawn)) if drawn.geom_type == "GeometryCollection" else drawn
    elif repair:
        reason = shapely.is_valid_reason(drawn)
        work = _make_valid(drawn)
        if work.is_empty:
            raise GeometryError("绘制的边界无效且无法修复（面积为零），请重新绘制", f"unrepairable: {reason}")
        changes.append(f"边界无效（{reason}），已自动修复为所围成的区域")
    else:
        reason = shapely.is_valid_reason(drawn)
        raise GeometryError(f"绘制的边界无效（{reason}），请修复或开启自动修复", f"invalid geometry: {reason}")
    if repair:
        steps.append("repair")
    before = work
    nbr_union = _union(nbrs.values())

    # 2. snap
    if snap and snap_tolerance_m > 0 and (nbrs or parent_geom is not None):
        steps.append("snap")
        refs = list(nbrs.values()) + ([parent_geom] if parent_geom is not None else [])
        work, stats = _snap(work, refs, _LocalFrame(work), float(snap_tolerance_m))
        if stats.moved or stats.inserted:
            parts = []
            if stats.moved:
                parts.append(f"移动了 {stats.moved} 个顶点（最远 {stats.max_move_m:.2f} 米）")
            if stats.inserted:
                parts.append(f"插入了相邻边界的 {stats.inserted} 个顶点")
            changes.append(f"已吸附到 {snap_tolerance_m:g} 米以内的相邻网格或上级网格边界：" + "，".join(parts))

    # 3. clip to the parent
    if clip_to_parent and parent_geom is not None:
        steps.append("clip_to_parent")
        outside = _pieces(shapely.difference(work, parent_geom), metric)
        work = _areal(_polygons(shapely.intersection(work, parent_geom)))
        if outside:
            dropped += [DroppedPiece(p, a, "outside_parent") for p, a in outside]
            total = sum(a for _, a in outside)
            changes.append(f"已裁去超出上级网格的部分：{len(outside)} 块，共 {_fmt_area(total)}")

    # 4. cut overlaps with the neighbours
    if cut_overlaps and nbrs:
        steps.append("cut_overlaps")
        hit = {label: g for label, g in nbrs.items() if shapely.intersects(work, g)}
        for label, g in hit.items():
            pieces = _pieces(shapely.intersection(work, g), metric)
            if pieces:
                dropped += [DroppedPiece(p, a, "overlap", label) for p, a in pieces]
                name = f"“{label}”" if isinstance(label, str) else ""
                changes.append(f"已裁去与相邻网格{name}重叠的部分：共 {_fmt_area(sum(a for _, a in pieces))}")
        if hit:
            work = _areal(_polygons(shapely.difference(work, _union(hit.values()))))

    # where a hole may not be filled: under a neighbour or outside the parent
    blockers = nbr_union
    if parent_geom is not None:
        outside_parent = shapely.difference(shapely.envelope(shapely.union_all([work, parent_geom])), parent_geom)
        blockers = _union([nbr_union, outside_parent])
    work = _tidy(work, metric, blockers)

    # 5. slivers
    if drop_slivers and sliver_area_m2 > 0:
        steps.append("drop_slivers")
        parts = _pieces(work, metric)
        if parts:
            largest = max(range(len(parts)), key=lambda i: parts[i][1])
            slivers = [(p, a) for i, (p, a) in enumerate(parts) if i != largest and a < sliver_area_m2]
            if slivers:
                dropped += [DroppedPiece(p, a, "sliver") for p, a in slivers]
                changes.append(f"已去除 {len(slivers)} 块小于 {_fmt_area(sliver_area_m2)} 的碎片，"
                               f"共 {_fmt_area(sum(a for _, a in slivers))}")
            kept, filled = [], []
            for i, (p, a) in enumerate(parts):
                if i != largest and a < sliver_area_m2:
                    continue
                holes = []
                for r in p.interiors:
                    hole = Polygon(r)
                    if (metric.area(hole) < sliver_area_m2
                            and metric.area(shapely.intersection(hole, blockers)) < NOISE_AREA_M2):
                        filled.append(metric.area(hole))
                    else:
                        holes.append(r)
                kept.append(Polygon(p.exterior, holes) if len(holes) != len(p.interiors) else p)
            if filled:
                changes.append(f"已填补 {len(filled)} 处小于 {_fmt_area(sliver_area_m2)} 的空洞，共 {_fmt_area(sum(filled))}")
            work = _union(kept)

    if work.is_empty:
        raise GeometryError(
            "调整后网格没有剩余面积：绘制的范围全部在上级网格之外或与相邻网格重叠，请重新绘制",
            "nothing left after fitting",
        )
    result = work if work.geom_type in ("Polygon", "MultiPolygon") else _areal(_polygons(work))
    if shapely.get_num_coordinates(result) == shapely.get_num_coordinates(before) and shapely.equals(result, before):
        result = before  # unchanged: keep the vertices as drawn (order and start), so a re-save is a no-op
    else:
        result = shapely.orient_polygons(result)  # exterior rings counter-clockwise, as in GeoJSON

    before_m, after_m = metric.geom(before), metric.geom(result)
    area_before, area_after = float(before_m.area), float(after_m.area)
    added_m2 = float(shapely.area(shapely.difference(after_m, before_m)))
    removed_m2 = float(shapely.area(shapely.difference(before_m, after_m)))
    if changes:
        changes.append(f"面积由 {_fmt_area(area_before)} 变为 {_fmt_area(area_after)}"
                       f"（增加 {_fmt_area(added_m2)}，减少 {_fmt_area(removed_m2)}）")
    else:
        changes.append("图形无需调整")
    return FitResult(
        geometry=result,
        area_before_m2=area_before,
        area_after_m2=area_after,
        added_m2=added_m2,
        removed_m2=removed_m2,
        added=_areal(_polygons(shapely.difference(result, before))),
        removed=_areal(_polygons(shapely.difference(before, result))),
        dropped_pieces=dropped,
        changes=changes,
        steps_applied=steps,
        crs=metric_crs,
        snapped_vertices=stats.moved,
        inserted_vertices=stats.inserted,
    )


_FIT_OPTIONS = frozenset(_inspect.signature(fit_grid).parameters) - {"geom", "parent", "neighbours"}


# =============================================================================================
# Store: helpers
# =============================================================================================


def _writer(session: Session) -> Actor:
    return require(session.info.get("actor"), "geodata.write")


def _load(session: Session, grid_id: int, *, lock: bool = True) -> Grid:
    """The grid, freshly read (and row-locked on PostgreSQL until the transaction ends)."""
    grid = session.get(Grid, grid_id, with_for_update=True if lock else None, populate_existing=lock)
    if grid is None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no grid {grid_id}")
    return grid


def _live(grid: Grid) -> Grid:
    if grid.deleted_at is not None:
        raise NotFoundError(f"网格“{grid.name}”已删除，请先恢复后再编辑", f"grid {grid.id} is deleted")
    return grid


def _attributes(source: Grid | Mapping[str, Any]) -> dict[str, Any]:
    get = source.get if isinstance(source, Mapping) else lambda k: getattr(source, k)
    return {k: get(k) for k in ATTRIBUTE_FIELDS}


def _display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    names = {u: u for u in usernames if u}
    if names:
        with session.no_autoflush:
            rows = session.execute(select(User.username, User.display_name).where(User.username.in_(list(names))))
            names.update({u: d for u, d in rows if d})
    if SYSTEM.username in names and names[SYSTEM.username] == SYSTEM.username:
        names[SYSTEM.username] = SYSTEM.display_name
    return names


def _local(when: datetime) -> str:
    return when.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _from_version_row(v: GridVersion) -> GridVersionInfo:
    return GridVersionInfo(
        grid_id=v.grid_id, version=v.version, name=v.name, level=v.level, parent_id=v.parent_id, geometry=v.geom,
        attributes=dict(v.attributes or {}), deleted=bool(v.deleted), author=v.author, saved_at=v.saved_at,
        note=v.note, recorded=True,
    )


def _from_audit(e: AuditEntry) -> GridVersionInfo:
    after = e.after or {}
    geom = after.get("geom")
    return GridVersionInfo(
        grid_id=int(e.row_id), version=int(after["version"]), name=after.get("name", ""), level=after.get("level", ""),
        parent_id=after.get("parent_id"), geometry=shapely.from_wkt(geom) if geom else None,
        attributes=_attributes(after), deleted=after.get("deleted_at") is not None, author=e.username,
        saved_at=e.at, note="创建（据修改记录补记）" if e.action == "insert" else "编辑器之外的修改（据修改记录补记）",
        recorded=False,
    )


def _from_live(grid: Grid) -> GridVersionInfo:
    return GridVersionInfo(
        grid_id=grid.id, version=grid.version, name=grid.name, level=grid.level, parent_id=grid.parent_id,
        geometry=grid.geom, attributes=_attributes(grid), deleted=grid.deleted_at is not None, author="",
        saved_at=None, note="现状（开始记录历史之前的状态，时间不详）", recorded=False,
    )


def _timelines(session: Session, grids: list[Grid]) -> dict[int, list[GridVersionInfo]]:
    """Every grid's versions, oldest first: recorded rows, then audit states, then the live row."""
    ids = [g.id for g in grids]
    if not ids:
        return {}
    with session.no_autoflush:
        recorded = session.scalars(
            select(GridVersion).where(GridVersion.grid_id.in_(ids)).order_by(GridVersion.grid_id, GridVersion.version)
        ).all()
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.table_name == Grid.__tablename__, AuditEntry.row_id.in_(ids),
                   AuditEntry.action.in_(("insert", "update")))
            .order_by(AuditEntry.id)
        ).all()
    by_grid: dict[int, dict[int, GridVersionInfo]] = defaultdict(dict)
    for v in recorded:
        by_grid[v.grid_id][v.version] = _from_version_row(v)
    audited: dict[int, dict[int, GridVersionInfo]] = defaultdict(dict)
    for e in entries:
        if (e.after or {}).get("version") is not None:
            audited[int(e.row_id)][int(e.after["version"])] = _from_audit(e)  # a later entry wins
    out = {}
    for g in grids:
        versions = by_grid[g.id]
        for number, info in audited[g.id].items():
            versions.setdefault(number, info)
        if g.version not in versions:
            versions[g.version] = _from_live(g)
        out[g.id] = [versions[k] for k in sorted(versions) if k <= g.version]
    return out


def _timeline(session: Session, grid: Grid) -> list[GridVersionInfo]:
    return _timelines(session, [grid])[grid.id]


def _insert_version(session: Session, info: GridVersionInfo) -> None:
    with session.no_autoflush:  # pending grid changes are flushed by _flush, which reports conflicts
        session.execute(insert(GridVersion.__table__).values(
            grid_id=info.grid_id, version=info.version, name=info.name, level=info.level, parent_id=info.parent_id,
            geom=info.geometry, attributes=info.attributes, deleted=info.deleted, author=info.author,
            saved_at=info.saved_at, note=info.note,
        ))


def _unrecorded(session: Session, grid: Grid) -> list[GridVersionInfo]:
    """The grid's implicit versions (see the module notes); read them before changing the grid."""
    return [v for v in _timeline(session, grid) if not v.recorded]


def _materialise(session: Session, grid: Grid, versions: list[GridVersionInfo] | None = None) -> None:
    """Record the grid's implicit versions (``versions`` as read by :func:`_unrecorded`)."""
    for info in _unrecorded(session, grid) if versions is None else versions:
        _insert_version(session, info)


def _record(session: Session, grid: Grid, actor: Actor, note: str) -> None:
    """Write the grid's current (just flushed) state as a version by ``actor``."""
    _insert_version(session, GridVersionInfo(
        grid_id=grid.id, version=grid.version, name=grid.name, level=grid.level, parent_id=grid.parent_id,
        geometry=grid.geom, attributes=_attributes(grid), deleted=grid.deleted_at is not None,
        author=actor.username, saved_at=utcnow(), note=note, recorded=True,
    ))


def _conflict(session: Session | None, grid: Grid, expected: int | None, *, kept_geometry: Any = None,
              kept_attributes: dict[str, Any] | None = None, subject: str = "该网格") -> ConflictError:
    """The ConflictError for a stale save, naming who saved the grid last and when."""
    last = _timeline(session, grid)[-1] if session is not None else None
    who = _display_names(session, [last.author]).get(last.author, "") if session is not None and last else ""
    if who and last is not None and last.saved_at is not None:
        by = f"已被 {who} 于 {_local(last.saved_at)} 修改"
    elif who:
        by = f"已被 {who} 修改"
    else:
        by = "已被他人修改"
    if kept_geometry is not None:
        then = "请刷新后重新编辑；您的图形已保留"
    elif kept_attributes:
        then = "请刷新后重新编辑；您填写的内容已保留"
    else:
        then = "请刷新后重新操作"
    exc = ConflictError(
        f"{subject}{by}，{then}",
        f"grid {grid.id} is at version {grid.version}, the edit was based on version {expected}",
    )
    exc.kept_geometry = kept_geometry  # type: ignore[attr-defined]
    exc.kept_attributes = kept_attributes  # type: ignore[attr-defined]
    exc.grid_id = grid.id  # type: ignore[attr-defined]
    exc.current_version = grid.version  # type: ignore[attr-defined]
    exc.changed_by = last.author if last is not None else ""  # type: ignore[attr-defined]
    exc.changed_at = last.saved_at if last is not None else None  # type: ignore[attr-defined]
    return exc


def _check_version(session: Session, grid: Grid, expected: int | None, **kept: Any) -> None:
    if expected is None:
        raise ValidationError(
            "修改已有网格时需要提供打开编辑时的版本号（expected_version）",
            f"expected_version is required to change grid {grid.id}",
        )
    if grid.version != expected:
        raise _conflict(session, grid, expected, **kept)


def _flush(session: Session, grid: Grid, expected: int | None, **kept: Any) -> None:
    try:
        session.flush()
    except StaleDataError as exc:  # saved by someone else between our read and our write
        raise _conflict(None, grid, expected, **kept) from exc


def _family(session: Session, grid_id: int | None, parent_id: int | None,
            level: str) -> tuple[BaseGeometry | None, dict[str, BaseGeometry]]:
    """The parent's boundary and the live siblings' boundaries by name (fit_grid's inputs)."""
    parent = session.get(Grid, parent_id) if parent_id is not None else None
    query = select(Grid).where(not_deleted(Grid), Grid.geom.is_not(None))
    query = query.where(Grid.parent_id == parent_id) if parent_id is not None else query.where(
        Grid.parent_id.is_(None), Grid.level == level)
    if grid_id is not None:
        query = query.where(Grid.id != grid_id)
    neighbours: dict[str, BaseGeometry] = {}
    for g in session.scalars(query.order_by(Grid.id)):
        neighbours[g.name if g.name not in neighbours else f"{g.name}（#{g.id}）"] = g.geom
    parent_geom = parent.geom if parent is not None and parent.deleted_at is None else None
    return parent_geom, neighbours


def _check_parent(session: Session, grid: Grid | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Grid, parent_id)
    if parent is None or parent.deleted_at is not None:
        raise NotFoundError(f"上级网格（编号 {parent_id}）不存在或已删除", f"parent grid {parent_id} missing or deleted")
    if grid is not None and grid.id is not None:
        seen, cur = set(), parent
        while cur is not None and cur.id not in seen:
            if cur.id == grid.id:
                raise ValidationError(
                    f"不能把“{parent.name}”设为“{grid.name}”的上级：它是该网格本身或其下级",
                    f"parent {parent_id} would make a cycle",
                )
            seen.add(cur.id)
            cur = session.get(Grid, cur.parent_id) if cur.parent_id is not None else None


def _result(grid: Grid, *, created: bool = False, changed: bool = True, fit: FitResult | None = None) -> SaveResult:
    return SaveResult(grid_id=grid.id, version=grid.version, name=grid.name, geometry=grid.geom, created=created,
                      changed=changed, fit=fit)


def _live_children(session: Session, grid_id: int) -> list[Grid]:
    return list(session.scalars(select(Grid).where(Grid.parent_id == grid_id, not_deleted(Grid))
                                .order_by(Grid.id)))


# =============================================================================================
# Store: writes
# =============================================================================================


def save_grid(
    session: Session,
    grid_id: int | None,
    *,
    geometry: Any,
    attributes: Mapping[str, Any] | None = None,
    expected_version: int | None,
    fit: bool = True,
    note: str = "",
    **fit_options: Any,
) -> SaveResult:
    """Create (``grid_id=None``) or update a grid, fitted and versioned, in one transaction.

    Parameters
    ----------
    session
        An audited session (:meth:`gis.store.Store.session`) whose actor may write geodata.
    grid_id
        The grid to update, or ``None`` to create one.
    geometry
        The drawn boundary (shapely or GeoJSON-like, EPSG:4326). ``None`` keeps the current
        boundary (an attributes-only save); for a new grid it leaves the grid undrawn.
    attributes
        Any of :data:`EDITABLE_FIELDS`: ``name``, ``level`` (code or Chinese label),
        ``parent_id`` and the 五定 texts. A new grid needs ``name`` and ``level``.
    expected_version
        The grid's ``version`` when the user opened it (``None`` to create).
    fit
        Apply :func:`fit_grid` against the live parent and siblings (of the new parent when
        ``parent_id`` changes); ``fit_options`` are passed on (``snap_tolerance_m``, …).
    note
        A remark stored with the version.

    Returns
    -------
    SaveResult
        ``changed`` is false (and no version is written) when nothing differs.

    Raises
    ------
    PermissionDenied
        The actor may not write geodata (leaders, patrollers, nobody signed in).
    ConflictError
        The grid was saved by someone else since ``expected_version``; the message names who
        and when, ``exc.kept_geometry``/``exc.kept_attributes`` hold the caller's input.
    NotFoundError, ValidationError, GeometryError, DuplicateNameError
        Unknown or deleted grid or parent, bad attributes, geometry or name.
    """
    actor = _writer(session)
    unknown = sorted(set(fit_options) - _FIT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown fit options: {', '.join(unknown)}")
    attrs = dict(attributes or {})
    bad = sorted(set(attrs) - set(EDITABLE_FIELDS))
    if bad:
        raise ValidationError(f"无法识别的网格属性：{'、'.join(bad)}", f"unknown grid attributes {bad}")
    raw = _as_geometry(geometry, "绘制的网格") if geometry is not None else None
    created = grid_id is None
    if created:
        if expected_version is not None:
            raise ValidationError("新建网格时不应提供版本号", "expected_version must be None when creating")
        missing = [k for k in ("name", "level") if not str(attrs.get(k) or "").strip()]
        if missing:
            raise ValidationError("新建网格需要填写名称和层级", f"missing attributes {missing}")
        grid = Grid()
    else:
        grid = _live(_load(session, grid_id))
        _check_version(session, grid, expected_version, kept_geometry=raw, kept_attributes=attrs)
    if "name" in attrs:
        attrs["name"] = str(attrs["name"]).strip()
        if not attrs["name"]:
            raise ValidationError("网格名称不能为空", "empty name")
    level = GridLevel.from_any(attrs.get("level", grid.level)).value
    parent_id = attrs.get("parent_id", grid.parent_id)
    _check_parent(session, grid, parent_id)

    fitted, geom = None, raw
    if raw is not None and fit:
        parent_geom, neighbours = _family(session, grid.id, parent_id, level)
        fitted = fit_grid(raw, parent=parent_geom, neighbours=neighbours, **fit_options)
        geom = fitted.geometry
    implicit = [] if created else _unrecorded(session, grid)
    for key, value in attrs.items():
        setattr(grid, key, value)
    grid.level = level
    if geom is not None:
        grid.geom = geom
    if created:
        session.add(grid)
    elif not session.is_modified(grid, include_collections=False):
        return _result(grid, changed=False, fit=fitted)
    _materialise(session, grid, implicit)
    _flush(session, grid, expected_version, kept_geometry=raw, kept_attributes=attrs)
    _record(session, grid, actor, note or ("新建网格" if created else ""))
    return _result(grid, created=created, fit=fitted)


def restore_version(session: Session, grid_id: int, version: int, *, expected_version: int,
                    note: str = "") -> SaveResult:
    """Make an earlier version current again, as a new version (boundary and attributes as then).

    The boundary comes back exactly as it was (no fitting: run the topology check to see how
    it sits with neighbours that changed since). Restoring the current state changes nothing.
    """
    actor = _writer(session)
    grid = _live(_load(session, grid_id))
    _check_version(session, grid, expected_version)
    target = next((v for v in _timeline(session, grid) if v.version == version), None)
    if target is None:
        raise NotFoundError(f"网格“{grid.name}”没有第 {version} 版", f"grid {grid_id} has no version {version}")
    _check_parent(session, grid, target.parent_id)
    implicit = _unrecorded(session, grid)
    grid.name, grid.level, grid.parent_id, grid.geom = target.name, target.level, target.parent_id, target.geometry
    for key in ATTRIBUTE_FIELDS:
        if key in target.attributes and target.attributes[key] is not None:
            setattr(grid, key, target.attributes[key])
    if not session.is_modified(grid, include_collections=False):
        return _result(grid, changed=False)
    _materialise(session, grid, implicit)
    _flush(session, grid, expected_version)
    _record(session, grid, actor, f"恢复为第 {version} 版" + (f"：{note}" if note else ""))
    return _result(grid)


def delete_grid(session: Session, grid_id: int, *, expected_version: int, note: str = "") -> SaveResult:
    """Soft-delete a grid (``deleted_at`` set; :func:`restore_grid` brings it back).

    Refused while the grid has live child grids.
    """
    actor = _writer(session)
    grid = _live(_load(session, grid_id))
    _check_version(session, grid, expected_version)
    children = _live_children(session, grid.id)
    if children:
        names = "、".join(f"“{c.name}”" for c in children[:5]) + ("等" if len(children) > 5 else "")
        raise ValidationError(
            f"网格“{grid.name}”下还有 {len(children)} 个下级网格（{names}），请先删除或调整下级网格",
            f"grid {grid_id} has {len(children)} live children",
        )
    _materialise(session, grid)
    grid.deleted_at = utcnow()
    _flush(session, grid, expected_version)
    _record(session, grid, actor, "删除网格" + (f"：{note}" if note else ""))
    return _result(grid)


def restore_grid(session: Session, grid_id: int, *, expected_version: int, note: str = "") -> SaveResult:
    """Bring back a soft-deleted grid as a new version (its parent must be live)."""
    actor = _writer(session)
    grid = _load(session, grid_id)
    if grid.deleted_at is None:
        raise ValidationError(f"网格“{grid.name}”没有被删除", f"grid {grid_id} is not deleted")
    _check_version(session, grid, expected_version)
    if grid.parent_id is not None:
        parent = session.get(Grid, grid.parent_id)
        if parent is None or parent.deleted_at is not None:
            raise ValidationError("上级网格已删除，请先恢复上级网格", f"parent {grid.parent_id} is deleted")
    _materialise(session, grid)
    grid.deleted_at = None
    _flush(session, grid, expected_version)
    _record(session, grid, actor, "恢复已删除的网格" + (f"：{note}" if note else ""))
    return _result(grid)


def split_parts(geom: BaseGeometry, line: Any) -> tuple[BaseGeometry, BaseGeometry]:
    """The two parts a line cuts a grid boundary into, larger first (pure; EPSG:4326).

    Raises
    ------
    GeometryError
        The line is not a line, or does not cut ``geom`` into exactly two parts (pieces below
        :data:`gis.checks.topology.NOISE_AREA_M2` do not count).
    """
    cut = _as_geometry(line, "分割线")
    if cut.geom_type not in ("LineString", "MultiLineString"):
        raise GeometryError(f"分割线应为线，实际为 {cut.geom_type}", f"expected a line, got {cut.geom_type}")
    metric = _Metric(metric_crs_for(geom))
    parts = _pieces(_split(geom, cut), metric)
    if len(parts) < 2:
        raise GeometryError(
            "分割线没有把网格分开：线应完整穿过网格，两端都画到网格边界之外",
            "the line does not cut the grid",
        )
    if len(parts) > 2:
        raise GeometryError(
            f"分割线把网格分成了 {len(parts)} 块，只能分成两块：请画一条只穿过网格一次的线",
            f"the line cuts the grid into {len(parts)} parts",
        )
    (geom_a, _), (geom_b, _) = sorted(parts, key=lambda pa: -pa[1])
    return geom_a, geom_b


def split_grid(
    session: Session,
    grid_id: int,
    line: Any,
    *,
    expected_version: int,
    names: tuple[str, str] | None = None,
    note: str = "",
) -> tuple[SaveResult, SaveResult]:
    """Split a grid in two along a drawn line.

    The grid keeps the larger part (with its id, posts and references) as a new version and is
    renamed ``names[0]``; a new sibling (same parent, level and 示意 flag, 五定 texts empty)
    gets the other part and ``names[1]``. Default names: the grid's own name and
    ``<name>（二）``. Child grids stay with the original.

    Parameters
    ----------
    line
        LineString or MultiLineString in EPSG:4326 that crosses the grid once, both ends
        outside it.

    Returns
    -------
    (SaveResult, SaveResult)
        The original grid, then the new one.

    Raises
    ------
    GeometryError
        The line does not cut the grid into exactly two parts (pieces below
        :data:`gis.checks.topology.NOISE_AREA_M2` do not count).
    """
    actor = _writer(session)
    cut = _as_geometry(line, "分割线")
    grid = _live(_load(session, grid_id))
    _check_version(session, grid, expected_version, kept_geometry=cut)
    if cut.geom_type not in ("LineString", "MultiLineString"):
        raise GeometryError(f"分割线应为线，实际为 {cut.geom_type}", f"expected a line, got {cut.geom_type}")
    if grid.geom is None:
        raise GeometryError(f"网格“{grid.name}”还没有边界，无法分割", f"grid {grid_id} has no geometry")
    geom_a, geom_b = split_parts(grid.geom, cut)
    name_a, name_b = names if names is not None else (grid.name, f"{grid.name}（二）")
    if not str(name_a).strip() or not str(name_b).strip():
        raise ValidationError("分割后的两个网格都需要名称", "empty name")
    _materialise(session, grid)
    old_name = grid.name
    grid.geom, grid.name = geom_a, str(name_a).strip()
    _flush(session, grid, expected_version, kept_geometry=cut)
    new = Grid(name=str(name_b).strip(), level=grid.level, parent_id=grid.parent_id, illustrative=grid.illustrative,
               geom=geom_b)
    session.add(new)
    session.flush()
    suffix = f"：{note}" if note else ""
    _record(session, grid, actor, f"分割：另一部分成为新网格“{new.name}”{suffix}")
    _record(session, new, actor, f"由“{old_name}”分割而来{suffix}")
    return _result(grid), _result(new, created=True)


def merge_grids(
    session: Session,
    keep_id: int,
    other_id: int,
    *,
    expected_versions: tuple[int, int],
    name: str | None = None,
    note: str = "",
) -> SaveResult:
    """Merge two neighbouring sibling grids: ``keep_id`` takes the union, ``other_id`` is deleted.

    Both must be live, drawn, of the same level and parent, and share a stretch of boundary
    (or overlap). The kept grid keeps its id, posts and attributes (``name`` renames it); the
    other is soft-deleted and its live child grids move to the kept grid. A version is written
    for each grid changed.

    Parameters
    ----------
    expected_versions
        ``(version of keep_id, version of other_id)`` as the user saw them.
    """
    actor = _writer(session)
    if keep_id == other_id:
        raise ValidationError("不能把网格与自身合并", "keep_id equals other_id")
    keep_version, other_version = expected_versions
    locked = {i: _load(session, i) for i in sorted((keep_id, other_id))}  # lock in id order: no deadlock
    keep, other = _live(locked[keep_id]), _live(locked[other_id])
    _check_version(session, keep, keep_version, subject=f"网格“{keep.name}”")
    _check_version(session, other, other_version, subject=f"网格“{other.name}”")
    if keep.parent_id != other.parent_id or keep.level != other.level:
        raise ValidationError(
            f"只能合并同一上级网格下的同级网格：“{keep.name}”与“{other.name}”不是同级相邻网格",
            f"grids {keep_id} and {other_id} differ in parent or level",
        )
    if keep.geom is None or other.geom is None:
        raise GeometryError("两个网格都需要有边界才能合并", "a grid without geometry")
    metric = _Metric(metric_crs_for(shapely.union_all([shapely.envelope(keep.geom), shapely.envelope(other.geom)])))
    keep_m, other_m = metric.geom(keep.geom), metric.geom(other.geom)
    shared = shapely.intersection(keep_m.boundary, other_m.buffer(_TOUCH_M)).length
    overlap = metric.area(shapely.intersection(keep.geom, other.geom))
    if shared < _MIN_SHARED_M and overlap < NOISE_AREA_M2:
        raise ValidationError(
            f"“{keep.name}”与“{other.name}”不相邻（没有共同边界），不能合并",
            f"grids {keep_id} and {other_id} share no boundary",
        )
    merged = _tidy(shapely.union_all([keep.geom, other.geom]), metric, Polygon())
    children = _live_children(session, other.id)
    for g in (keep, other, *children):
        _materialise(session, g)
    other.deleted_at = utcnow()
    _flush(session, other, other_version)
    for child in children:
        child.parent_id = keep.id
    keep.geom = merged
    if name is not None and str(name).strip():
        keep.name = str(name).strip()
    _flush(session, keep, keep_version)
    suffix = f"：{note}" if note else ""
    _record(session, keep, actor, f"合并：并入“{other.name}”{suffix}")
    _record(session, other, actor, f"合并到“{keep.name}”，已删除{suffix}")
    for child in children:
        _record(session, child, actor, f"上级网格“{other.name}”并入“{keep.name}”，上级调整为“{keep.name}”")
    return _result(keep)


# =============================================================================================
# Store: reads
# =============================================================================================


def preview_fit(
    session: Session,
    grid_id: int | None,
    geometry: Any,
    *,
    level: str | None = None,
    parent_id: Any = _KEEP,
    **fit_options: Any,
) -> FitResult:
    """What :func:`save_grid` with ``fit=True`` would make of ``geometry`` (nothing is written).

    Fits against the live parent and siblings, exactly as the save will, so the page can show
    the changes (areas added and removed, pieces dropped) before the user confirms.

    Parameters
    ----------
    grid_id
        The grid being edited, or ``None`` for a new one.
    geometry
        The drawing (shapely or GeoJSON-like, EPSG:4326).
    level, parent_id
        For a new grid (or one being moved): its level and parent; by default the grid's own.
    """
    grid = _live(_load(session, grid_id, lock=False)) if grid_id is not None else None
    if grid is None and level is None:
        raise ValidationError("新建网格需要先选择层级", "level is required to preview a new grid")
    lvl = GridLevel.from_any(level if level is not None else grid.level).value  # type: ignore[union-attr]
    parent = (grid.parent_id if grid is not None else None) if parent_id is _KEEP else parent_id
    unknown = sorted(set(fit_options) - _FIT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown fit options: {', '.join(unknown)}")
    parent_geom, neighbours = _family(session, grid_id, parent, lvl)
    return fit_grid(_as_geometry(geometry, "绘制的网格"), parent=parent_geom, neighbours=neighbours, **fit_options)


def siblings(session: Session, grid_id: int) -> list[Grid]:
    """The live grids of the same level and parent as ``grid_id``, drawn ones only, by name
    (candidates for :func:`merge_grids`)."""
    grid = _live(_load(session, grid_id, lock=False))
    parent = Grid.parent_id == grid.parent_id if grid.parent_id is not None else Grid.parent_id.is_(None)
    query = select(Grid).where(not_deleted(Grid), Grid.geom.is_not(None), Grid.id != grid.id,
                               Grid.level == grid.level, parent)
    return sorted(session.scalars(query), key=lambda g: (g.name, g.id))


def deleted_grids(session: Session) -> list[Grid]:
    """Soft-deleted grids, newest deletion first (candidates for :func:`restore_grid`)."""
    rows = session.scalars(select(Grid).where(Grid.deleted_at.is_not(None)))
    return sorted(rows, key=lambda g: g.deleted_at, reverse=True)  # type: ignore[arg-type, return-value]



def grid_history(session: Session, grid_id: int) -> list[GridVersionInfo]:
    """The versions of a grid, oldest first, the last one marked ``current``.

    Includes implicit versions (``recorded`` false) of states written outside this module;
    see the module notes. Reading needs no permission (like every read of the store), so
    leaders can see the history they cannot change.
    """
    grid = session.get(Grid, grid_id)
    if grid is None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no grid {grid_id}")
    versions = _timeline(session, grid)
    names = _display_names(session, {v.author for v in versions})
    out = [replace(v, author_name=names.get(v.author, v.author)) for v in versions]
    out[-1] = replace(out[-1], current=True)
    return out


def grids_as_of(session: Session, when: datetime) -> gpd.GeoDataFrame:
    """The grids as they were at ``when``: for checking the past with :func:`gis.checks.report.check_layers`.

    Each grid contributes the latest of its versions saved at or before ``when`` (a version of
    unknown date counts as always valid), unless that version is a deletion or the grid did not
    exist yet. Grids removed outright (not soft-deleted) are not known any more.

    Parameters
    ----------
    when
        A timezone-aware datetime.

    Returns
    -------
    GeoDataFrame
        Columns ``id``, ``name``, ``level``, ``parent_id``, ``version``, ``author``,
        ``saved_at``, ``geometry`` (EPSG:4326), ordered by id.
    """
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise ValidationError("查询时间需要带时区（例如北京时间或 UTC）", "when must be a timezone-aware datetime")
    when = when.astimezone(UTC)
    grids = list(session.scalars(select(Grid).order_by(Grid.id)))
    rows = []
    for gid, versions in _timelines(session, grids).items():
        valid = [v for v in versions if v.saved_at is None or v.saved_at <= when]
        if not valid or valid[-1].deleted:
            continue
        v = valid[-1]
        rows.append({"id": gid, "name": v.name, "level": v.level, "parent_id": v.parent_id, "version": v.version,
                     "author": v.author, "saved_at": v.saved_at, "geometry": v.geometry})
    columns = ["id", "name", "level", "parent_id", "version", "author", "saved_at"]
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=STORE_CRS)
    frame = pd.DataFrame(rows, columns=columns + ["geometry"]).sort_values("id", ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORE_CRS)


def grid_geometry(session: Session, grid_id: int) -> BaseGeometry | None:
    """The current boundary of grid ``grid_id`` (None when it has none); NotFoundError when no such grid."""
    grid = session.get(Grid, grid_id)
    if grid is None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no grid {grid_id}")
    return grid.geom

