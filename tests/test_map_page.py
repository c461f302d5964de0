"""河湖一张图: packed layers, the home map, click parsing, the chain panel, the incident card, and
the page itself with AppTest. The browser side is in tests/e2e/test_map_click.py."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as hs
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.auth import SYSTEM, Actor
from gis.config import PROJECT_DIR
from gis.errors import NotFoundError, ValidationError
from gis.model import GridLevel, UserRole
from layers.assets import collect_links, external_assets
from layers.home_map import (
    GAP_RULES,
    Overlay,
    available_basemaps,
    gap_layer_data,
    grid_layer_data,
    home_map,
    incident_layer_data,
    label_zoom,
    legend_html,
    object_layer_data,
    reach_layer_data,
    recent_tracks,
    track_layer_data,
)
from layers.packed import (
    CANVAS_THRESHOLD,
    decode_polyline,
    display_geometries,
    encode_parts,
    encode_polyline,
    js_literal,
    pack_areas,
    pack_layer,
    parse_ref,
)
from ui.chain_panel import chain_lines, history_line, show_phone
from ui.map_state import (
    PICK_KEY,
    STATE_KEY,
    ClickToken,
    HomeMapState,
    Selection,
    click_since,
    metres_per_pixel,
    parse_output,
    pixel_radius_m,
    snap_click,
    snap_into_grid,
    snap_to_point,
)
from ui.text import md_text

APP = str(PROJECT_DIR / "app.py")
XSS = '<img src=x onerror="window.__xss=1">'
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def unescape_js(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


# =============================================================================================
# Encoded polylines
# =============================================================================================


def test_polyline_matches_googles_published_example() -> None:
    coords = [(-120.2, 38.5), (-120.95, 40.7), (-126.453, 43.252)]
    assert encode_polyline(coords, precision=5) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
    assert decode_polyline("_p~iF~ps|U_ulLnnqC_mqNvxq`@", precision=5) == pytest.approx(coords)


lonlat = hs.tuples(hs.floats(-180, 180, allow_nan=False), hs.floats(-90, 90, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(hs.lists(hs.lists(lonlat, min_size=1, max_size=12), min_size=1, max_size=6))
def test_vectorised_encoding_equals_the_plain_one_and_round_trips(parts: list[list[tuple[float, float]]]) -> None:
    coords = np.array([c for part in parts for c in part], dtype=float)
    index = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    encoded = encode_parts(coords, index, len(parts))
    assert encoded == [encode_polyline(p) for p in parts]  # the one-vertex-at-a-time oracle
    for text, part in zip(encoded, parts, strict=True):
        assert decode_polyline(text) == pytest.approx([(round(x, 6), round(y, 6)) for x, y in part], abs=1e-9)


def test_polygon_rings_leave_out_the_closing_vertex_and_keep_holes() -> None:
    ring = [(126.0, 41.0), (126.1, 41.0), (126.1, 41.1), (126.0, 41.1)]
    hole = [(126.02, 41.02), (126.05, 41.02), (126.05, 41.05)]
    geoms = np.array([Polygon(ring, [hole]), MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)])], dtype=object)
    (poly,), two = pack_areas(geoms)
    assert [decode_polyline(r) for r in poly] == [pytest.approx(ring), pytest.approx(hole)]
    assert len(two) == 2 and all(len(rings) == 1 and len(decode_polyline(rings[0])) == 4 for rings in two)


# =============================================================================================
# Packing
# =============================================================================================


def zigzag(n: int = 200, amplitude_m: float = 2.0) -> LineString:
    """A line east along 41.8°N with ±amplitude_m metres of north-south wiggle every 20 m."""
    k = 111_320.0 * np.cos(np.radians(41.8))
    return LineString([(126.9 + i * 20 / k, 41.8 + (amplitude_m if i % 2 else -amplitude_m) / 110_574.0)
                       for i in range(n)])


def test_display_simplification_is_in_metres_and_within_tolerance() -> None:
    line = zigzag()
    series = gpd.GeoSeries([line], crs="EPSG:4326")
    kept = display_geometries(series, tolerance_m=5.0)[0]
    assert shapely.get_num_coordinates(kept) == 2  # ±2 m wiggle: gone at 5 m
    assert shapely.get_num_coordinates(display_geometries(series, tolerance_m=1.0)[0]) == 200  # kept at 1 m
    metric = gpd.GeoSeries([line, kept], crs="EPSG:4326").to_crs("EPSG:4551")
    assert metric.iloc[0].hausdorff_distance(metric.iloc[1]) <= 5.0
    # the same line handed over in metres gives the same answer
    again = display_geometries(series.to_crs("EPSG:4551"), tolerance_m=5.0)[0]
    assert np.allclose(shapely.get_coordinates(again), shapely.get_coordinates(kept), atol=1e-7)
    with pytest.raises(ValidationError, match="projected"):
        display_geometries(series, tolerance_m=5.0, crs="EPSG:4326")
    with pytest.raises(ValidationError, match="no CRS"):
        display_geometries(gpd.GeoSeries([line]), tolerance_m=5.0)


def test_pack_layer_shares_styles_and_texts_and_skips_empty_rows() -> None:
    geoms = gpd.GeoSeries([zigzag(10), None, zigzag(10).buffer(0.001).exterior, LineString()], crs="EPSG:4326")
    layer = pack_layer(
        "reach", geoms, geometry="line", ids=[1, 2, 3, 4],
        styles=[{"color": "#111"}, {"color": "#111"}, {"color": "#111"}, {"color": "#222"}],
        tooltips=[["甲", "所属河流：乙"], ["x"], ["丙", "所属河流：乙"], ["y"]],
    )
    spec = json.loads(unescape_js(layer.js))
    assert layer.n_features == 2 and [f[0] for f in spec["f"]] == [1, 3]
    assert spec["s"] == [{"color": "#111"}] and spec["t"] == ["甲", "所属河流：乙", "丙"]
    assert [f[2] for f in spec["f"]] == [[0, 1], [2, 1]]
    assert layer.info == {1: ("甲", "所属河流：乙"), 3: ("丙", "所属河流：乙")}
    assert "c" not in spec and "cl" not in spec
    with pytest.raises(ValidationError, match="2 ids"):
        pack_layer("reach", geoms, geometry="line", ids=[1, 2], styles=[{}] * 4, tooltips=[[]] * 4)
    with pytest.raises(ValidationError, match="geometry must be"):
        pack_layer("reach", geoms, geometry="polyline", ids=[1] * 4, styles=[{}] * 4, tooltips=[[]] * 4)


def test_big_layers_go_on_canvas_and_many_points_are_clustered() -> None:
    n = CANVAS_THRESHOLD + 1
    lines = gpd.GeoSeries([zigzag(3)] * n, crs="EPSG:4326")
    spec = json.loads(pack_layer("reach", lines, geometry="line", ids=list(range(n)), styles=[{}] * n,
                                 tooltips=[[]] * n).js)
    assert spec["c"] == 1
    points = gpd.GeoSeries([Point(126.9, 41.8)] * 51, crs="EPSG:4326")
    layer = pack_layer("incident", points, geometry="dot", ids=list(range(51)), styles=[{}] * 51, tooltips=[[]] * 51)
    assert layer.clustered and json.loads(layer.js)["cl"] == 1
    assert json.loads(layer.js)["f"][0][3] == [41.8, 126.9]  # [lat, lon], 6 decimals


def test_js_literal_is_safe_in_a_script_and_in_a_jinja_pass() -> None:
    value = {"name": f"{XSS}</script><!-- {{{{ 7*7 }}}} {{% if %}} {{# c #}} & \u2028"}
    text = js_literal(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert not re.search(r"\{[{%#]", text)
    assert json.loads(text) == value


@pytest.mark.parametrize(("text", "expected"), [
    ("rg:incident:12", ("incident", "12")), ("  rg:grid:3\n", ("grid", "3")), ("rg:x", None),
    ("事件 SJ-2026-003", None), (None, None), ("rg:in cident:1", None),
])
def test_parse_ref(text: object, expected: object) -> None:
    assert parse_ref(text) == expected


# =============================================================================================
# Layer data and the map
# =============================================================================================


def frame(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:  # type: ignore[type-arg]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def overlays() -> list[Overlay]:
    grids = frame(
        [{"id": 1, "name": "街道", "level": "township", "main_responsible": "孙凤海", "illustrative": False},
         {"id": 2, "name": f"东兴村{XSS}{{{{ 7*7 }}}}", "level": "village", "main_responsible": "何兆花",
          "illustrative": True}],
        [box(126.85, 41.75, 127.0, 41.85), box(126.85, 41.75, 126.92, 41.85)],
    )
    reaches = frame([{"id": 7, "name": "甲段", "river_name": "甲河", "level": "county"}],
                    [LineString([(126.86, 41.76), (126.95, 41.80)])])
    incidents = frame([{"id": 3, "code": "SJ-2026-003", "title": f"排污{XSS}", "category": "ecology",
                        "severity": "major", "status": "reported"}], [Point(126.9, 41.8)])
    objects = frame([{"id": 4, "name": "水源地", "category": "drinking_water_source", "grid_name": "东兴村"}],
                    [Point(126.91, 41.81)])
    tracks = frame([{"id": 5, "person_name": "何兆花", "grid_name": "东兴村", "started_at": NOW, "ended_at": NOW,
                     "length_m": 1234.0}], [LineString([(126.9, 41.8), (126.91, 41.81)])])
    findings = frame(
        [{"kind": "coverage", "rule": "uncovered", "message": "甲段 K0+000 未覆盖"},
         {"kind": "coverage", "rule": "boundary", "message": "界河段"},
         {"kind": "topology", "rule": "sliver", "message": "碎片"}],
        [LineString([(126.93, 41.78), (126.95, 41.80)]), LineString([(126.9, 41.8), (126.92, 41.8)]),
         box(126.9, 41.8, 126.91, 41.81)],
    )
    return [
        Overlay("township", "乡级网格", grid_layer_data(grids, level=GridLevel.TOWNSHIP)),
        Overlay("village", "村级网格", grid_layer_data(grids, level=GridLevel.VILLAGE, labels=True)),
        Overlay("reaches", "河段", reach_layer_data(reaches)),
        Overlay("gaps", "覆盖盲区", gap_layer_data(findings)),
        Overlay("tracks", "巡河轨迹", track_layer_data(tracks)),
        Overlay("objects", "重点监管对象", object_layer_data(objects)),
        Overlay("incidents", "事件", incident_layer_data(incidents)),
    ]


def render(overlays: list[Overlay], **kwargs: object) -> str:
    options = {"basemap": "none", "tianditu_key": None, "center": (41.8, 126.9), "zoom": 12, **kwargs}
    return home_map(overlays, **options).get_root().render()  # type: ignore[arg-type]


def test_layer_data_carries_labels_styles_and_plain_text(overlays: list[Overlay]) -> None:
    by_key = {o.key: o.layer for o in overlays}
    village = json.loads(unescape_js(by_key["village"].js))
    assert village["f"][0][0] == 2 and village["s"][0]["dashArray"] == "6 4"  # illustrative: dashed
    assert village["t"][:2] == [f"东兴村{XSS}{{{{ 7*7 }}}}（示意）", "村级网格"]
    assert village["lb"][0][2] == f"东兴村{XSS}{{{{ 7*7 }}}}" and village["lz"] == label_zoom(
        frame([{}], [box(126.85, 41.75, 126.92, 41.85)]))
    incident = json.loads(unescape_js(by_key["incidents"].js))
    assert incident["t"][0] == "事件 SJ-2026-003" and incident["s"][0]["fillColor"] == "#d32f2f"
    assert by_key["gaps"].n_features == 1  # only uncovered/overlap stretches, no boundary or topology
    assert set(GAP_RULES) == {"uncovered", "overlap"}
    assert by_key["tracks"].info[5] == ("巡河轨迹：何兆花", "2026-11-20 20:00 — 2026-11-20 20:00", "1.23 公里")
    assert by_key["objects"].info[4] == ("水源地", "饮用水源地", "所属网格：东兴村")


def test_home_map_is_offline_escaped_and_never_templated_twice(overlays: list[Overlay]) -> None:
    html = render(overlays)
    assert external_assets(html) == []
    assert "<img" not in html  # user text only ever inside escaped JSON strings
    text = unescape_js(html)
    assert "东兴村<img src=x onerror=" in text  # as data, in a JSON string (quotes escaped)
    assert "{{ 7*7 }}（示意）" in text and "49（示意）" not in text  # not evaluated by Jinja
    css, js = collect_links(home_map(overlays, basemap="none", tianditu_key=None, center=(41.8, 126.9), zoom=12))
    assert not [u for u in css + js if "jquery" in u or "bootstrap" in u]  # unused: left out
    assert any("awesome-markers" in u for u in js)  # pins need them
    assert "RG.start(" in html and "rivergrid-legend" in html and "L.control.layers" in html


def test_the_browser_side_of_packed_layers_is_a_served_static_file(overlays: list[Overlay]) -> None:
    """The decoder and bridge are a file under static/ (served by Streamlit, offline), linked
    after Leaflet, not a script string inlined into every map."""
    from layers.packed import RUNTIME_CSS, RUNTIME_JS, STATIC_DIR, STATIC_URL

    css, js = collect_links(home_map(overlays, basemap="none", tianditu_key=None, center=(41.8, 126.9), zoom=12))
    assert f"{STATIC_URL}/{RUNTIME_JS}" in js and f"{STATIC_URL}/{RUNTIME_CSS}" in css
    assert js.index(f"{STATIC_URL}/{RUNTIME_JS}") > 0  # Leaflet (or its bundle) first
    script = (STATIC_DIR / RUNTIME_JS).read_text(encoding="utf-8")
    assert "window.RG = window.RG ||" in script and "RG.start = function" in script
    assert ".rg-grid-label" in (STATIC_DIR / RUNTIME_CSS).read_text(encoding="utf-8")
    html = render(overlays)
    assert "RG.decode = function" not in html and f'src="{STATIC_URL}/{RUNTIME_JS}"' in html


def test_base_maps_offered_with_and_without_a_tianditu_key(overlays: list[Overlay], monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))  # no 简图 built there
    assert available_basemaps(None) == ["osm", "none"]
    assert available_basemaps("k") == ["tianditu_vec", "tianditu_img", "osm", "none"]
    html = render(overlays, basemap="tianditu_img", tianditu_key="SECRET")
    for layer in ("vec", "cva", "img", "cia"):  # imagery and vector, each with its annotation
        assert f"/{layer}_w/wmts" in html
    assert html.count("tk=SECRET") == 4 and "tianditu" not in unescape_js(html).split("openstreetmap")[1][:200]
    with pytest.raises(ValidationError, match="tianditu_vec"):
        render(overlays, basemap="tianditu_vec", tianditu_key=None)
    with pytest.raises(ValidationError):
        render(overlays, basemap="google")
    assert "tianditu" not in render(overlays)


def test_overlay_choice_and_empty_layers(overlays: list[Overlay]) -> None:
    m = home_map(overlays, basemap="osm", tianditu_key=None, center=(41.8, 126.9), zoom=12,
                 shown={"reaches": False, "township": True})
    groups = {fg.layer_name: fg for fg in m._children.values() if hasattr(fg, "layer_name") and hasattr(fg, "show")}
    assert groups["河段"].show is False and groups["乡级网格"].show is True and groups["事件"].show is True
    assert groups["OpenStreetMap"].show is True and groups["无底图"].show is False
    empty = Overlay("objects2", "空图层", object_layer_data(frame([], []).assign(id=[], name=[], category=[],
                                                                            grid_name=[])))
    assert "空图层" not in render([*overlays, empty])


def test_legend_names_what_is_drawn() -> None:
    html = legend_html(categories=["drinking_water_source", "nonsense"], gaps=False, tracks=True)
    assert "饮用水源地" in html and "巡河轨迹" in html and "未覆盖" not in html and "待受理" in html


def test_label_zoom_and_recent_tracks() -> None:
    assert label_zoom(frame([{}], [box(126.85, 41.75, 126.95, 41.85)])) == 11  # 0.1° wide: 90 px at z11
    tracks = frame([{"started_at": NOW - timedelta(days=d)} for d in (1, 89, 91)], [LineString([(0, 0), (1, 1)])] * 3)
    assert len(recent_tracks(tracks, now=NOW)) == 2


# =============================================================================================
# What st_folium returns
# =============================================================================================


def out(count: int = 0, obj: tuple | None = None, tip: str | None = None, clicked: tuple | None = None,
        **extra: object) -> dict:
    value = {"last_object_clicked_count": count, "last_object_clicked_tooltip": tip,
             "last_object_clicked": {"lat": obj[0], "lng": obj[1]} if obj else None,
             "last_clicked": {"lat": clicked[0], "lng": clicked[1]} if clicked else None, "zoom": 13,
             "center": {"lat": 41.8, "lng": 126.9}}
    value.update(extra)
    return value


def test_every_click_is_seen_once_even_on_the_same_marker() -> None:
    state = HomeMapState()
    assert state.absorb(parse_output(None), overlay_keys=[]) is None  # before the map reports
    assert parse_output({"zoom": 11, "last_clicked": None}).zoom is None  # st_folium's defaults
    assert state.absorb(parse_output(out()), overlay_keys=[]) is None  # map started, no click
    first = state.absorb(parse_output(out(1, (41.8, 126.9), "rg:incident:12")), overlay_keys=[])
    assert first == Selection("incident", 12, 41.8, 126.9, 13)
    assert state.absorb(parse_output(out(1, (41.8, 126.9), "rg:incident:12")), overlay_keys=[]) is None  # a pan
    again = state.absorb(parse_output(out(2, (41.8, 126.9), "rg:incident:12")), overlay_keys=[])
    assert again == first  # the same marker clicked again: a new click
    # a line is clicked: the map's own click comes along, the feature wins
    line = state.absorb(parse_output(out(3, (41.81, 126.91), "rg:reach:7", clicked=(41.81, 126.91))),
                        overlay_keys=[])
    assert line is not None and (line.kind, line.ref_id) == ("reach", 7)
    # the background: only last_clicked changes
    point = state.absorb(parse_output(out(3, (41.81, 126.91), "rg:reach:7", clicked=(41.7, 127.0))),
                         overlay_keys=[])
    assert point == Selection("point", None, 41.7, 127.0, 13)
    # a tooltip without a reference (no bridge): coordinates only
    assert click_since(parse_output(out(4, (41.8, 126.9), "事件 SJ-2026-003")), state.handled) == \
        Selection("point", None, 41.8, 126.9, 13)
    # a fresh map (remounted) starts counting again from zero
    assert click_since(parse_output(out(1, (41.8, 126.9), "rg:grid:2")), None) == Selection("grid", 2, 41.8, 126.9, 13)
    assert click_since(parse_output(out(1, (41.8, 126.9), "rg:grid:2")), ClickToken(5)) is not None


def test_view_base_map_and_overlays_are_recorded_and_reused_on_remount() -> None:
    state = HomeMapState()
    layers = [{"name": "reaches", "url": "rg:overlay"}, {"name": "village", "url": "rg:overlay"},
              {"name": "osm", "url": "rg:base"}, {"name": "x", "url": "http://wms"}]
    state.absorb(parse_output(out(center={"lat": 41.7, "lng": 126.8}, selected_layers=layers)),
                 overlay_keys=["reaches", "village", "incidents"])
    assert (state.center, state.zoom, state.basemap) == ((41.7, 126.8), 13, "osm")
    assert state.overlays == {"reaches": True, "village": True, "incidents": False}
    mount = state.remount(("k",), basemap="osm")
    assert (mount.center, mount.zoom, mount.overlays) == ((41.7, 126.8), 13, state.overlays)
    state.move_to(41.75, 126.85, zoom=15)
    assert (mount.center, mount.zoom) == ((41.75, 126.85), 15)
    state.move_to(41.75, 126.85, zoom=15)  # same request again: nudged so the map still moves
    assert mount.center != (41.75, 126.85) and abs(mount.center[0] - 41.75) < 1e-6


def test_a_click_on_a_grids_outline_just_outside_it_is_moved_into_it() -> None:
    grids = frame([{"id": 2}], [box(126.85, 41.75, 126.92, 41.85)])
    outside = Selection("grid", 2, 41.8, 126.92005, 12)  # ~4 m east of the boundary: on the stroke
    moved = snap_into_grid(outside, grids)
    assert grids.geometry.iloc[0].covers(Point(moved.lon, moved.lat))
    assert moved.lat == pytest.approx(41.8) and moved.lon == pytest.approx(126.92, abs=1e-6)
    inside = Selection("grid", 2, 41.8, 126.9, 12)
    assert snap_into_grid(inside, grids) is inside
    assert snap_into_grid(Selection("point", None, 41.8, 126.92005, 12), grids).lon == 126.92005
    assert snap_into_grid(Selection("grid", 99, 41.8, 126.92005, 12), grids).lon == 126.92005


def test_snapping_a_coordinate_click_to_a_marker() -> None:
    assert metres_per_pixel(0, 0) == pytest.approx(156_543.03392)
    assert pixel_radius_m(41.8, 14) == pytest.approx(8 * 156_543.03392 * np.cos(np.radians(41.8)) / 2**14)
    points = frame([{"id": 1}, {"id": 2}], [Point(126.9, 41.8), Point(126.91, 41.8)])
    assert snap_to_point(points, 41.8, 126.9001, radius_m=20) == 1  # ~8 m away
    assert snap_to_point(points, 41.8, 126.905, radius_m=20) is None  # ~415 m from both
    assert snap_to_point(points.iloc[:0], 41.8, 126.9, radius_m=20) is None
    near = Selection("point", None, 41.8, 126.90005, 14)  # ~4 m off marker 1: within 8 px at zoom 14
    assert snap_click(near, points) == Selection("incident", 1, 41.8, 126.90005, 14)
    assert snap_click(Selection("point", None, 41.8, 126.903, 14), points).kind == "point"  # ~250 m: no


# =============================================================================================
# The panel's text
# =============================================================================================


def test_md_text_shows_user_text_literally() -> None:
    raw = XSS + " **粗** [链接](http://x) ![图](https://evil.example/x.png) www.evil.example :red[红] $x$\n第二行"
    text = md_text(raw)
    assert "<" not in text and ">" not in text
    assert "\\*\\*粗\\*\\*" in text and "\\[链接\\]\\(http" in text and "\\$x\\$" in text
    assert "\\!\\[图\\]" in text  # no image syntax left
    assert "\n" not in text
    # no autolink trigger survives (GFM links bare http://, https://, www.)
    for trigger in ("http:", "https:", "www.", "http\\:", "https\\:", "www\\."):
        assert trigger not in text
    # and what shows is exactly what was typed: undo entities, escapes and word joiners
    shown = re.sub(r"\\(.)", r"\1", text.replace("\u2060", ""))
    shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert shown == raw.replace("\n", " ")


class Link:
    def __init__(self, person: str, phone: str, public: bool) -> None:
        self.role, self.role_label, self.person, self.title = "x", "村级河长", person, "书记"
        self.phone, self.phone_public, self.grid, self.grid_id = phone, public, "东兴村", 1
        self.body, self.departed = "", False


class FakeChain:
    def __init__(self, *links: Link) -> None:
        self.chain = list(links)


def test_private_phones_only_for_signed_in_users() -> None:
    public, private = Link("甲", "111", True), Link(f"乙{XSS}", "222", False)
    assert show_phone(public, signed_in=False) == "111" and show_phone(private, signed_in=False) == ""
    assert show_phone(private, signed_in=True) == "222"
    anonymous = "\n".join(chain_lines(FakeChain(public, private), signed_in=False))
    assert "111" in anonymous and "222" not in anonymous and "登录后可见" in anonymous and "<img" not in anonymous
    assert "222" in "\n".join(chain_lines(FakeChain(public, private), signed_in=True))


def test_history_line() -> None:
    from gis.incidents.card import IncidentStep

    step = IncidentStep(NOW, "accept", "受理", "reported", "上报", "accepted", "受理", "高雪", "受理，交东兴村。")
    line = history_line(step)
    assert line.startswith("**2026\\-11\\-20 20\\:00**") and "上报 → 受理" in line and "高雪" in line
    report = IncidentStep(NOW, "report", "上报", None, "", "reported", "上报", "", "")
    assert history_line(report) == "**2026\\-11\\-20 20\\:00**　上报"


# =============================================================================================
# The incident card
# =============================================================================================


@pytest.fixture
def demo_store(tmp_path: Path, demo_sqlite_copy):  # type: ignore[no-untyped-def]
    from gis.store import Store

    store = Store(f"sqlite:///{demo_sqlite_copy(tmp_path / 'demo.sqlite')}")  # the session's demo template
    yield store
    store.dispose()


def test_incident_card_of_the_demo(demo_store) -> None:  # type: ignore[no-untyped-def]
    from gis.demo.data import REFERENCE_TIME
    from gis.incidents.card import load_incident_card
    from gis.store.schema import Incident

    with demo_store.session() as s:
        ids = dict(s.execute(select(Incident.code, Incident.id)).all())
        card = load_incident_card(s, ids["SJ-2026-004"], now=REFERENCE_TIME)
        overdue = load_incident_card(s, ids["SJ-2026-008"], now=REFERENCE_TIME)
        with pytest.raises(NotFoundError, match="没有编号为 -1 的事件"):
            load_incident_card(s, -1)
    assert (card.code, card.category, card.grid, card.status_code) == ("SJ-2026-004", "违法建设项目", "森工街道东兴村",
                                                                       "archived")
    first = card.history[0]
    assert (first.action_label, first.to_label, first.by, first.at_local) == ("上报", "上报", "王立军", "2026-09-29 10:10")
    assert [s.at for s in card.history] == sorted(s.at for s in card.history)
    assert not card.is_open and not card.overdue and overdue.is_open and overdue.overdue


# =============================================================================================
# The page (AppTest)
# =============================================================================================


def panel_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown) + "\n".join(str(w.value) for w in at.warning)


def test_home_page_kpis_and_chain_panel(app_env: Path) -> None:
    from gis.store import Store
    from gis.store.schema import Grid, Incident

    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[1:] == ["网格覆盖率", "在办事件", "超期事件", "本月巡河", "本月上报事件"]
    assert labels[0] == "河段（7 段）" and at.metric[1].value.endswith("%")
    assert "点击地图上的" in panel_text(at)

    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        incident = s.scalar(select(Incident).where(Incident.code == "SJ-2026-004"))
        dongxing = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村")).id
        here = (incident.id, incident.geom.y, incident.geom.x)
    store.dispose()
    at.session_state[STATE_KEY].selection = Selection("incident", here[0], here[1], here[2], 14)
    at.run()
    text = panel_text(at)
    assert "事件 SJ\\-2026\\-004" in text and "何兆花" in text and "张力文" in text and "崔雪冰" in text
    assert "0439" not in text and "登录后可见" in text  # private phones hidden from visitors
    assert "办理过程（" in " ".join(e.label for e in at.expander)

    at.session_state["actor"] = Actor("staff", UserRole.STAFF, "工作人员")
    at.run()
    assert "0439\\-52xxx08" in panel_text(at)  # 何兆花's phone for a signed-in user

    at.session_state[STATE_KEY].selection = Selection("grid", dongxing, 41.788, 126.999, 13)
    at.run()
    text = panel_text(at)
    assert "网格：森工街道东兴村" in text and "何兆花" in text and "SJ\\-2026\\-004" not in text


def test_view_survives_leaving_and_coming_back(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    state = at.session_state[STATE_KEY]
    first_mount = state.mount
    assert first_mount is not None and first_mount.center is None  # default view: the township fits
    state.center, state.zoom, state.basemap = (41.77, 126.95), 15, "osm"
    state.overlays = {"reaches": False}
    at.run()  # a rerun: the mounted map is kept (no reload under the user's hands)
    assert at.session_state[STATE_KEY].mount is first_mount
    at.switch_page("pages/blind_spots.py").run()
    at.switch_page("pages/home.py").run()
    assert not at.exception
    mount = at.session_state[STATE_KEY].mount
    assert (mount.center, mount.zoom, mount.basemap, mount.overlays) == ((41.77, 126.95), 15, "osm",
                                                                         {"reaches": False})


def test_system_actor_can_put_html_into_names_and_it_stays_text(app_env: Path) -> None:
    """The store accepts any text; the page escapes it (the browser check is in tests/e2e)."""
    from gis.store import Store
    from gis.store.schema import Grid

    AppTest.from_file(APP, default_timeout=180).run()  # first start: demo loaded
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session(SYSTEM) as s:
        grid = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村"))
        grid.name = f"东兴村{XSS}"
        grid_id = grid.id
    store.dispose()
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[STATE_KEY] = HomeMapState(selection=Selection("grid", grid_id, 41.788, 126.999, 13))
    at.run()
    assert not at.exception
    text = panel_text(at)
    assert md_text(f"东兴村{XSS}") in text and "&lt;img src" in text
    assert "<img" not in text


def test_the_incident_picker_opens_an_incident_and_moves_the_map(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    picker = next(s for s in at.selectbox if s.label == "快速查看事件")
    options = list(picker.options)
    assert options and all(o.startswith("SJ-2026-") for o in options)
    from gis.store import Store
    from gis.store.schema import Incident

    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        overdue = s.scalar(select(Incident.id).where(Incident.code == "SJ-2026-008"))
    store.dispose()
    picker.set_value(overdue).run()
    assert not at.exception
    state = at.session_state[STATE_KEY]
    assert state.selection is not None and state.selection.kind == "incident"
    assert state.mount.center == pytest.approx((state.selection.lat, state.selection.lon))
    assert state.mount.zoom == 15
    text = panel_text(at)
    assert "事件 SJ\\-2026\\-008" in text and ":red-badge[已超期]" in text
    assert at.session_state[PICK_KEY] is None  # the picker is ready for the next pick
