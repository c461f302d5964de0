"""Building the 简图 from the store: ``gis basemap build`` and the app's start.

:func:`build_simple_basemap` reads the grids, reaches and supervised objects (and the reference
centre lines shipped in ``data/``, such as the Yalu's), draws them with
:func:`gis.basemap.simple.simple_map_features` and writes vector tiles with GDAL (through
pyogrio: the ``PMTiles`` driver for ``.pmtiles``, ``MBTiles`` for ``.mbtiles``). The file is
written beside its target and moved into place in one step, so a running server never reads
half a file; a record beside it (``simple.pmtiles.json``) keeps the fingerprint of what it was
drawn from.

:func:`ensure_simple_basemap` builds only when the file is missing or its fingerprint differs
from the data's (grids, rivers or objects changed, or this module's :data:`STYLE_VERSION`): the
app calls it at start (``asgi.py``), the command with ``--force`` always builds.

Why vector tiles: the map's labels stay sharp at every zoom and on high-density screens, the
file is small (the demo's is 0.3 MB for zooms 5–13, written in about a second; raster tiles of the same area to zoom 16
would be tens of MB and minutes of drawing on every data change), one writer (GDAL) makes both
PMTiles and MBTiles, and the same route and browser renderer (protomaps-leaflet) can later draw
the rivers and grids themselves as viewport tiles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis import clock
from gis.accounts.installation import open_reading
from gis.basemap.simple import simple_map_features
from gis.basemap.sources import simple_basemap_path
from gis.config import PROJECT_DIR
from gis.errors import RiverGridError, ValidationError
from gis.model import STORE_CRS, RiverLevel
from gis.store import Store
from gis.store.queries import live_grids
from gis.store.schema import Reach, SupervisedObject, not_deleted

__all__ = [
    "BuildResult",
    "LAYER",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "REFERENCE_WATERS",
    "STYLE_VERSION",
    "basemap_inputs",
    "build_simple_basemap",
    "ensure_simple_basemap",
    "fingerprint",
    "needs_build",
    "prepare_simple_basemap",
    "with_reference_waters",
    "write_tiles",
]

log = logging.getLogger("rivergrid.basemap")

LAYER = "basemap"
"""Name of the one vector layer of the 简图 (features told apart by ``kind``)."""

MIN_ZOOM = 5
MAX_ZOOM = 13
"""Zoom levels written; the browser draws deeper zooms from zoom 13's tiles (over-zooming; 0.9 m
precision at zoom 13, finer than the boundaries are known)."""

STYLE_VERSION = 1
"""Raise when what is written changes (kinds, attributes, zooms): built files become stale."""

REFERENCE_WATERS: tuple[tuple[Path, str, str], ...] = (
    (PROJECT_DIR / "data" / "yalu_wdb2_linjiang.geojson", "鸭绿江", RiverLevel.PROVINCE.value),
)
"""Centre lines shipped with the app: (file, river name, level). Drawn where they cross the
sheet, so a deployment elsewhere simply does not show them."""

ATTRIBUTION = "简图 © 河长网格"
"""The 简图's credit line (written as the file's description; short: it sits under the map)."""

REFERENCE_ATTRIBUTION = {"鸭绿江": "鸭绿江 WDB II（LGPL）"}
"""Credit of each reference centre line, added when it is on the sheet (``data/SOURCES.md``)."""


@dataclass(frozen=True)
class BuildResult:
    """What a build did (``built`` False: the file was up to date and left alone)."""

    path: str
    built: bool
    fingerprint: str
    features: int
    tiles_format: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None
    bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=STORE_CRS)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORE_CRS)


def basemap_inputs(session: Session) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``(grids, reaches, objects)`` of the store for the 简图: the live grids (``name``,
    ``level``, ``parent_name``), the live reaches (``name`` of their river, ``level``) and the
    supervised objects (``name``; only where callers who are not signed in may read, see
    :func:`gis.accounts.installation.open_reading`: the tiles are served without sign-in), EPSG:4326."""
    grids = [
        {"name": g.name, "level": g.level, "parent_name": g.parent.name if g.parent else "", "geometry": g.geom}
        for g in live_grids(session)
        if g.geom is not None
    ]
    reaches = [
        {"name": r.river.name, "level": r.level, "geometry": r.geom}
        for r in session.scalars(
            select(Reach).where(not_deleted(Reach)).options(selectinload(Reach.river)).order_by(Reach.id)
        )
        if r.geom is not None
    ]
    objects = (
        [
            {"name": o.name, "geometry": o.geom}
            for o in session.scalars(select(SupervisedObject).order_by(SupervisedObject.id))
            if o.geom is not None
        ]
        if open_reading(session)  # the tiles are served without sign-in: names only where reading is open
        else []
    )
    return (
        _frame(grids, ["name", "level", "parent_name"]),
        _frame(reaches, ["name", "level"]),
        _frame(objects, ["name"]),
    )


def with_reference_waters(reaches: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``reaches`` (``name``, ``level``, lines) followed by the lines of :data:`REFERENCE_WATERS`."""
    parts = [reaches[["name", "level", "geometry"]]]
    for path, name, level in REFERENCE_WATERS:
        if path.exists():
            lines = gpd.read_file(path)
            lines = lines.set_crs(STORE_CRS) if lines.crs is None else lines.to_crs(STORE_CRS)
            n = len(lines)
            parts.append(
                gpd.GeoDataFrame(
                    {"name": [name] * n, "level": [level] * n}, geometry=list(lines.geometry), crs=STORE_CRS
                )
            )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=STORE_CRS)


def fingerprint(*frames: gpd.GeoDataFrame) -> str:
    """A digest of the frames' attributes and geometries (WKB) and of :data:`STYLE_VERSION`."""
    digest = hashlib.sha256(f"rivergrid-simple-basemap:{STYLE_VERSION}:{MIN_ZOOM}:{MAX_ZOOM}".encode())
    for frame in frames:
        digest.update(b"|frame|")
        columns = sorted(c for c in frame.columns if c != frame.geometry.name)
        for row in frame[columns].itertuples(index=False):
            digest.update(repr(tuple(row)).encode("utf-8"))
        for geom in frame.geometry:
            digest.update(b"-" if geom is None else geom.wkb)
    return digest.hexdigest()


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def needs_build(path: Path, digest: str) -> bool:
    """Whether ``path`` is missing or was drawn from other data than ``digest``."""
    return not path.exists() or _read_record(path).get("fingerprint") != digest


def _driver(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".pmtiles":
        return "PMTiles"
    if suffix == ".mbtiles":
        return "MBTiles"
    raise ValidationError(
        f"底图文件须以 .pmtiles 或 .mbtiles 结尾：{path.name}",
        f"basemap output must end in .pmtiles or .mbtiles, got {path.name!r}",
    )


def write_tiles(
    features: gpd.GeoDataFrame,
    path: Path | str,
    *,
    layer: str = LAYER,
    minzoom: int = MIN_ZOOM,
    maxzoom: int = MAX_ZOOM,
    name: str = "",
    description: str = "",
) -> Path:
    """Write ``features`` as vector tiles (one layer) into a PMTiles or MBTiles file with GDAL.

    The file is written next to ``path`` and renamed onto it, so readers never see half of it.

    Raises
    ------
    gis.errors.ValidationError
        ``path`` ends in neither ``.pmtiles`` nor ``.mbtiles``, or GDAL refused to write.
    """
    path = Path(path)
    driver = _driver(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.{time.monotonic_ns()}{path.suffix}")
    try:
        pyogrio.write_dataframe(
            features,
            temporary,
            driver=driver,
            layer=layer,
            geometry_type="Unknown",
            dataset_options={
                "MINZOOM": minzoom,
                "MAXZOOM": maxzoom,
                "NAME": name or layer,
                "DESCRIPTION": description,
                "TYPE": "baselayer",
            },
        )
        os.replace(temporary, path)
    except Exception as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, RiverGridError):
            raise
        raise ValidationError(
            f"写入底图文件失败：{path.name}",
            f"GDAL could not write {path} ({type(exc).__name__}: {exc})",
        ) from exc
    return path


def build_simple_basemap(store: Store, path: Path | str | None = None, *, force: bool = True) -> BuildResult:
    """Draw the 简图 from ``store`` into ``path`` (default: the data folder's, which the app serves).

    Parameters
    ----------
    store
        The store to read.
    path
        ``.pmtiles`` or ``.mbtiles`` file; default :func:`gis.basemap.sources.simple_basemap_path`.
    force
        Build even when the file was drawn from the same data (False: skip then).

    Raises
    ------
    gis.errors.ValidationError
        Nothing to draw (no grid, reach or object), or the file cannot be written.
    """
    started = time.perf_counter()
    target = Path(path) if path is not None else simple_basemap_path()
    _driver(target)
    with store.session() as s:
        grids, reaches, objects = basemap_inputs(s)
    waters = with_reference_waters(reaches)
    digest = fingerprint(grids, waters, objects)
    if not force and not needs_build(target, digest):
        record = _read_record(target)
        return BuildResult(
            path=str(target),
            built=False,
            fingerprint=digest,
            features=int(record.get("features", 0)),
            tiles_format=target.suffix.lstrip(".").lower(),
            minzoom=int(record.get("minzoom", MIN_ZOOM)),
            maxzoom=int(record.get("maxzoom", MAX_ZOOM)),
            bounds=tuple(record["bounds"]) if record.get("bounds") else None,
            bytes=target.stat().st_size,
            seconds=round(time.perf_counter() - started, 3),
        )
    if not (len(grids) or len(reaches) or len(objects)):  # reference lines alone are no deployment
        raise ValidationError("没有可绘制底图的网格或河段", "no grids, reaches or objects to draw a basemap from")
    features = simple_map_features(grids, waters, objects)
    drawn = set(features.loc[features["kind"] == "water", "name"])
    credits = [ATTRIBUTION, *(text for name, text in REFERENCE_ATTRIBUTION.items() if name in drawn)]
    write_tiles(features, target, name="河长网格简图", description=" · ".join(credits))
    bounds = tuple(float(v) for v in features.total_bounds)
    record = {
        "fingerprint": digest,
        "built_at": clock.now().isoformat(),
        "style_version": STYLE_VERSION,
        "features": len(features),
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
    }
    _record_path(target).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    result = BuildResult(
        path=str(target),
        built=True,
        fingerprint=digest,
        features=len(features),
        tiles_format=target.suffix.lstrip(".").lower(),
        minzoom=MIN_ZOOM,
        maxzoom=MAX_ZOOM,
        bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
        bytes=target.stat().st_size,
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("simple basemap written to %s (%d features, %.1f s)", target, len(features), result.seconds)
    return result


def prepare_simple_basemap(store: Store) -> threading.Thread | None:
    """The app's start: build the served 简图 now when there is none (a new install shows it on
    its first map), else check it in a background thread and rebuild it there when the data
    changed (the old file is served until the new one is moved into place). Returns that thread."""
    if not simple_basemap_path().exists():
        ensure_simple_basemap(store)
        return None
    thread = threading.Thread(target=ensure_simple_basemap, args=(store,), name="rivergrid-basemap", daemon=True)
    thread.start()
    return thread


def ensure_simple_basemap(store: Store) -> BuildResult | None:
    """Build the served 简图 when it is missing or stale (the app's start); None when there is
    nothing to draw or the build failed (logged: the maps then offer the other basemaps)."""
    try:
        return build_simple_basemap(store, force=False)
    except RiverGridError as exc:
        log.warning("simple basemap not built: %s", exc.reason_en or exc.message_zh)
    except Exception:  # a basemap must never keep the app from starting
        log.exception("simple basemap not built")
    return None
