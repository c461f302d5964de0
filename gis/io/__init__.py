"""Reading and writing GIS files (GeoJSON, Shapefile, GeoPackage, KML/KMZ, GPX, CSV): pure, no store
(importing them into the store is :mod:`gis.importing`).

The API, re-exported here: :func:`inspect`, :func:`read_layer`, :func:`read_gpx_tracks` and
:func:`read_csv_rows` (:mod:`gis.io.files`), :func:`write_layer` (:mod:`gis.io.writers`) and
:func:`feature_labels` (:mod:`gis.io.labels`). The other modules are the readers' parts:
:mod:`~gis.io.sources` (opening files, archives, layers, CRS rules), :mod:`~gis.io.shapefiles`,
:mod:`~gis.io.gpx`, :mod:`~gis.io.repair` (geometries as read).
"""

from gis.io.files import GpxTrack, LayerInfo, ReadResult, inspect, read_csv_rows, read_gpx_tracks, read_layer
from gis.io.labels import feature_labels
from gis.io.writers import WRITE_FORMATS, write_layer

__all__ = [
    "WRITE_FORMATS",
    "GpxTrack",
    "LayerInfo",
    "ReadResult",
    "feature_labels",
    "inspect",
    "read_csv_rows",
    "read_gpx_tracks",
    "read_layer",
    "write_layer",
]
