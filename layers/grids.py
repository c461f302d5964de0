"""Grids (网格) as outlined areas, coloured by level, with name labels."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.utilities import JsCode

from gis.model import GridLevel
from layers._common import (
    POPUP,
    TOOLTIP,
    Style,
    StyleFunction,
    enum_member,
    esc,
    feature_collection,
    json_value,
    label,
    prepare,
    shapes_group,
    table_html,
    tooltip_html,
    truthy,
)
from layers.assets import localize

GRID_COLUMNS = (
    "id",
    "name",
    "level",
    "parent_name",
    "responsible_body",
    "main_responsible",
    "township_supervisor",
    "illustrative",
)

GRID_BASE_STYLE: Style = {
    "color": "#6a1b9a",
    "weight": 2,
    "opacity": 0.9,
    "fillColor": "#6a1b9a",
    "fillOpacity": 0.06,
}
"""Style shared by all grids (Leaflet path options)."""

GRID_LEVEL_STYLE: dict[GridLevel, Style] = {
    GridLevel.COUNTY: {"color": "#c62828", "fillColor": "#c62828", "weight": 3.5},
    GridLevel.TOWNSHIP: {"color": "#ef6c00", "fillColor": "#ef6c00", "weight": 2.5},
    GridLevel.VILLAGE: {"color": "#6a1b9a", "fillColor": "#6a1b9a", "weight": 1.5},
}
"""Outline colour and width by grid level: county red, township orange, village purple."""

ILLUSTRATIVE_STYLE: Style = {"dashArray": "6 4"}
"""Extra style of grids whose boundary is only illustrative (示意), not surveyed."""

LABEL_POINT_TO_LAYER = JsCode(
    """function (feature, latlng) {
        return L.marker(latlng, {
            icon: L.divIcon({className: "rg-grid-label", html: feature.properties.label_html,
                             iconSize: null}),
            interactive: false, keyboard: false
        });
    }"""
)


def grid_style(feature: dict) -> Style:
    """Colour/width by ``properties.level`` (:class:`gis.model.GridLevel` code), dashed outline
    when ``properties.illustrative``."""
    props = feature["properties"]
    style: Style = {}
    try:
        style.update(GRID_LEVEL_STYLE[GridLevel(props.get("level"))])
    except ValueError:
        pass
    if props.get("illustrative"):
        style.update(ILLUSTRATIVE_STYLE)
    return style


def _label_html(name: object, color: str) -> str:
    return (
        '<div style="transform:translate(-50%,-50%);white-space:nowrap;font-size:12px;'
        f"font-weight:bold;color:{color};text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff;"
        f'pointer-events:none">{esc(name)}</div>'
    )


def grids_layer(
    gdf: gpd.GeoDataFrame,
    *,
    level: GridLevel | str | None = None,
    name: str | None = None,
    show: bool = True,
    labels: bool | None = None,
    style: StyleFunction = grid_style,
) -> folium.FeatureGroup:
    """Grids as areas outlined by level colour; tooltip with the name, popup with the people.

    Parameters
    ----------
    gdf
        Columns ``id, name, level, parent_name, responsible_body, main_responsible,
        township_supervisor, illustrative, geometry`` (Polygon/MultiPolygon, any CRS;
        reprojected to EPSG:4326 here, the frame is not modified). ``level`` is a
        :class:`gis.model.GridLevel` code or label; ``illustrative`` marks a boundary drawn
        only as a sketch (示意), shown dashed and with "（示意）" after the name.
    level
        Draw only the grids of this level (code, label or member); the layer is then named
        after the level (e.g. 村级网格).
    name
        Layer name in the layer control; default 网格 or the level's label.
    show
        Whether the layer is on when the map opens.
    labels
        Write grid names at a point inside each grid: ``True`` for every grid, ``False`` for
        none, ``None`` (default) for the grids of the finest level drawn (nested grids share
        their middle, so labelling every level would pile the names up).
    style
        ``feature -> dict`` merged over :data:`GRID_BASE_STYLE`; ``feature["properties"]``
        holds ``id``, ``name``, ``level`` (code) and ``illustrative`` (bool).
    """
    gdf = prepare(gdf, required=GRID_COLUMNS, geom_types={"Polygon", "MultiPolygon"}, what="网格")
    wanted = GridLevel.from_any(str(level)) if level is not None else None
    members = [enum_member(GridLevel, v, what="网格") for v in gdf["level"]]
    if wanted is not None:
        keep = np.array([m is wanted for m in members], dtype=bool)
        gdf = gdf[keep]
        members = [m for m, k in zip(members, keep, strict=True) if k]
    if name is None:
        name = wanted.label if wanted is not None else "网格"

    properties = []
    label_properties = []
    for row, member in zip(gdf.itertuples(index=False), members, strict=True):
        illustrative = truthy(row.illustrative)
        title = f"{row.name}（示意）" if illustrative else row.name
        level_label = label(member, row.level)
        properties.append(
            {
                "id": json_value(row.id),
                "name": json_value(row.name),
                "level": member.value if member is not None else json_value(row.level),
                "illustrative": illustrative,
                TOOLTIP: tooltip_html(title, esc(level_label)),
                POPUP: table_html(
                    title,
                    [
                        ("网格层级", level_label),
                        ("上级网格", row.parent_name),
                        ("责任主体", row.responsible_body),
                        ("主要责任人", row.main_responsible),
                        ("乡级监管责任人", row.township_supervisor),
                        ("边界", "示意范围，非精确边界" if illustrative else ""),
                    ],
                ),
            }
        )
        color = GRID_LEVEL_STYLE.get(member, GRID_BASE_STYLE)["color"] if member else "#333"
        label_properties.append({"label_html": _label_html(title, color)})

    fg = shapes_group(
        name,
        show=show,
        geometries=gdf.geometry.array,
        properties=properties,
        base=GRID_BASE_STYLE,
        style=style,
        extra_weight=1.5,
    )
    if labels is None:
        ranks = [m.rank for m in members if m is not None]
        finest = max(ranks, default=None)
        labelled = np.array([m is not None and m.rank == finest for m in members], dtype=bool)
    else:
        labelled = np.full(len(gdf), labels, dtype=bool)
    if labelled.any():
        points = shapely.point_on_surface(np.asarray(gdf.geometry.array)[labelled])
        folium.GeoJson(
            feature_collection(points, [p for p, keep in zip(label_properties, labelled, strict=True) if keep]),
            name=f"{name}名称",
            control=False,
            point_to_layer=LABEL_POINT_TO_LAYER,
        ).add_to(fg)
    return localize(fg)  # offline-ready also as st_folium(feature_group_to_add=...)
