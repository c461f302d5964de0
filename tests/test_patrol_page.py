"""The page 巡河管理 and its pieces: playback position, stretch lines of the coverage, period
choices, the map layers, and the page itself with AppTest (tables, permission to upload)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from streamlit.testing.v1 import AppTest
from test_app import APP, sign_in

from gis import patrol as P
from gis.errors import ValidationError
from gis.patrol.rules import (
    parse_period,
    period_choices,
    period_coverage,
    stretch_lines,
)
from gis.patrol.service import PatrolReport, coverage_frame
from layers.patrol_map import coverage_layer_data, playback_group

GK = pyproj.CRS.from_epsg(4551)
TO_LL = pyproj.Transformer.from_crs(GK, "EPSG:4326", always_xy=True)
TO_M = pyproj.Transformer.from_crs("EPSG:4326", GK, always_xy=True)
X0, Y0 = TO_M.transform(126.90, 41.80)
T0 = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)


def _ll(xs, ys):  # type: ignore[no-untyped-def]
    lon, lat = TO_LL.transform(np.asarray(xs, float), np.asarray(ys, float))
    return np.asarray(lon), np.asarray(lat)


# ---------------------------------------------------------------------------------------------
# Pure pieces
# ---------------------------------------------------------------------------------------------


def test_playback_position_interpolates_between_points() -> None:
    track = P.Track(lon=[126.0, 126.1, 126.3], lat=[41.0, 41.0, 41.2],
                    times=[T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)])
    at = lambda minutes: np.datetime64((T0 + timedelta(minutes=minutes)).replace(tzinfo=None), "ns")
    assert P.position_at(track, at(-5)) == (126.0, 41.0, 1)
    assert P.position_at(track, at(5)) == pytest.approx((126.05, 41.0, 1))
    assert P.position_at(track, at(10)) == pytest.approx((126.1, 41.0, 2))
    assert P.position_at(track, at(15)) == pytest.approx((126.2, 41.1, 2))
    assert P.position_at(track, at(99)) == (126.3, 41.2, 3)
    with pytest.raises(ValidationError, match="没有时间"):
        P.position_at(P.Track(lon=[1, 2], lat=[1, 2], times=[None, None]), at(0))


def test_path_length_is_geodesic() -> None:
    lon, lat = _ll([X0, X0, X0 + 300], [Y0, Y0 + 400, Y0 + 400])
    # 400 m + 300 m in the Gauss-Krüger plane; the scale error near the central meridian is < 1e-4
    assert P.path_length_m(list(zip(lon, lat))) == pytest.approx(700, rel=2e-4)
    assert P.path_length_m([(126.0, 41.0)]) == 0.0


def test_stretch_lines_have_the_stretch_length_also_across_parts() -> None:
    lon, lat = _ll([X0, X0, X0 + 500], [Y0, Y0 + 1000, Y0 + 1000])
    single = shapely.LineString(np.column_stack([lon, lat]))
    lon2, lat2 = _ll([X0 + 2000, X0 + 2000], [Y0, Y0 + 600])
    lon3, lat3 = _ll([X0 + 3000, X0 + 3000], [Y0, Y0 + 400])
    multi = shapely.MultiLineString([np.column_stack([lon2, lat2]), np.column_stack([lon3, lat3])])
    reaches = P.reaches_frame(gpd.GeoDataFrame(geometry=[single, multi], crs="EPSG:4326"))
    lines = stretch_lines(reaches, [0, 0, 1], [200, 900, 500], [700, 1300, 800])
    metric = lines.to_crs(GK)
    assert list(metric.length) == pytest.approx([500, 400, 300], abs=0.05)
    # the stretch 900–1300 m turns the corner at 1000 m; 500–800 m of the two-part reach is 100 m
    # on the first part and 200 m on the second
    assert metric.iloc[2].geom_type == "MultiLineString"
    assert [round(g.length, 1) for g in metric.iloc[2].geoms] == [100.0, 200.0]


def test_coverage_frame_splits_reaches_into_patrolled_and_never() -> None:
    lon, lat = _ll([X0, X0], [Y0, Y0 + 10_000])
    reaches = P.reaches_frame(gpd.GeoDataFrame({"name": ["长河"], "start_station_m": [2000.0]},
                                               geometry=[shapely.LineString(np.column_stack([lon, lat]))],
                                               crs="EPSG:4326"))
    tlon, tlat = _ll(np.full(230, X0 + 20), Y0 + 1000 + np.arange(230) * 14.0)
    res = P.analyse_track(P.Track(lon=tlon, lat=tlat, times=[T0 + timedelta(seconds=10 * k) for k in range(230)]),
                          reaches)
    per, st = period_coverage([res], reaches)
    report = PatrolReport(period=parse_period("2026-11"), persons=[], grids=[], reaches=[], tracks=[], rules={},
                          warnings=[], coverage=[{
                              "reach_id": 0, "reach": "长河", "code": "", "length_m": float(per.at[0, "length_m"]),
                              "covered_m": float(per.at[0, "covered_m"]), "uncovered_m": 0.0,
                              "share": float(per.at[0, "share"]),
                              "never_patrolled": [{"from_m": s.from_m, "to_m": s.to_m, "length_m": s.length_m,
                                                   "stations": s.stations} for s in st.itertuples()]}])
    frame = coverage_frame(report, reaches)
    assert list(frame["status"]) == ["never", "patrolled", "never"]
    assert frame["from_m"].iloc[1] == pytest.approx(1000, abs=15) and frame["to_m"].iloc[1] == pytest.approx(4206, abs=15)
    assert re.fullmatch(r"K2\+000–K3\+0[01]\d", frame["stations"].iloc[0])  # start station 2,000 m
    assert frame["length_m"].sum() == pytest.approx(per.at[0, "length_m"], abs=1e-6)
    assert frame.to_crs(GK).length.to_numpy() == pytest.approx(frame["length_m"].to_numpy(), abs=0.05)


def test_period_choices_are_valid_and_start_with_this_month() -> None:
    choices = period_choices(date(2026, 11, 28))
    assert choices[:5] == ["2026-11", "2026-11-上旬", "2026-11-中旬", "2026-11-下旬", "2026-10"]
    assert all(parse_period(c) for c in choices)
    assert period_choices(date(2026, 1, 5))[:3] == ["2026-01", "2026-01-上旬", "2025-12"]


def test_playback_tooltip_is_escaped() -> None:
    fg = playback_group([(126.9, 41.8), (126.91, 41.81)], label='<img src=x onerror="alert(1)">')
    m = folium.Map()
    fg.add_to(m)
    html = m.get_root().render()
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_coverage_layer_tooltips_name_reach_and_stations() -> None:
    lon, lat = _ll([X0, X0], [Y0, Y0 + 1000])
    frame = gpd.GeoDataFrame({"reach_id": [7], "reach": ["<b>河</b>"], "status": ["never"], "stations": ["K0+000–K1+000"],
                              "length_m": [1000.0], "share": [0.0]},
                             geometry=[shapely.LineString(np.column_stack([lon, lat]))], crs="EPSG:4326")
    layer = coverage_layer_data(frame)
    assert layer.kind == "reach" and layer.n_features == 1
    assert "本期未巡查：K0+000–K1+000（1.00 公里）" in layer.js
    assert "#e53935" in layer.js


# ---------------------------------------------------------------------------------------------
# The page (AppTest, demo data)
# ---------------------------------------------------------------------------------------------


def _patrol_page(at: AppTest) -> AppTest:
    return at.switch_page("pages/patrol.py").run()


def test_page_shows_compliance_coverage_and_track_summary(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at = _patrol_page(at)
    assert not at.exception
    assert [t.value for t in at.title] == ["巡河管理"]
    at.selectbox(key="patrol_period").set_value("2026-11")
    at = at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["巡河轨迹"] == "4 条"
    tables = {}
    for tab in ("按人员", "按网格", "河段覆盖", "轨迹列表"):  # only the open tab's table is drawn
        at.session_state["patrol_table_tab"] = tab
        at = at.run()
        (tables[tab],) = (d.value for d in at.dataframe)
    persons, grids, coverage, tracks = tables.values()
    assert "森工街道东兴村" in set(grids["网格"])
    row = persons[persons["人员"] == "何兆花"].iloc[0]
    assert (row["频次"], row["应巡"]) == ("每周", 4)
    assert set(coverage.columns) >= {"河段", "覆盖率", "从未巡查的区段（桩号）"}
    assert coverage["从未巡查的区段（桩号）"].str.contains("K0+000", regex=False).any()
    assert len(tracks) == 4
    # the playback of the first track: slider at its start, the summary beside the map
    assert [s.label for s in at.slider] == ["回放时间（北京时间）"]
    assert any(m.value.startswith("#### 巡河轨迹：") for m in at.markdown)
    # anonymous visitors get no upload tool
    assert not at.expander and not at.get("file_uploader")


def test_upload_tool_needs_patrol_write(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "leader", "rivergrid-demo")
    at = _patrol_page(at)
    assert not at.exception and not at.expander and not at.get("file_uploader")
    at = AppTest.from_file(APP, default_timeout=180).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "patroller", "rivergrid-demo")
    at = _patrol_page(at)
    assert not at.exception
    assert [e.label for e in at.expander] == ["上传巡河轨迹"]



def test_a_month_without_tracks_opens_on_the_latest_month_with_tracks_and_says_so(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On 2026-12-07 the demo has no December track: the page opens on 2026-11 (4 tracks, not
    "0 条, 0.0 %, every reach red") and says why; December stays one click away and explains its
    empty map."""
    monkeypatch.setenv("RIVERGRID_NOW", "2026-12-07T09:00+08:00")
    at = _patrol_page(AppTest.from_file(APP, default_timeout=180).run())
    assert not at.exception
    period = at.selectbox(key="patrol_period")
    assert period.value == "2026-11" and "2026-12" in period.options
    assert {m.label: m.value for m in at.metric}["巡河轨迹"] == "4 条"
    assert any("本月（2026-12）还没有巡河轨迹，默认显示有轨迹的最近一个月 2026-11" in c.value for c in at.caption)
    assert not at.info or not any("没有开始的巡河轨迹" in i.value for i in at.info)

    at = period.set_value("2026-12").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["巡河轨迹"] == "0 条"
    (empty,) = [i.value for i in at.info if "没有开始的巡河轨迹" in i.value]
    assert "河段全部显示为未巡查（红色）" in empty and "最近一次巡河在 2026-11-25（可选择时段 2026-11）" in empty


def test_the_current_month_with_tracks_is_the_default(app_env: Path) -> None:
    at = _patrol_page(AppTest.from_file(APP, default_timeout=180).run())  # the tests' clock: 2026-11-28
    assert at.selectbox(key="patrol_period").value == "2026-11"
    assert not any("还没有巡河轨迹" in c.value for c in at.caption)
