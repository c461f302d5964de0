"""The overview map (河湖一张图) assembled from :class:`gis.overview.MapData`."""

from __future__ import annotations

import folium

from gis.model import GridLevel
from gis.overview import MapData
from layers.basemap import finish_map, make_map
from layers.grids import grids_layer
from layers.incidents import incidents_layer
from layers.legend import Legend
from layers.objects import objects_layer
from layers.patrol import tracks_layer
from layers.rivers import reaches_layer


def fit_bounds(data: MapData) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the grids (or reaches) in decimal degrees, if any."""
    frame = data.grids if len(data.grids) else data.reaches
    if not len(frame):
        return None
    minx, miny, maxx, maxy = frame.total_bounds
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def overview_map(data: MapData, *, basemap: str, tianditu_key: str | None, fit: bool = True) -> folium.Map:
    """Reaches, grids by level, patrol tracks, incidents and objects on one map, offline-ready.

    Parameters
    ----------
    data
        The features to show (EPSG:4326).
    basemap, tianditu_key
        See :func:`layers.basemap.make_map`.
    fit
        Zoom to the township and village grids (else the default centre and zoom).
    """
    m = make_map(basemap=basemap, tianditu_key=tianditu_key)
    for level in GridLevel:
        subset = data.grids[data.grids["level"] == level.value]
        if len(subset):
            grids_layer(
                subset, level=level, show=level is not GridLevel.COUNTY, labels=level is GridLevel.VILLAGE
            ).add_to(m)
    if len(data.reaches):
        reaches_layer(data.reaches).add_to(m)
    if len(data.tracks):
        tracks_layer(data.tracks, show=False).add_to(m)
    if len(data.objects):
        objects_layer(data.objects).add_to(m)
    if len(data.incidents):
        incidents_layer(data.incidents).add_to(m)
    if fit:
        local = data.grids[data.grids["level"] != GridLevel.COUNTY.value]
        bounds = fit_bounds(MapData(data.reaches, local, data.tracks, data.incidents, data.objects))
        if bounds:
            m.fit_bounds(bounds)
    Legend().add_to(m)
    return finish_map(m)
