"""How the readers' messages name features: ``第 k 个要素（名称）``."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

_NAME_COLUMNS = ("name", "名称")
MAX_LISTED = 10
"""Features named one by one in a message; more are counted."""


def find_column(columns: pd.Index, candidates: tuple[str, ...]) -> str | None:
    """The first column whose name, stripped and lower-cased, is one of ``candidates``."""
    normalised = {str(c).strip().lower(): str(c) for c in columns}
    for candidate in candidates:
        if candidate in normalised:
            return normalised[candidate]
    return None


def feature_labels(frame: pd.DataFrame) -> list[str]:
    """``第 k 个要素（名称）`` for every row (the name from a ``name``/``名称`` column when set), as
    the readers' messages name features."""
    return [feature_label(frame, i) for i in range(len(frame))]


def feature_label(gdf: gpd.GeoDataFrame, position: int) -> str:
    """``第 k 个要素（名称）`` of the row at ``position`` (0-based)."""
    label = f"第 {position + 1} 个要素"
    name_col = find_column(gdf.columns, _NAME_COLUMNS)
    if name_col is not None:
        value = gdf[name_col].iloc[position]
        if pd.notna(value) and str(value).strip():
            label += f"（{str(value).strip()}）"
    return label


def listed(labels: list[str]) -> str:
    """The first :data:`MAX_LISTED` labels joined, with the total when there are more."""
    shown = "、".join(labels[:MAX_LISTED])
    return shown if len(labels) <= MAX_LISTED else f"{shown} 等共 {len(labels)} 个"
