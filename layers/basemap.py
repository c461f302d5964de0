"""The base map: Tianditu (天地图) or OpenStreetMap tiles, or none, plus the map controls.

Usage on a page::

    m = make_map(basemap=s.basemap, tianditu_key=s.tianditu_key)
    reaches_layer(reaches).add_to(m)
    ...
    finish_map(m)          # layer control + local assets (see layers.assets)
    st_folium(m, ...)
"""

from __future__ import annotations

import math
from urllib.parse import quote

import folium
import folium.plugins
from branca.element import MacroElement
from folium.template import Template

from gis.config import BASEMAPS
from gis.errors import ValidationError
from layers.assets import VENDOR_URL, localize

DEFAULT_CENTER = (41.78, 126.92)
"""Default map centre, (latitude, longitude) in decimal degrees."""

DEFAULT_ZOOM = 11

MAX_ZOOM = 18
"""Deepest zoom level of Tianditu's web-mercator tiles (OSM goes to 19)."""

TIANDITU_SUBDOMAINS = "01234567"
"""Tianditu tile hosts t0 … t7.tianditu.gov.cn."""

_TIANDITU_LAYERS = {
    # basemap: ((layer, name), (annotation layer, name))
    "tianditu_vec": (("vec", "天地图矢量"), ("cva", "天地图矢量注记")),
    "tianditu_img": (("img", "天地图影像"), ("cia", "天地图影像注记")),
}

TIANDITU_ATTRIBUTION = "&copy; 天地图"
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
PLAIN_BACKGROUND = "#f4f6f8"
"""Background colour of the map when it has no tiles (``basemap="none"``)."""


def tianditu_url(layer: str, tianditu_key: str) -> str:
    """XYZ-style URL template of a Tianditu WMTS layer in web mercator (``*_w``).

    Parameters
    ----------
    layer
        Tianditu layer code: ``vec``/``cva`` (vector + annotation), ``img``/``cia`` (imagery +
        annotation), ``ter``/``cta`` (terrain + annotation).
    tianditu_key
        The 天地图 API key (``tk``); URL-encoded here.
    """
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={quote(tianditu_key, safe='')}"
    )


class _MapExtras(MacroElement):
    """Metric-only scale bar, and the background colour when there are no tiles."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        {%- if this.background %}
            <style>.leaflet-container { background: {{ this.background }}; }</style>
        {%- endif %}
        {% endmacro %}
        {% macro script(this, kwargs) %}
            L.control.scale({imperial: false, metric: true, position: "bottomleft"})
                .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, background: str | None = None) -> None:
        super().__init__()
        self._name = "MapExtras"
        self.background = background


def make_map(
    *,
    center: tuple[float, float] = DEFAULT_CENTER,
    zoom: int = DEFAULT_ZOOM,
    basemap: str,
    tianditu_key: str | None,
) -> folium.Map:
    """A folium map with the chosen basemap, a full-screen button and a distance/area ruler.

    Parameters
    ----------
    center
        Map centre as (latitude, longitude) in decimal degrees (WGS84 / CGCS2000).
    zoom
        Initial zoom level.
    basemap
        ``tianditu_vec`` (vector + annotation), ``tianditu_img`` (imagery + annotation),
        ``osm`` or ``none`` (no tiles, plain light background); see ``gis.config.Settings``.
    tianditu_key
        天地图 key; required by the Tianditu basemaps, never put in any other URL.

    Returns
    -------
    folium.Map
        Without a layer control: add the layers, then call :func:`finish_map`.

    Raises
    ------
    gis.errors.ValidationError
        Unknown ``basemap``, or a Tianditu basemap without a key.
    """
    if basemap not in BASEMAPS:
        raise ValidationError(
            f"无法识别的底图“{basemap}”，可选：{'、'.join(BASEMAPS)}",
            f"basemap must be one of {BASEMAPS}, got {basemap!r}",
        )
    key = (tianditu_key or "").strip()
    if basemap.startswith("tianditu") and not key:
        raise ValidationError(
            "天地图底图需要配置天地图密钥（TIANDITU_KEY）",
            f"basemap {basemap!r} needs tianditu_key",
        )

    m = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        max_zoom=MAX_ZOOM,
        control_scale=False,
    )
    if basemap in _TIANDITU_LAYERS:
        (base, base_name), (notes, notes_name) = _TIANDITU_LAYERS[basemap]
        folium.TileLayer(
            tiles=tianditu_url(base, key),
            attr=TIANDITU_ATTRIBUTION,
            name=base_name,
            subdomains=TIANDITU_SUBDOMAINS,
            max_zoom=MAX_ZOOM,
            overlay=False,
        ).add_to(m)
        folium.TileLayer(
            tiles=tianditu_url(notes, key),
            attr=TIANDITU_ATTRIBUTION,
            name=notes_name,
            subdomains=TIANDITU_SUBDOMAINS,
            max_zoom=MAX_ZOOM,
            overlay=True,
            control=False,
        ).add_to(m)
    elif basemap == "osm":
        folium.TileLayer(
            tiles=OSM_URL,
            attr=OSM_ATTRIBUTION,
            name="OpenStreetMap",
            max_zoom=MAX_ZOOM,
            overlay=False,
        ).add_to(m)

    _MapExtras(background=PLAIN_BACKGROUND if basemap == "none" else None).add_to(m)
    folium.plugins.Fullscreen(
        position="topleft", title="全屏显示", title_cancel="退出全屏", force_separate_button=True
    ).add_to(m)
    folium.plugins.MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
        localization="cn",
    ).add_to(m)
    localize(m)  # again in finish_map, for what the caller adds
    return m


def finish_map(m: folium.Map, *, collapsed: bool = False, base_url: str = VENDOR_URL) -> folium.Map:
    """Add the layer control (after all layers) and point every asset at the local copies.

    Parameters
    ----------
    m
        A map from :func:`make_map` with its layers added.
    collapsed
        Whether the layer control starts folded into an icon.
    base_url
        URL path at which ``static/vendor`` is served (see :func:`layers.assets.localize`).

    Raises
    ------
    layers.assets.OfflineAssetError
        Some element needs a browser asset that is not vendored.
    """
    folium.LayerControl(position="topright", collapsed=collapsed).add_to(m)
    localize(m, base_url=base_url)
    return m


def view_for_bounds(
    bounds: tuple[float, float, float, float], *, width_px: int = 900, height_px: int = 600, max_zoom: int = 17
) -> tuple[tuple[float, float], int]:
    """Centre ``(lat, lon)`` and web-mercator zoom showing ``bounds`` (lon/lat degrees) whole.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in decimal degrees.
    width_px, height_px
        Size of the map on screen, in pixels.
    max_zoom
        Zoom used for a point or a very small feature.
    """

    minx, miny, maxx, maxy = bounds
    center = ((miny + maxy) / 2, (minx + maxx) / 2)

    def merc_y(lat: float) -> float:
        s = math.sin(math.radians(max(min(lat, 85.0), -85.0)))
        return math.log((1 + s) / (1 - s)) / 2

    dx = max(maxx - minx, 1e-9) / 360.0  # share of the world's width
    dy = max(merc_y(maxy) - merc_y(miny), 1e-9) / (2 * math.pi)
    zoom_x = math.log2(width_px / 256.0 / dx)
    zoom_y = math.log2(height_px / 256.0 / dy)
    return center, int(max(1, min(max_zoom, math.floor(min(zoom_x, zoom_y)) - 0)))
