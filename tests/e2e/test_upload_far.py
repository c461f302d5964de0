"""巡河管理 in Chromium: a GPX recorded in Massachusetts is refused with the distance to 临江市;
the patroller confirms “仍然导入” and only then is it imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from e2e.test_map_click import FOLIUM_IFRAME, demo_store
from e2e.test_patrol_page import OFFLINE_ENV
from gis.store.schema import PatrolTrack

pytestmark = pytest.mark.e2e


def boston_gpx(path: Path) -> Path:
    pts = "".join(f'<trkpt lat="{42.36 + k * 1e-4:.6f}" lon="-71.060000"><time>2026-11-04T01:{k:02d}:00Z</time></trkpt>'
                  for k in range(30))
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="Garmin" '
                    f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>晨练</name><trkseg>{pts}</trkseg></trk></gpx>',
                    encoding="utf-8")
    return path


def test_far_track_needs_confirmation(app_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = demo_store(tmp_path)

    def tracks() -> int:
        with store.session() as s:
            return s.scalar(select(func.count()).select_from(PatrolTrack))

    before = tracks()
    upload = boston_gpx(tmp_path / "boston.gpx")
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    page.get_by_label("用户名").fill("patroller")
    page.get_by_label("密码").fill("rivergrid-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录：").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("巡河管理", exact=True).click()
    page.get_by_role("heading", name="巡河管理").wait_for(timeout=60_000)
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)

    page.get_by_text("上传巡河轨迹").click()
    page.locator('input[type="file"]').set_input_files(str(upload))
    page.get_by_text("轨迹“晨练”距本系统最上级网格“临江市”约").wait_for(timeout=60_000)
    confirm = page.get_by_label("仍然导入（确认这些要素属于本辖区）")
    expect(confirm).not_to_be_checked()
    expect(page.get_by_role("button", name="导入")).to_have_count(0)  # nothing to import until confirmed
    assert tracks() == before

    page.get_by_text("仍然导入（确认这些要素属于本辖区）").click()
    expect(confirm).to_be_checked()
    page.get_by_role("button", name="导入").click()
    page.get_by_text("已导入 1 条轨迹（何兆花").wait_for(timeout=60_000)
    assert tracks() == before + 1
    store.dispose()
