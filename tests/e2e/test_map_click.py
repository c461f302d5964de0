"""河湖一张图 in Chromium, offline and without a Tianditu key: clicks open the responsibility chain,
and user text stays text everywhere (tooltips, panel) — no element is made from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from gis.auth import SYSTEM
from gis.store import Store
from gis.store.schema import Grid, Incident

from .demo import demo_store  # a fresh copy of the session's demo template

pytestmark = pytest.mark.e2e

FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
PANEL = ".st-key-chain_panel"
XSS = '<img src=x onerror="window.__xss=1">'
IN_DONGXING = (41.788, 126.999)  # inside 东兴村, > 2 km from any reach, track, object or incident
OUTSIDE_GRIDS = (41.80, 127.06)  # east of the township: no drawn grid (the county grid starts hidden)
OFFLINE_ENV = {"RIVERGRID_BASEMAP": "none", "TIANDITU_KEY": ""}


def incident_point(store: Store, code: str) -> tuple[float, float]:
    with store.session() as s:
        geom = s.scalar(select(Incident).where(Incident.code == code)).geom
    return geom.y, geom.x


def open_map(page, base_url: str):  # type: ignore[no-untyped-def]
    page.goto(base_url, wait_until="domcontentloaded")
    page.get_by_text("河湖一张图").first.wait_for(timeout=60_000)
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)
    frame = page.frame_locator(FOLIUM_IFRAME)
    frame.locator("path.leaflet-interactive").filter(visible=True).first.wait_for(timeout=60_000)
    page.locator(PANEL).get_by_text("点击地图上的").wait_for(timeout=30_000)
    return frame


def map_frame(page):  # type: ignore[no-untyped-def]
    return next(f for f in page.frames if f.url and "streamlit_folium" in f.url)


def ready_map_frame(page, timeout_ms: int = 60_000):  # type: ignore[no-untyped-def]
    """The map's frame once its Leaflet map exists (a freshly mounted iframe runs its script a moment
    after it appears; a rerun may swap the frame meanwhile, so look again until one is ready)."""
    deadline = timeout_ms
    while True:
        try:
            frame = map_frame(page)
            frame.wait_for_function("() => window.map && window.map._loaded", timeout=5_000)
            return frame
        except Exception:
            deadline -= 5_000
            if deadline <= 0:
                raise


def click_at(page, lat: float, lon: float, *, zoom: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """Centre the map on (lat, lon) (optionally at ``zoom``), then click there with the mouse."""
    expect(page.locator(FOLIUM_IFRAME)).to_have_count(1, timeout=60_000)  # not a map a rerun is replacing
    frame = ready_map_frame(page)
    frame.evaluate(
        "([lat, lon, zoom]) => window.map.setView([lat, lon], zoom || window.map.getZoom(), {animate: false})",
        [lat, lon, zoom],
    )
    page.wait_for_timeout(400)  # let the view settle (its moveend reruns the page)
    x, y = frame.evaluate(
        "([lat, lon]) => { var p = window.map.latLngToContainerPoint([lat, lon]);"
        " var r = window.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
        [lat, lon],
    )
    box = page.locator(FOLIUM_IFRAME).bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def panel_shows(page, *texts: str, absent: tuple[str, ...] = (), timeout: int = 30_000) -> None:  # type: ignore[no-untyped-def]
    panel = page.locator(PANEL)
    for text in texts:
        panel.get_by_text(text, exact=False).first.wait_for(timeout=timeout)
    for text in absent:  # stale elements of the previous run fade out once the rerun ends
        expect(panel.get_by_text(text, exact=False)).to_have_count(0, timeout=timeout)


def test_clicks_show_the_responsibility_chain_and_every_click_counts(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    store = demo_store(tmp_path)
    dongxing = incident_point(store, "SJ-2026-004")  # 东兴村: 何兆花 → 张力文 → …
    sengong = incident_point(store, "SJ-2026-005")  # 森工社区: 管荣波 → 崔雪冰 → …
    store.dispose()
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_map(page, base_url)

    click_at(page, *dongxing, zoom=14)
    panel_shows(page, "事件 SJ-2026-004", "何兆花", "张力文", "办理过程")
    panel_shows(page, "崔雪冰")  # the leading group office's director closes the chain
    click_at(page, *sengong)
    panel_shows(page, "事件 SJ-2026-005", "管荣波", absent=("何兆花", "SJ-2026-004"))
    click_at(page, *dongxing)  # the first marker again: the panel changes back
    panel_shows(page, "事件 SJ-2026-004", "何兆花", absent=("管荣波", "SJ-2026-005"))
    page.locator(PANEL).get_by_role("button", name="清除选择").click()
    panel_shows(page, "点击地图上的", absent=("何兆花",))
    click_at(page, *dongxing)  # the same marker once more: answered again, not "nothing new"
    panel_shows(page, "事件 SJ-2026-004", "何兆花")
    page.screenshot(path=str(tmp_path / "incident.png"), full_page=True)

    # a grid: the chain of the clicked point in it
    click_at(page, *IN_DONGXING)
    panel_shows(page, "网格：森工街道东兴村", "何兆花", absent=("SJ-2026-004", "管荣波"))
    # an empty spot east of the township: outside the jurisdiction (issue 15: not a blind spot), with
    # the nearest grid, not an error
    click_at(page, *OUTSIDE_GRIDS)
    panel_shows(page, "地图位置", "不在本街道（县）网格范围内", "最近的网格", absent=("何兆花",))

    assert not [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")]
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors
    page.screenshot(path=str(tmp_path / "map_click.png"), full_page=True)


def test_user_text_stays_text_in_tooltips_and_panel(
    app_server, page, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    store = demo_store(tmp_path)
    with store.session(SYSTEM) as s:
        grid = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村"))
        grid.name = f"东兴村{XSS}"
        incident = s.scalar(select(Incident).where(Incident.code == "SJ-2026-004"))
        incident.description = f"岸边违建{XSS}"
        incident.title = f"违建{XSS}"
    point = incident_point(store, "SJ-2026-004")
    store.dispose()
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    frame = open_map(page, base_url)

    # the grid's name label and its tooltip (hover an empty spot of the grid)
    assert frame.locator(".rg-grid-label", has_text=XSS).count() == 1
    click_at(page, *IN_DONGXING, zoom=14)
    frame.locator(".leaflet-tooltip", has_text=XSS).first.wait_for(timeout=10_000)
    panel_shows(page, f"东兴村{XSS}")
    # the incident: tooltip on hover, then details in the panel
    click_at(page, *point)
    panel_shows(page, "事件 SJ-2026-004", f"岸边违建{XSS}", f"违建{XSS}")
    frame.locator(".leaflet-tooltip", has_text=f"违建{XSS}").first.wait_for(timeout=10_000)

    for where in (page, map_frame(page)):
        assert where.locator("img[src='x']").count() == 0
        assert where.evaluate("() => typeof window.__xss") == "undefined"
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors
