"""The embedded store's tile cache: a SQLite file beside the store with an R-tree of the reaches
and the tiles already encoded.

The store's SQLite file keeps geometries as WKB without a spatial index, so a tile would otherwise
read every reach. This file (``<store file>-maptiles.sqlite``) holds, per live reach, its version,
bounding box (decimal degrees) and web-mercator length, an R-tree over the boxes, and the encoded
tiles asked for so far. It is kept in step with the store by :meth:`TileIndex.sync`, given the
reaches' data version (the newest audit entry of ``reaches``): when that changed, the ids and row
versions of the live reaches are compared with the file's; only the reaches added, changed or
deleted are read and re-indexed, and only the cached tiles whose envelope meets their old or new
box are dropped (every zoom). The file can be deleted at any time: it is rebuilt on the next tile.

Reading the store stays with the caller (:mod:`gis.maptiles.service`): this module takes plain
rows and callables, and speaks only to its own file.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.maptiles.core import MAX_ZOOM, mercator_length, tile_range

__all__ = ["FORMAT", "IndexedReach", "TileIndex", "index_path"]

FORMAT = "1"
"""Layout of the file; a file of another layout is rebuilt."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reach (
    id INTEGER PRIMARY KEY, version INTEGER NOT NULL,
    minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL, maxy REAL NOT NULL,
    length_m REAL NOT NULL, ground_m REAL NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS reach_box USING rtree(id, minx, maxx, miny, maxy, +length_m REAL);
CREATE TABLE IF NOT EXISTS tile (z INTEGER, x INTEGER, y INTEGER, data BLOB NOT NULL, PRIMARY KEY (z, x, y));
"""


def index_path(store_file: Path) -> Path:
    """Where the tile cache of the SQLite store ``store_file`` lives."""
    return store_file.with_name(store_file.name + "-maptiles.sqlite")


@dataclass(frozen=True)
class IndexedReach:
    """What the index keeps of a reach: row version, lon/lat box, web-mercator length and
    (approximate) length on the ground, metres."""

    id: int
    version: int
    box: tuple[float, float, float, float]
    length_m: float
    ground_m: float


class TileIndex:
    """The tile cache file at ``path`` (created on first use). Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._init_lock = threading.Lock()
        self._ready = False

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        if not self._ready:
            with self._init_lock:
                if not self._ready:
                    row = None
                    try:
                        row = con.execute("SELECT value FROM state WHERE key = 'format'").fetchone()
                    except sqlite3.OperationalError:
                        pass
                    if row is not None and row[0] != FORMAT:
                        con.executescript(
                            "DROP TABLE IF EXISTS tile; DROP TABLE IF EXISTS reach_box;"
                            "DROP TABLE IF EXISTS reach; DROP TABLE IF EXISTS state;"
                        )
                    con.executescript(_SCHEMA)
                    con.execute("INSERT OR REPLACE INTO state VALUES ('format', ?)", (FORMAT,))
                    self._ready = True
        return con

    # -- state ------------------------------------------------------------------------------

    def version(self) -> str | None:
        """The reaches' data version the file is in step with (None: never filled)."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT value FROM state WHERE key = 'version'").fetchone()
        return str(row[0]) if row else None

    def extent(self) -> tuple[float, float, float, float] | None:
        """``(west, south, east, north)`` of every indexed reach, None when there is none."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT min(minx), min(miny), max(maxx), max(maxy) FROM reach").fetchone()
        if row is None or row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def stats(self) -> tuple[int, float]:
        """Number of indexed reaches and their total length on the ground in metres (web-mercator
        length scaled at each reach's middle latitude: within 0.1 % for reaches of a few km)."""
        with closing(self._connect()) as con:
            n, total = con.execute("SELECT count(*), coalesce(sum(ground_m), 0) FROM reach").fetchone()
        return int(n), float(total)

    # -- keeping in step --------------------------------------------------------------------

    def sync(
        self,
        version: str,
        live: Callable[[], Iterable[tuple[int, int]]],
        geometries: Callable[[Sequence[int]], Iterable[tuple[int, BaseGeometry | None]]],
    ) -> int:
        """Bring the file in step with the reaches at ``version``; the number of reaches
        re-indexed or removed (0 when it already was).

        ``live()``: ``(id, row version)`` of every live reach; ``geometries(ids)``: ``(id, line in
        decimal degrees)`` of those reaches (asked for in chunks).
        """
        with self._lock, closing(self._connect()) as con:
            row = con.execute("SELECT value FROM state WHERE key = 'version'").fetchone()
            if row is not None and row[0] == version:
                return 0
            held = {
                int(i): (int(v), (a, b, c, d))
                for i, v, a, b, c, d in con.execute("SELECT id, version, minx, miny, maxx, maxy FROM reach")
            }
            now = {int(i): int(v) for i, v in live()}
            changed = [i for i, v in now.items() if held.get(i, (None,))[0] != v]
            removed = [i for i in held if i not in now]
            boxes = [held[i][1] for i in removed] + [held[i][1] for i in changed if i in held]
            fresh: list[IndexedReach] = []
            for start in range(0, len(changed), 5000):
                chunk = changed[start : start + 5000]
                rows = list(geometries(chunk))
                geoms = np.asarray([g for _, g in rows], dtype=object)
                bounds = shapely.bounds(geoms)
                lengths = mercator_length(geoms)
                for (rid, _), b, length in zip(rows, bounds, lengths, strict=True):
                    if not np.isfinite(b).all():
                        continue
                    box = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
                    ground = float(length) * math.cos(math.radians((box[1] + box[3]) / 2))
                    fresh.append(IndexedReach(rid, now[rid], box, float(length), ground))
            indexed = {r.id for r in fresh}
            gone = [i for i in changed if i not in indexed]  # no geometry any more
            boxes += [r.box for r in fresh]
            con.execute("BEGIN IMMEDIATE")
            try:
                for rid in [*removed, *changed]:
                    con.execute("DELETE FROM reach WHERE id = ?", (rid,))
                    con.execute("DELETE FROM reach_box WHERE id = ?", (rid,))
                con.executemany(
                    "INSERT INTO reach VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(r.id, r.version, *r.box, r.length_m, r.ground_m) for r in fresh],
                )
                con.executemany(
                    "INSERT INTO reach_box VALUES (?, ?, ?, ?, ?, ?)",
                    [(r.id, r.box[0], r.box[2], r.box[1], r.box[3], r.length_m) for r in fresh],
                )
                if row is None or not held:
                    con.execute("DELETE FROM tile")
                else:
                    self._drop_tiles(con, boxes)
                con.execute("INSERT OR REPLACE INTO state VALUES ('version', ?)", (version,))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return len(fresh) + len(removed) + len(gone)

    @staticmethod
    def _drop_tiles(con: sqlite3.Connection, boxes: Sequence[tuple[float, float, float, float]]) -> None:
        for box in boxes:
            for z in range(MAX_ZOOM + 1):
                x0, y0, x1, y1 = tile_range(z, box)
                con.execute(
                    "DELETE FROM tile WHERE z = ? AND x BETWEEN ? AND ? AND y BETWEEN ? AND ?", (z, x0, x1, y0, y1)
                )

    # -- tiles ------------------------------------------------------------------------------

    def candidates(
        self, box: tuple[float, float, float, float], *, min_length_m: float = 0.0, limit: int | None = None
    ) -> list[int]:
        """Ids of the reaches whose box meets ``box`` (west, south, east, north) and that are at
        least ``min_length_m`` long, the longest first (at most ``limit``; ties by id)."""
        west, south, east, north = box
        sql = (
            "SELECT id FROM reach_box WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?"
            " AND length_m >= ? ORDER BY length_m DESC, id"
        )
        params: list[float | int] = [east, west, north, south, min_length_m]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with closing(self._connect()) as con:
            return [int(r[0]) for r in con.execute(sql, params)]

    def cached(self, z: int, x: int, y: int) -> bytes | None:
        """The cached tile ``z/x/y`` (gzip-compressed MVT), None when not cached."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT data FROM tile WHERE z = ? AND x = ? AND y = ?", (z, x, y)).fetchone()
        return bytes(row[0]) if row else None

    def store(self, version: str, z: int, x: int, y: int, data: bytes) -> bool:
        """Cache tile ``z/x/y`` made from the reaches at ``version``; refused (False) when the file
        has moved on to another version meanwhile."""
        with closing(self._connect()) as con:
            cur = con.execute(
                "INSERT OR REPLACE INTO tile SELECT ?, ?, ?, ?"
                " WHERE (SELECT value FROM state WHERE key = 'version') = ?",
                (z, x, y, data, version),
            )
            return cur.rowcount > 0

    def tile_count(self) -> int:
        """Number of cached tiles."""
        with closing(self._connect()) as con:
            return int(con.execute("SELECT count(*) FROM tile").fetchone()[0])
