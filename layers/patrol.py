"""Patrol tracks (巡河轨迹) as thin dashed green lines."""

from __future__ import annotations

import folium
import geopandas as gpd

from layers._common import (
    POPUP,
    TOOLTIP,
    Style,
    StyleFunction,
    esc,
    is_missing,
    json_value,
    prepare,
    shapes_group,
    table_html,
    text,
    tooltip_html,
)
from layers.assets import localize

TRACK_COLUMNS = ("id", "person_name", "grid_name", "started_at", "ended_at", "length_m")

TRACK_BASE_STYLE: Style = {"color": "#2e7d32", "weight": 2, "opacity": 0.9, "dashArray": "6 5"}
"""Style of every track (Leaflet path options)."""


def track_style(feature: dict) -> Style:
    """No per-track variation by default (override to colour by person, date…)."""
    return {}


def format_length(length_m: object) -> str:
    """A length in metres as Chinese display text: ``850 米`` or ``3.42 公里``."""
    if is_missing(length_m):
        return ""
    try:
        metres = float(length_m)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return text(length_m)
    return f"{metres:.0f} 米" if metres < 1000 else f"{metres / 1000:.2f} 公里"


def tracks_layer(
    gdf: gpd.GeoDataFrame,
    *,
    name: str = "巡河轨迹",
    show: bool = True,
    style: StyleFunction = track_style,
) -> folium.FeatureGroup:
    """Patrol tracks; tooltip with the patroller and the time, popup with the length.

    Parameters
    ----------
    gdf
        Columns ``id, person_name, grid_name, started_at, ended_at, length_m, geometry``
        (LineString/MultiLineString, any CRS; reprojected to EPSG:4326 here, the frame is not
        modified). Times may be datetimes or text; ``length_m`` is in metres.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the map opens.
    style
        ``feature -> dict`` merged over :data:`TRACK_BASE_STYLE`; ``feature["properties"]``
        holds ``id``, ``person_name``, ``started_at`` (text) and ``length_m``.
    """
    gdf = prepare(
        gdf,
        required=TRACK_COLUMNS,
        geom_types={"LineString", "MultiLineString"},
        what="巡河轨迹",
    )
    properties = []
    for row in gdf.itertuples(index=False):
        period = " — ".join(t for t in (text(row.started_at), text(row.ended_at)) if t)
        length = format_length(row.length_m)
        properties.append(
            {
                "id": json_value(row.id),
                "person_name": json_value(row.person_name),
                "started_at": json_value(row.started_at),
                "length_m": json_value(row.length_m),
                TOOLTIP: tooltip_html(f"巡河轨迹：{text(row.person_name)}", esc(period), esc(length)),
                POPUP: table_html(
                    "巡河轨迹",
                    [
                        ("巡查人员", row.person_name),
                        ("所属网格", row.grid_name),
                        ("开始时间", row.started_at),
                        ("结束时间", row.ended_at),
                        ("巡查里程", length),
                    ],
                ),
            }
        )
    fg = shapes_group(
        name, show=show, geometries=gdf.geometry.array, properties=properties, base=TRACK_BASE_STYLE, style=style
    )
    return localize(fg)  # offline-ready also as st_folium(feature_group_to_add=...)
