"""Point-to-reach candidates, in one pass or per spatial tile (on dask if asked).

The matching of :mod:`gis.patrol.matching` comes in two steps:

1. per point, independently of the others: every reach segment within the corridor
   (:meth:`gis.geometry.segindex.SegmentIndex.near`), the nearest one (the first in segment order
   among equals) and, where several reaches lie within the corridor, all the candidates
   (:func:`point_candidates`);
2. along each track: where several reaches are candidates, the reach of the point before is
   kept, else that of the next point with a single candidate (:func:`resolve_continuity`).

Step 1 is what grows with the number of reaches (the segment hash), so it can run per tile
(:func:`tiled_candidates`): square tiles of ``tile_m`` metres aligned on multiples of ``tile_m``
in the metric CRS; a point belongs to the one tile holding it, and a tile's reaches are those whose
envelope meets the tile grown by the corridor (so a point at a tile's edge still finds a reach that
lies in the neighbour tile). Each tile hashes only its own reaches, so memory depends on the tile
and not on the total. A reach's segments and measures do not depend on the other reaches
(:func:`gis.geometry.segindex.measured_segments`) and the tile keeps the reaches in their global
order, so every point gets the same candidates, in the same order, with the same bits as in one
pass. Step 2 then runs on whole tracks, as do the track figures and flags.

Tiles run where :func:`gis.tiling.run_tiles` says: in this process, on a dask ``LocalCluster`` or
on a dask cluster (``tcp://host:8786``); :func:`match_tile` is a pure top-level function of one
picklable :class:`PatrolTile`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from gis.geometry.segindex import SegmentIndex, measured_segments
from gis.tiling import run_tiles, tile_keys

__all__ = [
    "PatrolTile",
    "PointCandidates",
    "match_tile",
    "patrol_tiles",
    "point_candidates",
    "resolve_continuity",
    "segment_index",
    "tiled_candidates",
]


def segment_index(geoms_m: np.ndarray, corridor_m: float, owners: np.ndarray | None = None) -> SegmentIndex:
    """The segments of reach lines ``geoms_m`` (metric), hashed so that every segment within
    ``corridor_m`` of a point is listed in the point's cell; ``owners[i]`` (default ``i``) is
    recorded for the segments of ``geoms_m[i]``."""
    segments, _ = measured_segments(geoms_m, owners)
    return SegmentIndex.build(segments, cell_m=max(2.0 * corridor_m, 20.0), grow_m=float(corridor_m))


@dataclass
class PointCandidates:
    """Step 1 of the matching for ``n`` points.

    ``which`` (int64, -1: no reach within the corridor), ``dist`` (metres, ``inf`` when none) and
    ``m`` (metres along the reach from its start, NaN when none): the nearest reach per point.
    ``cand_*``: for the points with several candidate reaches only, every segment within the
    corridor (point, owner reach, distance, measure), grouped by point in point order and in
    segment order within a point.
    """

    which: np.ndarray
    dist: np.ndarray
    m: np.ndarray
    cand_pt: np.ndarray
    cand_reach: np.ndarray
    cand_d: np.ndarray
    cand_m: np.ndarray

    @classmethod
    def empty(cls, n: int) -> PointCandidates:
        """``n`` points, none near a reach."""
        none_i, none_f = np.zeros(0, np.int64), np.zeros(0)
        return cls(np.full(n, -1, np.int64), np.full(n, np.inf), np.full(n, np.nan), none_i, none_i, none_f, none_f)


def point_candidates(segs: SegmentIndex, x: np.ndarray, y: np.ndarray) -> PointCandidates:
    """Step 1 for points ``(x, y)`` (metric) against the segments hashed in ``segs`` (whose
    ``grow_m`` is the corridor and whose owners are reach positions)."""
    n = len(x)
    out = PointCandidates.empty(n)
    if n == 0 or len(segs.segments) == 0:
        return out
    pt, seg, d, t = segs.near(np.asarray(x, np.float64), np.asarray(y, np.float64))
    if len(pt) == 0:
        return out
    along = segs.segments.m0[seg] + t * segs.segments.length[seg]
    reach = segs.segments.owner[seg].astype(np.int64)
    starts = np.flatnonzero(np.concatenate([[True], pt[1:] != pt[:-1]]))
    pts = pt[starts]
    size = np.diff(np.append(starts, len(pt)))
    dmin = np.minimum.reduceat(d, starts)
    first_min = np.flatnonzero(d == np.repeat(dmin, size))
    first_min = first_min[np.concatenate([[True], pt[first_min][1:] != pt[first_min][:-1]])]
    out.which[pts] = reach[first_min]
    out.dist[pts] = dmin
    out.m[pts] = along[first_min]
    multi = np.minimum.reduceat(reach, starts) != np.maximum.reduceat(reach, starts)
    keep = np.repeat(multi, size)
    out.cand_pt = pt[keep].astype(np.int64)
    out.cand_reach, out.cand_d, out.cand_m = reach[keep], d[keep], along[keep]
    return out


def resolve_continuity(c: PointCandidates, breaks: np.ndarray | None = None) -> np.ndarray:
    """Step 2: the reach of each point (positions, -1: none), with ``c.dist`` and ``c.m`` updated
    in place where continuity picks another candidate than the nearest.

    Where several reaches lie within the corridor (a confluence, a reach end), the reach of the
    point before is kept when it is one of them, else that of the next point with a single
    candidate. ``breaks``: True where a new track starts (continuity does not cross it).
    """
    which = c.which
    n = len(which)
    if len(c.cand_pt) == 0:
        return which
    starts = np.flatnonzero(np.concatenate([[True], c.cand_pt[1:] != c.cand_pt[:-1]]))
    multi_pts = c.cand_pt[starts]
    single = which >= 0
    single[multi_pts] = False
    # next point (from each position on) with a single candidate; n: none
    nxt = np.minimum.accumulate(np.where(single, np.arange(n), n)[::-1])[::-1].tolist() + [n]
    track = (np.cumsum(breaks) if breaks is not None else np.zeros(n, dtype=np.int64)).tolist()
    reach_l, d_l, along_l = c.cand_reach.tolist(), c.cand_d.tolist(), c.cand_m.tolist()
    which_l = which.tolist()
    bounds = [*starts.tolist(), len(reach_l)]
    for g, p in enumerate(multi_pts.tolist()):  # confluences and reach ends only: plain Python is fastest here
        lo, hi = bounds[g], bounds[g + 1]
        cands = reach_l[lo:hi]
        prefer = which_l[p - 1] if p > 0 and track[p - 1] == track[p] else -1
        if prefer < 0 or prefer not in cands:
            q = nxt[p + 1] if p + 1 < n else n
            prefer = which_l[q] if q < n and track[q] == track[p] else -1
        if prefer >= 0 and prefer in cands and prefer != which_l[p]:
            best = min((k for k in range(lo, hi) if reach_l[k] == prefer), key=d_l.__getitem__)
            which_l[p] = prefer
            c.dist[p], c.m[p] = d_l[best], along_l[best]
    return np.asarray(which_l, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Tiles
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatrolTile:
    """One tile's work (picklable, for dask workers): its points ``(x, y)`` (metric; global
    positions ``point_pos``) and its reaches ``geoms_m`` (metric lines; global positions
    ``reach_pos``, ascending)."""

    geoms_m: np.ndarray
    reach_pos: np.ndarray
    point_pos: np.ndarray
    x: np.ndarray
    y: np.ndarray
    corridor_m: float


def match_tile(tile: PatrolTile) -> tuple[np.ndarray, PointCandidates]:
    """Step 1 for one tile; pure and top-level (dask workers run it).

    Returns the tile's ``point_pos`` and its candidates with global positions: ``which``,
    ``dist``, ``m`` per point of the tile in the order given, ``cand_pt`` and ``cand_reach`` global.
    """
    pos = np.asarray(tile.point_pos, np.int64)
    segs = segment_index(tile.geoms_m, tile.corridor_m, owners=np.asarray(tile.reach_pos, np.int64))
    c = point_candidates(segs, tile.x, tile.y)
    c.cand_pt = pos[c.cand_pt]
    return pos, c


def patrol_tiles(
    geoms_m: np.ndarray, x: np.ndarray, y: np.ndarray, corridor_m: float, tile_m: float
) -> list[PatrolTile]:
    """The work of every tile holding points that has reaches (``tile_m``: side of the square
    tiles in metres, aligned on its multiples, :func:`gis.tiling.tile_keys`)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    ix, iy = tile_keys(x[ok], y[ok], tile_m)
    if len(ok) == 0 or len(geoms_m) == 0:
        return []
    tiles, tile_of = np.unique(np.stack([ix, iy], axis=1), axis=0, return_inverse=True)
    tile_of = tile_of.reshape(-1)
    order = np.argsort(tile_of, kind="stable")  # each tile's points in point order
    bounds = np.searchsorted(tile_of[order], np.arange(len(tiles) + 1))
    # a tile's reaches: envelope meets the tile grown by the corridor (and a millimetre, so that
    # rounding in the tile's bounds or in distances never leaves a reach out; more is harmless)
    grow = float(corridor_m) + 1e-3 + 1e-9 * float(np.max(np.abs(tiles)) + 1.0) * tile_m
    x0, y0 = tiles[:, 0] * tile_m, tiles[:, 1] * tile_m
    boxes = shapely.box(x0 - grow, y0 - grow, x0 + tile_m + grow, y0 + tile_m + grow)
    tile_hit, reach_hit = shapely.STRtree(geoms_m).query(boxes)
    by_tile = np.lexsort((reach_hit, tile_hit))
    tile_hit, reach_hit = tile_hit[by_tile], reach_hit[by_tile]
    reach_bounds = np.searchsorted(tile_hit, np.arange(len(tiles) + 1))
    out = []
    for k in range(len(tiles)):
        reaches = reach_hit[reach_bounds[k] : reach_bounds[k + 1]].astype(np.int64)
        if len(reaches):
            pos = ok[order[bounds[k] : bounds[k + 1]]]
            out.append(PatrolTile(geoms_m[reaches], reaches, pos, x[pos], y[pos], float(corridor_m)))
    return out


def tiled_candidates(
    geoms_m: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    corridor_m: float,
    *,
    tile_m: float,
    scheduler: str | None = None,
) -> PointCandidates:
    """Step 1 for all points ``(x, y)`` against reaches ``geoms_m`` (both metric), tile by tile
    (see the module docstring); the same result, bit for bit, as :func:`point_candidates` over
    one index of all reaches. ``scheduler``: where the tiles run (:func:`gis.tiling.run_tiles`:
    ``"inline"``, ``"local"``, ``"tcp://host:8786"``; None: the setting, automatic by default)."""
    n = len(x)
    out = PointCandidates.empty(n)
    cands: list[tuple[np.ndarray, ...]] = []
    for pos, c in run_tiles(match_tile, patrol_tiles(geoms_m, x, y, corridor_m, tile_m), scheduler=scheduler):
        out.which[pos], out.dist[pos], out.m[pos] = c.which, c.dist, c.m
        if len(c.cand_pt):
            cands.append((c.cand_pt, c.cand_reach, c.cand_d, c.cand_m))
    if cands:
        cand_pt, cand_reach, cand_d, cand_m = (np.concatenate(a) for a in zip(*cands))
        order = np.argsort(cand_pt, kind="stable")  # each point lies in one tile: its candidates stay in order
        out.cand_pt, out.cand_reach, out.cand_d, out.cand_m = (
            cand_pt[order], cand_reach[order], cand_d[order], cand_m[order]
        )  # fmt: skip
    return out
