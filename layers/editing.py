"""Map data of the grid editor (网格管理): GeoJSON for the ``grid_draw`` component.

The editor's map is the :mod:`ui.components.grid_draw` component, not folium (folium's maps
cannot return edits of loaded shapes), so these functions return GeoJSON FeatureCollections
and overlay specs instead of folium layers. They follow the other layers: input checked and
reprojected by :func:`layers._common.prepare`, styles from :mod:`layers.grids` and
:mod:`layers.blindspots`, and every user text escaped into ``tooltip_html``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.formatting import format_area
from gis.grids.fit import FitResult
from gis.grids.timeline import GridVersionInfo
from gis.model import LOCAL_TZ, STORE_CRS, GridLevel
from layers._common import (
    TOOLTIP,
    Style,
    enum_member,
    esc,
    feature_collection,
    json_value,
    label,
    prepare,
    tooltip_html,
    truthy,
)
from layers.blindspots import RULE_LABELS, finding_style
from layers.grids import GRID_BASE_STYLE, grid_style
from layers.rivers import REACH_BASE_STYLE

SELECTED_STYLE: Style = {"color": "#1565c0", "weight": 4, "fillColor": "#1565c0", "fillOpacity": 0.12}
"""The grid selected in the list."""

PREVIEW_STYLES: dict[str, Style] = {
    "result": {"color": "#1565c0", "weight": 3, "fillColor": "#1565c0", "fillOpacity": 0.10},
    "added": {"color": "#2e7d32", "weight": 1, "fillColor": "#43a047", "fillOpacity": 0.55},
    "removed": {"color": "#c62828", "weight": 1, "fillColor": "#e53935", "fillOpacity": 0.45, "dashArray": "4 3"},
    "dropped": {"color": "#6d4c41", "weight": 2, "fillColor": "#8d6e63", "fillOpacity": 0.35, "dashArray": "2 4"},
}
"""Fit preview: the fitted boundary blue, area gained green, area lost red, dropped pieces brown."""

VERSION_STYLE: Style = {
    "color": "#ff6f00",
    "weight": 3,
    "dashArray": "8 5",
    "fillColor": "#ffb300",
    "fillOpacity": 0.12,
}
"""An old version of a grid shown from its history."""

SPLIT_STYLES: list[Style] = [
    {"color": "#00838f", "weight": 2, "fillColor": "#26c6da", "fillOpacity": 0.35},
    {"color": "#ad1457", "weight": 2, "fillColor": "#ec407a", "fillOpacity": 0.35},
]


def _collection(geoms: list[BaseGeometry], props: list[dict]) -> dict:
    keep = [i for i, g in enumerate(geoms) if g is not None and not g.is_empty]
    return feature_collection(np.asarray([geoms[i] for i in keep], dtype=object), [props[i] for i in keep])


def grids_collection(gdf: gpd.GeoDataFrame, *, selected_id: Any = None) -> dict:
    """The grids as a FeatureCollection for the editor map.

    Parameters
    ----------
    gdf
        Columns ``id, name, level`` and optionally ``illustrative`` (any CRS, reprojected).
    selected_id
        The grid drawn highlighted (:data:`SELECTED_STYLE`).

    Returns
    -------
    dict
        Features with ``properties``: ``id``, ``level``, ``style`` (Leaflet path options: the
        level colours of :func:`layers.grids.grid_style`) and ``tooltip_html`` (escaped).
    """
    gdf = prepare(gdf, required=("id", "name", "level"), geom_types={"Polygon", "MultiPolygon"}, what="网格")
    props = []
    for row in gdf.itertuples(index=False):
        member = enum_member(GridLevel, row.level, what="网格")
        illustrative = truthy(getattr(row, "illustrative", False))
        feature = {
            "properties": {"level": member.value if member else json_value(row.level), "illustrative": illustrative}
        }
        style = {**GRID_BASE_STYLE, **grid_style(feature)}
        if selected_id is not None and json_value(row.id) == json_value(selected_id):
            style.update(SELECTED_STYLE)
        title = f"{row.name}（示意）" if illustrative else row.name
        props.append(
            {
                "id": json_value(row.id),
                "level": feature["properties"]["level"],
                "style": style,
                TOOLTIP: tooltip_html(title, esc(label(member, row.level))),
            }
        )
    return feature_collection(gdf.geometry.array, props)


def reaches_overlay(gdf: gpd.GeoDataFrame) -> dict:
    """River reaches (columns ``name``, ``river_name``) as a context overlay, blue lines."""
    gdf = prepare(gdf, required=("name", "river_name"), geom_types={"LineString", "MultiLineString"}, what="河段")
    props = [{TOOLTIP: tooltip_html(row.name, esc(row.river_name))} for row in gdf.itertuples(index=False)]
    return {
        "name": "河段",
        "style": {**REACH_BASE_STYLE, "weight": 2, "opacity": 0.7},
        "data": feature_collection(gdf.geometry.array, props),
    }


def fit_overlays(fit: FitResult) -> list[dict]:
    """The changes of a fit as overlays: fitted boundary, area gained, area lost, dropped pieces."""
    out = [
        {
            "name": "调整后边界",
            "style": PREVIEW_STYLES["result"],
            "data": _collection(
                [fit.geometry], [{TOOLTIP: tooltip_html("调整后边界", esc(format_area(fit.area_after_m2)))}]
            ),
        },
        {
            "name": "增加的面积",
            "style": PREVIEW_STYLES["added"],
            "data": _collection([fit.added], [{TOOLTIP: tooltip_html("增加", esc(format_area(fit.added_m2)))}]),
        },
        {
            "name": "减少的面积",
            "style": PREVIEW_STYLES["removed"],
            "data": _collection([fit.removed], [{TOOLTIP: tooltip_html("减少", esc(format_area(fit.removed_m2)))}]),
        },
    ]
    if fit.dropped_pieces:
        geoms = [p.geometry for p in fit.dropped_pieces]
        props = [
            {
                TOOLTIP: tooltip_html(
                    f"去除：{p.reason_label}",
                    esc(format_area(p.area_m2)),
                    esc(p.neighbour) if isinstance(p.neighbour, str) else "",
                )
            }
            for p in fit.dropped_pieces
        ]
        out.append({"name": "去除的部分", "style": PREVIEW_STYLES["dropped"], "data": _collection(geoms, props)})
    return out


def findings_overlay(findings: gpd.GeoDataFrame) -> dict:
    """盲区检查 findings (uncovered stretches, gaps, overlaps) as an overlay, styled like the
    盲区检查 page (:func:`layers.blindspots.finding_style`)."""
    drawn = findings[findings.geometry.notna() & ~findings.geometry.is_empty] if len(findings) else findings
    if len(drawn) and drawn.crs is not None and not drawn.crs.equals(STORE_CRS):
        drawn = drawn.to_crs(STORE_CRS)
    geoms, props = [], []
    for row in drawn.itertuples(index=False):
        geom = shapely.force_2d(row.geometry)
        if geom.geom_type == "Point":
            continue
        feature = {"properties": {"kind": row.kind, "rule": row.rule}, "geometry": {"type": geom.geom_type}}
        geoms.append(geom)
        props.append(
            {
                "style": finding_style(feature),
                TOOLTIP: tooltip_html(RULE_LABELS.get(row.rule, row.rule), esc(row.message)),
            }
        )
    return {"name": "剩余盲区", "style": {}, "data": _collection(geoms, props)}


def version_overlay(version: GridVersionInfo) -> dict:
    """One version of a grid from its history, dashed orange."""
    when = version.saved_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if version.saved_at else "时间不详"
    tip = tooltip_html(
        f"第 {version.version} 版：{version.name}", esc(f"{version.author_name or version.author} {when}")
    )
    return {
        "name": f"第 {version.version} 版",
        "style": VERSION_STYLE,
        "data": _collection([version.geometry], [{TOOLTIP: tip}]),
    }


def split_overlays(parts: list[BaseGeometry], names: tuple[str, str]) -> list[dict]:
    """The two parts of a split preview, each in its own colour with its name."""
    return [
        {"name": names[i], "style": SPLIT_STYLES[i % 2], "data": _collection([p], [{TOOLTIP: tooltip_html(names[i])}])}
        for i, p in enumerate(parts)
    ]


MERGE_STYLES: dict[str, Style] = {
    "keep": {"color": "#1565c0", "weight": 2, "fillColor": "#1565c0", "fillOpacity": 0.18},
    "gone": {"color": "#c62828", "weight": 2, "fillColor": "#e53935", "fillOpacity": 0.35, "dashArray": "5 4"},
    "merged": {"color": "#0d47a1", "weight": 4, "fill": False, "dashArray": "9 5"},
}
"""Merge preview: the grid kept blue, the grid deleted red, the merged boundary a heavy dashed line."""


def merge_overlays(
    keep: BaseGeometry, other: BaseGeometry, merged: BaseGeometry, *, names: tuple[str, str]
) -> list[dict]:
    """The merge preview on the editor map: the grid kept, the grid deleted and the merged boundary.

    ``names``: (kept grid, deleted grid), shown escaped in the tooltips.
    """
    return [
        {
            "name": "保留的网格",
            "style": MERGE_STYLES["keep"],
            "data": _collection([keep], [{TOOLTIP: tooltip_html(names[0], "合并后保留（编号、人员、属性不变）")}]),
        },
        {
            "name": "将删除的网格",
            "style": MERGE_STYLES["gone"],
            "data": _collection([other], [{TOOLTIP: tooltip_html(names[1], "并入后删除（可恢复）")}]),
        },
        {
            "name": "合并后的边界",
            "style": MERGE_STYLES["merged"],
            "data": _collection([merged], [{TOOLTIP: tooltip_html("合并后的边界", esc(names[0]))}]),
        },
    ]


def _svg_path(geom: BaseGeometry, to_xy: Any) -> str:
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = to_xy(np.asarray(ring.coords)[:, :2])
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
    return "".join(parts)


def merge_preview_svg(
    keep: BaseGeometry, other: BaseGeometry, merged: BaseGeometry, *, width_px: int = 420, height_px: int = 240
) -> str:
    """A small picture of a merge (SVG, no text): the kept grid blue, the deleted grid red, the
    merged boundary a heavy dashed line, styled as on the editor map (:data:`MERGE_STYLES`).

    Geometries in EPSG:4326; drawn in a local equirectangular projection (true shape at this scale),
    simplified to half a pixel.
    """
    shapes = [g for g in (keep, other, merged) if g is not None and not g.is_empty]
    if not shapes:
        raise ValueError("nothing to draw")
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(shapes, dtype=object))
    kx = float(np.cos(np.radians((miny + maxy) / 2)))
    w_deg, h_deg = max((maxx - minx) * kx, 1e-12), max(maxy - miny, 1e-12)
    pad = 8.0
    scale = min((width_px - 2 * pad) / w_deg, (height_px - 2 * pad) / h_deg)
    ox = (width_px - w_deg * scale) / 2
    oy = (height_px - h_deg * scale) / 2

    def to_xy(lonlat: np.ndarray) -> np.ndarray:
        x = ox + (lonlat[:, 0] - minx) * kx * scale
        y = oy + (maxy - lonlat[:, 1]) * scale
        return np.column_stack([x, y])

    tolerance = 0.5 / scale  # half a pixel, in degrees

    def path(geom: BaseGeometry, style: Style) -> str:
        d = _svg_path(shapely.simplify(geom, tolerance, preserve_topology=True), to_xy)
        fill = style.get("fillColor", "none") if style.get("fill", True) else "none"
        dash = f' stroke-dasharray="{style["dashArray"]}"' if style.get("dashArray") else ""
        return (
            f'<path d="{d}" fill="{fill}" fill-opacity="{style.get("fillOpacity", 0)}" fill-rule="evenodd" '
            f'stroke="{style["color"]}" stroke-width="{style.get("weight", 2)}"{dash}/>'
        )

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'viewBox="0 0 {width_px} {height_px}" role="img" aria-label="合并预览" '
        'style="background:#f8fafc;border:1px solid #cfd8dc;border-radius:4px">'
        + path(keep, MERGE_STYLES["keep"])
        + path(other, MERGE_STYLES["gone"])
        + path(merged, MERGE_STYLES["merged"])
        + "</svg>"
    )


def bounds_of(geoms: list[BaseGeometry | None]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the geometries (EPSG:4326), for the map's view."""
    items = [g for g in geoms if g is not None and not g.is_empty]
    if not items:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(items, dtype=object))
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]
