"""Reading and writing GIS files (Shapefile, GeoPackage, KML, GPX, CSV): pure, no store (importing them into the store is :mod:`gis.importing`)."""
