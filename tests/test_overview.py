"""Overview KPIs and the overview map, on small hand-made data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from gis.overview import MapData, overview_kpis
from layers.assets import external_assets
from layers.overview import overview_map

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def frame(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:  # type: ignore[type-arg]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def data() -> MapData:
    reaches = frame(
        [{"id": 1, "name": "甲段", "river_name": "甲河", "code": "A", "level": "village"},
         {"id": 2, "name": "乙段", "river_name": "乙河", "code": "B", "level": "county"}],
        [LineString([(126.9, 41.80), (126.9, 41.81)]), LineString([(126.90, 41.8), (126.95, 41.8)])],
    )
    grids = frame(
        [{"id": 1, "name": "街道", "level": "township", "parent_name": "", "responsible_body": "办事处",
          "main_responsible": "孙凤海", "township_supervisor": "", "illustrative": True},
         {"id": 2, "name": "<b>东兴村</b>", "level": "village", "parent_name": "街道", "responsible_body": "村委会",
          "main_responsible": "何兆花", "township_supervisor": "张力文", "illustrative": True}],
        [box(126.85, 41.75, 127.0, 41.85), box(126.85, 41.75, 126.92, 41.85)],
    )
    due_past, due_future = NOW - timedelta(days=1), NOW + timedelta(days=1)
    cases = [  # status, accept due, close due
        ("in_progress", due_past, due_past),  # overdue: closing deadline passed while handled
        ("accepted", due_past, due_future),  # accepted in time or not, closing is what runs now
        ("archived", due_past, due_past),  # closed
        ("reported", None, None),
        ("reported", due_past, due_future),  # overdue: not accepted in time
        ("resolved", due_past, due_past),  # 办结, waiting for review: no deadline runs
    ]
    incidents = frame(
        [{"id": i, "code": f"SJ-2026-00{i}", "title": "t", "category": "ecology", "severity": "normal", "status": st,
          "reported_at": NOW, "accept_due_at": accept, "close_due_at": close, "grid_name": "", "description": ""}
         for i, (st, accept, close) in enumerate(cases, start=1)],
        [Point(126.9, 41.8)] * len(cases),
    )
    shanghai_november = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)  # 2026-11-01 01:00 in Shanghai
    tracks = frame(
        [{"id": i, "person_name": "何兆花", "grid_name": "东兴村", "started_at": t, "ended_at": t, "length_m": 1.0}
         for i, t in enumerate([shanghai_november, datetime(2026, 10, 31, 15, 0, tzinfo=UTC), NOW], start=1)],
        [LineString([(126.9, 41.8), (126.91, 41.81)])] * 3,
    )
    objects = frame([{"id": 1, "name": "水源地", "category": "drinking_water_source", "grid_name": "东兴村"}],
                    [Point(126.91, 41.81)])
    return MapData(reaches, grids, tracks, incidents, objects)


def test_kpis_match_hand_computed_figures(data: MapData) -> None:
    kpi = overview_kpis(data, now=NOW)
    geod = Geod(ellps="GRS80")  # independent oracle: geodesic length on the ellipsoid
    expected_km = sum(geod.geometry_length(g) for g in data.reaches.geometry) / 1000
    assert kpi["reach_km"] == pytest.approx(expected_km, abs=0.05)
    assert (kpi["reaches"], kpi["grids"], kpi["village_grids"]) == (2, 2, 1)
    assert kpi["incidents_open"] == 5  # archived is closed
    assert kpi["incidents_overdue"] == 2  # the deadline running in the state has passed
    assert kpi["patrols_month"] == 2  # 10-31 17:00 UTC is already November in Asia/Shanghai


def test_overview_map_shows_everything_offline_and_escaped(data: MapData) -> None:
    raw = overview_map(data, basemap="none", tianditu_key=None).get_root().render()
    assert external_assets(raw) == []
    html = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), raw)  # undo JSON escapes
    assert "甲段" in html and "水源地" in html
    assert "&lt;b&gt;东兴村&lt;/b&gt;" in html  # popups and tooltips show it as text
    raw_uses = [m.start() for m in re.finditer("<b>东兴村</b>", html)]
    assert all(html[i - 9:i] == '"name": "' for i in raw_uses)  # only as a data value, never as markup
    assert "图例" in html and "村级网格" in html
    assert "fitBounds" in html


def test_monthly_figures_open_on_the_latest_month_with_data_with_their_trend(data: MapData) -> None:
    kpi = overview_kpis(data, now=NOW)  # November has records: it is the month shown
    assert (kpi["month"], kpi["current_month"], kpi["previous_month"]) == ("2026-11", "2026-11", "2026-10")
    assert (kpi["patrols"], kpi["patrols_prev"]) == (2, 1)  # 10-31 15:00 UTC is still October in Shanghai
    assert (kpi["reported"], kpi["reported_prev"]) == (6, 0)
    assert kpi["trend_months"] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert kpi["patrols_trend"] == [0, 0, 0, 0, 1, 2] and kpi["reported_trend"][-1] == 6

    december = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # nothing recorded yet this month
    kpi = overview_kpis(data, now=december)
    assert kpi["patrols_month"] == 0  # the calendar month is empty…
    assert (kpi["month"], kpi["current_month"], kpi["patrols"], kpi["reported"]) == ("2026-11", "2026-12", 2, 6)
    assert overview_kpis(data, now=december, month="2026-12")["patrols"] == 0  # …and can still be asked for
    # records after "now" (a clock set back) do not count as the latest month with data
    assert overview_kpis(data, now=datetime(2026, 10, 15, tzinfo=UTC))["month"] == "2026-10"


def test_monthly_figures_without_any_record_are_the_current_month(data: MapData) -> None:
    empty = MapData(data.reaches, data.grids, data.tracks.iloc[0:0], data.incidents.iloc[0:0], data.objects)
    kpi = overview_kpis(empty, now=NOW)
    assert (kpi["month"], kpi["patrols"], kpi["patrol_km"], kpi["reported"]) == ("2026-11", 0, 0.0, 0)
    assert kpi["incidents_open"] == 0 and kpi["patrols_trend"] == [0] * 6
