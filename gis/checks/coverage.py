"""Horizontal coverage ("横向到边"): which stretches of every river reach lie in no grid, in one,
or in several, in metres from the reach's start (桩号).

Semantics
---------
Grids are closed sets: a stretch running exactly along a grid's boundary is claimed by that grid,
and a stretch along the shared boundary of two grids is claimed by both (reported as an overlap
with ``on_boundary=True``, so that a 界河 between two villages is visible rather than silently
given to one of them). A reach touching a grid at a single point gains nothing.

* ``covered``: claimed by exactly one grid;
* ``overlap``: claimed by two or more (double claim);
* ``uncovered``: claimed by none.

``covered_length_m`` in the totals counts every claimed metre (one grid or more), so
covered + uncovered = total for every reach, exactly, whatever ``min_gap_m`` is.

Blind spots (盲区), 微小缝隙 and the check's area
-----------------------------------------------
A *blind spot* is a stretch of river inside the check's area (``scope``: at a grid level, the
grids of the level above) that no grid of the level claims, at least ``min_gap_m`` long. An
uncovered stretch shorter than ``min_gap_m`` is a *微小缝隙* (tiny gap): a boundary or a reach
that misses its neighbour by centimetres, a data-cleaning matter, listed apart
(:meth:`CoverageResult.slivers`) and never counted as a blind spot; a double claim shorter than
``min_gap_m`` is likewise a *微小重叠*. The lengths stay exact: ``uncovered_length_m`` is every
unclaimed metre, :meth:`CoverageResult.gap_totals` splits it into ``blind_spot_length_m`` and
``sliver_length_m``.

Outside the area nothing is a blind spot: a river leaving the township is not the villages'
business, and a river leaving the top grid (the county, or the township of a township-only
deployment) is outside the jurisdiction (不在本街道（县）网格范围内). Only a stretch outside the
area that no grid claims, shorter than ``min_gap_m`` and next to a stretch inside it (a reach
drawn to start on the county line that starts 9 mm beyond it) is kept, as a 微小缝隙.

The two tolerances, from small to large:

* τ = :data:`COINCIDENCE_TOLERANCE_M` (1 µm): boundaries closer than τ *are the same line*
  (below); no strip narrower than τ is ever measured, as a gap, an overlap or a sliver.
* ``min_gap_m`` (services: ``RIVERGRID_MIN_GAP_M``, default 0.5 m; this function: 0): stretches
  of at least τ but shorter than ``min_gap_m`` are measured and listed as 微小缝隙/微小重叠 for
  data cleaning, cost no assessment points and are not blind spots or double claims. 0.5 m is
  below any boundary drawn on a map (metres off) and above the centimetres of rounding, snapping
  and reprojection that surveyed data carry.

Boundaries that coincide within floating point
-----------------------------------------------
Boundaries pass through longitude/latitude, projections and overlays, so two grids drawn to
share an edge carry copies of it that differ by nanometres (each copy's vertices rounded on their
own; a vertex the editor puts on a neighbour's edge lies on it only to floating point). Exact
closed-set arithmetic, PostGIS included, reports such a strip as a gap or a double claim, and a
river drawn along one copy is double-claimed or not depending on which side the other copy's
rounding fell. Here, with τ = :data:`COINCIDENCE_TOLERANCE_M` (1 µm):

* a stretch is *near* a grid's boundary when it lies within τ of it all along (checked at its
  start, middle, end and vertices) without lying exactly on it;
* a grid claims a stretch *firmly* when the stretch lies exactly on its boundary (the same line:
  a 界河 drawn as the boundary, boundaries sharing their vertices) or inside it and not near its
  boundary;
* a stretch that no grid claims firmly goes to one grid it is near (one it lies inside, else the
  first in row order), and is uncovered when it is near none. Being near never adds a second
  claim.

So a strip narrower than τ between two grids, gap or overlap, leaves no gap and no double claim
on the rivers crossing it, and a river along one grid's edge is that grid's alone when the
neighbour's copy of the edge lies within τ, on either side. An edge whose two copies have the
same coordinates stays a boundary river of both (``on_boundary``). Strips wider than τ are
reported exactly as before, with the lengths of a plain overlay. The check's ``scope`` is closed
with the same tolerance: a stretch near its boundary is in it.

Why 1 µm: well above floating-point noise, well below anything real. Coordinates here are about
5·10⁶ m (projected) or 127° (stored), whose last bit is 0.9 nm and 1.6 nm; an intersection or a
reprojection adds a few such units (the nanosliver of the PostGIS comparison is 0.06 nm wide).
The best boundaries in the field (RTK GNSS, cadastral surveys) are good to a centimetre, 10⁴ τ;
a person drawing on a map is metres off. τ is also the PostGIS comparison's tolerance on lengths,
and the topology check's noise area (``NOISE_AREA_M2``, 10⁻³ m²) is a τ-wide strip along 1 km.

Method
------
Everything runs on arrays, in a projected CRS, without polygon overlay:

1. reach segments and grid-boundary segments are hashed into a uniform grid of square cells
   and joined cell by cell (:class:`gis.geometry.segindex.SegmentIndex`, shared with patrol
   matching);
2. each candidate pair is intersected exactly (parametric segment intersection, collinear
   overlaps included), giving the breakpoints along the reach where a claim can change;
3. each stretch between consecutive breakpoints is classified by a point-in-polygon test of
   its midpoint against the (prepared) grids whose envelope meets the reach; stretches lying on
   a grid boundary get that grid from the collinear overlaps found in step 2, and stretches
   near a boundary are found with the same segment hash (points within τ of a segment);
4. consecutive stretches with the same set of grids are merged, and their geometry is cut from
   the reach by measure.

A reach's stretches depend only on that reach and the grids whose envelopes meet it (measures are
summed within each reach, :func:`gis.geometry.segindex.run_cumsum`), so :class:`CoverageChecker`
re-checks after a grid edit only the reaches near the old and new boundary and gives exactly the
result of a full check.

The naive ``reach.difference(union_all(grids))`` in the tests is the oracle; PostGIS is another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely import STRtree

from gis.checks.boxindex import BoxIndex
from gis.checks.pieces import (
    BREAK_TOL_M,
    COINCIDENCE_TOLERANCE_M,
    EnvelopeQuery,
    Pieces,
    cut_pieces,
    grown_boxes,
    restrict,
)
from gis.checks.tiled import tiled_pieces
from gis.errors import CRSError, GeometryError, ValidationError
from gis.formatting import plain as _py
from gis.geometry.crs import choose_metric_crs, crs_name
from gis.geometry.linref import format_ranges
from gis.geometry.shapes import polygonal_part

STATION_COLUMN = "start_station_m"
"""Optional reach column: the 桩号 of the reach's first vertex, in metres (stationing that
continues from an upstream reach). ``from_m``/``to_m`` stay metres from the reach's start; the
``station`` text adds it."""

STATUS_LABELS = {"covered": "已覆盖", "uncovered": "未覆盖（盲区）", "overlap": "重复覆盖"}


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_layers(reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> None:
    for gdf, what in ((reaches, "河段"), (grids, "网格")):
        if gdf.crs is None:
            raise CRSError(
                f"{what}图层没有坐标系，请先为其指定坐标系（如 EPSG:4326）",
                f"{'reaches' if what == '河段' else 'grids'} layer has no CRS",
            )
    if not pyproj.CRS.from_user_input(reaches.crs).equals(pyproj.CRS.from_user_input(grids.crs)):
        a, b = crs_name(reaches.crs), crs_name(grids.crs)
        raise CRSError(
            f"河段图层坐标系为 {a}，网格图层坐标系为 {b}，两者不一致；请先将其中一个转换为另一个的坐标系",
            f"CRS mismatch: reaches {a}, grids {b}; reproject one to the other",
        )
    if reaches.empty:
        raise ValidationError("河段图层为空，没有可检查的河段", "reaches layer is empty")
    if grids.empty:
        raise ValidationError("网格图层为空，无法检查覆盖情况", "grids layer is empty")


def _ids(gdf: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """The ``column`` values when the frame has that column, else 0-based positions."""
    if column in gdf.columns:
        return np.asarray(gdf[column].to_numpy())
    return np.arange(len(gdf))


def _clean_reaches(geoms: np.ndarray, ids: np.ndarray) -> np.ndarray:
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, (1, 5)) & ~shapely.is_empty(geoms)
    if bad.any():
        raise GeometryError(
            f"河段 {ids[np.flatnonzero(bad)[0]]} 不是线要素，无法按桩号检查覆盖",
            "reach geometry is not a (Multi)LineString",
        )
    return geoms


def _clean_grids(geoms: np.ndarray, ids: np.ndarray, messages: list[str]) -> np.ndarray:
    geoms = geoms.copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    bad = ~missing & ~np.isin(types, (3, 6))
    if bad.any():
        raise GeometryError(
            f"网格 {ids[np.flatnonzero(bad)[0]]} 不是面要素，无法检查覆盖",
            "grid geometry is not a (Multi)Polygon",
        )
    invalid = ~missing & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        area = polygonal_part(geoms[i])
        geoms[i] = None if area.is_empty else area
        messages.append(f"网格 {ids[i]} 的边界无效（{reason}），已自动修复后参与检查")
    for i in np.flatnonzero(missing):
        messages.append(f"网格 {ids[i]} 没有边界图形，未参与检查")
        geoms[i] = None
    return geoms


# ---------------------------------------------------------------------------------------------
# Where reaches meet boundaries (segments from gis.geometry.segindex)
# ---------------------------------------------------------------------------------------------


def _claim_ids(claims: list[tuple[int, ...]], ids: list[Any]) -> list[tuple[Any, ...]]:
    """The claims (grid positions) as grid ids; each distinct claim converted once."""
    seen: dict[tuple[int, ...], tuple[Any, ...]] = {}
    out = []
    for c in claims:
        t = seen.get(c)
        if t is None:
            t = seen[c] = tuple(ids[g] for g in c)
        out.append(t)
    return out


class CoverageResult:
    """Coverage of reaches by grids of one level.

    The stretch table is built on first use, so that a re-check after one grid edit
    (:meth:`CoverageChecker.update_grid`) costs only the reaches it touched.

    Attributes
    ----------
    intervals
        GeoDataFrame, one row per stretch: ``reach_id``, ``from_m``, ``to_m``, ``length_m``,
        ``status`` (covered/uncovered/overlap), ``grid_ids`` (tuple), ``n_grids``,
        ``nearest_grid_id`` (uncovered stretches), ``on_boundary`` (overlaps lying on a shared
        boundary), ``sliver`` (uncovered or double-claimed and shorter than ``min_gap_m``: a
        微小缝隙 or 微小重叠), ``station`` (桩号 range), and the stretch's geometry in :attr:`crs`.
    reach_totals
        Per reach in the check: ``reach_id``, ``length_m``, ``covered_m``, ``uncovered_m``
        (``blind_spot_m`` + ``sliver_m``), ``blind_spot_m``, ``sliver_m``, ``overlap_m``,
        ``coverage_rate``.
    crs
        The projected CRS in which everything was measured.
    min_gap_m
        Uncovered or double-claimed stretches shorter than this are slivers (微小缝隙, 微小重叠):
        listed by :meth:`slivers`, left out of :meth:`uncovered` and :meth:`overlaps`, and still
        measured exactly in the totals.
    warnings
        Chinese notes on repaired or skipped input.
    """

    def __init__(
        self,
        pieces: Pieces | Callable[[], Pieces],
        reach_ids: np.ndarray,
        grid_ids: np.ndarray,
        reach_len: np.ndarray,
        grid_geoms: np.ndarray,
        crs: pyproj.CRS,
        min_gap_m: float,
        warnings: list[str],
        start_station_m: np.ndarray | None = None,
    ) -> None:
        self._start = start_station_m if start_station_m is not None else np.zeros(len(reach_ids))
        self._source = pieces
        self._reach_ids = reach_ids
        self._grid_ids = grid_ids
        self._reach_len = reach_len
        self._grid_geoms = grid_geoms
        self.crs = crs
        self.min_gap_m = min_gap_m
        self.warnings = warnings

    @cached_property
    def _pieces(self) -> Pieces:
        """All stretches, sorted by reach then measure (built on first use: see
        :class:`CoverageChecker`)."""
        return self._source if isinstance(self._source, Pieces) else self._source()

    @cached_property
    def _n_grids(self) -> np.ndarray:
        claims = self._pieces.claims
        return np.fromiter((len(c) for c in claims), dtype=np.int64, count=len(claims))

    @cached_property
    def _length(self) -> np.ndarray:
        return np.asarray(self._pieces.to_m - self._pieces.from_m, dtype=float)

    @cached_property
    def _sliver(self) -> np.ndarray:
        return np.asarray((self._n_grids != 1) & (self._length < self.min_gap_m), dtype=bool)

    @cached_property
    def reach_totals(self) -> pd.DataFrame:
        p, n = self._pieces, len(self._reach_ids)
        length, unclaimed = self._length, self._n_grids == 0
        unc_m = np.bincount(p.reach, weights=np.where(unclaimed, length, 0.0), minlength=n)
        sliver_m = np.bincount(p.reach, weights=np.where(unclaimed & self._sliver, length, 0.0), minlength=n)
        ov_m = np.bincount(p.reach, weights=np.where(self._n_grids > 1, length, 0.0), minlength=n)
        in_check = np.bincount(p.reach, weights=length, minlength=n)
        listed = np.zeros(n, bool)
        listed[p.reach] = True
        total = np.where(listed, in_check, self._reach_len)
        totals = pd.DataFrame(
            {
                "reach_id": self._reach_ids,
                "length_m": total,
                "covered_m": total - unc_m,
                "uncovered_m": unc_m,
                "blind_spot_m": unc_m - sliver_m,
                "sliver_m": sliver_m,
                "overlap_m": ov_m,
            }
        )[listed].reset_index(drop=True)
        lengths = totals["length_m"].to_numpy()
        totals["coverage_rate"] = np.where(lengths > 0, totals["covered_m"] / np.where(lengths > 0, lengths, 1), 1.0)
        return totals

    @cached_property
    def intervals(self) -> gpd.GeoDataFrame:
        p = self._pieces
        n_grids, length = self._n_grids, self._length
        status = np.where(n_grids == 0, "uncovered", np.where(n_grids == 1, "covered", "overlap"))
        id_list = self._grid_ids.tolist()
        identity = id_list == list(range(len(id_list)))  # ids are the row positions: claims as they are
        nearest = np.full(len(status), None, dtype=object)
        # an uncovered stretch next to a claimed one touches that grid (distance 0): it is nearest
        first_claim = np.array([c[0] if c else -1 for c in p.claims], dtype=np.int64)
        same_prev = np.r_[False, p.reach[1:] == p.reach[:-1]]
        same_next = np.r_[p.reach[:-1] == p.reach[1:], False]
        prev_claim = np.where(same_prev, np.r_[-1, first_claim[:-1]], -1)
        next_claim = np.where(same_next, np.r_[first_claim[1:], -1], -1)
        touching = np.where(prev_claim >= 0, prev_claim, next_claim)
        unc = np.flatnonzero(n_grids == 0)
        has = unc[touching[unc] >= 0]
        nearest[has] = self._grid_ids[touching[has]]
        alone = unc[touching[unc] < 0]
        present = ~(shapely.is_missing(self._grid_geoms) | shapely.is_empty(self._grid_geoms))
        if len(alone) and present.any():
            # distances to boundaries simplified by 1 m: the same nearest grid but for near-ties,
            # at a fraction of the cost of dense (e.g. 20 m vertex) boundaries
            keep = np.flatnonzero(present)
            rough = STRtree(shapely.simplify(self._grid_geoms[keep], 1.0, preserve_topology=False))
            q, g = rough.query_nearest(p.geometry[alone], all_matches=False)
            nearest[alone[q]] = self._grid_ids[keep[g]]
        on_boundary = np.zeros(len(status), bool)
        ov = np.flatnonzero(n_grids > 1)
        if len(ov):
            # a double claim along a shared edge has no area of overlap under its midpoint
            mids = shapely.line_interpolate_point(p.geometry[ov], 0.5, normalized=True)
            which = np.repeat(np.arange(len(ov)), n_grids[ov])
            grids = np.fromiter((g for i in ov for g in p.claims[i]), dtype=np.int64, count=len(which))
            inside = shapely.contains_properly(self._grid_geoms[grids], mids[which])
            on_boundary[ov] = np.bincount(which, weights=~inside, minlength=len(ov)) > 0
        return gpd.GeoDataFrame(
            {
                "reach_id": self._reach_ids[p.reach],
                "from_m": p.from_m,
                "to_m": p.to_m,
                "length_m": length,
                "status": status,
                "grid_ids": p.claims if identity else _claim_ids(p.claims, id_list),
                "n_grids": n_grids,
                "nearest_grid_id": nearest,
                "on_boundary": on_boundary,
                "sliver": self._sliver,
                "station": format_ranges(p.from_m + self._start[p.reach], p.to_m + self._start[p.reach]),
            },
            geometry=gpd.GeoSeries(p.geometry, crs=self.crs),
        )

    def totals(self) -> dict[str, float]:
        """Overall lengths in metres and the coverage rate (covered / total, 0–1), exact: the
        uncovered length includes the 微小缝隙 and the overlap length the 微小重叠 (see
        :meth:`gap_totals` for the split)."""
        t = self.reach_totals
        total = float(t["length_m"].sum())
        covered = float(t["covered_m"].sum())
        return {
            "total_length_m": total,
            "covered_length_m": covered,
            "uncovered_length_m": float(t["uncovered_m"].sum()),
            "overlap_length_m": float(t["overlap_m"].sum()),
            "coverage_rate": covered / total if total > 0 else 1.0,
        }

    def gap_totals(self) -> dict[str, float]:
        """The uncovered length split into ``blind_spot_length_m`` (盲区) and
        ``sliver_length_m`` (微小缝隙), and ``overlap_sliver_length_m`` (微小重叠, part of the
        overlap length), in metres."""
        t = self.reach_totals
        iv: pd.DataFrame = self.intervals
        return {
            "blind_spot_length_m": float(t["blind_spot_m"].sum()),
            "sliver_length_m": float(t["sliver_m"].sum()),
            "overlap_sliver_length_m": float(iv.loc[iv["sliver"] & (iv["n_grids"] > 1), "length_m"].sum()),
        }

    def _reported(self, status: str) -> pd.DataFrame:
        iv: pd.DataFrame = self.intervals
        return iv[(iv["status"] == status) & ~iv["sliver"]]

    def slivers(self) -> list[dict[str, Any]]:
        """Stretches shorter than ``min_gap_m`` that no grid or several grids claim, for data
        cleaning: ``kind`` (``gap``: 微小缝隙, ``overlap``: 微小重叠), ``reach_id``, ``from_m``,
        ``to_m``, ``length_m``, ``grid_ids`` (the claiming grids of an overlap),
        ``nearest_grid_id`` (of a gap), ``station``."""
        iv: pd.DataFrame = self.intervals
        return [
            {
                "kind": "gap" if r.status == "uncovered" else "overlap",
                "reach_id": _py(r.reach_id),
                "from_m": r.from_m,
                "to_m": r.to_m,
                "length_m": r.length_m,
                "grid_ids": [_py(g) for g in cast("tuple[Any, ...]", r.grid_ids)],
                "nearest_grid_id": _py(r.nearest_grid_id),
                "station": r.station,
            }
            for r in iv[iv["sliver"]].itertuples()
        ]

    def uncovered(self) -> list[dict[str, Any]]:
        """Uncovered stretches: ``reach_id``, ``from_m``, ``to_m``, ``length_m``, ``nearest_grid_id``."""
        return [
            {
                "reach_id": _py(r.reach_id),
                "from_m": r.from_m,
                "to_m": r.to_m,
                "length_m": r.length_m,
                "nearest_grid_id": _py(r.nearest_grid_id),
                "station": r.station,
            }
            for r in self._reported("uncovered").itertuples()
        ]

    def overlaps(self) -> list[dict[str, Any]]:
        """Double-claimed stretches: ``reach_id``, ``from_m``, ``to_m``, ``length_m``, ``grid_ids``."""
        return [
            {
                "reach_id": _py(r.reach_id),
                "from_m": r.from_m,
                "to_m": r.to_m,
                "length_m": r.length_m,
                "grid_ids": [_py(g) for g in cast("tuple[Any, ...]", r.grid_ids)],
                "on_boundary": bool(r.on_boundary),
                "station": r.station,
            }
            for r in self._reported("overlap").itertuples()
        ]

    def by_grid(self) -> pd.DataFrame:
        """Length of river claimed by each grid, and the part of it shared with other grids."""
        iv: pd.DataFrame = self.intervals[self.intervals["n_grids"] > 0]
        rows = iv[["grid_ids", "length_m", "n_grids"]].explode("grid_ids")
        rows["shared_m"] = np.where(rows["n_grids"] > 1, rows["length_m"], 0.0)
        out = rows.groupby("grid_ids").agg(claimed_m=("length_m", "sum"), shared_m=("shared_m", "sum"))
        return out.rename_axis("grid_id").reset_index()

    def by_group(self, groups: pd.Series) -> pd.DataFrame:
        """Totals per group of reaches (e.g. per river): ``groups`` maps reach id → group."""
        t = self.reach_totals.assign(group=self.reach_totals["reach_id"].map(groups))
        columns = ["length_m", "covered_m", "uncovered_m", "blind_spot_m", "sliver_m", "overlap_m"]
        out = t.groupby("group")[columns].sum()
        out["coverage_rate"] = np.where(out["length_m"] > 0, out["covered_m"] / out["length_m"], 1.0)
        return out.reset_index()

    def intervals_wgs84(self) -> gpd.GeoDataFrame:
        """The stretches with geometry in EPSG:4326, for maps and files."""
        return self.intervals.to_crs("EPSG:4326")


@dataclass
class _Prepared:
    reach_ids: np.ndarray
    grid_ids: np.ndarray
    reach_geoms: np.ndarray
    grid_geoms: np.ndarray
    reach_len: np.ndarray
    start_station_m: np.ndarray
    crs: pyproj.CRS
    messages: list[str]


def _prepare(reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, reach_id: str, grid_id: str, crs: Any) -> _Prepared:
    _check_layers(reaches, grids)
    metric = choose_metric_crs(reaches, crs)
    messages: list[str] = []
    r_ids, g_ids = _ids(reaches, reach_id), _ids(grids, grid_id)
    if len(set(g_ids.tolist())) != len(g_ids):
        raise ValidationError("网格编号有重复，无法区分各网格", "duplicate grid ids")
    if len(set(r_ids.tolist())) != len(r_ids):
        raise ValidationError("河段编号有重复，无法区分各河段", "duplicate reach ids")
    r_geoms = np.asarray(reaches.geometry.to_crs(metric).array, dtype=object)
    g_geoms = np.asarray(grids.geometry.to_crs(metric).array, dtype=object)
    r_geoms = _clean_reaches(r_geoms, r_ids)
    missing_r = shapely.is_missing(r_geoms)
    if missing_r.any():
        messages.append(f"{int(missing_r.sum())} 条河段没有几何图形，按长度 0 处理")
        r_geoms = np.where(missing_r, shapely.from_wkt("LINESTRING EMPTY"), r_geoms)
    g_geoms = _clean_grids(g_geoms, g_ids, messages)
    r_geoms, g_geoms = _snap_tiny_steps(_flat(r_geoms)), _flat(g_geoms)
    start = (
        pd.to_numeric(reaches[STATION_COLUMN], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        if STATION_COLUMN in reaches.columns
        else np.zeros(len(reaches))
    )
    return _Prepared(r_ids, g_ids, r_geoms, g_geoms, shapely.length(r_geoms), start, metric, messages)


def _scope_geoms(
    scope: gpd.GeoDataFrame | gpd.GeoSeries | None, reaches: gpd.GeoDataFrame, metric: pyproj.CRS
) -> np.ndarray:
    """The scope's polygons in the measuring CRS (empty array: no scope)."""
    if scope is None:
        return np.zeros(0, dtype=object)
    series = scope.geometry if isinstance(scope, gpd.GeoDataFrame) else scope
    if series.crs is None or not pyproj.CRS.from_user_input(series.crs).equals(pyproj.CRS.from_user_input(reaches.crs)):
        raise CRSError(
            f"检查范围的坐标系（{crs_name(series.crs) if series.crs else '无'}）与河段图层（{crs_name(reaches.crs)}）"
            "不一致"
            "",
            "scope CRS differs from the reaches' CRS",
        )
    geoms = np.asarray(series.to_crs(metric).array, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    geoms = np.array([polygonal_part(g) for g in geoms], dtype=object)
    return np.asarray(shapely.force_2d(geoms[~shapely.is_empty(geoms)]), dtype=object)


def check_coverage(
    reaches: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    reach_id: str = "id",
    grid_id: str = "id",
    crs: Any = None,
    min_gap_m: float = 0.0,
    scope: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    tile_m: float | None = None,
    scheduler: str | None = None,
) -> CoverageResult:
    """Stretches of every reach claimed by no grid, one grid, or several, with 桩号.

    Parameters
    ----------
    reaches
        LineString/MultiLineString reaches (stationing starts at each line's first vertex and
        runs through the parts in order).
    grids
        Polygon/MultiPolygon grids of one level, in the same CRS as ``reaches``.
    reach_id, grid_id
        Columns holding the ids; when absent, the 0-based row positions are the ids.
    crs
        Projected CRS to measure in; default the data's own if projected in metres, else
        CGCS2000 3-degree Gauss-Krüger (UTM outside China) for the data's centre.
    min_gap_m
        Uncovered and double-claimed stretches shorter than this, in metres, are slivers
        (微小缝隙/微小重叠): listed by :meth:`CoverageResult.slivers`, not as blind spots or
        double claims; the totals stay exact. Default 0 (the services pass
        ``RIVERGRID_MIN_GAP_M``, default 0.5 m).
    scope
        Area to check (e.g. the parent level's grids): stretches outside it are left out of the
        result and the totals, except unclaimed ones shorter than ``min_gap_m`` next to a stretch
        inside (kept as slivers); stationing still counts from each reach's start. ``None``: all.
    tile_m, scheduler
        Check tile by tile, ``tile_m`` metres square (memory bounded by the tile), the tiles
        run where ``scheduler`` says (:func:`gis.tiling.run_tiles`): the same result as one
        pass (:mod:`gis.checks.tiled`). ``None``: one pass.

    Raises
    ------
    CRSError
        A layer without CRS, or the two layers in different CRSs (both named).
    ValidationError, GeometryError
        Empty layers, duplicate ids, wrong geometry types.
    """
    checker = CoverageChecker(
        reaches,
        grids,
        reach_id=reach_id,
        grid_id=grid_id,
        crs=crs,
        min_gap_m=min_gap_m,
        scope=scope,
        tile_m=tile_m,
        scheduler=scheduler,
    )
    return checker.result


def _merge(base: Pieces, patch: dict[int, Pieces]) -> Pieces:
    """``base`` with the stretches of the reaches in ``patch`` replaced, sorted by reach then
    measure (the order of a full check)."""
    if not patch:
        return base
    keys = np.fromiter(patch, dtype=np.int64, count=len(patch))
    keep = np.flatnonzero(~np.isin(base.reach, keys))
    parts = [patch[k] for k in sorted(patch)]
    reach = np.concatenate([base.reach[keep], *(p.reach for p in parts)])
    from_m = np.concatenate([base.from_m[keep], *(p.from_m for p in parts)])
    to_m = np.concatenate([base.to_m[keep], *(p.to_m for p in parts)])
    geometry = np.concatenate([base.geometry[keep], *(p.geometry for p in parts)])
    claims = [base.claims[j] for j in keep.tolist()] + [c for p in parts for c in p.claims]
    order = np.lexsort((from_m, reach))
    return Pieces(reach[order], from_m[order], to_m[order], [claims[j] for j in order.tolist()], geometry[order])


def _split(pieces: Pieces, reaches: np.ndarray) -> dict[int, Pieces]:
    """The stretches of each of ``reaches`` (sorted), as a dict reach → its own :class:`Pieces`
    (empty for a reach left without stretches)."""
    lo = np.searchsorted(pieces.reach, reaches, "left")
    hi = np.searchsorted(pieces.reach, reaches, "right")
    p = pieces
    return {
        int(r): Pieces(p.reach[a:b], p.from_m[a:b], p.to_m[a:b], p.claims[a:b], p.geometry[a:b])
        for r, a, b in zip(reaches.tolist(), lo.tolist(), hi.tolist())
    }


def _flat(geoms: np.ndarray) -> np.ndarray:
    """The geometries without Z; only those with Z are copied (national layers are large)."""
    z = shapely.has_z(geoms)
    if not z.any():
        return geoms
    out = geoms.copy()
    out[z] = shapely.force_2d(geoms[z])
    return out


def _snap_tiny_steps(lines: np.ndarray) -> np.ndarray:
    """The reaches with every step shorter than :data:`gis.checks.pieces.BREAK_TOL_M` (1 nm,
    not 0) made 0: the vertex takes its predecessor's coordinates. Points closer than 1 nm are one
    point for the check (as its breakpoints are), so that no measure depends on whether a
    nanometre step lies inside a stretch or at a tile's cut. Only reaches with such a step are
    copied."""
    parts, part_line = shapely.get_parts(lines, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        return lines
    step = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    tiny = np.flatnonzero((part[1:] == part[:-1]) & (step > 0) & (step < BREAK_TOL_M)) + 1
    if not len(tiny):
        return lines
    for k in tiny.tolist():  # in order: a run of tiny steps collapses onto its first point
        coords[k] = coords[k - 1]
    line_of = part_line[part]
    touched = np.unique(line_of[tiny])
    out = np.asarray(lines, dtype=object).copy()
    sub = out[touched].copy()
    shapely.set_coordinates(sub, coords[np.isin(line_of, touched)])  # new geometries in ``sub``
    out[touched] = sub
    return out


def _present(geoms: np.ndarray, *, prepare: bool = True) -> np.ndarray:
    """Missing grids as empty polygons, every grid prepared for point-in-polygon tests (unless
    ``prepare`` is false: the tiled check prepares each tile's grids and lets them go again)."""
    out = np.where(shapely.is_missing(geoms), shapely.from_wkt("POLYGON EMPTY"), geoms)
    if prepare:
        shapely.prepare(out)
    return np.asarray(out, dtype=object)


class CoverageChecker:
    """Coverage kept up to date as grids change: only the reaches near a changed grid are redone.

    ``CoverageChecker(reaches, grids, ...)`` takes the arguments of :func:`check_coverage`;
    :attr:`result` is the current result; :meth:`update_grid` changes one grid and returns the
    new result, equal to a full :func:`check_coverage` on the changed data.

    A re-check after one edit costs what the edited grid touches, not the size of the data:

    * the grids' envelopes are kept in a :class:`gis.checks.boxindex.BoxIndex` (a hash of
      square cells) changed in place, instead of an STRtree rebuilt over every grid; the reaches
      never change and keep their STRtree;
    * only the reaches whose envelope meets the old or the new boundary are cut again, against
      the grids whose envelopes meet theirs;
    * their stretches are kept per reach beside the stretches of the last full view (no global
      re-sort); the sorted table of all stretches is built when a result is first read
      (:attr:`CoverageResult.intervals`, :meth:`CoverageResult.totals`, …) and then becomes
      the new full view.
    """

    def __init__(
        self,
        reaches: gpd.GeoDataFrame,
        grids: gpd.GeoDataFrame,
        *,
        reach_id: str = "id",
        grid_id: str = "id",
        crs: Any = None,
        min_gap_m: float = 0.0,
        scope: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
        tile_m: float | None = None,
        scheduler: str | None = None,
    ) -> None:
        if min_gap_m < 0:
            raise ValidationError("最小间隙长度不能为负数", "min_gap_m must be >= 0")
        self._p = _prepare(reaches, grids, reach_id, grid_id, crs)
        self.min_gap_m = min_gap_m
        self._scope = _scope_geoms(scope, reaches, self._p.crs)
        self._grid_geoms = _present(np.concatenate([self._p.grid_geoms, self._scope]), prepare=tile_m is None)
        self._row = {g: i for i, g in enumerate(self._p.grid_ids.tolist())}
        if tile_m is None:
            self._base = self._compute(np.arange(len(self._p.reach_geoms)), STRtree(self._boxes()))
        else:
            self._base = tiled_pieces(
                self._p.reach_geoms,
                self._grid_geoms,
                len(self._p.grid_geoms),
                tile_m=tile_m,
                scheduler=scheduler,
                sliver_m=min_gap_m,
            )
        self._patch: dict[int, Pieces] = {}
        self._reach_tree: STRtree | None = None  # built on the first edit
        self._index: BoxIndex | None = None  # built on the first edit
        self.result = self._make_result()

    def _boxes(self) -> np.ndarray:
        """The grids' envelopes grown by the coincidence tolerance (what the grid indexes hold)."""
        return grown_boxes(self._grid_geoms, COINCIDENCE_TOLERANCE_M)

    def _compute(self, reaches: np.ndarray, index: EnvelopeQuery) -> Pieces:
        pieces = cut_pieces(self._p.reach_geoms[reaches], self._grid_geoms, index, len(self._p.grid_geoms))
        if len(self._scope):
            pieces = restrict(pieces, len(self._p.grid_geoms), sliver_m=self.min_gap_m)
        pieces.reach = reaches[pieces.reach]
        return pieces

    def _view(self) -> Callable[[], Pieces]:
        """The sorted stretches of the current state, built when first asked for."""
        base, patch = self._base, self._patch

        def build() -> Pieces:
            merged = _merge(base, patch)
            if self._base is base and self._patch is patch:  # still current: the new full view
                self._base, self._patch = merged, {}
            return merged

        return build

    def _make_result(self) -> CoverageResult:
        return CoverageResult(
            self._view() if self._patch else self._base,
            self._p.reach_ids,
            self._p.grid_ids,
            self._p.reach_len,
            self._grid_geoms[: len(self._p.grid_geoms)].copy(),
            self._p.crs,
            self.min_gap_m,
            list(self._p.messages),
            self._p.start_station_m,
        )

    def update_grid(self, grid_id: Any, geometry: Any, *, crs: Any = None) -> CoverageResult:
        """Replace the boundary of grid ``grid_id`` (``None`` removes it from the check).

        ``geometry`` is a shapely polygon in ``crs`` (default: the measuring CRS).
        """
        i = self._row.get(grid_id)
        if i is None:
            raise ValidationError(f"没有编号为 {grid_id} 的网格", f"unknown grid id {grid_id!r}")
        if geometry is not None and crs is not None:
            geometry = gpd.GeoSeries([geometry], crs=crs).to_crs(self._p.crs).iloc[0]
        if geometry is not None:
            messages: list[str] = []
            geometry = _clean_grids(
                np.array([shapely.force_2d(geometry)], dtype=object), np.array([grid_id]), messages
            )[0]
        new = _present(np.array([geometry], dtype=object))[0]
        old = self._grid_geoms[i]
        boxes = [g for g in (old, new) if not shapely.is_empty(g)]
        if self._index is None or self._reach_tree is None:  # the first edit
            shapely.prepare(self._grid_geoms)  # not yet after a tiled check
            self._index = BoxIndex(self._boxes())
            self._reach_tree = STRtree(self._p.reach_geoms)
        self._grid_geoms[i] = new
        self._index.update(i, grown_boxes(np.array([new], dtype=object), COINCIDENCE_TOLERANCE_M)[0])
        if boxes:
            grown = grown_boxes(np.array(boxes, dtype=object), COINCIDENCE_TOLERANCE_M)
            affected = np.unique(np.concatenate([self._reach_tree.query(b) for b in grown]))
        else:
            affected = np.zeros(0, np.int64)
        if len(affected):
            # a new dict (copy on write): results already handed out keep their own view
            self._patch = {**self._patch, **_split(self._compute(affected, self._index), affected)}
        self.result = self._make_result()
        return self.result


__all__ = [
    "COINCIDENCE_TOLERANCE_M",
    "STATUS_LABELS",
    "CoverageChecker",
    "CoverageResult",
    "check_coverage",
    "choose_metric_crs",
]
