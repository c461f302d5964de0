"""Responsibility chain (gis.grids.chain) on the demo and on hand-made grids, SQLite and PostGIS."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, box
from sqlalchemy import select

from gis.auth import SYSTEM
from gis.config import PROJECT_DIR
from gis.demo import data as dd
from gis.errors import CoordinateRangeError, CRSError, NotFoundError, ValidationError
from gis.grids.chain import ResponsibilityIndex, chain_for_incident
from gis.grids.links import Chain
from gis.model import STORE_CRS, GridRole, ReachChiefLevel
from gis.store import Store
from gis.store.schema import (
    Grid,
    GridRoleAssignment,
    Incident,
    Person,
    Reach,
    ReachChief,
    River,
)

TODAY = date(2026, 11, 28)
DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"
TOWNSHIP = "临江市森工街道办事处"
COUNTY = "临江市"

DONGXING_POINT = (127.0, 41.84)
"""Well inside 东兴村: far from 森工社区, the overlap strip and every reach (checked below)."""
GAP_POINT = (126.812, 41.729)
"""In the township strip west of 森工社区 (lon 126.81–126.8178) that no village covers."""

_TO_M = Transformer.from_crs(STORE_CRS, dd.METRIC_CRS, always_xy=True)
_TO_LL = Transformer.from_crs(dd.METRIC_CRS, STORE_CRS, always_xy=True)


def metric(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_M.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture(scope="module")
def demo_data() -> dd.DemoData:
    return dd.build_demo_data()


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


@pytest.fixture
def index(demo: Store) -> ResponsibilityIndex:
    with demo.session() as s:
        return ResponsibilityIndex.from_session(s, today=TODAY)


def persons(chain: Chain, step: str | None = None) -> list[str]:
    return [link.person for link in chain.chain if link.person and (step is None or link.step == step)]


# --- the demo ------------------------------------------------------------------------------


def test_demo_points_are_where_the_tests_say(demo_data: dd.DemoData) -> None:
    grids = {g.name: g.geom for g in demo_data.grids}
    inside = Point(DONGXING_POINT)
    assert grids[DONGXING].covers(inside) and not grids[SENGONG].covers(inside)
    assert metric(grids[SENGONG]).distance(metric(inside)) > 1000
    assert metric(grids[DONGXING].exterior).distance(metric(inside)) > 500
    assert min(metric(r.geom).distance(metric(inside)) for r in demo_data.reaches) > 500
    gap = Point(GAP_POINT)
    assert grids[TOWNSHIP].covers(gap) and grids[COUNTY].covers(gap)
    assert not grids[DONGXING].covers(gap) and not grids[SENGONG].covers(gap)
    sg02 = next(r for r in demo_data.reaches if r.code == "YLJ-SG-02")
    assert metric(sg02.geom).distance(metric(gap)) < 100  # beside the uncovered stretch of the reach


def test_point_in_dongxing_gives_the_chain_of_the_plan(index: ResponsibilityIndex) -> None:
    chain = index.lookup(*DONGXING_POINT)
    assert [(g.level, g.name) for g in chain.grids] == [
        ("county", COUNTY), ("township", TOWNSHIP), ("village", DONGXING)]
    assert chain.reach is None and not chain.blind_spot and chain.nearest_grid is None
    assert persons(chain)[:5] == ["何兆花", "张力文", "孙凤海", "李鑫", "崔雪冰"]
    assert [(l.role, l.grid) for l in chain.chain[:5]] == [
        ("main_responsible", DONGXING), ("township_supervisor", DONGXING),
        ("main_responsible", TOWNSHIP), ("main_responsible", TOWNSHIP), ("office_director", TOWNSHIP)]
    office = chain.chain[4]
    assert office.role_label == "领导小组办公室主任" and office.body.endswith("领导小组办公室")
    assert [l.step for l in chain.chain] == ["village", "village", "township", "township", "office", "county"]
    assert chain.chain[-1].grid == COUNTY and chain.chain[-1].person == "周永明"
    assert chain.chain[0].title == "东兴村书记" and chain.chain[0].phone  # name, title, phone
    assert chain.warnings == []


def test_point_in_the_gap_is_a_blind_spot_with_the_nearest_grid(index: ResponsibilityIndex) -> None:
    chain = index.lookup(*GAP_POINT)
    assert chain.blind_spot
    assert chain.grids_at("village") == []
    assert [g.name for g in chain.grids] == [COUNTY, TOWNSHIP]
    assert chain.nearest_grid is not None and chain.nearest_grid.name == SENGONG
    assert 400 < chain.nearest_grid.distance_m < 600  # lon 126.812 → 126.8178 is ~480 m at lat 41.7
    assert any("盲区" in w and SENGONG in w and "米" in w for w in chain.warnings)
    # the township and county still answer
    assert persons(chain) == ["孙凤海", "李鑫", "崔雪冰", "周永明"]


def test_point_near_a_reach_gives_the_reach_and_its_chiefs(index: ResponsibilityIndex, demo_data: dd.DemoData) -> None:
    sg01 = next(r for r in demo_data.reaches if r.code == "YLJ-SG-01")
    line = metric(sg01.geom)
    on = line.interpolate(5000.0)
    x, y = _TO_LL.transform(on.x, on.y + 30.0)  # 30 m north (the Chinese bank) of the centre line
    assert 0 < line.distance(Point(on.x, on.y + 30.0)) <= 30.0
    chain = index.lookup(x, y)
    assert chain.reach is not None and chain.reach.name == sg01.name and chain.reach.river == "鸭绿江"
    assert chain.reach.distance_m <= 30.5
    assert abs(chain.reach.station_m - 5000.0) < 40.0  # YLJ-SG-01 starts at K0+000
    assert chain.reach.station.startswith("K4+") or chain.reach.station.startswith("K5+")
    assert [(l.role, l.person) for l in chain.reach.chiefs] == [
        (ReachChiefLevel.VILLAGE.value, "何兆花"), (ReachChiefLevel.TOWNSHIP.value, "孙凤海")]
    assert chain.chain[:2] == chain.reach.chiefs
    assert [l.step for l in chain.chain][:3] == ["reach", "reach", "village"]
    assert [g.name for g in chain.grids_at("village")] == [DONGXING]
    # 30 m off with a 10 m tolerance: no reach
    assert index.lookup(x, y, tolerance_m=10.0).reach is None


def test_reach_stationing_continues_the_upper_reach(index: ResponsibilityIndex, demo_data: dd.DemoData) -> None:
    sg02 = next(r for r in demo_data.reaches if r.code == "YLJ-SG-02")
    on = metric(sg02.geom).interpolate(1000.0)
    chain = index.lookup(*_TO_LL.transform(on.x, on.y))
    assert chain.reach is not None and chain.reach.name == sg02.name
    assert abs(chain.reach.station_m - (sg02.start_station_m + 1000.0)) < 1.0


def test_overlap_strip_lists_both_villages_and_warns(index: ResponsibilityIndex) -> None:
    chain = index.lookup(126.925, 41.80)
    assert sorted(g.name for g in chain.grids_at("village")) == sorted([DONGXING, SENGONG])
    assert any(DONGXING in w and SENGONG in w for w in chain.warnings)
    assert {"何兆花", "管荣波", "张力文", "崔雪冰"} <= set(persons(chain, "village"))


def test_incident_chain(index: ResponsibilityIndex, demo: Store) -> None:
    with demo.session() as s:
        gap_incident = s.scalars(select(Incident).where(Incident.code == "SJ-2026-012")).one().id
        chain = chain_for_incident(s, gap_incident, today=TODAY)
    assert chain.blind_spot and chain.nearest_grid is not None and chain.nearest_grid.name == SENGONG
    assert chain.reach is not None and chain.reach.name == "鸭绿江森工街道段（下段）"
    assert persons(chain)[:2] == ["管荣波", "李鑫"]  # its river chiefs come first
    assert not any("登记的" in w for w in chain.warnings)  # recorded on the township, which covers it
    assert chain_for_incident(index, gap_incident).to_dict() == chain.to_dict()
    with pytest.raises(NotFoundError, match="没有编号为 999999 的事件"):
        index.lookup_incident(999999)


def test_private_phones_are_hidden_on_request(index: ResponsibilityIndex) -> None:
    chain = index.lookup(*DONGXING_POINT)
    assert all(not l.phone_public for l in chain.chain)  # the demo publishes no phone
    assert all(l["phone"] for l in chain.to_dict()["chain"])
    assert all(l["phone"] == "" for l in chain.to_dict(include_private_phones=False)["chain"])
    assert "0439" not in chain.to_text(include_private_phones=False)


def test_bad_input_is_refused_in_chinese(index: ResponsibilityIndex) -> None:
    with pytest.raises(CoordinateRangeError, match="经纬度可能颠倒"):
        index.lookup(41.84, 127.0)
    with pytest.raises(ValidationError, match="容差"):
        index.lookup(*DONGXING_POINT, tolerance_m=-1)


# --- a hand-made store: two villages sharing an edge --------------------------------------

EDGE_LON = 126.90


@pytest.fixture
def squares(store: Store) -> Store:
    """County = township = box(126.80, 41.70, 127.00, 41.90); villages 甲村 (west) and 乙村 (east)
    share the meridian 126.90; one reach along lat 41.75 with a village chief."""
    with store.session(SYSTEM) as s:
        people = {n: Person(name=n, title=t, phone=ph, phone_public=pub) for n, t, ph, pub in [
            ("县甲", "县级负责人", "111", True), ("乡甲", "街道书记", "222", False), ("甲书记", "甲村书记", "333", False),
            ("乙书记", "乙村书记", "444", False), ("监管甲", "农业农村办", "555", False), ("河长甲", "村河长", "666", True),
        ]}
        county = Grid(name="县", level="county", geom=box(126.80, 41.70, 127.00, 41.90))
        town = Grid(name="乡", level="township", parent=county, geom=box(126.80, 41.70, 127.00, 41.90))
        west = Grid(name="甲村", level="village", parent=town, geom=box(126.80, 41.70, EDGE_LON, 41.90))
        east = Grid(name="乙村", level="village", parent=town, geom=box(EDGE_LON, 41.70, 127.00, 41.90))
        river = River(name="测试河")
        # dense vertices along the parallel, so that it stays a parallel in metres too
        reach = Reach(river=river, name="测试河段", geom=shapely.segmentize(LineString([(126.82, 41.75), (126.98, 41.75)]), 0.0005),
                      start_station_m=1000.0)
        s.add_all([*people.values(), county, town, west, east, river, reach])
        s.add_all([
            GridRoleAssignment(grid=county, person=people["县甲"], role=GridRole.MAIN_RESPONSIBLE.value),
            GridRoleAssignment(grid=town, person=people["乡甲"], role=GridRole.MAIN_RESPONSIBLE.value),
            GridRoleAssignment(grid=west, person=people["甲书记"], role=GridRole.MAIN_RESPONSIBLE.value),
            GridRoleAssignment(grid=west, person=people["监管甲"], role=GridRole.TOWNSHIP_SUPERVISOR.value),
            GridRoleAssignment(grid=east, person=people["乙书记"], role=GridRole.MAIN_RESPONSIBLE.value),
            GridRoleAssignment(grid=east, person=people["监管甲"], role=GridRole.TOWNSHIP_SUPERVISOR.value),
            # ended yesterday: not current
            GridRoleAssignment(grid=east, person=people["县甲"], role=GridRole.MAIN_RESPONSIBLE.value,
                               valid_to=TODAY - timedelta(days=1)),
            ReachChief(reach=reach, person=people["河长甲"], level=ReachChiefLevel.VILLAGE.value),
        ])
    return store


def squares_index(store: Store) -> ResponsibilityIndex:
    with store.session() as s:
        return ResponsibilityIndex.from_session(s, today=TODAY)


def test_point_on_a_shared_boundary_gives_both_grids_and_a_warning(squares: Store) -> None:
    chain = squares_index(squares).lookup(EDGE_LON, 41.80)
    assert [g.name for g in chain.grids_at("village")] == ["甲村", "乙村"]
    assert not chain.blind_spot
    assert any("甲村" in w and "乙村" in w and "共同边界" in w for w in chain.warnings)
    assert persons(chain) == ["甲书记", "监管甲", "乙书记", "监管甲", "乡甲", "县甲"]


def test_point_near_a_neighbour_warns_with_the_distance(squares: Store) -> None:
    index = squares_index(squares)
    x, y = _TO_M.transform(EDGE_LON, 41.80)
    lon, lat = _TO_LL.transform(x + 20.0, y)  # 20 m into 乙村
    chain = index.lookup(lon, lat)
    assert [g.name for g in chain.grids_at("village")] == ["乙村"]
    (warning,) = chain.warnings
    assert "甲村" in warning and "约 20 米" in warning
    assert index.lookup(lon, lat, tolerance_m=10.0).warnings == []


def test_current_posts_only_and_public_phones(squares: Store) -> None:
    chain = squares_index(squares).lookup(126.95, 41.80)
    assert persons(chain, "village") == ["乙书记", "监管甲"]  # the ended post of 县甲 is gone
    public = chain.to_dict(include_private_phones=False)["chain"]
    assert [(c["person"], c["phone"]) for c in public] == [("乙书记", ""), ("监管甲", ""), ("乡甲", ""), ("县甲", "111")]


def test_reach_within_tolerance_and_its_chief(squares: Store) -> None:
    index = squares_index(squares)
    x, y = _TO_M.transform(126.86, 41.75)
    lon, lat = _TO_LL.transform(x, y + 40.0)
    chain = index.lookup(lon, lat)
    assert chain.reach is not None and chain.reach.name == "测试河段"
    assert chain.reach.distance_m == pytest.approx(40.0, abs=0.5)
    assert chain.chain[0].person == "河长甲" and chain.chain[0].role_label == "村级河长"
    assert chain.chain[0].grid == "测试河段" and chain.chain[0].reach_id == chain.reach.id
    assert index.lookup(*_TO_LL.transform(x, y + 60.0)).reach is None


def test_vacant_post_and_reach_without_chief_are_warned(squares: Store) -> None:
    with squares.session(SYSTEM) as s:
        for a in s.scalars(select(GridRoleAssignment).join(Grid).where(Grid.name == "乙村")):
            if a.role == GridRole.TOWNSHIP_SUPERVISOR.value:
                s.delete(a)
        for c in s.scalars(select(ReachChief)):
            s.delete(c)
    chain = squares_index(squares).lookup(126.95, 41.75)
    assert "村级网格“乙村”没有在任的乡级监管责任人" in chain.warnings
    assert "河段“测试河段”没有在任的河长" in chain.warnings
    vacant = [l for l in chain.chain if l.vacant]
    assert [(l.role, l.grid, l.title) for l in vacant] == [("township_supervisor", "乙村", "（空缺）")]


def test_outside_every_grid_is_an_answer_not_an_error(squares: Store) -> None:
    chain = squares_index(squares).lookup(127.10, 41.80)
    # issue 15: outside the township and county altogether is "not in the jurisdiction", not a blind spot
    assert not chain.blind_spot and chain.outside and chain.grids == [] and chain.chain == []
    assert chain.nearest_grid is not None and chain.nearest_grid.name == "乙村"
    assert chain.nearest_grid.distance_m == pytest.approx(8300, rel=0.02)  # 0.1° of longitude at 41.8°N
    assert "没有乡级网格覆盖该点" in chain.warnings and "没有县级网格覆盖该点" in chain.warnings


# --- oracle: index == naive loop -------------------------------------------------------------


def test_index_equals_a_naive_loop_on_random_and_boundary_points(index: ResponsibilityIndex, demo: Store) -> None:
    with demo.session() as s:
        grids = [(g.id, g.geom) for g in s.scalars(select(Grid).where(Grid.deleted_at.is_(None))) if g.geom is not None]
        reaches = [(r.id, metric(r.geom)) for r in s.scalars(select(Reach).where(Reach.deleted_at.is_(None)))]
    rng = np.random.default_rng(4)
    points = [Point(x, y) for x, y in zip(rng.uniform(126.78, 127.06, 400), rng.uniform(41.70, 41.90, 400))]
    for _, geom in grids:  # vertices lie on boundaries: covers must say yes
        coords = shapely.get_coordinates(geom)
        points += [Point(c) for c in coords[rng.choice(len(coords), size=min(10, len(coords)), replace=False)]]
    # points close to the reaches, so that the reach part is exercised too
    for _, line in reaches:
        for d in rng.uniform(0, line.length, 5):
            p = line.interpolate(d)
            points.append(Point(_TO_LL.transform(p.x + rng.uniform(-80, 80), p.y + rng.uniform(-80, 80))))
    for pt in points:
        chain = index.lookup(pt.x, pt.y)
        expected = sorted(gid for gid, geom in grids if shapely.covers(geom, pt))
        assert sorted(g.id for g in chain.grids) == expected, pt.wkt
        pm = metric(pt)
        near = sorted((line.distance(pm), rid) for rid, line in reaches if line.distance(pm) <= 50.0)
        if near:
            assert chain.reach is not None and chain.reach.id == near[0][1], pt.wkt
            assert chain.reach.distance_m == pytest.approx(near[0][0], abs=0.01)
        else:
            assert chain.reach is None, pt.wkt


def test_from_frames_checks_the_crs_and_accepts_projected_input(demo_data: dd.DemoData) -> None:
    grids = gpd.GeoDataFrame(
        {"id": [1, 2], "name": ["甲", "乙"], "level": ["village", "村级网格"]},
        geometry=[box(126.80, 41.70, 126.90, 41.80), box(126.90, 41.70, 127.00, 41.80)],
    )
    with pytest.raises(CRSError, match="网格没有坐标系"):
        ResponsibilityIndex.from_frames(grids)
    projected = grids.set_crs(STORE_CRS).to_crs(dd.METRIC_CRS)
    posts = pd.DataFrame({"grid_id": [2], "role": ["main_responsible"], "name": ["乙书记"]})
    index = ResponsibilityIndex.from_frames(projected, posts=posts)
    chain = index.lookup(126.95, 41.75)
    assert [g.id for g in chain.grids] == [2] and persons(chain) == ["乙书记"]
    assert "村级网格“乙”没有在任的乡级监管责任人" in chain.warnings
    assert index.grid_count == 2 and index.reach_count == 0
    assert projected.crs == dd.METRIC_CRS  # the caller's frame is untouched


def test_undrawn_township_still_answers_through_the_hierarchy() -> None:
    grids = gpd.GeoDataFrame(
        {"id": [1, 2, 3], "name": ["县", "乡", "村"], "level": ["county", "township", "village"],
         "parent_id": [None, 1, 2]},
        geometry=[box(126.8, 41.7, 127.0, 41.9), None, box(126.85, 41.75, 126.95, 41.85)], crs=STORE_CRS,
    )
    posts = pd.DataFrame({"grid_id": [1, 2, 3, 3], "name": ["县长", "乡长", "村书记", "乡监管"],
                          "role": ["main_responsible", "main_responsible", "main_responsible", "township_supervisor"]})
    offices = pd.DataFrame({"body": ["乡办"], "grid_id": [2], "name": ["主任甲"]})
    chain = ResponsibilityIndex.from_frames(grids, posts=posts, offices=offices).lookup(126.9, 41.8)
    assert [g.name for g in chain.grids] == ["县", "村"]  # only drawn grids cover
    assert persons(chain) == ["村书记", "乡监管", "乡长", "主任甲", "县长"]
    assert any("“乡”未绘制边界" in w for w in chain.warnings)


# --- command line ----------------------------------------------------------------------------


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", url], check=False,
                          cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)


def test_cli_who_json(demo: Store) -> None:
    proc = run_cli("who", "--lon", str(DONGXING_POINT[0]), "--lat", str(DONGXING_POINT[1]), "--json", url=demo.url)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"grids", "reach", "chain", "warnings"} <= set(data)
    assert all(set(g) == {"level", "id", "name"} for g in data["grids"])
    assert all({"role", "person", "title", "phone", "grid"} <= set(c) for c in data["chain"])
    assert data["reach"] is None and data["blind_spot"] is False
    assert [c["person"] for c in data["chain"]][:5] == ["何兆花", "张力文", "孙凤海", "李鑫", "崔雪冰"]

    proc = run_cli("who", "--lon", str(GAP_POINT[0]), "--lat", str(GAP_POINT[1]), "--tolerance-m", "100", "--json",
                   url=demo.url)
    data = json.loads(proc.stdout)
    assert data["blind_spot"] and data["nearest_grid"]["name"] == SENGONG
    assert set(data["reach"]) >= {"id", "name", "distance_m"} and data["reach"]["name"] == "鸭绿江森工街道段（下段）"


def test_cli_who_text_and_errors(demo: Store) -> None:
    proc = run_cli("who", "--lon", str(GAP_POINT[0]), "--lat", str(GAP_POINT[1]), url=demo.url)
    assert proc.returncode == 0, proc.stderr
    assert "盲区" in proc.stdout and SENGONG in proc.stdout and "崔雪冰" in proc.stdout
    proc = run_cli("who", "--lon", "41.8", "--lat", "127.0", url=demo.url)
    assert proc.returncode == 2
    assert proc.stderr.startswith("错误：经纬度可能颠倒") and len(proc.stderr.strip().splitlines()) == 1
