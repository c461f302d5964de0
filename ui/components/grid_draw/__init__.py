"""``grid_draw``: a Leaflet map that draws, edits and splits grid boundaries and returns GeoJSON.

streamlit-folium returns what Leaflet.Draw *creates*, but not edits of shapes loaded onto the
map (streamlit-folium issues #307, #129). This small custom component (plain HTML/JS in
``frontend/``, no build step) draws the grids itself, makes one of them (or a new drawing)
editable with Leaflet.Draw and posts the edited geometry back after every change.

Offline: the frontend loads Leaflet and Leaflet.Draw from the app's ``static/vendor`` (served at
``/app/static/vendor``, see :mod:`layers.assets`) by a relative URL; nothing comes from a CDN.
User text reaches the map only as ``tooltip_html`` built with :func:`layers._common.tooltip_html`
(escaped); the frontend inserts button labels and hints as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

FRONTEND = Path(__file__).resolve().parent / "frontend"

MODES = ("view", "draw", "edit", "split")
"""``view``: look only; ``draw``: a new polygon; ``edit``: move the vertices of ``target_id``
(or of ``draft``); ``split``: draw a line across ``target_id``."""

_component = components.declare_component("grid_draw", path=str(FRONTEND))


@dataclass(frozen=True)
class Drawing:
    """What the user drew: ``geometry`` (GeoJSON mapping, EPSG:4326, or ``None`` when the user
    started over), in ``mode`` for ``target_id``; ``seq`` grows with every change and ``token``
    is the one the map was rendered with."""

    mode: str
    target_id: int | None
    geometry: dict | None
    seq: int
    token: str


def grid_draw(
    grids: dict,
    *,
    mode: str = "view",
    target_id: int | None = None,
    draft: dict | None = None,
    overlays: list[dict] | None = None,
    bounds: list[list[float]] | None = None,
    view_key: str = "",
    token: str = "",
    height: int = 560,
    key: str | None = None,
) -> Drawing | None:
    """Show the editing map and return the latest drawing (``None`` before the first change).

    Parameters
    ----------
    grids
        GeoJSON FeatureCollection (EPSG:4326); feature properties ``id``, ``style`` (Leaflet
        path options) and ``tooltip_html`` (escaped HTML), see :func:`layers.editing.grids_collection`.
    mode
        One of :data:`MODES`.
    target_id
        The grid to edit or split.
    draft
        A GeoJSON geometry to show as the current drawing (e.g. kept after a refused save).
    overlays
        ``[{"name": str, "data": FeatureCollection, "style": dict}]`` drawn above the grids:
        the fit preview, the remaining gaps, an old version.
    bounds
        ``[[south, west], [north, east]]`` in degrees; fitted when ``view_key`` changes.
    token
        Change it to restart the drawing (after a save); a returned :class:`Drawing` carries
        the token it was drawn under, so stale drawings can be told apart.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    value: Any = _component(
        grids=grids,
        mode=mode,
        target_id=target_id,
        draft=draft,
        overlays=overlays or [],
        bounds=bounds,
        view_key=view_key,
        token=token,
        height=height,
        key=key,
        default=None,
    )
    if not isinstance(value, dict):
        return None
    return Drawing(
        mode=str(value.get("mode") or ""),
        target_id=value.get("target_id"),
        geometry=value.get("geometry"),
        seq=int(value.get("seq") or 0),
        token=str(value.get("token") or ""),
    )


__all__ = ["MODES", "Drawing", "grid_draw"]
