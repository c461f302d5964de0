"""Basemaps that need no internet: tile files served by the app, and the bundled 简图.

* :mod:`gis.basemap.archives`: PMTiles and MBTiles files (raster or vector) read tile by tile.
* :mod:`gis.basemap.sources`: the named tile sets the HTTP route serves (``simple``, ``local``,
  and later the data's own viewport tiles) and the catalog of basemaps a map may offer.
* :mod:`gis.basemap.simple` (pure core): the 简图's features from grids, rivers and objects, with
  a graticule.
* :mod:`gis.basemap.build` (service): reads the store, writes the 简图 as vector tiles with GDAL,
  rebuilds it when the data changed (``gis basemap build``; the app's start).
"""
