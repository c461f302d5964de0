"""Values for people and for JSON: areas as Chinese reports write them, local times, plain scalars."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from gis.model import LOCAL_TZ, GridLevel


def grid_label(name: str, level: str) -> str:
    """A grid as pick lists and tables name it: ``森工街道东兴村（村级网格）``."""
    return f"{name}（{GridLevel(level).label}）"


def person_label(name: str, title: str | None) -> str:
    """A person as pick lists name them: ``何兆花（村支书）``, or the bare name without a title."""
    return f"{name}（{title}）" if title else name


def format_area(area_m2: float) -> str:
    """``123 m²`` below one hectare, ``1.25 公顷（12,500 m²）`` from one hectare on."""
    if area_m2 >= 10_000.0:
        return f"{area_m2 / 10_000.0:,.2f} 公顷（{area_m2:,.0f} m²）"
    if area_m2 >= 10.0:
        return f"{area_m2:,.0f} m²"
    return f"{area_m2:.3g} m²"


def local_time(value: Any) -> str:
    """``YYYY-MM-DD HH:MM`` in Asia/Shanghai for a datetime or pandas timestamp; ``""`` when
    missing (None, NaT). Naive times are taken as UTC (the store keeps UTC).

    A plain :class:`datetime.datetime` (what the store returns) is converted without pandas, so
    the command line and the API need not load it to print a time.
    """
    if value is None:
        return ""
    if type(value) is datetime:
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return stamp.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    import pandas as pd  # noqa: PLC0415 — heavy (~0.2 s); only pandas/numpy values and text need it

    if not isinstance(value, str) and pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def plain(value: Any) -> Any:
    """A JSON-friendly scalar: numpy scalars become Python ones, NaN becomes None."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
