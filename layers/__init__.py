"""Folium layers for the RiverGrid maps (no Streamlit here: pages call ``st_folium``).

``make_map`` → add layers → ``finish_map`` (layer control + local assets for offline use).
"""

from layers import safety as _safety  # noqa: F401  (first: renders user text literally, see safety.py)
from layers.assets import OfflineAssetError, localize
from layers.basemap import finish_map, make_map
from layers.grids import grids_layer
from layers.incidents import incidents_layer
from layers.objects import objects_layer
from layers.patrol import tracks_layer
from layers.rivers import reaches_layer

__all__ = [
    "OfflineAssetError",
    "finish_map",
    "grids_layer",
    "incidents_layer",
    "localize",
    "make_map",
    "objects_layer",
    "reaches_layer",
    "tracks_layer",
]
