"""Reading geodata files (GeoJSON, Shapefile, GeoPackage, KML/KMZ, GPX, CSV).

Everything read comes out in the store CRS (EPSG:4326, longitude/latitude in decimal degrees),
2D, with repaired geometries and Chinese warnings for what was changed. Errors are the typed
exceptions of :mod:`gis.errors`, each with a Chinese message for users. :func:`inspect` lists a
file's layers, :func:`read_layer` reads one, :func:`read_gpx_tracks` reads GPX tracks with their
times and :func:`read_csv_rows` is the one CSV reader (points here, tracks in
:mod:`gis.patrol.tracks`). Writing is :mod:`gis.io.writers`.

CRS rules when a file declares none: GeoJSON (RFC 7946), KML, GPX and CSV are longitude/latitude
WGS84 by definition, so they are read as EPSG:4326 (a CSV's numbers are still range-checked:
projected or swapped numbers are refused). Any other file (e.g. a shapefile without ``.prj``)
needs ``crs=`` from the caller.

Safety (:mod:`gis.limits`): every file is refused above ``RIVERGRID_MAX_FILE_MB``; a zip
(Shapefile ``.zip``, KMZ) is judged from its central directory before anything is decompressed,
then only the members needed are unpacked, bounded, into a private temporary folder that GDAL
reads (GDAL never opens an archive itself); KML and GPX are first streamed through ``defusedxml``
(no entity expansion, no external entities), counting their points against
``RIVERGRID_MAX_TRACK_POINTS``; CSV is read in chunks under the same count. A vertex whose
coordinates are not finite numbers (NaN, infinite, empty or not a number in a CSV) is refused
with its feature's number, never dropped.

Module layout of :mod:`gis.io`: :mod:`~gis.io.sources` opens files (kinds, archives, layers, CRS
rules), :mod:`~gis.io.shapefiles` and :mod:`~gis.io.gpx` hold format internals,
:mod:`~gis.io.repair` checks and repairs the geometries read, :mod:`~gis.io.labels` names
features in messages, :mod:`~gis.io.writers` writes.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gis import limits
from gis.errors import CRSError, FileFormatError, GeometryError, LayerNotFoundError
from gis.geometry.crs import check_lonlat_range, convert_gdf, to_store_crs
from gis.io.gpx import gpx_lines, parse_gpx
from gis.io.labels import feature_label, find_column
from gis.io.repair import clean_geometries, require_finite
from gis.io.shapefiles import ogr_dataset
from gis.io.sources import (
    Bounds,
    CrsLike,
    LayerRef,
    PathLike,
    as_bounds,
    crs_label,
    effective_crs,
    existing_file,
    gdal_errors,
    geometry_type_of,
    layer_refs,
    parse_crs,
    strip_dimension,
    wgs84_bounds,
)
from gis.model import STORE_CRS

__all__ = [
    "GpxTrack",
    "LayerInfo",
    "ReadResult",
    "inspect",
    "read_csv_rows",
    "read_gpx_tracks",
    "read_layer",
]

_KML_BOOKKEEPING = (
    "id",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
    "snippet",
)

_LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
_LAT_NAMES = ("lat", "latitude", "y", "纬度")
_CSV_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class LayerInfo:
    """What :func:`inspect` reports about one layer.

    ``crs`` is the layer's CRS (or the one assumed, see the module docstring) as ``EPSG:xxxx``
    when identifiable, else its name; ``None`` when unknown. ``bounds_wgs84`` is
    (min lon, min lat, max lon, max lat) in decimal degrees, ``None`` when the CRS is unknown or
    the numbers are not valid coordinates.
    """

    name: str
    geometry_type: str
    features: int
    crs: str | None
    bounds_wgs84: Bounds | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with keys name, geometry_type, features, crs, bounds_wgs84 (list)."""
        return {
            "name": self.name,
            "geometry_type": self.geometry_type,
            "features": self.features,
            "crs": self.crs,
            "bounds_wgs84": list(self.bounds_wgs84) if self.bounds_wgs84 is not None else None,
        }


@dataclass
class ReadResult:
    """A layer read by :func:`read_layer`.

    ``gdf`` is in EPSG:4326 (decimal degrees), 2D, index 0…n-1; ``warnings`` are Chinese texts
    for the user; ``source_crs`` is the CRS the file was read in (label as in
    :class:`LayerInfo`); ``layer`` is the layer's name.
    """

    gdf: gpd.GeoDataFrame
    warnings: list[str]
    source_crs: str
    layer: str


@dataclass
class GpxTrack:
    """One GPX track (``<trk>``): its segments merged in file order.

    ``coords`` are (longitude, latitude) in WGS84 decimal degrees; ``times`` are tz-aware UTC
    datetimes or ``None`` per point; ``source_name`` is the file's name.
    """

    name: str | None
    coords: list[tuple[float, float]]
    times: list[datetime | None]
    source_name: str


@dataclass(frozen=True)
class _LayerMeta:
    features: int
    crs: pyproj.CRS | None
    bounds: Bounds | None
    geometry_type: str


@dataclass
class _Frame:
    gdf: gpd.GeoDataFrame
    warnings: list[str] = field(default_factory=list)


def read_csv_rows(
    path: Path, *, usecols: Any = None, dtype: Any = None, keep_default_na: bool = True
) -> tuple[pd.DataFrame, list[str]]:
    """All rows of a CSV, read in chunks of 100,000 and counted against the point limit.

    UTF-8 (with or without BOM) first, else GB18030 (a superset of GBK) with a Chinese warning.
    ``usecols``/``dtype``/``keep_default_na`` go to :func:`pandas.read_csv`. Used by the point
    readers here and by :mod:`gis.patrol.tracks` for track CSVs.

    Raises
    ------
    FileFormatError
        Empty or malformed CSV, or neither encoding fits.
    LimitError
        More rows than ``RIVERGRID_MAX_TRACK_POINTS`` (refused while reading).
    """
    warns: list[str] = []
    for encoding in ("utf-8-sig", "gb18030"):
        counter = limits.PointCounter(path.name)
        chunks: list[pd.DataFrame] = []
        try:
            with pd.read_csv(
                path,
                encoding=encoding,
                skipinitialspace=True,
                chunksize=_CSV_CHUNK_ROWS,
                usecols=usecols,
                dtype=dtype,
                keep_default_na=keep_default_na,
            ) as reader:
                for chunk in reader:
                    counter.add(len(chunk))
                    chunks.append(chunk)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig":
                continue
            raise FileFormatError(
                f"CSV 文件“{path.name}”的编码无法识别（请用 UTF-8 或 GBK）", f"undecodable CSV {path}: {exc}"
            ) from exc
        except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError) as exc:
            if isinstance(exc, FileFormatError):
                raise
            raise FileFormatError(
                f"无法读取 CSV 文件“{path.name}”：内容为空或格式错误", f"bad CSV {path}: {exc}"
            ) from exc
        if encoding != "utf-8-sig":
            warns.append("CSV 文件不是 UTF-8 编码，已按 GBK（GB18030）编码读取")
        if not chunks:
            raise FileFormatError(f"CSV 文件“{path.name}”中没有数据行", f"no data rows in {path}")
        frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
        return frame, warns
    raise AssertionError("unreachable")


def _csv_coordinate_text(value: Any) -> str:
    return (
        "空"
        if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""
        else f"“{value}”"
    )


def _read_csv(path: Path) -> _Frame:
    """Points from a CSV with longitude/latitude columns (no CRS set; see the module docstring).

    A row whose longitude or latitude is empty, not a number or not finite is refused (with its
    feature number), never dropped.
    """
    df, warns = read_csv_rows(path)
    lon_col = find_column(df.columns, _LON_NAMES)
    lat_col = find_column(df.columns, _LAT_NAMES)
    if lon_col is None or lat_col is None:
        raise FileFormatError(
            f"CSV 文件“{path.name}”中没有找到经纬度列。经度列名可用 {'/'.join(_LON_NAMES)}，"
            f"纬度列名可用 {'/'.join(_LAT_NAMES)}（不区分大小写）；现有列：{'、'.join(map(str, df.columns))}",
            f"no lon/lat columns in {path}: {list(df.columns)}",
        )
    lon = pd.to_numeric(df[lon_col], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(df[lat_col], errors="coerce").to_numpy(dtype=np.float64)
    attributes = df.drop(columns=[lon_col, lat_col])
    bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
    if len(bad):
        i = int(bad[0])
        more = f"；共 {len(bad)} 个要素的坐标无效" if len(bad) > 1 else ""
        raise GeometryError(
            f"{feature_label(attributes, i)}的坐标无效（经度{_csv_coordinate_text(df[lon_col].iloc[i])}，"
            f"纬度{_csv_coordinate_text(df[lat_col].iloc[i])}，CSV 第 {i + 2} 行），不能导入{more}。"
            "请补全或删除这些行后重试",
            f"non-finite or missing coordinates in {len(bad)} row(s) of {path.name}, first data row {i + 1}",
        )
    points = shapely.points(lon, lat)
    return _Frame(gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(points, index=df.index)), warns)


def _tidy_driver_columns(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Drop the fixed, unused schema columns GPX and LIBKML add; KML "Name" becomes "name"."""
    if kind not in ("kml", "gpx"):
        return gdf
    drop = [c for c in gdf.columns if c != gdf.geometry.name and gdf[c].isna().all()]
    if kind == "kml":
        drop += [c for c in _KML_BOOKKEEPING if c in gdf.columns and c not in drop]
    gdf = gdf.drop(columns=drop)
    if kind == "kml" and "Name" in gdf.columns and "name" not in gdf.columns:
        gdf = gdf.rename(columns={"Name": "name"})
    return gdf


def _read_frame(ref: LayerRef) -> _Frame:
    if ref.kind == "csv":
        return _read_csv(Path(ref.dataset))
    with (
        ogr_dataset(ref) as (dataset, encoding, warns),
        gdal_errors(Path(ref.archive or ref.dataset)),
        warnings.catch_warnings(),
    ):
        # shapely warns on NaN coordinates in the WKB; read_layer refuses them with a message
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        if ref.kind == "gpx" and ref.ogr_layer in ("tracks", "routes"):
            gdf = gpx_lines(Path(dataset), ref.ogr_layer)
        else:
            gdf = pyogrio.read_dataframe(
                dataset, layer=ref.ogr_layer, encoding=encoding, force_2d=True, on_invalid="fix"
            )
    return _Frame(_tidy_driver_columns(gdf, ref.kind), warns)


def _layer_meta(ref: LayerRef) -> _LayerMeta:
    if ref.kind == "csv":
        gdf = _read_csv(Path(ref.dataset)).gdf
        points = gdf.geometry.dropna()
        bounds = as_bounds(points.total_bounds) if len(points) else None
        return _LayerMeta(len(gdf), None, bounds, "Point")
    with ogr_dataset(ref) as (dataset, encoding, _warns), gdal_errors(Path(ref.archive or ref.dataset)):
        info = pyogrio.read_info(
            dataset, layer=ref.ogr_layer, encoding=encoding, force_feature_count=True, force_total_bounds=True
        )
        geometry_type = strip_dimension(info["geometry_type"])
        if info["features"] > 0 and geometry_type in (None, "Unknown"):
            geoms = pyogrio.read_dataframe(dataset, layer=ref.ogr_layer, columns=[], force_2d=True, on_invalid="ignore")
            geometry_type = geometry_type_of(geoms.geometry)
    total = info["total_bounds"]
    bounds = as_bounds(total) if total is not None else None
    crs = pyproj.CRS.from_user_input(info["crs"]) if info["crs"] else None
    return _LayerMeta(int(info["features"]), crs, bounds, geometry_type or "Unknown")


def _readable_layers(path: PathLike, tmp: Path) -> list[tuple[LayerRef, _LayerMeta]]:
    layers = [(ref, _layer_meta(ref)) for ref in layer_refs(path, tmp)]
    non_empty = [(ref, meta) for ref, meta in layers if meta.features > 0]
    if not non_empty:
        name = Path(path).name
        raise FileFormatError(f"文件“{name}”中没有任何要素（空图层）", f"no features in {path}")
    return non_empty


def inspect(path: PathLike, *, crs: CrsLike | None = None) -> list[LayerInfo]:
    """List the non-empty layers of a geodata file.

    Parameters
    ----------
    path : str or path-like
        GeoJSON, Shapefile (``.shp`` beside its ``.shx/.dbf/.prj``, or a ``.zip`` holding it in
        any folder), GeoPackage (every spatial layer), KML/KMZ (one layer per Folder), GPX
        (only non-empty layers among tracks, routes, waypoints, track_points, route_points) or CSV
        with longitude/latitude columns.
    crs : CRS-like, optional
        CRS to assume for a file that declares none (used for ``crs`` and the bounds).

    Returns
    -------
    list of LayerInfo
        Name, geometry type, feature count, CRS and WGS84 bounds (decimal degrees) per layer.

    Raises
    ------
    FileFormatError
        Missing, empty, broken or unsupported file, or no features at all.
    LimitError
        A limit of :mod:`gis.limits` (file size, archive, XML entities, points).
    CRSError
        ``crs`` is not a valid CRS.
    """
    assumed = parse_crs(crs) if crs is not None else None
    infos = []
    with tempfile.TemporaryDirectory(prefix="rivergrid-read-") as tmp:
        layers = _readable_layers(path, Path(tmp))
    for ref, meta in layers:
        layer_crs = effective_crs(meta.crs, assumed, ref.kind)
        infos.append(
            LayerInfo(
                name=ref.name,
                geometry_type=meta.geometry_type,
                features=meta.features,
                crs=crs_label(layer_crs) if layer_crs is not None else None,
                bounds_wgs84=wgs84_bounds(meta.bounds, layer_crs),
            )
        )
    return infos


def _select_layer(
    layers: list[tuple[LayerRef, _LayerMeta]], layer: str | None, path: Path
) -> tuple[LayerRef, _LayerMeta, list[str]]:
    names = [ref.name for ref, _ in layers]
    if layer is None:
        ref, meta = layers[0]
        warns = []
        if len(layers) > 1:
            warns.append(f"文件包含 {len(layers)} 个图层（{'、'.join(names)}），未指定图层，已读取“{ref.name}”")
        return ref, meta, warns
    for ref, meta in layers:
        if ref.name == layer:
            return ref, meta, []
    raise LayerNotFoundError(
        f"文件“{path.name}”中没有名为“{layer}”的图层（或该图层为空），可用图层：{'、'.join(names)}",
        f"layer {layer!r} not found in {path}; available: {names}",
    )


def read_layer(
    path: PathLike,
    *,
    layer: str | None = None,
    crs: CrsLike | None = None,
    source_offset: str | None = None,
) -> ReadResult:
    """Read one layer into the store CRS (EPSG:4326, longitude/latitude in decimal degrees).

    Parameters
    ----------
    path : str or path-like
        A file :func:`inspect` understands.
    layer : str, optional
        Layer name as reported by :func:`inspect`; default the first non-empty layer (for GPX:
        tracks, then routes, then waypoints), with a warning when there are several.
    crs : CRS-like, optional
        CRS to assume when the file declares none (e.g. a shapefile without ``.prj``). Without
        it such a file is refused; GeoJSON, KML, GPX and CSV default to EPSG:4326.
    source_offset : {"gcj02", "bd09"}, optional
        The coordinates are Amap/Tencent (GCJ-02) or Baidu (BD-09) offsets: convert them to
        WGS84 after reprojecting.

    Returns
    -------
    ReadResult
        2D data in EPSG:4326 with empty geometries dropped and invalid ones repaired (each
        change in ``warnings``, in Chinese). A shapefile without ``.cpg`` whose text is not
        UTF-8 is read as GBK, with a warning.

    Raises
    ------
    FileFormatError
        Missing, empty, broken or unsupported file; layer without features.
    LimitError
        A limit of :mod:`gis.limits` (file size, archive, XML entities, points).
    GeometryError
        A vertex with a coordinate that is not a finite number (the message names the feature).
    LayerNotFoundError
        ``layer`` is not one of the file's non-empty layers (the message lists them).
    CRSError
        No CRS in the file and none given, or ``crs``/``source_offset`` not understood.
    CoordinateRangeError
        Coordinates are not valid longitude/latitude (swapped, projected, out of range).
    """
    p = Path(path)
    assumed = parse_crs(crs) if crs is not None else None
    with tempfile.TemporaryDirectory(prefix="rivergrid-read-") as tmp:
        ref, _meta, warns = _select_layer(_readable_layers(p, Path(tmp)), layer, p)
        frame = _read_frame(ref)
    warns += frame.warnings
    gdf = frame.gdf
    if gdf.empty:
        raise FileFormatError(f"图层“{ref.name}”中没有要素", f"layer {ref.name} of {p} is empty")
    require_finite(gdf, p.name)

    if gdf.crs is not None and assumed is not None and not gdf.crs.equals(assumed, ignore_axis_order=True):
        warns.append(f"文件自带坐标系 {crs_label(gdf.crs)}，已忽略指定的 {crs_label(assumed)}")
    source_crs = effective_crs(gdf.crs, assumed, ref.kind)
    if source_crs is None:
        raise CRSError(
            "文件缺少坐标系（如 .prj），请指定坐标系，例如 EPSG:4326",
            f"{p.name} (layer {ref.name}) declares no CRS and none was given",
        )
    gdf = gdf.set_crs(source_crs, allow_override=True)
    if source_crs.is_geographic:
        check_lonlat_range(gdf)

    gdf, geometry_warnings = clean_geometries(gdf)
    warns += geometry_warnings
    if gdf.empty:
        raise FileFormatError(f"图层“{ref.name}”中没有有效的几何要素", f"no valid geometry in {ref.name} of {p}")

    gdf = to_store_crs(gdf)
    if source_offset is not None:
        gdf = convert_gdf(gdf, source=source_offset)
    return ReadResult(gdf=gdf, warnings=warns, source_crs=crs_label(source_crs), layer=ref.name)


def read_gpx_tracks(path: PathLike, *, source_offset: str | None = None) -> list[GpxTrack]:
    """Read every GPX track (``<trk>``) with its per-point timestamps.

    The file is streamed through ``defusedxml`` (see :mod:`gis.limits`): memory does not grow
    with the file beyond the points kept, and it is refused as soon as it holds more points than
    ``RIVERGRID_MAX_TRACK_POINTS``.

    Parameters
    ----------
    path : str or path-like
        A ``.gpx`` file (GPX coordinates are WGS84 longitude/latitude, times UTC).
    source_offset : {"gcj02", "bd09"}, optional
        The track was exported from Amap/Tencent (GCJ-02) or Baidu (BD-09): convert to WGS84.

    Returns
    -------
    list of GpxTrack
        One per track with points, in file order; the segments of a track are joined in order.
        Times without a zone are taken as UTC (as GPX specifies); missing or unreadable times
        are ``None``.

    Raises
    ------
    FileFormatError
        Not a readable GPX file, or no track points.
    LimitError
        File too large, XML entities, or too many points.
    GeometryError
        A point without finite ``lat``/``lon`` (the message names the track and the point).
    CoordinateRangeError
        Coordinates are not valid longitude/latitude.
    """
    p = existing_file(path)
    if p.suffix.lower() != ".gpx":
        raise FileFormatError(f"巡河轨迹需要 GPX 文件，收到“{p.name}”", f"not a .gpx file: {p}")
    parsed = parse_gpx(p, collect=True)
    if not parsed:
        raise FileFormatError(f"GPX 文件“{p.name}”中没有轨迹点（<trk>/<trkpt>）", f"no track points in {p}")
    sizes = [len(t[1]) for t in parsed]
    xy = np.column_stack([np.concatenate([t[1] for t in parsed]), np.concatenate([t[2] for t in parsed])])
    check_lonlat_range((xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()))
    if source_offset is not None:
        points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=STORE_CRS)
        xy = shapely.get_coordinates(np.asarray(convert_gdf(points, source=source_offset).geometry.array))
    stamps = pd.to_datetime(
        pd.Series([x for t in parsed for x in t[3]], dtype=object), utc=True, format="ISO8601", errors="coerce"
    ).dt.floor("us")  # Python datetimes hold µs
    result = []
    start = 0
    for (name, _, _, _), n in zip(parsed, sizes, strict=True):
        part = xy[start : start + n]
        result.append(
            GpxTrack(
                name=name,
                coords=[(float(x), float(y)) for x, y in part],
                times=[t.to_pydatetime() if pd.notna(t) else None for t in stamps.iloc[start : start + n]],
                source_name=p.name,
            )
        )
        start += n
    return result
