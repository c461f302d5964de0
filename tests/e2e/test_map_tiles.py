"""河湖一张图 on a store above ``RIVERGRID_MAP_TILES_REACHES`` (issue 19): the reaches come from the
app's vector tiles (``/api/tiles/rivers/…``) and are drawn by protomaps-leaflet, and a click on a
reach still opens its responsibility chain (found by a point query on the server)."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from playwright.sync_api import expect
from sqlalchemy import select

from gis.store.schema import Incident, Reach, SupervisedObject

from .demo import demo_store
from .test_map_click import FOLIUM_IFRAME, OFFLINE_ENV, PANEL, click_at, ready_map_frame

pytestmark = [pytest.mark.e2e, pytest.mark.serial]

PAINTED_RIVER_TILES_JS = """() => {
    // canvases in the rivers' pane with at least one painted pixel
    let drawn = 0;
    document.querySelectorAll(".leaflet-rgRivers-pane canvas").forEach((c) => {
        if (!c.width || !c.height) return;
        const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < data.length; i += 4 * 7) { if (data[i]) { drawn++; return; } }
    });
    return drawn;
}"""


def _quiet_reach(data_dir: Path) -> tuple[str, float, float]:
    """A demo reach and a point on it that is more than 300 m from every incident and object."""
    store = demo_store(data_dir)
    with store.session() as s:
        reaches = s.execute(select(Reach.name, Reach.geom).where(Reach.deleted_at.is_(None))).all()
        markers = [g for g in s.scalars(select(Incident.geom))] + [g for g in s.scalars(select(SupervisedObject.geom))]
    store.engine.dispose()
    others = shapely.MultiLineString([g for _, g in reaches if g.geom_type == "LineString"])
    for name, geom in reaches:
        for t in (0.3, 0.5, 0.7):
            pt = geom.interpolate(t, normalized=True)
            far = all(m is None or m.distance(pt) > 0.004 for m in markers)
            alone = sum(1 for _, g in reaches if g.distance(pt) < 0.002) == 1
            if far and alone and others is not None:
                return str(name), pt.y, pt.x
    raise AssertionError("no quiet reach in the demo")


def test_home_map_draws_reaches_from_tiles_and_a_click_opens_the_chain(
    app_server, page, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    name, lat, lon = _quiet_reach(tmp_path)
    base_url = app_server(
        {"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_MAP_TILES_REACHES": "0", **OFFLINE_ENV}
    )
    tiles: list[tuple[int, int]] = []

    def record(response) -> None:  # type: ignore[no-untyped-def]
        if "/api/tiles/rivers/" in response.url:
            tiles.append((response.status, len(response.body())))

    page.on("response", record)
    page.goto(base_url, wait_until="domcontentloaded")
    page.get_by_text("河湖一张图").first.wait_for(timeout=60_000)
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)
    frame = ready_map_frame(page, timeout_ms=90_000)
    frame.wait_for_function("() => window.map.getContainer().dataset.riverTiles === 'drawn'",
                            timeout=60_000)
    assert frame.evaluate("() => typeof window.rgRiverTilesFirstPaint") == "number"
    frame.wait_for_function(f"() => ({PAINTED_RIVER_TILES_JS})() >= 1", timeout=30_000)  # blue lines on screen
    # the reaches are not sent with the page: no packed reach layer, only tiles
    assert frame.evaluate("() => window.RiverGridRivers !== undefined")
    assert tiles and all(status == 200 for status, _ in tiles)
    assert any(size > 30 for _, size in tiles), tiles  # tiles with reaches in them, not only empty ones
    expect(page.locator(PANEL).get_by_text("点击地图上的")).to_be_visible(timeout=30_000)

    click_at(page, lat, lon, zoom=16)
    heading = page.locator(PANEL).locator("h4").first
    expect(heading).to_contain_text(f"河段：{name}", timeout=30_000)
    expect(page.locator(PANEL).get_by_text("责任链（自下而上）")).to_be_visible()
