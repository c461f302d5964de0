"""Grid editing core: fit on save, versions, conflicts, split/merge, past states, audit and undo.

Layouts are boxes aligned with longitude/latitude near 临江 (126.9°E, 41.8°N), given in metres
east/north of that origin; lon/lat-straight edges are what the store and the topology check
work with. Store tests run on SQLite and PostGIS (``store`` fixture).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import geopandas as gpd
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Polygon, box
from sqlalchemy import func, inspect, select, text

from gis import clock
from gis.auth import SYSTEM, Actor, hash_password
from gis.checks.report import check_layers, check_store, store_layers
from gis.errors import (
    ConflictError,
    CoordinateRangeError,
    CRSError,
    GeometryError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from gis.grids.fit import FIT_STEPS, fit_grid
from gis.grids.versions import (
    delete_grid,
    grid_history,
    grids_as_of,
    merge_grids,
    restore_grid,
    restore_version,
    save_grid,
    split_grid,
)
from gis.model import UserRole
from gis.store import Store, make_engine, upgrade
from gis.store.audit import undo_batch
from gis.store.engine import schema_differences
from gis.store.schema import AuditEntry, Grid, GridVersion, User

ZHANG = Actor("zhangsan", UserRole.STAFF, "张三")
LI = Actor("lisi", UserRole.STAFF, "李四")
LEADER = Actor("leader1", UserRole.LEADER, "领导")
ADMIN = Actor("admin1", UserRole.ADMIN, "管理员")

GK = pyproj.CRS.from_epsg(4551)  # CGCS2000 3-degree Gauss-Krüger CM 126°E
LON0, LAT0 = 126.9, 41.8
KX, KY = 111_320.0 * math.cos(math.radians(LAT0)), 111_132.0  # metres per degree (approximately)


def ll(coords: list[tuple[float, float]]) -> Polygon:
    """A polygon from (east, north) metres off the origin, in lon/lat."""
    return Polygon([(LON0 + x / KX, LAT0 + y / KY) for x, y in coords])


def lb(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return ll([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def line(coords: list[tuple[float, float]]) -> LineString:
    return LineString([(LON0 + x / KX, LAT0 + y / KY) for x, y in coords])


def m(geom):  # type: ignore[no-untyped-def]
    """The geometry in the metric CRS, projected by geopandas (independent of gis.grids.fit)."""
    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(GK).iloc[0]


PARENT = lb(0, 0, 2000, 1000)
WEST = lb(0, 0, 1000, 1000)
ROUGH = ll([(975, -40), (2050, -40), (2050, 1030), (1010, 1030), (1010, 900), (990, 900), (990, 1030), (975, 1030)])
"""Spills out of PARENT on three sides, overlaps a neighbour west of x=1000, has a notch."""


# =============================================================================================
# fit_grid (pure)
# =============================================================================================


def test_rough_drawing_comes_back_inside_the_parent_without_overlap_or_sliver() -> None:
    neighbour = lb(0, 0, 1000, 995)  # leaves a 5 m strip along the top: the notch isolates a sliver there
    r = fit_grid(ROUGH, parent=PARENT, neighbours={"西村": neighbour})
    g = r.geometry
    assert g.is_valid and g.geom_type == "Polygon"
    assert g.within(PARENT) and g.difference(PARENT).area == 0.0
    assert g.intersection(neighbour).area == 0.0 and not g.relate_pattern(neighbour, "T********")
    assert m(g).area >= 100.0 and len(shapely.get_parts(g)) == 1
    assert r.steps_applied == list(FIT_STEPS)
    reasons = sorted(p.reason for p in r.dropped_pieces)
    assert reasons == ["outside_parent", "outside_parent", "overlap", "sliver"]
    sliver = next(p for p in r.dropped_pieces if p.reason == "sliver")
    assert sliver.area_m2 == pytest.approx(15 * 5, rel=0.01)  # x 975..990, y 995..1000
    assert next(p for p in r.dropped_pieces if p.reason == "overlap").neighbour == "西村"
    assert any("超出上级网格" in c for c in r.changes) and any("“西村”重叠" in c for c in r.changes)
    assert any("碎片" in c for c in r.changes) and r.changes[-1].startswith("面积由")


def test_areas_add_up_against_an_independent_computation() -> None:
    neighbour = lb(0, 0, 1000, 995)
    r = fit_grid(ROUGH, parent=PARENT, neighbours=[neighbour])
    assert r.area_after_m2 == pytest.approx(r.area_before_m2 - r.removed_m2 + r.added_m2, abs=1e-6)
    before, after = m(ROUGH), m(r.geometry)
    assert r.area_before_m2 == pytest.approx(before.area, rel=1e-12)
    assert r.area_after_m2 == pytest.approx(after.area, rel=1e-12)
    assert r.removed_m2 == pytest.approx(before.difference(after).area, rel=1e-9)
    assert r.added_m2 == pytest.approx(after.difference(before).area, abs=1e-6)
    # on paper: the drawing minus what lies outside the parent, under the neighbour and the sliver
    outside = before.difference(m(PARENT)).area
    under = before.intersection(m(neighbour)).intersection(m(PARENT)).area
    assert r.removed_m2 == pytest.approx(outside + under + 75.0, rel=1e-4)
    assert sum(p.area_m2 for p in r.dropped_pieces) == pytest.approx(r.removed_m2, rel=1e-4)
    # and the result is the parent minus the neighbour minus the notch, 2000 × 1000 m less …
    paper = m(PARENT).area - m(WEST).area - m(lb(1000, 900, 1010, 1000)).area
    assert r.area_after_m2 == pytest.approx(paper + m(lb(1000, 995, 1000, 1000)).area, rel=1e-6)
    assert m(r.removed).area == pytest.approx(r.removed_m2, rel=1e-4) and r.added.is_empty


def test_snapping_closes_a_3_m_gap_to_the_neighbour() -> None:
    drawn = lb(1003, 0, 2000, 1000)
    assert m(drawn).distance(m(WEST)) == pytest.approx(3.0, abs=0.01)
    r = fit_grid(drawn, parent=PARENT, neighbours=[WEST])
    g = r.geometry
    assert g.distance(WEST) == 0.0 and g.touches(WEST)
    shared = g.intersection(WEST)
    assert shared.geom_type == "LineString" and m(shared).length == pytest.approx(1000.0, rel=1e-3)
    assert r.snapped_vertices == 2 and r.added_m2 == pytest.approx(3000.0, rel=0.01)
    # the gap is closed: together the two grids are the parent
    assert shapely.union(g, WEST).symmetric_difference(PARENT).area == pytest.approx(0.0, abs=1e-15)


def test_snapping_onto_the_middle_of_a_neighbours_edge() -> None:
    drawn = lb(1003, 100, 1800, 900)  # its corners face the middle of the neighbour's east edge
    r = fit_grid(drawn, parent=PARENT, neighbours=[WEST])
    assert r.geometry.distance(WEST) == 0.0 and r.geometry.touches(WEST)
    assert m(r.geometry.intersection(WEST)).length == pytest.approx(800.0, rel=1e-3)


def test_snapping_follows_the_bends_of_the_neighbour() -> None:
    bent = ll([(0, 0), (1000, 0), (1002, 500), (1000, 1000), (0, 1000)])  # a vertex 2 m east of the line
    r = fit_grid(lb(1003, 0, 2000, 1000), parent=PARENT, neighbours=[bent])
    assert r.inserted_vertices == 1 and r.geometry.touches(bent)
    assert m(r.geometry.intersection(bent)).length == pytest.approx(1000.0, rel=1e-3)
    assert shapely.union(r.geometry, bent).symmetric_difference(PARENT).area == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("step", FIT_STEPS[1:])
def test_each_step_can_be_switched_off(step: str) -> None:
    neighbour = lb(0, 0, 1000, 995)
    gap = lb(1003, 0, 2000, 1000)
    r = fit_grid(ROUGH if step != "snap" else gap, parent=PARENT,
                 neighbours=[neighbour if step != "snap" else WEST], **{step: False})
    assert step not in r.steps_applied
    g = r.geometry
    if step == "snap":
        assert m(g).distance(m(WEST)) == pytest.approx(3.0, abs=0.01) and r.snapped_vertices == 0
    elif step == "clip_to_parent":
        assert m(g.difference(PARENT)).area > 100_000 and g.intersection(neighbour).area == 0.0
    elif step == "cut_overlaps":
        assert m(g.intersection(neighbour)).area == pytest.approx(25 * 895 + 15 * 95 + 10 * 5, rel=0.01)
        assert g.within(PARENT)
    else:
        assert g.geom_type == "MultiPolygon" and min(m(p).area for p in g.geoms) == pytest.approx(75.0, rel=0.01)


def test_nothing_switched_on_keeps_the_drawing() -> None:
    r = fit_grid(ROUGH, parent=PARENT, neighbours=[WEST], repair=False, snap=False, clip_to_parent=False,
                 cut_overlaps=False, drop_slivers=False)
    assert r.geometry.equals(ROUGH) and r.steps_applied == [] and not r.changed and r.changes == ["图形无需调整"]


def test_repair_turns_a_self_intersecting_ring_into_its_area() -> None:
    bowtie = ll([(1100, 100), (1500, 500), (1500, 100), (1100, 500)])
    assert not bowtie.is_valid
    r = fit_grid(bowtie, parent=PARENT, neighbours=[WEST])
    triangles = m(ll([(1100, 100), (1300, 300), (1100, 500)])).area + m(ll([(1300, 300), (1500, 500),
                                                                          (1500, 100)])).area
    assert r.geometry.is_valid and m(r.geometry).area == pytest.approx(triangles, rel=1e-9)
    assert "自动修复" in r.changes[0]
    with pytest.raises(GeometryError, match="边界无效.*开启自动修复"):
        fit_grid(bowtie, parent=PARENT, neighbours=[WEST], repair=False)


def test_fit_refuses_bad_input() -> None:
    with pytest.raises(CoordinateRangeError):
        fit_grid(box(500_000, 4_600_000, 501_000, 4_601_000), parent=None, neighbours=[])
    with pytest.raises(CRSError, match="投影坐标系"):
        fit_grid(lb(0, 0, 10, 10), parent=None, neighbours=[], crs="EPSG:4326")
    with pytest.raises(GeometryError, match="应为面"):
        fit_grid(line([(0, 0), (10, 10)]), parent=None, neighbours=[])
    with pytest.raises(GeometryError, match="没有剩余面积"):
        fit_grid(lb(100, 100, 200, 200), parent=PARENT, neighbours=[WEST])


def test_fit_accepts_geojson_and_a_geoseries_of_neighbours() -> None:
    neighbours = gpd.GeoSeries([WEST], index=["西村"], crs="EPSG:4326").to_crs(GK)
    r = fit_grid(shapely.geometry.mapping(lb(1003, 0, 2000, 1000)), parent=PARENT, neighbours=neighbours)
    assert r.geometry.touches(WEST)


# =============================================================================================
# Store
# =============================================================================================


def make_family(store: Store) -> dict[str, int]:
    """A township (the parent box) with one village (the west half)."""
    with store.session(SYSTEM) as s:  # accounts: the installer (no single role holds them and the data)
        s.add_all([User(username=a.username, display_name=a.display_name, role=a.role.value,
                        password_hash=hash_password("1234567890")) for a in (ZHANG, LI)])
    with store.session(ZHANG) as s:
        town = save_grid(s, None, geometry=PARENT, attributes={"name": "森工街道", "level": "乡级网格"},
                         expected_version=None)
        west = save_grid(s, None, geometry=WEST, attributes={"name": "西村", "level": "village",
                                                              "parent_id": town.grid_id}, expected_version=None)
    return {"town": town.grid_id, "west": west.grid_id}


def add_east(store: Store, ids: dict[str, int], actor: Actor = ZHANG) -> int:
    with store.session(actor) as s:
        r = save_grid(s, None, geometry=ROUGH, expected_version=None,
                      attributes={"name": "东村", "level": "village", "parent_id": ids["town"], "duties": "巡河"})
    return r.grid_id


def grid(store: Store, grid_id: int) -> Grid:
    with store.session() as s:
        return s.get(Grid, grid_id)


def test_save_creates_a_fitted_grid_with_its_first_version(store: Store) -> None:
    ids = make_family(store)
    with store.session(ZHANG) as s:
        r = save_grid(s, None, geometry=ROUGH, expected_version=None,
                      attributes={"name": "东村", "level": "村级网格", "parent_id": ids["town"], "duties": "巡河"})
    assert r.created and r.changed and r.version == 1 and r.fit is not None
    g = grid(store, r.grid_id)
    assert g.level == "village" and g.duties == "巡河" and g.geom.equals_exact(r.geometry, 0)
    assert g.geom.within(PARENT) and g.geom.touches(grid(store, ids["west"]).geom)
    notch = lb(1000, 900, 1010, 1000)  # the drawing's notch stays a gap
    assert shapely.union_all([g.geom, WEST, notch]).symmetric_difference(PARENT).area < 1e-15
    with store.session() as s:
        (v,) = s.scalars(select(GridVersion).where(GridVersion.grid_id == r.grid_id)).all()
    assert (v.version, v.author, v.name, v.attributes["duties"], v.deleted) == (1, "zhangsan", "东村", "巡河", False)
    assert v.geom.equals_exact(g.geom, 0) and v.saved_at.tzinfo is not None


def test_concurrent_edits_the_second_is_refused_naming_the_first_and_keeping_the_drawing(store: Store) -> None:
    ids = make_family(store)
    east = add_east(store, ids)
    opened = grid(store, east).version  # both editors open version n
    zhang_drawing = lb(1000, 0, 1900, 1000)
    li_drawing = lb(1000, 0, 1800, 1000)
    with store.session(ZHANG) as s:
        saved = save_grid(s, east, geometry=zhang_drawing, expected_version=opened)
    assert saved.version == opened + 1
    with pytest.raises(ConflictError, match=r"该网格已被 张三 于 \d{4}-\d\d-\d\d \d\d:\d\d 修改，请刷新后重新编辑；您的图形已保留") as info:
        with store.session(LI) as s:
            save_grid(s, east, geometry=li_drawing, expected_version=opened)
    exc = info.value
    assert exc.kept_geometry.equals(li_drawing) and exc.changed_by == "zhangsan" and exc.current_version == opened + 1
    assert m(grid(store, east).geom).area == pytest.approx(m(zhang_drawing).area)  # nothing overwritten
    with store.session(LI) as s:  # 李四 refreshes and re-applies his drawing
        save_grid(s, east, geometry=exc.kept_geometry, expected_version=exc.current_version)
    with store.session(LI) as s:
        history = grid_history(s, east)
        log = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "grids", AuditEntry.row_id == east)
                        .order_by(AuditEntry.id)).all()
    assert [(v.version, v.author, v.author_name) for v in history] == [
        (1, "zhangsan", "张三"), (2, "zhangsan", "张三"), (3, "lisi", "李四")]
    assert [e.username for e in log] == ["zhangsan", "zhangsan", "lisi"]
    assert history[-1].current and history[-1].geometry.equals(grid(store, east).geom)


def test_a_stale_save_without_a_version_or_of_a_missing_grid_is_refused(store: Store) -> None:
    ids = make_family(store)
    with pytest.raises(ValidationError, match="版本号"):
        with store.session(ZHANG) as s:
            save_grid(s, ids["west"], geometry=WEST, expected_version=None)
    with pytest.raises(NotFoundError, match="没有编号为 999"):
        with store.session(ZHANG) as s:
            save_grid(s, 999, geometry=WEST, expected_version=1)
    with pytest.raises(ValidationError, match="无法识别的网格属性"):
        with store.session(ZHANG) as s:
            save_grid(s, ids["west"], geometry=None, attributes={"colour": "red"}, expected_version=1)


def test_attributes_only_and_unchanged_saves(store: Store) -> None:
    ids = make_family(store)
    with store.session(ZHANG) as s:
        r = save_grid(s, ids["west"], geometry=None, attributes={"responsible_body": "西村村委会"}, expected_version=1)
    assert r.changed and r.version == 2 and r.fit is None
    assert grid(store, ids["west"]).geom.equals_exact(WEST, 0)
    with store.session(ZHANG) as s:
        same = save_grid(s, ids["west"], geometry=WEST, attributes={"responsible_body": "西村村委会"},
                         expected_version=2)
    assert not same.changed and same.version == 2
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(GridVersion).where(GridVersion.grid_id == ids["west"])) == 2


def test_history_lists_versions_with_author_time_and_note(store: Store) -> None:
    ids = make_family(store)
    t0 = clock.now()
    with store.session(LI) as s:
        save_grid(s, ids["west"], geometry=lb(0, 0, 900, 1000), expected_version=1, note="西界调整")
    t1 = clock.now()
    with store.session() as s:  # reading needs no write permission
        history = grid_history(s, ids["west"])
    assert [(v.version, v.author, v.note, v.recorded) for v in history] == [
        (1, "zhangsan", "新建网格", True), (2, "lisi", "西界调整", True)]
    assert history[0].saved_at <= t0 <= history[1].saved_at <= t1
    assert [v.current for v in history] == [False, True]
    assert history[0].geometry.equals_exact(WEST, 0)


def test_restore_makes_a_new_version_equal_to_the_old_geometry(store: Store) -> None:
    ids = make_family(store)
    with store.session(ZHANG) as s:
        save_grid(s, ids["west"], geometry=lb(0, 0, 900, 1000), attributes={"name": "西村（改）"}, expected_version=1)
    with store.session(LI) as s:
        r = restore_version(s, ids["west"], 1, expected_version=2)
    assert r.version == 3
    g = grid(store, ids["west"])
    assert g.geom.equals_exact(WEST, 0) and g.name == "西村"
    with store.session() as s:
        history = grid_history(s, ids["west"])
    assert [(v.version, v.author, v.note) for v in history][-1] == (3, "lisi", "恢复为第 1 版")
    assert history[-1].geometry.equals_exact(history[0].geometry, 0)
    with pytest.raises(NotFoundError, match="没有第 7 版"):
        with store.session(LI) as s:
            restore_version(s, ids["west"], 7, expected_version=3)


def test_split_by_a_line_gives_two_grids_whose_areas_sum_to_the_original(store: Store) -> None:
    ids = make_family(store)
    original = grid(store, ids["west"]).geom
    cut = line([(300, -50), (350, 1050)])
    with store.session(ZHANG) as s:
        a, b = split_grid(s, ids["west"], cut, expected_version=1, names=("西村北", "西村南"))
    assert (a.grid_id, a.version, b.created, b.version) == (ids["west"], 2, True, 1)
    ga, gb = grid(store, a.grid_id), grid(store, b.grid_id)
    assert (ga.name, gb.name, gb.parent_id, gb.level) == ("西村北", "西村南", ids["town"], "village")
    assert m(ga.geom).area > m(gb.geom).area  # the original keeps the larger part
    assert ga.geom.area + gb.geom.area == pytest.approx(original.area, rel=1e-12)  # exact as stored
    # in metres up to the curvature of the lon/lat-straight edges (the cut adds a vertex on each)
    assert m(ga.geom).area + m(gb.geom).area == pytest.approx(m(original).area, rel=1e-6)
    assert shapely.union(ga.geom, gb.geom).symmetric_difference(original).area < 1e-15
    assert ga.geom.intersection(gb.geom).geom_type == "LineString"  # they share the cut exactly
    with store.session() as s:
        assert [v.note for v in grid_history(s, gb.id)] == ["由“西村”分割而来"]
    with pytest.raises(GeometryError, match="没有把网格分开"):
        with store.session(ZHANG) as s:
            split_grid(s, ids["west"], line([(300, -50), (350, 500)]), expected_version=2)
    with pytest.raises(GeometryError, match="分成了 3 块"):
        with store.session(ZHANG) as s:
            split_grid(s, ids["west"], line([(500, -50), (500, 1050), (600, 1050), (600, -50)]), expected_version=2)
    with pytest.raises(ConflictError, match="您的图形已保留"):
        with store.session(ZHANG) as s:
            split_grid(s, ids["west"], cut, expected_version=1)


def test_merge_gives_one_grid_equal_to_the_union(store: Store) -> None:
    ids = make_family(store)
    east = add_east(store, ids)
    west_geom, east_geom = grid(store, ids["west"]).geom, grid(store, east).geom
    with store.session(LI) as s:
        r = merge_grids(s, ids["west"], east, expected_versions=(1, 1), name="合并村")
    g = grid(store, ids["west"])
    assert (g.name, r.version) == ("合并村", 2)
    assert g.geom.symmetric_difference(shapely.union(west_geom, east_geom)).area < 1e-15
    assert g.geom.geom_type == "Polygon" and len(g.geom.interiors) == 0
    other = grid(store, east)
    assert other.deleted_at is not None
    with store.session() as s:
        assert grid_history(s, east)[-1].deleted and grid_history(s, east)[-1].author == "lisi"
        assert "并入“东村”" in grid_history(s, ids["west"])[-1].note


def test_merging_townships_moves_the_children_of_the_deleted_one(store: Store) -> None:
    ids = make_family(store)
    with store.session(ZHANG) as s:
        north = save_grid(s, None, geometry=lb(0, 1000, 2000, 1600), expected_version=None,
                          attributes={"name": "北街道", "level": "township"}).grid_id
        child = save_grid(s, None, geometry=lb(0, 1000, 2000, 1600), expected_version=None,
                          attributes={"name": "北村", "level": "village", "parent_id": north}).grid_id
    with pytest.raises(ConflictError, match="网格“北街道”已被 张三 于 .* 修改，请刷新后重新操作"):
        with store.session(LI) as s:
            merge_grids(s, ids["town"], north, expected_versions=(1, 0))
    with store.session(LI) as s:
        merge_grids(s, ids["town"], north, expected_versions=(1, 1))
    assert grid(store, child).parent_id == ids["town"] and grid(store, child).version == 2
    assert grid(store, ids["town"]).geom.equals(lb(0, 0, 2000, 1600))
    with store.session() as s:
        assert "并入" in grid_history(s, child)[-1].note and grid_history(s, child)[-1].parent_id == ids["town"]


def test_merge_refuses_grids_that_are_not_neighbouring_siblings(store: Store) -> None:
    ids = make_family(store)
    with store.session(ZHANG) as s:
        far = save_grid(s, None, geometry=lb(1500, 0, 2000, 1000), expected_version=None,
                        attributes={"name": "远村", "level": "village", "parent_id": ids["town"]}).grid_id
    with pytest.raises(ValidationError, match="不相邻"):
        with store.session(ZHANG) as s:
            merge_grids(s, ids["west"], far, expected_versions=(1, 1))
    with pytest.raises(ValidationError, match="同一上级网格"):
        with store.session(ZHANG) as s:
            merge_grids(s, ids["west"], ids["town"], expected_versions=(1, 1))


def test_delete_and_restore_are_soft_and_versioned(store: Store) -> None:
    ids = make_family(store)
    with pytest.raises(ValidationError, match="下还有 1 个下级网格"):
        with store.session(ZHANG) as s:
            delete_grid(s, ids["town"], expected_version=1)
    with store.session(ZHANG) as s:
        d = delete_grid(s, ids["west"], expected_version=1)
    assert grid(store, ids["west"]).deleted_at is not None and d.version == 2
    with pytest.raises(NotFoundError, match="已删除"):
        with store.session(ZHANG) as s:
            save_grid(s, ids["west"], geometry=WEST, expected_version=2)
    with store.session(LI) as s:
        r = restore_grid(s, ids["west"], expected_version=2)
    assert grid(store, ids["west"]).deleted_at is None and r.version == 3
    with store.session() as s:
        assert [v.deleted for v in grid_history(s, ids["west"])] == [False, True, False]


def test_grids_as_of_a_time_before_an_edit_returns_the_old_boundary(store: Store) -> None:
    ids = make_family(store)
    t_before = clock.now()
    with store.session(ZHANG) as s:
        save_grid(s, ids["west"], geometry=lb(0, 0, 800, 1000), expected_version=1)
        delete_grid(s, ids["west"], expected_version=2)
    with store.session(ZHANG) as s:
        past, now = grids_as_of(s, t_before), grids_as_of(s, clock.now())
        before_anything = grids_as_of(s, datetime(2000, 1, 1, tzinfo=UTC))
    assert list(past.columns[:4]) == ["id", "name", "level", "parent_id"] and past.crs == "EPSG:4326"
    assert past.set_index("id").loc[ids["west"], "geometry"].equals_exact(WEST, 0)
    assert ids["west"] not in set(now["id"]) and set(now["id"]) == {ids["town"]}
    assert before_anything.empty
    with pytest.raises(ValidationError, match="时区"):
        with store.session() as s:
            grids_as_of(s, datetime(2026, 1, 1))


def test_the_check_runs_against_the_boundaries_of_a_past_date(store: Store) -> None:
    """The demo (grids loaded without versions): close its village gap, then check the past."""
    from gis.demo.load import load_demo

    load_demo(store)
    with store.session() as s:
        town = s.scalar(select(Grid).where(Grid.level == "township"))
        village = s.scalar(select(Grid).where(Grid.name == "森工街道森工社区"))
        assert s.scalar(select(func.count()).select_from(GridVersion)) == 0
        history = grid_history(s, village.id)
        before = check_store(s)
    assert [(v.version, v.author, v.recorded) for v in history] == [(1, "system", False)]
    assert len(before.coverage.uncovered()) == 1
    t_before = clock.now()
    west_strip = shapely.intersection(town.geom, box(126.80, 41.0, 126.8179, 42.0))
    with store.session(ZHANG) as s:
        r = save_grid(s, village.id, geometry=shapely.union(village.geom, west_strip), expected_version=village.version)
    assert any("重叠" in c for c in r.fit.changes)  # the demo's deliberate overlap strip is cut away
    with store.session() as s:
        now = check_store(s)
        reaches, _ = store_layers(s)
        past = check_layers(reaches, grids_as_of(s, t_before))
        history = grid_history(s, village.id)
    assert now.coverage.uncovered() == [] and now.coverage.overlaps() == []
    assert len(past.coverage.uncovered()) == 1 and len(past.coverage.overlaps()) == len(before.coverage.overlaps())
    assert past.summary()["uncovered_length_m"] == pytest.approx(before.summary()["uncovered_length_m"])
    assert [(v.version, v.author, v.recorded) for v in history] == [(1, "system", True), (2, "zhangsan", True)]


def test_leaders_cannot_edit(store: Store) -> None:
    ids = make_family(store)
    calls = [
        lambda s: save_grid(s, None, geometry=lb(1000, 0, 2000, 1000), expected_version=None,
                            attributes={"name": "领导画的", "level": "village", "parent_id": ids["town"]}),
        lambda s: save_grid(s, ids["west"], geometry=WEST, expected_version=1),
        lambda s: restore_version(s, ids["west"], 1, expected_version=1),
        lambda s: delete_grid(s, ids["west"], expected_version=1),
        lambda s: restore_grid(s, ids["west"], expected_version=1),
        lambda s: split_grid(s, ids["west"], line([(300, -50), (350, 1050)]), expected_version=1),
        lambda s: merge_grids(s, ids["west"], ids["town"], expected_versions=(1, 1)),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="领导.*无权"):
            with store.session(LEADER) as s:
                call(s)
    with pytest.raises(PermissionDenied, match="请先登录"):
        with store.session() as s:
            calls[1](s)
    with store.session(LEADER) as s:  # leaders see the history
        assert len(grid_history(s, ids["west"])) == 1
    assert grid(store, ids["west"]).version == 1


def test_every_save_is_audited_and_can_be_undone(store: Store) -> None:
    ids = make_family(store)
    with store.session(LI) as s:
        save_grid(s, ids["west"], geometry=lb(0, 0, 900, 1000), expected_version=1)
        batch = s.info["batch"]
    with store.session() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.batch == batch)).all()
    assert (entry.action, entry.username, entry.table_name, entry.row_id) == ("update", "lisi", "grids", ids["west"])
    with store.session(ADMIN) as s:
        assert undo_batch(s, batch) == 1
    g = grid(store, ids["west"])
    assert g.geom.equals_exact(WEST, 0) and g.version == 3
    with store.session() as s:  # the undone save stays in the history, the undo follows it
        history = grid_history(s, ids["west"])
    assert [(v.version, v.author, v.recorded) for v in history] == [
        (1, "zhangsan", True), (2, "lisi", True), (3, "admin1", False)]
    assert history[-1].geometry.equals_exact(WEST, 0)
    with store.session(ZHANG) as s:  # the next save records the undo as version 3
        assert save_grid(s, ids["west"], geometry=lb(0, 0, 950, 1000), expected_version=3).version == 4
    with store.session() as s:
        assert [v.recorded for v in grid_history(s, ids["west"])] == [True] * 4

    # undoing the creation of a grid removes it with its history
    with store.session(ZHANG) as s:
        new = save_grid(s, None, geometry=lb(1000, 0, 2000, 1000), expected_version=None,
                        attributes={"name": "东村", "level": "village", "parent_id": ids["town"]})
        batch = s.info["batch"]
    with store.session(ADMIN) as s:
        undo_batch(s, batch)
    with store.session() as s:
        assert s.get(Grid, new.grid_id) is None
        assert s.scalar(select(func.count()).select_from(GridVersion).where(GridVersion.grid_id == new.grid_id)) == 0


# =============================================================================================
# Migration
# =============================================================================================


def test_a_database_at_revision_0001_upgrades_keeping_its_rows(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0001")
    assert "grid_versions" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO grids (id, name, level, responsible_body, area_desc, personnel_desc, duties, tasks, rewards,"
            " hotline, illustrative, version) VALUES (1, '东兴村', 'village', '村委会', '', '', '', '', '', '', false, 4)"))
    upgrade(engine)
    assert "grid_versions" in inspect(engine).get_table_names()
    assert schema_differences(engine) == []
    engine.dispose()
    store = Store(store_url)
    with store.session() as s:
        g = s.get(Grid, 1)
        assert (g.name, g.responsible_body, g.version) == ("东兴村", "村委会", 4)
        (v,) = grid_history(s, 1)  # a grid from before the history: an implicit current version
        assert (v.version, v.recorded, v.saved_at, v.author) == (4, False, None, "")
    with store.session(ZHANG) as s:
        save_grid(s, 1, geometry=lb(0, 0, 100, 100), expected_version=4)
    with store.session() as s:
        assert [(v.version, v.recorded) for v in grid_history(s, 1)] == [(4, True), (5, True)]
    store.dispose()
