"""Every map of the real app shows a basemap with no internet and no Tianditu key: the bundled 简图,
its vector tiles served by the app (``/api/tiles/simple/…``) and drawn in the browser, while the
browser aborts (and records) every request that would leave the machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from gis.store import Store
from gis.store.schema import Grid

from .test_incidents import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.serial]

FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
NO_BASEMAP_SETTINGS = {"RIVERGRID_BASEMAP": "", "TIANDITU_KEY": "", "RIVERGRID_TILE_URL": "", "RIVERGRID_TILES": ""}
MAPS = ("河湖一张图", "盲区检查", "巡河管理", "事件处置")

DRAWN_TILES_JS = """() => {
    // canvases of the vector basemap (protomaps-leaflet) with at least one painted pixel
    let drawn = 0;
    document.querySelectorAll("canvas.leaflet-tile").forEach((c) => {
        if (!c.width || !c.height) return;
        const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < data.length; i += 4 * 61) { if (data[i]) { drawn++; return; } }
    });
    return drawn;
}"""


def map_frames(page):  # type: ignore[no-untyped-def]
    return [f for f in page.frames if f.url and "streamlit_folium" in f.url]


def drawn_basemap_tiles(page, *, at_least: int = 2, timeout_ms: int = 60_000) -> list[int]:  # type: ignore[no-untyped-def]
    """Drawn 简图 tiles in each map of the page, once every map has ``at_least``."""
    expect(page.locator(FOLIUM_IFRAME).first).to_be_visible(timeout=90_000)
    page.wait_for_timeout(1_000)  # a rerun may still replace a freshly mounted map
    counts = []
    for frame in map_frames(page):
        frame.wait_for_function("() => window.map && window.map._loaded", timeout=timeout_ms)
        frame.wait_for_function(f"() => ({DRAWN_TILES_JS})() >= {at_least}", timeout=timeout_ms)
        counts.append(frame.evaluate(DRAWN_TILES_JS))
    return counts


def test_every_map_draws_the_bundled_basemap_with_no_request_leaving_the_machine(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **NO_BASEMAP_SETTINGS})
    # the demo install has its 简图 from the start: built before the server opened
    assert (tmp_path / "basemap" / "simple.pmtiles").stat().st_size > 10_000
    tiles: list[tuple[int, str]] = []
    page.on("response", lambda r: tiles.append((r.status, r.url)) if "/api/tiles/" in r.url else None)

    sign_in(page, base_url)
    seen: dict[str, list[int]] = {}
    for title in MAPS:
        page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title).wait_for(timeout=60_000)
        before = len(tiles)
        seen[title] = drawn_basemap_tiles(page)
        assert seen[title], f"{title}: no map on the page"
        # each map offers every basemap but the internet-only Tianditu (no key), 简图 chosen
        for frame in map_frames(page):
            control = frame.locator(".leaflet-control-layers-base")
            assert control.get_by_text("简图").count() == 1 and control.get_by_text("无底图").count() == 1
            assert "天地图" not in control.inner_text()
            assert frame.locator(".leaflet-control-layers-base input:checked + span", has_text="简图").count() == 1
        assert len(tiles) >= before  # (tiles may come from the browser cache on later pages)

    with Store(f"sqlite:///{tmp_path / 'rivergrid.sqlite'}", migrate=False).session() as s:
        dongxing = s.scalar(select(Grid.id).where(Grid.name == "森工街道东兴村"))
    page.goto(f"{base_url}/public?grid={dongxing}", wait_until="domcontentloaded")
    page.get_by_role("heading", name="责任公示").wait_for(timeout=60_000)
    seen["责任公示"] = drawn_basemap_tiles(page)

    page.screenshot(path="/tmp/offline_basemap_public.png")
    assert all(n >= 2 for counts in seen.values() for n in counts), seen
    loaded = [url for status, url in tiles if status == 200 and "/api/tiles/simple/" in url]
    assert len(loaded) >= 4, tiles
    assert all(status in (200, 304) for status, _ in tiles), [t for t in tiles if t[0] not in (200, 304)]
    assert blocked_requests == [], blocked_requests  # zero requests left the machine
    assert [e for e in browser_errors if "tiles" in e] == []
