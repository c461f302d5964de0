"""The river reaches drawn from the app's vector tiles (``/api/tiles/rivers/…``, :mod:`gis.maptiles`).

For a store with more reaches than the map can take at once (``RIVERGRID_MAP_TILES_REACHES``), the
home map draws them with protomaps-leaflet from tiles cut by viewport and zoom, like the 简图
(:class:`layers.basemap.VectorBasemap`): what is sent does not grow with the number of reaches.
The lines take no clicks; the page finds the clicked reach by a point query.
"""

from __future__ import annotations

import html

import folium
import folium.elements
from branca.element import MacroElement
from folium.template import Template

from gis.basemap.archives import TileSetInfo
from layers.basemap import PROTOMAPS_JS, app_tile_url
from layers.packed import STATIC_URL, LayerTag
from layers.rivers import REACH_BASE_STYLE, REACH_WEIGHT_PX

__all__ = ["RIVERS_JS", "RiverTiles", "river_tiles_group"]

RIVERS_JS = f"{STATIC_URL}/rivertiles.js"
"""The tile layer's constructor (``RiverGridRivers``)."""


class RiverTiles(folium.elements.JSCSSMixin, MacroElement):
    """The ``rivers`` tile set drawn into the parent layer (a feature group of the layer control).

    Parameters
    ----------
    info
        The tile set (:meth:`gis.maptiles.service.RiverTileSource.info`): version, zooms, bounds.
    name
        The set's name in the tile route.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = RiverGridRivers.layer(
                {{ this.url|tojson }}, {{ this.options|tojson }}
            ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    default_js = [("protomaps_leaflet", PROTOMAPS_JS), ("rivergrid_rivertiles", RIVERS_JS)]

    def __init__(self, info: TileSetInfo, *, name: str = "rivers") -> None:
        super().__init__()
        self._name = "RiverTiles"
        self.url = app_tile_url(name, info)
        west, south, east, north = info.bounds
        pad = 0.01  # a line's width beyond the extent of the reaches
        self.options = {
            "minZoom": info.minzoom + 1,
            "maxDataZoom": info.maxzoom,
            "bounds": [[south - pad, west - pad], [north + pad, east + pad]],
            "color": REACH_BASE_STYLE["color"],
            "widths": {level.value: px for level, px in REACH_WEIGHT_PX.items()},
            "attribution": html.escape(info.attribution or "河段"),
        }


def river_tiles_group(
    info: TileSetInfo, *, title: str = "河段", show: bool = True, key: str = "reaches"
) -> folium.FeatureGroup:
    """The reaches from tiles as one overlay of the layer control (tagged ``key`` for the bridge)."""
    fg = folium.FeatureGroup(name=title, overlay=True, control=True, show=show)
    RiverTiles(info).add_to(fg)
    LayerTag("overlay", key).add_to(fg)
    return fg
