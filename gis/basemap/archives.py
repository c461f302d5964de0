"""Tile archives on disk: PMTiles and MBTiles files, raster or vector, read tile by tile.

:func:`open_archive` recognises the file by its content (the PMTiles magic, an SQLite header)
and returns a :class:`TileArchive`: what the file holds (:class:`TileSetInfo`: format, zoom range,
bounds, attribution, vector layers) and :meth:`TileArchive.tile` for the stored bytes of one
tile, exactly as stored (a gzip-compressed vector tile stays compressed: the HTTP layer decides
whether to send it so, see :attr:`TileSetInfo.compression`).

* **PMTiles** (version 3) through the ``pmtiles`` package's directory functions
  (:mod:`pmtiles.tile`); the file is memory-mapped and its root and leaf directories are
  decoded once and kept (the package's own ``Reader.get`` decodes them on every call).
* **MBTiles** through :mod:`sqlite3`, opened read-only; rows are TMS (``tile_row`` counts from
  the south), turned into XYZ here.

Both are safe to read from several threads at once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import mmap
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pmtiles.tile import Compression, TileType, deserialize_directory, deserialize_header, find_tile, zxy_to_tileid

from gis.errors import NotFoundError, ValidationError

__all__ = [
    "MEDIA_TYPES",
    "MBTilesArchive",
    "PMTilesArchive",
    "TileArchive",
    "TileSetInfo",
    "is_gzip",
    "open_archive",
    "tile_in_range",
]

MEDIA_TYPES = {
    "pbf": "application/vnd.mapbox-vector-tile",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
}
"""HTTP media type of each tile format."""

_EXTENSIONS = {"pbf": ("mvt", "pbf"), "png": ("png",), "jpg": ("jpg", "jpeg"), "webp": ("webp",), "avif": ("avif",)}

_PMTILES_FORMATS = {
    TileType.MVT: "pbf",
    TileType.PNG: "png",
    TileType.JPEG: "jpg",
    TileType.WEBP: "webp",
    TileType.AVIF: "avif",
}

WORLD_BOUNDS = (-180.0, -85.0511287798, 180.0, 85.0511287798)


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` is a gzip stream (its magic number)."""
    return data[:2] == b"\x1f\x8b"


def tile_in_range(z: int, x: int, y: int) -> bool:
    """Whether ``z/x/y`` names a tile of the web-mercator pyramid (zoom 0–30)."""
    return 0 <= z <= 30 and 0 <= x < (1 << z) and 0 <= y < (1 << z)


@dataclass(frozen=True)
class TileSetInfo:
    """What a tile set holds.

    Attributes
    ----------
    format
        ``pbf`` (Mapbox vector tiles), ``png``, ``jpg``, ``webp`` or ``avif``.
    compression
        How stored vector tiles are compressed: ``gzip`` or ``none`` (raster tiles: ``none``).
    minzoom, maxzoom
        Zoom levels that have tiles.
    bounds
        ``(west, south, east, north)`` in decimal degrees.
    center
        ``(lon, lat, zoom)``.
    name, description, attribution
        Texts from the file (the attribution may hold HTML links, as TileJSON allows).
    vector_layers
        TileJSON ``vector_layers`` (``id``, ``fields``, zooms) of a vector tile set.
    version
        Changes whenever the file changes (size and modification time): part of tile URLs and
        ETags.
    """

    format: str
    compression: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]
    center: tuple[float, float, int]
    name: str = ""
    description: str = ""
    attribution: str = ""
    vector_layers: tuple[dict[str, Any], ...] = field(default=())
    version: str = ""

    @property
    def vector(self) -> bool:
        return self.format == "pbf"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.format, "application/octet-stream")

    @property
    def extensions(self) -> tuple[str, ...]:
        """File name extensions a tile URL may end with (the first is the usual one)."""
        return _EXTENSIONS.get(self.format, (self.format,))

    def covers(self, z: int, x: int, y: int) -> bool:
        """Whether tile ``z/x/y`` lies within the zoom range and bounds (it may still be empty)."""
        if not (tile_in_range(z, x, y) and self.minzoom <= z <= self.maxzoom):
            return False
        west, south, east, north = self.bounds
        n = 1 << z
        lon0, lon1 = x / n * 360.0 - 180.0, (x + 1) / n * 360.0 - 180.0
        lat1 = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
        lat0 = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
        return lon1 >= west and lon0 <= east and lat1 >= south and lat0 <= north


class TileArchive(Protocol):
    """A tile set in a file."""

    path: Path
    info: TileSetInfo

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored bytes of tile ``z/x/y`` (XYZ scheme), None when the set has no such tile."""
        ...

    def close(self) -> None: ...


def _file_version(path: Path) -> str:
    stat = path.stat()
    return hashlib.blake2b(f"{stat.st_size}:{stat.st_mtime_ns}".encode(), digest_size=5).hexdigest()


def _number_list(text: Any, count: int) -> list[float] | None:
    if isinstance(text, (list, tuple)):
        items = list(text)
    else:
        items = str(text or "").split(",")
    try:
        values = [float(v) for v in items]
    except ValueError:
        return None
    return values if len(values) == count and all(math.isfinite(v) for v in values) else None


def _int(value: Any, default: int) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return int(default)


def _text(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    return value if isinstance(value, str) else ""


def _vector_layers(meta: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    layers = meta.get("vector_layers")
    if layers is None and isinstance(meta.get("json"), str):  # MBTiles keep them in a JSON row
        try:
            layers = json.loads(meta["json"]).get("vector_layers")
        except (ValueError, AttributeError):
            layers = None
    return tuple(layer for layer in layers or () if isinstance(layer, dict))


# =============================================================================================
# PMTiles
# =============================================================================================


class PMTilesArchive:
    """A PMTiles (v3) file, memory-mapped.

    Raises
    ------
    gis.errors.ValidationError
        Not a PMTiles v3 file, or one whose directories are not gzip-compressed.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with self.path.open("rb") as f:  # the map keeps its own handle on the file
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            try:
                header = deserialize_header(self._map[0:127])
            except Exception as exc:  # noqa: BLE001 — the package raises bare exceptions for bad files
                raise ValidationError(
                    f"底图文件不是有效的 PMTiles（第 3 版）文件：{self.path.name}",
                    f"{self.path}: not a PMTiles v3 file ({type(exc).__name__})",
                ) from None
            if header["internal_compression"] not in (Compression.GZIP,):
                raise ValidationError(
                    f"底图文件的目录压缩方式不受支持：{self.path.name}（请用 gzip）",
                    f"{self.path}: internal compression {header['internal_compression'].name} is not supported",
                )
        except BaseException:
            self._map.close()
            raise
        self._header = header
        self._dirs: OrderedDict[tuple[int, int], list[Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.info = self._read_info()

    def _read_info(self) -> TileSetInfo:
        h = self._header
        meta: dict[str, Any] = {}
        if h["metadata_length"]:
            raw = self._map[h["metadata_offset"] : h["metadata_offset"] + h["metadata_length"]]
            try:
                meta = json.loads(gzip.decompress(raw) if is_gzip(raw) else raw)
            except ValueError:
                meta = {}
        fmt = _PMTILES_FORMATS.get(h["tile_type"], "")
        if not fmt:
            raise ValidationError(
                f"底图文件的瓦片类型不受支持：{self.path.name}",
                f"{self.path}: tile type {h['tile_type'].name} is not supported",
            )
        bounds = (h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7)
        if not (bounds[0] < bounds[2] and bounds[1] < bounds[3]):
            bounds = WORLD_BOUNDS
        return TileSetInfo(
            format=fmt,
            compression="gzip" if fmt == "pbf" and h["tile_compression"] == Compression.GZIP else "none",
            minzoom=int(h["min_zoom"]),
            maxzoom=int(h["max_zoom"]),
            bounds=bounds,
            center=(h["center_lon_e7"] / 1e7, h["center_lat_e7"] / 1e7, int(h["center_zoom"])),
            name=_text(meta, "name"),
            description=_text(meta, "description"),
            attribution=_text(meta, "attribution"),
            vector_layers=_vector_layers(meta),
            version=_file_version(self.path),
        )

    def _directory(self, offset: int, length: int) -> list[Any]:
        key = (offset, length)
        with self._lock:
            entries = self._dirs.get(key)
            if entries is not None:
                self._dirs.move_to_end(key)
                return entries
        entries = deserialize_directory(self._map[offset : offset + length])
        with self._lock:
            self._dirs[key] = entries
            while len(self._dirs) > 64:
                self._dirs.popitem(last=False)
        return entries

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        if not tile_in_range(z, x, y):
            return None
        h = self._header
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = h["root_offset"], h["root_length"]
        for _ in range(4):  # the format allows at most three levels of leaf directories
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length == 0:  # a leaf directory
                offset, length = h["leaf_directory_offset"] + entry.offset, entry.length
                continue
            start = h["tile_data_offset"] + entry.offset
            return bytes(self._map[start : start + entry.length])
        return None

    def close(self) -> None:
        self._map.close()


# =============================================================================================
# MBTiles
# =============================================================================================


class MBTilesArchive:
    """An MBTiles file (SQLite), opened read-only.

    Raises
    ------
    gis.errors.ValidationError
        Not an SQLite database with the MBTiles ``tiles`` and ``metadata`` tables, or a format
        this app cannot serve.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        uri = self.path.resolve().as_uri() + "?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
        except sqlite3.Error as exc:
            raise ValidationError(
                f"底图文件不是有效的 MBTiles 文件：{self.path.name}",
                f"{self.path}: not an MBTiles database ({exc})",
            ) from None
        self._lock = threading.Lock()
        try:
            self.info = self._read_info(meta)
        except BaseException:
            self._db.close()
            raise

    def _read_info(self, meta: dict[str, Any]) -> TileSetInfo:
        fmt = str(meta.get("format") or "").strip().lower()
        fmt = {"mvt": "pbf", "jpeg": "jpg"}.get(fmt, fmt)
        first = self._db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        if not fmt and first is not None:  # old files without a format row: look at a tile
            data = bytes(first[0])
            fmt = "png" if data[:4] == b"\x89PNG" else "jpg" if data[:2] == b"\xff\xd8" else "pbf"
        if fmt not in MEDIA_TYPES:
            raise ValidationError(
                f"底图文件的瓦片格式不受支持：{self.path.name}（{fmt or '未注明'}）",
                f"{self.path}: tile format {fmt!r} is not supported",
            )
        zooms = self._db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        minzoom = _int(meta.get("minzoom"), zooms[0] or 0)
        maxzoom = _int(meta.get("maxzoom"), zooms[1] or 0)
        bounds_list = _number_list(meta.get("bounds"), 4)
        bounds = tuple(bounds_list) if bounds_list else WORLD_BOUNDS
        center_list = _number_list(meta.get("center"), 3)
        center = (
            (center_list[0], center_list[1], int(center_list[2]))
            if center_list
            else ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, minzoom)
        )
        compression = "none"
        if fmt == "pbf" and first is not None and is_gzip(bytes(first[0])):
            compression = "gzip"
        return TileSetInfo(
            format=fmt,
            compression=compression,
            minzoom=minzoom,
            maxzoom=maxzoom,
            bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
            center=center,
            name=_text(meta, "name"),
            description=_text(meta, "description"),
            attribution=_text(meta, "attribution"),
            vector_layers=_vector_layers(meta),
            version=_file_version(self.path),
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        if not tile_in_range(z, x, y):
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, (1 << z) - 1 - y),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        self._db.close()


def open_archive(path: Path | str) -> TileArchive:
    """The tile set in ``path``: PMTiles or MBTiles, told apart by the file's first bytes.

    Raises
    ------
    gis.errors.NotFoundError
        No such file.
    gis.errors.ValidationError
        Neither format, or one this app cannot serve.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        raise NotFoundError(f"找不到底图文件：{path}", f"tile file {path} not found or unreadable") from None
    if head.startswith(b"PMTiles"):
        return PMTilesArchive(path)
    if head.startswith(b"SQLite format 3"):
        return MBTilesArchive(path)
    raise ValidationError(
        f"底图文件须为 PMTiles 或 MBTiles 格式：{path.name}",
        f"{path}: neither PMTiles nor MBTiles",
    )
