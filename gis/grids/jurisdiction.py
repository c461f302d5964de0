"""Geography sanity: is an imported or reported feature anywhere near this deployment?

A deployment serves one area: the polygon of its top-level grid (the live grids without a parent,
their union; in the demo 临江市). Tracks, grids, reaches, supervised objects and incidents farther
than ``RIVERGRID_MAX_DISTANCE_KM`` (default 50 km) from it are almost always a mistake (a GPX
recorded on holiday, a grid in the wrong CRS, swapped or projected numbers that still look like
degrees) and are refused with the distance and the feature's number, unless the caller confirms
(``allow_far=True``; the CLI's ``--allow-far``; the pages' “仍然导入” box). The check is skipped
while there is no top-level grid with a geometry, and by the grid import for a grid without
parent (a new top-level grid).

How distances are measured: the feature's distance is the distance from its nearest point to the
nearest point of the area (a river crossing the county is at 0 km). The two nearest points are
found in an azimuthal equidistant projection centred on the area (WGS84 ellipsoid; distances from
its centre are exact, and within a few hundred kilometres of it all distances are within 0.01 %),
with the area's edges first divided every 0.01° so that they follow the stored lon/lat lines; the
distance reported is then the geodesic distance between those two points on the WGS84 ellipsoid
(:class:`pyproj.Geod`). Far away (thousands of km) the pair found may differ from the true
nearest pair by up to the area's own size, which does not matter for a 50 km threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.config import settings
from gis.errors import TooFarError
from gis.geometry.crs import transformer
from gis.store.schema import Grid, not_deleted

__all__ = ["CLI_HINT", "Jurisdiction", "check_near", "top_level"]

_GEOD = pyproj.Geod(ellps="WGS84")
_SEGMENT_DEG = 0.01

CLI_HINT = "如确属本辖区请选择“仍然导入”（命令行加 --allow-far）"
"""The end of the refusal message: how to import anyway."""


@dataclass(frozen=True)
class Jurisdiction:
    """The area of the deployment: the union of its top-level grids (EPSG:4326, degrees)."""

    names: tuple[str, ...]
    area: BaseGeometry

    @property
    def label(self) -> str:
        """``“临江市”`` (or ``“甲”、“乙”`` for several top-level grids)."""
        return "、".join(f"“{n}”" for n in self.names)

    def distances_km(self, geoms: Sequence[BaseGeometry | None]) -> np.ndarray:
        """Geodesic distance (km) of each geometry to the area; 0 inside; NaN for none/empty.

        See the module docstring for the method.
        """
        geoms_a = np.asarray(list(geoms), dtype=object)
        out = np.full(len(geoms_a), np.nan)
        present = ~(shapely.is_missing(geoms_a) | shapely.is_empty(geoms_a)) if len(geoms_a) else np.zeros(0, bool)
        if not present.any():
            return out
        centre = self.area.centroid
        aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m")
        fwd, inv = transformer("EPSG:4326", aeqd), transformer(aeqd, "EPSG:4326")

        def project(g: np.ndarray) -> np.ndarray:
            out: np.ndarray = shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
            return out

        area_m = project(np.asarray([shapely.segmentize(self.area, _SEGMENT_DEG)], dtype=object))[0]
        idx = np.flatnonzero(present)
        projected = project(geoms_a[idx])
        for i, g in zip(idx, projected, strict=True):
            ends = np.empty((0, 2))
            if g.geom_type == "MultiPoint" and shapely.get_num_geometries(g) > 1000:
                parts = shapely.get_parts(g)  # a long track: its nearest point by a tree, not all of them
                parts = parts[np.isfinite(shapely.get_coordinates(parts)).all(axis=1)]
                g = parts[shapely.STRtree(parts).query_nearest(area_m)[0]] if len(parts) else g
            if np.isfinite(shapely.get_coordinates(g)).all():
                ends = shapely.get_coordinates(shapely.shortest_line(g, area_m))
            if len(ends) == 2 and np.isfinite(ends).all():
                lon, lat = inv.transform(ends[:, 0], ends[:, 1])
                out[i] = _GEOD.inv(lon[0], lat[0], lon[1], lat[1])[2] / 1000.0
            else:  # beyond the projection (near the antipode): far in any case, measured from the centre
                x, y = shapely.get_coordinates(geoms_a[i])[0]
                out[i] = _GEOD.inv(centre.x, centre.y, x, y)[2] / 1000.0
        return out


def top_level(session: Session) -> Jurisdiction | None:
    """The live top-level grids (no parent) that have a geometry, or ``None`` when there are none."""

    grids = session.scalars(
        select(Grid).where(Grid.parent_id.is_(None), not_deleted(Grid), Grid.geom.is_not(None)).order_by(Grid.id)
    ).all()
    geoms = [g.geom for g in grids if g.geom is not None and not g.geom.is_empty]
    if not geoms:
        return None
    area = shapely.union_all(shapely.make_valid(np.asarray(geoms, dtype=object)))
    return Jurisdiction(names=tuple(g.name for g in grids if g.geom is not None and not g.geom.is_empty), area=area)


def _km(d: float) -> str:
    return f"{d:,.0f}" if d >= 100 else f"{d:.1f}"


def check_near(
    session: Session,
    geoms: Sequence[BaseGeometry | None],
    *,
    labels: Sequence[str] | None = None,
    allow_far: bool = False,
    hint: str = CLI_HINT,
    jurisdiction: Jurisdiction | None = None,
) -> None:
    """Refuse features farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid.

    Parameters
    ----------
    session : Session
        Where the top-level grids are read (unless ``jurisdiction`` is given).
    geoms : sequence of shapely geometries
        WGS84 longitude/latitude (EPSG:4326). ``None``/empty ones are ignored.
    labels : sequence of str, optional
        How each feature is named in the message; default ``第 k 个要素``.
    allow_far : bool
        The user confirmed that the features belong here: no check.
    hint : str
        How to import anyway, appended to the message.

    Raises
    ------
    TooFarError
        “第 1 个要素距本系统最上级网格“临江市”约 10,512 km，超过 50 km 的上限；如确属本辖区请选择
        “仍然导入”（命令行加 --allow-far）”.
    """
    if allow_far or not len(geoms):
        return
    where = jurisdiction if jurisdiction is not None else top_level(session)
    if where is None:
        return
    limit = settings().max_distance_km
    d = where.distances_km(geoms)
    far = np.flatnonzero(d > limit)
    if not len(far):
        return
    i = int(far[0])
    label = labels[i] if labels is not None else f"第 {i + 1} 个要素"
    more = f"（共 {len(far)} 个要素超出）" if len(far) > 1 else ""
    raise TooFarError(
        f"{label}距本系统最上级网格{where.label}约 {_km(float(d[i]))} km，超过 {limit:g} km 的上限{more}；{hint}",
        f"feature {i + 1} lies {d[i]:.1f} km from the top-level grid(s) {list(where.names)}, more than "
        f"RIVERGRID_MAX_DISTANCE_KM={limit:g} ({len(far)} feature(s))",
    )
