"""网格管理 beyond the editing core: the fit preview equals what a save stores, split preview,
merge candidates, posts with validity dates, and the editor map's GeoJSON (escaped user text).

Store tests run on SQLite and PostGIS (``store`` fixture); layouts and actors are those of
``test_editing``.
"""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pytest
from shapely.geometry import LineString
from shapely.ops import split
from sqlalchemy import select
from test_editing import (
    ADMIN,
    LEADER,
    LI,
    PARENT,
    ROUGH,
    WEST,
    ZHANG,
    grid,
    lb,
    line,
    m,
    make_family,
)

from gis.checks.report import check_layers
from gis.errors import GeometryError, NotFoundError, PermissionDenied, ValidationError
from gis.grids.fit import fit_grid, split_parts
from gis.grids.posts import add_post, end_post, grid_posts
from gis.grids.versions import (
    delete_grid,
    deleted_grids,
    grid_history,
    preview_fit,
    save_grid,
    siblings,
)
from gis.store import Store
from gis.store.schema import AuditEntry, Person
from layers.editing import (
    bounds_of,
    findings_overlay,
    fit_overlays,
    grids_collection,
    version_overlay,
)

XSS = '<img src=x onerror="window.__xss=1">'


def test_the_preview_is_what_the_save_stores(store: Store) -> None:
    ids = make_family(store)
    with store.session() as s:
        new = preview_fit(s, None, ROUGH, level="village", parent_id=ids["town"])
    with store.session(ZHANG) as s:
        saved = save_grid(s, None, geometry=ROUGH, expected_version=None,
                          attributes={"name": "东村", "level": "village", "parent_id": ids["town"]})
    assert grid(store, saved.grid_id).geom.equals_exact(new.geometry, 0)
    assert new.dropped_pieces and new.removed_m2 > 0  # it did spill out and overlap
    # editing an existing grid: its own parent and siblings, without any level given
    drawing = lb(-30, 0, 1040, 1000)  # west grid pushed 30 m out of the parent and 40 m into 东村
    with store.session() as s:
        edit = preview_fit(s, ids["west"], drawing, snap_tolerance_m=2.0)
    with store.session(LI) as s:
        save_grid(s, ids["west"], geometry=drawing, expected_version=1, snap_tolerance_m=2.0)
    assert grid(store, ids["west"]).geom.equals_exact(edit.geometry, 0)
    east = grid(store, saved.grid_id).geom
    assert m(edit.geometry.intersection(east)).area < 1e-3  # cut free of 东村
    assert m(edit.geometry.difference(PARENT)).area < 1e-3  # clipped to the parent
    assert m(edit.geometry.union(east)).area == pytest.approx(m(PARENT).area, rel=1e-6)  # no gap between them
    assert grid(store, ids["west"]).version == 2  # the preview wrote nothing


def test_preview_refuses_bad_input(store: Store) -> None:
    ids = make_family(store)
    with store.session() as s:
        with pytest.raises(ValidationError, match="新建网格需要先选择层级"):
            preview_fit(s, None, ROUGH)
        with pytest.raises(NotFoundError, match="没有编号为 999"):
            preview_fit(s, 999, ROUGH)
        with pytest.raises(TypeError, match="unknown fit options"):
            preview_fit(s, ids["west"], ROUGH, snap_m=3)


def test_split_parts_tile_the_grid_larger_part_first() -> None:
    cut = line([(-50, 700), (2050, 700)])
    a, b = split_parts(PARENT, cut)
    oracle = sorted(split(PARENT, LineString(cut.coords)).geoms, key=lambda g: -g.area)
    assert a.equals(oracle[0]) and b.equals(oracle[1])
    assert a.area + b.area == pytest.approx(PARENT.area, rel=1e-12)  # planar: the cut is straight in lon/lat
    assert m(a).area == pytest.approx(2000 * 700, rel=0.01)  # 70 % below the line
    with pytest.raises(GeometryError, match="没有把网格分开"):
        split_parts(PARENT, line([(-50, 700), (500, 700)]))  # ends inside
    with pytest.raises(GeometryError, match="只能分成两块"):
        split_parts(PARENT, line([(-50, 300), (2050, 300), (2050, 700), (-50, 700)]))
    with pytest.raises(GeometryError, match="分割线应为线"):
        split_parts(PARENT, WEST)


def test_merge_candidates_and_deleted_grids(store: Store) -> None:
    ids = make_family(store)
    with store.session(ZHANG) as s:
        east = save_grid(s, None, geometry=lb(1000, 0, 2000, 1000), expected_version=None,
                         attributes={"name": "东村", "level": "village", "parent_id": ids["town"]}).grid_id
        north = save_grid(s, None, geometry=None, expected_version=None,  # undrawn: nothing to merge with
                          attributes={"name": "北村", "level": "village", "parent_id": ids["town"]}).grid_id
    with store.session() as s:
        assert [g.name for g in siblings(s, ids["west"])] == ["东村"]
        assert siblings(s, ids["town"]) == []
        assert deleted_grids(s) == []
    with store.session(ZHANG) as s:
        delete_grid(s, east, expected_version=1)
    with store.session() as s:
        assert [g.id for g in deleted_grids(s)] == [east]
        assert siblings(s, ids["west"]) == []
    assert north


def test_posts_have_validity_dates_and_need_org_rights(store: Store) -> None:
    ids = make_family(store)
    with store.session(ADMIN) as s:
        s.add(Person(name="何兆花"))
    with store.session() as s:
        person = s.scalar(select(Person).where(Person.name == "何兆花")).id
    with pytest.raises(PermissionDenied, match="无权编辑人员和职务"), store.session(LEADER) as s:
        add_post(s, ids["west"], person, "主要责任人")
    with store.session(ZHANG) as s:
        post = add_post(s, ids["west"], person, "主要责任人", valid_from=date(2026, 1, 1)).id
        add_post(s, ids["west"], person, "supervisor", valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31))
    with pytest.raises(ValidationError, match="不能早于开始日期"), store.session(ZHANG) as s:
        end_post(s, post, date(2025, 6, 30))
    with pytest.raises(ValidationError, match="无法识别的职务"), store.session(ZHANG) as s:
        add_post(s, ids["west"], person, "河神")
    with store.session() as s:
        rows = grid_posts(s, ids["west"], today=date(2026, 11, 28))
    assert [(p.role_label, p.person_name, p.current) for p in rows] == [
        ("主要责任人", "何兆花", True), ("监管人员", "何兆花", False)]
    with store.session(ZHANG) as s:
        end_post(s, post, date(2026, 11, 30))
    with store.session() as s:
        assert not grid_posts(s, ids["west"], today=date(2026, 12, 1))[0].current
        assert grid_posts(s, ids["west"], today=date(2026, 11, 30))[0].current  # the last day counts
        who = s.scalars(select(AuditEntry.username).where(AuditEntry.table_name == "grid_roles")).all()
    assert who == ["zhangsan", "zhangsan", "zhangsan"]


def grids_frame(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [1, 2], "name": names, "level": ["village", "township"],
                             "illustrative": [True, False]}, geometry=[WEST, PARENT], crs="EPSG:4326")


def test_editor_map_data_escapes_user_text_and_marks_the_selection() -> None:
    fc = grids_collection(grids_frame([f"东村{XSS}", "森工街道"]), selected_id=2)
    first, second = (f["properties"] for f in fc["features"])
    assert "<img" not in first["tooltip_html"] and "&lt;img src=x" in first["tooltip_html"]
    assert "（示意）" in first["tooltip_html"] and first["style"]["dashArray"]  # illustrative: dashed
    assert second["style"]["color"] == "#1565c0" and first["style"]["color"] != "#1565c0"
    assert bounds_of([WEST, PARENT]) == [[PARENT.bounds[1], PARENT.bounds[0]], [PARENT.bounds[3], PARENT.bounds[2]]]
    assert bounds_of([None]) is None


def test_fit_preview_overlays_show_added_removed_and_dropped() -> None:
    fit = fit_grid(ROUGH, parent=PARENT, neighbours={f"西村{XSS}": WEST})
    overlays = {o["name"]: o for o in fit_overlays(fit)}
    assert set(overlays) == {"调整后边界", "增加的面积", "减少的面积", "去除的部分"}
    dropped = overlays["去除的部分"]["data"]["features"]
    assert len(dropped) == len(fit.dropped_pieces)
    assert any("与相邻网格重叠" in f["properties"]["tooltip_html"] for f in dropped)
    assert all("<img" not in f["properties"]["tooltip_html"] for f in dropped)


def test_gaps_and_versions_as_overlays(store: Store) -> None:
    ids = make_family(store)
    reaches = gpd.GeoDataFrame({"id": [1], "name": ["河"], "river": ["河"], "start_station_m": [0.0]},
                               geometry=[line([(100, 500), (1900, 500)])], crs="EPSG:4326")
    with store.session() as s:
        from gis.checks.report import store_layers

        _, grids = store_layers(s)
        history = grid_history(s, ids["west"])
    report = check_layers(reaches, grids, level="village")
    overlay = findings_overlay(report.findings())
    rules = {f["properties"]["style"].get("color") for f in overlay["data"]["features"]}
    assert "#d50000" in rules  # the 900 m east of the west village are uncovered: red as on 盲区检查
    v = version_overlay(history[0])
    assert v["name"] == "第 1 版" and "张三" in v["data"]["features"][0]["properties"]["tooltip_html"]


def test_the_editor_component_loads_only_vendored_files() -> None:
    """Offline: every script and stylesheet of the component is a local file (Leaflet and
    Leaflet.Draw from static/vendor, reached from /component/<name>/ by ../../app/static/)."""
    import re
    from pathlib import Path

    from layers.assets import VENDOR_DIR
    from ui.components.grid_draw import FRONTEND

    html = (FRONTEND / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and not [r for r in refs if re.match(r"^(?:[a-z]+:)?//", r, re.IGNORECASE)]
    for ref in refs:
        if ref.startswith("../../app/static/vendor/"):
            assert (VENDOR_DIR / ref.removeprefix("../../app/static/vendor/")).is_file(), ref
        else:
            assert (FRONTEND / ref).is_file(), ref
    assert {"leaflet/leaflet.js", "leaflet-draw/leaflet.draw.js"} <= {
        r.removeprefix("../../app/static/vendor/") for r in refs}
    assert Path(FRONTEND / "main.js").read_text(encoding="utf-8").count("innerHTML") == 0  # text only


def test_the_page_saves_attributes_and_posts_and_hides_tools_from_leaders(app_env) -> None:  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest
    from test_app import APP, sign_in

    from gis.store.schema import Grid, GridRoleAssignment

    at = AppTest.from_file(APP, default_timeout=120).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "leader", "rivergrid-demo")
    at = at.switch_page("pages/grids.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["网格管理"]
    assert not [r for r in at.radio if r.label == "操作"]  # no drawing tools
    assert next(b for b in at.button if b.label == "保存属性").disabled
    assert not [b for b in at.button if b.label in ("添加任职", "删除", "恢复此版本", "导入")]

    at = at.switch_page("pages/login.py").run()
    at = next(b for b in at.button if b.label == "退出登录").click().run()
    at = sign_in(at, "staff", "rivergrid-demo")
    at = at.switch_page("pages/grids.py").run()
    assert [r.label for r in at.radio] == ["操作"]
    next(t for t in at.text_input if t.label == "责任主体").input(f"东兴村村委会{XSS}")
    at = next(b for b in at.button if b.label == "保存属性").click().run()
    assert not at.exception
    assert any("已保存" in s.value for s in at.success)
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        grid_row = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村"))
        assert (grid_row.responsible_body, grid_row.version) == (f"东兴村村委会{XSS}", 2)
        before = s.query(GridRoleAssignment).filter_by(grid_id=grid_row.id).count()
    next(s for s in at.selectbox if s.label == "职务").set_value("volunteer")
    at = next(b for b in at.button if b.label == "添加任职").click().run()
    assert not at.exception
    with store.session() as s:
        assert s.query(GridRoleAssignment).filter_by(grid_id=grid_row.id, role="volunteer").count() == 1
        assert s.query(GridRoleAssignment).filter_by(grid_id=grid_row.id).count() == before + 1
    store.dispose()


def test_the_page_deletes_with_confirmation_restores_and_merges(app_env) -> None:  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest
    from test_app import APP, sign_in

    from gis.store.schema import Grid

    at = AppTest.from_file(APP, default_timeout=120).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "staff", "rivergrid-demo")
    at = at.switch_page("pages/grids.py").run()
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")

    def grids() -> dict[str, Grid]:
        with store.session() as s:
            return {g.name: g for g in s.scalars(select(Grid))}

    sengong = grids()["森工街道森工社区"]
    at = at.selectbox(key="ge_selected").set_value(sengong.id).run()
    delete = next(b for b in at.button if b.label == "删除")
    assert delete.disabled  # not before the confirmation is ticked
    at = at.checkbox(key="ge_delete_sure").check().run()
    at = next(b for b in at.button if b.label == "删除").click().run()
    assert not at.exception
    assert grids()["森工街道森工社区"].deleted_at is not None
    assert any("已删除网格" in s.value for s in at.success)
    at = at.button(key=f"ge_restore_{sengong.id}").click().run()
    assert not at.exception and grids()["森工街道森工社区"].deleted_at is None

    dongxing = grids()["森工街道东兴村"]
    union = dongxing.geom.union(sengong.geom)
    at = at.selectbox(key="ge_selected").set_value(dongxing.id).run()
    at = at.selectbox(key="ge_merge_other").set_value(sengong.id).run()
    at = at.checkbox(key=f"ge_merge_sure_{sengong.id}").check().run()
    at = at.button(key="ge_merge").click().run()
    assert not at.exception
    after = grids()
    assert after["森工街道森工社区"].deleted_at is not None
    assert m(after["森工街道东兴村"].geom.symmetric_difference(union)).area < 1.0
    store.dispose()


def test_merge_shows_a_preview_and_needs_an_explicit_confirmation_and_can_be_undone(app_env) -> None:  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.errors import AppTestError
    from test_app import APP, sign_in

    from gis.accounts.users import actor_for
    from gis.history import batch_of, undo_batch
    from gis.store.schema import AuditEntry, Grid

    at = AppTest.from_file(APP, default_timeout=120).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "staff", "rivergrid-demo")
    at = at.switch_page("pages/grids.py").run()
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")

    def grids() -> dict[str, Grid]:
        with store.session() as s:
            return {g.name: g for g in s.scalars(select(Grid))}

    before = grids()
    dongxing, sengong = before["森工街道东兴村"], before["森工街道森工社区"]
    at = at.selectbox(key="ge_selected").set_value(dongxing.id).run()
    partner = at.selectbox(key="ge_merge_other")
    assert partner.value is None  # no partner preselected
    assert not [b for b in at.button if b.label == "确认合并"]  # nothing to confirm before a partner is chosen

    at = partner.set_value(sengong.id).run()
    assert not at.exception
    svgs = [h.proto.body for h in at.get("html") if "合并预览" in h.proto.body]
    assert len(svgs) == 1 and svgs[0].count("<path") == 3  # kept, deleted, merged boundary
    preview = " ".join(str(e.value) for e in at.get("markdown")) + " ".join(h.proto.body for h in at.get("html"))
    assert "网格“森工街道森工社区”" in preview and "被删除" in preview
    assert "管荣波" in preview  # its people, who leave with it, are named
    assert "gis undo --batch" in " ".join(c.value for c in at.caption)  # how to undo, before the merge
    button = at.button(key="ge_merge")
    assert button.disabled  # the confirmation box is not ticked
    with pytest.raises(AppTestError, match="disabled"):
        button.click()  # a browser user cannot press it
    at = at.run()
    assert not at.exception
    assert grids()["森工街道森工社区"].deleted_at is None
    assert grids()["森工街道东兴村"].geom.equals(dongxing.geom)

    at = at.checkbox(key=f"ge_merge_sure_{sengong.id}").check().run()
    assert not at.button(key="ge_merge").disabled
    at = at.button(key="ge_merge").click().run()
    assert not at.exception
    (message,) = [s.value for s in at.success]
    assert "已将“森工街道森工社区”并入“森工街道东兴村”" in message and "修改记录" in message
    merged = grids()
    assert merged["森工街道森工社区"].deleted_at is not None
    assert m(merged["森工街道东兴村"].geom.symmetric_difference(dongxing.geom.union(sengong.geom))).area < 1.0

    # the undo the message names puts both grids back as they were
    with store.session() as s:
        admin = actor_for(s, "admin")
        newest = s.scalar(select(AuditEntry.id).where(AuditEntry.username == "staff").order_by(AuditEntry.id.desc()))
        batch = batch_of(s, newest)
    with store.session(admin) as s:
        undo_batch(s, batch)
    after = grids()
    assert after["森工街道森工社区"].deleted_at is None and after["森工街道森工社区"].geom.equals(sengong.geom)
    assert after["森工街道东兴村"].geom.equals(dongxing.geom)
    store.dispose()


def test_the_page_restores_a_version_and_checks_a_past_date(app_env) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from streamlit.testing.v1 import AppTest
    from test_app import APP, sign_in

    from gis.clock import today as local_today
    from gis.store.schema import Grid

    at = AppTest.from_file(APP, default_timeout=120).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "staff", "rivergrid-demo")
    at = at.switch_page("pages/grids.py").run()
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        original = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村")).responsible_body
    next(t for t in at.text_input if t.label == "责任主体").input("临时改动")
    at = next(b for b in at.button if b.label == "保存属性").click().run()
    at = at.selectbox(key="ge_hist_pick").set_value(1).run()
    at = at.button(key="ge_hist_restore").click().run()
    assert not at.exception
    assert any("已恢复为第 1 版（现为第 3 版）" in s.value for s in at.success)
    with store.session() as s:
        grid_row = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村"))
        assert (grid_row.responsible_body, grid_row.version) == (original, 3)
    # the check at a date before the demo was loaded: no grids were valid then
    at = at.date_input(key="ge_past_day").set_value(local_today() - timedelta(days=400)).run()
    at = at.button(key="ge_past_check").click().run()
    assert not at.exception
    assert any("没有已绘制边界的村级网格" in e.value for e in at.error)
    at = at.date_input(key="ge_past_day").set_value(local_today()).run()
    at = at.button(key="ge_past_check").click().run()
    assert any("时有效的网格 4 个" in md.value for md in at.markdown)
    store.dispose()
