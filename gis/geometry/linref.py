"""Linear referencing helpers: river stationing (桩号) in metres from a reach's start."""

from __future__ import annotations

import math

import numpy as np


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
