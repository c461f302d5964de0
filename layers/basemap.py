"""Base maps and the map controls: every map offers every basemap that is configured.

Basemaps (:data:`BASEMAP_LABELS`, switchable in each map's layer control; the first shown is the
one asked for, see :class:`gis.basemap.sources.BasemapCatalog.choose`):

* ``simple`` 简图: the bundled vector tiles of the deployment area (:mod:`gis.basemap`), served by
  the app at ``/api/tiles/simple/…`` and drawn in the browser by protomaps-leaflet with
  ``static/rivergrid/basemap.js``; the default when nothing else is configured;
* ``local`` 本地瓦片: the PMTiles/MBTiles file of ``RIVERGRID_TILES``, served at
  ``/api/tiles/local/…`` (raster tiles as a tile layer, vector tiles with protomaps-leaflet);
* ``intranet`` 内网底图: the URL template(s) of ``RIVERGRID_TILE_URL`` (a 天地图政务版, a GeoServer);
* ``tianditu_vec``/``tianditu_img``: Tianditu with its annotation layer, only with a key;
* ``osm``: OpenStreetMap; ``none``: no tiles, a plain light background.

Tiles of the app's own sets are asked for only inside the set's bounds and zoom range (no 404s)
and with the set's version in the URL (cached for good, refreshed when the file changes).

Usage on a page::

    m = make_map(basemap=s.basemap, tianditu_key=s.tianditu_key)
    reaches_layer(reaches).add_to(m)
    ...
    finish_map(m)          # layer control + local assets (see layers.assets)
    st_folium(m, ...)
"""

from __future__ import annotations

import dataclasses
import html
import math
from urllib.parse import quote

import folium
import folium.elements
import folium.plugins
from branca.element import MacroElement
from folium.template import Template

from gis.basemap.archives import TileSetInfo
from gis.basemap.sources import LOCAL, SIMPLE, BasemapCatalog, basemap_catalog
from gis.config import BASEMAPS
from gis.errors import ValidationError
from layers.assets import VENDOR_URL, localize, trim_assets, use_bundles
from layers.packed import STATIC_URL, LayerTag

DEFAULT_CENTER = (41.78, 126.92)
"""Default map centre, (latitude, longitude) in decimal degrees."""

DEFAULT_ZOOM = 11

MAX_ZOOM = 18
"""Deepest zoom level of the maps (Tianditu's web-mercator tiles end there; OSM goes to 19)."""

TIANDITU_SUBDOMAINS = "01234567"
"""Tianditu tile hosts t0 … t7.tianditu.gov.cn."""

_TIANDITU_LAYERS = {
    # basemap: ((layer, name), (annotation layer, name))
    "tianditu_vec": (("vec", "天地图矢量"), ("cva", "天地图矢量注记")),
    "tianditu_img": (("img", "天地图影像"), ("cia", "天地图影像注记")),
}

BASEMAP_LABELS: dict[str, str] = {
    "simple": "简图",
    "local": "本地瓦片",
    "intranet": "内网底图",
    "tianditu_vec": "天地图矢量",
    "tianditu_img": "天地图影像",
    "osm": "OpenStreetMap",
    "none": "无底图",
}
"""Base maps by code (:data:`gis.config.BASEMAPS`), in the order of the layer control."""

TILES_URL = "/api/tiles"
"""URL path of the app's tile route (:mod:`api.tiles`)."""

TIANDITU_ATTRIBUTION = "&copy; 天地图"
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
INTRANET_ATTRIBUTION = "内网底图"
PLAIN_BACKGROUND = "#eef1f4"
"""Background colour of the map where no tiles cover it (``none``, outside the 简图's sheet)."""

PROTOMAPS_JS = f"{VENDOR_URL}/protomaps-leaflet/protomaps-leaflet.js"
"""protomaps-leaflet (vendored from npm, see ``static/vendor/VERSIONS.txt``)."""

BASEMAP_JS = f"{STATIC_URL}/basemap.js"
"""The 简图's style and the vector basemap constructors (``RiverGridBasemap``)."""


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
    """Metric-only scale bar, and the background colour where no tiles are drawn."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>.leaflet-container { background: {{ this.background }}; }</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            L.control.scale({imperial: false, metric: true, position: "bottomleft"})
                .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, background: str = PLAIN_BACKGROUND) -> None:
        super().__init__()
        self._name = "MapExtras"
        self.background = background


class VectorBasemap(folium.elements.JSCSSMixin, MacroElement):
    """Vector tiles drawn by protomaps-leaflet into the parent layer (a base map's group).

    Parameters
    ----------
    url
        Tile URL template (``…/{z}/{x}/{y}.mvt?v=…``).
    info
        The tile set (zoom range and bounds: no tile outside them is asked for).
    style
        ``simple`` (the 简图's own style) or ``protomaps`` (files in the Protomaps basemap schema).
    attribution
        HTML shown in the attribution control (escaped text).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = RiverGridBasemap[{{ this.style|tojson }}](
                {{ this.url|tojson }}, {{ this.options|tojson }}
            ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    default_js = [("protomaps_leaflet", PROTOMAPS_JS), ("rivergrid_basemap", BASEMAP_JS)]

    def __init__(self, url: str, info: TileSetInfo, *, style: str, attribution: str = "") -> None:
        super().__init__()
        if style not in ("simple", "protomaps"):
            raise ValidationError("矢量底图样式无效", f"style must be 'simple' or 'protomaps', got {style!r}")
        self._name = "VectorBasemap"
        self.url = url
        self.style = style
        west, south, east, north = info.bounds
        self.options = {
            # one data tile covers 2x2 screen tiles (levelDiff 1): the first screen zoom is one deeper
            "minZoom": info.minzoom + 1,
            "maxDataZoom": info.maxzoom,
            "bounds": [[south, west], [north, east]],
            "attribution": attribution,
        }


def app_tile_url(name: str, info: TileSetInfo) -> str:
    """URL template of one of the app's tile sets (:mod:`api.tiles`), with its version."""
    return f"{TILES_URL}/{name}/{{z}}/{{x}}/{{y}}.{info.extensions[0]}?v={info.version}"


def _attribution(info: TileSetInfo, fallback: str) -> str:
    return html.escape(info.attribution or info.description or fallback)


def _tile_set_layer(name: str, info: TileSetInfo, *, style: str, fallback: str) -> folium.elements.Element:
    url = app_tile_url(name, info)
    if info.vector:
        return VectorBasemap(url, info, style=style, attribution=_attribution(info, fallback))
    west, south, east, north = info.bounds
    return folium.TileLayer(
        tiles=url,
        attr=_attribution(info, fallback),
        name=name,
        min_zoom=0,
        max_zoom=MAX_ZOOM,
        min_native_zoom=info.minzoom,
        max_native_zoom=info.maxzoom,
        bounds=[[south, west], [north, east]],
        overlay=True,
        control=False,
    )


def basemap_group(code: str, catalog: BasemapCatalog, *, show: bool, tag: bool = False) -> folium.FeatureGroup:
    """The base map ``code`` as one entry of the layer control (a group holding its tile layers).

    ``tag``: register it with the click bridge (maps that load :class:`layers.packed.Runtime`), so
    the page learns which base map the user chose.
    """
    fg = folium.FeatureGroup(name=BASEMAP_LABELS[code], overlay=False, control=True, show=show)
    if code == "simple" and catalog.simple is not None:
        _tile_set_layer(SIMPLE, catalog.simple, style="simple", fallback="简图").add_to(fg)
    elif code == "local" and catalog.local is not None:
        _tile_set_layer(LOCAL, catalog.local, style="protomaps", fallback="本地瓦片").add_to(fg)
    elif code == "intranet":
        for i, url in enumerate(catalog.intranet):
            folium.TileLayer(
                tiles=url,
                attr=INTRANET_ATTRIBUTION,  # shown once however many layers name it
                name=f"intranet{i}",
                max_zoom=MAX_ZOOM,
                overlay=True,
                control=False,
            ).add_to(fg)
    elif code in _TIANDITU_LAYERS:
        for layer, layer_name in _TIANDITU_LAYERS[code]:
            folium.TileLayer(
                tiles=tianditu_url(layer, (catalog.tianditu_key or "").strip()),
                attr=TIANDITU_ATTRIBUTION,
                name=layer_name,
                subdomains=TIANDITU_SUBDOMAINS,
                max_zoom=MAX_ZOOM,
                overlay=True,
                control=False,
            ).add_to(fg)
    elif code == "osm":
        folium.TileLayer(
            tiles=OSM_URL, attr=OSM_ATTRIBUTION, name="OpenStreetMap", max_zoom=MAX_ZOOM, overlay=True, control=False
        ).add_to(fg)
    if tag:
        LayerTag("base", code).add_to(fg)
    return fg


def resolve_basemap(basemap: str, catalog: BasemapCatalog) -> str:
    """The base map to show first for ``basemap`` (:meth:`BasemapCatalog.choose`).

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
    if basemap.startswith("tianditu") and not (catalog.tianditu_key or "").strip():
        raise ValidationError(
            "天地图底图需要配置天地图密钥（TIANDITU_KEY）",
            f"basemap {basemap!r} needs tianditu_key",
        )
    return catalog.choose(basemap)


def with_key(catalog: BasemapCatalog | None, tianditu_key: str | None) -> BasemapCatalog:
    """``catalog`` (default: :func:`gis.basemap.sources.basemap_catalog`) with ``tianditu_key``."""
    catalog = catalog or basemap_catalog()
    return dataclasses.replace(catalog, tianditu_key=(tianditu_key or "").strip() or None)


def add_basemaps(m: folium.Map, *, basemap: str, catalog: BasemapCatalog, tag: bool = False) -> str:
    """Add every available base map to ``m`` (the one for ``basemap`` shown); the code shown.

    Raises
    ------
    gis.errors.ValidationError
        As :func:`resolve_basemap`.
    """
    chosen = resolve_basemap(basemap, catalog)
    for code in catalog.available():
        basemap_group(code, catalog, show=code == chosen, tag=tag).add_to(m)
    return chosen


def make_map(
    *,
    center: tuple[float, float] = DEFAULT_CENTER,
    zoom: int = DEFAULT_ZOOM,
    basemap: str,
    tianditu_key: str | None,
    catalog: BasemapCatalog | None = None,
    basemaps: bool = True,
) -> folium.Map:
    """A folium map with every available base map (``basemap`` shown first), a full-screen button
    and a distance/area ruler.

    Parameters
    ----------
    center
        Map centre as (latitude, longitude) in decimal degrees (WGS84 / CGCS2000).
    zoom
        Initial zoom level.
    basemap
        The base map shown first, a code of :data:`BASEMAP_LABELS`; one that is not available
        now (the 简图 not built yet, say) gives way to the default (:meth:`BasemapCatalog.choose`).
    tianditu_key
        天地图 key; enables the Tianditu basemaps, never put in any other URL.
    catalog
        The basemaps available (default: :func:`gis.basemap.sources.basemap_catalog`, read now).
    basemaps
        False: add none (the caller adds them with :func:`add_basemaps`, e.g. after a fit).

    Returns
    -------
    folium.Map
        Without a layer control: add the layers, then call :func:`finish_map`.

    Raises
    ------
    gis.errors.ValidationError
        Unknown ``basemap``, or a Tianditu basemap without a key.
    """
    catalog = with_key(catalog, tianditu_key)
    resolve_basemap(basemap, catalog)  # refuse a bad request even when the caller adds them later
    m = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        max_zoom=MAX_ZOOM,
        control_scale=False,
    )
    if basemaps:
        add_basemaps(m, basemap=basemap, catalog=catalog)
    _MapExtras().add_to(m)
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


def finish_map(
    m: folium.Map, *, collapsed: bool = False, base_url: str = VENDOR_URL, pins: bool | None = None
) -> folium.Map:
    """Add the layer control (after all layers), leave out the browser assets nothing uses
    (:func:`layers.assets.trim_assets`), point every asset at the local copies and load Leaflet
    with its controls as one file (:func:`layers.assets.use_bundles`).

    Parameters
    ----------
    m
        A map from :func:`make_map` with its layers added.
    collapsed
        Whether the layer control starts folded into an icon.
    base_url
        URL path at which ``static/vendor`` is served (see :func:`layers.assets.localize`).
    pins
        Whether pins are drawn (default: whether the map holds a ``folium.Icon``); a layer given
        later to ``st_folium(feature_group_to_add=...)`` must not draw ``folium.Icon`` pins
        unless this is ``True``.

    Raises
    ------
    layers.assets.OfflineAssetError
        Some element needs a browser asset that is not vendored.
    """
    folium.LayerControl(position="topright", collapsed=collapsed).add_to(m)
    trim_assets(m, pins=pins)
    return use_bundles(localize(m, base_url=base_url), base_url=base_url)


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
