"""Focus objects (重点对象: enterprises, water sources, hazards…) as markers by category."""

from __future__ import annotations

import folium
import geopandas as gpd

from gis.model import Category
from layers._common import (
    POPUP,
    TOOLTIP,
    Style,
    StyleFunction,
    bind_popups,
    enum_member,
    esc,
    feature_collection,
    group,
    json_value,
    label,
    merged_style,
    points_parent,
    prepare,
    table_html,
    tooltip_html,
)
from layers.assets import localize

OBJECT_COLUMNS = ("id", "name", "category", "grid_name")

OBJECT_BASE_STYLE: Style = {
    "icon": "location-dot",
    "prefix": "fa",
    "markerColor": "cadetblue",
    "iconColor": "white",
}
"""Awesome-marker options shared by all objects (Font Awesome 6 icon names)."""

CATEGORY_MARKERS: dict[Category, Style] = {
    Category.DISCHARGE_ENTERPRISE: {"icon": "industry", "markerColor": "darkred"},
    Category.ECOLOGY: {"icon": "leaf", "markerColor": "green"},
    Category.PETITION: {"icon": "envelope", "markerColor": "purple"},
    Category.POLLUTION_DISPUTE: {"icon": "scale-balanced", "markerColor": "orange"},
    Category.SAFETY_HAZARD: {"icon": "triangle-exclamation", "markerColor": "red"},
    Category.ILLEGAL_CONSTRUCTION: {"icon": "building", "markerColor": "darkpurple"},
    Category.DRINKING_WATER_SOURCE: {"icon": "droplet", "markerColor": "blue"},
    Category.NATURE_RESERVE: {"icon": "tree", "markerColor": "darkgreen"},
    Category.LIVESTOCK_POLLUTION: {"icon": "cow", "markerColor": "beige", "iconColor": "#5d4037"},
}
"""Icon and marker colour by category (colours from Leaflet.awesome-markers' palette)."""


def object_style(feature: dict) -> Style:
    """Icon and colour by ``properties.category`` (a :class:`gis.model.Category` code)."""
    try:
        return dict(CATEGORY_MARKERS[Category(feature["properties"].get("category"))])
    except ValueError:
        return {}


def objects_layer(
    gdf: gpd.GeoDataFrame,
    *,
    name: str = "重点对象",
    show: bool = True,
    cluster: bool | None = None,
    style: StyleFunction = object_style,
) -> folium.FeatureGroup:
    """Focus objects as map pins whose icon and colour show the category.

    Parameters
    ----------
    gdf
        Columns ``id, name, category, grid_name, geometry`` (Point, any CRS; reprojected to
        EPSG:4326 here, the frame is not modified). ``category`` is a
        :class:`gis.model.Category` code or Chinese label.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the map opens.
    cluster
        Group nearby pins; default: when there are more than 50.
    style
        ``feature -> dict`` of awesome-marker options (``icon``, ``markerColor``,
        ``iconColor``, ``prefix``) merged over :data:`OBJECT_BASE_STYLE`.
    """
    gdf = prepare(gdf, required=OBJECT_COLUMNS, geom_types={"Point"}, what="重点对象")
    properties = []
    for row in gdf.itertuples(index=False):
        category = enum_member(Category, row.category, what="重点对象")
        category_label = label(category, row.category)
        properties.append(
            {
                "id": json_value(row.id),
                "name": json_value(row.name),
                "category": category.value if category else json_value(row.category),
                TOOLTIP: tooltip_html(row.name, esc(category_label)),
                POPUP: table_html(
                    row.name,
                    [("对象类别", category_label), ("所属网格", row.grid_name)],
                ),
            }
        )
    fg = group(name, show=show)
    parent = points_parent(fg, len(gdf), cluster=cluster)
    folium.GeoJson(
        feature_collection(gdf.geometry.array, properties),
        name=name,
        control=False,
        marker=folium.Marker(icon=folium.Icon(prefix="fa", icon="location-dot")),
        style_function=merged_style(OBJECT_BASE_STYLE, style),
        on_each_feature=bind_popups(sticky=False),
    ).add_to(parent)
    return localize(fg)  # offline-ready also as st_folium(feature_group_to_add=...)
