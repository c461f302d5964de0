"""巡河管理 in Chromium, offline: a patroller uploads an Amap (GCJ-02) track, is offered the
conversion, imports it; the map shows it over the reaches coloured by coverage, a click on a
track shows its summary."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from playwright.sync_api import expect
from sqlalchemy import select

from e2e.test_map_click import FOLIUM_IFRAME, click_at, demo_store, map_frame
from gis import clock
from gis.geometry.crs import metric_crs_for, wgs84_to_gcj02
from gis.store.schema import PatrolTrack, Reach

pytestmark = pytest.mark.e2e

PANEL = ".st-key-patrol_panel"
OFFLINE_ENV = {"RIVERGRID_BASEMAP": "none", "TIANDITU_KEY": ""}
SCREENSHOT_DIR_ENV = "RIVERGRID_SCREENSHOTS"


def amap_csv(path: Path, reach: shapely.LineString, *, from_m: float, to_m: float) -> None:
    """A walk along ``reach`` from ``from_m`` to ``to_m`` at 4 km/h, ending an hour ago, written
    in GCJ-02 as Amap exports it (Beijing times without zone)."""
    crs = metric_crs_for(reach)
    to_m_ = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    line = shapely.transform(reach, lambda xy: np.column_stack(to_m_.transform(xy[:, 0], xy[:, 1])))
    rng = np.random.default_rng(6)  # GPS noise and uneven steps: a real walk, not "too regular"
    stations = np.arange(from_m, to_m, 11.0) + rng.normal(0, 3.0, len(np.arange(from_m, to_m, 11.0)))
    pts = shapely.line_interpolate_point(line, stations)
    lon, lat = to_ll.transform(shapely.get_x(pts), shapely.get_y(pts))
    glon, glat = wgs84_to_gcj02(np.asarray(lon), np.asarray(lat))
    end = clock.local_now().replace(tzinfo=None) - timedelta(hours=1)  # Beijing wall clock, pinned in tests
    secs = np.cumsum(rng.integers(8, 13, len(stations)))
    start = end - timedelta(seconds=int(secs[-1]))
    rows = ["经度,纬度,时间"] + [
        f"{x:.7f},{y:.7f},{(start + timedelta(seconds=int(t))).strftime('%Y-%m-%d %H:%M:%S')}"
        for x, y, t in zip(glon, glat, secs, strict=True)]
    path.write_text("\n".join(rows), encoding="utf-8")


def drawn_path(page):  # type: ignore[no-untyped-def]
    """The first vector path the map has drawn (Leaflet empties the paths that lie out of view,
    ``d="M0 0"``: waiting for the first path in the document may wait for one of those)."""
    return page.frame_locator(FOLIUM_IFRAME).locator("path.leaflet-interactive").filter(visible=True).first


def test_patroller_uploads_a_gcj02_track_and_reads_summaries(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    store = demo_store(tmp_path)
    with store.session() as s:
        reach = s.scalar(select(Reach).where(Reach.code == "YLJ-SG-01")).geom
        before = len(s.scalars(select(PatrolTrack)).all())
        other = s.scalars(select(PatrolTrack).order_by(PatrolTrack.id.desc())).first()
        other_person = other.person.name
        other_mid = other.geom.interpolate(0.5, normalized=True)
    upload = tmp_path / "高德轨迹.csv"
    amap_csv(upload, reach, from_m=1000, to_m=2500)
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})

    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    page.get_by_label("用户名").fill("patroller")
    page.get_by_label("密码").fill("rivergrid-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录：").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("巡河管理", exact=True).click()
    page.get_by_role("heading", name="巡河管理").wait_for(timeout=60_000)
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)
    expect(page.locator(FOLIUM_IFRAME)).to_have_count(1, timeout=60_000)  # not the last page's map
    drawn_path(page).wait_for(timeout=60_000)

    page.get_by_text("上传巡河轨迹").click()
    page.locator('input[type="file"]').set_input_files(str(upload))
    page.get_by_text("很可能是从高德").wait_for(timeout=60_000)
    expect(page.get_by_label("按 GCJ02 纠偏后导入（推荐）")).to_be_checked()
    # the patroller account belongs to 何兆花: she is the default patroller
    expect(page.locator('[data-testid="stSelectbox"]', has_text="巡查人员").locator("input")).to_have_value("何兆花")
    page.get_by_role("button", name="导入").click()
    page.get_by_text("已导入 1 条轨迹（何兆花").wait_for(timeout=60_000)
    expect(page.get_by_text(upload.name)).to_have_count(0)  # the uploader was emptied: no double import

    panel = page.locator(PANEL)
    panel.get_by_text("巡河轨迹：何兆花").wait_for(timeout=30_000)
    panel.get_by_text("计入考核（有效巡查）").wait_for(timeout=30_000)
    panel.get_by_text("鸭绿江森工街道段（上段） K1+0").wait_for(timeout=30_000)  # converted: on the river
    with store.session() as s:
        rows = s.scalars(select(PatrolTrack).order_by(PatrolTrack.id)).all()
        assert len(rows) == before + 1
        assert rows[-1].source_name == upload.name and rows[-1].source_data == upload.read_bytes()
    store.dispose()

    # a click on another track shows its summary (on the new map: the import made a new one)
    page.wait_for_timeout(2_000)  # the old map fades out after the rerun
    expect(page.locator(FOLIUM_IFRAME)).to_have_count(1, timeout=30_000)
    drawn_path(page).wait_for(timeout=60_000)
    click_at(page, other_mid.y, other_mid.x, zoom=16)
    panel.get_by_text(f"巡河轨迹：{other_person}").wait_for(timeout=30_000)

    assert map_frame(page).locator(".rivergrid-legend", has_text="本期未巡查").count() == 1
    assert not [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")]
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors
    shot = tmp_path / "patrol.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get(SCREENSHOT_DIR_ENV):
        shutil.copy(shot, Path(os.environ[SCREENSHOT_DIR_ENV]) / shot.name)
