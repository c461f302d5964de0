"""River reaches (河段) as blue lines whose width shows the management level."""

from __future__ import annotations

import folium
import geopandas as gpd

from gis.model import RiverLevel
from layers._common import (
    POPUP,
    TOOLTIP,
    Style,
    StyleFunction,
    enum_member,
    esc,
    json_value,
    label,
    prepare,
    shapes_group,
    table_html,
    tooltip_html,
)
from layers.assets import localize

REACH_COLUMNS = ("id", "name", "river_name", "code", "level")

REACH_BASE_STYLE: Style = {"color": "#1565c0", "weight": 3, "opacity": 0.9, "lineCap": "round"}
"""Style shared by all reaches (Leaflet path options)."""

REACH_WEIGHT_PX = {
    RiverLevel.PROVINCE: 7,
    RiverLevel.CITY: 6,
    RiverLevel.COUNTY: 5,
    RiverLevel.TOWNSHIP: 3.5,
    RiverLevel.VILLAGE: 2.5,
}
"""Line width in pixels by the reach's management level."""


def reach_style(feature: dict) -> Style:
    """Width by ``properties.level`` (a :class:`gis.model.RiverLevel` code)."""
    level = feature["properties"].get("level")
    try:
        return {"weight": REACH_WEIGHT_PX[RiverLevel(level)]}
    except ValueError:
        return {}


def reaches_layer(
    gdf: gpd.GeoDataFrame,
    *,
    name: str = "河段",
    show: bool = True,
    style: StyleFunction = reach_style,
) -> folium.FeatureGroup:
    """River reaches as blue lines, wider for higher levels; tooltip with the reach name.

    Parameters
    ----------
    gdf
        Columns ``id, name, river_name, code, level, geometry`` (LineString or
        MultiLineString, any CRS; reprojected to EPSG:4326 here, the frame is not modified).
        ``level`` is a :class:`gis.model.RiverLevel` code or Chinese label.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the map opens.
    style
        ``feature -> dict`` of Leaflet path options merged over :data:`REACH_BASE_STYLE`;
        ``feature["properties"]`` holds ``id``, ``level`` (code), ``name``.

    Returns
    -------
    folium.FeatureGroup
        Holding one ``GeoJson``; each feature's properties keep ``id`` for click handling.
    """
    gdf = prepare(
        gdf,
        required=REACH_COLUMNS,
        geom_types={"LineString", "MultiLineString"},
        what="河段",
    )
    properties = []
    for row in gdf.itertuples(index=False):
        level = enum_member(RiverLevel, row.level, what="河段")
        level_label = label(level, row.level)
        river = f"所属河流：{esc(row.river_name)}" if json_value(row.river_name) else ""
        properties.append(
            {
                "id": json_value(row.id),
                "name": json_value(row.name),
                "level": level.value if level is not None else json_value(row.level),
                TOOLTIP: tooltip_html(row.name, river),
                POPUP: table_html(
                    row.name,
                    [
                        ("河段名称", row.name),
                        ("所属河流", row.river_name),
                        ("河段编码", row.code),
                        ("河段级别", level_label),
                    ],
                ),
            }
        )
    fg = shapes_group(
        name, show=show, geometries=gdf.geometry.array, properties=properties, base=REACH_BASE_STYLE, style=style
    )
    return localize(fg)  # offline-ready also as st_folium(feature_group_to_add=...)
