"""An updatable index of bounding boxes: a uniform hash of square cells, kept in a dict.

:class:`shapely.STRtree` cannot change once built, so a coverage re-check after one grid edit
that used it rebuilt the tree of every grid. :class:`BoxIndex` answers the same question
(which boxes meet these boxes, envelopes touching included, as ``STRtree.query`` without a
predicate) and replaces one entry in place: the cost of :meth:`BoxIndex.update` and of a query
depends on the boxes involved and on the few cells they cover, not on how many boxes there are.

Boxes spanning more than :data:`MAX_CELLS` cells (a county drawn among village grids) are kept
apart in a short list checked against every query, so that one big box costs no dict of
thousands of cells.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

MAX_CELLS = 256
"""A box covering more cells than this is kept in the list of big boxes."""


def _bounds(geoms: np.ndarray) -> np.ndarray:
    """Envelopes (n × 4), NaN for missing or empty geometries (they meet nothing)."""
    if not len(geoms):
        return np.zeros((0, 4))
    out = shapely.bounds(geoms)
    out[shapely.is_missing(geoms) | shapely.is_empty(geoms)] = np.nan
    return np.asarray(out, dtype=float)


class BoxIndex:
    """Envelopes of ``geoms`` by position, hashed into square cells of side ``cell``.

    ``cell`` defaults to the median of the boxes' larger sides, so a typical box covers a
    handful of cells.
    """

    def __init__(self, geoms: np.ndarray, cell: float | None = None) -> None:
        self.boxes = _bounds(np.asarray(geoms, dtype=object))
        ok = ~np.isnan(self.boxes[:, 0])
        if cell is None:
            sides = np.maximum(self.boxes[ok, 2] - self.boxes[ok, 0], self.boxes[ok, 3] - self.boxes[ok, 1])
            cell = float(np.median(sides)) if ok.any() else 1.0
        self.cell = cell if cell > 0 and np.isfinite(cell) else 1.0
        self._cells: dict[tuple[int, int], set[int]] = {}
        self._big: set[int] = set()
        for i in np.flatnonzero(ok):
            self._add(int(i))

    def _span(self, box: np.ndarray) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = (np.floor(box / self.cell)).astype(np.int64).tolist()
        return x0, y0, x1, y1

    def _keys(self, i: int) -> Iterable[tuple[int, int]] | None:
        x0, y0, x1, y1 = self._span(self.boxes[i])
        if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_CELLS:
            return None
        return ((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))

    def _add(self, i: int) -> None:
        keys = self._keys(i)
        if keys is None:
            self._big.add(i)
            return
        for k in keys:
            self._cells.setdefault(k, set()).add(i)

    def _remove(self, i: int) -> None:
        if np.isnan(self.boxes[i, 0]):
            return
        keys = self._keys(i)
        if keys is None:
            self._big.discard(i)
            return
        for k in keys:
            members = self._cells[k]
            members.discard(i)
            if not members:
                del self._cells[k]

    def update(self, i: int, geom: object) -> None:
        """Give entry ``i`` the envelope of ``geom`` (``None`` or empty: it meets nothing)."""
        self._remove(i)
        self.boxes[i] = _bounds(np.array([geom], dtype=object))[0]
        if not np.isnan(self.boxes[i, 0]):
            self._add(i)

    def query(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(position in geoms, entry)`` whose envelopes meet (touching included), sorted
        by position then entry: the pairs ``STRtree(entries).query(geoms)`` returns."""
        q = _bounds(np.asarray(geoms, dtype=object))
        cand: set[int] = set(self._big)
        for box in q[~np.isnan(q[:, 0])]:
            x0, y0, x1, y1 = self._span(box)
            if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_CELLS * 16:  # a huge query box: test every entry
                cand.update(np.flatnonzero(~np.isnan(self.boxes[:, 0])).tolist())
                break
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    members = self._cells.get((x, y))
                    if members:
                        cand.update(members)
        if not cand or not len(q):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        c = np.array(sorted(cand), dtype=np.int64)
        b = self.boxes[c]
        meet = (
            (b[None, :, 0] <= q[:, None, 2])
            & (b[None, :, 2] >= q[:, None, 0])
            & (b[None, :, 1] <= q[:, None, 3])
            & (b[None, :, 3] >= q[:, None, 1])
        )
        qi, ci = np.nonzero(meet)
        return qi.astype(np.int64), c[ci]


__all__ = ["MAX_CELLS", "BoxIndex"]
