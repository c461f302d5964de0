"""The public page 责任公示 and a signboard in headless Chromium (CJK fonts), on the real server
with sign-in required for reading: the public page opens, the others do not.

Screenshots are kept under ``<repo>/tmp/screenshots/`` (ignored by git) for a human to look at.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from gis.auth import Actor
from gis.model import UserRole
from gis.store import Store
from gis.store.schema import Grid

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tmp" / "screenshots"
PUBLIC = "https://hezhang.example.gov.cn/rivergrid"
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
NASTY = '奖惩<b>加粗</b>![x](http://evil.example/p.png)<img src="http://evil.example/q.png">'

# Two different ideographs drawn on a canvas: real glyphs differ, missing-glyph boxes do not.
_GLYPHS_DIFFER = """() => {
    const draw = (ch) => {
        const c = document.createElement('canvas'); c.width = 64; c.height = 64;
        const g = c.getContext('2d'); g.font = '48px sans-serif'; g.fillText(ch, 4, 52);
        return Array.from(g.getImageData(0, 0, 64, 64).data).join(',');
    };
    return draw('何') !== draw('兆') && draw('何') !== draw('\\u0378');
}"""


def _qr_texts(png: Path) -> list[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(png) as im:
        return [r.text for r in zxingcpp.read_barcodes(im.copy()) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_public_page_and_signboard_in_chromium(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none",
                           "RIVERGRID_READ_LOGIN": "1", "RIVERGRID_PUBLIC_URL": PUBLIC})
    # the server loads the demo on its first session; open the sign-in page first
    page.goto(base_url, wait_until="domcontentloaded")
    page.get_by_role("button", name="登录").wait_for(timeout=90_000)
    store = Store(f"sqlite:///{tmp_path / 'rivergrid.sqlite'}", migrate=False)
    with store.session() as s:
        dongxing = s.scalar(select(Grid.id).where(Grid.name == "森工街道东兴村"))
    with store.session(Actor("staff", UserRole.STAFF)) as s:  # text typed by users stays text
        s.get(Grid, dongxing).rewards = NASTY
    store.dispose()

    # -- the public page, as a signboard's QR code opens it --------------------------------
    page.goto(f"{base_url}/public?grid={dongxing}", wait_until="domcontentloaded")
    page.get_by_role("heading", name="责任公示").wait_for(timeout=60_000)
    page.get_by_role("heading", name="森工街道东兴村（边界示意）").wait_for(timeout=60_000)
    frame = page.frame_locator(FOLIUM_IFRAME)
    frame.locator("path.leaflet-interactive").filter(visible=True).first.wait_for(timeout=60_000)
    for name in ("五定", "定职责", "监管河段及河长"):
        page.get_by_text(name, exact=False).first.wait_for(timeout=30_000)
    page.get_by_text("0439-52xxx03（示意）").first.wait_for(timeout=30_000)
    page.get_by_text("奖惩<b>加粗</b>", exact=False).first.wait_for(timeout=30_000)  # shown literally
    assert page.locator('img[src*="evil.example"]').count() == 0
    assert page.evaluate(_GLYPHS_DIFFER), "Chinese text is drawn as missing-glyph boxes (install fonts-noto-cjk)"
    page.set_viewport_size({"width": 1400, "height": 2400})  # Streamlit scrolls inside: show it all
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "public_page.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    # people and reaches are cards of text (no data grid with its toolbar)
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    for person in ("何兆花", "张力文", "王立军", "陈宝山", "东兴沟（示意）"):
        page.locator(".rg-card", has_text=person).first.wait_for(timeout=30_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_text("责任公示").count() == 1
    assert nav.get_by_text("河湖一张图").count() == 0 and nav.get_by_text("修改记录").count() == 0

    # -- the signboard, downloaded from the page -----------------------------------------
    with page.expect_download(timeout=60_000) as pdf_download:
        page.get_by_role("button", name="下载公示牌 PDF").click()
    pdf = tmp_path / "board.pdf"
    pdf_download.value.save_as(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(tmp_path / "board_pdf")],
                   check=True, timeout=60)
    assert _qr_texts(tmp_path / "board_pdf.png") == [f"{PUBLIC}/public?grid={dongxing}"]
    with page.expect_download(timeout=60_000) as png_download:
        page.get_by_role("button", name="下载公示牌图片").click()
    board_png = tmp_path / "board.png"
    png_download.value.save_as(board_png)

    # ... and shown in the browser, screenshot kept and its QR code read from the screenshot
    data = base64.b64encode(board_png.read_bytes()).decode()
    page.set_viewport_size({"width": 827, "height": 1170})
    page.set_content(f'<html><body style="margin:0"><img id="board" src="data:image/png;base64,{data}" '
                     'style="width:827px;display:block"></body></html>')
    page.wait_for_function("document.getElementById('board').complete")
    shot = ARTIFACTS / "signboard.png"
    page.locator("#board").screenshot(path=str(shot))
    assert _qr_texts(shot) == [f"{PUBLIC}/public?grid={dongxing}"]

    # -- pages behind sign-in stay closed -----------------------------------------------------
    page.set_viewport_size({"width": 1400, "height": 900})
    for path in ("audit", "home", "blind_spots"):
        page.goto(f"{base_url}/{path}", wait_until="domcontentloaded")
        page.get_by_role("button", name="登录").wait_for(timeout=60_000)
        assert page.get_by_role("heading", name="修改记录").count() == 0
        assert page.get_by_role("heading", name="河湖一张图").count() == 0
        assert page.get_by_role("heading", name="盲区检查").count() == 0
    assets = [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")]
    assert assets == []
    assert not [r for r in blocked_requests if r.host == "evil.example"]


def test_public_page_on_a_phone(app_server, browser, blocked_requests: list, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """390×844 (a common phone): people as cards, every public phone number readable whole on the
    screen, no data grid; the screenshot is kept for a human to look at."""
    from .browser import PHONE, offline_page, save_screenshot, settle

    store_dir = tmp_path
    base_url = app_server({"RIVERGRID_DATA_DIR": str(store_dir), "TIANDITU_KEY": "",  # the default base map
                           "RIVERGRID_PUBLIC_URL": PUBLIC})
    phone = offline_page(browser, blocked_requests, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(base_url, wait_until="domcontentloaded")  # the first session loads the demo
    phone.get_by_text("河湖一张图").first.wait_for(timeout=90_000)
    store = Store(f"sqlite:///{store_dir / 'rivergrid.sqlite'}", migrate=False)
    from gis.store.schema import Person
    with store.session(Actor("staff", UserRole.STAFF)) as s:
        dongxing = s.scalar(select(Grid.id).where(Grid.name == "森工街道东兴村"))
        he = s.scalar(select(Person).where(Person.name == "何兆花"))
        he.phone, he.phone_public = "0439-5221234", True
        zhang = s.scalar(select(Person).where(Person.name == "张力文"))
        zhang.phone, zhang.phone_public = "13900002222", False
    store.dispose()

    phone.goto(f"{base_url}/public?grid={dongxing}", wait_until="domcontentloaded")
    phone.get_by_role("heading", name="森工街道东兴村（边界示意）").wait_for(timeout=60_000)
    card = phone.locator(".rg-person", has_text="何兆花")
    card.wait_for(timeout=30_000)
    number = card.locator(".rg-phone a")
    assert number.inner_text() == "0439-5221234" and number.get_attribute("href") == "tel:04395221234"
    number.scroll_into_view_if_needed()
    box = number.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # not cut off
    assert "13900002222" not in phone.content()  # not public: not sent at all
    assert phone.locator(".rg-person", has_text="张力文").get_by_text("电话不公开").count() == 1
    assert phone.locator('[data-testid="stDataFrame"]').count() == 0
    assert phone.locator('[data-testid="stElementToolbar"]').count() == 0
    width = phone.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
    assert width <= 390, f"the page is wider than the phone: {width} px"
    phone.frame_locator(FOLIUM_IFRAME).locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
    phone.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
    settle(phone)
    save_screenshot(phone, "public-phone", keep=tmp_path)
    phone.mouse.move(200, 400)
    phone.mouse.wheel(0, 650)  # down to the people, as a resident scrolls (kept for a human to look at)
    phone.wait_for_timeout(800)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "public_phone_people.png"))
    assets = [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")]
    assert assets == []
    phone.context.close()
