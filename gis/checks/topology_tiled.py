"""The grid topology check (网格拓扑检查) tile by tile: memory per tile, tiles on dask, the same findings.

:func:`check_topology_tiled` returns exactly what :func:`gis.checks.topology.check_topology`
returns (the same findings in the same order, the same geometries coordinate for coordinate,
the same messages), but never holds more than one tile's working geometry at once: the
projected copies, the overlay pieces, the indexes and the edge checks of a tile are dropped
before the next tile starts, or the tiles run side by side on dask workers
(:func:`gis.tiling.run_tiles`).

Which grids each rule needs (:mod:`gis.checks.topology_rules`):

=====================================  ============================================================
``no_geometry``, ``invalid_geometry``,  the grid alone
``multi_part``, ``sliver`` of a part
``level_mismatch``                      attributes only: the grid's level, its parent's id and
                                        level. Run once over the whole frame, before the tiles.
``outside_parent``                      the child and its parent
``overlap_siblings``,                   the sibling group: the children of one parent, or the
``not_edge_matched``                    roots of one level; in fact only the siblings within the
                                        edge tolerance of the grid (and, for ``not_edge_matched``,
                                        those within the tolerance of these)
``gap_in_parent``                       the parent and all its children
=====================================  ============================================================

So the unit of work is the *family*: a parent and its children. Every spatial rule reads one
family only, or one grid. ``gap_in_parent`` needs the union of all of a parent's children, so a
family is never cut. The roots of a level (grids without a parent, e.g. every county of a
province's frame) are one sibling group without a parent, so without a gap rule: their overlaps
and edge matching only involve roots within the edge tolerance of each other, so each root is a
unit of its own, checked with a *halo* of the roots within the tolerance of it and of those
(:class:`_RootHalo`; found by envelope with a safety margin), and reports only its own
findings. Grids that belong to no sibling group (their parent is missing from the frame, or is
themselves) and have no children are units of one grid. A grid is in up to two units (child in
its parent's family, parent in its own); its own findings come from one of them (its *home*).

For exactly the same result, the rules are written so that what they compute for a grid depends
only on the grids named above, in an order fixed by the frame: sibling pairs are taken in row
order (not in an index's order), and a near-miss edge is cut by the real overlaps near it only
(:mod:`gis.checks.topology_rules`). Findings are ordered by rule, step and the rows they are
about (the order of the single pass), which every tile knows; the order of the roots' group
among the sibling groups (its first root with a usable geometry) is found in the global pass.

Families go to square tiles of ``tile_m`` metres (:func:`gis.tiling.tile_keys`) by the centre of
their parent's envelope in the metric CRS (the centre of the members' envelopes when the parent
has no geometry; units without any geometry share one tile), and a tile is split further so that
its units hold at most ``max_vertices`` vertices (a larger unit is a tile of its own): the memory
of a tile is bounded by the vertices of its units, not by the frame's. Each tile is checked by
:func:`check_tile`, a pure top-level function of a picklable :class:`TopologyTile`; the tiles'
findings are put together in the single pass's order (:func:`gis.checks.topology.ordered`).

The global pass before the tiles reads attributes (ids, names, parents, levels), envelopes and
vertex counts, the extent of the data for the metric CRS (the same as the single pass's, read in
chunks) and the corners of the roots' envelopes (for the halo's margin); it never overlays or
projects the geometries themselves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from gis.checks.findings import Finding
from gis.checks.topology import check_arguments, check_topology, ordered
from gis.checks.topology_rules import (
    STAGES,
    Frames,
    Grid,
    Keyed,
    has_parent,
    level_checks,
    resolve_rows,
    run_rules,
    to_findings,
)
from gis.config import settings
from gis.errors import ValidationError
from gis.geometry.crs import choose_metric_crs, metric_crs_for, to_crs
from gis.geometry.shapes import polygonal_part
from gis.tiling import run_tiles, tile_keys

__all__ = ["DEFAULT_MAX_VERTICES", "TopologyTile", "check_tile", "check_topology_tiled", "plan_tiles"]

DEFAULT_MAX_VERTICES = 400_000
"""Vertices of the grids of one tile, at most (a single larger family is a tile of its own)."""

_EXTENT_CHUNK = 20_000
"""Geometries reprojected at once when the extent of the data is measured in longitude/latitude."""

UnitKey = tuple[str, Any]
_OVERLAPS, _EDGES = STAGES.index("overlaps"), STAGES.index("edges")
_HALO_SAFETY = 2.0
"""The halo of a root reaches this many times the edge tolerance, measured with the smallest
scale (metres per unit of the grids' CRS) seen over the roots' envelopes."""


@dataclass(frozen=True)
class TopologyTile:
    """What :func:`check_tile` needs to check some units: the grids of their members, in the
    frame's order (local position ``i`` is the frame's row ``positions[i]``)."""

    positions: NDArray[np.int64]
    """The rows of the frame, ascending: local positions keep the frame's order."""
    rows: list[Grid]
    """The grids, ``rows[i].pos == i``; ``parent_pos`` local, -1 where the grid's sibling group
    is not in this tile (it only serves here as a parent)."""
    geometries: NDArray[np.object_]
    """Their geometries in the source CRS (None for none)."""
    own: NDArray[np.bool_]
    """The grids whose own findings (no geometry, invalid, parts) this tile reports."""
    root_first: dict[str, int]
    """Per level of the roots led here: the frame's first root of that level with a usable
    geometry (orders the roots' ``not_edge_matched`` findings as the single pass does)."""
    frames: Frames
    sliver_area_m2: float
    edge_tolerance_m: float
    vertices: int
    """Vertices of the tile's grids (what its memory depends on)."""


def check_tile(tile: TopologyTile) -> list[Keyed]:
    """The findings of one tile, keyed by the frame's row positions (pure, picklable)."""
    work = np.array(tile.geometries, dtype=object)  # run_rules repairs in place: a private copy
    pending = run_rules(
        tile.rows,
        work,
        tile.frames,
        own=tile.own,
        sliver_area_m2=tile.sliver_area_m2,
        edge_tolerance_m=tile.edge_tolerance_m,
    )
    kept = []
    for p in pending:
        # A sibling group's findings belong to the tile owning their grid: the roots of a level
        # are split between tiles, and a root's neighbours come along only as a halo.
        if (p.stage == _OVERLAPS and not tile.own[p.key[0]]) or (p.stage == _EDGES and not tile.own[p.key[1]]):
            continue
        key = tuple(int(tile.positions[k]) for k in p.key)
        row = tile.rows[p.key[-1]]
        if p.stage == _EDGES and row.parent_pos is None:
            key = (tile.root_first[row.level.value], key[1])
        p.key = key
        kept.append(p)
    return to_findings(kept, tile.frames)


def _metric_crs(present: NDArray[np.object_], source: pyproj.CRS, crs: Any) -> pyproj.CRS:
    """:func:`choose_metric_crs` of ``present`` without reprojecting it all at once."""
    first = choose_metric_crs(gpd.GeoSeries(present[:1], crs=source), crs)
    if crs is not None or first == source:
        return first  # decided without the extent
    bounds = np.array(
        [
            to_crs(gpd.GeoSeries(present[i : i + _EXTENT_CHUNK], crs=source), "EPSG:4326").total_bounds
            for i in range(0, len(present), _EXTENT_CHUNK)
        ]
    )
    extent = (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
    return metric_crs_for(tuple(float(v) for v in extent))


def _units(rows: list[Grid]) -> tuple[dict[UnitKey, list[int]], list[UnitKey | None], list[UnitKey]]:
    """(members of each unit, each row's sibling group, each row's home unit).

    Units: ``("family", parent)`` (the parent and its children), ``("root", pos)`` (a root: its
    sibling group, the roots of its level, is split; :func:`_root_halo`) and ``("alone", pos)``.
    """
    sibling: list[UnitKey | None] = []
    members: dict[UnitKey, list[int]] = defaultdict(list)
    for row in rows:
        if has_parent(row):
            key: UnitKey | None = ("family", row.parent_pos)
        elif row.parent_pos is None:
            key = ("roots", row.level.value)
        else:
            key = None
        sibling.append(key)
        if key is not None:
            members[key].append(row.pos)
    for key in list(members):
        if key[0] == "family":
            members[key].append(key[1])  # the parent itself
    for key in [k for k in members if k[0] == "roots"]:
        del members[key]  # the roots are split: each is a unit (with its neighbours as a halo)
    home: list[UnitKey] = []
    for row, key in zip(rows, sibling):
        if key is not None and key[0] == "roots":
            key = ("root", row.pos)
        elif key is None:
            key = ("family", row.pos) if ("family", row.pos) in members else ("alone", row.pos)
        members.setdefault(key, [row.pos])
        home.append(key)
    return {k: sorted(v) for k, v in members.items()}, sibling, home


class _RootHalo:
    """The roots of each level near given roots, and each level's first usable root.

    A root's overlaps and edge matching involve only the roots within the edge tolerance
    (``reach``) of it: they come along as its halo, and the roots within ``reach`` of those (whose
    invalid edges the halo's edges depend on). Envelopes in the grids' CRS, the distance converted
    with the smallest scale over the roots' envelopes and a safety factor: a superset.
    """

    def __init__(
        self,
        rows: list[Grid],
        sibling: list[UnitKey | None],
        geoms: NDArray[np.object_],
        present: NDArray[np.bool_],
        bounds: NDArray[np.float64],
        frames: Frames,
        edge_tolerance_m: float,
    ) -> None:
        self.first: dict[str, int] = {}
        by_level: dict[str, list[int]] = defaultdict(list)
        for row, sib in zip(rows, sibling):
            if sib is not None and sib[0] == "roots" and present[row.pos]:
                by_level[row.level.value].append(row.pos)
        self.positions = {level: np.asarray(pos, dtype=np.int64) for level, pos in by_level.items()}
        self.boxes = {level: shapely.box(*bounds[pos].T) for level, pos in self.positions.items()}
        self.trees = {level: shapely.STRtree(boxes) for level, boxes in self.boxes.items()}
        self.index = {int(p): (level, i) for level, pos in self.positions.items() for i, p in enumerate(pos.tolist())}
        for level, pos in self.positions.items():
            usable = (p for p in pos.tolist() if not polygonal_part(geoms[p]).is_empty)
            self.first[level] = next(usable, -1)
        self.margin = np.inf
        roots = np.concatenate(list(self.positions.values())) if self.positions else np.zeros(0, dtype=np.int64)
        box = bounds[roots]
        reach = max(edge_tolerance_m, 1e-6)
        wide, tall = box[:, 2] > box[:, 0], box[:, 3] > box[:, 1]
        if (wide | tall).any():
            corners = np.concatenate([box[:, [0, 1]], box[:, [2, 1]], box[:, [0, 3]]])
            metric = gpd.GeoSeries(shapely.points(corners), crs=frames.source).to_crs(frames.metric)
            xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()]).reshape(3, len(roots), 2)
            along_x = np.hypot(*(xy[1] - xy[0]).T)[wide] / (box[wide, 2] - box[wide, 0])
            along_y = np.hypot(*(xy[2] - xy[0]).T)[tall] / (box[tall, 3] - box[tall, 1])
            scale = float(np.concatenate([along_x, along_y]).min())  # metres per unit, the smallest
            if np.isfinite(scale) and scale > 0:
                self.margin = _HALO_SAFETY * reach / scale

    def around(self, leads: list[int]) -> NDArray[np.int64]:
        """The roots within reach of ``leads`` (roots), and those within reach of them."""
        out = [np.zeros(0, dtype=np.int64)]
        by_level: dict[str, list[int]] = defaultdict(list)
        for p in leads:
            if p in self.index:  # a root without geometry has no neighbours
                level, i = self.index[p]
                by_level[level].append(i)
        for level, idx in by_level.items():
            if not np.isfinite(self.margin):
                out.append(self.positions[level])
                continue
            near = np.asarray(idx, dtype=np.int64)
            for _ in range(2):
                found = self.trees[level].query(self.boxes[level][near], predicate="dwithin", distance=self.margin)[1]
                near = np.union1d(near, found)
            out.append(self.positions[level][near])
        return np.concatenate(out)


def plan_tiles(
    grids: gpd.GeoDataFrame,
    *,
    id_col: str = "id",
    name_col: str = "name",
    parent_col: str = "parent_id",
    level_col: str = "level",
    crs: Any = None,
    sliver_area_m2: float = 100.0,
    edge_tolerance_m: float = 0.5,
    tile_m: float | None = None,
    max_vertices: int = DEFAULT_MAX_VERTICES,
) -> tuple[list[Keyed], list[TopologyTile]]:
    """The global pass: (the ``level_mismatch`` findings, the tiles); arguments as for
    :func:`check_topology_tiled`. Call :func:`check_tile` on each tile. Needs at least one grid
    with a geometry (else the single pass is all there is to do)."""
    check_arguments(grids, sliver_area_m2=sliver_area_m2, edge_tolerance_m=edge_tolerance_m)
    if max_vertices < 1:
        raise ValidationError("每块的顶点数上限应大于 0", f"max_vertices must be >= 1, got {max_vertices}")
    side = settings().tile_km * 1000.0 if tile_m is None else tile_m
    rows = resolve_rows(grids, id_col, name_col, parent_col, level_col)
    levels = to_findings(level_checks(rows, grids[parent_col].tolist()), None)

    geoms = np.asarray(grids.geometry.array, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    source = pyproj.CRS.from_user_input(grids.crs)
    frames = Frames(source, _metric_crs(geoms[present], source, crs))
    bounds = np.full((len(geoms), 4), np.nan)
    bounds[present] = shapely.bounds(geoms[present])
    vertices = np.zeros(len(geoms), dtype=np.int64)
    vertices[present] = shapely.get_num_coordinates(geoms[present])

    members, sibling, home = _units(rows)
    keys = list(members)
    # The anchor of a unit: the centre of its parent's envelope, else of its members' envelopes.
    anchors = np.full((len(keys), 2), np.nan)
    for u, key in enumerate(keys):
        box = bounds[[key[1]]] if key[0] == "family" and present[key[1]] else bounds[members[key]]
        box = box[~np.isnan(box[:, 0])]
        if len(box):
            anchors[u] = (box[:, 0].min() + box[:, 2].max()) / 2.0, (box[:, 1].min() + box[:, 3].max()) / 2.0
    placed = ~np.isnan(anchors[:, 0])
    cells = np.full((len(keys), 2), np.iinfo(np.int64).max, dtype=np.int64)  # no geometry: one cell, last
    if placed.any():
        xy = gpd.GeoSeries(shapely.points(anchors[placed]), crs=source).to_crs(frames.metric)
        cells[placed] = np.column_stack(tile_keys(xy.x.to_numpy(), xy.y.to_numpy(), side))

    first = np.array([members[k][0] for k in keys], dtype=np.int64)
    size = np.array([int(vertices[members[k]].sum()) for k in keys], dtype=np.int64)
    groups: list[list[int]] = []
    load = 0
    for u in np.lexsort((first, cells[:, 1], cells[:, 0])):
        same_cell = bool(groups) and (cells[u] == cells[groups[-1][0]]).all()
        if not same_cell or load + size[u] > max_vertices:
            groups.append([])
            load = 0
        groups[-1].append(int(u))
        load += int(size[u])

    halo = _RootHalo(rows, sibling, geoms, present, bounds, frames, edge_tolerance_m)
    tiles = []
    for group in groups:
        here = {keys[u] for u in group}
        leads = [key[1] for key in here if key[0] == "root"]
        lead_levels = {rows[p].level.value for p in leads}
        positions = np.unique(
            np.concatenate([np.asarray(members[keys[u]], dtype=np.int64) for u in group] + [halo.around(leads)])
        )
        local = {int(p): i for i, p in enumerate(positions)}
        tile_rows = []
        for i, p in enumerate(positions.tolist()):
            row, sib = rows[p], sibling[p]
            parent: int | None = -1
            if sib is not None and sib[0] == "family" and sib in here:
                parent = local[int(sib[1])]
            elif sib is not None and sib[0] == "roots" and row.level.value in lead_levels:
                parent = None
            tile_rows.append(Grid(i, row.id, row.label, row.level, parent))
        tiles.append(
            TopologyTile(
                positions=positions,
                rows=tile_rows,
                geometries=geoms[positions],
                own=np.array([home[p] in here for p in positions.tolist()], dtype=bool),
                root_first={level: halo.first[level] for level in lead_levels if level in halo.first},
                frames=frames,
                sliver_area_m2=sliver_area_m2,
                edge_tolerance_m=edge_tolerance_m,
                vertices=int(vertices[positions].sum()),
            )
        )
    return levels, tiles


def check_topology_tiled(
    grids: gpd.GeoDataFrame,
    *,
    id_col: str = "id",
    name_col: str = "name",
    parent_col: str = "parent_id",
    level_col: str = "level",
    crs: Any = None,
    sliver_area_m2: float = 100.0,
    edge_tolerance_m: float = 0.5,
    tile_m: float | None = None,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    scheduler: str | None = None,
) -> list[Finding]:
    """:func:`gis.checks.topology.check_topology` tile by tile: the same findings, in the same order.

    Parameters
    ----------
    grids, id_col, name_col, parent_col, level_col, crs, sliver_area_m2, edge_tolerance_m
        As for :func:`~gis.checks.topology.check_topology` (the same errors for the same input).
    tile_m : float, optional, keyword-only
        Side of the square tiles in metres of the metric CRS (default: the setting
        ``RIVERGRID_TILE_KM``, 25 km). A family goes to the tile holding the centre of its
        parent's envelope; any side gives the same findings.
    max_vertices : int, keyword-only
        A tile whose grids have more vertices is split (between units: a family larger than
        this is one tile).
    scheduler : str, optional, keyword-only
        Where the tiles run (:func:`gis.tiling.resolve_scheduler`): ``"inline"`` (this process,
        one tile at a time), ``"local"`` (a dask ``LocalCluster``), ``"tcp://HOST:8786"`` (a dask
        cluster); default: the setting ``RIVERGRID_DASK_SCHEDULER`` (automatic).

    Returns
    -------
    list of Finding
        Equal to ``check_topology(grids, ...)``: see :mod:`gis.checks.topology_tiled`.
    """
    if len(grids) == 0:
        return []
    check_arguments(grids, sliver_area_m2=sliver_area_m2, edge_tolerance_m=edge_tolerance_m)
    geoms = np.asarray(grids.geometry.array, dtype=object)
    if (shapely.is_missing(geoms) | shapely.is_empty(geoms)).all():
        # Nothing drawn: levels and no_geometry only, no spatial work to tile.
        return check_topology(
            grids,
            id_col=id_col,
            name_col=name_col,
            parent_col=parent_col,
            level_col=level_col,
            crs=crs,
            sliver_area_m2=sliver_area_m2,
            edge_tolerance_m=edge_tolerance_m,
        )
    levels, tiles = plan_tiles(
        grids,
        id_col=id_col,
        name_col=name_col,
        parent_col=parent_col,
        level_col=level_col,
        crs=crs,
        sliver_area_m2=sliver_area_m2,
        edge_tolerance_m=edge_tolerance_m,
        tile_m=tile_m,
        max_vertices=max_vertices,
    )
    keyed = [k for part in run_tiles(check_tile, tiles, scheduler=scheduler) for k in part]
    return ordered(levels + keyed)
