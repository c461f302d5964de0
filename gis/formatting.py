"""Values for people and for JSON: areas as Chinese reports write them, plain scalars."""

from __future__ import annotations

import math
from typing import Any


def format_area(area_m2: float) -> str:
    """``123 m²`` below one hectare, ``1.25 公顷（12,500 m²）`` from one hectare on."""
    if area_m2 >= 10_000.0:
        return f"{area_m2 / 10_000.0:,.2f} 公顷（{area_m2:,.0f} m²）"
    if area_m2 >= 10.0:
        return f"{area_m2:,.0f} m²"
    return f"{area_m2:.3g} m²"


def plain(value: Any) -> Any:
    """A JSON-friendly scalar: numpy scalars become Python ones, NaN becomes None."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
