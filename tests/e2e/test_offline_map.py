"""The folium map works with no internet: every script, stylesheet and font comes from this
server, the layers are drawn, and user text stays text.

A tiny Streamlit app (written to tmp_path, with tmp_path/static linked to the repository's
static/ since Streamlit serves ``static/`` beside the script) shows a map built with ``layers``
through ``st_folium``; the browser aborts every request that would leave the machine.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
XSS_NAME = '<img src=x onerror="window.__rg_xss=1">恶意村'
N_REACHES = 3
N_GRIDS = 3

DEMO_APP = textwrap.dedent(
    """
    import os

    import geopandas as gpd
    import streamlit as st
    from shapely.geometry import LineString, Point, Polygon
    from streamlit_folium import st_folium

    from layers import finish_map, grids_layer, make_map, objects_layer, reaches_layer

    st.set_page_config(page_title="离线地图", layout="wide")
    st.title("离线地图测试")

    reaches = gpd.GeoDataFrame(
        {
            "id": [1, 2, 3],
            "name": ["浑江城区段", "大罗圈河上段", "小河口段"],
            "river_name": ["浑江", "大罗圈河", "小河"],
            "code": ["HJ-01", "DLQ-01", "XH-01"],
            "level": ["county", "township", "village"],
        },
        geometry=[
            LineString([(126.82, 41.74), (126.88, 41.77), (126.95, 41.79), (127.02, 41.80)]),
            LineString([(126.90, 41.70), (126.91, 41.75), (126.92, 41.82)]),
            LineString([(126.96, 41.72), (126.97, 41.76)]),
        ],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")  # layers reproject at the render boundary
    grids = gpd.GeoDataFrame(
        {
            "id": [1, 2, 3],
            "name": ["示范县", "城关镇", os.environ["RG_XSS_NAME"]],
            "level": ["county", "township", "village"],
            "parent_name": [None, "示范县", "城关镇"],
            "responsible_body": ["县政府", "镇政府", "村委会"],
            "main_responsible": ["张县长", "李镇长", "王书记"],
            "township_supervisor": [None, None, "赵站长"],
            "illustrative": [False, False, True],
        },
        geometry=[
            Polygon([(126.78, 41.68), (127.06, 41.68), (127.06, 41.86), (126.78, 41.86)]),
            Polygon([(126.84, 41.72), (126.98, 41.72), (126.98, 41.83), (126.84, 41.83)]),
            Polygon([(126.86, 41.74), (126.92, 41.74), (126.92, 41.79), (126.86, 41.79)]),
        ],
        crs="EPSG:4326",
    )
    objects = gpd.GeoDataFrame(
        {
            "id": [1, 2],
            "name": ["某化工厂", "城区水源地"],
            "category": ["discharge_enterprise", "drinking_water_source"],
            "grid_name": ["城关镇", "城关镇"],
        },
        geometry=[Point(126.89, 41.765), Point(126.95, 41.80)],
        crs="EPSG:4326",
    )

    m = make_map(
        center=(41.77, 126.92),
        zoom=11,
        basemap=os.environ["RIVERGRID_BASEMAP"],
        tianditu_key=os.environ.get("TIANDITU_KEY"),
    )
    grids_layer(grids).add_to(m)
    reaches_layer(reaches).add_to(m)
    objects_layer(objects).add_to(m)
    finish_map(m)
    st_folium(m, height=640, use_container_width=True, returned_objects=[], key="map")
    """
)


@pytest.fixture
def demo_app(tmp_path: Path) -> Path:
    app = tmp_path / "offline_map_app.py"
    app.write_text(DEMO_APP, encoding="utf-8")
    (tmp_path / "static").symlink_to(REPO / "static", target_is_directory=True)
    return app


@pytest.mark.parametrize(
    ("basemap", "env"),
    [
        ("none", {}),
        ("tianditu_vec", {"TIANDITU_KEY": "e2e-test-key"}),
    ],
)
def test_map_draws_offline(
    app_server,
    page,
    blocked_requests: list,
    browser_errors: list[str],
    demo_app: Path,
    basemap: str,
    env: dict[str, str],
) -> None:
    base_url = app_server(
        {"RIVERGRID_BASEMAP": basemap, "RG_XSS_NAME": XSS_NAME, **env}, app=demo_app
    )
    page.goto(base_url, wait_until="domcontentloaded")

    page.wait_for_selector(FOLIUM_IFRAME, timeout=60_000)
    frame = page.frame_locator(FOLIUM_IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    paths = frame.locator("path.leaflet-interactive")
    paths.nth(N_REACHES + N_GRIDS - 1).wait_for(timeout=30_000)
    assert paths.count() >= N_REACHES + N_GRIDS
    # awesome-markers pins with Font Awesome glyphs, the controls, grid name labels
    assert frame.locator(".awesome-marker .fa-industry").count() == 1
    assert frame.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert frame.locator(".leaflet-control-measure").count() == 1
    assert frame.locator(".leaflet-control-layers").count() == 1
    assert frame.locator(".rg-grid-label", has_text="恶意村").count() == 1

    map_frame = page.locator(FOLIUM_IFRAME).element_handle().content_frame()
    assert map_frame is not None
    # Font Awesome's web font is loaded from the local copy
    map_frame.wait_for_function(
        "() => document.fonts.check('900 16px \"Font Awesome 6 Free\"')", timeout=15_000
    )
    # the measuring tool speaks Chinese (leaflet-measure localization "cn")
    assert "测量" in frame.locator(".leaflet-control-measure").inner_html()

    # open every tooltip and popup: user text must show as text, never run
    shown = map_frame.evaluate(
        """() => {
            const texts = [];
            window.map.eachLayer(layer => {
                if (layer.getTooltip && layer.getTooltip()) {
                    layer.openTooltip(layer.getLatLng ? layer.getLatLng()
                                      : layer.getBounds().getCenter());
                    texts.push(layer.getTooltip().getElement().textContent);
                }
            });
            return texts;
        }"""
    )
    assert any(XSS_NAME in text for text in shown), shown
    page.wait_for_timeout(500)  # an <img onerror> would have fired by now
    assert map_frame.evaluate("() => window.__rg_xss") is None
    assert map_frame.locator("img[src=x]").count() == 0
    map_frame.evaluate("() => window.map.eachLayer(l => l.closeTooltip && l.closeTooltip())")

    # the popup of the village grid lists its responsible persons
    map_frame.evaluate(
        """() => window.map.eachLayer(layer => {
            if (layer.feature && layer.feature.properties.illustrative && layer.getPopup())
                layer.openPopup();
        })"""
    )
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    for text in ("村级网格", "主要责任人", "王书记", "乡级监管责任人", "赵站长", "示意范围"):
        assert text in popup.inner_text()
    assert XSS_NAME in popup.inner_text()
    page.wait_for_timeout(400)  # let the popup finish fading in

    page.screenshot(path=f"/tmp/offline_map{'' if basemap == 'none' else '_' + basemap}.png")

    assets = [r for r in blocked_requests if r.resource_type in {"script", "stylesheet", "font"}]
    assert assets == [], assets
    if basemap == "none":
        assert blocked_requests == []
    else:  # only the Tianditu tiles tried to leave the machine
        assert blocked_requests, "the basemap should have asked for tiles"
        assert all(
            r.resource_type == "image" and r.host.endswith(".tianditu.gov.cn")
            for r in blocked_requests
        ), blocked_requests
        assert all("tk=e2e-test-key" in r.url for r in blocked_requests)
    errors = [e for e in browser_errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert errors == [], errors
