"""GPX internals: streaming a GPX file's points (checked and counted) and rebuilding its lines.

:func:`parse_gpx` streams the file through ``defusedxml`` (:func:`gis.limits.iter_xml`), counting
every point against ``RIVERGRID_MAX_TRACK_POINTS`` and refusing a point without finite
coordinates; :func:`gpx_lines` rebuilds the lines of GDAL's ``tracks``/``routes`` layers from their
points. The public readers are :func:`gis.io.files.read_layer` and :func:`gis.io.files.read_gpx_tracks`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from gis import limits
from gis.errors import GeometryError
from gis.model import STORE_CRS

_GPX_POINTS = {"trkpt": "trk", "rtept": "rte", "wpt": None}


def _gpx_point_label(kind: str, owner_no: int, point_no: int) -> str:
    if kind == "trkpt":
        return f"第 {owner_no} 条轨迹（<trk>）的第 {point_no} 个点"
    if kind == "rtept":
        return f"第 {owner_no} 条路线（<rte>）的第 {point_no} 个点"
    return f"第 {point_no} 个航点（<wpt>）"


def parse_gpx(p: Path, *, collect: bool) -> list[tuple[str | None, list[float], list[float], list[str | None]]]:
    """Stream a GPX file through defusedxml: check every point, optionally collect the tracks.

    Every ``<trkpt>``, ``<rtept>`` and ``<wpt>`` counts against ``RIVERGRID_MAX_TRACK_POINTS``
    and must carry finite ``lat``/``lon`` numbers. With ``collect``, returns per ``<trk>`` that
    has points (file order, segments joined): name, longitudes, latitudes and time texts.
    """
    counter = limits.PointCounter(p.name)
    tracks: list[tuple[str | None, list[float], list[float], list[str | None]]] = []
    owners = {"trk": 0, "rte": 0}
    in_owner = {"trk": 0, "rte": 0}  # points so far in the current <trk>/<rte>
    waypoints = 0
    name: str | None = None
    lon: list[float] = []
    lat: list[float] = []
    times: list[str | None] = []
    time_text: str | None = None
    for elem, tags in limits.iter_xml(p, p.name):
        tag = tags[-1]
        parent = tags[-2] if len(tags) > 1 else ""
        if tag == "time" and parent == "trkpt":
            time_text = (elem.text or "").strip() or None
        elif tag == "name" and parent == "trk":
            name = (elem.text or "").strip() or None
        elif tag in _GPX_POINTS:
            counter.add()
            owner = _GPX_POINTS[tag]
            if owner is None:
                waypoints += 1
                number = waypoints
            else:
                if in_owner[owner] == 0:
                    owners[owner] += 1
                in_owner[owner] += 1
                number = in_owner[owner]
            x_text, y_text = elem.get("lon"), elem.get("lat")
            try:
                x, y = float(x_text), float(y_text)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                x = y = math.nan
            if not (math.isfinite(x) and math.isfinite(y)):
                where = _gpx_point_label(tag, owners.get(owner or "", 0), number)
                raise GeometryError(
                    f"GPX 文件“{p.name}”{where}坐标无效（lat=“{y_text}”，lon=“{x_text}”），不能导入。请修正文件后重试",
                    f"non-finite or missing lat/lon at {tag} {number} of {p.name}",
                )
            if collect and tag == "trkpt":
                lon.append(x)
                lat.append(y)
                times.append(time_text)
            time_text = None
        elif tag in ("trk", "rte"):
            if in_owner[tag] == 0:
                owners[tag] += 1  # an empty <trk>/<rte> still takes its number
            in_owner[tag] = 0
            if tag == "trk":
                if collect and lon:
                    tracks.append((name, lon, lat, times))
                name, lon, lat, times = None, [], [], []
    return tracks


def gpx_lines(path: Path, layer: str) -> gpd.GeoDataFrame:
    """GPX tracks or routes with lines rebuilt from their points.

    GDAL's own line geometry of a track with a one-point segment (common when a recorder
    pauses) is unreadable WKB; rebuilding from the points drops only such segments.
    """
    points_layer, fid, seg, order = (
        ("track_points", "track_fid", "track_seg_id", "track_seg_point_id")
        if layer == "tracks"
        else ("route_points", "route_fid", None, "route_point_id")
    )
    attributes = pyogrio.read_dataframe(path, layer=layer, read_geometry=False, fid_as_index=True)
    columns = [c for c in (fid, seg, order) if c is not None]
    points = pyogrio.read_dataframe(path, layer=points_layer, columns=columns, force_2d=True)
    points = points.loc[~(points.geometry.isna() | points.geometry.is_empty)]
    points = points.sort_values(columns, kind="stable")
    keys = [fid, seg] if seg is not None else [fid]
    xy = shapely.get_coordinates(np.asarray(points.geometry.array))
    parts: dict[Any, list[BaseGeometry]] = {}
    for key, idx in points.groupby(keys, sort=False).indices.items():
        if len(idx) >= 2:
            parts.setdefault(key[0] if isinstance(key, tuple) else key, []).append(shapely.LineString(xy[idx]))
    geometry = [
        None if not parts.get(f) else (shapely.MultiLineString(parts[f]) if seg else parts[f][0])
        for f in attributes.index
    ]
    return gpd.GeoDataFrame(attributes.reset_index(drop=True), geometry=geometry, crs=STORE_CRS)
