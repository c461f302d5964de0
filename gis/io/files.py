"""Reading and writing geodata files (GeoJSON, Shapefile, GeoPackage, KML/KMZ, GPX, CSV).

Everything read comes out in the store CRS (EPSG:4326, longitude/latitude in decimal degrees),
2D, with repaired geometries and Chinese warnings for what was changed. Errors are the typed
exceptions of :mod:`gis.errors`, each with a Chinese message for users.

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
"""

from __future__ import annotations

import glob
import math
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gis import limits
from gis.geometry.crs import check_lonlat_range, convert_gdf, to_store_crs
from gis.geometry.shapes import repair
from gis.errors import (
    CoordinateRangeError,
    CRSError,
    FileFormatError,
    GeometryError,
    LayerNotFoundError,
)
from gis.model import STORE_CRS

__all__ = [
    "GpxTrack",
    "LayerInfo",
    "ReadResult",
    "WRITE_FORMATS",
    "feature_labels",
    "inspect",
    "read_gpx_tracks",
    "read_layer",
    "write_layer",
]

PathLike: TypeAlias = str | os.PathLike[str]
CrsLike: TypeAlias = str | int | pyproj.CRS
Bounds: TypeAlias = tuple[float, float, float, float]

_SUFFIX_KIND = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".shp": "shp",
    ".zip": "shp",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".kmz": "kml",
    ".gpx": "gpx",
    ".csv": "csv",
}
_SUPPORTED_TEXT = "GeoJSON、Shapefile（.shp 或 .zip 压缩包）、GeoPackage（.gpkg）、KML/KMZ、GPX、CSV（含经纬度列）"
_LONLAT_BY_SPEC = frozenset({"geojson", "kml", "gpx", "csv"})
"""Formats whose coordinates are WGS84 longitude/latitude when no CRS is declared."""

_GPX_LAYER_ORDER = ("tracks", "routes", "waypoints", "track_points", "route_points")
_KML_BOOKKEEPING = ("id", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                    "visibility", "drawOrder", "icon", "snippet")
_LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
_LAT_NAMES = ("lat", "latitude", "y", "纬度")
_NAME_COLUMNS = ("name", "名称")
_SHP_FIELD_BYTES = 10
_MAX_LISTED = 10
_CSV_CHUNK_ROWS = 100_000

WRITE_FORMATS: dict[str, tuple[str, str]] = {
    "gpkg": ("GPKG", ".gpkg"),
    "shp": ("ESRI Shapefile", ".zip"),
    "geojson": ("GeoJSON", ".geojson"),
    "kml": ("LIBKML", ".kml"),
}
"""``fmt`` of :func:`write_layer` → (GDAL driver, file suffix)."""

# Keep non-ASCII names of KML <Data> fields (GDAL's default turns "河长" into "______").
pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})


# ---------------------------------------------------------------------------------------------
# Public data classes
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Opening files and listing layers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LayerRef:
    """A readable layer: its user-facing name and how GDAL (or pandas for CSV) opens it.

    ``dataset`` is a local path; for a layer unpacked from an archive it lies in the temporary
    folder of the call and ``archive`` is the uploaded file (named in messages).
    """

    name: str
    kind: str
    dataset: str
    ogr_layer: str | None = None
    archive: Path | None = None


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


@contextmanager
def _gdal_errors(path: Path) -> Iterator[None]:
    """Turn GDAL/pyogrio read failures into :class:`FileFormatError`."""
    try:
        yield
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.FeatureError,
        pyogrio.errors.GeometryError,
        UnicodeDecodeError,
        shapely.errors.GEOSException,
    ) as exc:
        raise FileFormatError(
            f"无法读取文件“{path.name}”：文件已损坏或不是受支持的地理数据格式（支持 {_SUPPORTED_TEXT}）",
            f"GDAL could not read {path}: {exc}",
        ) from exc


def _existing_file(path: PathLike) -> Path:
    """``path`` as a Path, refused when missing, empty or above ``RIVERGRID_MAX_FILE_MB``."""
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"找不到文件“{p.name}”", f"no such file: {p}")
    if limits.check_file_size(p) == 0:
        raise FileFormatError(f"文件“{p.name}”是空的（0 字节），请重新上传", f"empty file: {p}")
    return p


def _file_kind(p: Path) -> str:
    kind = _SUFFIX_KIND.get(p.suffix.lower())
    if kind is None:
        raise FileFormatError(
            f"不支持的文件格式“{p.suffix or p.name}”，支持：{_SUPPORTED_TEXT}",
            f"unsupported file suffix {p.suffix!r}",
        )
    return kind


def _sibling(shp: Path, ext: str) -> Path | None:
    """The file next to ``shp`` with the same stem and extension ``ext`` (any letter case)."""
    for candidate in shp.parent.glob(f"{glob.escape(shp.stem)}.*"):
        if candidate.stem == shp.stem and candidate.suffix.lower() == ext:
            return candidate
    return None


def _require_shapefile_parts(display: str, present: set[str]) -> None:
    missing = [ext for ext in (".shx", ".dbf") if ext not in present]
    if missing:
        raise FileFormatError(
            f"Shapefile“{display}”不完整，缺少 {'、'.join(missing)} 文件。"
            "请把 .shp、.shx、.dbf、.prj（及 .cpg）一起打包成 zip 上传",
            f"shapefile {display} lacks {missing}",
        )


def _zip_layers(p: Path, tmp: Path) -> list[_LayerRef]:
    """The shapefiles of a zip, each unpacked (bounded) into its own folder under ``tmp``.

    The archive is judged from its central directory first (:func:`gis.limits.check_archive`);
    only the parts GDAL reads (.shp, .shx, .dbf, .prj, .cpg) are unpacked, under fixed names
    (the members' own paths are never used on disk).
    """
    with limits.open_archive(p) as (zf, infos):
        members = [
            i for i in infos
            if not i.is_dir() and not i.filename.startswith("__MACOSX/")
            and not PurePosixPath(i.filename).name.startswith("._")
        ]
        names = [i.filename for i in members]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if not shps:
            raise FileFormatError(
                f"压缩包“{p.name}”中没有找到 Shapefile（.shp 文件）",
                f"no .shp in {p}",
            )
        stems = [PurePosixPath(n).stem for n in shps]
        refs = []
        for k, (member, stem) in enumerate(zip(shps, stems, strict=True)):
            base = member[: -len(".shp")]
            parts: dict[str, zipfile.ZipInfo] = {}
            for info in members:
                ext = info.filename[len(base):].lower()
                if info.filename[: len(base)] == base and ext in _SHAPEFILE_PARTS:
                    parts.setdefault(ext, info)
            _require_shapefile_parts(member, set(parts))
            folder = tmp / f"zip{k}"
            folder.mkdir()
            for ext, info in parts.items():
                limits.copy_member(zf, info, p.name, folder / f"layer{ext}")
            name = stem if stems.count(stem) == 1 else base
            refs.append(_LayerRef(name, "shp", str(folder / "layer.shp"), archive=p))
    return refs


def _kmz_document(p: Path, tmp: Path) -> Path:
    """The main KML of a KMZ (``doc.kml``, else the first ``.kml``), unpacked (bounded) into ``tmp``."""
    with limits.open_archive(p) as (zf, infos):
        kmls = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(".kml")]
        if not kmls:
            raise FileFormatError(f"KMZ 文件“{p.name}”中没有 KML", f"no .kml in {p}")
        main = next((i for i in kmls if i.filename == "doc.kml"), kmls[0])
        return limits.copy_member(zf, main, p.name, tmp / "doc.kml")


def _scan_kml(path: Path, name: str) -> None:
    """Stream a KML through defusedxml, counting its vertices against the point limit."""
    counter = limits.PointCounter(name)
    for elem, tags in limits.iter_xml(path, name):
        if tags[-1] == "coordinates":
            counter.add(len((elem.text or "").split()))
        elif tags[-1] == "coord":
            counter.add()


def _ogr_layer_names(p: Path, display: Path) -> list[str]:
    with _gdal_errors(display):
        listed = pyogrio.list_layers(str(p))
    # Non-spatial tables (geometry type None), e.g. attribute tables in a GeoPackage, are skipped.
    return [str(name) for name, geometry_type in listed if geometry_type is not None]


def _layer_refs(path: PathLike, tmp: Path) -> list[_LayerRef]:
    """Every layer of the file at ``path`` (empty ones included), after the safety checks of
    :mod:`gis.limits`; archives are unpacked into ``tmp`` (which must outlive the refs)."""
    p = _existing_file(path)
    kind = _file_kind(p)
    if kind == "csv":
        return [_LayerRef(p.stem, "csv", str(p))]
    if p.suffix.lower() == ".zip":
        return _zip_layers(p, tmp)
    if kind == "shp":
        parts = {ext: _sibling(p, ext) for ext in _SHAPEFILE_PARTS}
        _require_shapefile_parts(p.name, {ext for ext, found in parts.items() if found is not None})
        for found in parts.values():
            if found is not None:
                limits.check_file_size(found)
        return [_LayerRef(p.stem, "shp", str(p))]
    local = p
    if p.suffix.lower() == ".kmz":
        local = _kmz_document(p, tmp)
    if kind == "kml":
        _scan_kml(local, p.name)
    elif kind == "gpx":
        _parse_gpx(p, collect=False)
    names = _ogr_layer_names(local, p)
    if kind == "gpx":
        names = sorted(names, key=lambda n: _GPX_LAYER_ORDER.index(n) if n in _GPX_LAYER_ORDER else 99)
    return [_LayerRef(n, kind, str(local), ogr_layer=n, archive=p if local != p else None) for n in names]


def _parse_crs(crs: CrsLike) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(
            f"无法识别的坐标系“{crs}”，请填写如 EPSG:4326、EPSG:4490 或 EPSG:4551",
            f"unknown CRS {crs!r}: {exc}",
        ) from exc


def _crs_label(crs: pyproj.CRS) -> str:
    """``EPSG:xxxx`` when identifiable, else another authority code, else the CRS name."""
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    authority = crs.to_authority()
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def _effective_crs(file_crs: pyproj.CRS | None, assumed: pyproj.CRS | None, kind: str) -> pyproj.CRS | None:
    if file_crs is not None:
        return file_crs
    if assumed is not None:
        return assumed
    if kind in _LONLAT_BY_SPEC:
        return pyproj.CRS.from_user_input(STORE_CRS)
    return None


def _as_bounds(values: Any) -> Bounds:
    minx, miny, maxx, maxy = (float(v) for v in values)
    return (minx, miny, maxx, maxy)


def _wgs84_bounds(bounds: Bounds | None, crs: pyproj.CRS | None) -> Bounds | None:
    """``bounds`` in WGS84 lon/lat, or ``None`` when they cannot be stated honestly."""
    if bounds is None or crs is None or not np.all(np.isfinite(bounds)):
        return None
    try:
        if crs.is_geographic:
            check_lonlat_range(bounds)
        transformer = pyproj.Transformer.from_crs(crs, STORE_CRS, always_xy=True)
        out = transformer.transform_bounds(*bounds, densify_pts=21)
        check_lonlat_range(out)
    except (CoordinateRangeError, pyproj.exceptions.ProjError):
        return None
    return _as_bounds(out)


def _geometry_type_of(geoms: gpd.GeoSeries) -> str:
    types = sorted({t for t in geoms.dropna().geom_type if t is not None})
    return ", ".join(types) if types else "Unknown"


def _strip_dimension(geometry_type: str | None) -> str | None:
    if geometry_type is None:
        return None
    for suffix in (" ZM", " Z", " M"):
        if geometry_type.endswith(suffix):
            return geometry_type[: -len(suffix)]
    return geometry_type


def _layer_meta(ref: _LayerRef) -> _LayerMeta:
    if ref.kind == "csv":
        gdf = _read_csv(Path(ref.dataset)).gdf
        points = gdf.geometry.dropna()
        bounds = _as_bounds(points.total_bounds) if len(points) else None
        return _LayerMeta(len(gdf), None, bounds, "Point")
    with _ogr_dataset(ref) as (dataset, encoding, _warns), _gdal_errors(Path(ref.archive or ref.dataset)):
        info = pyogrio.read_info(dataset, layer=ref.ogr_layer, encoding=encoding, force_feature_count=True,
                                 force_total_bounds=True)
        geometry_type = _strip_dimension(info["geometry_type"])
        if info["features"] > 0 and geometry_type in (None, "Unknown"):
            geoms = pyogrio.read_dataframe(
                dataset, layer=ref.ogr_layer, columns=[], force_2d=True, on_invalid="ignore"
            )
            geometry_type = _geometry_type_of(geoms.geometry)
    total = info["total_bounds"]
    bounds = _as_bounds(total) if total is not None else None
    crs = pyproj.CRS.from_user_input(info["crs"]) if info["crs"] else None
    return _LayerMeta(int(info["features"]), crs, bounds, geometry_type or "Unknown")


def _readable_layers(path: PathLike, tmp: Path) -> list[tuple[_LayerRef, _LayerMeta]]:
    layers = [(ref, _layer_meta(ref)) for ref in _layer_refs(path, tmp)]
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
    assumed = _parse_crs(crs) if crs is not None else None
    infos = []
    with tempfile.TemporaryDirectory(prefix="rivergrid-read-") as tmp:
        layers = _readable_layers(path, Path(tmp))
    for ref, meta in layers:
        layer_crs = _effective_crs(meta.crs, assumed, ref.kind)
        infos.append(
            LayerInfo(
                name=ref.name,
                geometry_type=meta.geometry_type,
                features=meta.features,
                crs=_crs_label(layer_crs) if layer_crs is not None else None,
                bounds_wgs84=_wgs84_bounds(meta.bounds, layer_crs),
            )
        )
    return infos


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def _find_column(columns: pd.Index, candidates: tuple[str, ...]) -> str | None:
    normalised = {str(c).strip().lower(): str(c) for c in columns}
    for candidate in candidates:
        if candidate in normalised:
            return normalised[candidate]
    return None


def read_csv_rows(path: Path, *, usecols: Any = None, dtype: Any = None,
                  keep_default_na: bool = True) -> tuple[pd.DataFrame, list[str]]:
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
            with pd.read_csv(path, encoding=encoding, skipinitialspace=True, chunksize=_CSV_CHUNK_ROWS,
                             usecols=usecols, dtype=dtype, keep_default_na=keep_default_na) as reader:
                for chunk in reader:
                    counter.add(len(chunk))
                    chunks.append(chunk)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig":
                continue
            raise FileFormatError(f"CSV 文件“{path.name}”的编码无法识别（请用 UTF-8 或 GBK）",
                                  f"undecodable CSV {path}: {exc}") from exc
        except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError) as exc:
            if isinstance(exc, FileFormatError):
                raise
            raise FileFormatError(f"无法读取 CSV 文件“{path.name}”：内容为空或格式错误",
                                  f"bad CSV {path}: {exc}") from exc
        if encoding != "utf-8-sig":
            warns.append("CSV 文件不是 UTF-8 编码，已按 GBK（GB18030）编码读取")
        if not chunks:
            raise FileFormatError(f"CSV 文件“{path.name}”中没有数据行", f"no data rows in {path}")
        frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
        return frame, warns
    raise AssertionError("unreachable")


def _csv_coordinate_text(value: Any) -> str:
    return "空" if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "" \
        else f"“{value}”"


def _read_csv(path: Path) -> _Frame:
    """Points from a CSV with longitude/latitude columns (no CRS set; see the module docstring).

    A row whose longitude or latitude is empty, not a number or not finite is refused (with its
    feature number), never dropped.
    """
    df, warns = read_csv_rows(path)
    lon_col = _find_column(df.columns, _LON_NAMES)
    lat_col = _find_column(df.columns, _LAT_NAMES)
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
            f"{_feature_label(attributes, i)}的坐标无效（经度{_csv_coordinate_text(df[lon_col].iloc[i])}，"
            f"纬度{_csv_coordinate_text(df[lat_col].iloc[i])}，CSV 第 {i + 2} 行），不能导入{more}。"
            "请补全或删除这些行后重试",
            f"non-finite or missing coordinates in {len(bad)} row(s) of {path.name}, first data row {i + 1}",
        )
    points = shapely.points(lon, lat)
    return _Frame(gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(points, index=df.index)), warns)


def _require_finite(gdf: gpd.GeoDataFrame, name: str) -> None:
    """Refuse a layer with a vertex that is not a finite number (NaN, ±inf), naming the feature."""
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if not bad.any():
        return
    first_bad = int(np.flatnonzero(bad)[0])
    first = int(index[first_bad])
    vertex = first_bad - int(np.searchsorted(index, first)) + 1  # coordinates come feature by feature
    features = len(np.unique(index[bad]))
    x, y = coords[bad][0]
    more = f"；共 {features} 个要素含无效坐标" if features > 1 else ""
    raise GeometryError(
        f"{_feature_label(gdf, first)}的第 {vertex} 个顶点坐标无效（{x}, {y}），不能导入{more}。请修正文件“{name}”后重试",
        f"non-finite coordinate in vertex {vertex} of feature {first + 1} of {name} ({features} feature(s))",
    )


@dataclass(frozen=True)
class _DbfField:
    descriptor_pos: int
    name: bytes
    text: bool
    offset: int
    length: int


def _dbf_fields(dbf: bytes) -> list[_DbfField]:
    """Field descriptors of a dBASE (.dbf) header."""
    if len(dbf) < 32:
        return []
    header_len = int.from_bytes(dbf[8:10], "little")
    fields = []
    offset = 1  # each record starts with its deletion flag
    pos = 32
    while pos + 32 <= min(header_len, len(dbf)) and dbf[pos] != 0x0D:
        descriptor = dbf[pos : pos + 32]
        length = descriptor[16]
        name = descriptor[:11].split(b"\x00", 1)[0]
        fields.append(_DbfField(pos, name, descriptor[11:12] in (b"C", b"M"), offset, length))
        offset += length
        pos += 32
    return fields


def _utf8_or_none(chunk: bytes) -> str | None:
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_utf8(chunk: bytes) -> bool:
    """True for UTF-8, also when cut inside the last character (as at a dBASE field width)."""
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return True


def _dbf_encoding(dbf: bytes) -> str | None:
    """"UTF-8" or "GBK" from a .dbf's field names and text values; ``None`` when all ASCII."""
    fields = _dbf_fields(dbf)
    if not fields:
        return None
    n_records = int.from_bytes(dbf[4:8], "little")
    header_len = int.from_bytes(dbf[8:10], "little")
    record_len = int.from_bytes(dbf[10:12], "little")
    chunks = [f.name for f in fields]
    text_fields = [f for f in fields if f.text]
    for i in range(n_records):
        record = dbf[header_len + i * record_len : header_len + (i + 1) * record_len]
        chunks.extend(record[f.offset : f.offset + f.length].rstrip(b" \x00") for f in text_fields)
    non_ascii = [c for c in chunks if any(b > 0x7F for b in c)]
    if not non_ascii:
        return None
    return "UTF-8" if all(_is_utf8(c) for c in non_ascii) else "GBK"


def _repair_utf8_field_names(dbf: bytes) -> tuple[bytes, dict[str, str]]:
    """Drop the partial last character of UTF-8 field names cut at 10 bytes.

    GDAL (and so QGIS, geopandas) cuts long UTF-8 field names at the dBASE limit even inside a
    character; such names cannot be decoded. Returns the fixed .dbf and {shown name: new name}.
    """
    fields = _dbf_fields(dbf)
    names = [_utf8_or_none(f.name) for f in fields]
    used = {n for n in names if n is not None}
    out = bytearray(dbf)
    renamed: dict[str, str] = {}
    for f, name in zip(fields, names, strict=True):
        if name is not None:
            continue
        if not _is_utf8(f.name):
            return dbf, {}  # not a cut name: the .dbf is not UTF-8 after all
        stem = f.name.decode("utf-8", "ignore")
        new, n = stem, 1
        while not new or new in used:
            suffix = f"_{n}"
            new = _truncate_utf8(stem, _SHP_FIELD_BYTES - len(suffix)) + suffix
            n += 1
        used.add(new)
        out[f.descriptor_pos : f.descriptor_pos + 11] = new.encode("utf-8").ljust(11, b"\x00")
        renamed[f.name.decode("utf-8", "replace")] = new
    return bytes(out), renamed


_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _shapefile_sidecar(ref: _LayerRef, ext: str) -> bytes | None:
    """Bytes of the shapefile part with extension ``ext`` (any letter case) beside the .shp (a
    zipped shapefile has been unpacked by then, see :func:`_zip_layers`)."""
    found = _sibling(Path(ref.dataset), ext)
    return found.read_bytes() if found is not None else None


def _cpg_encoding(cpg: bytes) -> str:
    text = cpg.decode("ascii", "replace").strip().upper()
    return "UTF-8" if text in ("UTF-8", "UTF8", "65001") else text


@contextmanager
def _ogr_dataset(ref: _LayerRef) -> Iterator[tuple[str, str | None, list[str]]]:
    """What to hand GDAL for ``ref``: (dataset path, encoding or None, Chinese warnings).

    Shapefiles get their text encoding guessed when there is no .cpg (GBK when the .dbf is not
    UTF-8), and a temporary copy with repaired field names when GDAL cut UTF-8 names inside a
    character (unreadable otherwise).
    """
    if ref.kind != "shp":
        yield ref.dataset, None, []
        return
    warns: list[str] = []
    cpg = _shapefile_sidecar(ref, ".cpg")
    dbf = _shapefile_sidecar(ref, ".dbf") or b""
    if cpg is not None:
        encoding = _cpg_encoding(cpg)
        read_encoding = None  # GDAL honours the .cpg itself
    else:
        encoding = read_encoding = _dbf_encoding(dbf)
        if encoding == "GBK":
            warns.append(f"Shapefile“{ref.name}”缺少 .cpg 编码文件，属性不是 UTF-8，已按 GBK 编码读取中文")
    renamed: dict[str, str] = {}
    if encoding == "UTF-8":
        dbf, renamed = _repair_utf8_field_names(dbf)
    if not renamed:
        yield ref.dataset, read_encoding, warns
        return
    changes = "、".join(f"“{new}”" for new in renamed.values())
    warns.append(f"Shapefile“{ref.name}”的字段名被截断在半个汉字处（字段名最多 10 字节），已改为 {changes}")
    with tempfile.TemporaryDirectory() as tmp:
        for ext in _SHAPEFILE_PARTS:
            data = dbf if ext == ".dbf" else _shapefile_sidecar(ref, ext)
            if data is not None:
                (Path(tmp) / f"layer{ext}").write_bytes(data)
        yield str(Path(tmp) / "layer.shp"), read_encoding, warns


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


def _gpx_lines(path: Path, layer: str) -> gpd.GeoDataFrame:
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
    return gpd.GeoDataFrame(
        attributes.reset_index(drop=True), geometry=geometry, crs=STORE_CRS
    )


def _read_frame(ref: _LayerRef) -> _Frame:
    if ref.kind == "csv":
        return _read_csv(Path(ref.dataset))
    with _ogr_dataset(ref) as (dataset, encoding, warns), _gdal_errors(Path(ref.archive or ref.dataset)), \
            warnings.catch_warnings():
        # shapely warns on NaN coordinates in the WKB; read_layer refuses them with a message
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        if ref.kind == "gpx" and ref.ogr_layer in ("tracks", "routes"):
            gdf = _gpx_lines(Path(dataset), ref.ogr_layer)
        else:
            gdf = pyogrio.read_dataframe(
                dataset, layer=ref.ogr_layer, encoding=encoding, force_2d=True, on_invalid="fix"
            )
    return _Frame(_tidy_driver_columns(gdf, ref.kind), warns)


def feature_labels(frame: pd.DataFrame) -> list[str]:
    """``第 k 个要素（名称）`` for every row (the name from a ``name``/``名称`` column when set), as
    the readers' messages name features."""
    return [_feature_label(frame, i) for i in range(len(frame))]


def _feature_label(gdf: gpd.GeoDataFrame, position: int) -> str:
    label = f"第 {position + 1} 个要素"
    name_col = _find_column(gdf.columns, _NAME_COLUMNS)
    if name_col is not None:
        value = gdf[name_col].iloc[position]
        if pd.notna(value) and str(value).strip():
            label += f"（{str(value).strip()}）"
    return label


def _listed(labels: list[str]) -> str:
    shown = "、".join(labels[:_MAX_LISTED])
    return shown if len(labels) <= _MAX_LISTED else f"{shown} 等共 {len(labels)} 个"


_FAMILY = {
    "Point": "point", "MultiPoint": "point",
    "LineString": "line", "MultiLineString": "line", "LinearRing": "line",
    "Polygon": "polygon", "MultiPolygon": "polygon",
}
_FAMILY_ZH = {"point": "点", "line": "线", "polygon": "面"}
_REASON_ZH = (
    ("Ring Self-intersection", "环自相交"),
    ("Self-intersection", "自相交"),
    ("Too few points", "点数过少"),
    ("Hole lies outside shell", "内环在外环之外"),
    ("Nested holes", "内环嵌套"),
    ("Nested shells", "外环嵌套"),
    ("Interior is disconnected", "内部不连通"),
    ("Invalid Coordinate", "坐标无效"),
    ("Ring is not closed", "环未闭合"),
)


def _reason_zh(reason: str) -> str:
    for english, chinese in _REASON_ZH:
        if reason.startswith(english):
            return chinese
    return reason


def _simple_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    """Non-collection parts of ``geom`` (recursing into Multi* and GeometryCollection)."""
    if geom.geom_type.startswith(("Multi", "GeometryCollection")):
        return [q for part in shapely.get_parts(geom) for q in _simple_parts(part)]
    return [geom]


def _keep_family(repaired: BaseGeometry, family: str | None) -> BaseGeometry | None:
    """``repaired`` restricted to the family (point/line/polygon) of the original geometry."""
    if repaired.is_empty:
        return None
    if family is None or _FAMILY.get(repaired.geom_type) == family:
        return repaired
    parts = [p for p in _simple_parts(repaired) if _FAMILY.get(p.geom_type) == family and not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _clean_geometries(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Drop missing/empty geometries and repair invalid ones, keeping each one's family."""
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    warns: list[str] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~missing & ~shapely.is_valid(geoms)
    repaired_labels: list[str] = []
    for i in np.flatnonzero(invalid):
        original = geoms[i]
        fixed = _keep_family(
            repair(original),
            _FAMILY.get(original.geom_type),
        )
        label = _feature_label(gdf, int(i))
        reason = _reason_zh(shapely.is_valid_reason(original))
        if fixed is None:
            missing[i] = True
            kind = _FAMILY_ZH.get(_FAMILY.get(original.geom_type, ""), "")
            warns.append(f"{label}的几何无效（{reason}），无法修复为有效的{kind}几何，已跳过")
        else:
            geoms[i] = fixed
            repaired_labels.append(f"{label}的几何无效（{reason}），已自动修复")
    warns.extend(repaired_labels[:_MAX_LISTED])
    if len(repaired_labels) > _MAX_LISTED:
        warns.append(f"另有 {len(repaired_labels) - _MAX_LISTED} 个要素的几何无效，已自动修复")
    gdf = gdf.copy()
    gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    empty_positions = np.flatnonzero(missing & ~invalid)
    if len(empty_positions):
        labels = [_feature_label(gdf, int(i)) for i in empty_positions]
        warns.append(f"以下要素没有几何（空或缺少坐标），已跳过：{_listed(labels)}")
    return gdf.loc[~missing].reset_index(drop=True), warns


def _select_layer(layers: list[tuple[_LayerRef, _LayerMeta]], layer: str | None, path: Path) -> tuple[_LayerRef, _LayerMeta, list[str]]:
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
    assumed = _parse_crs(crs) if crs is not None else None
    with tempfile.TemporaryDirectory(prefix="rivergrid-read-") as tmp:
        ref, _meta, warns = _select_layer(_readable_layers(p, Path(tmp)), layer, p)
        frame = _read_frame(ref)
    warns += frame.warnings
    gdf = frame.gdf
    if gdf.empty:
        raise FileFormatError(f"图层“{ref.name}”中没有要素", f"layer {ref.name} of {p} is empty")
    _require_finite(gdf, p.name)

    if gdf.crs is not None and assumed is not None and not gdf.crs.equals(assumed, ignore_axis_order=True):
        warns.append(f"文件自带坐标系 {_crs_label(gdf.crs)}，已忽略指定的 {_crs_label(assumed)}")
    source_crs = _effective_crs(gdf.crs, assumed, ref.kind)
    if source_crs is None:
        raise CRSError(
            "文件缺少坐标系（如 .prj），请指定坐标系，例如 EPSG:4326",
            f"{p.name} (layer {ref.name}) declares no CRS and none was given",
        )
    gdf = gdf.set_crs(source_crs, allow_override=True)
    if source_crs.is_geographic:
        check_lonlat_range(gdf)

    gdf, geometry_warnings = _clean_geometries(gdf)
    warns += geometry_warnings
    if gdf.empty:
        raise FileFormatError(f"图层“{ref.name}”中没有有效的几何要素", f"no valid geometry in {ref.name} of {p}")

    gdf = to_store_crs(gdf)
    if source_offset is not None:
        gdf = convert_gdf(gdf, source=source_offset)
    return ReadResult(gdf=gdf, warnings=warns, source_crs=_crs_label(source_crs), layer=ref.name)


_GPX_POINTS = {"trkpt": "trk", "rtept": "rte", "wpt": None}


def _gpx_point_label(kind: str, owner_no: int, point_no: int) -> str:
    if kind == "trkpt":
        return f"第 {owner_no} 条轨迹（<trk>）的第 {point_no} 个点"
    if kind == "rtept":
        return f"第 {owner_no} 条路线（<rte>）的第 {point_no} 个点"
    return f"第 {point_no} 个航点（<wpt>）"


def _parse_gpx(p: Path, *, collect: bool) -> list[tuple[str | None, list[float], list[float], list[str | None]]]:
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
    p = _existing_file(path)
    if p.suffix.lower() != ".gpx":
        raise FileFormatError(f"巡河轨迹需要 GPX 文件，收到“{p.name}”", f"not a .gpx file: {p}")
    parsed = _parse_gpx(p, collect=True)
    if not parsed:
        raise FileFormatError(f"GPX 文件“{p.name}”中没有轨迹点（<trk>/<trkpt>）", f"no track points in {p}")
    sizes = [len(t[1]) for t in parsed]
    xy = np.column_stack([np.concatenate([t[1] for t in parsed]), np.concatenate([t[2] for t in parsed])])
    check_lonlat_range((xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()))
    if source_offset is not None:
        points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=STORE_CRS)
        xy = shapely.get_coordinates(np.asarray(convert_gdf(points, source=source_offset).geometry.array))
    stamps = pd.to_datetime(pd.Series([x for t in parsed for x in t[3]], dtype=object), utc=True,
                            format="ISO8601", errors="coerce").dt.floor("us")  # Python datetimes hold µs
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


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _datetimes_to_iso(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Datetime columns as ISO 8601 text (for formats without a date-time field type)."""
    for col in gdf.columns:
        if col != gdf.geometry.name and pd.api.types.is_datetime64_any_dtype(gdf[col]):
            gdf[col] = pd.Series(
                [t.isoformat() if pd.notna(t) else None for t in gdf[col]], index=gdf.index, dtype=object
            )
    return gdf


def _truncate_utf8(name: str, limit: int) -> str:
    while len(name.encode("utf-8")) > limit:
        name = name[:-1]
    return name


def _shapefile_field_names(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename fields longer than the dBASE limit (10 bytes in UTF-8) on character boundaries."""
    renames: dict[str, str] = {}
    used = {str(c) for c in gdf.columns if len(str(c).encode("utf-8")) <= _SHP_FIELD_BYTES}
    for col in gdf.columns:
        name = str(col)
        if col == gdf.geometry.name or len(name.encode("utf-8")) <= _SHP_FIELD_BYTES:
            continue
        new = _truncate_utf8(name, _SHP_FIELD_BYTES)
        n = 1
        while new in used:
            suffix = f"_{n}"
            new = _truncate_utf8(name, _SHP_FIELD_BYTES - len(suffix)) + suffix
            n += 1
        used.add(new)
        renames[name] = new
    if renames:
        changes = "、".join(f"“{old}”→“{new}”" for old, new in renames.items())
        warnings.warn(f"Shapefile 字段名最长 10 字节，已改名：{changes}", UserWarning, stacklevel=3)
    return gdf.rename(columns=renames)


def _require_single_family(gdf: gpd.GeoDataFrame) -> None:
    families = sorted({_FAMILY.get(t, t) for t in gdf.geometry.dropna().geom_type})
    if len(families) > 1:
        kinds = "、".join(_FAMILY_ZH.get(f, f) for f in families)
        raise GeometryError(
            f"Shapefile 只能保存一种几何类型，当前数据同时含有：{kinds}。请分开导出或改用 GeoPackage",
            f"shapefile needs one geometry family, got {families}",
        )


def _int64_to_int32(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """64-bit integer columns that fit as 32-bit (KML has no 64-bit integer type)."""
    info = np.iinfo(np.int32)
    for col in gdf.columns:
        s = gdf[col]
        if col != gdf.geometry.name and s.dtype == np.int64 and (s.empty or (s.min() >= info.min and s.max() <= info.max)):
            gdf[col] = s.astype(np.int32)
    return gdf


def _write_shapefile_zip(gdf: gpd.GeoDataFrame, target: Path, layer: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{layer}.shp"
        pyogrio.write_dataframe(gdf, shp, driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for ext in _SHAPEFILE_PARTS:
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
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
            pyogrio.errors.FeatureError, pyogrio.errors.GeometryError) as exc:
        raise FileFormatError(f"导出文件“{target.name}”失败：{exc}", f"GDAL could not write {target}: {exc}") from exc
    return target
