"""Straight segments of lines, measured along them, and one uniform grid hash over them.

Shared by the coverage check (:mod:`gis.checks.coverage`: which reach segments meet which grid
boundary segments) and patrol matching (:mod:`gis.patrol.matching`: which reach segments lie
within the corridor of a GPS point). Everything is in one projected CRS, in metres.

* :func:`measured_segments` cuts (Multi)LineStrings into straight segments with their owner (the
  line they belong to) and their measure: the distance along the owner to the segment's start,
  the parts of a MultiLineString following each other in order without the gaps between them
  (as :func:`shapely.line_locate_point` and the 桩号 of a reach measure). Zero-length segments
  are left out.
* :class:`SegmentIndex` hashes the segments' bounding boxes, grown by ``grow_m``, into square
  cells of ``cell_m``. :meth:`SegmentIndex.near` gives, for points, every segment within
  ``grow_m`` (one cell per point: a segment that near is listed in the point's cell), and
  :meth:`SegmentIndex.owners_near_all` the owners near every point of a group;
  :meth:`SegmentIndex.meeting` gives, for other segments, every indexed segment whose grown box
  meets theirs, each pair once (counted in the cell holding the lower-left corner of the two
  boxes' intersection). All are exact supersets filtered exactly, so the cell size changes the
  speed, never the answer.

A uniform grid beats an R-tree here because segments are short and evenly spread (rivers and
boundaries digitised at a few metres to a few hundred), and because the whole join runs in a
handful of array operations instead of one tree query per segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

__all__ = [
    "MeasuredVertices",
    "SegmentIndex",
    "Segments",
    "boundary_segments",
    "expand_ranges",
    "measured_segments",
    "part_starts",
    "search_within",
    "vertex_steps",
]

_DENSE_CELLS = 1 << 22
"""Up to this many cells the index keeps a dense table of where each cell's entries start (O(1)
look-ups; one int32 array of this length, 16 MB at most); above it, look-ups bisect the sorted
cell keys."""


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For half-open ranges ``[lo, hi)``: (range number, position) of every member, in order."""
    counts = np.maximum(np.asarray(hi) - np.asarray(lo), 0)
    which = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)
    return which, pos


def search_within(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, query: np.ndarray, side: str = "left"
) -> np.ndarray:
    """For every ``query[i]``: where it would go in the sorted slice ``values[lo[i]:hi[i]]``
    (``np.searchsorted`` with ``side``), as a position in ``values``.

    A binary search of all queries at once, comparing the values themselves: the answer for one
    line's measures does not depend on the lines before it (a single sorted axis over all lines
    would add an offset, and round)."""
    lo = np.asarray(lo, dtype=np.int64).copy()
    hi = np.asarray(hi, dtype=np.int64).copy()
    query = np.asarray(query, dtype=float)
    active = np.flatnonzero(lo < hi)
    while len(active):
        mid = (lo[active] + hi[active]) // 2
        v = values[mid]
        right = v < query[active] if side == "left" else v <= query[active]
        lo[active] = np.where(right, mid + 1, lo[active])
        hi[active] = np.where(right, hi[active], mid)
        active = active[lo[active] < hi[active]]
    return lo


def run_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sums of ``values`` within each run ``[starts[i], starts[i + 1])``
    (``starts`` ascending, from 0), each added in order from its run's first value: a run's sums
    are bit for bit those of ``np.cumsum`` of that run alone, whatever runs come before it."""
    n = len(values)
    out = np.zeros(n)
    if n == 0:
        return out
    lengths = np.diff(np.r_[starts, n])
    # runs bucketed by length (powers of two), each bucket padded into rows of one 2-D cumsum
    bucket = np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64)
    for b in np.unique(bucket):
        runs = np.flatnonzero(bucket == b)
        which, pos = expand_ranges(starts[runs], starts[runs] + lengths[runs])
        col = pos - starts[runs][which]
        rows = np.zeros((len(runs), int(lengths[runs].max())))
        rows[which, col] = values[pos]
        out[pos] = np.cumsum(rows, axis=1)[which, col]
    return out


@dataclass
class Segments:
    """Straight segments ``(x0, y0) → (x0 + dx, y0 + dy)`` of lines, in line order.

    ``owner`` is the owner given for the segment's line, ``part`` the global index of its part
    (of :func:`shapely.get_parts` of all the lines), ``m0`` the measure of its start along the
    owner, in metres. ``xmin`` … ``ymax`` are the bounding boxes.
    """

    x0: np.ndarray
    y0: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    length: np.ndarray
    owner: np.ndarray
    part: np.ndarray
    m0: np.ndarray

    def __post_init__(self) -> None:
        x1, y1 = self.x0 + self.dx, self.y0 + self.dy
        self.xmin, self.xmax = np.minimum(self.x0, x1), np.maximum(self.x0, x1)
        self.ymin, self.ymax = np.minimum(self.y0, y1), np.maximum(self.y0, y1)

    def __len__(self) -> int:
        return len(self.x0)

    def take(self, idx: np.ndarray) -> Segments:
        """The segments at positions ``idx`` (an index array or a boolean mask)."""
        return Segments(
            self.x0[idx],
            self.y0[idx],
            self.dx[idx],
            self.dy[idx],
            self.length[idx],
            self.owner[idx],
            self.part[idx],
            self.m0[idx],
        )


@dataclass
class MeasuredVertices:
    """Every vertex of the lines with its measure along its owner (to cut lines by measure).

    ``coords`` (n × 2), ``vertex_m`` and ``coord_part`` per vertex; ``part_owner``,
    ``part_start_m`` (measure of the part's first vertex) and ``part_len`` per part.
    """

    coords: np.ndarray
    vertex_m: np.ndarray
    coord_part: np.ndarray
    part_owner: np.ndarray
    part_start_m: np.ndarray
    part_len: np.ndarray


def vertex_steps(coords: np.ndarray, coord_part: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the vertices ``coords`` of parts ``coord_part`` (in part order): the segments, as the
    position of their first vertex, and their lengths; the step to every vertex from the one
    before it (0 at a part's first vertex); and the position of every part's first vertex."""
    start = np.flatnonzero(coord_part[:-1] == coord_part[1:])
    length = np.hypot(coords[start + 1, 0] - coords[start, 0], coords[start + 1, 1] - coords[start, 1])
    step = np.zeros(len(coords))
    step[start + 1] = length
    first_vertex = np.r_[0, np.flatnonzero(coord_part[1:] != coord_part[:-1]) + 1] if len(coords) else np.zeros(0, int)
    return start, length, step, first_vertex


def part_starts(part_len: np.ndarray, part_line: np.ndarray) -> np.ndarray:
    """The measure at which each part starts along its line (``part_line``, ascending): the sum
    of the line's earlier parts, added in order from its first."""
    if not len(part_len):
        return np.zeros(0)
    first = np.r_[True, part_line[1:] != part_line[:-1]]
    return run_cumsum(np.where(first, 0.0, np.r_[0.0, part_len[:-1]]), np.flatnonzero(first))


def measured_segments(
    lines: np.ndarray,
    owners: np.ndarray | None = None,
    *,
    start_m: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[Segments, MeasuredVertices]:
    """The straight segments of ``lines`` (LineStrings, MultiLineStrings, or polygon boundaries
    given as lines) and their vertices, measured along each line from its first vertex.

    ``owners[i]`` is recorded for the segments of ``lines[i]`` (default ``i``).

    ``start_m = (run_m, part_m)``: the lines are pieces of longer lines (one part each, e.g. a
    reach cut at a tile's edge), and their measures continue those of the whole line: the first
    vertex of ``lines[i]`` lies ``run_m[i]`` metres along its part, whose start lies ``part_m[i]``
    along the whole line. The sums then run on from ``run_m[i]`` in the same order as for the
    whole line, so that every measure equals the whole line's bit for bit.
    """
    lines = np.asarray(lines, dtype=object)
    owners = np.arange(len(lines)) if owners is None else np.asarray(owners)
    parts, part_geom = shapely.get_parts(lines, return_index=True)
    part_owner = owners[part_geom]
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    start, length, vertex_step, first_vertex = vertex_steps(coords, coord_part)
    x0, y0 = coords[start, 0], coords[start, 1]
    dx, dy = coords[start + 1, 0] - x0, coords[start + 1, 1] - y0
    seg_part = coord_part[start]
    # measure of every vertex along its owner: parts follow each other without gaps. Sums run
    # within each part (and each owner) from its own start, so that a line's measures do not
    # depend on the lines before it in ``lines`` (a re-check of a few reaches gives the bits of
    # a full check)
    if start_m is None:
        part_len = np.bincount(coord_part, weights=vertex_step, minlength=len(parts))
        part_start_m = part_starts(part_len, part_geom)
    else:
        run_m, part_m = (np.asarray(v, dtype=float) for v in start_m)
        if len(parts) != len(lines):
            raise ValueError("start_m needs lines of one part each")
        vertex_step[first_vertex] = run_m[coord_part[first_vertex]]
        part_len = np.bincount(coord_part, weights=vertex_step, minlength=len(parts)) - run_m
        part_start_m = part_m[part_geom]
    vertex_local = run_cumsum(vertex_step, first_vertex) + part_start_m[coord_part]
    keep = length > 0
    seg = Segments(
        x0[keep],
        y0[keep],
        dx[keep],
        dy[keep],
        length[keep],
        part_owner[seg_part[keep]],
        seg_part[keep],
        vertex_local[start][keep],
    )
    return seg, MeasuredVertices(coords, vertex_local, coord_part, part_owner, part_start_m, part_len)


def boundary_segments(polygons: np.ndarray, owners: np.ndarray) -> Segments:
    """The straight segments of the rings of ``polygons`` (``owners[i]`` for ``polygons[i]``),
    without measures (``m0`` 0, ``part`` the ring): what the coverage check needs of grid
    boundaries, at a fraction of :func:`measured_segments`' cost."""
    parts, part_geom = shapely.get_parts(np.asarray(polygons, dtype=object), return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_geom = part_geom[ring_part]
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(ring[:-1] == ring[1:])
    x0, y0 = coords[start, 0], coords[start, 1]
    dx, dy = coords[start + 1, 0] - x0, coords[start + 1, 1] - y0
    length = np.hypot(dx, dy)
    keep = length > 0
    seg_ring = ring[start][keep]
    owner = np.asarray(owners)[ring_geom[seg_ring]]
    return Segments(x0[keep], y0[keep], dx[keep], dy[keep], length[keep], owner, seg_ring, np.zeros(int(keep.sum())))


@dataclass
class SegmentIndex:
    """A uniform grid hash of :class:`Segments` (see the module docstring); build it with
    :meth:`build`."""

    segments: Segments
    cell_m: float
    grow_m: float
    x0: float
    y0: float
    ncol: int
    nrow: int
    keys: np.ndarray  # sorted cell keys of the (cell, segment) entries
    segs: np.ndarray  # segment of each entry (ascending within a cell)
    starts: np.ndarray | None  # dense: entries of cell k are [starts[k], starts[k + 1]) (None: bisect)

    @classmethod
    def build(
        cls, segments: Segments, *, cell_m: float, grow_m: float = 0.0, max_cells_per_side: int | None = None
    ) -> SegmentIndex:
        """Hash ``segments`` into cells of ``cell_m`` metres (larger when ``max_cells_per_side``
        bounds the table), each listed in every cell its bounding box grown by ``grow_m`` meets."""
        g = float(grow_m)
        if len(segments):
            lo_x, hi_x = float(segments.xmin.min()) - g, float(segments.xmax.max()) + g
            lo_y, hi_y = float(segments.ymin.min()) - g, float(segments.ymax.max()) + g
        else:
            lo_x = hi_x = lo_y = hi_y = 0.0
        cell = float(cell_m)
        if max_cells_per_side:
            cell = max(cell, max(hi_x - lo_x, hi_y - lo_y) / max_cells_per_side)
        cell = max(cell, 1e-6)
        # the same arithmetic as _col_row, so that the highest coordinate falls in the last cell
        ncol = int(np.floor((hi_x - lo_x) / cell)) + 1
        nrow = int(np.floor((hi_y - lo_y) / cell)) + 1
        index = cls(segments, cell, g, lo_x, lo_y, ncol, nrow, np.zeros(0, np.int64), np.zeros(0, np.int64), None)
        seg, key = index._cells(segments.xmin - g, segments.ymin - g, segments.xmax + g, segments.ymax + g)
        order = np.argsort(key, kind="stable")
        index.keys, index.segs = key[order], seg[order]
        if ncol * nrow <= _DENSE_CELLS:
            starts = np.zeros(ncol * nrow + 1, np.int64)
            np.cumsum(np.bincount(index.keys, minlength=ncol * nrow), out=starts[1:])
            index.starts = starts.astype(np.int32 if len(key) < 2**31 else np.int64)
        return index

    def _col_row(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore"):
            return np.floor((x - self.x0) / self.cell_m), np.floor((y - self.y0) / self.cell_m)

    def _cells(
        self, xmin: np.ndarray, ymin: np.ndarray, xmax: np.ndarray, ymax: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(box number, cell key) of every cell of the table that each box meets (boxes are
        clipped to the table; boxes outside it, or not finite, meet none)."""
        cx0, cy0 = self._col_row(xmin, ymin)
        cx1, cy1 = self._col_row(xmax, ymax)
        inside = (cx1 >= 0) & (cy1 >= 0) & (cx0 < self.ncol) & (cy0 < self.nrow)
        inside &= np.isfinite(cx0) & np.isfinite(cy0) & np.isfinite(cx1) & np.isfinite(cy1)
        box = np.flatnonzero(inside)
        ix0 = np.clip(cx0[box], 0, self.ncol - 1).astype(np.int64)
        ix1 = np.clip(cx1[box], 0, self.ncol - 1).astype(np.int64)
        iy0 = np.clip(cy0[box], 0, self.nrow - 1).astype(np.int64)
        iy1 = np.clip(cy1[box], 0, self.nrow - 1).astype(np.int64)
        wx = ix1 - ix0 + 1
        n = wx * (iy1 - iy0 + 1)
        which = np.repeat(np.arange(len(box)), n)  # box order, and within a box row by row
        k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        keys = (iy0[which] + k // wx[which]) * self.ncol + ix0[which] + k % wx[which]
        return box[which], keys

    def _entries(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[lo, hi) of the entries of each cell ``key`` (valid keys only)."""
        if self.starts is not None:
            return self.starts[key].astype(np.int64), self.starts[key + 1].astype(np.int64)
        return np.searchsorted(self.keys, key, side="left"), np.searchsorted(self.keys, key, side="right")

    def near(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every segment within ``grow_m`` of each point ``(x, y)``.

        Returns ``(point, segment, distance, t)``: grouped by point in point order, segments in
        ascending order for each point; ``t`` in [0, 1] is where the nearest point of the segment
        lies (``x0 + t·dx``, ``y0 + t·dy``), ``distance`` in metres.
        """
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        ix, iy = self._col_row(x, y)
        ok = np.isfinite(ix) & np.isfinite(iy) & (ix >= 0) & (iy >= 0) & (ix < self.ncol) & (iy < self.nrow)
        key = np.where(ok, iy * self.ncol + ix, 0).astype(np.int64)
        lo, hi = self._entries(key)
        pt, pos = expand_ranges(lo, np.where(ok, hi, lo))
        seg = self.segs[pos]
        s = self.segments
        px, py = x[pt] - s.x0[seg], y[pt] - s.y0[seg]
        t = np.clip((px * s.dx[seg] + py * s.dy[seg]) / (s.length[seg] ** 2), 0.0, 1.0)
        d = np.hypot(px - t * s.dx[seg], py - t * s.dy[seg])
        close = d <= self.grow_m
        return pt[close], seg[close], d[close], t[close]

    def owners_near_all(self, x: np.ndarray, y: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For points in groups (``group[i]``, an int >= 0, for point ``i``): the pairs ``(group,
        owner)`` such that every point of the group lies within ``grow_m`` of some segment of
        that owner (owners are ints >= 0). Sorted, each pair once."""
        group = np.asarray(group, np.int64)
        pt, seg, _, _ = self.near(x, y)
        if not len(pt):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        n = int(self.segments.owner.max()) + 1
        point_owner = np.unique(pt.astype(np.int64) * n + self.segments.owner[seg])  # each (point, owner) once
        keys, counts = np.unique(group[point_owner // n] * n + point_owner % n, return_counts=True)
        full = keys[counts == np.bincount(group)[keys // n]]
        return full // n, full % n

    def meeting(self, other: Segments) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(other segment, indexed segment)`` whose bounding boxes meet (the indexed ones
        grown by ``grow_m``), each pair once."""
        empty = np.zeros(0, np.int64)
        if not len(other) or not len(self.segs):
            return empty, empty
        o_idx, key = self._cells(other.xmin, other.ymin, other.xmax, other.ymax)
        lo, hi = self._entries(key)
        busy = hi > lo
        o_idx, key, lo, hi = o_idx[busy], key[busy], lo[busy], hi[busy]
        which, pos = expand_ranges(lo, hi)
        os_, is_, key = o_idx[which], self.segs[pos], key[which]
        s, g = self.segments, self.grow_m
        oxmin, oymin = other.xmin[os_], other.ymin[os_]
        sxmin, symin = s.xmin[is_] - g, s.ymin[is_] - g
        meet = (
            (oxmin <= s.xmax[is_] + g)
            & (sxmin <= other.xmax[os_])
            & (oymin <= s.ymax[is_] + g)
            & (symin <= other.ymax[os_])
        )
        os_, is_, key = os_[meet], is_[meet], key[meet]
        # count each pair in the cell of the lower-left corner of the two boxes' intersection
        cx, cy = self._col_row(np.maximum(oxmin[meet], sxmin[meet]), np.maximum(oymin[meet], symin[meet]))
        once = cy.astype(np.int64) * self.ncol + cx.astype(np.int64) == key
        return os_[once], is_[once]
