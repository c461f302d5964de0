"""The 简图's content, from the project's own data: pure functions over GeoDataFrames.

:func:`simple_map_features` turns the grids, the rivers (reaches and reference centre lines)
and the supervised objects into one GeoDataFrame of map features (EPSG:4326), each with a
``kind`` the style knows (``static/rivergrid/basemap.js``):

============ ========== ==========================================================================
kind         geometry   what
============ ========== ==========================================================================
``paper``    polygon    the map's sheet: the deployment area's extent with a margin
``area``     polygon    the top-level grids (the deployment area), drawn lighter than the sheet
``boundary`` line       every grid's outline; ``level`` county / township / village
``water``    line       rivers; ``level`` the river's level (line width), ``name`` the river
``graticule`` line      meridians and parallels every 60′, 30′, 10′, 5′ and 1′; ``rank`` 0–4 (the
                        coarsest spacing the line belongs to), ``name`` its label (126°55′E)
``place``    point      a grid's name inside it; ``rank`` 0–2 by level, ``minzoom`` where it fits
``poi``      point      a supervised object's name
============ ========== ==========================================================================

The tiles are served without sign-in, so nothing here may be private: grids and rivers are public
(责任公示), no incident, track or person is drawn, and the service passes objects only where reading
is open to everyone (:mod:`gis.basemap.build`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, box

from gis.errors import ValidationError
from gis.model import GridLevel

__all__ = [
    "FEATURE_COLUMNS",
    "GRATICULE_MINUTES",
    "deployment_extent",
    "graticule",
    "label_minzoom",
    "short_name",
    "short_names",
    "simple_map_features",
]

FEATURE_COLUMNS = ("kind", "level", "name", "rank", "minzoom")
"""Attribute columns of :func:`simple_map_features` (besides ``geometry``)."""

GRATICULE_MINUTES = (60, 30, 10, 5, 1)
"""Graticule spacings in arc minutes, coarsest first (``rank`` is the index)."""

MARGIN_SHARE = 0.12
"""The sheet reaches this share of the deployment area's size beyond it on every side."""

MIN_MARGIN_DEG = 0.03
"""…and at least this many degrees."""

LABEL_WIDTH_PX = 80
"""Screen width a grid needs before its name is written in it, in pixels."""


def _lonlat(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:4326 without empty geometries (a copy); refuses a frame without a CRS."""
    if gdf.crs is None:
        raise ValidationError(f"{what}数据缺少坐标系", f"{what}: GeoDataFrame has no CRS")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    return gdf if gdf.crs.equals("EPSG:4326") else gdf.to_crs("EPSG:4326")


def deployment_extent(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of the first non-empty frame with a margin, in degrees.

    Pass the top-level grids first, then whatever else may stand in for them (reaches…).

    Raises
    ------
    gis.errors.ValidationError
        Every frame is empty: there is nothing to draw.
    """
    for frame in frames:
        frame = _lonlat(frame, "底图")
        if len(frame):
            west, south, east, north = (float(v) for v in frame.total_bounds)
            dx = max((east - west) * MARGIN_SHARE, MIN_MARGIN_DEG)
            dy = max((north - south) * MARGIN_SHARE, MIN_MARGIN_DEG)
            return (
                max(west - dx, -180.0),
                max(south - dy, -85.0),
                min(east + dx, 180.0),
                min(north + dy, 85.0),
            )
    raise ValidationError("没有可绘制底图的网格或河段", "no grids, reaches or objects to draw a basemap from")


def _dms(value: float, positive: str, negative: str) -> str:
    total = round(abs(value) * 60)
    degrees, minutes = divmod(total, 60)
    hemisphere = positive if value >= 0 else negative
    return f"{degrees}°{minutes:02d}′{hemisphere}"


def graticule(extent: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Meridians and parallels across ``extent`` every :data:`GRATICULE_MINUTES`.

    Each line appears once, with ``rank`` the index of the coarsest spacing it belongs to (a
    meridian at 127°00′ has rank 0, one at 126°50′ rank 2) and ``name`` its label.
    """
    west, south, east, north = extent
    rows: list[dict[str, object]] = []
    for axis, low, high in (("lon", west, east), ("lat", south, north)):
        first, last = math.ceil(low * 60), math.floor(high * 60)
        for minute in range(first, last + 1):
            rank = next(i for i, step in enumerate(GRATICULE_MINUTES) if minute % step == 0)
            value = minute / 60.0
            if axis == "lon":
                line = LineString([(value, south), (value, north)])
                name = _dms(value, "E", "W")
            else:
                line = LineString([(west, value), (east, value)])
                name = _dms(value, "N", "S")
            rows.append({"kind": "graticule", "level": axis, "name": name, "rank": rank, "geometry": line})
    return gpd.GeoDataFrame(rows, columns=["kind", "level", "name", "rank", "geometry"], crs="EPSG:4326")


_OFFICE_SUFFIXES = ("办事处", "人民政府")


def _without_suffix(name: str) -> str:
    text = (name or "").strip()
    for suffix in _OFFICE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def short_name(name: str, parent_names: Sequence[str] = ()) -> str:
    """A grid's name as a map writes it: without the office suffix and without its parent's name in
    front (临江市森工街道办事处 → 森工街道 under 临江市; 森工街道东兴村 → 东兴村 under a parent called
    临江市森工街道办事处 or 森工街道). ``parent_names``: the ways the parent may be written."""
    text = _without_suffix(name)
    prefixes = sorted({p for n in parent_names for p in ((n or "").strip(), _without_suffix(n)) if p}, key=len)
    for prefix in reversed(prefixes):  # the longest first
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :]
    return text


def short_names(names: Sequence[str], parents: Sequence[str | None]) -> list[str]:
    """:func:`short_name` of each grid, its parent written in full or as the parent's own short name."""
    parent_of = {n: p for n, p in zip(names, parents)}
    done: dict[str, str] = {}

    def short(name: str, depth: int = 0) -> str:
        if name not in done:
            parent = parent_of.get(name)
            forms = [parent, short(parent, depth + 1)] if parent and parent in parent_of and depth < 10 else [parent]
            done[name] = short_name(name, [f for f in forms if f])
        return done[name]

    return [short(n) for n in names]


def label_minzoom(geometries: gpd.GeoSeries, *, width_px: float = LABEL_WIDTH_PX) -> np.ndarray:
    """For each polygon (EPSG:4326), the lowest web-mercator zoom at which it is ``width_px`` wide."""
    bounds = geometries.bounds
    width = np.maximum((bounds["maxx"] - bounds["minx"]).to_numpy(dtype=float), 1e-9)
    zoom = np.ceil(np.log2(width_px * 360.0 / (256.0 * width)))
    result: np.ndarray = np.clip(zoom, 0, 18).astype(int)
    return result


def _levels(values: Sequence[object]) -> list[GridLevel | None]:
    out: list[GridLevel | None] = []
    for value in values:
        try:
            out.append(GridLevel(str(value)))
        except ValueError:
            out.append(None)
    return out


def simple_map_features(
    grids: gpd.GeoDataFrame,
    waters: gpd.GeoDataFrame,
    objects: gpd.GeoDataFrame,
    *,
    extent: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """The 简图's features (see the module notes), in EPSG:4326, in drawing order.

    Parameters
    ----------
    grids
        Columns ``name``, ``level`` (``county``/``township``/``village``), ``parent_name``
        (may be empty) and polygons, any CRS.
    waters
        Columns ``name`` (the river's), ``level`` (a :class:`gis.model.RiverLevel` code) and
        lines, any CRS: the reaches and any reference centre lines (clipped to the sheet).
    objects
        Columns ``name`` and points, any CRS.
    extent
        ``(west, south, east, north)`` of the sheet in degrees; default: the top-level grids'
        (else all grids', the waters', the objects') bounds with a margin
        (:func:`deployment_extent`).

    Raises
    ------
    gis.errors.ValidationError
        A frame without a CRS, or nothing at all to draw.
    """
    grids = _lonlat(grids, "网格")
    waters = _lonlat(waters, "河流")
    objects = _lonlat(objects, "监管对象")
    levels = _levels(list(grids["level"])) if len(grids) else []
    present = [lv for lv in levels if lv is not None]
    top_level = min(present, key=lambda lv: lv.rank) if present else None
    top = grids[np.array([lv is top_level and lv is not None for lv in levels], dtype=bool)] if len(grids) else grids
    if extent is None:
        extent = deployment_extent(top, grids, waters, objects)
    sheet = box(*extent)

    parts: list[gpd.GeoDataFrame] = [
        gpd.GeoDataFrame(
            {"kind": ["paper"], "level": [""], "name": [""], "rank": [0]}, geometry=[sheet], crs="EPSG:4326"
        )
    ]
    if len(top):
        parts.append(
            gpd.GeoDataFrame(
                {"kind": "area", "level": [top_level.value] * len(top), "name": list(top["name"]), "rank": 0},  # type: ignore[union-attr]
                geometry=list(top.geometry),
                crs="EPSG:4326",
            )
        )
    parts.append(graticule(extent))
    if len(waters):
        clipped = shapely.intersection(np.asarray(waters.geometry.array, dtype=object), sheet)
        frame = gpd.GeoDataFrame(
            {
                "kind": "water",
                "level": [str(v or "") for v in waters["level"]],
                "name": [str(v or "") for v in waters["name"]],
                "rank": 0,
            },
            geometry=list(clipped),
            crs="EPSG:4326",
        )
        frame = frame[~frame.geometry.is_empty]
        if len(frame):  # one line per river and level: its name is written along the whole river
            frame = frame.dissolve(by=["name", "level"], as_index=False)
            frame["geometry"] = shapely.line_merge(np.asarray(frame.geometry.array, dtype=object))
            frame["kind"], frame["rank"] = "water", 0
            parts.append(frame[["kind", "level", "name", "rank", "geometry"]])
    if len(grids):
        order = np.argsort([-(lv.rank if lv else 9) for lv in levels], kind="stable")  # villages first, county on top
        ordered = grids.iloc[order]
        ordered_levels = [levels[i] for i in order]
        parts.append(
            gpd.GeoDataFrame(
                {
                    "kind": "boundary",
                    "level": [lv.value if lv else "" for lv in ordered_levels],
                    "name": list(ordered["name"]),
                    "rank": [lv.rank if lv else 3 for lv in ordered_levels],
                },
                geometry=list(shapely.boundary(np.asarray(ordered.geometry.array, dtype=object))),
                crs="EPSG:4326",
            )
        )
        parents = ordered["parent_name"] if "parent_name" in ordered else pd.Series([""] * len(ordered))
        labels = short_names(
            [str(n) for n in ordered["name"]], [p if isinstance(p, str) and p else None for p in parents]
        )
        points = shapely.point_on_surface(np.asarray(ordered.geometry.array, dtype=object))
        places = gpd.GeoDataFrame(
            {
                "kind": "place",
                "level": [lv.value if lv else "" for lv in ordered_levels],
                "name": labels,
                "rank": [lv.rank if lv else 3 for lv in ordered_levels],
                "minzoom": label_minzoom(ordered.geometry),
            },
            geometry=list(points),
            crs="EPSG:4326",
        )
        parts.append(places.iloc[::-1])  # county first: labels placed first win
    if len(objects):
        inside = objects[objects.geometry.within(sheet)]
        parts.append(
            gpd.GeoDataFrame(
                {"kind": "poi", "level": "", "name": [str(v or "") for v in inside["name"]], "rank": 0},
                geometry=list(inside.geometry),
                crs="EPSG:4326",
            )
        )
    features = pd.concat(parts, ignore_index=True)
    features["minzoom"] = features["minzoom"].fillna(0).astype(int) if "minzoom" in features else 0
    features["rank"] = features["rank"].astype(int)
    for column in ("kind", "level", "name"):
        features[column] = features[column].fillna("").astype(str)
    return gpd.GeoDataFrame(features[[*FEATURE_COLUMNS, "geometry"]], geometry="geometry", crs="EPSG:4326")
