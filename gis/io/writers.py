"""Writing geodata files: GeoPackage, zipped Shapefile, GeoJSON, KML (:func:`write_layer`)."""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors

from gis.errors import CRSError, FileFormatError, GeometryError
from gis.io.repair import FAMILY, FAMILY_ZH
from gis.io.shapefiles import SHP_FIELD_BYTES, truncate_utf8
from gis.io.sources import SHAPEFILE_PARTS, PathLike
from gis.model import STORE_CRS

__all__ = ["WRITE_FORMATS", "write_layer"]

WRITE_FORMATS: dict[str, tuple[str, str]] = {
    "gpkg": ("GPKG", ".gpkg"),
    "shp": ("ESRI Shapefile", ".zip"),
    "geojson": ("GeoJSON", ".geojson"),
    "kml": ("LIBKML", ".kml"),
}
"""``fmt`` of :func:`write_layer` → (GDAL driver, file suffix)."""


def _datetimes_to_iso(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Datetime columns as ISO 8601 text (for formats without a date-time field type)."""
    for col in gdf.columns:
        if col != gdf.geometry.name and pd.api.types.is_datetime64_any_dtype(gdf[col]):
            gdf[col] = pd.Series(
                [t.isoformat() if pd.notna(t) else None for t in gdf[col]], index=gdf.index, dtype=object
            )
    return gdf


def _shapefile_field_names(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename fields longer than the dBASE limit (10 bytes in UTF-8) on character boundaries."""
    renames: dict[str, str] = {}
    used = {str(c) for c in gdf.columns if len(str(c).encode("utf-8")) <= SHP_FIELD_BYTES}
    for col in gdf.columns:
        name = str(col)
        if col == gdf.geometry.name or len(name.encode("utf-8")) <= SHP_FIELD_BYTES:
            continue
        new = truncate_utf8(name, SHP_FIELD_BYTES)
        n = 1
        while new in used:
            suffix = f"_{n}"
            new = truncate_utf8(name, SHP_FIELD_BYTES - len(suffix)) + suffix
            n += 1
        used.add(new)
        renames[name] = new
    if renames:
        changes = "、".join(f"“{old}”→“{new}”" for old, new in renames.items())
        warnings.warn(f"Shapefile 字段名最长 10 字节，已改名：{changes}", UserWarning, stacklevel=3)
    return gdf.rename(columns=renames)


def _require_single_family(gdf: gpd.GeoDataFrame) -> None:
    families = sorted({FAMILY.get(t, t) for t in gdf.geometry.dropna().geom_type})
    if len(families) > 1:
        kinds = "、".join(FAMILY_ZH.get(f, f) for f in families)
        raise GeometryError(
            f"Shapefile 只能保存一种几何类型，当前数据同时含有：{kinds}。请分开导出或改用 GeoPackage",
            f"shapefile needs one geometry family, got {families}",
        )


def _int64_to_int32(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """64-bit integer columns that fit as 32-bit (KML has no 64-bit integer type)."""
    info = np.iinfo(np.int32)
    for col in gdf.columns:
        s = gdf[col]
        if (
            col != gdf.geometry.name
            and s.dtype == np.int64
            and (s.empty or (s.min() >= info.min and s.max() <= info.max))
        ):
            gdf[col] = s.astype(np.int32)
    return gdf


def _write_shapefile_zip(gdf: gpd.GeoDataFrame, target: Path, layer: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{layer}.shp"
        pyogrio.write_dataframe(gdf, shp, driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for ext in SHAPEFILE_PARTS:
                part = shp.with_suffix(ext)
                if part.exists():
                    zf.write(part, part.name)


def write_layer(gdf: gpd.GeoDataFrame, path: PathLike, *, fmt: str, layer: str | None = None) -> Path:
    """Write a GeoDataFrame to a file.

    Parameters
    ----------
    gdf : GeoDataFrame
        Data with a CRS (any; GeoJSON and KML are written in EPSG:4326 as their specifications
        require, GeoPackage and Shapefile keep the CRS). Not modified.
    path : str or path-like
        Target file. For ``shp`` the suffix becomes ``.zip``. An existing GeoJSON/KML/zip file is
        replaced; an existing GeoPackage gets the layer added (or replaced, same name).
    fmt : {"gpkg", "shp", "geojson", "kml"}
        GeoPackage; zipped Shapefile (.shp/.shx/.dbf/.prj/.cpg, UTF-8; field names over 10
        bytes are shortened with a ``UserWarning``); GeoJSON (RFC 7946); KML through GDAL's
        LIBKML driver (attributes as ExtendedData, a ``name`` column as the placemark name).
    layer : str, optional
        Layer name; default the file's stem.

    Returns
    -------
    pathlib.Path
        The written file. Datetime columns are kept as date-times in GeoPackage and GeoJSON and
        written as ISO 8601 text in Shapefile and KML.

    Raises
    ------
    FileFormatError
        Unknown ``fmt`` or the write failed.
    CRSError
        ``gdf`` has no CRS.
    GeometryError
        Shapefile asked for mixed points/lines/polygons.
    """
    key = str(fmt).strip().lower().lstrip(".")
    if key not in WRITE_FORMATS:
        raise FileFormatError(
            f"不支持的导出格式“{fmt}”，可选：{'、'.join(WRITE_FORMATS)}",
            f"unknown write format {fmt!r}; expected one of {list(WRITE_FORMATS)}",
        )
    if gdf.crs is None:
        raise CRSError("数据没有坐标系，无法导出，请先设置坐标系", "cannot write a GeoDataFrame without CRS")
    driver, suffix = WRITE_FORMATS[key]
    target = Path(path)
    if (key == "shp" and target.suffix.lower() != ".zip") or not target.suffix:
        target = target.with_suffix(suffix)
    layer_name = layer or target.stem
    out = gdf.copy()
    if key in ("geojson", "kml"):
        out = out.to_crs(STORE_CRS)
    if key in ("shp", "kml"):
        out = _datetimes_to_iso(out)
    if key == "kml":
        out = _int64_to_int32(out)
    if key == "shp":
        _require_single_family(out)
        out = _shapefile_field_names(out)
    if key != "gpkg" and target.exists():
        target.unlink()
    try:
        if key == "shp":
            _write_shapefile_zip(out, target, layer_name)
        elif key == "geojson":
            pyogrio.write_dataframe(out, target, driver=driver, layer=layer_name, layer_options={"RFC7946": "YES"})
        else:
            pyogrio.write_dataframe(out, target, driver=driver, layer=layer_name)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.FeatureError,
        pyogrio.errors.GeometryError,
    ) as exc:
        raise FileFormatError(f"导出文件“{target.name}”失败：{exc}", f"GDAL could not write {target}: {exc}") from exc
    return target
