"""Map tiles at ``/api/tiles/``, served by the app itself (no tile server to install).

==========================================  ==============================================
``GET  {name}/{z}/{x}/{y}.{ext}``           one tile of tile set ``name`` (XYZ scheme)
``GET  {name}.json``                        the tile set's TileJSON 3.0.0
==========================================  ==============================================

The tile sets are :mod:`gis.basemap.sources`' (``simple``: the bundled 简图; ``local``: the file of
``RIVERGRID_TILES``; ``rivers``: the river reaches cut by viewport and zoom, :mod:`gis.maptiles`):
this module only speaks HTTP.

* ``ext`` is the set's format: ``mvt`` or ``pbf`` for vector tiles
  (``application/vnd.mapbox-vector-tile``), ``png``, ``jpg``/``jpeg``, ``webp``, ``avif``.
* Vector tiles stored gzip-compressed are sent as they are with ``Content-Encoding: gzip`` to
  clients that accept it, and uncompressed to the others (``Vary: Accept-Encoding``).
* Every tile has a strong ``ETag`` (its content; ``If-None-Match`` gets 304). The tile URLs the
  maps use carry the set's version (``?v=…``, which changes whenever the file does): such a
  request may be cached for a year (``immutable``); without it, or with an old version, for a
  minute.
* A tile the set does not have, an unknown set, a bad zoom or coordinate, a wrong extension:
  404 with the usual JSON error body.

No key is needed: the tiles hold only public content (:mod:`gis.basemap.simple`). Tile requests
count against their own, much higher rate limit (:mod:`api.guards`): one map view loads dozens.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.common import ApiError, api_root
from gis.basemap.archives import TileSetInfo
from gis.basemap.sources import Tile, TileSource, tile_source
from gis.maptiles import service as _river_tiles  # noqa: F401 — registers the "rivers" tile set

__all__ = ["CACHE_FRESH", "CACHE_VERSIONED", "routes", "tile_url_template", "tilejson"]

CACHE_VERSIONED = "public, max-age=31536000, immutable"
"""Cache-Control of a tile asked for with the set's current version (``?v=``)."""

CACHE_FRESH = "public, max-age=60"
"""Cache-Control of a tile asked for without a version (revalidated with its ETag after that)."""


def _missing(what: str, reason: str) -> ApiError:
    return ApiError(404, f"没有这个瓦片：{what}", reason)


def _source_info(name: str) -> tuple[TileSource, TileSetInfo]:
    source = tile_source(name)
    info = source.info() if source is not None else None
    if source is None or info is None:
        raise ApiError(404, f"没有名为“{name}”的瓦片图层", f"tile set {name!r} not found or not built")
    return source, info


def tile_url_template(base: str, name: str, info: TileSetInfo) -> str:
    """URL template of the set's tiles under the API root ``base`` (``{z}/{x}/{y}``, versioned)."""
    return f"{base}/tiles/{name}/{{z}}/{{x}}/{{y}}.{info.extensions[0]}?v={info.version}"


def tilejson(base: str, name: str, info: TileSetInfo) -> dict[str, Any]:
    """TileJSON 3.0.0 of a tile set whose tiles are under the API root ``base``."""
    body: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": info.name or name,
        "description": info.description,
        "attribution": info.attribution or info.description,
        "version": info.version,
        "scheme": "xyz",
        "format": info.format,
        "tiles": [tile_url_template(base, name, info)],
        "minzoom": info.minzoom,
        "maxzoom": info.maxzoom,
        "bounds": list(info.bounds),
        "center": list(info.center),
    }
    if info.vector:
        body["vector_layers"] = [dict(layer) for layer in info.vector_layers]
    return body


async def tileset(request: Request) -> Response:
    name = str(request.path_params["name"])
    _, info = await run_in_threadpool(_source_info, name)
    return JSONResponse(
        tilejson(api_root(request), name, info),
        headers={"Cache-Control": CACHE_FRESH},
    )


def _coordinates(request: Request) -> tuple[int, int, int]:
    try:
        return tuple(int(str(request.path_params[k])) for k in ("z", "x", "y"))  # type: ignore[return-value]
    except ValueError:
        raise _missing(request.url.path, "tile coordinates must be integers") from None


def _read(name: str, z: int, x: int, y: int, ext: str) -> tuple[TileSetInfo, Tile]:
    source, info = _source_info(name)
    if ext not in info.extensions:
        raise _missing(
            f"{name}/{z}/{x}/{y}.{ext}（该图层的瓦片为 .{info.extensions[0]}）",
            f"tile set {name!r} has {info.format} tiles, not .{ext}",
        )
    tile = source.tile(z, x, y)
    if tile is None:
        raise _missing(f"{name}/{z}/{x}/{y}.{ext}", f"tile set {name!r} has no tile {z}/{x}/{y}")
    return info, tile


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*") and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            return True
    return False


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag in {t.strip().removeprefix("W/") for t in header.split(",")}


async def tile(request: Request) -> Response:
    name = str(request.path_params["name"])
    ext = str(request.path_params["ext"]).lower()
    z, x, y = _coordinates(request)
    info, found = await run_in_threadpool(_read, name, z, x, y, ext)
    gzipped = found.gzip and _accepts_gzip(request)
    body = found.data if gzipped else found.plain()
    etag = '"' + hashlib.blake2b(found.data, digest_size=12).hexdigest() + ('-gz"' if gzipped else '"')
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_VERSIONED if request.query_params.get("v") == info.version else CACHE_FRESH,
    }
    if found.gzip:
        headers["Vary"] = "Accept-Encoding"
    if _etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=found.media_type, headers=headers)


def routes() -> list[BaseRoute]:
    return [
        Route("/{name}.json", tileset, methods=["GET"]),
        Route("/{name}/{z}/{x}/{y}.{ext}", tile, methods=["GET"]),
    ]
