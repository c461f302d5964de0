"""A finding of a check (topology, vertical completeness, coverage): one row of the 盲区检查 report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Finding:
    """One problem found by a check.

    Attributes
    ----------
    rule
        Stable English code of the rule (``gap_in_parent``, ``no_main_responsible``, …).
    object_id
        Id of the grid, reach, person or assignment concerned (the store id, or the file's id).
    message
        One Chinese sentence for users, naming the object(s) and the size.
    severity
        ``error`` (breaks 横向到边/纵向到底) or ``warning`` (worth a look).
    geometry
        Where it is, in EPSG:4326 lon/lat (``None`` for non-spatial findings).
    area_m2, length_m
        Size of the problem measured in a projected CRS (``None`` when not applicable).
    related_ids
        Other objects involved (e.g. the sibling of an overlap).
    level
        Grid level concerned (``county``/``township``/``village``), if any.
    """

    rule: str
    object_id: Any
    message: str
    severity: str = "error"
    geometry: BaseGeometry | None = None
    area_m2: float | None = None
    length_m: float | None = None
    related_ids: tuple[Any, ...] = field(default_factory=tuple)
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; geometry as WKT."""
        return {
            "rule": self.rule,
            "object_id": self.object_id,
            "message": self.message,
            "severity": self.severity,
            "area_m2": self.area_m2,
            "length_m": self.length_m,
            "related_ids": list(self.related_ids),
            "level": self.level,
            "geometry": None if self.geometry is None else shapely.to_wkt(self.geometry, rounding_precision=7),
        }
