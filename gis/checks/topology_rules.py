"""The rules of the grid topology check (网格拓扑检查), each over a slice of the hierarchy.

:func:`gis.checks.topology.check_topology` runs them on every grid at once and
:func:`gis.checks.topology_tiled.check_topology_tiled` on tiles of families; both call
:func:`run_rules` and :func:`to_findings`, so that a tile computes exactly what the single pass
computes for the same grids. Which grids each rule needs:

* ``no_geometry``, ``invalid_geometry``, ``multi_part`` and the part ``sliver``: the grid alone.
* ``level_mismatch``: attributes only (the grid's level, its parent's id and level).
* ``outside_parent``: the child and its parent.
* ``overlap_siblings``, ``not_edge_matched``: the grid's sibling group (the children of one
  parent; the roots of one level).
* ``gap_in_parent``: the parent and all its children.

Positions (``pos``) index the rows of the frame being checked, in the frame's order; every
finding is returned with the positions it is about (its *key*), which order the findings of a
rule exactly as the single pass does. Overlays run in the grids' own CRS and measurements in a
metric one: see :mod:`gis.checks.topology`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.checks.findings import Finding
from gis.errors import ValidationError
from gis.formatting import format_area as _fmt_area
from gis.geometry.shapes import polygonal_part
from gis.model import STORE_CRS, GridLevel

__all__ = [
    "NOISE_AREA_M2",
    "RULES",
    "STAGES",
    "Frames",
    "Grid",
    "Keyed",
    "Pending",
    "has_parent",
    "level_checks",
    "resolve_rows",
    "run_rules",
    "to_findings",
]

RULES = (
    "no_geometry",
    "invalid_geometry",
    "level_mismatch",
    "multi_part",
    "sliver",
    "outside_parent",
    "overlap_siblings",
    "gap_in_parent",
    "not_edge_matched",
)
"""Rule codes :func:`check_topology` may report, in the order they are reported."""

NOISE_AREA_M2 = 1e-3
"""Gap, overlap and overhang pieces smaller than this (m²) are floating-point noise: not reported."""

_INTERIORS_INTERSECT = "T********"
_M_PER_DEG_LAT = 111_132.0
_M_PER_DEG_LON_EQUATOR = 111_320.0

GeomArray = NDArray[np.object_]

STAGES = (
    "no_geometry",
    "invalid_geometry",
    "levels",
    "parts",
    "outside_parent",
    "overlaps",
    "gaps",
    "edges",
)
"""The steps of the check in the order the single pass runs them. Within a rule, findings are
ordered by step, then by their key (row positions), then in the order one step found them: a
``sliver`` of a grid's parts comes before a ``sliver`` overhang, overlap or gap."""
_NO_GEOMETRY, _INVALID, _LEVELS, _PARTS, _OUTSIDE, _OVERLAPS, _GAPS, _EDGES = range(len(STAGES))


@dataclass(frozen=True)
class Grid:
    """One row of the input, resolved."""

    pos: int
    id: Any
    label: str  # name for messages
    level: GridLevel
    parent_pos: int | None  # None: no parent; -1: parent id not in the frame


@dataclass
class Pending:
    """A finding whose geometry is still in the source (``metric=False``) or metric CRS."""

    rule: str
    object_id: Any
    message: str
    severity: str
    geometry: BaseGeometry | None = None
    area_m2: float | None = None
    length_m: float | None = None
    related_ids: tuple[Any, ...] = ()
    level: str | None = None
    metric: bool = False
    stage: int = 0
    """Index in :data:`STAGES` of the step that found it."""
    key: tuple[int, ...] = ()
    """Positions of the rows it is about: orders the findings of one rule (see :func:`run_rules`)."""


@dataclass(frozen=True)
class Frames:
    """The two CRSs of a check: the grids' own (overlays) and the metric one (measurements)."""

    source: pyproj.CRS
    metric: pyproj.CRS

    def to_metric(self, geoms: GeomArray) -> GeomArray:
        if not len(geoms):
            return np.empty(0, dtype=object)
        return np.asarray(gpd.GeoSeries(geoms, crs=self.source).to_crs(self.metric).array, dtype=object)

    def area_m2(self, geoms: GeomArray) -> NDArray[np.float64]:
        return np.asarray(shapely.area(self.to_metric(geoms)), dtype=np.float64)

    def source_area_m2(self, geoms: GeomArray) -> NDArray[np.float64]:
        """Approximate area (m²) from the source coordinates with a local scale factor.

        A piece of zero width as drawn (two copies of one edge that differ by 1e-16°) gains
        a few m² once projected when the edge has a vertex in its middle: the straight edge
        becomes a curve, the vertex does not. This measure is blind to that, so it tells
        floating-point noise from real pieces.
        """
        area = np.asarray(shapely.area(geoms), dtype=np.float64)
        if not self.source.is_geographic:
            factor = self.source.axis_info[0].unit_conversion_factor  # metres per unit
            return area * factor * factor
        bounds = np.asarray(shapely.bounds(geoms), dtype=np.float64)
        lat = np.radians((bounds[:, 1] + bounds[:, 3]) / 2.0)
        return area * _M_PER_DEG_LAT * _M_PER_DEG_LON_EQUATOR * np.cos(lat)


# =============================================================================================
# Formatting
# =============================================================================================


def _fmt_length(length_m: float) -> str:
    return f"{length_m:,.1f} m"


def _quoted(labels: Iterable[str]) -> str:
    return "、".join(f"“{label}”" for label in labels)


# =============================================================================================
# Input resolution
# =============================================================================================


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other non-scalars are values, not "missing"
        return False


def resolve_rows(grids: gpd.GeoDataFrame, id_col: str, name_col: str, parent_col: str, level_col: str) -> list[Grid]:
    missing_cols = [c for c in (id_col, name_col, parent_col, level_col) if c not in grids.columns]
    if missing_cols:
        raise ValidationError(
            f"网格数据缺少列：{'、'.join(missing_cols)}（可用参数 id_col/name_col/parent_col/level_col 指定列名）",
            f"grids lacks column(s) {missing_cols}; columns are {list(grids.columns)}",
        )
    ids = grids[id_col].tolist()
    if any(_is_missing(i) for i in ids):
        raise ValidationError("有网格没有编号", f"column {id_col!r} has missing values")
    seen: dict[Hashable, int] = {}
    for pos, grid_id in enumerate(ids):
        if grid_id in seen:
            raise ValidationError(f"网格编号 {grid_id} 重复", f"duplicate id {grid_id!r} in column {id_col!r}")
        seen[grid_id] = pos
    names = grids[name_col].tolist()
    labels = [f"编号 {i}" if _is_missing(n) or not str(n).strip() else str(n) for i, n in zip(ids, names)]

    levels: list[GridLevel] = []
    for label, value in zip(labels, grids[level_col].tolist()):
        if _is_missing(value):
            raise ValidationError(f"网格“{label}”没有层级", f"grid {label!r} has no {level_col!r}")
        levels.append(GridLevel(GridLevel.from_any(str(value)).value))

    rows = []
    for pos, (grid_id, parent) in enumerate(zip(ids, grids[parent_col].tolist())):
        parent_pos = None if _is_missing(parent) else seen.get(parent, -1)
        rows.append(Grid(pos, grid_id, labels[pos], levels[pos], parent_pos))
    return rows


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """The area ``geom`` encloses (:func:`gis.geometry.shapes.polygonal_part`), or None if none."""
    area = polygonal_part(geom)
    return None if area.is_empty else area


def has_parent(row: Grid) -> bool:
    """True when the row's parent is another row of the frame."""
    return row.parent_pos is not None and row.parent_pos >= 0 and row.parent_pos != row.pos


# =============================================================================================
# Checks
# =============================================================================================


def level_checks(rows: list[Grid], parents: list[Any]) -> list[Pending]:
    """``level_mismatch`` findings (attributes only), keyed by the row's position."""
    out = []
    for row in rows:
        level = row.level
        if row.parent_pos is None:
            if level.parent_level is not None:
                out.append(
                    Pending(
                        "level_mismatch",
                        row.id,
                        f"{level.label}“{row.label}”没有上级网格（应属于某个{level.parent_level.label}）",
                        "error",
                        level=level.value,
                        stage=_LEVELS,
                        key=(row.pos,),
                    )
                )
            continue
        if row.parent_pos < 0:
            out.append(
                Pending(
                    "level_mismatch",
                    row.id,
                    f"{level.label}“{row.label}”的上级网格（编号 {parents[row.pos]}）不在所检查的数据中，"
                    "无法核对层级和范围",
                    "warning",
                    related_ids=(parents[row.pos],),
                    level=level.value,
                    stage=_LEVELS,
                    key=(row.pos,),
                )
            )
            continue
        up = rows[row.parent_pos]
        if up.pos == row.pos:
            message = f"{level.label}“{row.label}”的上级网格是它自己"
        elif level.parent_level is None:
            message = f"{level.label}“{row.label}”不应有上级网格，但其上级为{up.level.label}“{up.label}”"
        elif up.level is not level.parent_level:
            message = f"{level.label}“{row.label}”的上级是{up.level.label}“{up.label}”，应为{level.parent_level.label}"
        else:
            continue
        out.append(
            Pending(
                "level_mismatch",
                row.id,
                message,
                "error",
                related_ids=(up.id,),
                level=level.value,
                stage=_LEVELS,
                key=(row.pos,),
            )
        )
    return out


def _pieces(frames: Frames, geoms: GeomArray) -> tuple[GeomArray, NDArray[np.intp], NDArray[np.float64], GeomArray]:
    """Polygon parts of ``geoms`` (source CRS) of at least :data:`NOISE_AREA_M2`.

    Returns the parts, the index of the geometry each comes from, their areas in m² and the
    parts in the metric CRS.
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts, owner = parts[keep], owner[keep]
    parts_m = frames.to_metric(parts)
    areas = np.asarray(shapely.area(parts_m), dtype=np.float64)
    big = np.minimum(areas, frames.source_area_m2(parts)) >= NOISE_AREA_M2
    return parts[big], owner[big], areas[big], parts_m[big]


def _part_checks(rows: list[Grid], work: GeomArray, frames: Frames, sliver_area_m2: float) -> list[Pending]:
    out: list[Pending] = []
    present = np.flatnonzero(~shapely.is_missing(work))
    parts, owner = shapely.get_parts(work[present], return_index=True)
    owner = present[owner]
    areas = frames.area_m2(parts)
    for pos in np.unique(owner):
        row = rows[pos]
        mine = np.flatnonzero(owner == pos)
        if len(mine) > 1:
            small = mine[np.argsort(-areas[mine], kind="stable")][1:]
            area = float(areas[small].sum())
            out.append(
                Pending(
                    "multi_part",
                    row.id,
                    f"网格“{row.label}”由 {len(mine)} 个不相连的部分组成，除最大部分外其余 {len(small)} 个部分共 "
                    f"{_fmt_area(area)}",
                    "warning",
                    shapely.multipolygons(list(parts[small])),
                    area_m2=area,
                    level=row.level.value,
                    stage=_PARTS,
                    key=(int(pos),),
                )
            )
        for i in mine:
            if areas[i] < sliver_area_m2:
                area = float(areas[i])
                out.append(
                    Pending(
                        "sliver",
                        row.id,
                        f"网格“{row.label}”有一块面积仅 {_fmt_area(area)} 的碎片（小于碎片阈值 "
                        f"{_fmt_area(sliver_area_m2)}）"
                        "",
                        "warning",
                        parts[i],
                        area_m2=area,
                        level=row.level.value,
                        stage=_PARTS,
                        key=(int(pos),),
                    )
                )
    return out


def _piece_finding(
    rule: str, sliver_text: str, full_text: str, area: float, sliver_area_m2: float, **kwargs: Any
) -> Pending:
    """A gap/overlap/overhang piece: its own rule (error), or ``sliver`` (warning) when small."""
    if area < sliver_area_m2:
        message = f"{sliver_text}（小于碎片阈值 {_fmt_area(sliver_area_m2)}，可能是数字化误差）"
        return Pending("sliver", message=message, severity="warning", area_m2=area, **kwargs)
    return Pending(rule, message=full_text, severity="error", area_m2=area, **kwargs)


def _outside_parent(rows: list[Grid], work: GeomArray, frames: Frames, sliver_area_m2: float) -> list[Pending]:
    child = np.array([r.pos for r in rows if has_parent(r)], dtype=np.intp)
    if not len(child):
        return []
    parent = np.array([rows[c].parent_pos for c in child], dtype=np.intp)
    usable = ~shapely.is_missing(work[child]) & ~shapely.is_missing(work[parent])
    child, parent = child[usable], parent[usable]
    shapely.prepare(work[parent])
    outside = ~shapely.covered_by(work[child], work[parent])
    child, parent = child[outside], parent[outside]
    pieces, owner, areas, _ = _pieces(frames, shapely.difference(work[child], work[parent]))
    out = []
    for piece, k, area in zip(pieces, owner, areas):
        row, up = rows[child[k]], rows[parent[k]]
        out.append(
            _piece_finding(
                "outside_parent",
                f"网格“{row.label}”有一小块（{_fmt_area(area)}）超出上级网格“{up.label}”",
                f"网格“{row.label}”有 {_fmt_area(area)} 超出上级网格“{up.label}”的范围",
                float(area),
                sliver_area_m2,
                object_id=row.id,
                geometry=piece,
                related_ids=(up.id,),
                level=row.level.value,
                stage=_OUTSIDE,
                key=(int(child[k]),),
            )
        )
    return out


def _sibling_groups(rows: list[Grid], work: GeomArray) -> NDArray[np.intp]:
    """Group number per row: children of one parent share one; roots share one per level; -1 none."""
    keys: dict[tuple[str, Any], int] = {}
    group = np.full(len(rows), -1, dtype=np.intp)
    for row in rows:
        if work[row.pos] is None:
            continue
        if row.parent_pos is None:
            key: tuple[str, Any] = ("root", row.level.value)
        elif has_parent(row):
            key = ("parent", row.parent_pos)
        else:
            continue  # parent unknown or itself: siblings unknown
        group[row.pos] = keys.setdefault(key, len(keys))
    return group


def _overlaps(
    rows: list[Grid], work: GeomArray, frames: Frames, group: NDArray[np.intp], sliver_area_m2: float
) -> tuple[list[Pending], dict[int, list[BaseGeometry]]]:
    """Overlap findings, and the metric overlap pieces of each sibling group (for the edge check)."""
    out: list[Pending] = []
    by_group: dict[int, list[BaseGeometry]] = defaultdict(list)
    members = np.flatnonzero(group >= 0)
    if len(members) < 2:
        return out, by_group
    geoms = work[members]
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = (left < right) & (group[members[left]] == group[members[right]])
    a, b = members[left[keep]], members[right[keep]]
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    interiors = shapely.relate_pattern(work[a], work[b], _INTERIORS_INTERSECT)
    a, b = a[interiors], b[interiors]
    pieces, owner, areas, pieces_m = _pieces(frames, shapely.intersection(work[a], work[b]))
    for piece, piece_m, k, area in zip(pieces, pieces_m, owner, areas):
        first, other = rows[a[k]], rows[b[k]]
        by_group[int(group[first.pos])].append(piece_m)
        out.append(
            _piece_finding(
                "overlap_siblings",
                f"网格“{first.label}”与“{other.label}”之间有一小块（{_fmt_area(area)}）重叠",
                f"网格“{first.label}”与“{other.label}”重叠 {_fmt_area(area)}（同一区域被重复划入两个网格）",
                float(area),
                sliver_area_m2,
                object_id=first.id,
                geometry=piece,
                related_ids=(other.id,),
                level=first.level.value,
                stage=_OVERLAPS,
                key=(int(a[k]), int(b[k])),
            )
        )
    return out, by_group


def _gaps(rows: list[Grid], work: GeomArray, frames: Frames, sliver_area_m2: float) -> list[Pending]:
    children: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        if row.parent_pos is not None and has_parent(row) and work[row.pos] is not None:
            children[row.parent_pos].append(row.pos)
    parents = np.array([p for p in sorted(children) if work[p] is not None], dtype=np.intp)
    if not len(parents):
        return []
    # union_all, not coverage_union_all: the children need not form a valid coverage.
    covered = np.array([shapely.union_all(work[children[p]]) for p in parents], dtype=object)
    pieces, owner, areas, _ = _pieces(frames, shapely.difference(work[parents], covered))
    out = []
    for piece, k, area in zip(pieces, owner, areas):
        up = rows[parents[k]]
        names = _quoted(rows[c].label for c in children[up.pos])
        out.append(
            _piece_finding(
                "gap_in_parent",
                f"上级网格“{up.label}”内有一小块缝隙（{_fmt_area(area)}）不属于任何下级网格",
                f"上级网格“{up.label}”内有一块 {_fmt_area(area)} 的区域不属于任何下级网格（盲区；下级网格：{names}）",
                float(area),
                sliver_area_m2,
                object_id=up.id,
                geometry=piece,
                level=up.level.value,
                stage=_GAPS,
                key=(int(parents[k]),),
            )
        )
    return out


def _outside_real_overlaps(
    near: GeomArray, pieces: list[BaseGeometry], reach: float, edge_tolerance_m: float
) -> GeomArray:
    """``near`` (metric lines) outside the zone, within ``reach``, of the real overlap pieces
    (wider than the tolerance: area > perimeter × tolerance / 2).

    Each line is cut by the union of the pieces within ``reach`` of it only, taken in their order
    in ``pieces``: a line's result depends on its neighbourhood, not on overlaps elsewhere in the
    sibling group, so a tile holding that neighbourhood computes it exactly.
    """
    real = np.array([p for p in pieces if shapely.area(p) > shapely.length(p) * edge_tolerance_m / 2.0], dtype=object)
    if not len(real) or not len(near):
        return near
    line, piece = shapely.STRtree(real).query(near, predicate="dwithin", distance=reach)
    out = near.copy()
    for i in np.unique(line):
        zone = shapely.buffer(shapely.union_all(real[np.sort(piece[line == i])]), reach)
        out[i] = shapely.difference(near[i], zone)
    return out


def _edge_matching(
    rows: list[Grid],
    work: GeomArray,
    frames: Frames,
    group: NDArray[np.intp],
    overlap_pieces: dict[int, list[BaseGeometry]],
    edge_tolerance_m: float,
) -> list[Pending]:
    """Near-miss edges between siblings, in the metric CRS.

    ``coverage_invalid_edges`` flags every segment that is not matched vertex for vertex by a
    neighbour within ``gap_width`` -- including the edges of a real overlap, which
    ``overlap_siblings`` already reports. What is reported here is, per grid, the part of its
    flagged edges within the tolerance of a sibling's flagged edges, outside the zone (within the
    tolerance) of the real overlaps: overlap pieces wider than the tolerance (area/perimeter >
    tolerance/2, i.e. a long strip wider than the tolerance).
    """
    reach = max(edge_tolerance_m, 1e-6)  # also catches vertex mismatches at tolerance 0
    out = []
    for g in np.unique(group[group >= 0]):
        members = np.flatnonzero(group == g)
        if len(members) < 2:
            continue
        # Projection maps a shared vertex to one point, so edge matching survives it.
        geoms = frames.to_metric(work[members])
        broken = ~shapely.is_valid(geoms)
        if broken.any():  # rare: valid as drawn, invalid once projected
            geoms[broken] = [polygonal_part(x) for x in geoms[broken]]
        edges = shapely.coverage_invalid_edges(geoms, gap_width=edge_tolerance_m)
        flagged = np.flatnonzero(~shapely.is_empty(edges))
        if len(flagged) < 2:
            continue
        lines = edges[flagged]
        left, right = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=reach)
        pair = left != right
        order = np.lexsort((right[pair], left[pair]))  # not the tree's order: the same with fewer lines
        left, right = left[pair][order], right[pair][order]
        near = shapely.intersection(lines[left], shapely.buffer(lines, reach)[right])
        near = _outside_real_overlaps(near, overlap_pieces.get(int(g), []), reach, edge_tolerance_m)
        kept = shapely.length(near) > reach
        left, right, near = left[kept], right[kept], near[kept]
        for k in np.unique(left):
            mine = left == k
            where = shapely.line_merge(shapely.union_all(near[mine]))
            length = float(shapely.length(where))
            others = [rows[members[flagged[j]]] for j in sorted(right[mine])]
            row = rows[members[flagged[k]]]
            out.append(
                Pending(
                    "not_edge_matched",
                    row.id,
                    f"网格“{row.label}”与{_quoted(o.label for o in others)}的相邻边界未对齐"
                    f"（相距不到 {edge_tolerance_m:g} m 但顶点不重合），长 {_fmt_length(length)}，合并网格时会出错",
                    "warning",
                    where,
                    length_m=length,
                    related_ids=tuple(o.id for o in others),
                    level=row.level.value,
                    metric=True,
                    stage=_EDGES,
                    key=(int(members[0]), int(members[flagged[k]])),
                )
            )
    return out


# =============================================================================================
# The spatial rules together, and the findings they make
# =============================================================================================


def no_geometry(rows: list[Grid], missing: NDArray[np.bool_]) -> list[Pending]:
    """``no_geometry`` warnings of the rows where ``missing`` is true."""
    return [
        Pending(
            "no_geometry",
            rows[i].id,
            f"网格“{rows[i].label}”尚未绘制范围（没有图形），无法检查其拓扑",
            "warning",
            level=rows[i].level.value,
            stage=_NO_GEOMETRY,
            key=(int(i),),
        )
        for i in np.flatnonzero(missing)
    ]


def run_rules(
    rows: list[Grid],
    work: GeomArray,
    frames: Frames,
    *,
    own: NDArray[np.bool_],
    sliver_area_m2: float,
    edge_tolerance_m: float,
) -> list[Pending]:
    """Every rule but ``level_mismatch`` over ``rows``, in the order of :data:`STAGES`.

    Parameters
    ----------
    rows : list of Grid
        The grids, ``rows[i].pos == i``. A row's ``parent_pos`` says what is checked about it:
        a position (another row: a child of that row, checked against it and among its
        siblings), None (a root, checked among the roots of its level) or -1 (neither).
    work : array of geometries
        The rows' geometries in the source CRS, None for a missing one; invalid ones are
        replaced by their repair (the caller's geometries are not modified, the array is).
    own : array of bool
        The rows whose own findings (``no_geometry``, ``invalid_geometry``, ``multi_part``, the
        parts' ``sliver``) are wanted; the other rows only serve as parents or siblings.
    """
    missing = shapely.is_missing(work) | shapely.is_empty(work)
    work[missing] = None
    pending = no_geometry(rows, missing & own)

    polygonal = np.isin(shapely.get_type_id(work), [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    bad = np.flatnonzero(~missing & (~polygonal | ~shapely.is_valid(work)))
    originals = work[bad].copy()
    for i in bad:
        work[i] = _polygonal(work[i])
    mine = own[bad]
    repaired_area = frames.area_m2(work[bad[mine]])
    for i, original, area in zip(bad[mine], originals[mine], repaired_area):
        row = rows[i]
        reason = shapely.is_valid_reason(original) if polygonal[i] else f"不是面图形：{original.geom_type}"
        if work[i] is None:
            tail, size = "，无法修复为面，其余空间检查已跳过", None
        else:
            tail, size = f"，以下检查按修复后的图形（{_fmt_area(float(area))}）进行", float(area)
        pending.append(
            Pending(
                "invalid_geometry",
                row.id,
                f"网格“{row.label}”的边界图形无效（{reason}）{tail}",
                "error",
                original,
                area_m2=size,
                level=row.level.value,
                stage=_INVALID,
                key=(int(i),),
            )
        )

    mine_only = work.copy()
    mine_only[~own] = None
    pending += _part_checks(rows, mine_only, frames, sliver_area_m2)
    group = _sibling_groups(rows, work)
    overlaps, overlap_pieces = _overlaps(rows, work, frames, group, sliver_area_m2)
    pending += _outside_parent(rows, work, frames, sliver_area_m2)
    pending += overlaps
    pending += _gaps(rows, work, frames, sliver_area_m2)
    pending += _edge_matching(rows, work, frames, group, overlap_pieces, edge_tolerance_m)
    return pending


@dataclass(frozen=True)
class Keyed:
    """A finding with what orders it: (rank of its rule in :data:`RULES`, stage, key)."""

    order: tuple[int, int, tuple[int, ...]]
    finding: Finding


def to_findings(pending: list[Pending], frames: Frames | None) -> list[Keyed]:
    """The findings, geometries in EPSG:4326, each with its order; in the order given."""
    rank = {rule: i for i, rule in enumerate(RULES)}
    geoms: list[BaseGeometry | None] = [p.geometry for p in pending]
    if frames is not None:
        for metric in (False, True):
            idx = [i for i, p in enumerate(pending) if p.metric is metric and p.geometry is not None]
            if idx:
                crs = frames.metric if metric else frames.source
                lonlat = gpd.GeoSeries([geoms[i] for i in idx], crs=crs).to_crs(STORE_CRS).array
                for i, g in zip(idx, lonlat):
                    geoms[i] = g
    return [
        Keyed(
            (rank[p.rule], p.stage, p.key),
            Finding(
                rule=p.rule,
                object_id=p.object_id,
                message=p.message,
                severity=p.severity,
                geometry=g,
                area_m2=p.area_m2,
                length_m=p.length_m,
                related_ids=p.related_ids,
                level=p.level,
            ),
        )
        for p, g in zip(pending, geoms)
    ]
