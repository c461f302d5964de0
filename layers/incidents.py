"""Incidents (事件) as dots coloured by workflow status, clustered when there are many."""

from __future__ import annotations

import folium
import geopandas as gpd

from gis.model import Category, IncidentStatus, Severity
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

INCIDENT_COLUMNS = (
    "id",
    "code",
    "title",
    "category",
    "severity",
    "status",
    "reported_at",
    "grid_name",
    "description",
)

INCIDENT_BASE_STYLE: Style = {
    "radius": 7,
    "color": "#ffffff",
    "weight": 1.5,
    "opacity": 1,
    "fill": True,
    "fillColor": "#607d8b",
    "fillOpacity": 0.9,
}
"""Style shared by all incident dots (Leaflet circle-marker options; radius in pixels)."""

STATUS_COLORS: dict[IncidentStatus, str] = {
    IncidentStatus.REPORTED: "#d32f2f",  # open, not yet handled: red
    IncidentStatus.ACCEPTED: "#f57c00",  # open, being handled: orange
    IncidentStatus.ASSIGNED: "#f57c00",
    IncidentStatus.IN_PROGRESS: "#f57c00",
    IncidentStatus.RESOLVED: "#ffa000",  # open until reviewed/archived: amber
    IncidentStatus.REVIEW: "#ffa000",
    IncidentStatus.ARCHIVED: "#388e3c",  # closed, done: green
    IncidentStatus.REJECTED: "#9e9e9e",  # closed otherwise: grey
    IncidentStatus.TRANSFERRED: "#9e9e9e",
}
"""Fill colour by status: open ones red/orange, closed ones green/grey."""

SEVERITY_RADIUS_PX: dict[Severity, float] = {
    Severity.NORMAL: 6,
    Severity.MAJOR: 8,
    Severity.URGENT: 10,
}


def incident_style(feature: dict) -> Style:
    """Fill colour by ``properties.status``, radius by ``properties.severity`` (codes)."""
    props = feature["properties"]
    style: Style = {}
    try:
        style["fillColor"] = STATUS_COLORS[IncidentStatus(props.get("status"))]
    except ValueError:
        pass
    try:
        style["radius"] = SEVERITY_RADIUS_PX[Severity(props.get("severity"))]
    except ValueError:
        pass
    return style


def dot_icon_options(style: Style) -> Style:
    """Leaflet ``divIcon`` options drawing the circle-marker ``style`` as an HTML dot.

    Used when the dots are clustered: Leaflet.markercluster animates markers, not vectors.
    """
    radius = float(style.get("radius", 7))
    weight = float(style.get("weight", 1))
    size = round(2 * (radius + weight))
    dot = (
        f'<div style="box-sizing:border-box;width:{size}px;height:{size}px;border-radius:50%;'
        f"background:{style.get('fillColor', '#607d8b')};"
        f"opacity:{style.get('fillOpacity', 1)};"
        f'border:{weight}px solid {style.get("color", "#fff")}"></div>'
    )
    return {"html": dot, "iconSize": [size, size], "iconAnchor": [size / 2, size / 2]}


def incidents_layer(
    gdf: gpd.GeoDataFrame,
    *,
    name: str = "事件",
    show: bool = True,
    cluster: bool | None = None,
    style: StyleFunction = incident_style,
) -> folium.FeatureGroup:
    """Incident points coloured by status; popup with category/severity/status in Chinese.

    Parameters
    ----------
    gdf
        Columns ``id, code, title, category, severity, status, reported_at, grid_name,
        description, geometry`` (Point, any CRS; reprojected to EPSG:4326 here, the frame is
        not modified). ``category``/``severity``/``status`` are codes or Chinese labels of
        :class:`gis.model.Category`, :class:`~gis.model.Severity`,
        :class:`~gis.model.IncidentStatus`.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the map opens.
    cluster
        Group nearby points into numbered clusters; default: when there are more than
        ``layers._common.CLUSTER_THRESHOLD`` (50) points.
    style
        ``feature -> dict`` of circle-marker options merged over :data:`INCIDENT_BASE_STYLE`;
        ``feature["properties"]`` holds ``id``, ``code``, ``status``, ``severity``,
        ``category`` (codes).
    """
    gdf = prepare(gdf, required=INCIDENT_COLUMNS, geom_types={"Point"}, what="事件")
    properties = []
    for row in gdf.itertuples(index=False):
        status = enum_member(IncidentStatus, row.status, what="事件")
        severity = enum_member(Severity, row.severity, what="事件")
        category = enum_member(Category, row.category, what="事件")
        status_label = label(status, row.status)
        properties.append(
            {
                "id": json_value(row.id),
                "code": json_value(row.code),
                "status": status.value if status else json_value(row.status),
                "severity": severity.value if severity else json_value(row.severity),
                "category": category.value if category else json_value(row.category),
                TOOLTIP: tooltip_html(row.title, esc(status_label)),
                POPUP: table_html(
                    row.title,
                    [
                        ("事件编号", row.code),
                        ("事件类别", label(category, row.category)),
                        ("严重程度", label(severity, row.severity)),
                        ("办理状态", status_label),
                        ("上报时间", row.reported_at),
                        ("所属网格", row.grid_name),
                        ("事件描述", row.description),
                    ],
                ),
            }
        )
    style_function = merged_style(INCIDENT_BASE_STYLE, style)
    fg = group(name, show=show)
    parent = points_parent(fg, len(gdf), cluster=cluster)
    if parent is fg:
        marker: folium.Marker | folium.CircleMarker = folium.CircleMarker()
        marker_style = style_function
    else:
        marker = folium.Marker(icon=folium.DivIcon(class_name="rg-incident-dot"))

        def marker_style(feature: dict) -> Style:
            return dot_icon_options(style_function(feature))

    folium.GeoJson(
        feature_collection(gdf.geometry.array, properties),
        name=name,
        control=False,
        marker=marker,
        style_function=marker_style,
        on_each_feature=bind_popups(sticky=False),
    ).add_to(parent)
    return localize(fg)  # offline-ready also as st_folium(feature_group_to_add=...)


def picked_point_layer(lon: float, lat: float, *, name: str = "上报位置") -> folium.FeatureGroup:
    """The point chosen for a new report: a red ring around a red dot (clicks on it go on to
    the map, so the point can be moved by clicking again).

    Parameters
    ----------
    lon, lat
        WGS84 decimal degrees.
    name
        Layer name.
    """
    fg = folium.FeatureGroup(name=name, control=False)
    for radius, style in (
        (12, {"color": "#d32f2f", "weight": 3, "fill": False}),
        (3, {"color": "#d32f2f", "weight": 1, "fill": True, "fill_opacity": 1}),
    ):
        folium.CircleMarker(location=[lat, lon], radius=radius, **style).add_to(fg)
    return localize(fg)
