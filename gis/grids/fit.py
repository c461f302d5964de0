"""Fitting a drawn grid boundary (网格管理, pure geometry: no Session, nothing stored).

:func:`fit_grid` takes a drawn boundary and returns it repaired, snapped to the neighbouring and
parent boundaries, clipped to the parent, cut free of its siblings and without slivers, plus what
changed (areas, dropped pieces, Chinese sentences) for the UI to show before the user confirms.
:func:`split_parts` gives the two parts a line cuts a boundary into; :func:`are_neighbours` and
:func:`merged_boundary` decide and make the union of two grids. The session-bound service that
stores grids (save, split, merge, delete, restore, history) is :mod:`gis.grids.versions`.

Geometries go in and come out in EPSG:4326 (longitude/latitude, decimal degrees). Overlays
(clip, cut, split, union) run in longitude/latitude, the CRS the boundaries are stored in, so a
fitted boundary reuses its neighbours' vertices exactly; distances and areas are measured in a
metric CRS (:func:`gis.geometry.crs.metric_crs_for`), in metres and square metres.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
import shapely.ops
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from gis.checks.topology import NOISE_AREA_M2
from gis.errors import CRSError, GeometryError
from gis.formatting import format_area
from gis.geometry.crs import check_lonlat_range, metric_crs_for, to_crs, transformer
from gis.geometry.shapes import polygonal_part
from gis.model import STORE_CRS

__all__ = [
    "FIT_OPTIONS",
    "FIT_STEPS",
    "MIN_SHARED_M",
    "PIECE_REASONS",
    "STEP_LABELS",
    "TOUCH_M",
    "DroppedPiece",
    "FitResult",
    "are_neighbours",
    "as_geometry",
    "fit_grid",
    "merged_boundary",
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
        return bool(
            self.snapped_vertices
            or self.inserted_vertices
            or self.dropped_pieces
            or self.added_m2 > NOISE_AREA_M2
            or self.removed_m2 > NOISE_AREA_M2
        )


# =============================================================================================
# Geometry helpers
# =============================================================================================


class _Metric:
    """Forward projection EPSG:4326 → a metric CRS for coordinate arrays and geometries."""

    def __init__(self, crs: pyproj.CRS) -> None:
        self.crs = crs
        self._fwd = transformer(STORE_CRS, crs)

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
        self.origin: NDArray[np.float64] = np.array([(minx + maxx) / 2.0, (miny + maxy) / 2.0], dtype=np.float64)
        geod = pyproj.Geod(ellps="GRS80")
        h = 0.0005
        lon0, lat0 = self.origin
        kx = geod.inv(lon0 - h, lat0, lon0 + h, lat0)[2] / (2 * h)
        ky = geod.inv(lon0, lat0 - h, lon0, lat0 + h)[2] / (2 * h)
        self.scale: NDArray[np.float64] = np.array([kx, ky], dtype=np.float64)

    def xy(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        return (np.asarray(lonlat, dtype=np.float64).reshape(-1, 2) - self.origin) * self.scale

    def geom(self, g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, self.xy)


TOUCH_M = 0.01
"""Boundaries closer than this (metres) touch, for :func:`are_neighbours`."""

MIN_SHARED_M = 1.0
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


def as_geometry(value: Any, what: str = "图形") -> BaseGeometry:
    """A 2D shapely geometry from a shapely geometry or a GeoJSON-like mapping, range-checked.

    ``what`` names the shape in the Chinese message (``绘制的网格``, ``分割线``…).

    Raises
    ------
    GeometryError
        Not a geometry, unreadable GeoJSON, or empty.
    CoordinateRangeError
        Coordinates outside longitude/latitude ranges.
    """
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
            neighbours = to_crs(neighbours, STORE_CRS)
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


def _references(refs: list[BaseGeometry], frame: _LocalFrame, around_m: BaseGeometry, tol: float) -> _References | None:
    rings = [ring for r in refs for ring in _rings(r)]
    if not rings:
        return None
    a_ll = np.concatenate([r[:-1] for r in rings])
    b_ll = np.concatenate([r[1:] for r in rings])
    a_m, b_m = frame.xy(a_ll), frame.xy(b_ll)
    minx, miny, maxx, maxy = around_m.bounds
    near = ~(
        (np.maximum(a_m[:, 0], b_m[:, 0]) < minx - tol)
        | (np.minimum(a_m[:, 0], b_m[:, 0]) > maxx + tol)
        | (np.maximum(a_m[:, 1], b_m[:, 1]) < miny - tol)
        | (np.minimum(a_m[:, 1], b_m[:, 1]) > maxy + tol)
    )
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


def _snap_ring(
    ring_ll: NDArray[np.float64], ref: _References, frame: _LocalFrame, tol: float, stats: _SnapStats
) -> NDArray[np.float64] | None:
    """Snap one closed ring; ``None`` when it collapses."""
    p_ll = ring_ll[:-1].copy()
    p_m = frame.xy(p_ll)
    n = len(p_ll)
    moved = np.zeros(n, dtype=bool)
    # 1. vertices to the nearest reference vertex within the tolerance (exact coordinates)
    (src, dst), dist = ref.vert_tree.query_nearest(
        shapely.points(p_m), max_distance=tol, return_distance=True, all_matches=False
    )
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
        (src, seg), dist = ref.seg_tree.query_nearest(
            shapely.points(p_m[rest]), max_distance=tol, return_distance=True, all_matches=False
        )
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
        ok = (
            (t > 0.0)
            & (t < 1.0)
            & (d <= tol)
            & (np.hypot(*(v - a).T) > 1e-6)
            & (np.hypot(*(v - b).T) > 1e-6)
            & np.array([tuple(c) not in present for c in ref.v_ll[r_idx]], dtype=bool)
        )
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


def _snap(
    geom: BaseGeometry, refs: list[BaseGeometry], frame: _LocalFrame, tol: float
) -> tuple[BaseGeometry, _SnapStats]:
    stats = _SnapStats()
    ref = _references(refs, frame, frame.geom(geom), tol)
    if ref is None:
        return geom, stats
    polys = []
    for poly in _polygons(geom):
        shell = _snap_ring(np.asarray(poly.exterior.coords)[:, :2], ref, frame, tol, stats)
        if shell is None:
            continue
        holes = [
            h
            for h in (_snap_ring(np.asarray(r.coords)[:, :2], ref, frame, tol, stats) for r in poly.interiors)
            if h is not None
        ]
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
        holes = [
            r
            for r in p.interiors
            if metric.area(Polygon(r)) >= NOISE_AREA_M2
            or metric.area(shapely.intersection(Polygon(r), blockers)) >= NOISE_AREA_M2
        ]
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
    drawn = as_geometry(geom, "绘制的网格")
    if not _polygons(drawn):
        raise GeometryError(f"网格边界应为面，实际为 {drawn.geom_type}", f"expected a polygon, got {drawn.geom_type}")
    parent_geom = None
    if parent is not None and not parent.is_empty:
        parent_geom = as_geometry(parent, "上级网格")
        parent_geom = parent_geom if parent_geom.is_valid else _make_valid(parent_geom)
    nbrs = _labelled(neighbours)
    extent = [drawn] if parent_geom is None else [drawn, parent_geom]
    metric_crs = (
        pyproj.CRS.from_user_input(crs)
        if crs is not None
        else metric_crs_for(shapely.union_all(shapely.envelope(extent)))
    )
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
            moves: list[str] = []
            if stats.moved:
                moves.append(f"移动了 {stats.moved} 个顶点（最远 {stats.max_move_m:.2f} 米）")
            if stats.inserted:
                moves.append(f"插入了相邻边界的 {stats.inserted} 个顶点")
            changes.append(f"已吸附到 {snap_tolerance_m:g} 米以内的相邻网格或上级网格边界：" + "，".join(moves))

    # 3. clip to the parent
    if clip_to_parent and parent_geom is not None:
        steps.append("clip_to_parent")
        outside = _pieces(shapely.difference(work, parent_geom), metric)
        work = _areal(_polygons(shapely.intersection(work, parent_geom)))
        if outside:
            dropped += [DroppedPiece(p, a, "outside_parent") for p, a in outside]
            total = sum(a for _, a in outside)
            changes.append(f"已裁去超出上级网格的部分：{len(outside)} 块，共 {format_area(total)}")

    # 4. cut overlaps with the neighbours
    if cut_overlaps and nbrs:
        steps.append("cut_overlaps")
        hit = {label: g for label, g in nbrs.items() if shapely.intersects(work, g)}
        for label, g in hit.items():
            pieces = _pieces(shapely.intersection(work, g), metric)
            if pieces:
                dropped += [DroppedPiece(p, a, "overlap", label) for p, a in pieces]
                name = f"“{label}”" if isinstance(label, str) else ""
                changes.append(f"已裁去与相邻网格{name}重叠的部分：共 {format_area(sum(a for _, a in pieces))}")
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
                changes.append(
                    f"已去除 {len(slivers)} 块小于 {format_area(sliver_area_m2)} 的碎片，"
                    f"共 {format_area(sum(a for _, a in slivers))}"
                )
            kept, filled = [], []
            for i, (p, a) in enumerate(parts):
                if i != largest and a < sliver_area_m2:
                    continue
                holes = []
                for r in p.interiors:
                    hole = Polygon(r)
                    if (
                        metric.area(hole) < sliver_area_m2
                        and metric.area(shapely.intersection(hole, blockers)) < NOISE_AREA_M2
                    ):
                        filled.append(metric.area(hole))
                    else:
                        holes.append(r)
                kept.append(Polygon(p.exterior, holes) if len(holes) != len(p.interiors) else p)
            if filled:
                changes.append(
                    f"已填补 {len(filled)} 处小于 {format_area(sliver_area_m2)} 的空洞，共 {format_area(sum(filled))}"
                )
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
        changes.append(
            f"面积由 {format_area(area_before)} 变为 {format_area(area_after)}"
            f"（增加 {format_area(added_m2)}，减少 {format_area(removed_m2)}）"
        )
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


FIT_OPTIONS = frozenset(inspect.signature(fit_grid).parameters) - {"geom", "parent", "neighbours"}
"""The keyword options of :func:`fit_grid` (what a save or a preview may pass on)."""


# =============================================================================================
# Split and merge
# =============================================================================================


def split_parts(geom: BaseGeometry, line: Any) -> tuple[BaseGeometry, BaseGeometry]:
    """The two parts a line cuts a grid boundary into, larger first (pure; EPSG:4326).

    Raises
    ------
    GeometryError
        The line is not a line, or does not cut ``geom`` into exactly two parts (pieces below
        :data:`gis.checks.topology.NOISE_AREA_M2` do not count).
    """
    cut = as_geometry(line, "分割线")
    if cut.geom_type not in ("LineString", "MultiLineString"):
        raise GeometryError(f"分割线应为线，实际为 {cut.geom_type}", f"expected a line, got {cut.geom_type}")
    metric = _Metric(metric_crs_for(geom))
    parts = _pieces(shapely.ops.split(geom, cut), metric)
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


def are_neighbours(a: BaseGeometry, b: BaseGeometry) -> bool:
    """Whether two boundaries (EPSG:4326) share at least :data:`MIN_SHARED_M` of boundary (closer
    than :data:`TOUCH_M`) or overlap by :data:`gis.checks.topology.NOISE_AREA_M2` or more (pure)."""
    metric = _Metric(_pair_crs(a, b))
    a_m, b_m = metric.geom(a), metric.geom(b)
    shared = shapely.intersection(a_m.boundary, b_m.buffer(TOUCH_M)).length
    overlap = metric.area(shapely.intersection(a, b))
    return not (shared < MIN_SHARED_M and overlap < NOISE_AREA_M2)


def merged_boundary(a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    """The union of two neighbouring boundaries (EPSG:4326), without the noise parts and holes
    the overlay leaves (pure)."""
    return _tidy(shapely.union_all([a, b]), _Metric(_pair_crs(a, b)), Polygon())


def _pair_crs(a: BaseGeometry, b: BaseGeometry) -> pyproj.CRS:
    return metric_crs_for(shapely.union_all([shapely.envelope(a), shapely.envelope(b)]))
