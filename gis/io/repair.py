"""Geometries as read: finite coordinates required, empty ones dropped, invalid ones repaired.

An invalid geometry is repaired within its family (point, line, polygon): a polygon stays a
polygon; what cannot be repaired is skipped. Every change is a Chinese warning naming the feature
(:mod:`gis.io.labels`). A vertex that is not a finite number is refused, never dropped.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.errors import GeometryError
from gis.geometry.shapes import repair
from gis.io.labels import MAX_LISTED, feature_label, listed

FAMILY = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}
"""Geometry type → its family (point, line, polygon)."""

FAMILY_ZH = {"point": "点", "line": "线", "polygon": "面"}
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
    if family is None or FAMILY.get(repaired.geom_type) == family:
        return repaired
    parts = [p for p in _simple_parts(repaired) if FAMILY.get(p.geom_type) == family and not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def require_finite(gdf: gpd.GeoDataFrame, name: str) -> None:
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
        f"{feature_label(gdf, first)}的第 {vertex} 个顶点坐标无效（{x}, {y}），不能导入{more}。请修正文件“{name}”后重试"
        "",
        f"non-finite coordinate in vertex {vertex} of feature {first + 1} of {name} ({features} feature(s))",
    )


def clean_geometries(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
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
            FAMILY.get(original.geom_type),
        )
        label = feature_label(gdf, int(i))
        reason = _reason_zh(shapely.is_valid_reason(original))
        if fixed is None:
            missing[i] = True
            kind = FAMILY_ZH.get(FAMILY.get(original.geom_type, ""), "")
            warns.append(f"{label}的几何无效（{reason}），无法修复为有效的{kind}几何，已跳过")
        else:
            geoms[i] = fixed
            repaired_labels.append(f"{label}的几何无效（{reason}），已自动修复")
    warns.extend(repaired_labels[:MAX_LISTED])
    if len(repaired_labels) > MAX_LISTED:
        warns.append(f"另有 {len(repaired_labels) - MAX_LISTED} 个要素的几何无效，已自动修复")
    gdf = gdf.copy()
    gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    empty_positions = np.flatnonzero(missing & ~invalid)
    if len(empty_positions):
        labels = [feature_label(gdf, int(i)) for i in empty_positions]
        warns.append(f"以下要素没有几何（空或缺少坐标），已跳过：{listed(labels)}")
    return gdf.loc[~missing].reset_index(drop=True), warns
