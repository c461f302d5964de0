"""Named tile sets the app serves at ``/api/tiles/{name}/…``, and the basemaps a map may offer.

**Tile sources.** The HTTP route (:mod:`api.tiles`) knows nothing but this interface, in the
manner of pygeoapi's providers: a :class:`TileSource` has a name, an :meth:`~TileSource.info`
(what it holds, or None while it has nothing) and :meth:`~TileSource.tile`. Today's sources are
files (:class:`FileTileSource`):

* ``simple``: the bundled 简图 that :mod:`gis.basemap.build` writes into the data folder;
* ``local``: the PMTiles or MBTiles file named by ``RIVERGRID_TILES``.

A later source that cuts the rivers and grids into vector tiles for the viewport (issue
"National scale") registers itself with :func:`register_tile_source` and is served, cached and
drawn the same way (the route, its headers and the browser renderer do not change).

A file is opened once and reopened when it changes on disk (a rebuilt 简图 is moved into place
atomically), so a running server serves the new tiles without a restart.

**Catalog.** :func:`basemap_catalog` tells the map builders which basemaps are available now,
with what they need to draw them (tile URLs, zoom range, bounds): see :class:`BasemapCatalog`.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gis.basemap.archives import TileArchive, TileSetInfo, is_gzip, open_archive
from gis.config import Settings, settings
from gis.errors import RiverGridError

__all__ = [
    "BasemapCatalog",
    "FileTileSource",
    "SIMPLE",
    "LOCAL",
    "Tile",
    "TileSource",
    "basemap_catalog",
    "register_tile_source",
    "simple_basemap_path",
    "tile_source",
    "tile_sources",
]

log = logging.getLogger("rivergrid.basemap")

SIMPLE = "simple"
"""Name of the bundled 简图's tile set."""

LOCAL = "local"
"""Name of the tile set of ``RIVERGRID_TILES``."""


def simple_basemap_path(config: Settings | None = None) -> Path:
    """Where the 简图 is written and served from: ``<data dir>/basemap/simple.pmtiles``."""
    return (config or settings()).data_dir / "basemap" / "simple.pmtiles"


@dataclass(frozen=True)
class Tile:
    """One tile as stored: ``data`` is gzip-compressed when ``gzip`` is true (vector tiles)."""

    data: bytes
    media_type: str
    gzip: bool

    def plain(self) -> bytes:
        """The tile's bytes uncompressed."""
        return gzip.decompress(self.data) if self.gzip else self.data


class TileSource(Protocol):
    """A named tile set (the interface the tile route serves)."""

    @property
    def name(self) -> str: ...

    def info(self) -> TileSetInfo | None:
        """What the set holds now, None while it has nothing to serve (file missing or unreadable)."""
        ...

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """Tile ``z/x/y`` (XYZ), None when there is none."""
        ...


_open_lock = threading.Lock()
_open: dict[Path, tuple[tuple[int, int, int], TileArchive]] = {}


def _archive(path: Path) -> TileArchive | None:
    """The archive of ``path``, opened once per version of the file (None when unreadable)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _open_lock:
        held = _open.get(path)
        if held is not None and held[0] == key:
            return held[1]
        try:
            archive = open_archive(path)
        except RiverGridError as exc:
            log.warning("tile file %s not served: %s", path, exc.reason_en)
            return None
        _open[path] = (key, archive)
        # the replaced archive stays open: a request may still be reading it; the file handle
        # goes when the object is collected
        return archive


@dataclass(frozen=True)
class FileTileSource:
    """A tile set in a PMTiles or MBTiles file."""

    name: str
    path: Path

    def info(self) -> TileSetInfo | None:
        archive = _archive(self.path)
        return archive.info if archive is not None else None

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        archive = _archive(self.path)
        if archive is None:
            return None
        data = archive.tile(z, x, y)
        if data is None:
            return None
        info = archive.info
        return Tile(data, info.media_type, info.vector and is_gzip(data))


_registered: dict[str, Callable[[Settings], TileSource | None]] = {}


def register_tile_source(name: str, factory: Callable[[Settings], TileSource | None]) -> None:
    """Serve the source that ``factory(settings)`` returns (None: not configured) as ``name``."""
    _registered[name] = factory


def tile_sources(config: Settings | None = None) -> dict[str, TileSource]:
    """Every tile source configured now, by name."""
    config = config or settings()
    sources: dict[str, TileSource] = {SIMPLE: FileTileSource(SIMPLE, simple_basemap_path(config))}
    if config.tiles is not None:
        sources[LOCAL] = FileTileSource(LOCAL, config.tiles)
    for name, factory in _registered.items():
        source = factory(config)
        if source is not None:
            sources[name] = source
    return sources


def tile_source(name: str, config: Settings | None = None) -> TileSource | None:
    """The tile source called ``name``, None when there is none."""
    return tile_sources(config).get(name)


# =============================================================================================
# What a map may offer
# =============================================================================================


@dataclass(frozen=True)
class BasemapCatalog:
    """The basemaps available now and what drawing them needs.

    Attributes
    ----------
    simple
        The 简图's tile set, None until it has been built (or when there is nothing to draw).
    local
        The tile set of ``RIVERGRID_TILES``, None when unset or unreadable.
    intranet
        The URL templates of ``RIVERGRID_TILE_URL`` (drawn one over the other), empty when unset.
    tianditu_key
        The Tianditu key, None without one.
    default
        The basemap the settings ask for (``RIVERGRID_BASEMAP`` or :func:`gis.config.default_basemap`).
    """

    simple: TileSetInfo | None
    local: TileSetInfo | None
    intranet: tuple[str, ...]
    tianditu_key: str | None
    default: str

    def available(self) -> list[str]:
        """Codes of :data:`gis.config.BASEMAPS` that can be drawn now, in the switcher's order."""
        offered = {
            "simple": self.simple is not None,
            "local": self.local is not None,
            "intranet": bool(self.intranet),
            "tianditu_vec": bool(self.tianditu_key),
            "tianditu_img": bool(self.tianditu_key),
            "osm": True,
            "none": True,
        }
        return [code for code, ok in offered.items() if ok]

    def choose(self, requested: str | None = None) -> str:
        """``requested`` when available, else the default when available, else the first of the
        intranet service, the local file, the 简图 and none that is (never one on the internet)."""
        available = self.available()
        for code in (requested, self.default, "intranet", "local", "simple"):
            if code in available:
                return code
        return "none"


def basemap_catalog(config: Settings | None = None) -> BasemapCatalog:
    """What :class:`BasemapCatalog` says for the settings (default: read now)."""
    config = config or settings()
    sources = tile_sources(config)
    local = sources.get(LOCAL)
    return BasemapCatalog(
        simple=sources[SIMPLE].info(),
        local=local.info() if local is not None else None,
        intranet=tuple(config.tile_url.split()) if config.tile_url else (),
        tianditu_key=config.tianditu_key,
        default=config.basemap,
    )
