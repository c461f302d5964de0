"""The leaders' map 河湖一张图: packed layers from the map data, base maps, legend, bridge.

Two steps, so that the expensive one is cached by the page:

1. ``*_layer_data`` functions turn the frames of :class:`gis.overview.MapData` (and the
   盲区检查 findings) into :class:`layers.packed.PackedLayer` objects: simplified geometry,
   style table, plain-text tooltips. Run once per data version.
2. :func:`home_map` assembles a fresh ``folium.Map`` from those objects on every rerun: base maps
   (天地图矢量/影像 with annotation when a key is set, OpenStreetMap, none) as radio buttons in
   the layer control, one overlay per :class:`Overlay`, the legend, full screen, ruler, and the
   click bridge. Only string concatenation is left for the rerun.

Styles come from the layers' pure style functions (``layers.rivers.reach_style`` …) merged over
their base styles, so this map and the other pages' maps look the same.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import folium.elements
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from gis import clock
from gis.basemap.archives import TileSetInfo
from gis.basemap.sources import BasemapCatalog
from gis.errors import ValidationError
from gis.formatting import local_time
from gis.model import Category, GridLevel, IncidentStatus, RiverLevel, Severity
from layers._common import enum_member, label, merged_style, text, truthy
from layers.basemap import BASEMAP_LABELS, add_basemaps, finish_map, make_map, with_key
from layers.blindspots import FINDING_STYLES, RULE_LABELS, finding_style
from layers.grids import GRID_BASE_STYLE, GRID_LEVEL_STYLE, grid_style
from layers.incidents import INCIDENT_BASE_STYLE, STATUS_COLORS, incident_style
from layers.objects import CATEGORY_MARKERS, OBJECT_BASE_STYLE, object_style
from layers.packed import (
    CANVAS_THRESHOLD,
    DISPLAY_TOLERANCE_M,
    LayerTag,
    MapBridge,
    PackedFeatures,
    PackedLayer,
    Runtime,
    pack_layer,
)
from layers.patrol import TRACK_BASE_STYLE, format_length, track_style
from layers.river_tiles import river_tiles_group
from layers.rivers import REACH_BASE_STYLE, reach_style

GAP_RULES = ("uncovered", "overlap")
"""Coverage findings drawn as 覆盖盲区: stretches in no grid, and stretches claimed twice."""

RECENT_TRACK_DAYS = 90
"""Patrol tracks started within this many days are drawn."""

AWESOME_MARKER_COLORS = {
    "red": "#d63e2a",
    "darkred": "#a23336",
    "lightred": "#ff8e7f",
    "orange": "#f69730",
    "beige": "#ffcb92",
    "green": "#72b026",
    "darkgreen": "#728224",
    "lightgreen": "#bbf970",
    "blue": "#38aadd",
    "darkblue": "#0067a3",
    "lightblue": "#8adaff",
    "purple": "#d252b9",
    "darkpurple": "#5b396b",
    "pink": "#ff91ea",
    "cadetblue": "#436978",
    "white": "#fbfbfb",
    "gray": "#575757",
    "lightgray": "#a3a3a3",
    "black": "#303030",
}
"""CSS colours of Leaflet.awesome-markers' marker colour names (for the legend)."""


# =============================================================================================
# Layer data (cached by the page)
# =============================================================================================


def _style(base: dict, style: Any, properties: dict, geometry_type: str | None = None) -> dict:
    feature = {"type": "Feature", "properties": properties}
    if geometry_type:
        feature["geometry"] = {"type": geometry_type}
    return merged_style(base, style)(feature)


def require_columns(gdf: gpd.GeoDataFrame, columns: Sequence[str], what: str) -> None:
    """Refuse anything but a GeoDataFrame with ``columns`` (``what``: the layer's Chinese name)."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ValidationError(f"{what}图层需要带几何的数据表", f"expected a GeoDataFrame, got {type(gdf).__name__}")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise ValidationError(f"{what}数据缺少字段：{'、'.join(missing)}", f"{what}: missing columns {missing}")


def reach_layer_data(reaches: gpd.GeoDataFrame, *, tolerance_m: float = DISPLAY_TOLERANCE_M) -> PackedLayer:
    """Reaches as blue lines, wider for higher levels; tooltip name, river and level.

    ``reaches``: columns ``id, name, river_name, level`` and line geometry (any CRS).
    """
    require_columns(reaches, ("id", "name", "river_name", "level"), "河段")
    styles, tips = [], []
    for row in reaches.itertuples(index=False):
        level = enum_member(RiverLevel, row.level, what="河段")
        styles.append(_style(REACH_BASE_STYLE, reach_style, {"level": level.value if level else text(row.level)}))
        river = text(row.river_name)
        tips.append([text(row.name), f"所属河流：{river}" if river else "", f"{label(level, row.level)}河段"])
    return pack_layer(
        "reach",
        reaches.geometry,
        geometry="line",
        ids=list(reaches["id"]),
        styles=styles,
        tooltips=tips,
        hover_weight=2,
        tolerance_m=tolerance_m,
    )


def grid_layer_data(
    grids: gpd.GeoDataFrame, *, level: GridLevel, labels: bool = False, tolerance_m: float = DISPLAY_TOLERANCE_M
) -> PackedLayer:
    """The grids of one level, outlined in the level's colour; optional name labels.

    ``grids``: columns ``id, name, level, main_responsible, illustrative`` and polygons; rows of
    other levels are left out. Illustrative (示意) boundaries are dashed and say so.
    """
    require_columns(grids, ("id", "name", "level", "main_responsible", "illustrative"), "网格")
    members = [enum_member(GridLevel, v, what="网格") for v in grids["level"]]
    subset = grids[np.array([m is level for m in members], dtype=bool)] if len(grids) else grids
    styles, tips, label_rows = [], [], []
    color = GRID_LEVEL_STYLE[level]["color"]
    for row in subset.itertuples(index=False):
        illustrative = truthy(row.illustrative)
        styles.append(_style(GRID_BASE_STYLE, grid_style, {"level": level.value, "illustrative": illustrative}))
        main = text(row.main_responsible)
        tips.append(
            [
                text(row.name) + ("（示意）" if illustrative else ""),
                level.label,
                f"主要责任人：{main}" if main else "",
            ]
        )
    if labels and len(subset):
        present = subset.geometry.notna() & ~subset.geometry.is_empty
        lonlat = subset[present]
        if lonlat.crs is not None and not lonlat.crs.equals("EPSG:4326"):
            lonlat = lonlat.to_crs("EPSG:4326")
        points = shapely.point_on_surface(np.asarray(lonlat.geometry.array, dtype=object))
        for name, pt in zip(lonlat["name"], points, strict=True):
            label_rows.append((pt.y, pt.x, text(name), color))
    return pack_layer(
        "grid",
        subset.geometry,
        geometry="area",
        ids=list(subset["id"]),
        styles=styles,
        tooltips=tips,
        labels=label_rows,
        label_min_zoom=label_zoom(subset) if label_rows else None,
        hover_weight=1.5,
        tolerance_m=tolerance_m,
    )


LABEL_WIDTH_PX = 90
"""Screen width a grid needs before its name is written in it (about six characters), in pixels."""


def label_zoom(grids: gpd.GeoDataFrame, *, width_px: float = LABEL_WIDTH_PX) -> int:
    """Lowest web-mercator zoom at which the median grid is ``width_px`` wide on screen.

    Below it the names would overlap each other, so they are hidden.
    """
    present = grids.geometry.notna() & ~grids.geometry.is_empty
    lonlat = grids[present].to_crs("EPSG:4326") if grids.crs and not grids.crs.equals("EPSG:4326") else grids[present]
    if not len(lonlat):
        return 0
    bounds = lonlat.geometry.bounds
    width_deg = float(np.median((bounds["maxx"] - bounds["minx"]).to_numpy()))
    if width_deg <= 0:
        return 18
    zoom = np.log2(width_px * 360.0 / (256.0 * width_deg))
    return int(min(max(np.ceil(zoom), 0), 18))


def recent_tracks(
    tracks: gpd.GeoDataFrame, *, now: dt.datetime | None = None, days: int = RECENT_TRACK_DAYS
) -> gpd.GeoDataFrame:
    """The tracks started within ``days`` days before ``now`` (UTC aware; default: now)."""
    if not len(tracks):
        return tracks
    now = now or clock.now()
    started = pd.to_datetime(tracks["started_at"], utc=True)
    return tracks[(started >= pd.Timestamp(now) - pd.Timedelta(days=days)).to_numpy()]


def track_layer_data(tracks: gpd.GeoDataFrame, *, tolerance_m: float = DISPLAY_TOLERANCE_M) -> PackedLayer:
    """Patrol tracks as dashed green lines; tooltip patroller, time and length.

    ``tracks``: columns ``id, person_name, grid_name, started_at, ended_at, length_m`` and lines.
    """
    require_columns(tracks, ("id", "person_name", "started_at", "ended_at", "length_m"), "巡河轨迹")
    style = _style(TRACK_BASE_STYLE, track_style, {})
    tips = []
    for row in tracks.itertuples(index=False):
        period = " — ".join(t for t in (local_time(row.started_at), local_time(row.ended_at)) if t)
        tips.append([f"巡河轨迹：{text(row.person_name)}", period, format_length(row.length_m)])
    return pack_layer(
        "track",
        tracks.geometry,
        geometry="line",
        ids=list(tracks["id"]),
        styles=[style] * len(tracks),
        tooltips=tips,
        hover_weight=2,
        tolerance_m=tolerance_m,
    )


def incident_layer_data(incidents: gpd.GeoDataFrame, *, cluster: bool | None = None) -> PackedLayer:
    """Incidents as dots coloured by status, sized by severity; clustered when many.

    ``incidents``: columns ``id, code, title, category, severity, status`` and points. The
    tooltip starts with ``事件 <code>``.
    """
    require_columns(incidents, ("id", "code", "title", "category", "severity", "status"), "事件")
    styles, tips = [], []
    for row in incidents.itertuples(index=False):
        status = enum_member(IncidentStatus, row.status, what="事件")
        severity = enum_member(Severity, row.severity, what="事件")
        category = enum_member(Category, row.category, what="事件")
        styles.append(
            _style(
                INCIDENT_BASE_STYLE,
                incident_style,
                {
                    "status": status.value if status else text(row.status),
                    "severity": severity.value if severity else text(row.severity),
                },
            )
        )
        tips.append(
            [
                f"事件 {text(row.code)}",
                text(row.title),
                " · ".join(
                    t
                    for t in (label(status, row.status), label(category, row.category), label(severity, row.severity))
                    if t
                ),
            ]
        )
    return pack_layer(
        "incident",
        incidents.geometry,
        geometry="dot",
        ids=list(incidents["id"]),
        styles=styles,
        tooltips=tips,
        cluster=cluster,
    )


def object_layer_data(objects: gpd.GeoDataFrame, *, cluster: bool | None = None) -> PackedLayer:
    """Supervised objects (重点对象) as pins whose icon and colour show the category.

    ``objects``: columns ``id, name, category, grid_name`` and points.
    """
    require_columns(objects, ("id", "name", "category", "grid_name"), "重点对象")
    styles, tips = [], []
    for row in objects.itertuples(index=False):
        category = enum_member(Category, row.category, what="重点对象")
        code = category.value if category else text(row.category)
        styles.append(_style(OBJECT_BASE_STYLE, object_style, {"category": code}))
        grid = text(row.grid_name)
        tips.append([text(row.name), label(category, row.category), f"所属网格：{grid}" if grid else ""])
    return pack_layer(
        "object",
        objects.geometry,
        geometry="pin",
        ids=list(objects["id"]),
        styles=styles,
        tooltips=tips,
        cluster=cluster,
    )


def gap_layer_data(findings: gpd.GeoDataFrame, *, tolerance_m: float = DISPLAY_TOLERANCE_M) -> PackedLayer:
    """Coverage gaps of the 盲区检查: uncovered stretches red, double-claimed ones orange.

    ``findings``: :meth:`gis.checks.report.BlindSpotReport.findings`; only coverage findings whose rule
    is in :data:`GAP_RULES` and that have a line geometry are drawn. Ids are row positions.
    """
    require_columns(findings, ("kind", "rule", "message"), "检查结果")
    gaps = findings[(findings["kind"] == "coverage") & findings["rule"].isin(GAP_RULES)] if len(findings) else findings
    if len(gaps):
        gaps = gaps[gaps.geometry.notna() & ~gaps.geometry.is_empty]
        gaps = gaps[gaps.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()]
    styles = [_style({}, finding_style, {"kind": "coverage", "rule": r}, "LineString") for r in gaps["rule"]]
    tips = [[RULE_LABELS.get(r, r), text(m)] for r, m in zip(gaps["rule"], gaps["message"], strict=True)]
    geoms = (
        gpd.GeoSeries(shapely.force_2d(np.asarray(gaps.geometry.array, dtype=object)), crs=gaps.crs)
        if len(gaps)
        else gaps.geometry
    )
    return pack_layer(
        "gap",
        geoms,
        geometry="line",
        ids=list(range(len(gaps))),
        styles=styles,
        tooltips=tips,
        hover_weight=2,
        tolerance_m=tolerance_m,
    )


# =============================================================================================
# The map
# =============================================================================================


@dataclass(frozen=True)
class Overlay:
    """One entry of the layer control.

    Attributes
    ----------
    key
        Stable code (``reaches``, ``village``…), reported back by the bridge.
    name
        Chinese name in the layer control.
    layer
        The packed features (an empty layer is left out of the map).
    show
        Whether it is on when the map opens (unless the caller says otherwise).
    """

    key: str
    name: str
    layer: PackedLayer
    show: bool = True


def available_basemaps(tianditu_key: str | None, *, catalog: BasemapCatalog | None = None) -> list[str]:
    """Base map codes the layer control offers now (:meth:`BasemapCatalog.available`): the 简图
    once built, the local tile file and the intranet service when configured, Tianditu only with a
    key, OpenStreetMap and none."""
    return with_key(catalog, tianditu_key).available()


class _ClusterAssets(folium.elements.JSCSSMixin, MacroElement):
    """Loads Leaflet.markercluster (for clustered packed points) without adding a cluster layer."""

    default_js = folium.plugins.MarkerCluster.default_js
    default_css = folium.plugins.MarkerCluster.default_css

    def __init__(self) -> None:
        super().__init__()
        self._name = "ClusterAssets"


class HomeLegend(MacroElement):
    """A legend control (HTML made by :func:`legend_html`, no user text) at ``position``; its
    ``<details>`` box folds and unfolds on a click on 图例, and starts folded on a map narrower than
    ``fold_below_px`` pixels (a phone)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function (map) {
                var div = L.DomUtil.create("div", "rivergrid-legend");
                div.innerHTML = {{ this.html|tojson }};
                div.style.cssText = "background:rgba(255,255,255,.92);padding:4px 8px;border-radius:4px;" +
                    "box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:11.5px;line-height:17px;" +
                    "max-width:calc(100vw - 110px)";
                var box = div.querySelector("details");
                // folded on a small map (a phone): the legend would cover most of it
                if (box && map.getSize().x < {{ this.fold_below_px }}) { box.open = false; }
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright", fold_below_px: int = 700) -> None:
        super().__init__()
        self._name = "HomeLegend"
        self.html = html_text
        self.position = position
        self.fold_below_px = int(fold_below_px)


def legend_swatch(kind: str, style: Mapping[str, Any]) -> str:
    """A small HTML sample of a ``line``, ``area``, ``pin`` or dot drawn in ``style``."""
    color = html.escape(str(style.get("color", "#333")), quote=True)
    if kind == "line":
        dash = "dashed" if style.get("dashArray") else "solid"
        width = min(max(int(float(style.get("weight", 3))), 2), 6)
        return (
            f'<span style="display:inline-block;width:18px;height:0;border-top:{width}px {dash} {color};'
            'vertical-align:middle"></span>'
        )
    if kind == "area":
        return (
            f'<span style="display:inline-block;width:13px;height:9px;border:2px dashed {color};'
            f'background:{color}22;vertical-align:middle"></span>'
        )
    if kind == "pin":
        return (
            f'<span style="display:inline-block;width:10px;height:10px;border-radius:50% 50% 50% 0;'
            f'transform:rotate(-45deg);background:{color};vertical-align:middle"></span>'
        )
    return (
        f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;background:{color};'
        'box-shadow:0 0 0 1px #fff,0 0 0 2px #aaa;vertical-align:middle"></span>'
    )


def legend_item(mark: str, caption: str) -> str:
    """A sample (:func:`legend_swatch`) and its caption (plain text, escaped), kept on one line."""
    return f'<span style="white-space:nowrap">{mark}&nbsp;{html.escape(caption)}</span>'


def legend_row(title: str, items: Sequence[str]) -> str:
    """One wrapping row of legend items under an optional bold title."""
    head = f'<b style="color:#444;font-weight:600">{html.escape(title)}</b>' if title else ""
    return (
        '<div style="display:flex;flex-wrap:wrap;column-gap:9px;align-items:center">' + head + "".join(items) + "</div>"
    )


LEGEND_STATUS = (
    (IncidentStatus.REPORTED, "待受理"),
    (IncidentStatus.IN_PROGRESS, "办理中"),
    (IncidentStatus.REVIEW, "办结待审"),
    (IncidentStatus.ARCHIVED, "已归档"),
    (IncidentStatus.REJECTED, "不予受理/移送"),
)
"""Incident colours in the legend: one status of each colour of :data:`STATUS_COLORS`."""


def legend_html(*, categories: Sequence[str] = (), gaps: bool = True, tracks: bool = True) -> str:
    """Legend for the home map (no user text): reaches, grids, tracks, incident states, the
    object categories shown and the coverage gaps, in a collapsible box.

    Parameters
    ----------
    categories
        :class:`gis.model.Category` codes of the supervised objects shown (one entry each).
    gaps, tracks
        Whether to list the coverage gaps and the patrol tracks.
    """
    lines = [legend_item(legend_swatch("line", {**REACH_BASE_STYLE, "weight": 4}), "河段（越宽级别越高）")]
    if tracks:
        lines.append(legend_item(legend_swatch("line", TRACK_BASE_STYLE), "巡河轨迹"))
    if gaps:
        lines += [
            legend_item(legend_swatch("line", FINDING_STYLES["uncovered"]), "未覆盖河段（盲区）"),
            legend_item(legend_swatch("line", FINDING_STYLES["overlap"]), "重复覆盖"),
        ]
    rows = [legend_row("", lines)]
    rows.append(
        legend_row(
            "",
            [legend_item(legend_swatch("area", GRID_LEVEL_STYLE[level]), level.label) for level in GridLevel]
            + ['<span style="color:#666">（虚线为示意边界）</span>'],
        )
    )
    rows.append(
        legend_row(
            "事件",
            [
                legend_item(legend_swatch("dot", {"color": STATUS_COLORS[status]}), caption)
                for status, caption in LEGEND_STATUS
            ],
        )
    )
    pins = []
    for code in categories:
        try:
            cat = Category(code)
        except ValueError:
            continue
        marker = CATEGORY_MARKERS.get(cat, {})
        color = AWESOME_MARKER_COLORS.get(marker.get("markerColor", ""), "#436978")
        pins.append(legend_item(legend_swatch("pin", {"color": color}), cat.label))
    if pins:
        rows.append(legend_row("监管对象", pins))
    return "<details open><summary>图例</summary>" + "".join(rows) + "</details>"


def home_map(
    overlays: Sequence[Overlay],
    *,
    basemap: str,
    tianditu_key: str | None,
    center: tuple[float, float],
    zoom: int,
    shown: Mapping[str, bool] | None = None,
    legend: str | None = None,
    fit: tuple[float, float, float, float] | None = None,
    catalog: BasemapCatalog | None = None,
    river_tiles: TileSetInfo | None = None,
) -> folium.Map:
    """The 河湖一张图 map, offline-ready.

    Parameters
    ----------
    overlays
        Layers bottom to top (grids first, incidents last); empty ones are left out.
    basemap
        Code of the base map shown first (:data:`BASEMAP_LABELS`; one not available now gives way
        to the default, see :func:`layers.basemap.make_map`); the others that
        :func:`available_basemaps` allows are offered in the layer control.
    tianditu_key
        天地图 key: enables the Tianditu base maps (only ever put in their URLs).
    center, zoom
        Initial view: (latitude, longitude) in decimal degrees and the zoom level.
    shown
        Overlay key → on/off, overriding :attr:`Overlay.show` (the user's last choice).
    legend
        Legend HTML (default :func:`legend_html` for the overlays given).
    fit
        ``(minx, miny, maxx, maxy)`` in decimal degrees to fit into the map once it knows its
        size (after ``center``/``zoom``).
    catalog
        The basemaps available (default: read now, :func:`gis.basemap.sources.basemap_catalog`).
    river_tiles
        The ``rivers`` tile set: the overlay ``reaches`` is drawn from its vector tiles
        (:mod:`layers.river_tiles`) instead of its packed features.

    Raises
    ------
    gis.errors.ValidationError
        ``basemap`` unknown, or a Tianditu map without a key.
    layers.assets.OfflineAssetError
        An element needs a browser asset that is not vendored.
    """
    catalog = with_key(catalog, tianditu_key)
    shown = dict(shown or {})
    m = make_map(basemap=basemap, tianditu_key=tianditu_key, catalog=catalog, center=center, zoom=zoom, basemaps=False)
    m.options["zoom_snap"] = 0.5  # half steps: the township fits the map better
    big = sum(o.layer.n_features for o in overlays if o.layer.geometry in ("line", "area")) > CANVAS_THRESHOLD
    Runtime(prefer_canvas=big).add_to(m)
    if fit is not None:
        # Before the layers and without animation: the layers are projected and drawn once, at the
        # final view (an animated fit after them redraws 5,000 reaches twice, ~0.4 s).
        minx, miny, maxx, maxy = fit
        fitting = folium.FitBounds([[miny, minx], [maxy, maxx]], padding_bottom_right=(0, 80))  # room for the legend
        fitting.options["animate"] = False
        m.add_child(fitting)
    add_basemaps(m, basemap=basemap, catalog=catalog, tag=True)
    clustered = False
    for overlay in overlays:
        if overlay.key == "reaches" and river_tiles is not None:
            river_tiles_group(river_tiles, title=overlay.name, show=shown.get(overlay.key, overlay.show)).add_to(m)
            continue
        if overlay.layer.n_features == 0:
            continue
        show = shown.get(overlay.key, overlay.show)
        fg = folium.FeatureGroup(name=overlay.name, overlay=True, control=True, show=show)
        PackedFeatures(overlay.layer).add_to(fg)
        LayerTag("overlay", overlay.key).add_to(fg)
        fg.add_to(m)
        clustered = clustered or overlay.layer.clustered
    if clustered:
        _ClusterAssets().add_to(m)
    HomeLegend(legend if legend is not None else legend_html(), position="bottomright").add_to(m)
    MapBridge().add_to(m)
    pins = any(o.layer.geometry == "pin" and o.layer.n_features for o in overlays)
    return finish_map(m, collapsed=False, pins=pins)


__all__ = [
    "BASEMAP_LABELS",
    "GAP_RULES",
    "HomeLegend",
    "Overlay",
    "available_basemaps",
    "gap_layer_data",
    "grid_layer_data",
    "home_map",
    "incident_layer_data",
    "label_zoom",
    "legend_html",
    "legend_item",
    "legend_row",
    "legend_swatch",
    "object_layer_data",
    "reach_layer_data",
    "recent_tracks",
    "require_columns",
    "track_layer_data",
]
