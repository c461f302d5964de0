"""网格管理 in Chromium, with the mouse: draw a new village grid, move a vertex of an existing one,
split one by a line; each time the database holds the expected boundary (computed here with
plain shapely from the demo boundaries) and the page's gap list changes accordingly. Leaders see
no editing tools."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from playwright.sync_api import expect
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import split
from sqlalchemy import select

from gis.store import Store
from gis.store.schema import Grid

from .demo import demo_store  # a fresh copy of the session's demo template

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="ui.components.grid_draw.grid_draw"]'
GAPS = ".st-key-grid_gaps"
OFFLINE_ENV = {"RIVERGRID_BASEMAP": "none", "TIANDITU_KEY": ""}
TOWNSHIP, DONGXING, SENGONG = "临江市森工街道办事处", "森工街道东兴村", "森工街道森工社区"
_TO_M = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True).transform


def area_m2(geom) -> float:  # type: ignore[no-untyped-def]
    """Area in m² in CGCS2000 / 3-degree Gauss-Kruger CM 126E (EPSG:4551)."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_M(xy[:, 0], xy[:, 1]))).area


def live(store: Store) -> dict[str, Grid]:
    with store.session() as s:
        return {g.name: g for g in s.scalars(select(Grid).where(Grid.deleted_at.is_(None)))}


def open_editor(page, base_url: str, user: str | None = "staff"):  # type: ignore[no-untyped-def]
    page.goto(base_url, wait_until="domcontentloaded")
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("河湖一张图").wait_for(timeout=60_000)
    if user is not None:
        nav.get_by_text("登录").click()
        page.get_by_label("用户名").fill(user)
        page.get_by_label("密码").fill("rivergrid-demo")
        page.get_by_role("button", name="登录").click()
        page.get_by_text("已登录").wait_for(timeout=60_000)
    nav.get_by_text("网格管理").click()
    page.locator(GAPS).get_by_text("剩余盲区").wait_for(timeout=90_000)
    page.locator(GAPS).locator("li").first.wait_for(timeout=60_000)  # the list itself (the demo has gaps)
    page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").filter(visible=True).first.wait_for(timeout=60_000)


def map_frame(page):  # type: ignore[no-untyped-def]
    return next(f for f in page.frames if f.url and "grid_draw" in f.url)


def idle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page's script run has finished (Streamlit marks the app's state)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the map stops moving on the page (reruns re-lay the page out)."""
    last = None
    for _ in range(40):
        page.wait_for_timeout(250)
        box = page.locator(MAP_IFRAME).bounding_box()
        if box == last:
            return
        last = box


def fit_view(page, south: float, west: float, north: float, east: float) -> None:  # type: ignore[no-untyped-def]
    """Show the whole map on screen (a click into a partly hidden frame scrolls the page) and
    fit it to the bounds."""
    settle(page)
    page.locator(MAP_IFRAME).scroll_into_view_if_needed()
    settle(page)
    map_frame(page).evaluate("(b) => window.map.fitBounds(b, {animate: false})", [[south, west], [north, east]])
    settle(page)


def screen_xy(page, lat: float, lon: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Page coordinates of (lat, lon) on the editor map."""
    x, y = map_frame(page).evaluate(
        "([lat, lon]) => { var p = window.map.latLngToContainerPoint([lat, lon]);"
        " var r = window.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
        [lat, lon],
    )
    box = page.locator(MAP_IFRAME).bounding_box()
    return box["x"] + x, box["y"] + y


def lat_lon_at(page, x: float, y: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(lat, lon) under the page point (x, y): where Leaflet puts a vertex dropped there."""
    box = page.locator(MAP_IFRAME).bounding_box()
    return tuple(map_frame(page).evaluate(
        "([x, y]) => { var r = window.map.getContainer().getBoundingClientRect();"
        " var ll = window.map.containerPointToLatLng([x - r.left, y - r.top]); return [ll.lat, ll.lng]; }",
        [x - box["x"], y - box["y"]],
    ))


def click(page, lat: float, lon: float) -> None:  # type: ignore[no-untyped-def]
    page.mouse.click(*screen_xy(page, lat, lon))
    page.wait_for_timeout(250)


def choose_mode(page, label: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_text(label, exact=True).click()
    page.frame_locator(MAP_IFRAME).locator("#hint").wait_for(timeout=30_000)
    page.wait_for_timeout(500)


def pick(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    """Choose ``option`` in the select box labelled ``label`` (once the page's script run is over:
    a rerun replaces an open list under the click)."""
    idle(page)
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    idle(page)


def gap_lines(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(GAPS).locator("li").all_inner_texts()


def gap_areas_m2(lines: list[str]) -> list[float]:
    """The areas (m²) of the 上级网格内的空白区 named in the gap list."""
    return [float(m.group(1).replace(",", "")) for line in lines if "不属于任何下级网格" in line
            for m in [re.search(r"（([\d,]+) m²）", line)] if m]


def test_draw_a_new_village_grid_fitted_into_the_gap(app_server, page, blocked_requests: list, browser_errors: list[str],  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    store = demo_store(tmp_path)
    before = live(store)
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url)
    lines = gap_lines(page)
    assert any("不在任何村级网格内" in line for line in lines), lines  # the demo's blind spot
    assert gap_areas_m2(lines), lines  # and the strip of the township outside both villages

    choose_mode(page, "绘制新网格")
    fit_view(page, 41.71, 126.79, 41.86, 126.86)
    # a rough rectangle: spills west out of the township and east over 森工社区
    corners = [(41.85, 126.80), (41.85, 126.84), (41.72, 126.84), (41.72, 126.80)]
    drawn_ll = [lat_lon_at(page, *screen_xy(page, *c)) for c in corners]
    for corner in corners:
        click(page, *corner)
    click(page, *corners[0])  # the first vertex again closes the ring
    page.get_by_text("调整后面积").wait_for(timeout=30_000)
    changes = page.locator(".st-key-ge_changes")
    changes.get_by_text("超出上级网格").wait_for()
    changes.get_by_text("重叠").first.wait_for()
    page.get_by_label("网格名称").fill("森工街道西岸村")
    page.get_by_label("网格名称").press("Enter")
    idle(page)
    page.get_by_role("button", name="确认保存").click()
    page.get_by_text("已保存网格“森工街道西岸村”").wait_for(timeout=30_000)

    after = live(store)
    new = after["森工街道西岸村"]
    assert new.level == "village" and new.parent_id == before[TOWNSHIP].id and new.version == 1
    township, villages = before[TOWNSHIP].geom, shapely.union_all([before[DONGXING].geom, before[SENGONG].geom])
    drawn = Polygon([(lon, lat) for lat, lon in drawn_ll])
    oracle = drawn.intersection(township).difference(villages)  # what fitting should leave
    assert area_m2(new.geom.difference(township)) < 1.0  # inside the parent
    assert area_m2(new.geom.intersection(villages)) < 1.0  # no overlap with the neighbours
    assert area_m2(new.geom.symmetric_difference(oracle)) < 0.001 * area_m2(oracle)
    assert new.geom.geom_type == "Polygon"  # no sliver left over

    # the gap list was re-checked: the blind-spot reach stretch and the township's strip are gone
    expect(page.locator(GAPS).get_by_text("不在任何村级网格内")).to_have_count(0, timeout=30_000)
    assert not gap_areas_m2(gap_lines(page)) or max(gap_areas_m2(gap_lines(page))) < 100
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors
    assert not [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")]
    page.screenshot(path=str(tmp_path / "grid_draw.png"), full_page=True)


def test_move_one_vertex_of_a_grid_and_save(app_server, page, browser_errors: list[str],
                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = demo_store(tmp_path)
    before = live(store)
    ring = list(before[DONGXING].geom.exterior.coords)
    index = ring.index((127.03, 41.8))  # a vertex on the township's east boundary
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url)
    gaps_before = gap_areas_m2(gap_lines(page))

    choose_mode(page, "编辑边界顶点")
    fit_view(page, 41.76, 126.98, 41.84, 127.05)
    start = screen_xy(page, 41.8, 127.03)
    end = screen_xy(page, 41.8, 127.012)
    dropped_lat, dropped_lon = lat_lon_at(page, *end)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, start[1], steps=5)
    page.mouse.move(*end, steps=5)
    page.mouse.up()
    page.get_by_text("调整后面积").wait_for(timeout=30_000)
    page.get_by_text("保存时自动贴合（修复、吸附、裁剪到上级、去除重叠与碎片）").click()  # switch fitting off: store exactly what was drawn
    expect(page.get_by_text("调整后面积")).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="确认保存").click()
    page.get_by_text(f"已保存网格“{DONGXING}”（第 2 版）").wait_for(timeout=30_000)

    saved = live(store)[DONGXING]
    assert saved.version == 2
    expected = ring.copy()
    expected[index] = (dropped_lon, dropped_lat)
    if index == 0:
        expected[-1] = expected[0]
    got = list(saved.geom.exterior.coords)
    assert len(got) == len(ring)
    # GeoJSON from Leaflet keeps 6 decimals (0.1 m)
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(got, expected, strict=True))
           if abs(a[0] - b[0]) >= 2e-6 or abs(a[1] - b[1]) >= 2e-6]
    assert not bad, f"vertex {index} moved: differences {bad}"
    # a new gap opened between the grid and the township boundary: the page lists it, with its area
    villages = shapely.union_all([saved.geom, before[SENGONG].geom])
    gaps = before[TOWNSHIP].geom.difference(villages)
    opened = [p for p in getattr(gaps, "geoms", [gaps]) if p.intersects(Point(127.025, 41.8))]
    assert len(opened) == 1
    expect(page.locator(GAPS).get_by_text(f"（{area_m2(opened[0]):,.0f} m²）")).to_have_count(1, timeout=30_000)
    assert len(gap_areas_m2(gap_lines(page))) == len(gaps_before) + 1, gap_lines(page)
    with store.session() as s:
        from gis.grids.versions import grid_history

        history = grid_history(s, saved.id)
    assert [v.version for v in history] == [1, 2] and history[-1].author == "staff"
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors


def test_split_a_grid_by_a_drawn_line(app_server, page, browser_errors: list[str],
                                      tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = demo_store(tmp_path)
    before = live(store)
    original = before[DONGXING].geom
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url)
    assert not any("东兴村（二）" in line for line in gap_lines(page))

    choose_mode(page, "分割网格")
    fit_view(page, 41.72, 126.90, 41.90, 127.05)
    a, b = (41.83, 126.915), (41.83, 127.04)
    line_ll = [lat_lon_at(page, *screen_xy(page, *p)) for p in (a, b)]
    click(page, *a)
    click(page, *b)
    click(page, *b)  # the last point again ends the line
    page.get_by_role("button", name="确认分割").click()
    page.get_by_text("已将网格分割为").wait_for(timeout=30_000)

    after = live(store)
    kept, new = after[DONGXING], after[f"{DONGXING}（二）"]
    assert kept.id == before[DONGXING].id and new.parent_id == before[DONGXING].parent_id
    line = LineString([(round(lon, 6), round(lat, 6)) for lat, lon in line_ll])  # Leaflet's GeoJSON: 6 decimals
    oracle = sorted(split(original, line).geoms, key=lambda g: -g.area)
    assert len(oracle) == 2
    for got, want in ((kept.geom, oracle[0]), (new.geom, oracle[1])):
        assert area_m2(got.symmetric_difference(want)) < 1.0
    # the parts tile the original: the areas add up (planar, in degrees², where the cut is straight)
    assert kept.geom.area + new.geom.area == pytest.approx(original.area, rel=1e-9)
    assert area_m2(kept.geom.intersection(new.geom)) < 1e-3
    # the check re-ran: the overlap with 森工社区 is now reported for both parts
    page.locator(GAPS).get_by_text("东兴村（二）").first.wait_for(timeout=30_000)
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors


XSS = '<img src=x onerror="window.__xss=1">![p](http://example.com/p.png)'


@pytest.mark.parametrize("user", ["leader", None])
def test_leaders_and_visitors_see_no_editing_tools(app_server, page, blocked_requests: list, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   user: str | None) -> None:
    from gis.auth import SYSTEM

    store = demo_store(tmp_path)
    with store.session(SYSTEM) as s:  # a hostile name: must stay text in the list, the gaps and the map
        s.scalar(select(Grid).where(Grid.name == DONGXING)).name = f"东兴村{XSS}"
    store.dispose()
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url, user=user)
    page.locator(GAPS).get_by_text(f"“东兴村{XSS}”与").wait_for(timeout=30_000)  # shown as typed
    assert page.locator(GAPS).locator("a, img").count() == 0
    frame = page.frame_locator(MAP_IFRAME)
    map_frame(page).evaluate("() => window.map.eachLayer(l => l.getTooltip && l.getTooltip() && l.openTooltip())")
    frame.locator(".leaflet-tooltip", has_text=XSS).first.wait_for(timeout=10_000)
    for where in (page, map_frame(page)):
        assert where.locator("img[src='x']").count() == 0
        assert where.evaluate("() => typeof window.__xss") == "undefined"
    assert not [r for r in blocked_requests if "example.com" in r.url]
    page.get_by_text("当前为只读浏览").wait_for(timeout=30_000)
    for tool in ("绘制新网格", "编辑边界顶点", "分割网格", "确认保存", "导入"):
        expect(page.get_by_text(tool, exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="保存属性")).to_be_disabled()
    expect(page.get_by_role("button", name="恢复此版本")).to_have_count(0)
    page.get_by_role("tab", name="合并与删除").click()
    page.get_by_text("需要工作人员或管理员账号").first.wait_for()
    # the map shows the grids but nothing on it is editable
    expect(frame.locator(".leaflet-editing-icon")).to_have_count(0)
    expect(frame.locator("button")).to_have_count(0)


def test_a_concurrent_save_is_refused_naming_who_and_the_drawing_is_kept(app_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gis.accounts.users import actor_for
    from gis.grids.versions import grid_history, save_grid

    store = demo_store(tmp_path)
    before = live(store)
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url)
    choose_mode(page, "编辑边界顶点")
    fit_view(page, 41.76, 126.98, 41.84, 127.05)
    start, end = screen_xy(page, 41.8, 127.03), screen_xy(page, 41.8, 127.012)
    dropped_lat, dropped_lon = lat_lon_at(page, *end)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    page.get_by_text("调整后面积").wait_for(timeout=30_000)

    # meanwhile the administrator saves the same grid (attributes only)
    with store.session() as s:
        admin = actor_for(s, "admin")
    with store.session(admin) as s:
        save_grid(s, before[DONGXING].id, geometry=None, attributes={"hotline": "0439-5220000"}, expected_version=1)

    page.get_by_text("保存时自动贴合（修复、吸附、裁剪到上级、去除重叠与碎片）").click()
    expect(page.get_by_text("调整后面积")).to_have_count(0, timeout=30_000)  # the rerun is done
    page.get_by_role("button", name="确认保存").click()
    page.get_by_text(re.compile(r"该网格已被 系统管理员 于 \d{4}-\d\d-\d\d \d\d:\d\d 修改.*您的图形已保留")).wait_for(
        timeout=30_000)
    assert live(store)[DONGXING].geom.equals(before[DONGXING].geom)  # nothing overwritten
    # the drawing is still on the map, and can be re-applied on top of the new version
    vertex = map_frame(page).evaluate("() => window.gridDraw.editable().getLatLngs()[0][2]")
    assert (vertex["lat"], vertex["lng"]) == pytest.approx((dropped_lat, dropped_lon), abs=2e-6)
    page.get_by_role("button", name="在最新版本上重新应用我的图形").click()
    expect(page.get_by_text("您的图形已保留")).to_have_count(0, timeout=30_000)  # the rerun is done
    page.get_by_role("button", name="确认保存").click()
    page.get_by_text(f"已保存网格“{DONGXING}”（第 3 版）").wait_for(timeout=30_000)

    saved = live(store)[DONGXING]
    assert saved.hotline == "0439-5220000"  # the administrator's change stays
    assert list(saved.geom.exterior.coords)[2] == pytest.approx((dropped_lon, dropped_lat), abs=2e-6)
    with store.session() as s:
        history = grid_history(s, saved.id)
    assert [(v.version, v.author) for v in history] == [(1, "system"), (2, "admin"), (3, "staff")]


def test_import_boundaries_with_a_field_mapping_and_export(app_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    store = demo_store(tmp_path)
    square = Polygon([(126.815, 41.80), (126.83, 41.80), (126.83, 41.81), (126.815, 41.81)])
    upload = tmp_path / "边界.geojson"
    upload.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"村名": "森工街道西岸村", "备用": "x"},
        "geometry": shapely.geometry.mapping(square)}]}, ensure_ascii=False), encoding="utf-8")
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url)
    page.get_by_role("tab", name="导入与导出").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text("共 1 个要素").wait_for(timeout=30_000)
    # the name column is not one the importer knows: map it by hand
    idle(page)
    pick(page, "名称字段", "村名")
    pick(page, "缺省上级网格", TOWNSHIP)
    page.get_by_role("button", name="导入", exact=True).click()
    page.get_by_text("已导入 1 个网格").wait_for(timeout=30_000)
    page.get_by_role("tab", name="导入与导出").click()
    new = live(store)["森工街道西岸村"]
    assert new.level == "village" and new.parent_id == live(store)[TOWNSHIP].id
    assert new.geom.equals_exact(square, 1e-9)

    pick(page, "格式", "geojson")  # the tab stays open across the reruns
    page.get_by_role("button", name="生成导出文件").click()
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name=re.compile("下载 网格")).click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    names = sorted(f["properties"]["name"] for f in exported["features"])
    assert names == sorted(live(store))  # every live drawn grid, the imported one included


def test_a_multi_part_grid_keeps_its_other_parts_when_a_vertex_moves(app_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from shapely.geometry import MultiPolygon, box

    from gis.auth import SYSTEM

    store = demo_store(tmp_path)
    island = box(127.04, 41.79, 127.05, 41.80)  # a detached part (outside the township: fitting is off)
    with store.session(SYSTEM) as s:
        grid_row = s.scalar(select(Grid).where(Grid.name == DONGXING))
        main = grid_row.geom
        grid_row.geom = MultiPolygon([main, island])
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url)
    choose_mode(page, "编辑边界顶点")
    assert map_frame(page).evaluate("() => window.gridDraw.parts().length") == 2  # both parts editable
    fit_view(page, 41.76, 126.98, 41.84, 127.06)
    start, end = screen_xy(page, 41.8, 127.03), screen_xy(page, 41.8, 127.012)
    dropped_lat, dropped_lon = lat_lon_at(page, *end)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    page.get_by_text("调整后面积").wait_for(timeout=30_000)
    page.get_by_text("保存时自动贴合（修复、吸附、裁剪到上级、去除重叠与碎片）").click()
    expect(page.get_by_text("调整后面积")).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="确认保存").click()
    page.get_by_text(f"已保存网格“{DONGXING}”（第 3 版）").wait_for(timeout=30_000)

    saved = live(store)[DONGXING].geom
    assert saved.geom_type == "MultiPolygon" and len(saved.geoms) == 2
    moved, kept = saved.geoms
    assert kept.equals_exact(island, 1e-6)
    expected = list(main.exterior.coords)
    expected[expected.index((127.03, 41.8))] = (dropped_lon, dropped_lat)
    assert all(abs(a[0] - b[0]) < 2e-6 and abs(a[1] - b[1]) < 2e-6
               for a, b in zip(moved.exterior.coords, expected, strict=True))


def _river_following_boundary(n: int = 800) -> Polygon:
    """A 7 km strip along a meandering river, 1,600 vertices (6 decimals, as Leaflet returns them)."""
    t = np.linspace(0.0, 1.0, n)
    lon = 126.95 + 0.08 * t
    lat = 41.80 + 0.004 * np.sin(t * 14 * np.pi) + 0.0015 * np.sin(t * 57 * np.pi)
    north = [(round(x, 6), round(y + 0.0025, 6)) for x, y in zip(lon, lat)]
    south = [(round(x, 6), round(y - 0.0025, 6)) for x, y in zip(lon[::-1], lat[::-1])]
    return Polygon(north + south)


def test_vertex_handles_stay_few_on_a_long_boundary_and_every_vertex_stays_exact(  # type: ignore[no-untyped-def]
        app_server, page, browser_errors: list[str], tmp_path: Path) -> None:
    """A boundary following a river (1,600 vertices): editing shows a few handles, none on top of
    another; zooming in brings the handles of the vertices there; a vertex dragged there moves and
    the 1,599 others are saved exactly as they were."""
    from gis.auth import SYSTEM

    from .browser import save_screenshot

    store = demo_store(tmp_path)
    strip = _river_following_boundary()
    with store.session(SYSTEM) as s:
        s.scalar(select(Grid).where(Grid.name == DONGXING)).geom = strip
    store.dispose()
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    open_editor(page, base_url)
    choose_mode(page, "编辑边界顶点")
    settle(page)
    frame = map_frame(page)
    stats = frame.evaluate("() => window.gridDraw.handles()")
    assert stats["vertices"] == 1600 and stats["inView"] >= 1500  # the whole strip is in view
    assert 10 <= stats["shown"] <= 120, stats
    icons = frame.evaluate("""() => Array.from(document.querySelectorAll('.leaflet-editing-icon')).map(e => {
        const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })""")
    assert len(icons) <= 2 * stats["shown"]  # vertex handles and the edge handles between them
    closest = min(np.hypot(a[0] - b[0], a[1] - b[1]) for i, a in enumerate(icons) for b in icons[i + 1:])
    assert closest >= 8, f"handles overlap: {closest:.1f} px apart"
    page.frame_locator(MAP_IFRAME).locator("#hint").get_by_text("放大地图可拖动更多顶点").wait_for(timeout=10_000)
    save_screenshot(page, "grids-long-boundary", keep=tmp_path)

    # a vertex without a handle at this zoom gets one when the user zooms in there
    hidden = frame.evaluate("""() => { const h = window.gridDraw.parts()[0].editing._verticesHandlers[0];
        return h._markers.findIndex((m, i) => i > 300 && !h._markerGroup.hasLayer(m)); }""")
    assert hidden > 300
    lon, lat = strip.exterior.coords[hidden]
    frame.evaluate("([lat, lon]) => { window.map.setView([lat, lon], 18, {animate: false}); }", [lat, lon])
    settle(page)
    assert frame.evaluate(f"""() => {{ const h = window.gridDraw.parts()[0].editing._verticesHandlers[0];
        return h._markerGroup.hasLayer(h._markers[{hidden}]); }}""")
    assert frame.evaluate("() => window.gridDraw.handles().shown") <= 120
    start = screen_xy(page, lat, lon)
    end = (start[0] + 40, start[1] + 30)
    dropped_lat, dropped_lon = lat_lon_at(page, *end)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()
    page.get_by_text("调整后面积").wait_for(timeout=30_000)
    page.get_by_text("保存时自动贴合（修复、吸附、裁剪到上级、去除重叠与碎片）").click()  # store exactly what was drawn
    expect(page.get_by_text("调整后面积")).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="确认保存").click()
    page.get_by_text(f"已保存网格“{DONGXING}”（第 3 版）").wait_for(timeout=30_000)

    saved = list(live(store)[DONGXING].geom.exterior.coords)
    expected = list(strip.exterior.coords)
    assert len(saved) == len(expected) == 1601
    # the dragged vertex is where it was dropped (within a few screen pixels: 0.45 m each at zoom 18)…
    assert abs(saved[hidden][0] - dropped_lon) < 2.5e-5 and abs(saved[hidden][1] - dropped_lat) < 2.5e-5
    assert abs(saved[hidden][1] - lat) > 1e-4  # …30 pixels (13 m) south of where it was
    # …and every other vertex, with or without a handle, is exactly as it was (6 decimals: 0.1 m)
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(saved, expected, strict=True))
           if i != hidden and (abs(a[0] - b[0]) >= 2e-6 or abs(a[1] - b[1]) >= 2e-6)]
    assert not bad, f"vertices changed: {bad[:5]}"
    assert not [e for e in browser_errors if "pageerror" in e], browser_errors
