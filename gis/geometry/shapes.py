"""Repairing grid boundaries: the one way an invalid polygon becomes the area it encloses.

Every place that repairs a boundary uses :func:`repair` (any geometry, the file readers keep
each family from it) or :func:`polygonal_part` (the area only): the grid editor before it fits a
drawing, the file readers, the coverage check and the topology check. So the editor and the
checks always see one repaired boundary; before, the editor used the *structure* method and the
checks the *linework* default, and a boundary drawn over itself was a different area in each.

Why ``method="structure", keep_collapsed=False``
------------------------------------------------
``shapely.make_valid`` has two methods (GEOS ``MakeValid``):

* ``linework`` (shapely's default) nodes all rings together and keeps the faces enclosed an odd
  number of times. A ring drawn twice around an area (a boundary that loops over itself) turns
  that area into a hole, and a hole ring lying outside its shell becomes land of its own.
* ``structure`` repairs each ring on its own into the area it encloses, unions the shells and
  subtracts the holes (OGC shell/hole semantics).

A grid is "the area this boundary encloses" (定区域): land surrounded by the line someone drew
stays land however often the line goes round it, and a hole is taken out only where it lies in
the shell. That is ``structure``. A plain bow-tie (two triangles meeting at the crossing) comes
out the same with either method; a ring wound twice around a square does not (see
``tests/test_shapes.py``). ``keep_collapsed=False`` drops parts that collapse to lines or points
(a spike, a zero-width sliver): a grid is an area, and a collapsed part has none.
"""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = ["REPAIR_METHOD", "polygonal_part", "repair"]

REPAIR_METHOD = "structure"
"""The ``shapely.make_valid`` method used everywhere (see the module docstring)."""


def repair(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` made valid with the one method (:data:`REPAIR_METHOD`, collapsed parts dropped).

    Any geometry type; the result may be a collection of several types (callers keep what they
    need, e.g. :func:`polygonal_part`). A valid geometry comes back unchanged.
    """
    if shapely.is_valid(geom):
        return geom
    return shapely.make_valid(geom, method=REPAIR_METHOD, keep_collapsed=False)


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of ``geom``, collections flattened, in order."""
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for part in shapely.get_parts(geom) for p in _polygons(part)]
    return []


def polygonal_part(geom: BaseGeometry | None) -> Polygon | MultiPolygon:
    """The area ``geom`` encloses: the polygons of :func:`repair` (``geom``) unioned into one
    valid Polygon or MultiPolygon; an empty Polygon when there is none (a line, a point, a
    boundary with no area, ``None``). A valid (Multi)Polygon comes back unchanged.

    Examples
    --------
    >>> polygonal_part(shapely.from_wkt("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))")).area  # bow-tie
    2.0
    """
    if geom is None or geom.is_empty:
        return Polygon()
    if isinstance(geom, (Polygon, MultiPolygon)) and shapely.is_valid(geom):
        return geom
    polys = _polygons(repair(geom))
    if not polys:
        return Polygon()
    merged = shapely.union_all(polys)
    parts = _polygons(merged)
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)
