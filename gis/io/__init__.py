"""Reading and writing GIS files (Shapefile, GeoPackage, KML, GPX, CSV) and importing them."""
