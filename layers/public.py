"""The public page's map (责任公示): one grid's area and the reaches it supervises.

Built only from :class:`gis.disclosure.public.PublicGrid` (public fields); names reach the browser
through the escaping layer builders of :mod:`layers.grids` and :mod:`layers.rivers`.
"""

from __future__ import annotations

import folium
import geopandas as gpd

from gis.disclosure.public import PublicGrid
from gis.model import STORE_CRS, GridRole
from layers.basemap import finish_map, make_map, view_for_bounds
from layers.grids import GRID_COLUMNS, grids_layer
from layers.rivers import REACH_COLUMNS, reaches_layer

SELECTED_REACH_STYLE = {"color": "#0d47a1", "weight": 8}
"""The reach picked by a signboard's QR code (``?reach=ID``), drawn over the others."""


def _grid_frame(grid: PublicGrid) -> gpd.GeoDataFrame:
    names = {post: "、".join(p.name for p in grid.people(post)) for post in GridRole}
    row = {
        "id": grid.id,
        "name": grid.name,
        "level": grid.level,
        "parent_name": grid.parent_name,
        "responsible_body": grid.responsible_body,
        "main_responsible": names[GridRole.MAIN_RESPONSIBLE],
        "township_supervisor": names[GridRole.TOWNSHIP_SUPERVISOR],
        "illustrative": grid.illustrative,
    }
    return gpd.GeoDataFrame([row], columns=list(GRID_COLUMNS), geometry=[grid.geometry], crs=STORE_CRS)


def _reach_frame(grid: PublicGrid, ids: set[int] | None = None) -> gpd.GeoDataFrame:
    reaches = [r for r in grid.reaches if r.geometry is not None and (ids is None or r.id in ids)]
    rows = [{"id": r.id, "name": r.name, "river_name": r.river, "code": "", "level": ""} for r in reaches]
    return gpd.GeoDataFrame(rows, columns=list(REACH_COLUMNS), geometry=[r.geometry for r in reaches], crs=STORE_CRS)


def disclosure_map(
    grid: PublicGrid,
    *,
    basemap: str,
    tianditu_key: str | None,
    reach_id: int | None = None,
    width_px: int = 800,
    height_px: int = 520,
) -> folium.Map:
    """A map of ``grid`` (its area, dashed when illustrative) and its supervised reaches.

    Parameters
    ----------
    grid
        The grid as published.
    basemap, tianditu_key
        As in :func:`layers.basemap.make_map`.
    reach_id
        A reach to emphasise (and to frame) when it is one of the grid's.
    width_px, height_px
        Expected size on screen, for the initial zoom.
    """
    focus = next((r for r in grid.reaches if r.id == reach_id and r.geometry is not None), None)
    shape = focus.geometry if focus is not None else grid.geometry
    if shape is None and grid.reaches:
        shape = gpd.GeoSeries([r.geometry for r in grid.reaches if r.geometry is not None], crs=STORE_CRS).union_all()
    if shape is not None and not shape.is_empty:
        center, zoom = view_for_bounds(shape.bounds, width_px=width_px, height_px=height_px)
        m = make_map(center=center, zoom=zoom, basemap=basemap, tianditu_key=tianditu_key)
    else:
        m = make_map(basemap=basemap, tianditu_key=tianditu_key)
    if grid.geometry is not None:
        grids_layer(_grid_frame(grid), name=grid.level_label, labels=True).add_to(m)
    if grid.reaches:
        reaches_layer(_reach_frame(grid), name="监管河段").add_to(m)
    if focus is not None:
        reaches_layer(
            _reach_frame(grid, {focus.id}), name="所选河段", style=lambda feature: SELECTED_REACH_STYLE
        ).add_to(m)
    return finish_map(m, collapsed=True)
