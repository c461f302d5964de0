"""Linear referencing: river stationing (桩号) in metres from a reach's start, and the stretch of a
reach between two such distances."""

from __future__ import annotations

import math

import numpy as np
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring as _substring


def format_station(m: float) -> str:
    """Stationing of ``m`` metres as 桩号: ``3120.4`` → ``K3+120``, ``85`` → ``K0+085``.

    Metres are rounded to the nearest whole metre (half up), and the kilometre carries over
    (``999.6`` → ``K1+000``).
    """
    if m < 0 or not math.isfinite(m):
        raise ValueError(f"stationing must be a finite distance >= 0, got {m}")
    whole = int(math.floor(m + 0.5))
    return f"K{whole // 1000}+{whole % 1000:03d}"


def format_range(from_m: float, to_m: float) -> str:
    """``K3+120–K3+560`` for the stretch from ``from_m`` to ``to_m`` metres."""
    return f"{format_station(from_m)}–{format_station(to_m)}"


def format_ranges(from_m: np.ndarray, to_m: np.ndarray) -> list[str]:
    """:func:`format_range` for arrays of distances in metres (same rounding), fast."""
    a = np.floor(np.asarray(from_m, dtype=float) + 0.5).astype(np.int64).tolist()
    b = np.floor(np.asarray(to_m, dtype=float) + 0.5).astype(np.int64).tolist()
    return [f"K{x // 1000}+{x % 1000:03d}–K{y // 1000}+{y % 1000:03d}" for x, y in zip(a, b)]


def substring(line: BaseGeometry, start_m: float, end_m: float) -> LineString | MultiLineString:
    """The part of a LineString or MultiLineString from ``start_m`` to ``end_m`` along it.

    Distances are in the line's units (metres in a metric CRS) from its first vertex; the parts
    of a MultiLineString follow each other in order, without the gaps between them (as
    :func:`shapely.line_locate_point` and the 桩号 of a reach measure). Distances are clipped to
    the line.

    Returns
    -------
    LineString or MultiLineString
        One LineString when the stretch lies in one part, else a MultiLineString of the pieces
        of each part in order; an empty LineString when ``end_m <= start_m`` or the stretch
        misses the line.

    Examples
    --------
    >>> from shapely import from_wkt
    >>> substring(from_wkt("MULTILINESTRING ((0 0, 10 0), (20 0, 20 10))"), 5, 15).wkt
    'MULTILINESTRING ((5 0, 10 0), (20 0, 20 5))'
    """
    parts = list(line.geoms) if isinstance(line, MultiLineString) else [line]
    pieces: list[LineString] = []
    pos = 0.0
    for part in parts:
        n = part.length
        lo, hi = max(start_m - pos, 0.0), min(end_m - pos, n)
        if hi > lo:
            piece = _substring(part, lo, hi)
            if isinstance(piece, LineString) and not piece.is_empty:
                pieces.append(piece)
        pos += n
    if not pieces:
        return LineString()
    return pieces[0] if len(pieces) == 1 else MultiLineString(pieces)
