"""What the public may see of an incident (事件公开字段), for every channel that shows cases to
callers without a staff account (the Open311 requests list, the OGC ``incidents`` collection).

* **Never public**: the reporter's name and contact (:data:`PRIVATE_FIELDS`), photos, notes of
  the workflow events (they name people), and cases of the categories in
  :data:`HIDDEN_CATEGORIES` (信访案件: petitions concern people, not places).
* **Masked**: the free text (title, description) is published, as Open311 expects, but numbers
  that look like a phone (11-digit mobile, landline with area code) or a resident ID number are
  masked (:func:`public_text`): residents type their own or a neighbour's number into a report.
  Names cannot be told apart from other words and are not masked; staff should keep them out of
  descriptions.
* **Coarsened**: the location of a case of :data:`COARSENED_CATEGORIES` (污染纠纷: a dispute
  between neighbours would point at a house) is moved to the centre of its
  :data:`COARSEN_CELL_M`-metre cell (:func:`coarsen_point`), in the metric CRS of the place.

Staff accounts see every field of the cases in their data scope through the same channels.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import pyproj

from gis.geometry.crs import metric_crs_for, transformer
from gis.model import Category

__all__ = [
    "COARSENED_CATEGORIES",
    "COARSEN_CELL_M",
    "HIDDEN_CATEGORIES",
    "PRIVATE_FIELDS",
    "coarsen_point",
    "is_listed",
    "public_point",
    "public_text",
]

PRIVATE_FIELDS = frozenset({"reporter", "reporter_contact", "photos", "attachments", "events", "notes"})
"""Fields of an incident never given to an anonymous caller (checked by the API tests)."""

HIDDEN_CATEGORIES = frozenset({Category.PETITION.value})
"""Categories whose cases are never listed publicly."""

COARSENED_CATEGORIES = frozenset({Category.POLLUTION_DISPUTE.value})
"""Categories whose public location is coarsened to :data:`COARSEN_CELL_M`."""

COARSEN_CELL_M = 100.0
"""Side of the cell a coarsened location is moved to the centre of, metres."""


@lru_cache(maxsize=64)
def _transformers(epsg: int) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    crs = pyproj.CRS.from_epsg(epsg)
    return (
        transformer("EPSG:4326", crs),
        transformer(crs, "EPSG:4326"),
    )


def coarsen_point(lon: float, lat: float, cell_m: float = COARSEN_CELL_M) -> tuple[float, float]:
    """The centre of the ``cell_m`` × ``cell_m`` cell (in the place's metric CRS, CGCS2000
    Gauss-Krüger) holding the point: every point of one cell gives the same answer, at most
    ``cell_m / √2`` from the true point."""
    epsg = metric_crs_for((lon, lat, lon, lat)).to_epsg()
    if epsg is None:  # pragma: no cover - metric_crs_for always names an EPSG code
        raise ValueError("no EPSG code for the metric CRS")
    forward, back = _transformers(epsg)
    x, y = forward.transform(lon, lat)
    cx = (math.floor(x / cell_m) + 0.5) * cell_m
    cy = (math.floor(y / cell_m) + 0.5) * cell_m
    out_lon, out_lat = back.transform(cx, cy)
    return float(out_lon), float(out_lat)


def is_listed(category: str) -> bool:
    """Whether cases of ``category`` are listed to the public at all."""
    return category not in HIDDEN_CATEGORIES


def public_point(category: str, lon: float, lat: float) -> tuple[float, float]:
    """Where the public sees a case of ``category`` at ``lon``/``lat``."""
    return coarsen_point(lon, lat) if category in COARSENED_CATEGORIES else (lon, lat)


_NUMBERS = re.compile(
    r"(?<![0-9])("
    r"[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"  # ID number
    r"|1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}"  # mobile
    r"|0[1-9][0-9]{1,2}[ -]?[0-9]{7,8}"  # landline with area code
    r")(?![0-9])"
)


def public_text(text: str | None) -> str:
    """``text`` with phone and ID numbers masked (``139****1111``: the first three and last four
    digits kept), for publication."""

    def mask(match: re.Match[str]) -> str:
        digits = match.group(0)
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]

    return _NUMBERS.sub(mask, text or "")
