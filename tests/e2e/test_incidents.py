"""事件处置 in Chromium: sign in, report an incident by clicking the map (with a photo), accept and
assign it, then find it on the leaders' map 河湖一张图 with its responsibility chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from gis.store import Store
from gis.store.schema import Attachment, Grid, Incident, IncidentEvent

from .test_map_click import FOLIUM_IFRAME, OFFLINE_ENV, click_at, panel_shows

pytestmark = pytest.mark.e2e

IN_DONGXING = (41.788, 126.999)  # (lat, lon) inside 东兴村, > 2 km from any reach, track, object or incident
NEW_CODE = "SJ-2026-015"  # the demo holds SJ-2026-001 … 014


def sign_in(page, base_url: str, username: str = "admin") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("rivergrid-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录：").wait_for(timeout=60_000)


def open_page(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).wait_for(timeout=60_000)


def test_report_by_clicking_the_map_accept_assign_and_see_it_on_the_leaders_map(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    photo = tmp_path / "现场.jpg"
    Image.new("RGB", (640, 480), "olive").save(photo, format="JPEG")
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    sign_in(page, base_url)
    open_page(page, "事件处置")

    # report: click the map, the point is routed to 东兴村 before anything is saved
    page.get_by_text("上报事件", exact=True).click()
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)
    page.frame_locator(FOLIUM_IFRAME).locator("path").first.wait_for(timeout=60_000)  # grids drawn
    click_at(page, *IN_DONGXING, zoom=14)
    expect(page.get_by_label("纬度")).not_to_have_value("", timeout=30_000)
    lat, lon = float(page.get_by_label("纬度").input_value()), float(page.get_by_label("经度").input_value())
    assert (lat, lon) == (pytest.approx(IN_DONGXING[0], abs=1e-4), pytest.approx(IN_DONGXING[1], abs=1e-4))
    page.get_by_text("派往（按位置自动确定）").wait_for(timeout=30_000)
    page.get_by_text("森工街道东兴村", exact=False).first.wait_for(timeout=30_000)
    page.get_by_label("事件描述").fill("东兴村后山沟岸边倾倒建筑垃圾约5立方米")
    with page.expect_response(lambda r: "upload_file" in r.url and r.request.method == "PUT", timeout=60_000):
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(photo))
    page.get_by_text("现场.jpg").first.wait_for(timeout=30_000)
    # no category chosen: nothing is filed, the form says what is missing
    page.get_by_role("button", name="上报", exact=True).click()
    page.get_by_text("尚未上报：请先选择事件类别").wait_for(timeout=60_000)
    category = page.get_by_role("combobox", name="类别", exact=True)
    category.click()
    page.get_by_role("option", name="生态环境", exact=True).click()
    page.get_by_role("button", name="上报", exact=True).click()
    page.get_by_text(f"已上报事件 {NEW_CODE}").wait_for(timeout=60_000)
    page.get_by_text(f"事件 {NEW_CODE}").first.wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "incident_reported.png"), full_page=True)

    # accept, then assign (to the case's own grid, the form's default)
    page.get_by_role("button", name="受理", exact=True).click()
    page.get_by_text("已受理，当前状态“受理”").wait_for(timeout=60_000)
    page.get_by_role("button", name="交办", exact=True).click()
    page.get_by_text("已交办，当前状态“交办”").wait_for(timeout=60_000)
    page.get_by_text("交办网格：森工街道东兴村").first.wait_for(timeout=30_000)
    assert page.locator('[data-testid="stImage"] img').count() >= 1  # the photo's thumbnail in the timeline
    page.screenshot(path=str(tmp_path / "incident_assigned.png"), full_page=True)

    store = Store(f"sqlite:///{tmp_path / 'rivergrid.sqlite'}", migrate=False)
    with store.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == NEW_CODE))
        assert inc.status == "assigned" and s.get(Grid, inc.grid_id).name == "森工街道东兴村"
        assert inc.category == "ecology"  # what the reporter chose, not a preselected category
        assert (inc.geom.y, inc.geom.x) == (pytest.approx(lat, abs=1e-6), pytest.approx(lon, abs=1e-6))
        events = s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == inc.id)
                           .order_by(IncidentEvent.id)).all()
        assert [(e.action, e.by) for e in events] == [("report", "admin"), ("accept", "admin"), ("assign", "admin")]
        (att,) = s.scalars(select(Attachment).where(Attachment.incident_id == inc.id)).all()
        assert (att.original_name, att.event_id) == ("现场.jpg", events[0].id)
        other = s.scalar(select(Incident).where(Incident.code == "SJ-2026-005")).geom  # 森工社区
    store.dispose()
    assert (tmp_path / "attachments" / att.sha256[:2] / f"{att.sha256}.jpg").read_bytes() == photo.read_bytes()

    # a click on another case's dot on the list's map opens that case
    # after the reruns of the moves, Streamlit may briefly keep the report view's map beside the list's
    expect(page.locator(FOLIUM_IFRAME)).to_have_count(1, timeout=60_000)
    page.locator(FOLIUM_IFRAME).scroll_into_view_if_needed()  # the mouse clicks what is on screen
    click_at(page, other.y, other.x, zoom=15)
    page.get_by_text("事件 SJ-2026-005").first.wait_for(timeout=60_000)
    page.get_by_text("管荣波").first.wait_for(timeout=30_000)

    # the leaders' map: the new case at its place, with the chain of 东兴村
    open_page(page, "河湖一张图")
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)
    page.frame_locator(FOLIUM_IFRAME).locator("path.leaflet-interactive").filter(visible=True).first.wait_for(timeout=60_000)
    page.get_by_text("点击地图上的").wait_for(timeout=30_000)
    click_at(page, *IN_DONGXING, zoom=14)
    panel_shows(page, f"事件 {NEW_CODE}", "交办", "村级网格主要责任人", "何兆花", "乡级监管责任人", "张力文",
                "崔雪冰", absent=("管荣波",))
    page.screenshot(path=str(tmp_path / "incident_on_home.png"), full_page=True)

    assert not [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")]
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors
