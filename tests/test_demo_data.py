"""Demo data: geometry (with its two deliberate coverage flaws), organisation, incidents, GPX tracks.

The geometric checks use a naive oracle: plain shapely predicates, one geometry at a time, with
lengths and areas measured after reprojecting to EPSG:4551 (CGCS2000 3° GK CM 126E) via
geopandas.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from gis.demo import data as dd
from gis.model import (
    Category,
    GridLevel,
    GridRole,
    IncidentSource,
    IncidentStatus,
    OrgBodyKind,
    PersonStatus,
    ReachChiefLevel,
    RiverLevel,
    Severity,
    UserRole,
)

METRIC = "EPSG:4551"
TOWNSHIP = "临江市森工街道办事处"
DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"


@pytest.fixture(scope="module")
def demo() -> dd.DemoData:
    return dd.build_demo_data()


def metric(geom: BaseGeometry) -> BaseGeometry:
    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(METRIC).iloc[0]


def length_m(geom: BaseGeometry) -> float:
    return 0.0 if geom.is_empty else float(metric(geom).length)


def area_m2(geom: BaseGeometry) -> float:
    return 0.0 if geom.is_empty else float(metric(geom).area)


def villages(demo: dd.DemoData) -> list[dd.Grid]:
    return [g for g in demo.grids if g.level == GridLevel.VILLAGE.value]


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def test_geometries_are_valid_lonlat(demo: dd.DemoData) -> None:
    for g in demo.grids:
        assert g.geom.geom_type == "Polygon" and g.geom.is_valid, g.name
    for r in demo.reaches:
        assert r.geom.geom_type == "LineString" and r.geom.is_valid and r.geom.is_simple, r.code
    for geom in [g.geom for g in demo.grids] + [r.geom for r in demo.reaches]:
        minx, miny, maxx, maxy = geom.bounds
        assert 126.0 <= minx <= maxx <= 128.0 and 41.3 <= miny <= maxy <= 42.3


def test_rivers_and_reaches(demo: dd.DemoData) -> None:
    rivers = {r.name: r for r in demo.rivers}
    assert rivers["鸭绿江"].level == RiverLevel.PROVINCE.value and not rivers["鸭绿江"].illustrative
    tributaries = [r for r in demo.rivers if r.name != "鸭绿江"]
    assert 2 <= len(tributaries) <= 4
    assert all(r.illustrative and r.name.endswith("（示意）") for r in tributaries)
    codes = [r.code for r in demo.reaches]
    assert len(set(codes)) == len(codes)
    for r in demo.reaches:
        assert r.river_name in rivers
        RiverLevel(r.level)
    sg1, sg2 = demo.reach("YLJ-SG-01"), demo.reach("YLJ-SG-02")
    # the Yalu reaches follow each other downstream, the lower township reach continues stationing
    yalu = [r for r in demo.reaches if r.river_name == "鸭绿江"]
    for up, down in zip(yalu, yalu[1:]):
        assert up.geom.coords[-1] == down.geom.coords[0]
    assert sg1.start_station_m == 0.0
    assert sg2.start_station_m == pytest.approx(length_m(sg1.geom), abs=1.0)
    # the township stretch passes Linjiang city (lon ~126.80-127.05)
    lo, _, hi, _ = shapely.union(sg1.geom, sg2.geom).bounds
    assert 126.79 < lo < 126.83 and 127.0 < hi < 127.06


def test_tributaries_flow_into_the_yalu_on_the_north_bank(demo: dd.DemoData) -> None:
    yalu = shapely.union_all([r.geom for r in demo.reaches if r.river_name == "鸭绿江"])
    for r in demo.reaches:
        if r.river_name == "鸭绿江":
            continue
        mouth = shapely.Point(r.geom.coords[-1])
        assert yalu.distance(mouth) < 1e-9, r.code
        assert r.geom.coords[0][1] > r.geom.coords[-1][1]  # drawn downstream, north to south
        rest = LineString(r.geom.coords[:-1])
        assert not rest.intersects(yalu), f"{r.code} crosses the Yalu"
        minx, miny, maxx, maxy = r.geom.bounds
        assert 126.85 <= minx and maxx <= 126.98 and 41.75 <= miny and maxy <= 41.87
        # north bank: the Chinese side lies north of the Yalu at every tributary vertex's longitude
        for lon, lat in r.geom.coords[:-1]:
            hit = yalu.intersection(LineString([(lon, 41.0), (lon, 43.0)]))
            assert lat > max(p.y for p in getattr(hit, "geoms", [hit])), (r.code, lon, lat)


def test_grid_hierarchy_and_containment(demo: dd.DemoData) -> None:
    by_name = {g.name: g for g in demo.grids}
    assert [g.level for g in demo.grids] == ["county", "township", "village", "village"]
    assert by_name[TOWNSHIP].parent_name == "临江市"
    assert by_name[DONGXING].parent_name == by_name[SENGONG].parent_name == TOWNSHIP
    for g in demo.grids:
        assert g.illustrative and "示意" in g.note
        if g.parent_name is not None:
            # shared edges differ by float noise (~1e-16 deg), so ``within`` needs a tolerance
            outside = g.geom.difference(by_name[g.parent_name].geom)
            assert area_m2(outside) < 0.01, f"{g.name} sticks out of {g.parent_name}"
    # the overlap of the villages is inside the township too
    overlap = by_name[DONGXING].geom.intersection(by_name[SENGONG].geom)
    assert area_m2(overlap.difference(by_name[TOWNSHIP].geom)) < 0.01
    # every reach lies in the county
    county = by_name["临江市"].geom
    for r in demo.reaches:
        assert length_m(r.geom.difference(county)) < 0.01, r.code


def test_flaw_villages_overlap_across_a_reach(demo: dd.DemoData) -> None:
    a, b = (g.geom for g in villages(demo))
    overlap = a.intersection(b)
    assert area_m2(overlap) > 0
    # a visible strip: 100-300 m wide (area / north-south extent)
    _, miny, _, maxy = metric(overlap).bounds
    width = area_m2(overlap) / (maxy - miny)
    assert 100 <= width <= 300
    crossed = {r.code: length_m(r.geom.intersection(overlap)) for r in demo.reaches}
    assert crossed["YLJ-SG-01"] > 50 and crossed["YLJ-SG-02"] > 50
    assert sum(crossed.values()) == pytest.approx(crossed["YLJ-SG-01"] + crossed["YLJ-SG-02"])
    minx, _, maxx, _ = overlap.bounds
    assert 126.92 < minx < maxx < 126.94  # where the docstring says


def test_flaw_uncovered_reach_stretch_inside_township(demo: dd.DemoData) -> None:
    township = demo.grid(TOWNSHIP).geom
    vs = [g.geom for g in villages(demo)]
    uncovered: dict[str, float] = {}
    for r in demo.reaches:
        inside = r.geom.intersection(township)
        for v in vs:
            inside = inside.difference(v)
        if length_m(inside) > 0.01:
            uncovered[r.code] = length_m(inside)
            gap = inside
    assert list(uncovered) == ["YLJ-SG-02"]
    assert 500 <= uncovered["YLJ-SG-02"] <= 1000
    minx, _, maxx, _ = gap.bounds
    assert 126.809 < minx and maxx < 126.819  # the township's west end, as documented
    # covered + uncovered = the reach's length inside the township
    r = demo.reach("YLJ-SG-02")
    covered = r.geom.intersection(shapely.union_all(vs)).intersection(township)
    assert length_m(covered) + uncovered["YLJ-SG-02"] == pytest.approx(length_m(r.geom.intersection(township)), abs=0.5)


def test_tributaries_each_in_one_village(demo: dd.DemoData) -> None:
    for r in demo.reaches:
        if r.river_name == "鸭绿江":
            continue
        holders = [g.name for g in villages(demo) if length_m(r.geom.difference(g.geom)) < 0.01]
        touching = [g.name for g in villages(demo) if r.geom.intersects(g.geom)]
        assert len(holders) == 1 and touching == holders, r.code


def test_five_fixed_texts(demo: dd.DemoData) -> None:
    for g in demo.grids:
        for text in (g.area_desc, g.personnel_desc, g.duties, g.tasks, g.rewards):
            assert text.strip(), g.name
        assert "示意" in g.area_desc
        assert "饮用水源地" in g.tasks and "畜禽养殖污染" in g.tasks
    assert "每个工作组监管人员不少于1人" in demo.grid(TOWNSHIP).duties
    assert "向乡级网格报告违法排污行为" in demo.grid(DONGXING).duties
    assert demo.grid(DONGXING).responsible_body == "东兴村村民委员会"
    assert demo.grid(SENGONG).responsible_body == "森工社区居民委员会"
    assert demo.grid(TOWNSHIP).responsible_body == TOWNSHIP


# ---------------------------------------------------------------------------------------------
# Organisation (as in the plan / DOMAIN.md)
# ---------------------------------------------------------------------------------------------

PLAN_PEOPLE = {
    "孙凤海": "党工委书记",
    "李鑫": "党工委副书记、办事处主任",
    "崔雪冰": "办事处副主任",
    "张力文": "农业农村办负责人",
    "高雪": "农业农村办职员",
    "唐延磊": "农业农村办职员",
    "管荣波": "森工社区书记",
    "何兆花": "东兴村书记",
}


def test_people_of_the_plan(demo: dd.DemoData) -> None:
    names = [p.name for p in demo.persons]
    assert len(set(names)) == len(names)
    real = {p.name: p for p in demo.persons if not p.illustrative}
    assert set(real) == set(PLAN_PEOPLE) | {"秦伟"}
    for name, title in PLAN_PEOPLE.items():
        assert real[name].title == title
    for p in demo.persons:
        assert not p.phone_public
        PersonStatus(p.status)
        if p.illustrative:
            assert p.note.startswith("示意人员")


def test_leading_group_and_office(demo: dd.DemoData) -> None:
    group, office = demo.org_bodies
    assert group.kind == OrgBodyKind.LEADING_GROUP.value and office.kind == OrgBodyKind.OFFICE.value
    assert office.parent_name == group.name
    assert [(m.position, m.person_name) for m in group.members] == [
        ("组长", "孙凤海"), ("组长", "李鑫"), ("副组长", "崔雪冰"), ("成员", "张力文"), ("成员", "高雪"),
        ("成员", "唐延磊"), ("成员", "管荣波"), ("成员", "何兆花"),
    ]
    assert [(m.position, m.person_name) for m in office.members] == [
        ("主任", "崔雪冰"), ("成员", "秦伟"), ("成员", "高雪"), ("成员", "唐延磊"), ("成员", "何兆花"),
        ("成员", "管荣波"),
    ]
    for body in (group, office):
        assert [m.sort for m in body.members] == list(range(1, len(body.members) + 1))


def test_grid_roles_table(demo: dd.DemoData) -> None:
    def holders(grid: str, role: GridRole) -> list[str]:
        rows = sorted((r for r in demo.grid_roles if r.grid_name == grid and r.role == role.value), key=lambda r: r.sort)
        return [r.person_name for r in rows]

    assert holders(TOWNSHIP, GridRole.MAIN_RESPONSIBLE) == ["孙凤海", "李鑫"]
    assert holders(DONGXING, GridRole.MAIN_RESPONSIBLE) == ["何兆花"]
    assert holders(DONGXING, GridRole.TOWNSHIP_SUPERVISOR) == ["张力文"]
    assert holders(SENGONG, GridRole.MAIN_RESPONSIBLE) == ["管荣波"]
    assert holders(SENGONG, GridRole.TOWNSHIP_SUPERVISOR) == ["崔雪冰"]
    assert len(holders("临江市", GridRole.MAIN_RESPONSIBLE)) == 1
    persons = {p.name: p for p in demo.persons}
    grids = {g.name for g in demo.grids}
    for village in (DONGXING, SENGONG):
        assert len(holders(village, GridRole.SUPERVISOR)) >= 1  # 每个工作组监管人员不少于1人
        assert all(persons[n].illustrative for n in holders(village, GridRole.SUPERVISOR))
    assert sum(len(holders(v, GridRole.ASSISTANT)) for v in (DONGXING, SENGONG)) >= 2
    for r in demo.grid_roles:
        assert r.person_name in persons and r.grid_name in grids


def test_reach_chiefs(demo: dd.DemoData) -> None:
    persons = {p.name for p in demo.persons}
    for r in demo.reaches:
        chiefs = [c for c in demo.reach_chiefs if c.reach_code == r.code]
        assert chiefs, r.code
        for c in chiefs:
            assert c.person_name in persons
            ReachChiefLevel(c.level)
    assert {c.level for c in demo.reach_chiefs} == {lvl.value for lvl in ReachChiefLevel}


def test_users(demo: dd.DemoData) -> None:
    persons = {p.name for p in demo.persons}
    roles = {r.value for r in UserRole}
    named = [u for u in demo.users if u.username in roles]
    assert [(u.username, u.role) for u in named] == [(r.value, r.value) for r in UserRole]
    extra = {u.username: (u.role, u.grid_name) for u in demo.users if u.username not in roles}
    assert extra == {"dongxing": ("staff", dd.DONGXING), "county": ("staff", dd.COUNTY)}
    for u in demo.users:
        assert u.password == dd.DEMO_PASSWORD == "rivergrid-demo"
        assert u.display_name
        assert u.person_name is None or u.person_name in persons


# ---------------------------------------------------------------------------------------------
# Objects and incidents
# ---------------------------------------------------------------------------------------------


def test_objects(demo: dd.DemoData) -> None:
    assert len(demo.objects) >= 8
    assert len({o.category for o in demo.objects}) >= 5
    a, b = (g.geom for g in villages(demo))
    overlap = a.intersection(b)
    for o in demo.objects:
        Category(o.category)
        assert demo.grid(o.grid_name).level == "village"
        assert demo.grid(o.grid_name).geom.contains(o.geom), o.name
        assert not overlap.contains(o.geom)
        assert length_m(LineString([o.geom, demo.reach(o.reach_code).geom.interpolate(
            demo.reach(o.reach_code).geom.project(o.geom))])) < 250, o.name


def test_incident_coverage(demo: dd.DemoData) -> None:
    incidents = demo.incidents
    assert len(incidents) >= 12
    assert len({i.code for i in incidents}) == len(incidents)
    assert {i.status for i in incidents} == {s.value for s in IncidentStatus}
    assert {i.severity for i in incidents} == {s.value for s in Severity}
    assert len({i.category for i in incidents}) >= 6
    assert {i.source for i in incidents} == {s.value for s in IncidentSource}
    for i in incidents:
        Category(i.category)
        assert i.reported_at.tzinfo is not None and i.reported_at.utcoffset().total_seconds() == 0
        assert datetime(2026, 9, 1, tzinfo=UTC) <= i.reported_at < datetime(2026, 12, 1, tzinfo=UTC)


def test_incident_histories(demo: dd.DemoData) -> None:
    persons = {p.name for p in demo.persons}
    for i in demo.incidents:
        h = i.history
        assert h[0].from_status is None and h[0].to_status == IncidentStatus.REPORTED.value
        assert h[0].at == i.reported_at and h[0].by == i.reporter
        for prev, cur in zip(h, h[1:]):
            assert cur.from_status == prev.to_status, i.code
            assert cur.at > prev.at, i.code
        assert h[-1].to_status == i.status, i.code
        assert all(e.by in persons for e in h)
        assert all(e.at < demo.reference_time for e in h)
        if not IncidentStatus(i.status).is_open:
            assert i.closed_at == h[-1].at
        else:
            assert i.closed_at is None


def test_overdue_incidents(demo: dd.DemoData) -> None:
    overdue = [
        i.code for i in demo.incidents
        if i.status == IncidentStatus.IN_PROGRESS.value and i.close_due_at is not None
        and i.close_due_at < demo.reference_time
    ]
    assert overdue == ["SJ-2026-008", "SJ-2026-009"]


def test_incident_locations(demo: dd.DemoData) -> None:
    vs = [g.geom for g in villages(demo)]
    township = demo.grid(TOWNSHIP).geom
    in_gap = [i.code for i in demo.incidents if township.contains(i.geom) and not any(v.contains(i.geom) for v in vs)]
    assert in_gap == ["SJ-2026-012"]
    for i in demo.incidents:
        assert demo.grid(i.grid_name).geom.contains(i.geom), i.code
        reach = demo.reach(i.reach_code).geom
        assert length_m(LineString([i.geom, reach.interpolate(reach.project(i.geom))])) < 250, i.code


# ---------------------------------------------------------------------------------------------
# Tracks and GPX
# ---------------------------------------------------------------------------------------------


def _speeds_kmh(gdf: gpd.GeoDataFrame) -> tuple[float, float]:
    """Mean speed over the whole track and the median of per-point speeds, in km/h."""
    pts = gdf.to_crs(METRIC).geometry
    xy = np.column_stack([pts.x, pts.y])
    step = np.hypot(*np.diff(xy, axis=0).T)
    secs = np.diff(gdf["time"].astype("int64").to_numpy()) / 1000.0
    return float(step.sum() / secs.sum() * 3.6), float(np.median(step / secs) * 3.6)


def test_tracks_metadata(demo: dd.DemoData) -> None:
    persons = {p.name for p in demo.persons}
    assert len(demo.tracks) >= 6
    assert len({t.person_name for t in demo.tracks}) >= 5
    assert sorted(t.flaw for t in demo.tracks if t.flaw) == ["driving_speed", "gcj02"]
    for t in demo.tracks:
        assert t.person_name in persons and demo.grid(t.grid_name).level == "village"
        assert len(t.coords) == len(t.times)
        assert all(b > a for a, b in zip(t.times, t.times[1:]))
        assert datetime(2026, 10, 1, tzinfo=UTC) <= t.started_at < datetime(2026, 12, 1, tzinfo=UTC)
        length = length_m(t.geom)
        minutes = (t.ended_at - t.started_at).total_seconds() / 60
        assert 1000 <= length <= 4000, t.gpx_file
        if t.flaw != "driving_speed":
            assert 30 <= minutes <= 90, t.gpx_file
            assert 10 <= minutes * 60 / (len(t.times) - 1) <= 30
    # honest tracks follow their reach within ~30 m (GCJ-02 one is offset by hundreds of metres)
    for t in demo.tracks:
        reach = demo.reach(t.reach_code).geom
        d = [length_m(LineString([p, reach.interpolate(reach.project(p))])) for p in map(shapely.Point, t.coords[::10])]
        if t.flaw == "gcj02":
            assert np.median(d) > 200, t.gpx_file
        else:
            assert np.median(d) < 30 and max(d) < 60, t.gpx_file


def test_gpx_files_parse_and_match(demo: dd.DemoData) -> None:
    files = sorted(p.name for p in dd.GPX_DIR.glob("*.gpx"))
    assert files == sorted(t.gpx_file for t in demo.tracks)
    for t in demo.tracks:
        path = dd.GPX_DIR / t.gpx_file
        text = path.read_text(encoding="utf-8")
        assert 'creator="RiverGrid demo"' in text and 'version="1.1"' in text
        gdf = gpd.read_file(path, layer="track_points")
        assert gdf.crs.to_epsg() == 4326
        assert len(gdf) == len(t.coords)
        times = gdf["time"]
        assert times.is_monotonic_increasing and times.is_unique
        assert times.iloc[0].to_pydatetime() == t.started_at
        np.testing.assert_allclose(np.column_stack([gdf.geometry.x, gdf.geometry.y]), np.array(t.coords), atol=1e-7)
        mean, median = _speeds_kmh(gdf)
        if t.flaw == "driving_speed":
            assert mean > 25 and median > 25, t.gpx_file
        else:
            assert mean < 7 and median < 7, t.gpx_file
        tracks = gpd.read_file(path, layer="tracks")
        assert tracks["name"].iloc[0] == t.name


def test_committed_gpx_are_current(demo: dd.DemoData, tmp_path: Path) -> None:
    written = dd.write_demo_gpx(tmp_path, data=demo)
    assert [p.name for p in written] == [t.gpx_file for t in demo.tracks]
    for p in written:
        assert p.read_text(encoding="utf-8") == (dd.GPX_DIR / p.name).read_text(encoding="utf-8"), (
            f"{p.name} is stale: run python -m gis.demo.data"
        )


def test_deterministic(demo: dd.DemoData) -> None:
    assert dd.build_demo_data() == demo
