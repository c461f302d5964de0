"""Vector tiles of the river reaches: tile maths, generalisation per zoom, MVT encoding (pure).

Tiles are in the XYZ scheme of web mercator (EPSG:3857). A tile's features are the reaches that
intersect its envelope grown by :data:`BUFFER` tile units on every side (:func:`query_box`, in
decimal degrees: the envelope of a web-mercator tile is a longitude/latitude rectangle), clipped
to that grown envelope, simplified by half a display pixel and encoded with ``mapbox-vector-tile``
in layer :data:`LAYER` (feature id = reach id; properties ``id``, ``name``, ``level``).

Generalisation: from :data:`FULL_ZOOM` on every reach is in its tiles. Below it a tile keeps the
reaches at least :data:`MIN_PIXELS` display pixels long, the longest first, at most
:data:`MAX_FEATURES` (so a tile of the whole country holds the main rivers, not 450,000 lines).
The maps draw a data tile over 2×2 screen tiles (protomaps-leaflet's ``levelDiff`` 1): one data
tile is :data:`DISPLAY_PX` pixels wide.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import mapbox_vector_tile  # type: ignore[import-untyped]
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "BUFFER",
    "DISPLAY_PX",
    "EXTENT",
    "FULL_ZOOM",
    "LAYER",
    "MAX_FEATURES",
    "MAX_ZOOM",
    "MIN_PIXELS",
    "ReachFeature",
    "encode_tile",
    "lonlat_to_mercator",
    "mercator_bounds",
    "mercator_length",
    "min_length_m",
    "query_box",
    "tile_range",
    "tile_size_m",
    "valid_tile",
]

LAYER = "rivers"
"""Name of the tiles' one layer (and of the tile set)."""

EXTENT = 4096
"""Tile coordinate units across a tile."""

BUFFER = 64
"""Tile units around a tile that its features still cover (so lines join across tile edges)."""

DISPLAY_PX = 512
"""Screen pixels across a data tile as the maps draw it."""

FULL_ZOOM = 12
"""From this data zoom on, every reach is in its tiles (no generalisation but simplification)."""

MAX_ZOOM = 14
"""Deepest data zoom (the maps draw deeper zooms from these tiles)."""

MIN_PIXELS = 2.0
"""Below :data:`FULL_ZOOM`, reaches shorter than this many display pixels are left out."""

MAX_FEATURES = 3000
"""Below :data:`FULL_ZOOM`, a tile holds at most this many reaches (the longest)."""

EARTH_RADIUS_M = 6_378_137.0
HALF_WORLD_M = math.pi * EARTH_RADIUS_M
MAX_LAT = 85.0511287798066


@dataclass(frozen=True)
class ReachFeature:
    """One reach for a tile: id, name, level code and its line in decimal degrees."""

    id: int
    name: str
    level: str
    geometry: BaseGeometry


def valid_tile(z: int, x: int, y: int) -> bool:
    """Whether ``z/x/y`` is a tile of the pyramid (``0 <= z <= 30``, ``x``/``y`` in range)."""
    return 0 <= z <= 30 and 0 <= x < (1 << z) and 0 <= y < (1 << z)


def tile_size_m(z: int) -> float:
    """Width of a tile of zoom ``z`` in web-mercator metres."""
    return 2 * HALF_WORLD_M / float(1 << z)


def mercator_bounds(z: int, x: int, y: int, *, buffer: float = 0.0) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of tile ``z/x/y`` in EPSG:3857 metres, grown by ``buffer``
    tile units (of :data:`EXTENT`) on every side."""
    size = tile_size_m(z)
    pad = size * buffer / EXTENT
    minx = -HALF_WORLD_M + x * size
    maxy = HALF_WORLD_M - y * size
    return (minx - pad, maxy - size - pad, minx + size + pad, maxy + pad)


def _lon(mx: float) -> float:
    return math.degrees(mx / EARTH_RADIUS_M)


def _lat(my: float) -> float:
    return math.degrees(2 * math.atan(math.exp(my / EARTH_RADIUS_M)) - math.pi / 2)


def query_box(z: int, x: int, y: int, *, buffer: float = BUFFER) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in decimal degrees of tile ``z/x/y`` grown by ``buffer``
    tile units: the reaches that intersect it are the tile's candidates."""
    minx, miny, maxx, maxy = mercator_bounds(z, x, y, buffer=buffer)
    return (_lon(minx), _lat(miny), _lon(maxx), _lat(maxy))


def tile_range(z: int, box: Sequence[float]) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``, inclusive, of the tiles of zoom ``z`` whose grown envelope
    (:func:`query_box`) may meet the lon/lat rectangle ``box`` = (west, south, east, north)."""
    west, south, east, north = box
    n = 1 << z
    pad = BUFFER / EXTENT + 1e-9

    def tx(lon: float) -> float:
        return (lon + 180.0) / 360.0 * float(n)

    def ty(lat: float) -> float:
        lat = max(-MAX_LAT, min(MAX_LAT, lat))
        r = math.radians(lat)
        return (1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * float(n)

    x0 = max(0, math.floor(tx(west) - pad))
    x1 = min(n - 1, math.floor(tx(east) + pad))
    y0 = max(0, math.floor(ty(north) - pad))
    y1 = min(n - 1, math.floor(ty(south) + pad))
    return x0, y0, x1, y1


def _to_mercator(coords: np.ndarray) -> np.ndarray:
    lon, lat = coords[:, 0], np.clip(coords[:, 1], -MAX_LAT, MAX_LAT)
    mx = np.radians(lon) * EARTH_RADIUS_M
    my = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS_M
    return np.column_stack([mx, my])


def lonlat_to_mercator(geoms: Iterable[BaseGeometry | None]) -> np.ndarray:
    """The geometries (decimal degrees) in EPSG:3857 metres (vectorised, 2D)."""
    arr = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
    merc: np.ndarray = np.asarray(shapely.transform(shapely.force_2d(arr), _to_mercator))
    return merc


def mercator_length(geoms: Iterable[BaseGeometry | None]) -> np.ndarray:
    """Lengths in web-mercator metres (the map's own measure of how long a line looks)."""
    lengths: np.ndarray = np.nan_to_num(np.asarray(shapely.length(lonlat_to_mercator(geoms)), dtype=float))
    return lengths


def min_length_m(z: int) -> float:
    """Shortest reach (web-mercator metres) kept in a tile of zoom ``z`` (0 from :data:`FULL_ZOOM`)."""
    if z >= FULL_ZOOM:
        return 0.0
    return MIN_PIXELS * tile_size_m(z) / DISPLAY_PX


def encode_tile(features: Sequence[ReachFeature], z: int, x: int, y: int) -> bytes:
    """The gzip-compressed Mapbox vector tile ``z/x/y`` of ``features`` (those that still have a
    piece inside the grown envelope after clipping); a tile without features has no layer.

    The caller picks the features (:func:`query_box`, :func:`min_length_m`, :data:`MAX_FEATURES`).
    """
    minx, _, maxx, maxy = mercator_bounds(z, x, y)
    grown = mercator_bounds(z, x, y, buffer=BUFFER)
    tolerance = tile_size_m(z) / DISPLAY_PX / 2
    scale = EXTENT / (maxx - minx)

    def to_tile(coords: np.ndarray) -> np.ndarray:  # tile units, y down, whole numbers
        return np.round(np.column_stack([(coords[:, 0] - minx) * scale, (maxy - coords[:, 1]) * scale]))

    rows = []
    if features:
        merc = lonlat_to_mercator([f.geometry for f in features])
        clipped = shapely.clip_by_rect(merc, *grown)
        simple = shapely.simplify(clipped, tolerance, preserve_topology=False)
        for feature, geom in zip(features, simple, strict=True):
            if geom is None or geom.is_empty or shapely.length(geom) <= 0:
                continue
            units = shapely.transform(geom, to_tile)
            if shapely.length(units) <= 0:
                continue
            rows.append(
                {
                    "geometry": units,
                    "id": int(feature.id),
                    "properties": {"id": int(feature.id), "name": feature.name, "level": feature.level},
                }
            )
    if not rows:
        return gzip.compress(b"", mtime=0)
    data = mapbox_vector_tile.encode(
        [{"name": LAYER, "features": rows}],
        default_options={"extents": EXTENT, "y_coord_down": True},
    )
    return gzip.compress(data, mtime=0)
