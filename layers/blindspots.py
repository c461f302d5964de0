"""The 盲区检查 findings on the map: uncovered stretches red, double claims orange, topology
errors outlined in magenta, each with an escaped tooltip and popup."""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely

from gis.checks.findings import RULE_LABELS as ALL_RULE_LABELS
from gis.checks.findings import rule_label
from layers._common import POPUP, TOOLTIP, Style, esc, json_value, prepare, shapes_group, table_html, tooltip_html
from layers.assets import localize

FINDING_COLUMNS = ("kind", "rule", "severity", "object_name", "station", "message")

FINDING_STYLES: dict[str, Style] = {
    "uncovered": {"color": "#d50000", "weight": 7, "opacity": 0.95},
    "overlap": {"color": "#ff9100", "weight": 7, "opacity": 0.95},
    "boundary": {"color": "#ff9100", "weight": 6, "opacity": 0.9, "dashArray": "8 6"},
    "topology_area": {"color": "#c51162", "weight": 2, "fillColor": "#c51162", "fillOpacity": 0.25, "dashArray": "4 4"},
    "topology_line": {"color": "#c51162", "weight": 4},
}
"""Styles by kind of finding (Leaflet path options)."""

RULE_LABELS = ALL_RULE_LABELS
"""Rule code → Chinese label (:data:`gis.checks.findings.RULE_LABELS`, every check's rules)."""


def finding_style(feature: dict) -> Style:
    """Style of a finding by its ``rule`` and geometry type."""
    props = feature["properties"]
    if props.get("kind") == "coverage":
        return FINDING_STYLES.get(props.get("rule"), FINDING_STYLES["uncovered"])
    if feature.get("geometry", {}).get("type", "").endswith("LineString"):
        return FINDING_STYLES["topology_line"]
    return FINDING_STYLES["topology_area"]


def findings_layer(gdf: gpd.GeoDataFrame, *, name: str = "盲区检查结果", show: bool = True) -> folium.FeatureGroup:
    """Findings with a geometry (coverage stretches, topology areas and edges) as one layer.

    Parameters
    ----------
    gdf
        :meth:`gis.checks.report.BlindSpotReport.findings` (columns ``kind, rule, severity,
        object_name, station, message, geometry``); rows without geometry are skipped; points
        (rare) are drawn as small squares.
    """
    drawn = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty] if len(gdf) else gdf
    drawn = drawn.copy()
    if len(drawn):
        # point findings become tiny squares so that one GeoJson draws every kind
        points = drawn.geom_type == "Point"
        if points.any():
            drawn.loc[points, "geometry"] = (
                drawn.loc[points].to_crs(3857).buffer(15, cap_style="square").to_crs(drawn.crs)
            )
    gdf = prepare(
        drawn if len(drawn) else gdf.iloc[:0],
        required=FINDING_COLUMNS,
        geom_types={"LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"},
        what="检查结果",
    )
    properties = []
    for row in gdf.itertuples(index=False):
        rule = rule_label(row.rule)
        properties.append(
            {
                "kind": json_value(row.kind),
                "rule": json_value(row.rule),
                TOOLTIP: tooltip_html(rule, esc(row.message)),
                POPUP: table_html(rule, [("对象", row.object_name), ("桩号", row.station), ("说明", row.message)]),
            }
        )
    geoms = shapely.force_2d(gdf.geometry.array) if len(gdf) else gdf.geometry.array
    fg = shapes_group(name, show=show, geometries=geoms, properties=properties, base={}, style=finding_style)
    return localize(fg)
