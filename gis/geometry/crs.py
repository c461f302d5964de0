"""Coordinate helpers: China's offset coordinates, metric CRS choice, lon/lat checks.

GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are obfuscated offsets of WGS84 longitude/latitude
whose formulas are public. All angles here are decimal degrees, longitude first. Every function
that takes a GeoDataFrame returns a new one and leaves the caller's data unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from gis.errors import CoordinateRangeError, CRSError
from gis.model import STORE_CRS

__all__ = [
    "OFFSET_SOURCES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_lonlat_range",
    "choose_metric_crs",
    "convert_gdf",
    "convert_geometry",
    "crs_name",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "metric_crs_for",
    "to_crs",
    "to_store_crs",
    "transformer",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray: TypeAlias = NDArray[np.float64]
GeometryOrBounds: TypeAlias = BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | Sequence[float]
GeoData = TypeVar("GeoData", gpd.GeoSeries, gpd.GeoDataFrame)

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0

# Rectangle the published GCJ-02 algorithm treats as "China" (outside it nothing is offset).
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

# CGCS2000 3-degree Gauss-Krüger zones with central meridian in the EPSG code's name
# (EPSG:4534 = CM 75°E … EPSG:4554 = CM 135°E); each covers CM ± 1.5°.
_GK_FIRST_EPSG = 4534
_GK_CM_MIN, _GK_CM_MAX = 75, 135
_GK_LON = (_GK_CM_MIN - 1.5, _GK_CM_MAX + 1.5)
_GK_LAT = (0.0, 56.0)

_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITERATIONS = 30

OFFSET_SOURCES = ("gcj02", "bd09")
"""Names accepted by ``source=`` of :func:`convert_geometry` and :func:`convert_gdf`."""


# ---------------------------------------------------------------------------------------------
# Reprojection
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def transformer(crs_from: Any, crs_to: Any) -> pyproj.Transformer:
    """The transformer from ``crs_from`` to ``crs_to``, x (longitude, easting) first whatever
    the CRSs declare (``always_xy``, as geopandas), made once per process.

    pyproj makes a transformer anew in every thread that uses it, and Streamlit runs every
    script run of a page in a new thread. For a transformer made with ``Transformer.from_crs``
    that repeats PROJ's search of its database for the operation: 40–200 ms per CRS pair, per
    page run. When PROJ has exactly one operation for the pair (every pair this app uses:
    WGS84 or CGCS2000 to Gauss-Krüger, UTM, web Mercator or a local azimuthal projection), the
    transformer returned here is made from that operation's pipeline, which gives the same
    numbers and costs nothing to make again. When PROJ would choose among several operations
    point by point (datum shifts with several grids), the ``from_crs`` transformer is returned.

    For ``transform`` only: a pipeline knows no CRSs, so its ``transform_bounds`` gives
    infinities and its ``source_crs`` is None; use ``Transformer.from_crs`` for those.

    Parameters
    ----------
    crs_from, crs_to : anything ``pyproj.CRS.from_user_input`` accepts (hashable)
        E.g. ``"EPSG:4326"``, ``4551``, a ``pyproj.CRS``.
    """
    exact = pyproj.Transformer.from_crs(crs_from, crs_to, always_xy=True)
    definition = exact.definition
    if not definition.startswith("proj="):  # "unavailable until proj_trans is called": several operations
        return exact
    return pyproj.Transformer.from_pipeline(definition)


def to_crs(data: GeoData, crs: Any) -> GeoData:
    """``data.to_crs(crs)`` through :func:`transformer`: the same result (a new object, the
    caller's unchanged), without geopandas' per-thread rebuilding of its transformer.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        With a CRS (geopandas' error otherwise). Geometries with z coordinates are left to
        geopandas.
    crs : anything ``pyproj.CRS.from_user_input`` accepts
        The target CRS.
    """
    if data.crs is None or bool(shapely.has_z(np.asarray(data.geometry.array)).any()):
        return data.to_crs(crs)
    target = pyproj.CRS.from_user_input(crs)
    if data.crs.is_exact_same(target):
        return data.copy()
    forward = transformer(data.crs, target)
    moved = shapely.transform(
        np.asarray(data.geometry.array),
        lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])),
    )
    if isinstance(data, gpd.GeoSeries):
        return gpd.GeoSeries(moved, index=data.index, crs=target, name=data.name)
    out = data.copy()
    out[out.geometry.name] = gpd.GeoSeries(moved, index=data.index, crs=target)
    return out.set_crs(target, allow_override=True)


# ---------------------------------------------------------------------------------------------
# Point formulas (vectorised)
# ---------------------------------------------------------------------------------------------


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_a.copy(), lat_a.copy()


def _in_china(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    """True where the GCJ-02 algorithm applies an offset (NaN counts as inside: it stays NaN)."""
    outside = (lon < _CHINA_LON[0]) | (lon > _CHINA_LON[1]) | (lat < _CHINA_LAT[0]) | (lat > _CHINA_LAT[1])
    return ~outside


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (dlon, dlat) in degrees to add to WGS84 lon/lat (no China test)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0

    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude/latitude to GCJ-02 (Amap/Tencent).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in decimal degrees (broadcast together).

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in decimal degrees. Points outside China are unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = _in_china(lon_a, lat_a)
    dlon, dlat = _gcj_delta(lon_a[inside], lat_a[inside])
    lon_a[inside] += dlon
    lat_a[inside] += dlat
    return lon_a, lat_a


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    target_lon: FloatArray,
    target_lat: FloatArray,
    guess_lon: FloatArray,
    guess_lat: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(lon, lat) == target`` by fixed-point iteration from a first guess.

    The offsets vary slowly (their Jacobian is close to the identity), so each step subtracts
    the residual; it stops when every residual is below 1e-9 degrees.
    """
    lon, lat = guess_lon.copy(), guess_lat.copy()
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fwd_lon, fwd_lat = forward(lon, lat)
        err_lon = fwd_lon - target_lon
        err_lat = fwd_lat - target_lat
        lon -= err_lon
        lat -= err_lat
        if not np.any((np.abs(err_lon) > _INVERSE_TOLERANCE_DEG) | (np.abs(err_lat) > _INVERSE_TOLERANCE_DEG)):
            break
    return lon, lat


def _gcj_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 (Amap/Tencent) longitude/latitude to WGS84.

    The forward formula has no closed inverse; this solves it by iteration until the forward
    transform of the result is within 1e-9 degrees of the input (well below 1e-7 degrees),
    not with the common one-step approximation (errors up to ~1e-5 degrees, about 1 m).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in decimal degrees (broadcast together).

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 longitude and latitude in decimal degrees. Points outside China are unchanged.
    """
    gcj_lon, gcj_lat = _as_arrays(lon, lat)
    inside = _in_china(gcj_lon, gcj_lat)
    target_lon, target_lat = gcj_lon[inside], gcj_lat[inside]
    dlon, dlat = _gcj_delta(target_lon, target_lat)
    gcj_lon[inside], gcj_lat[inside] = _invert(
        _gcj_forward, target_lon, target_lat, target_lon - dlon, target_lat - dlat
    )
    return gcj_lon, gcj_lat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in decimal degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude in decimal degrees.
    """
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_published(bd_lon: FloatArray, bd_lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = bd_lon - 0.0065
    y = bd_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 (Baidu) longitude/latitude to GCJ-02.

    Starts from the published inverse formula (round-trip error about 1e-6 degrees) and refines
    it by iteration so that :func:`gcj02_to_bd09` of the result matches within 1e-9 degrees.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in decimal degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in decimal degrees.
    """
    bd_lon, bd_lat = _as_arrays(lon, lat)
    guess_lon, guess_lat = _bd09_to_gcj02_published(bd_lon, bd_lat)
    return _invert(gcj02_to_bd09, bd_lon, bd_lat, guess_lon, guess_lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude/latitude (decimal degrees) to BD-09 via GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 longitude/latitude (decimal degrees) to WGS84 via GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


# ---------------------------------------------------------------------------------------------
# Geometries and GeoDataFrames
# ---------------------------------------------------------------------------------------------


def _offset_function(source: str) -> Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]]:
    key = str(source).strip().lower().replace("-", "").replace("_", "")
    if key not in _TO_WGS84:
        raise CRSError(
            f"未知的坐标偏移类型“{source}”，可选：gcj02（高德/腾讯）、bd09（百度）",
            f"unknown offset source {source!r}; expected one of {OFFSET_SOURCES}",
        )
    return _TO_WGS84[key]


def _coords_transformer(
    func: Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]],
) -> Callable[[FloatArray], FloatArray]:
    def transform(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64, copy=True)
        out[:, 0], out[:, 1] = func(coords[:, 0], coords[:, 1])
        return out

    return transform


def convert_geometry(geom: BaseGeometry, *, source: str) -> BaseGeometry:
    """Convert a geometry from offset coordinates (GCJ-02 or BD-09) to WGS84.

    Parameters
    ----------
    geom : shapely geometry
        Geometry in GCJ-02 or BD-09 longitude/latitude (decimal degrees). Z values are kept.
    source : {"gcj02", "bd09"}
        The offset system of ``geom``.

    Returns
    -------
    shapely geometry
        A new geometry in WGS84 longitude/latitude (decimal degrees).
    """
    transform = _coords_transformer(_offset_function(source))
    return shapely.transform(geom, transform, include_z=None)


def convert_gdf(gdf: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Convert a GeoDataFrame from offset coordinates (GCJ-02 or BD-09) to WGS84.

    Parameters
    ----------
    gdf : GeoDataFrame
        Data whose geometry column holds GCJ-02 or BD-09 longitude/latitude in decimal
        degrees. Its CRS must be geographic (offset data is labelled EPSG:4326 by the apps that
        export it) or missing, which is taken as longitude/latitude.
    source : {"gcj02", "bd09"}
        The offset system of ``gdf``.

    Returns
    -------
    GeoDataFrame
        A copy in EPSG:4326 (WGS84 longitude/latitude, decimal degrees).
    """
    transform = _coords_transformer(_offset_function(source))
    if gdf.crs is not None and not gdf.crs.is_geographic:
        raise CRSError(
            f"坐标偏移转换需要经纬度数据，当前坐标系为 {gdf.crs.name}（投影坐标）",
            f"offset conversion needs longitude/latitude, got projected CRS {gdf.crs.to_string()}",
        )
    gdf = gdf.copy()
    check_lonlat_range(gdf)
    name = gdf.geometry.name
    converted = shapely.transform(np.asarray(gdf.geometry.array), transform, include_z=None)
    gdf[name] = gpd.GeoSeries(converted, index=gdf.index, crs=STORE_CRS)
    return gdf.set_crs(STORE_CRS, allow_override=True)


# ---------------------------------------------------------------------------------------------
# Ranges and CRS choice
# ---------------------------------------------------------------------------------------------


def _bounds_of(obj: GeometryOrBounds) -> tuple[FloatArray, pyproj.CRS | None]:
    """Total bounds (minx, miny, maxx, maxy) of ``obj`` and its CRS when it has one."""
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return np.asarray(obj.total_bounds, dtype=np.float64), obj.crs
    if isinstance(obj, BaseGeometry):
        return np.asarray(shapely.bounds(obj), dtype=np.float64), None
    values = np.asarray(obj, dtype=np.float64).ravel()
    if values.shape != (4,):
        raise CRSError(
            "范围应为 4 个数字（最小经度, 最小纬度, 最大经度, 最大纬度）",
            f"bounds must be (minx, miny, maxx, maxy), got {len(values)} values",
        )
    return values, None


def _fmt_bounds(b: FloatArray) -> str:
    return f"x {b[0]:.6g} ~ {b[2]:.6g}，y {b[1]:.6g} ~ {b[3]:.6g}"


def _check_bounds(b: FloatArray) -> None:
    if np.all(np.isnan(b)):
        return
    if not np.all(np.isfinite(b)):
        raise CoordinateRangeError(
            "坐标值无效（无穷大或缺失），请检查文件的坐标系",
            f"non-finite coordinate bounds {b.tolist()}",
        )
    minx, miny, maxx, maxy = b
    lon_ok = -180.0 <= minx and maxx <= 180.0
    lat_ok = -90.0 <= miny and maxy <= 90.0
    if lon_ok and lat_ok:
        return
    if -90.0 <= minx and maxx <= 90.0 and -180.0 <= miny and maxy <= 180.0:
        raise CoordinateRangeError(
            f"经纬度可能颠倒：第二个坐标超出纬度范围（±90°），但第一个坐标像纬度（{_fmt_bounds(b)}）。"
            "请确认经度在前、纬度在后",
            f"longitude/latitude look swapped: bounds {b.tolist()}",
        )
    if np.max(np.abs(b)) > 1000.0:
        raise CoordinateRangeError(
            f"坐标值不是经纬度，看起来是投影坐标（单位米）（{_fmt_bounds(b)}）。"
            "请指定文件的坐标系，例如 EPSG:4551（CGCS2000 3度带 中央经线126°E）",
            f"coordinates look projected (metres), bounds {b.tolist()}",
        )
    raise CoordinateRangeError(
        f"坐标超出经纬度范围（经度 ±180°，纬度 ±90°）：{_fmt_bounds(b)}",
        f"coordinates outside lon/lat range, bounds {b.tolist()}",
    )


def check_lonlat_range(gdf_or_bounds: GeometryOrBounds) -> None:
    """Raise when coordinates are not valid longitude/latitude.

    Parameters
    ----------
    gdf_or_bounds : GeoDataFrame, GeoSeries, shapely geometry or (minx, miny, maxx, maxy)
        Data whose numbers should be longitude (±180) and latitude (±90) in decimal degrees.
        A GeoDataFrame/GeoSeries with a projected CRS is refused. Empty data passes.

    Raises
    ------
    CoordinateRangeError
        Coordinates are out of range; the message says when they look swapped ("经纬度可能颠倒")
        or projected (metres).
    CRSError
        The data carries a projected CRS.
    """
    bounds, crs = _bounds_of(gdf_or_bounds)
    if crs is not None and not crs.is_geographic:
        raise CRSError(
            f"需要经纬度坐标，但数据的坐标系是投影坐标系 {crs.name}",
            f"expected geographic coordinates, got projected CRS {crs.to_string()}",
        )
    _check_bounds(bounds)


def _lonlat_bounds(obj: GeometryOrBounds) -> FloatArray:
    """WGS84 lon/lat bounds of ``obj`` (transformed when it has a CRS), checked for range."""
    bounds, crs = _bounds_of(obj)
    if crs is not None and not crs.is_geographic and np.all(np.isfinite(bounds)):
        transformer = pyproj.Transformer.from_crs(crs, STORE_CRS, always_xy=True)
        xmin, ymin, xmax, ymax = bounds
        bounds = np.asarray(transformer.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21), dtype=np.float64)
    _check_bounds(bounds)
    return bounds


def metric_crs_for(geometry_or_bounds: GeometryOrBounds) -> pyproj.CRS:
    """Choose a metric (projected) CRS suited to the data's location.

    Parameters
    ----------
    geometry_or_bounds : GeoDataFrame, GeoSeries, shapely geometry or (minx, miny, maxx, maxy)
        Data in longitude/latitude (decimal degrees); a GeoDataFrame/GeoSeries with another
        CRS is first transformed to WGS84 to find its location.

    Returns
    -------
    pyproj.CRS
        For a centre within China (73.5–136.5°E, 0–56°N): the CGCS2000 3-degree Gauss-Krüger
        CM zone nearest the centre (EPSG:4534–4554, CM 75°E–135°E; CM 126°E is EPSG:4551,
        Linjiang). Elsewhere the WGS84 UTM zone of the centre (EPSG:326xx north, 327xx south).
        Units are metres; mind that the Gauss-Krüger CRSs declare northing first, so transform
        with ``always_xy=True`` (as geopandas does).
    """
    bounds = _lonlat_bounds(geometry_or_bounds)
    if np.any(np.isnan(bounds)):
        raise CRSError("数据没有坐标，无法选择投影坐标系", "cannot choose a metric CRS for empty data")
    lon = (bounds[0] + bounds[2]) / 2.0
    lat = (bounds[1] + bounds[3]) / 2.0
    if _GK_LON[0] <= lon < _GK_LON[1] and _GK_LAT[0] <= lat <= _GK_LAT[1]:
        cm = min(max(3 * round(lon / 3.0), _GK_CM_MIN), _GK_CM_MAX)
        return pyproj.CRS.from_epsg(_GK_FIRST_EPSG + (cm - _GK_CM_MIN) // 3)
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def crs_name(crs: Any) -> str:
    """``EPSG:4551`` for a CRS with an EPSG code, else its name (for messages)."""
    crs = pyproj.CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def choose_metric_crs(data: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any = None) -> pyproj.CRS:
    """The CRS to measure ``data`` in (the one rule of every check: coverage, topology, patrol).

    ``crs`` if given, which must be a projected CRS in metres (a geographic CRS or one in feet is
    refused); otherwise the data's own CRS if it is projected in metres; otherwise
    :func:`metric_crs_for` the extent of the data's present geometries (CGCS2000 3-degree
    Gauss-Krüger in China, else UTM).

    Raises
    ------
    CRSError
        ``crs`` is geographic or not in metres, or the data has no geometry to place.
    """
    if crs is not None:
        chosen = pyproj.CRS.from_user_input(crs)
        if not chosen.is_projected:
            raise CRSError(
                f"量算坐标系 {crs_name(chosen)} 是经纬度坐标系，不能量算长度和面积，"
                "请指定以米为单位的投影坐标系（如 EPSG:4551）",
                f"metric CRS {crs_name(chosen)} is geographic; give a projected CRS in metres",
            )
        if not _in_metres(chosen):
            raise CRSError(
                f"量算坐标系 {crs_name(chosen)} 的单位不是米，请指定以米为单位的投影坐标系（如 EPSG:4551）",
                f"metric CRS {crs_name(chosen)} is not in metres",
            )
        return chosen
    own = pyproj.CRS.from_user_input(data.crs)
    if own.is_projected and _in_metres(own):
        return own
    return metric_crs_for(tuple(to_crs(data, "EPSG:4326").total_bounds))


def _in_metres(crs: pyproj.CRS) -> bool:
    units = {axis.unit_name for axis in crs.axis_info}
    return bool(units) and units <= {"metre", "meter"}


def to_store_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to the store CRS (EPSG:4326, longitude/latitude) and check the range.

    Parameters
    ----------
    gdf : GeoDataFrame
        Data with a CRS. Axis order follows GIS convention (x = longitude/easting) whatever the
        CRS declares, so EPSG:4490 (CGCS2000, latitude-first by definition) comes out lon/lat.

    Returns
    -------
    GeoDataFrame
        A copy in EPSG:4326, decimal degrees.

    Raises
    ------
    CRSError
        ``gdf`` has no CRS.
    CoordinateRangeError
        The coordinates are not valid longitude/latitude (before reprojection for a geographic
        source, and after it in any case).
    """
    if gdf.crs is None:
        raise CRSError(
            "数据没有坐标系，请指定坐标系，例如 EPSG:4326（WGS84 经纬度）",
            "GeoDataFrame has no CRS; set one before storing",
        )
    if gdf.crs.is_geographic:
        check_lonlat_range(gdf)
    # geopandas transforms with always_xy=True, so the result is longitude/latitude.
    out = to_crs(gdf, STORE_CRS)
    check_lonlat_range(out)
    return out
