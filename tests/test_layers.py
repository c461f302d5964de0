"""Map layers: offline assets, basemaps, feature layers, escaping of user text.

Maps are rendered to HTML (``m.get_root().render()``) and inspected, as geopandas' ``explore``
tests do; what streamlit-folium would send to its iframe is checked through its own
``st_folium`` with the component function replaced.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import branca.colormap
import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

import layers._common as common
from gis.errors import CRSError, GeometryError, ValidationError
from gis.model import IncidentStatus
from layers import (
    OfflineAssetError,
    finish_map,
    grids_layer,
    incidents_layer,
    localize,
    make_map,
    objects_layer,
    reaches_layer,
    tracks_layer,
)
from layers.assets import (
    CDN_TO_VENDOR,
    VENDOR_DIR,
    VENDOR_URL,
    collect_links,
    external_assets,
    iter_elements,
    vendor_file,
)
from layers.incidents import STATUS_COLORS

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
ALLOWED_TAGS = {"b", "br", "div", "table", "tr", "th", "td"}


# ---------------------------------------------------------------- data


@pytest.fixture
def reaches() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [1, 2],
            "name": ["浑江城区段", f"恶意河段{SCRIPT}"],
            "river_name": ["浑江", IMG],
            "code": ["HJ-01", "X-02"],
            "level": ["county", "村级"],  # code or Chinese label
        },
        geometry=[
            LineString([(126.85, 41.75), (126.95, 41.80)]),
            LineString([(126.90, 41.70), (126.92, 41.82)]),
        ],
        crs="EPSG:4326",
    )


@pytest.fixture
def grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [10, 11, 12],
            "name": ["示范县", "城关镇", f"{IMG}恶意村"],
            "level": ["county", "township", "village"],
            "parent_name": [None, "示范县", "城关镇"],
            "responsible_body": ["县政府", "镇政府", SCRIPT],
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


@pytest.fixture
def tracks() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [1],
            "person_name": [f"巡查员{SCRIPT}"],
            "grid_name": ["城关镇"],
            "started_at": [pd.Timestamp("2024-05-01 08:00:00")],
            "ended_at": [pd.Timestamp("2024-05-01 09:30:00")],
            "length_m": [3420.5],
        },
        geometry=[LineString([(126.86, 41.76), (126.89, 41.79)])],
        crs="EPSG:4326",
    )


def make_incidents(n: int, *, status: str = "reported") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": range(n),
            "code": [f"SJ-{i:04d}" for i in range(n)],
            "title": [f"河道垃圾{i}" for i in range(n)],
            "category": ["ecology"] * n,
            "severity": ["normal"] * n,
            "status": [status] * n,
            "reported_at": [pd.Timestamp("2024-05-02 10:15")] * n,
            "grid_name": ["城关镇"] * n,
            "description": ["岸边堆放垃圾"] * n,
        },
        geometry=[Point(126.90 + i * 0.001, 41.78) for i in range(n)],
        crs="EPSG:4326",
    )


@pytest.fixture
def incidents() -> gpd.GeoDataFrame:
    gdf = make_incidents(4)
    gdf["status"] = ["reported", "处置中", "archived", "rejected"]
    gdf["severity"] = ["urgent", "major", "normal", "一般"]
    gdf.loc[0, "title"] = f"排污口{SCRIPT}"
    gdf.loc[1, "description"] = IMG
    return gdf


@pytest.fixture
def objects() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [1, 2],
            "name": ["某化工厂", f"水源地{IMG}"],
            "category": ["discharge_enterprise", "饮用水源地"],
            "grid_name": ["城关镇", "城关镇"],
        },
        geometry=[Point(126.91, 41.77), Point(126.93, 41.79)],
        crs="EPSG:4326",
    )


@pytest.fixture
def full_map(reaches, grids, tracks, incidents, objects) -> folium.Map:
    m = make_map(basemap="osm", tianditu_key=None)
    grids_layer(grids).add_to(m)
    reaches_layer(reaches).add_to(m)
    tracks_layer(tracks).add_to(m)
    incidents_layer(incidents).add_to(m)
    incidents_layer(make_incidents(60), name="历史事件").add_to(m)  # clustered
    objects_layer(objects).add_to(m)
    return finish_map(m)


# ---------------------------------------------------------------- helpers


def render(m: folium.Map) -> str:
    return m.get_root().render()


def js_text(text: str) -> str:
    """How a string appears inside folium's ``tojson`` output."""
    return (
        json.dumps(text)[1:-1]
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def geojsons(element) -> list[folium.GeoJson]:
    return [e for e in iter_elements(element) if isinstance(e, folium.GeoJson)]


def features(fg: folium.FeatureGroup) -> list[dict]:
    """Features of the layer's main GeoJson (labels excluded)."""
    return geojsons(fg)[0].data["features"]


def tags(fragment: str) -> set[str]:
    class Collect(HTMLParser):
        found: set[str] = set()

        def handle_starttag(self, tag, attrs):
            self.found.add(tag)

    parser = Collect()
    parser.found = set()
    parser.feed(fragment)
    return parser.found


CDN_TAG = re.compile(
    r"""<(?:script[^>]*\bsrc|link[^>]*\bhref)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE
)


def st_folium_links(m: folium.Map, monkeypatch: pytest.MonkeyPatch) -> dict:
    """What streamlit_folium.st_folium sends to its component, captured."""
    import streamlit_folium

    sent: dict = {}

    def component(**kwargs):
        sent.update(kwargs)
        return {}

    monkeypatch.setattr(streamlit_folium, "_component_func", component)
    streamlit_folium.st_folium(m, returned_objects=[])
    return sent


# ---------------------------------------------------------------- offline assets


def test_plain_folium_uses_cdns():
    """Sanity check of the premise: without localize the page loads from CDNs."""
    html = render(folium.Map(tiles=None))
    assert CDN_TAG.search(html)
    assert "cdn.jsdelivr.net" in html


def test_no_external_script_or_stylesheet_after_localize(full_map):
    html = render(full_map)
    assert not CDN_TAG.search(html), CDN_TAG.findall(html)
    assert external_assets(html) == []
    assert f'src="{VENDOR_URL}/rivergrid/map-core.js"' in html  # Leaflet with its two controls, local
    assert f'href="{VENDOR_URL}/leaflet.markercluster/MarkerCluster.css"' in html


def test_streamlit_folium_collects_only_local_links(full_map, monkeypatch):
    css, js = collect_links(full_map)
    sent = st_folium_links(full_map, monkeypatch)
    assert sent["js_links"] == js
    assert sent["css_links"] == css
    assert js[0] == f"{VENDOR_URL}/rivergrid/map-core.js"
    for url in css + js:
        assert url.startswith(f"{VENDOR_URL}/"), url
    assert "//" not in sent["header"].replace('http-equiv="', "")
    assert external_assets(sent["header"] + sent["html"]) == []


def test_committed_bundles_are_their_parts_concatenated():
    """static/vendor/rivergrid/*.js must be rebuilt (scripts/vendor_assets.sh) when a part changes."""
    from layers.assets import JS_BUNDLES, bundle_text

    for name, parts in JS_BUNDLES.items():
        text = (VENDOR_DIR / name).read_text(encoding="utf-8")
        assert text == bundle_text(name), f"{name} is stale: run scripts/vendor_assets.sh"
        for part in parts:  # each part whole, in order
            assert (VENDOR_DIR / part).read_text(encoding="utf-8").rstrip("\n") in text
        positions = [text.index(f"---- {part} ") for part in parts]
        assert positions == sorted(positions)


def test_bundle_replaces_its_parts_only_when_all_are_used(monkeypatch):
    from layers.assets import use_bundles

    m = use_bundles(finish_map(make_map(basemap="none", tianditu_key=None)))  # fullscreen + measure
    sent = st_folium_links(m, monkeypatch)
    js = sent["js_links"]
    assert js[0] == f"{VENDOR_URL}/rivergrid/map-core.js"  # Leaflet's place: first
    for part in ("leaflet/leaflet.js", "leaflet.fullscreen/Control.FullScreen.js",
                 "leaflet-measure/leaflet-measure.min.js"):
        assert f"{VENDOR_URL}/{part}" not in js
    assert vendor_file(js[0]).is_file()
    # a map without the measuring control keeps plain Leaflet
    bare = use_bundles(localize(folium.Map(tiles=None)))
    _, bare_js = collect_links(bare)
    assert bare_js[0] == f"{VENDOR_URL}/leaflet/leaflet.js"
    assert f"{VENDOR_URL}/rivergrid/map-core.js" not in bare_js


def test_a_map_loads_only_the_browser_files_it_uses() -> None:
    """streamlit-folium loads scripts one after another: jQuery, Bootstrap and the pin icons are
    three to six round trips before a map draws, and no RiverGrid map needs them unless it
    draws pins."""
    plain_css, plain_js = collect_links(finish_map(make_map(basemap="none", tianditu_key=None)))
    assert plain_js == [f"{VENDOR_URL}/rivergrid/map-core.js"]
    assert not [u for u in plain_css if "bootstrap" in u or "fontawesome" in u or "awesome-markers" in u]

    pinned = make_map(basemap="none", tianditu_key=None)
    folium.Marker([41.78, 126.92], icon=folium.Icon(prefix="fa", icon="location-dot")).add_to(pinned)
    css, js = collect_links(finish_map(pinned))
    assert f"{VENDOR_URL}/leaflet.awesome-markers/leaflet.awesome-markers.js" in js
    assert f"{VENDOR_URL}/fontawesome-free/css/all.min.css" in css
    assert not [u for u in css + js if "bootstrap" in u or "jquery" in u]

    # the pins of a GeoJson layer (the objects layer draws its points so) need them too
    objects = make_map(basemap="none", tianditu_key=None)
    folium.GeoJson({"type": "FeatureCollection", "features": []},
                   marker=folium.Marker(icon=folium.Icon(prefix="fa", icon="location-dot"))).add_to(objects)
    _, js = collect_links(finish_map(objects))
    assert f"{VENDOR_URL}/leaflet.awesome-markers/leaflet.awesome-markers.js" in js

    glyph = make_map(basemap="none", tianditu_key=None)
    folium.Marker([41.78, 126.92], icon=folium.Icon(icon="info-sign")).add_to(glyph)  # folium's default prefix
    css, _ = collect_links(finish_map(glyph))
    assert f"{VENDOR_URL}/bootstrap3-glyphicons/css/bootstrap-glyphicons.css" in css


def _every_plugin_map() -> folium.Map:
    m = make_map(basemap="none", tianditu_key=None)
    folium.plugins.MarkerCluster().add_to(m)
    folium.plugins.Draw().add_to(m)
    folium.Marker([41.78, 126.92], icon=folium.Icon(icon="info-sign")).add_to(m)
    return finish_map(m)


def test_every_referenced_asset_exists():
    m = _every_plugin_map()
    css, js = collect_links(m)
    assert any("leaflet-draw" in url for url in js)
    for url in css + js:
        assert vendor_file(url).is_file(), url
    for relative in CDN_TO_VENDOR.values():
        assert (VENDOR_DIR / relative).is_file(), relative


def test_vendored_css_references_resolve():
    """Fonts and images that vendored stylesheets point to are vendored too."""
    url_ref = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
    stylesheets = sorted(VENDOR_DIR.rglob("*.css"))
    assert len(stylesheets) >= 10
    for css in stylesheets:
        for ref in url_ref.findall(css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            assert not re.match(r"^(https?:)?//", ref), f"{css}: external {ref}"
            target = (css.parent / ref.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), f"{css.relative_to(VENDOR_DIR)} → {ref}"


def test_each_vendored_package_has_its_licence():
    for folder in sorted(p for p in VENDOR_DIR.iterdir() if p.is_dir()):
        if folder.name == "folium":  # generated rules, see scripts/vendor_assets.sh
            continue
        assert list(folder.glob("LICEN[CS]E*")) or list(folder.glob("MIT-LICEN[CS]E*")), folder


def test_vendored_versions_match_what_folium_expects():
    """package.json pins the versions in folium's CDN URLs (re-vendor after a folium upgrade)."""
    pinned = json.loads((REPO / "package.json").read_text())["dependencies"]
    urls = [
        url
        for cls in (
            folium.Map,
            folium.plugins.Fullscreen,
            folium.plugins.MeasureControl,
            folium.plugins.MarkerCluster,
            folium.plugins.Draw,
        )
        for _, url in cls.default_js + cls.default_css
    ]
    expected = {
        "leaflet": r"/leaflet@([\d.]+)/",
        "jquery": r"jquery-([\d.]+)\.min\.js",
        "bootstrap": r"/bootstrap@([\d.]+)/",
        "@fortawesome/fontawesome-free": r"fontawesome-free@([\d.]+)/",
        "leaflet.fullscreen": r"leaflet\.fullscreen@([\d.]+)/",
        "leaflet-measure": r"leaflet-measure@([\d.]+)/",
        "leaflet.markercluster": r"leaflet\.markercluster/([\d.]+)/",
        "leaflet-draw": r"leaflet\.draw/([\d.]+)/",
    }
    for package, pattern in expected.items():
        versions = {m.group(1) for url in urls if (m := re.search(pattern, url))}
        assert versions == {pinned[package]}, (package, versions, pinned[package])
    lock = json.loads((REPO / "package-lock.json").read_text())
    for package, version in pinned.items():
        assert lock["packages"][f"node_modules/{package}"]["version"] == version.split("@")[-1]


def test_unmapped_plugin_fails_loudly():
    m = make_map(basemap="none", tianditu_key=None)
    folium.plugins.Geocoder().add_to(m)
    with pytest.raises(OfflineAssetError, match="Geocoder"):
        finish_map(m)


def test_colormap_is_refused():
    m = make_map(basemap="none", tianditu_key=None)
    branca.colormap.LinearColormap(["white", "blue"], vmin=0, vmax=1).add_to(m)
    with pytest.raises(OfflineAssetError, match="d3"):
        localize(m)


def test_localize_also_fixes_links_of_an_earlier_render_and_is_idempotent():
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    assert CDN_TAG.search(render(m))
    localize(m)
    localize(m)
    html = render(m)
    assert not CDN_TAG.search(html)
    # folium's own class-level lists are left alone
    assert folium.Map.default_js[0][1].startswith("https://")


def test_localize_feature_group_for_dynamic_layers():
    fg = folium.FeatureGroup(name="动态")
    folium.plugins.MarkerCluster().add_to(fg)
    localize(fg)
    css, js = collect_links(fg)
    assert css and js
    assert all(url.startswith(VENDOR_URL) for url in css + js)


def test_layer_groups_are_offline_ready_on_their_own():
    """For st_folium(feature_group_to_add=...), which adds groups after finish_map."""
    fg = incidents_layer(make_incidents(60))
    css, js = collect_links(fg)
    assert any("markercluster" in url for url in js)
    assert all(url.startswith(VENDOR_URL) for url in css + js)


def test_layers_do_not_import_streamlit():
    code = "import sys, layers; print('streamlit' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- basemaps


def tile_urls(m: folium.Map, *, shown_only: bool = True) -> list[str]:
    """Tile URLs of the base map shown first (every base map's with ``shown_only=False``); each
    base map is a group in the layer control holding its tile layers."""
    urls = []
    for group in m._children.values():
        if isinstance(group, folium.FeatureGroup) and not group.overlay and (group.show or not shown_only):
            urls += [c.tiles for c in group._children.values() if isinstance(c, folium.TileLayer)]
    return urls


@pytest.mark.parametrize(
    ("basemap", "layers_"), [("tianditu_vec", ("vec", "cva")), ("tianditu_img", ("img", "cia"))]
)
def test_tianditu_urls_carry_the_key(basemap, layers_):
    m = make_map(basemap=basemap, tianditu_key="ab c&1")
    urls = tile_urls(m)
    assert len(urls) == 2
    for url, layer in zip(urls, layers_, strict=True):
        assert url.startswith(f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS")
        assert f"LAYER={layer}&" in url
        assert "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in url
        assert url.endswith("&tk=ab%20c%261")
    html = render(finish_map(m))
    assert js_text("tk=ab%20c%261") in html
    assert '"01234567"' in html  # subdomains t0–t7
    assert js_text("天地图") in html


@pytest.mark.parametrize("basemap", ["osm", "none"])
def test_key_is_not_sent_to_other_basemaps(basemap):
    m = make_map(basemap=basemap, tianditu_key="SECRET-KEY")
    # Tianditu stays in the switcher, the key only ever in its own tile URLs
    for url in tile_urls(m, shown_only=False):
        assert ("SECRET-KEY" in url) == ("tianditu.gov.cn" in url)
    assert not any("tianditu" in url for url in tile_urls(m))
    assert "SECRET-KEY" not in render(finish_map(make_map(basemap=basemap, tianditu_key=None)))


def test_osm_basemap():
    m = make_map(basemap="osm", tianditu_key=None)
    assert tile_urls(m) == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    assert "OpenStreetMap" in render(finish_map(m))


def test_basemap_none_has_no_tile_layer():
    m = finish_map(make_map(basemap="none", tianditu_key=None))
    assert tile_urls(m) == []
    html = render(m)
    assert ".leaflet-container { background: #eef1f4; }" in html


def test_tianditu_without_key_is_refused():
    with pytest.raises(ValidationError, match="tianditu_key"):
        make_map(basemap="tianditu_img", tianditu_key="  ")


def test_unknown_basemap_is_refused():
    with pytest.raises(ValidationError, match="basemap must be one of"):
        make_map(basemap="google", tianditu_key=None)


def test_map_controls_and_centre():
    m = finish_map(make_map(center=(41.5, 126.5), zoom=9, basemap="none", tianditu_key=None))
    html = render(m)
    assert "L.control.fullscreen" in html
    assert js_text("全屏显示") in html
    assert "new L.Control.Measure" in html and '"localization": "cn"' in html
    assert '"primaryLengthUnit": "meters"' in html
    assert "L.control.layers" in html
    assert "imperial: false" in html
    assert m.location == [41.5, 126.5] and m.options["zoom"] == 9


# ---------------------------------------------------------------- feature layers


def test_features_appear_in_the_map(full_map, reaches, grids, objects):
    html = render(full_map)
    for name in ["浑江城区段", "示范县", "城关镇", "某化工厂", "河道垃圾0", "SJ-0003"]:
        assert js_text(name) in html, name
    for layer_name in ["河段", "网格", "巡河轨迹", "事件", "历史事件", "重点对象"]:
        assert js_text(layer_name) in html, layer_name
    assert html.count("L.geoJson(") >= 6


def test_user_text_is_escaped_everywhere(full_map):
    html = render(full_map)
    for raw in (SCRIPT, IMG, "<script>alert", "<img src=x", "onerror=alert(2)>"):
        assert raw not in html
    popups = [
        (f["properties"].get(common.TOOLTIP, ""), f["properties"].get(common.POPUP, ""))
        for gj in geojsons(full_map)
        for f in gj.data["features"]
    ]
    texts = [t for pair in popups for t in pair] + [
        f["properties"]["label_html"]
        for gj in geojsons(full_map)
        for f in gj.data["features"]
        if "label_html" in f["properties"]
    ]
    joined = "\n".join(texts)
    # in a reach, a grid, a track and an incident; in a river, a grid, an incident, an object
    assert joined.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
    assert joined.count("&lt;img src=x onerror=alert(2)&gt;") >= 4
    for fragment in texts:
        assert tags(fragment) <= ALLOWED_TAGS, fragment
    # the escaped text survives folium's JSON embedding
    assert js_text("&lt;script&gt;alert(1)&lt;/script&gt;") in html


def test_reach_layer(reaches):
    fg = reaches_layer(reaches)
    assert fg.layer_name == "河段"
    props = [f["properties"] for f in features(fg)]
    assert [p["level"] for p in props] == ["county", "village"]
    assert props[0][common.TOOLTIP].startswith("<b>浑江城区段</b>")
    assert "河段编码" in props[0][common.POPUP] and "县级" in props[0][common.POPUP]
    style = geojsons(fg)[0].style_function
    county, village = (style(f) for f in features(fg))
    assert county["color"] == village["color"] == "#1565c0"
    assert county["weight"] > village["weight"]


def test_style_override_is_merged_over_the_base(reaches):
    fg = reaches_layer(reaches, style=lambda f: {"color": "#000000"})
    style = geojsons(fg)[0].style_function(features(fg)[0])
    assert style["color"] == "#000000"
    assert style["opacity"] == 0.9  # from the base style


def test_grids_layer(grids):
    fg = grids_layer(grids)
    assert fg.layer_name == "网格"
    main, labels_ = geojsons(fg)
    props = [f["properties"] for f in main.data["features"]]
    assert [p["level"] for p in props] == ["county", "township", "village"]
    assert [p["illustrative"] for p in props] == [False, False, True]
    assert "（示意）" in props[2][common.TOOLTIP]
    assert "（示意）" not in props[1][common.TOOLTIP]
    assert "张县长" in props[0][common.POPUP] and "赵站长" in props[2][common.POPUP]
    colors = [main.style_function(f)["color"] for f in main.data["features"]]
    assert len(set(colors)) == 3
    assert main.style_function(main.data["features"][2])["dashArray"] == "6 4"
    # by default only the finest level present gets a name label
    assert len(labels_.data["features"]) == 1
    assert "恶意村" in labels_.data["features"][0]["properties"]["label_html"]
    # the label point lies inside its grid
    x, y = labels_.data["features"][0]["geometry"]["coordinates"]
    assert grids.geometry[2].contains(Point(x, y))


def test_grids_layer_by_level_and_labels(grids):
    fg = grids_layer(grids, level="村级网格")
    assert fg.layer_name == "村级网格"
    assert [f["properties"]["id"] for f in features(fg)] == [12]
    assert len(geojsons(grids_layer(grids, labels=True))[1].data["features"]) == 3
    assert len(geojsons(grids_layer(grids, labels=False))) == 1
    with pytest.raises(ValidationError):
        grids_layer(grids, level="province")


def test_tracks_layer_casts_datetimes(tracks):
    fg = tracks_layer(tracks)
    assert fg.layer_name == "巡河轨迹"
    props = features(fg)[0]["properties"]
    assert props["started_at"] == "2024-05-01 08:00"
    assert props["length_m"] == 3420.5
    assert "3.42 公里" in props[common.POPUP]
    assert "2024-05-01 08:00 — 2024-05-01 09:30" in props[common.TOOLTIP]
    style = geojsons(fg)[0].style_function(features(fg)[0])
    assert style["dashArray"] and style["color"] == "#2e7d32" and style["weight"] <= 2
    json.dumps(geojsons(fg)[0].data)  # JSON-serialisable


def test_incidents_coloured_by_status(incidents):
    fg = incidents_layer(incidents)
    gj = geojsons(fg)[0]
    assert isinstance(gj.marker, folium.CircleMarker)
    assert not any(isinstance(e, folium.plugins.MarkerCluster) for e in iter_elements(fg))
    props = [f["properties"] for f in gj.data["features"]]
    assert [p["status"] for p in props] == ["reported", "in_progress", "archived", "rejected"]
    fills = [gj.style_function(f)["fillColor"] for f in gj.data["features"]]
    assert fills == [
        STATUS_COLORS[IncidentStatus.REPORTED],
        STATUS_COLORS[IncidentStatus.IN_PROGRESS],
        STATUS_COLORS[IncidentStatus.ARCHIVED],
        STATUS_COLORS[IncidentStatus.REJECTED],
    ]
    assert fills[0] != fills[1] and fills[2] != fills[3]
    radii = [gj.style_function(f)["radius"] for f in gj.data["features"]]
    assert radii[0] > radii[1] > radii[2] == radii[3]
    popup = props[1][common.POPUP]
    for label in ("生态环境", "较大", "处置中", "2024-05-02 10:15", "城关镇"):
        assert label in popup


def test_many_incidents_are_clustered():
    fg = incidents_layer(make_incidents(51))
    clusters = [e for e in iter_elements(fg) if isinstance(e, folium.plugins.MarkerCluster)]
    assert len(clusters) == 1
    gj = geojsons(fg)[0]
    assert gj._parent is clusters[0]
    icon = gj.style_function(gj.data["features"][0])
    assert STATUS_COLORS[IncidentStatus.REPORTED] in icon["html"]
    assert icon["iconSize"][0] == icon["iconSize"][1] > 0
    assert not any(
        isinstance(e, folium.plugins.MarkerCluster)
        for e in iter_elements(incidents_layer(make_incidents(50)))
    )
    forced = incidents_layer(make_incidents(2), cluster=True)
    assert any(isinstance(e, folium.plugins.MarkerCluster) for e in iter_elements(forced))


def test_unknown_status_warns_and_still_draws():
    gdf = make_incidents(2, status="lost")
    with pytest.warns(UserWarning, match="lost"):
        fg = incidents_layer(gdf)
    props = features(fg)[0]["properties"]
    assert props["status"] == "lost"
    assert "lost" in props[common.POPUP]


def test_objects_layer(objects):
    fg = objects_layer(objects)
    assert fg.layer_name == "重点对象"
    gj = geojsons(fg)[0]
    assert [f["properties"]["category"] for f in gj.data["features"]] == [
        "discharge_enterprise",
        "drinking_water_source",
    ]
    icons = [gj.style_function(f) for f in gj.data["features"]]
    assert icons[0]["icon"] == "industry" and icons[1]["icon"] == "droplet"
    assert icons[0]["markerColor"] != icons[1]["markerColor"]
    assert all(i["prefix"] == "fa" for i in icons)
    assert "饮用水源地" in gj.data["features"][1]["properties"][common.POPUP]


# ---------------------------------------------------------------- inputs


def test_layers_reproject_and_leave_the_callers_frame_alone(reaches, grids):
    projected = reaches.to_crs("EPSG:3857")
    before = projected.copy()
    fg = reaches_layer(projected)
    assert projected.crs == "EPSG:3857"
    assert projected.equals(before)
    x, y = features(fg)[0]["geometry"]["coordinates"][0]
    assert x == pytest.approx(126.85) and y == pytest.approx(41.75)
    grids_before = grids.copy()
    grids_layer(grids, level="village")
    assert grids.equals(grids_before)


def test_missing_crs_is_refused(reaches):
    with pytest.raises(CRSError, match="no CRS"):
        reaches_layer(reaches.set_crs(None, allow_override=True))


def test_missing_columns_are_named(reaches):
    with pytest.raises(ValidationError, match="river_name"):
        reaches_layer(reaches.drop(columns="river_name"))


def test_wrong_geometry_type_is_refused(objects):
    with pytest.raises(GeometryError, match="Point"):
        reaches_layer(
            objects.assign(river_name="x", code="c", level="county")  # points, not lines
        )


def test_rows_without_geometry_are_skipped_with_a_warning(reaches):
    gdf = reaches.copy()
    gdf.loc[1, "geometry"] = None
    with pytest.warns(UserWarning, match="without geometry"):
        fg = reaches_layer(gdf)
    assert len(features(fg)) == 1


@pytest.mark.parametrize(
    "layer", [reaches_layer, grids_layer, tracks_layer, incidents_layer, objects_layer]
)
def test_empty_layers_render(layer, reaches, grids, tracks, incidents, objects):
    source = {
        reaches_layer: reaches,
        grids_layer: grids,
        tracks_layer: tracks,
        incidents_layer: incidents,
        objects_layer: objects,
    }[layer]
    m = make_map(basemap="none", tianditu_key=None)
    layer(source.iloc[0:0]).add_to(m)
    assert "L.geoJson(" in render(finish_map(m))
