"""The data's own viewport tiles (issue 19, "Map at any size"): the river reaches cut into Mapbox
vector tiles by zoom and viewport, served at ``/api/tiles/rivers/{z}/{x}/{y}.mvt`` like the 简图.

* :mod:`gis.maptiles.core`: pure tile maths, generalisation and encoding (shapely + mapbox-vector-tile);
* :mod:`gis.maptiles.index`: the embedded store's tile cache (an R-tree of the reaches and the
  encoded tiles in a SQLite file beside the store, kept in step with the reaches' versions);
* :mod:`gis.maptiles.service`: the ``rivers`` tile source (PostGIS ``ST_AsMVT`` in server mode, the
  cache above on SQLite), the reach count and length, and the point query behind a map click.
"""
