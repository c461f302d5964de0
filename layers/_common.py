"""Shared plumbing of the feature layers: input checks, GeoJSON building, safe HTML.

Everything a user typed reaches the browser only through :func:`esc` (HTML-escaped text).
Tooltips and popups are pre-rendered here as escaped HTML strings and bound per feature in the
browser (:func:`bind_popups`); folium's GeoJsonTooltip/GeoJsonPopup would insert raw values.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from gis.errors import CRSError, GeometryError, ValidationError
from gis.model import STORE_CRS

Style = dict[str, Any]
StyleFunction = Callable[[dict], Style]

CLUSTER_THRESHOLD = 50
"""Point layers with more features than this are clustered (``cluster=None``)."""

TOOLTIP = "tooltip_html"
POPUP = "popup_html"

_BIND_POPUPS_JS = """function (feature, layer) {
        var p = feature.properties || {};
        if (p.tooltip_html) { layer.bindTooltip(p.tooltip_html, {sticky: %(sticky)s}); }
        if (p.popup_html) { layer.bindPopup(p.popup_html, {maxWidth: 360}); }
    }"""


def bind_popups(*, sticky: bool) -> JsCode:
    """``onEachFeature`` binding each feature's pre-escaped ``tooltip_html``/``popup_html``.

    Bound per feature (not on the GeoJSON group), so they also work inside a MarkerCluster.
    ``sticky``: the tooltip follows the mouse (lines, areas) or sits on the point.
    """
    return JsCode(_BIND_POPUPS_JS % {"sticky": "true" if sticky else "false"})


def prepare(
    gdf: gpd.GeoDataFrame,
    *,
    required: Sequence[str],
    geom_types: Iterable[str],
    what: str,
) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` in EPSG:4326 with only drawable rows, after checking columns and CRS.

    Parameters
    ----------
    gdf
        The caller's frame (never modified).
    required
        Columns that must exist (besides the geometry).
    geom_types
        Allowed geometry types, e.g. ``{"LineString", "MultiLineString"}``.
    what
        Chinese name of the data for messages, e.g. ``"河段"``.

    Raises
    ------
    gis.errors.ValidationError
        Not a GeoDataFrame, or columns are missing.
    gis.errors.CRSError
        The frame has no CRS.
    gis.errors.GeometryError
        A geometry has another type than ``geom_types``.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ValidationError(
            f"{what}图层需要带几何的数据表",
            f"expected a GeoDataFrame, got {type(gdf).__name__}",
        )
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise ValidationError(
            f"{what}数据缺少字段：{'、'.join(missing)}",
            f"{what} layer: missing columns {missing}; have {list(gdf.columns)}",
        )
    if gdf.crs is None:
        raise CRSError(
            f"{what}数据没有坐标参考系",
            f"{what} layer: the GeoDataFrame has no CRS; set one with "
            "gdf.set_crs(...) before drawing (the store uses EPSG:4326)",
        )
    gdf = gdf.copy()
    geoms = gdf.geometry.array
    drawable = ~(pd.isna(gdf.geometry).to_numpy() | shapely.is_empty(np.asarray(geoms)))
    if not drawable.all():
        warnings.warn(
            f"{what} layer: {int((~drawable).sum())} row(s) without geometry are not drawn",
            stacklevel=3,
        )
        gdf = gdf[drawable]
    allowed = set(geom_types)
    wrong = sorted(set(gdf.geom_type) - allowed)
    if wrong:
        raise GeometryError(
            f"{what}数据的几何类型不正确：{'、'.join(wrong)}",
            f"{what} layer: geometry types {wrong} not in {sorted(allowed)}",
        )
    if not gdf.crs.equals(STORE_CRS):
        gdf = gdf.to_crs(STORE_CRS)
    return gdf


def feature_collection(geometries: gpd.GeoSeries | np.ndarray, properties: Sequence[dict]) -> dict:
    """GeoJSON FeatureCollection with ids ``"0"…"n-1"`` and the given (JSON-safe) properties.

    ``geometries`` are in EPSG:4326 (longitude, latitude).
    """
    geometries = shapely.to_geojson(np.asarray(geometries))
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": str(i), "geometry": json.loads(g), "properties": p}
            for i, (g, p) in enumerate(zip(geometries, properties, strict=True))
        ],
    }


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def text(value: Any) -> str:
    """A value as display text: missing → ``""``, date-times to the minute, floats trimmed."""
    if is_missing(value):
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def json_value(value: Any) -> str | int | float | bool | None:
    """A value that json.dumps accepts: numbers and booleans kept, the rest as :func:`text`."""
    if is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return text(value)


def esc(value: Any) -> str:
    """HTML-escaped display text of ``value`` (quotes included)."""
    return html.escape(text(value), quote=True)


def truthy(value: Any) -> bool:
    """Booleans stored as bool, 0/1 or text (``"true"``, ``"是"``…)."""
    if is_missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "t", "yes", "y", "是", "示意"}
    return bool(value)


def enum_member(enum: type[StrEnum], value: Any, *, what: str) -> StrEnum | None:
    """The member for a code or Chinese label; ``None`` (with a warning) when unknown."""
    if is_missing(value) or str(value).strip() == "":
        return None
    try:
        return enum.from_any(str(value))  # type: ignore[attr-defined]
    except ValueError:
        warnings.warn(f"{what}: unknown {enum.__name__} value {value!r}", stacklevel=3)
        return None


def label(member: StrEnum | None, raw: Any) -> str:
    """Chinese label of an :func:`enum_member` result; the raw text when it was unknown."""
    return member.label if member is not None else text(raw)  # type: ignore[attr-defined]


def tooltip_html(title: Any, *lines: str) -> str:
    """Bold escaped ``title`` followed by already-escaped ``lines``."""
    parts = [f"<b>{esc(title)}</b>", *[line for line in lines if line]]
    return "<br>".join(parts)


def table_html(title: Any, rows: Sequence[tuple[str, Any]]) -> str:
    """Popup body: an escaped title and a two-column table of escaped label/value pairs.

    Rows whose value is missing or empty are left out.
    """
    body = "".join(
        f'<tr><th style="padding:2px 8px 2px 0;white-space:nowrap;vertical-align:top">'
        f'{esc(name)}</th><td style="padding:2px 0">{esc(value)}</td></tr>'
        for name, value in rows
        if text(value) != ""
    )
    return (
        f'<div style="font-size:13px;line-height:1.4">'
        f'<div style="font-weight:bold;margin-bottom:4px">{esc(title)}</div>'
        f"<table>{body}</table></div>"
    )


def merged_style(base: Style, style: StyleFunction) -> StyleFunction:
    """``feature -> {**base, **style(feature)}``."""

    def style_function(feature: dict) -> Style:
        return {**base, **style(feature)}

    return style_function


def highlight(style_function: StyleFunction, *, extra_weight: float = 2) -> StyleFunction:
    """Hover style: the same style, lines ``extra_weight`` pixels wider."""

    def highlight_function(feature: dict) -> Style:
        style = style_function(feature)
        return {**style, "weight": float(style.get("weight", 2)) + extra_weight}

    return highlight_function


def group(name: str, *, show: bool) -> folium.FeatureGroup:
    """The FeatureGroup a layer function returns (one entry in the layer control)."""
    return folium.FeatureGroup(name=name, overlay=True, control=True, show=show)


def shapes_group(
    name: str,
    *,
    show: bool,
    geometries: gpd.GeoSeries | np.ndarray,
    properties: Sequence[dict],
    base: Style,
    style: StyleFunction,
    extra_weight: float = 2,
) -> folium.FeatureGroup:
    """A layer of lines or areas: one GeoJson with merged style, hover highlight and popups."""
    style_function = merged_style(base, style)
    fg = group(name, show=show)
    folium.GeoJson(
        feature_collection(geometries, properties),
        name=name,
        control=False,
        style_function=style_function,
        highlight_function=highlight(style_function, extra_weight=extra_weight),
        on_each_feature=bind_popups(sticky=True),
    ).add_to(fg)
    return fg


def points_parent(
    fg: folium.FeatureGroup, n: int, *, cluster: bool | None
) -> folium.FeatureGroup | folium.plugins.MarkerCluster:
    """Where point features go: ``fg`` itself, or a MarkerCluster inside it.

    ``cluster=None`` clusters when there are more than :data:`CLUSTER_THRESHOLD` points.
    """
    if cluster is None:
        cluster = n > CLUSTER_THRESHOLD
    if not cluster:
        return fg
    mc = folium.plugins.MarkerCluster(control=False, show_coverage_on_hover=False, max_cluster_radius=50)
    mc.add_to(fg)
    return mc
