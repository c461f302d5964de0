"""The ``rivers`` tile set and the reach queries of a map that does not load every reach.

* :class:`RiverTileSource`: the reaches as vector tiles (:mod:`gis.maptiles.core`), registered
  with :func:`gis.basemap.sources.register_tile_source` as ``rivers`` and so served by the tile
  route (``/api/tiles/rivers/{z}/{x}/{y}.mvt``, TileJSON ``/api/tiles/rivers.json``). In server
  mode (PostgreSQL + PostGIS) each tile is one SQL statement: ``ST_AsMVT`` over ``ST_AsMVTGeom``
  of the reaches meeting the ``ST_TileEnvelope`` (GiST index), simplified by half a pixel. On the
  embedded SQLite store the tiles come from the tile cache (:mod:`gis.maptiles.index`), made on
  demand and kept until a reach they show changes.
* The version of the set (in its TileJSON and tile URLs) is the reaches' data version: the newest
  audit entry of ``reaches`` and the highest reach id.
* :func:`reach_totals` (count and length of the live reaches without reading their lines on
  PostGIS, from the cache on SQLite) and :func:`reach_ids_near` (the reaches within a radius of a
  point: the click on a map drawn from tiles) serve the home page.
"""

from __future__ import annotations

import gzip
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.basemap.archives import TileSetInfo
from gis.basemap.sources import Tile, register_tile_source
from gis.config import Settings
from gis.maptiles.core import (
    BUFFER,
    EXTENT,
    FULL_ZOOM,
    LAYER,
    MAX_FEATURES,
    MAX_ZOOM,
    ReachFeature,
    encode_tile,
    min_length_m,
    query_box,
    tile_size_m,
    valid_tile,
)
from gis.maptiles.index import TileIndex, index_path
from gis.store import Store
from gis.store.schema import AuditEntry, Reach, not_deleted

__all__ = [
    "NAME",
    "RiverTileSource",
    "reach_count",
    "reach_ids_near",
    "reach_totals",
    "reaches_version",
    "river_tiles",
]

NAME = "rivers"
"""Name of the tile set (``/api/tiles/rivers/…``)."""

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

VECTOR_LAYERS = (
    {
        "id": LAYER,
        "description": "河段",
        "fields": {"id": "Number", "name": "String", "level": "String"},
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
    },
)

_POSTGIS_TILE = text(
    """
    WITH env AS (
        SELECT ST_TileEnvelope(:z, :x, :y) AS e,
               ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS b
    ), cand AS (
        SELECT r.id, r.name, r.level, ST_Transform(r.geom, 3857) AS g
        FROM reaches r, env
        WHERE r.deleted_at IS NULL AND r.geom && env.b AND ST_Intersects(r.geom, env.b)
    ), kept AS (
        SELECT id, name, level, g FROM cand
        WHERE :full OR ST_Length(g) >= :min_len
        ORDER BY ST_Length(g) DESC, id
        LIMIT :lim
    ), mvt AS (
        SELECT id AS fid, id, name, level,
               ST_AsMVTGeom(ST_Simplify(g, :tol), env.e, :extent, :buffer, true) AS geom
        FROM kept, env
    )
    SELECT ST_AsMVT(mvt.*, :layer, :extent, 'geom', 'fid') FROM mvt WHERE geom IS NOT NULL
    """
)


def reaches_version(session: Session) -> str:
    """The reaches' data version: newest audit entry of ``reaches`` and highest reach id (both
    read from an index, so cheap however many reaches there are)."""
    audit = session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.table_name == "reaches")) or 0
    top = session.scalar(select(func.max(Reach.id))) or 0
    return f"{int(audit)}.{int(top)}"


def _live_versions(session: Session) -> list[tuple[int, int]]:
    return [(int(i), int(v)) for i, v in session.execute(select(Reach.id, Reach.version).where(not_deleted(Reach)))]


def _geometries(session: Session, ids: Sequence[int]) -> list[tuple[int, BaseGeometry | None]]:
    rows: list[tuple[int, BaseGeometry | None]] = []
    for start in range(0, len(ids), 900):
        chunk = list(ids[start : start + 900])
        rows += [(int(i), g) for i, g in session.execute(select(Reach.id, Reach.geom).where(Reach.id.in_(chunk)))]
    return rows


def _features(session: Session, ids: Sequence[int]) -> list[ReachFeature]:
    order = {rid: n for n, rid in enumerate(ids)}
    found: list[ReachFeature] = []
    for start in range(0, len(ids), 900):
        chunk = list(ids[start : start + 900])
        for rid, name, level, geom in session.execute(
            select(Reach.id, Reach.name, Reach.level, Reach.geom).where(Reach.id.in_(chunk))
        ):
            if geom is not None and not geom.is_empty:
                found.append(ReachFeature(int(rid), str(name or ""), str(level or ""), geom))
    found.sort(key=lambda f: order[f.id])
    return found


@dataclass
class _Cached:
    version: str
    extent: tuple[float, float, float, float] | None


class RiverTileSource:
    """The reaches of ``store`` as the tile set :data:`NAME` (a :class:`gis.basemap.sources.TileSource`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._extent: _Cached | None = None
        self._index: TileIndex | None = None
        if store.backend == "sqlite":
            database = store.engine.url.database
            if not database or database == ":memory:":
                raise ValueError("the tile cache needs a SQLite store in a file")
            self._index = TileIndex(index_path(Path(database)))

    @property
    def name(self) -> str:
        return NAME

    @property
    def index(self) -> TileIndex | None:
        """The tile cache (SQLite store), None in server mode."""
        return self._index

    def sync(self, session: Session | None = None) -> str:
        """Bring the tile cache in step with the reaches (SQLite; nothing to do on PostGIS); the
        reaches' data version."""
        if session is None:
            with self.store.session() as s:
                return self.sync(s)
        version = reaches_version(session)
        if self._index is not None:
            self._index.sync(version, lambda: _live_versions(session), lambda ids: _geometries(session, ids))
        return version

    def _bounds(self, session: Session, version: str) -> tuple[float, float, float, float] | None:
        with self._lock:
            held = self._extent
        if held is not None and held.version == version:
            return held.extent
        if self._index is not None:
            extent = self._index.extent()
        else:
            row = session.execute(
                text(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom) AS e FROM reaches WHERE deleted_at IS NULL) s"
                )
            ).one()
            extent = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
        with self._lock:
            self._extent = _Cached(version, extent)
        return extent

    def info(self) -> TileSetInfo | None:
        with self.store.session() as s:
            version = self.sync(s)
            extent = self._bounds(s, version)
        if extent is None:
            return None
        west, south, east, north = extent
        return TileSetInfo(
            format="pbf",
            compression="gzip",
            minzoom=0,
            maxzoom=MAX_ZOOM,
            bounds=(max(west, -180.0), max(south, -85.0), min(east, 180.0), min(north, 85.0)),
            center=((west + east) / 2, (south + north) / 2, 10),
            name="河段",
            description="河段（按视野和缩放级别切分的矢量瓦片）",
            attribution="河段数据",
            vector_layers=VECTOR_LAYERS,
            version=version,
        )

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        if not valid_tile(z, x, y) or z > MAX_ZOOM:
            return None
        with self.store.session() as s:
            data = self._postgis(s, z, x, y) if self._index is None else self._sqlite(s, z, x, y)
        return Tile(data, MEDIA_TYPE, True)

    def _postgis(self, session: Session, z: int, x: int, y: int) -> bytes:
        raw = session.execute(
            _POSTGIS_TILE,
            {
                "z": z,
                "x": x,
                "y": y,
                "margin": BUFFER / EXTENT,
                "full": z >= FULL_ZOOM,
                "min_len": min_length_m(z),
                "lim": MAX_FEATURES if z < FULL_ZOOM else 2**31 - 1,
                "tol": tile_size_m(z) / 512 / 2,
                "extent": EXTENT,
                "buffer": BUFFER,
                "layer": LAYER,
            },
        ).scalar()
        return gzip.compress(bytes(raw or b""), mtime=0)

    def _sqlite(self, session: Session, z: int, x: int, y: int) -> bytes:
        assert self._index is not None
        version = self.sync(session)
        cached = self._index.cached(z, x, y)
        if cached is not None:
            return cached
        box = query_box(z, x, y)
        ids = self._index.candidates(
            box, min_length_m=min_length_m(z), limit=None if z >= FULL_ZOOM else MAX_FEATURES * 2
        )
        features = _features(session, ids)
        grown = shapely.box(*box)
        hits = shapely.intersects([f.geometry for f in features], grown) if features else []
        kept = [f for f, hit in zip(features, hits, strict=True) if hit]
        if z < FULL_ZOOM:
            kept = kept[:MAX_FEATURES]
        data = encode_tile(kept, z, x, y)
        self._index.store(version, z, x, y, data)
        return data


_sources_lock = threading.Lock()
_sources: dict[str, RiverTileSource] = {}


def river_tiles(store: Store) -> RiverTileSource:
    """The one :class:`RiverTileSource` of ``store`` in this process."""
    with _sources_lock:
        source = _sources.get(store.url)
        if source is None or source.store is not store:
            source = _sources[store.url] = RiverTileSource(store)
        return source


class _ProcessRiverTiles:
    """The ``rivers`` set of the process's store, opened on the first tile or TileJSON (listing the
    tile sources, as the basemap catalog does, opens no store)."""

    name = NAME

    @staticmethod
    def _source() -> RiverTileSource:
        from gis.serving import process_store  # noqa: PLC0415 — opening the process's store loads the demo: only when tiles are asked for

        return river_tiles(process_store())

    def info(self) -> TileSetInfo | None:
        return self._source().info()

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        return self._source().tile(z, x, y)


def _factory(config: Settings) -> _ProcessRiverTiles:
    return _ProcessRiverTiles()


register_tile_source(NAME, _factory)


def reach_count(store: Store) -> int:
    """Number of live reaches (one SQL count)."""
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Reach).where(not_deleted(Reach))) or 0)


def reach_totals(store: Store) -> tuple[int, float]:
    """Number of live reaches and their total length in metres, without loading them: PostGIS
    sums geodesic lengths; on SQLite the tile cache (brought in step first) holds every reach's length."""
    source = river_tiles(store)
    with store.session() as s:
        if source.index is not None:
            source.sync(s)
            return source.index.stats()
        n, total = s.execute(
            text("SELECT count(*), coalesce(sum(ST_Length(geom::geography)), 0) FROM reaches WHERE deleted_at IS NULL")
        ).one()
    return int(n), float(total)


def reach_ids_near(store: Store, lon: float, lat: float, radius_m: float) -> list[int]:
    """Ids of the live reaches whose bounding box comes within ``radius_m`` metres of (lon, lat)
    (a superset of those within the radius: the caller measures exactly)."""
    dy = radius_m / 110_574.0
    dx = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    box = (lon - dx, lat - dy, lon + dx, lat + dy)
    source = river_tiles(store)
    with store.session() as s:
        if source.index is not None:
            source.sync(s)
            return source.index.candidates(box)
        rows: Iterable[tuple[int]] = s.execute(
            text("SELECT id FROM reaches WHERE deleted_at IS NULL AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"),
            dict(zip(("w", "s", "e", "n"), box, strict=True)),
        ).all()
        return [int(r[0]) for r in rows]
