"""Blind spots (盲区) as features: the stretches of river no grid covers, with 桩号.

They come from the current 盲区检查 of the store, as the overview map draws them: the coverage
of :func:`gis.checks.report.check_layers` on :func:`gis.checks.report.store_layers` at village
level (the reaches inside the township grids; stretches shorter than the check's minimum gap,
``RIVERGRID_MIN_GAP_M``, are 微小缝隙 and not reported). Ids number the stretches 1, 2, … by
reach and stationing: they hold for one state of the data, and change when reaches or grids are
edited.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gis.checks.report import check_layers, store_layers
from gis.features.base import ALL, PUBLIC, Feature, FeaturePage, FeatureQuery, page_in_python, require_access, viewer_of
from gis.formatting import plain
from gis.geometry.linref import format_station
from gis.model import GridLevel

__all__ = ["BLIND_SPOTS_ACCESS", "query_blind_spots"]

BLIND_SPOTS_ACCESS = PUBLIC


def query_blind_spots(
    session: Session, query: FeatureQuery = ALL, *, operator: bool = False, level: str = GridLevel.VILLAGE.value
) -> FeaturePage:
    """Uncovered stretches of the check at ``level``: reach, river, 桩号 from and to (the
    reach's start stationing included), length in metres and the nearest grid. No time.

    Raises
    ------
    ValidationError
        Nothing to check: no reaches, or no drawn grid of ``level``.
    """
    require_access(session, viewer_of(session, operator=operator), BLIND_SPOTS_ACCESS, "覆盖盲区")
    reaches, grids = store_layers(session)
    if reaches.empty:
        return FeaturePage([], 0, query.offset, query.limit)
    report = check_layers(reaches, grids, level=level)
    stretches = report.coverage.intervals_wgs84()
    gaps = stretches[(stretches["status"] == "uncovered") & ~stretches["sliver"]].sort_values(["reach_id", "from_m"])
    start = dict(zip(reaches["id"], reaches["start_station_m"], strict=True))
    features = []
    for n, gap in enumerate(gaps.itertuples(), start=1):
        reach_id = plain(gap.reach_id)
        offset = float(start.get(reach_id, 0.0) or 0.0)
        nearest = plain(gap.nearest_grid_id)
        features.append(
            Feature(
                n,
                gap.geometry,
                {
                    "reach_id": reach_id,
                    "reach_name": report.reach_names.get(reach_id, ""),
                    "river_name": report.river_of_reach.get(reach_id, ""),
                    "station": gap.station,
                    "station_from": format_station(gap.from_m + offset),
                    "station_to": format_station(gap.to_m + offset),
                    "station_from_m": round(float(gap.from_m + offset), 1),
                    "station_to_m": round(float(gap.to_m + offset), 1),
                    "length_m": round(float(gap.length_m), 1),
                    "nearest_grid_id": nearest,
                    "nearest_grid_name": report.grid_names.get(nearest, "") if nearest is not None else "",
                    "level": report.level,
                    "level_label": GridLevel(report.level).label,
                },
            )
        )
    return page_in_python(features, query)
