"""Opening an uploaded geodata file safely, and the CRS rules of the readers.

A file's kind comes from its suffix; a shapefile needs its parts beside it; a zip (Shapefile) or
KMZ is judged from its central directory before anything is decompressed, then only the members
needed are unpacked, bounded, into a private temporary folder that GDAL reads (GDAL never opens an
archive itself); KML and GPX are streamed through ``defusedxml`` first (see :mod:`gis.limits`).
:func:`layer_refs` lists every layer of a file as a :class:`LayerRef`.

CRS rules when a file declares none: GeoJSON (RFC 7946), KML, GPX and CSV are longitude/latitude
WGS84 by definition, so they are read as EPSG:4326; any other file (e.g. a shapefile without
``.prj``) needs ``crs=`` from the caller (:func:`effective_crs`).
"""

from __future__ import annotations

import glob
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from gis import limits
from gis.errors import CoordinateRangeError, CRSError, FileFormatError
from gis.geometry.crs import check_lonlat_range
from gis.io.gpx import parse_gpx
from gis.model import STORE_CRS

PathLike: TypeAlias = str | os.PathLike[str]
CrsLike: TypeAlias = str | int | pyproj.CRS
Bounds: TypeAlias = tuple[float, float, float, float]
"""(min x, min y, max x, max y) in the layer's CRS, or in decimal degrees where said."""

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
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
"""The parts of a shapefile that are read, unpacked from a zip and written."""


# Keep non-ASCII names of KML <Data> fields (GDAL's default turns "河长" into "______").
pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})


@dataclass(frozen=True)
class LayerRef:
    """A readable layer: its user-facing name and how GDAL (or pandas for CSV) opens it.

    ``dataset`` is a local path; for a layer unpacked from an archive it lies in the temporary
    folder of the call and ``archive`` is the uploaded file (named in messages).
    """

    name: str
    kind: str
    dataset: str
    ogr_layer: str | None = None
    archive: Path | None = None


@contextmanager
def gdal_errors(path: Path) -> Iterator[None]:
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


def existing_file(path: PathLike) -> Path:
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


def sibling(shp: Path, ext: str) -> Path | None:
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


def _zip_layers(p: Path, tmp: Path) -> list[LayerRef]:
    """The shapefiles of a zip, each unpacked (bounded) into its own folder under ``tmp``.

    The archive is judged from its central directory first (:func:`gis.limits.check_archive`);
    only the parts GDAL reads (.shp, .shx, .dbf, .prj, .cpg) are unpacked, under fixed names
    (the members' own paths are never used on disk).
    """
    with limits.open_archive(p) as (zf, infos):
        members = [
            i
            for i in infos
            if not i.is_dir()
            and not i.filename.startswith("__MACOSX/")
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
                ext = info.filename[len(base) :].lower()
                if info.filename[: len(base)] == base and ext in SHAPEFILE_PARTS:
                    parts.setdefault(ext, info)
            _require_shapefile_parts(member, set(parts))
            folder = tmp / f"zip{k}"
            folder.mkdir()
            for ext, info in parts.items():
                limits.copy_member(zf, info, p.name, folder / f"layer{ext}")
            name = stem if stems.count(stem) == 1 else base
            refs.append(LayerRef(name, "shp", str(folder / "layer.shp"), archive=p))
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
    with gdal_errors(display):
        listed = pyogrio.list_layers(str(p))
    # Non-spatial tables (geometry type None), e.g. attribute tables in a GeoPackage, are skipped.
    return [str(name) for name, geometry_type in listed if geometry_type is not None]


def layer_refs(path: PathLike, tmp: Path) -> list[LayerRef]:
    """Every layer of the file at ``path`` (empty ones included), after the safety checks of
    :mod:`gis.limits`; archives are unpacked into ``tmp`` (which must outlive the refs)."""
    p = existing_file(path)
    kind = _file_kind(p)
    if kind == "csv":
        return [LayerRef(p.stem, "csv", str(p))]
    if p.suffix.lower() == ".zip":
        return _zip_layers(p, tmp)
    if kind == "shp":
        parts = {ext: sibling(p, ext) for ext in SHAPEFILE_PARTS}
        _require_shapefile_parts(p.name, {ext for ext, found in parts.items() if found is not None})
        for found in parts.values():
            if found is not None:
                limits.check_file_size(found)
        return [LayerRef(p.stem, "shp", str(p))]
    local = p
    if p.suffix.lower() == ".kmz":
        local = _kmz_document(p, tmp)
    if kind == "kml":
        _scan_kml(local, p.name)
    elif kind == "gpx":
        parse_gpx(p, collect=False)
    names = _ogr_layer_names(local, p)
    if kind == "gpx":
        names = sorted(names, key=lambda n: _GPX_LAYER_ORDER.index(n) if n in _GPX_LAYER_ORDER else 99)
    return [LayerRef(n, kind, str(local), ogr_layer=n, archive=p if local != p else None) for n in names]


def parse_crs(crs: CrsLike) -> pyproj.CRS:
    """``crs`` as a pyproj CRS; :class:`CRSError` with a Chinese hint when it is not one."""
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(
            f"无法识别的坐标系“{crs}”，请填写如 EPSG:4326、EPSG:4490 或 EPSG:4551",
            f"unknown CRS {crs!r}: {exc}",
        ) from exc


def crs_label(crs: pyproj.CRS) -> str:
    """``EPSG:xxxx`` when identifiable, else another authority code, else the CRS name."""
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    authority = crs.to_authority()
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def effective_crs(file_crs: pyproj.CRS | None, assumed: pyproj.CRS | None, kind: str) -> pyproj.CRS | None:
    """The CRS to read in: the file's own, else the one assumed by the caller, else EPSG:4326 for
    the formats that are longitude/latitude by definition; ``None`` when unknown."""
    if file_crs is not None:
        return file_crs
    if assumed is not None:
        return assumed
    if kind in _LONLAT_BY_SPEC:
        return pyproj.CRS.from_user_input(STORE_CRS)
    return None


def as_bounds(values: Any) -> Bounds:
    """Four numbers as a :data:`Bounds` tuple of floats."""
    minx, miny, maxx, maxy = (float(v) for v in values)
    return (minx, miny, maxx, maxy)


def wgs84_bounds(bounds: Bounds | None, crs: pyproj.CRS | None) -> Bounds | None:
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
    return as_bounds(out)


def geometry_type_of(geoms: gpd.GeoSeries) -> str:
    """The geometry types present, sorted and comma-separated (``Unknown`` for none)."""
    types = sorted({t for t in geoms.dropna().geom_type if t is not None})
    return ", ".join(types) if types else "Unknown"


def strip_dimension(geometry_type: str | None) -> str | None:
    """A GDAL geometry type without its `` Z``/`` M``/`` ZM`` suffix."""
    if geometry_type is None:
        return None
    for suffix in (" ZM", " Z", " M"):
        if geometry_type.endswith(suffix):
            return geometry_type[: -len(suffix)]
    return geometry_type
