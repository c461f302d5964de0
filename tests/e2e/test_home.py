"""The real app's home page in Chromium, with every request leaving the machine aborted."""

from __future__ import annotations

from pathlib import Path

import pytest

from gis.demo.data import build_demo_data

pytestmark = pytest.mark.e2e

FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def test_home_page_draws_the_demo_rivers_and_grids_offline(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    demo = build_demo_data()
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "osm"})
    page.goto(base_url, wait_until="domcontentloaded")
    page.get_by_text("河湖一张图").first.wait_for(timeout=60_000)
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)
    frame = page.frame_locator(FOLIUM_IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    # county grid starts hidden; township + villages + every reach are vector paths
    expected_paths = len(demo.reaches) + sum(g.level != "county" for g in demo.grids)
    paths = frame.locator("path.leaflet-interactive")
    paths.nth(expected_paths - 1).wait_for(timeout=30_000)
    assert paths.count() >= expected_paths
    for grid in ("森工街道东兴村", "森工街道森工社区"):
        assert frame.locator(".rg-grid-label", has_text=grid).count() == 1
    assert frame.locator(".leaflet-control-layers").count() == 1
    assert frame.locator(".rivergrid-legend", has_text="村级网格").count() == 1
    # the KPIs come from the demo store
    assert page.get_by_text(f"{len(demo.reaches)} 段").count() >= 1
    # nothing but basemap tiles was asked of the internet, and it was refused
    assets = [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")]
    assert assets == []
    assert any("tile.openstreetmap.org" in r.url for r in blocked_requests)
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)


def test_the_leaders_map_takes_most_of_a_1400_pixel_screen(app_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The dashboard as a leader opens it at 1400×900: the map at least 70 % of the window's width,
    all of it on the first screen, the KPI cards above it, the chain hint floating on its edge."""
    from .browser import settle

    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none"})
    page.goto(base_url, wait_until="domcontentloaded")
    page.wait_for_selector(FOLIUM_IFRAME, timeout=90_000)
    frame = page.frame_locator(FOLIUM_IFRAME)
    frame.locator("path.leaflet-interactive").filter(visible=True).first.wait_for(timeout=60_000)
    settle(page)
    box = page.locator(FOLIUM_IFRAME).bounding_box()
    assert box["width"] >= 0.70 * 1400, box
    assert box["y"] + box["height"] <= 900, box  # the whole map on the first screen
    cards = page.locator('[data-testid="stMetric"]')
    assert cards.count() == 6 and all(cards.nth(i).bounding_box()["y"] < box["y"] for i in range(6))
    panel = page.locator(".st-key-chain_panel").bounding_box()
    inside = (box["x"] <= panel["x"] and panel["x"] + panel["width"] <= box["x"] + box["width"]
              and box["y"] <= panel["y"] and panel["y"] + panel["height"] <= box["y"] + box["height"])
    assert inside and panel["width"] * panel["height"] < 0.05 * box["width"] * box["height"], (panel, box)
    legend = frame.locator(".rivergrid-legend details")
    assert legend.get_attribute("open") is not None  # open on a wide map…
    frame.locator(".rivergrid-legend summary").click()
    assert legend.get_attribute("open") is None  # …and folds with a click
    frame.locator(".rivergrid-legend summary").click()
    settle(page)
    page.screenshot(path=str(tmp_path / "home-1400.png"))  # the docs' picture: tests/e2e/test_screenshots.py


def test_a_bookmarked_page_on_a_fresh_server_goes_through_the_router(app_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none"})
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")  # the very first request
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("rivergrid-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录：系统管理员").wait_for(timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("当前用户：系统管理员").wait_for(timeout=30_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_text("河湖一张图").count() == 1 and nav.get_by_text("修改记录").count() == 1
    assert nav.get_by_text("audit", exact=True).count() == 0  # no raw file names


def test_the_frontend_bundles_are_sent_gzipped(app_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import re
    import urllib.error
    import urllib.request

    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none"})
    index = urllib.request.urlopen(base_url + "/", timeout=30).read().decode()
    bundle = re.search(r'src="\.?/?(static/js/[^"]+\.js)"', index)
    assert bundle, "no script bundle in the root document"
    import gzip

    from streamlit import file_util

    from layers.assets import VENDOR_DIR

    cases = [(bundle.group(1), Path(file_util.get_static_dir()) / bundle.group(1)),
             ("app/static/vendor/rivergrid/map-core.js", VENDOR_DIR / "rivergrid" / "map-core.js")]
    for url_path, on_disk in cases:
        bodies = []
        for _ in range(2):  # the second answer comes from the server's cache: the same bytes
            request = urllib.request.Request(f"{base_url}/{url_path}", headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.headers.get("Content-Encoding") == "gzip", url_path
                body = response.read()
                assert int(response.headers["Content-Length"]) == len(body)
                etag = response.headers.get("ETag")
            bodies.append(body)
        assert bodies[0] == bodies[1]
        assert gzip.decompress(bodies[0]) == on_disk.read_bytes(), url_path  # the file, whole
        assert len(bodies[0]) < on_disk.stat().st_size / 2
        if url_path.startswith("static/"):  # Streamlit's own revalidation of its bundles still answers
            request = urllib.request.Request(f"{base_url}/{url_path}",
                                             headers={"Accept-Encoding": "gzip", "If-None-Match": etag or ""})
            try:
                urllib.request.urlopen(request, timeout=30)
                raise AssertionError("expected 304 Not Modified")
            except urllib.error.HTTPError as exc:
                assert exc.code == 304
    # a client that does not accept gzip gets the plain file
    with urllib.request.urlopen(f"{base_url}/{cases[1][0]}", timeout=30) as response:
        assert response.headers.get("Content-Encoding") is None
        assert response.read() == cases[1][1].read_bytes()
