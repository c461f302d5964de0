"""The coverage check cut into square tiles: memory bounded by the tile, tiles run in parallel.

:func:`tiled_pieces` gives exactly the stretches of the single pass
(:func:`gis.checks.pieces.cut_pieces` over all reaches), with a tile's worth of working memory:

1. Every reach is cut into *runs*: consecutive segments of one part lying in one tile (a segment
   belongs to the tile of its midpoint; a run is cut only between two segments at least 1 µm
   long, :data:`CUT_MIN_SEGMENT_M`, so a repeated vertex is never split from its twin). A run
   carries the whole reach's measures (:func:`gis.geometry.segindex.measured_segments` with
   ``start_m``): its measures, computed in the same order, are the whole reach's bit for bit.
2. Each tile's runs are checked against the grids whose envelopes meet them, as a pure,
   picklable task (:func:`check_tile`) run by :func:`gis.tiling.run_tiles` (in process, or on
   dask workers).
3. The stretches are put back in reach order and joined where a run ended: two stretches meeting
   at a run's end with the same claiming grids are one stretch of the whole reach (whole reaches
   never leave two neighbours with the same claims). The joined geometry takes the vertex at the
   cut from the original coordinates, so it is the single pass's, coordinate for coordinate.
4. The check's area (``scope``) is applied after the join (:func:`gis.checks.pieces.restrict`
   looks at whole runs of in-scope stretches).

The results are identical to the single pass: the same stretches, claims, measures (桩号) and
coordinates, bit for bit (``tests/test_coverage_tiled.py``, random layouts with tiles down to a
few metres). Two rules of the check make this hold: grids are looked up by their envelopes grown
by the coincidence tolerance (a grid within 1 µm of a run is always among the run's grids), and
a segment near a boundary is cut at its vertices (:func:`gis.checks.pieces.breakpoints`), so a
stretch that may lie within the tolerance of a boundary is one straight piece, judged alike
wherever else the reach is cut.

Memory: a tile's working arrays (segment hash, breakpoints, prepared grids, released after the
tile) depend on the tile; the input layers and the result (one row per stretch) stay in the
calling process. On dask, a worker holds the tiles it is working on (two per worker at a time,
:func:`gis.tiling.run_tiles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import STRtree

from gis.checks.pieces import COINCIDENCE_TOLERANCE_M, Pieces, cut_pieces, grown_boxes, restrict
from gis.geometry.segindex import expand_ranges, part_starts, run_cumsum, vertex_steps
from gis.tiling import run_tiles, tile_keys

__all__ = ["TileTask", "check_tile", "tiled_pieces"]

CUT_MIN_SEGMENT_M = 1e-6
"""A run is cut only at a vertex between two segments at least this long (1 µm): close
breakpoints (within :data:`gis.checks.pieces.BREAK_TOL_M`, 1 nm) around the cut then lie on
the two segments next to it, where :func:`_join` finds them (a repeated vertex, a step of zero
length, is never at a cut)."""

PARALLEL_MIN_VERTICES = 2_000_000
"""From this many reach vertices on, the automatic scheduler runs the tiles on dask workers
(below it, starting the workers costs more than the whole check)."""


@dataclass
class TileTask:
    """One tile's input: its runs (with the whole reaches' measures) and the grids near them."""

    runs: np.ndarray
    run_m: np.ndarray
    part_m: np.ndarray
    grids: np.ndarray
    n_level: int

    def __getstate__(self) -> dict[str, Any]:
        # to dask workers with the geometries as arrays of WKB (one vectorised call each)
        return {**self.__dict__, "runs": shapely.to_wkb(self.runs), "grids": shapely.to_wkb(self.grids)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        runs, grids = shapely.from_wkb(state["runs"]), shapely.from_wkb(state["grids"])
        self.__dict__.update(
            {**state, "runs": np.asarray(runs, dtype=object), "grids": np.asarray(grids, dtype=object)}
        )


def check_tile(task: TileTask) -> Pieces:
    """The stretches of one tile's runs (``reach``: the run's position in the task; claims:
    positions in ``task.grids``)."""
    grids = np.asarray(task.grids, dtype=object)
    fresh = grids[~shapely.is_prepared(grids)]
    shapely.prepare(fresh)
    try:
        tree = STRtree(grown_boxes(grids, COINCIDENCE_TOLERANCE_M))
        return cut_pieces(task.runs, grids, tree, task.n_level, start_m=(task.run_m, task.part_m))
    finally:
        shapely.destroy_prepared(fresh)  # memory stays that of one tile


@dataclass
class _Runs:
    """All runs of all reaches, in reach order."""

    geoms: np.ndarray
    reach: np.ndarray
    part: np.ndarray
    run_m: np.ndarray
    part_m: np.ndarray
    tile: np.ndarray
    v_first: np.ndarray  # the run's vertices: coords[v_first : v_last + 1]
    v_last: np.ndarray
    coords: np.ndarray
    vertex_m: np.ndarray  # measure of every vertex within its part

    def junction(self, before: int, after: int) -> np.ndarray:
        """The vertices where run ``before`` (ending a part) meets run ``after`` (starting a later
        part of the same reach), exact: the last vertex of one with its repeats, the vertices of
        any part of zero length between them, the first vertex of the other with its repeats. A
        stretch of the whole reach across the junction has all of them (one measure)."""
        a_first, a_last = int(self.v_first[before]), int(self.v_last[before])
        b_first, b_last = int(self.v_first[after]), int(self.v_last[after])
        tail = a_last
        while tail > a_first and self.vertex_m[tail - 1] == self.vertex_m[a_last]:
            tail -= 1
        head = b_first
        while head < b_last and self.vertex_m[head + 1] == self.vertex_m[b_first]:
            head += 1
        return np.asarray(self.coords[tail : head + 1])


def _cut_runs(reach_geoms: np.ndarray, tile_m: float) -> tuple[_Runs, np.ndarray]:
    """The runs of every reach, and the reaches of zero length (no runs; one empty stretch)."""
    parts, part_geom = shapely.get_parts(reach_geoms, return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    n_parts = len(parts)
    # the whole reaches' measures: local sums within each part, part starts within each reach
    seg, seg_len, step, first_vertex = vertex_steps(coords, coord_part)  # segment k: vertices k, k + 1
    local = run_cumsum(step, first_vertex)
    part_len = np.bincount(coord_part, weights=step, minlength=n_parts)
    part_start = part_starts(part_len, part_geom)
    reach_len = np.bincount(part_geom, weights=part_len, minlength=len(reach_geoms))
    # tiles of the segments; a run starts at a part's first segment or where the tile changes
    # between two segments of non-zero length
    mx = (coords[seg, 0] + coords[seg + 1, 0]) / 2
    my = (coords[seg, 1] + coords[seg + 1, 1]) / 2
    tx, ty = tile_keys(mx, my, tile_m)
    s_part = coord_part[seg]
    new_part = np.r_[True, s_part[1:] != s_part[:-1]] if len(seg) else np.zeros(0, bool)
    changed = np.r_[False, (tx[1:] != tx[:-1]) | (ty[1:] != ty[:-1])] if len(seg) else np.zeros(0, bool)
    long_enough = seg_len >= CUT_MIN_SEGMENT_M
    cuttable = np.r_[False, long_enough[1:] & long_enough[:-1]] if len(seg) else np.zeros(0, bool)
    start = np.flatnonzero(new_part | (changed & cuttable & ~new_part))
    end = np.r_[start[1:], len(seg)]  # segments [start, end) of each run
    v_first, v_last = seg[start], seg[end - 1] + 1
    run_part = s_part[start]
    run_reach = part_geom[run_part]
    # a run of zero length adds nothing to its reach (a degenerate part, or a tail of repeated
    # vertices); reaches of zero length are kept apart
    keep = (local[v_last] > local[v_first]) & (reach_len[run_reach] > 0)
    v_first, v_last, run_part, run_reach = v_first[keep], v_last[keep], run_part[keep], run_reach[keep]
    which, idx = expand_ranges(v_first, v_last + 1)
    geoms = shapely.linestrings(coords[idx], indices=which) if len(idx) else np.zeros(0, object)
    tile = tx[start[keep]] * (1 << 32) + (ty[start[keep]] & 0xFFFFFFFF)
    runs = _Runs(
        np.asarray(geoms, dtype=object),
        run_reach,
        run_part,
        local[v_first],
        part_start[run_part],
        tile,
        v_first,
        v_last,
        coords,
        local,
    )
    return runs, np.flatnonzero(reach_len == 0)


def _join(pieces: Pieces, run_of: np.ndarray, runs: _Runs) -> Pieces:
    """Put the stretches back together where one run ends and the next begins (module doc).

    Two things happen there. Stretches with the same claims are one stretch of the whole reach.
    And a breakpoint within :data:`gis.checks.pieces.BREAK_TOL_M` before the run's end (a
    boundary crossing the cut vertex, computed at t ≈ 1 of the segment before it) is, in the
    whole reach, the breakpoint of both sides, as the single pass keeps the first of close
    breakpoints: the next run's first stretch then starts there, at the point the previous run
    computed for it, followed by the cut vertex.
    """
    n = len(pieces.from_m)
    if n < 2:
        return pieces
    cut = np.flatnonzero((pieces.reach[1:] == pieces.reach[:-1]) & (run_of[1:] != run_of[:-1])) + 1
    from_m = pieces.from_m.copy()
    geometry = pieces.geometry.copy()
    merged = np.zeros(n, bool)
    joined: dict[int, np.ndarray] = {}  # coordinates of a stretch to add to the one before it
    for i in cut.tolist():
        a_run, b_run = int(run_of[i - 1]), int(run_of[i])
        hole = from_m[i] > pieces.to_m[i - 1]
        merge = pieces.claims[i] == pieces.claims[i - 1]
        if not (merge or hole):
            continue
        coords = shapely.get_coordinates(geometry[i])
        if runs.part[a_run] != runs.part[b_run]:
            # a part junction: the whole reach keeps both parts' end vertices, repeats included
            coords = np.concatenate([runs.junction(a_run, b_run), coords[1:]])
        if merge:
            merged[i] = True
            joined[i] = coords
        else:
            from_m[i] = pieces.to_m[i - 1]
            a_end = shapely.get_coordinates(geometry[i - 1])[-1:]
            geometry[i] = shapely.linestrings(np.concatenate([a_end, coords]))
    if not merged.any():
        return Pieces(pieces.reach, from_m, pieces.to_m, pieces.claims, geometry)
    first = np.flatnonzero(~merged)
    last = np.r_[first[1:] - 1, n - 1]
    out = geometry[first].copy()
    for k in np.flatnonzero(last > first).tolist():
        f, l_ = int(first[k]), int(last[k])
        parts = [shapely.get_coordinates(geometry[f])[:-1]]
        parts += [joined[i] if i == l_ else joined[i][:-1] for i in range(f + 1, l_ + 1)]
        out[k] = shapely.linestrings(np.concatenate(parts))
    claims = [pieces.claims[i] for i in first.tolist()]
    return Pieces(pieces.reach[first], from_m[first], pieces.to_m[last], claims, out)


def tiled_pieces(
    reach_geoms: np.ndarray,
    grid_geoms: np.ndarray,
    n_level: int,
    *,
    tile_m: float,
    scheduler: str | None = None,
    sliver_m: float = 0.0,
) -> Pieces:
    """The stretches of :func:`gis.checks.pieces.cut_pieces` (then
    :func:`gis.checks.pieces.restrict` when ``grid_geoms[n_level:]`` holds a scope), computed
    tile by tile (``tile_m`` metres) and joined. ``scheduler``: see :func:`gis.tiling.run_tiles`
    (automatic: on dask workers from :data:`PARALLEL_MIN_VERTICES` reach vertices on)."""
    runs, zero = _cut_runs(reach_geoms, tile_m)
    grid_geoms = np.asarray(grid_geoms, dtype=object)
    tree = STRtree(grown_boxes(grid_geoms, COINCIDENCE_TOLERANCE_M))  # a missing grid: an empty box
    # the runs of each tile, tiles in key order, runs in reach order within a tile
    order = np.argsort(runs.tile, kind="stable")
    _, first = np.unique(runs.tile[order], return_index=True)
    tasks: list[TileTask] = []
    members: list[tuple[np.ndarray, np.ndarray]] = []
    for which in np.split(order, first[1:]) if len(order) else []:
        _, g = tree.query(runs.geoms[which])
        near = np.unique(g)
        tasks.append(
            TileTask(
                runs.geoms[which], runs.run_m[which], runs.part_m[which], grid_geoms[near], int((near < n_level).sum())
            )
        )
        members.append((which, near))
    large = len(runs.coords) >= PARALLEL_MIN_VERTICES
    results = run_tiles(check_tile, tasks, scheduler=scheduler, large=large)
    reach_parts, run_parts, from_parts, to_parts, geom_parts = [], [], [], [], []
    claims: list[tuple[int, ...]] = []
    for (which, near), p in zip(members, results):
        run_ids = which[p.reach]
        reach_parts.append(runs.reach[run_ids])
        run_parts.append(run_ids)
        from_parts.append(p.from_m)
        to_parts.append(p.to_m)
        geom_parts.append(p.geometry)
        near_list = near.tolist()
        claims.extend(tuple(near_list[g] for g in c) for c in p.claims)
    # reaches of zero length: one empty stretch each, claimed by none (as the single pass)
    reach_parts.append(zero)
    run_parts.append(np.full(len(zero), -1, np.int64))
    from_parts.append(np.zeros(len(zero)))
    to_parts.append(np.zeros(len(zero)))
    geom_parts.append(np.array([shapely.from_wkt("LINESTRING EMPTY")] * len(zero), dtype=object))
    claims.extend(() for _ in range(len(zero)))
    reach = np.concatenate(reach_parts).astype(np.int64)
    run_of = np.concatenate(run_parts).astype(np.int64)
    from_m, to_m = np.concatenate(from_parts), np.concatenate(to_parts)
    geometry = np.concatenate([np.asarray(g, dtype=object) for g in geom_parts])
    order = np.lexsort((from_m, reach))
    pieces = Pieces(reach[order], from_m[order], to_m[order], [claims[i] for i in order.tolist()], geometry[order])
    pieces = _join(pieces, run_of[order], runs)
    if n_level < len(grid_geoms):
        pieces = restrict(pieces, n_level, sliver_m=sliver_m)
    return pieces
