"""Every page once, as its user opens it at 1400×900 (and the public page on a 390×844 phone):
each renders without an error box and without Streamlit's English widget texts. With
``RIVERGRID_SCREENSHOTS=docs/screenshots`` the pictures README's page table links are written
(:func:`tests.e2e.browser.save_screenshot`):

    RIVERGRID_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest tests/e2e/test_screenshots.py tests/e2e/test_public.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from gis.store import Store
from gis.store.schema import Grid

from .browser import save_screenshot, settle

pytestmark = pytest.mark.e2e

FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
EDITOR_IFRAME = 'iframe[title="ui.components.grid_draw.grid_draw"]'

# (title in the navigation, file name, a map frame to wait for or None)
PAGES = [
    ("河湖一张图", "home", FOLIUM_IFRAME),
    ("盲区检查", "blind_spots", FOLIUM_IFRAME),
    ("巡河管理", "patrol", FOLIUM_IFRAME),
    ("事件处置", "incidents", FOLIUM_IFRAME),
    ("网格管理", "grids", EDITOR_IFRAME),
    ("考核评价", "assessment", None),
    ("修改记录", "audit", None),
    ("责任公示", "public", FOLIUM_IFRAME),
]


def _sign_in(page, base_url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("rivergrid-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录：").wait_for(timeout=60_000)


def _open(page, title: str, frame: str | None) -> None:  # type: ignore[no-untyped-def]
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=90_000)
    if frame is not None:
        page.frame_locator(frame).first.locator("path.leaflet-interactive").first.wait_for(timeout=90_000)
    settle(page)


def _looks_finished(page) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    # Streamlit's English widget texts are drawn at size 0 (ui.zh) wherever they remain
    for text, exact in (("Upload", True), ("per file", False)):  # (a material icon's name is "upload")
        for el in page.get_by_text(text, exact=exact).all():
            if el.is_visible():
                assert el.evaluate("e => getComputedStyle(e).fontSize") == "0px", text


def test_every_page_at_1400_by_900(app_server, page, blocked_requests: list, browser_errors: list[str],  # type: ignore[no-untyped-def]
                                   tmp_path: Path) -> None:
    # the default base map (the bundled 简图, no internet), as a new installation shows it
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "TIANDITU_KEY": "",
                           "RIVERGRID_PUBLIC_URL": "https://hezhang.example.gov.cn"})
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    page.get_by_role("button", name="登录").wait_for(timeout=90_000)
    settle(page)
    save_screenshot(page, "login", keep=tmp_path)
    _sign_in(page, base_url, "admin")
    for title, name, frame in PAGES:
        _open(page, title, frame)
        _looks_finished(page)
        save_screenshot(page, name, keep=tmp_path)

    # the chain of a clicked grid, floating over the leaders' map
    _open(page, "河湖一张图", FOLIUM_IFRAME)
    page.get_by_role("combobox", name="快速查看事件").click()
    page.get_by_role("option").first.click()
    page.locator(".st-key-chain_panel").get_by_text("责任链").first.wait_for(timeout=60_000)
    settle(page)
    save_screenshot(page, "home-chain", keep=tmp_path)

    # a merge preview on 网格管理 (nothing merged)
    store = Store(f"sqlite:///{tmp_path / 'rivergrid.sqlite'}", migrate=False)
    with store.session() as s:
        sengong = s.scalar(select(Grid.name).where(Grid.name == "森工街道森工社区"))
    store.dispose()
    _open(page, "网格管理", EDITOR_IFRAME)
    page.get_by_role("tab", name="合并与删除").click()
    box = page.get_by_role("combobox", name="并入的相邻网格（该网格将被删除）")
    box.click()
    page.get_by_role("option", name=sengong, exact=True).click()
    page.get_by_text("将删除或改变的内容").wait_for(timeout=60_000)
    expect(page.get_by_role("button", name="确认合并")).to_be_disabled()
    page.get_by_text("将删除或改变的内容").scroll_into_view_if_needed()
    settle(page)
    save_screenshot(page, "grids-merge", keep=tmp_path)

    # 用户管理 belongs to the security administrator (三员分立)
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="退出登录").click()
    _sign_in(page, base_url, "security")
    _open(page, "用户管理", None)
    _looks_finished(page)
    save_screenshot(page, "users", keep=tmp_path)
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors
    assert not blocked_requests, blocked_requests[:5]  # nothing, not even a tile, asked of the internet
