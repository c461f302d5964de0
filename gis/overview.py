"""The overview map's data (河湖一张图) and its key figures, for every page, layer and the CLI.

:func:`load_map_data` reads the live features of the store into GeoDataFrames (EPSG:4326);
:func:`overview_kpis` computes the figures the leaders' overview shows from them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import Scope
from gis.features.base import FeaturePage
from gis.features.geodata import query_grids, query_objects, query_reaches
from gis.features.incidents import query_incidents
from gis.features.tracks import query_tracks
from gis.geometry.crs import metric_crs_for
from gis.incidents.deadlines import is_overdue
from gis.model import LOCAL_TZ, STORE_CRS, GridLevel, IncidentStatus


@dataclass(frozen=True)
class MapData:
    """Everything the overview map shows, each a GeoDataFrame in EPSG:4326."""

    reaches: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    tracks: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    objects: gpd.GeoDataFrame


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=STORE_CRS)
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns + ["geometry"]), geometry="geometry", crs=STORE_CRS)


def _py_time(value: Any) -> datetime | None:
    """A frame cell as ``datetime`` (``None`` for missing)."""
    if value is None or pd.isna(value):
        return None
    moment: datetime = pd.Timestamp(value).to_pydatetime()
    return moment


def _rows(page: FeaturePage, columns: list[str]) -> list[dict[str, Any]]:
    """The features of ``page`` as frame rows: ``id``, the properties ``columns``, ``geometry``."""
    return [
        {"id": f.id, **{c: f.properties[c] for c in columns if c != "id"}, "geometry": f.geometry}
        for f in page.features
    ]


REACH_COLUMNS = ["id", "name", "river_name", "code", "level"]
GRID_COLUMNS = [
    "id",
    "name",
    "level",
    "parent_name",
    "responsible_body",
    "main_responsible",
    "township_supervisor",
    "illustrative",
]
TRACK_COLUMNS = ["id", "person_name", "grid_name", "grid_id", "started_at", "ended_at"]
INCIDENT_COLUMNS = [
    "id",
    "code",
    "title",
    "category",
    "severity",
    "status",
    "reported_at",
    "accept_due_at",
    "close_due_at",
    "grid_name",
    "grid_id",
    "description",
]
OBJECT_COLUMNS = ["id", "name", "category", "grid_name"]


def load_map_data(session: Session, *, with_reaches: bool = True) -> MapData:
    """All live features for the overview map, as the trusted reader (every case and track:
    pages limit them to the account's scope with :func:`limit_map_data`).

    ``with_reaches=False`` leaves the reaches out (an empty frame): a map that draws them from vector
    tiles (:mod:`gis.maptiles`) does not read them all.

    The rows are those of the collections' query functions (:mod:`gis.features`), which the OGC
    API serves too: reaches, grids (their published posts), tracks, incidents (an account's
    full fields) and supervised objects.
    """
    reaches = _rows(query_reaches(session, operator=True), REACH_COLUMNS) if with_reaches else []
    for row in reaches:
        row["code"] = row["code"] or ""
    grid_rows = [
        r
        for r in sorted(
            _rows(query_grids(session, operator=True), GRID_COLUMNS),
            key=lambda r: (GridLevel(r["level"]).rank, r["id"]),
        )
        if r["geometry"] is not None
    ]
    track_page = query_tracks(session, operator=True)
    tracks = _rows(track_page, TRACK_COLUMNS)
    incident_page = query_incidents(session, operator=True)
    incidents = sorted(_rows(incident_page, INCIDENT_COLUMNS), key=lambda r: r["reported_at"])
    objects = _rows(query_objects(session, operator=True), OBJECT_COLUMNS)
    tracks_gdf = _frame(tracks, TRACK_COLUMNS)
    tracks_gdf["length_m"] = pd.Series(track_page.column("length_m"), index=tracks_gdf.index, dtype=float)
    return MapData(
        reaches=_frame(reaches, REACH_COLUMNS),
        grids=_frame(grid_rows, GRID_COLUMNS),
        tracks=tracks_gdf,
        incidents=_frame(incidents, INCIDENT_COLUMNS),
        objects=_frame(objects, OBJECT_COLUMNS),
    )


TREND_MONTHS = 6
"""How many months the KPI cards' small charts show (the period and the five before it)."""


def local_months(times: Any) -> pd.Series:
    """Calendar months (``YYYY-MM``, Asia/Shanghai) of aware or UTC-naive times (``NaN`` for missing)."""
    stamps = pd.to_datetime(pd.Series(list(times), dtype=object), utc=True)
    return stamps.dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m")


def month_shift(month: str, months: int) -> str:
    """The calendar month ``months`` months after ``month`` (``YYYY-MM``; negative: before)."""
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + (mon - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def latest_month_with_data(*times: Any, now: datetime | None = None) -> str | None:
    """The latest calendar month (Beijing time) up to ``now``'s that holds any of ``times`` (one or
    more sequences of moments), or None when none of them falls in or before ``now``'s month.

    Pages open their monthly figures on it, so that a month without any record yet (the first days
    of a month, a demo of last month) does not read as "nothing is happening".
    """
    current = (now or clock.now()).astimezone(LOCAL_TZ).strftime("%Y-%m")
    months = [m for series in times for m in local_months(series).dropna() if m <= current]
    return max(months) if months else None


def overview_kpis(
    data: MapData,
    *,
    now: datetime | None = None,
    month: str | None = None,
    reach_totals: tuple[int, float] | None = None,
) -> dict[str, Any]:
    """Key figures for the overview page, computed from the map data.

    Parameters
    ----------
    data
        The map data (a viewer's share of it: :func:`limit_map_data`).
    now
        The moment judged (default :func:`gis.clock.now`).
    month
        ``YYYY-MM`` of the monthly figures; default the latest month up to ``now``'s with a patrol
        track or a reported incident (:func:`latest_month_with_data`), else ``now``'s month.
    reach_totals
        ``(count, metres)`` of the reaches when ``data`` holds none of them (a map drawn from
        tiles: :func:`gis.maptiles.service.reach_totals`).

    Returns
    -------
    dict
        ``reaches``, ``reach_km`` (length of all reaches in km, measured in a projected CRS),
        ``grids``, ``village_grids``, ``incidents_open``, ``incidents_overdue`` (past the deadline
        running in their state at ``now``: accepting while 上报, closing while being handled; the
        rule of :func:`gis.incidents.deadlines.is_overdue`, as on the page 事件处置), ``patrols_month``
        (tracks started in ``now``'s calendar month, Asia/Shanghai time).

        Monthly figures with their trend: ``month`` (the month used), ``current_month`` (``now``'s),
        ``previous_month``; ``patrols`` / ``patrols_prev`` (tracks started in the month / the month
        before), ``patrol_km`` / ``patrol_km_prev`` (their length in km), ``reported`` /
        ``reported_prev`` (incidents reported); ``trend_months`` (the :data:`TREND_MONTHS` months
        ending with ``month``) with ``patrols_trend`` and ``reported_trend``, counts per month.
    """
    now = now or clock.now()
    current = now.astimezone(LOCAL_TZ).strftime("%Y-%m")
    reach_km = 0.0
    if reach_totals is not None:
        reach_km = reach_totals[1] / 1000
    elif len(data.reaches):
        reach_km = float(data.reaches.to_crs(metric_crs_for(data.reaches.total_bounds)).length.sum()) / 1000
    incidents = data.incidents
    is_open = incidents["status"].map(lambda s: IncidentStatus(s).is_open).astype(bool)
    overdue = [
        is_overdue(status, _py_time(accept), _py_time(close), now)
        for status, accept, close in zip(incidents["status"], incidents["accept_due_at"], incidents["close_due_at"])
    ]
    track_months = local_months(data.tracks["started_at"])
    report_months = local_months(incidents["reported_at"])
    if month is None:
        month = latest_month_with_data(data.tracks["started_at"], incidents["reported_at"], now=now) or current
    previous = month_shift(month, -1)
    lengths = pd.to_numeric(data.tracks["length_m"], errors="coerce").fillna(0.0) if "length_m" in data.tracks else None

    def km(which: str) -> float:
        if lengths is None:
            return 0.0
        return round(float(lengths[(track_months == which).to_numpy()].sum()) / 1000, 1)

    trend = [month_shift(month, k) for k in range(1 - TREND_MONTHS, 1)]
    return {
        "reaches": reach_totals[0] if reach_totals is not None else len(data.reaches),
        "reach_km": round(reach_km, 1),
        "grids": len(data.grids),
        "village_grids": int((data.grids["level"] == GridLevel.VILLAGE.value).sum()),
        "incidents_open": int(is_open.sum()),
        "incidents_overdue": sum(overdue),
        "patrols_month": int((track_months == current).sum()),
        "month": month,
        "current_month": current,
        "previous_month": previous,
        "patrols": int((track_months == month).sum()),
        "patrols_prev": int((track_months == previous).sum()),
        "patrol_km": km(month),
        "patrol_km_prev": km(previous),
        "reported": int((report_months == month).sum()),
        "reported_prev": int((report_months == previous).sum()),
        "trend_months": trend,
        "patrols_trend": [int((track_months == m).sum()) for m in trend],
        "reported_trend": [int((report_months == m).sum()) for m in trend],
    }


def limit_map_data(data: MapData, scope: Scope) -> MapData:
    """``data`` (:class:`gis.overview.MapData`) with only the cases and tracks of ``scope``
    (grids, reaches and objects are public and stay)."""
    if scope.everything:
        return data

    def keep(frame: Any) -> Any:
        if not len(frame) or "grid_id" not in frame:
            return frame
        return frame[[scope.covers(None if g is None or g != g else int(g)) for g in frame["grid_id"]]]

    return replace(data, incidents=keep(data.incidents), tracks=keep(data.tracks))
