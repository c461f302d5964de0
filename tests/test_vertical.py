"""纵向到底 checks (gis.checks.vertical) on the demo and on hand-made changes, on SQLite and PostGIS."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from shapely.geometry import LineString
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis import clock
from gis.auth import SYSTEM
from gis.checks.findings import Finding
from gis.checks.vertical import RULE_LABELS, check_vertical, unit_grids
from gis.errors import ValidationError
from gis.model import GridRole, PersonStatus
from gis.store import Store
from gis.store.queries import live_grids
from gis.store.schema import Grid, GridRoleAssignment, Person, Reach, ReachChief, River

TODAY = date(2026, 11, 28)
YESTERDAY = TODAY - timedelta(days=1)
DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"
TOWNSHIP = "临江市森工街道办事处"


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


OBJECT_RULE = "object_without_responsible"  # the demo's 沿江加油站 has none: tests/test_object_ledger.py


def check(store: Store, **kwargs: Any) -> list[Finding]:
    """The findings about posts (grids and reaches); objects are checked in test_object_ledger.py."""
    kwargs.setdefault("today", TODAY)
    with store.session() as s:
        return [f for f in check_vertical(s, **kwargs) if f.rule != OBJECT_RULE]


def grid(s: Session, name: str) -> Grid:
    return s.scalars(select(Grid).where(Grid.name == name, Grid.deleted_at.is_(None))).one()


def person(s: Session, name: str) -> Person:
    return s.scalars(select(Person).where(Person.name == name)).one()


def assign(s: Session, grid_name: str, person_name: str, role: GridRole, **kwargs: Any) -> GridRoleAssignment:
    """Add a post (looked up first: building a half-linked row would trigger an autoflush)."""
    g, p = grid(s, grid_name), person(s, person_name)
    a = GridRoleAssignment(grid=g, person=p, role=role.value, **kwargs)
    s.add(a)
    return a


def post(s: Session, grid_name: str, person_name: str, role: GridRole) -> GridRoleAssignment:
    return s.scalars(
        select(GridRoleAssignment).where(
            GridRoleAssignment.grid_id == grid(s, grid_name).id,
            GridRoleAssignment.person_id == person(s, person_name).id,
            GridRoleAssignment.role == role.value,
        )
    ).one()


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return grid(s, name).id


# --- the demo ------------------------------------------------------------------------------


def test_demo_is_complete_vertically(demo: Store) -> None:
    assert check(demo) == []
    with demo.session() as s:
        found = check_vertical(s)  # default day: today in Asia/Shanghai
    assert [(f.rule, f.message) for f in found] == [
        (OBJECT_RULE, "村级网格“森工街道森工社区”的监管对象“沿江加油站（示意）”（环境安全隐患）没有落实责任人（五定：定人员）")
    ]


def test_demo_has_the_posts_the_plan_requires(demo: Store) -> None:
    """What the empty result above rests on, spelled out."""
    with demo.session() as s:
        roles = {
            g.name: {r: sorted(a.person.name for a in g.roles if a.role == r.value) for r in GridRole}
            for g in live_grids(s)
        }
        chiefless = [r.name for r in s.scalars(select(Reach))
                     if not s.scalars(select(ReachChief).where(ReachChief.reach_id == r.id)).first()]
    assert sorted(roles[TOWNSHIP][GridRole.MAIN_RESPONSIBLE]) == ["孙凤海", "李鑫"]
    assert roles[DONGXING][GridRole.MAIN_RESPONSIBLE] == ["何兆花"]
    assert roles[DONGXING][GridRole.TOWNSHIP_SUPERVISOR] == ["张力文"]
    assert roles[SENGONG][GridRole.MAIN_RESPONSIBLE] == ["管荣波"]
    assert roles[SENGONG][GridRole.TOWNSHIP_SUPERVISOR] == ["崔雪冰"]
    assert all(len(roles[v][GridRole.SUPERVISOR]) >= 1 for v in (DONGXING, SENGONG))
    assert all(people[GridRole.MAIN_RESPONSIBLE] for people in roles.values())
    assert chiefless == []


# --- one change, one finding ---------------------------------------------------------------


def test_removing_the_main_responsible(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        s.delete(post(s, DONGXING, "何兆花", GridRole.MAIN_RESPONSIBLE))
    (f,) = check(demo)
    assert (f.rule, f.object_id, f.level, f.severity) == (
        "no_main_responsible", grid_id(demo, DONGXING), "village", "error")
    assert f.message == "村级网格“森工街道东兴村”没有在任的主要责任人"


def test_ended_main_responsible_is_reported_once_with_a_note(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        a = post(s, DONGXING, "何兆花", GridRole.MAIN_RESPONSIBLE)
        a.valid_to = YESTERDAY
        ended_id = a.id
    (f,) = check(demo)  # no expired_only besides
    assert f.rule == "no_main_responsible" and f.related_ids == (ended_id,)
    assert f.message.endswith("（原主要责任人何兆花已于2026-11-27任期届满）")
    assert check(demo, today=YESTERDAY) == []  # the last day of a term still counts


def test_future_main_responsible_does_not_count_yet(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        post(s, SENGONG, "管荣波", GridRole.MAIN_RESPONSIBLE).valid_from = TODAY + timedelta(days=1)
    assert [(f.rule, f.object_id) for f in check(demo)] == [("no_main_responsible", grid_id(demo, SENGONG))]
    assert check(demo, today=TODAY + timedelta(days=1)) == []


def test_township_supervisor_ended_yesterday(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        post(s, DONGXING, "张力文", GridRole.TOWNSHIP_SUPERVISOR).valid_to = YESTERDAY
    (f,) = check(demo)
    assert (f.rule, f.object_id, f.level) == ("no_township_supervisor", grid_id(demo, DONGXING), "village")
    assert "森工街道东兴村" in f.message and "张力文已于2026-11-27任期届满" in f.message


def test_removing_the_supervisor(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        s.delete(post(s, DONGXING, "王立军", GridRole.SUPERVISOR))
    (f,) = check(demo)
    assert (f.rule, f.object_id, f.level) == ("work_group_too_small", grid_id(demo, DONGXING), "village")
    assert f.message == "村级网格“森工街道东兴村”的监管工作组没有在任的监管人员，少于规定的1人"


def test_minimum_of_supervisors_is_a_parameter(demo: Store) -> None:
    found = check(demo, min_supervisors=2)
    assert [(f.rule, f.object_id) for f in found] == [
        ("work_group_too_small", grid_id(demo, DONGXING)), ("work_group_too_small", grid_id(demo, SENGONG))]
    assert "现有监管人员1人（王立军），少于规定的2人" in found[0].message
    with demo.session(SYSTEM) as s:
        s.delete(post(s, DONGXING, "王立军", GridRole.SUPERVISOR))
    assert check(demo, min_supervisors=0) == []
    with demo.session() as s, pytest.raises(ValidationError, match="不能为负数"):
        check_vertical(s, min_supervisors=-1)


def test_departed_person_still_holding_posts(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        guan = person(s, "管荣波")
        guan.status = PersonStatus.LEFT.value
        expected = {post(s, SENGONG, "管荣波", GridRole.MAIN_RESPONSIBLE).id}
        chief_ids = set(s.scalars(select(ReachChief.id).where(ReachChief.person_id == guan.id)))
    found = check(demo)
    assert {f.rule for f in found} == {"post_held_by_departed"}
    grid_posts = [f for f in found if f.level is not None]
    chief_posts = [f for f in found if f.level is None]
    assert {f.object_id for f in grid_posts} == expected
    assert {f.object_id for f in chief_posts} == chief_ids and len(chief_ids) == 3
    assert grid_posts[0].message == "管荣波已离任，仍登记为村级网格“森工街道森工社区”的主要责任人"
    assert all("管荣波已离任" in f.message and "村级河长" in f.message for f in chief_posts)


def test_departed_person_with_an_ended_post_is_not_reported(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        person(s, "王立军").status = PersonStatus.LEFT.value
        post(s, DONGXING, "王立军", GridRole.SUPERVISOR).valid_to = YESTERDAY
        assign(s, DONGXING, "陈宝山", GridRole.SUPERVISOR)
    assert check(demo) == []


def test_reach_without_chief(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        river = s.scalars(select(River).where(River.name == "鸭绿江")).one()
        reach = Reach(river=river, name="测试河段", geom=LineString([(126.9, 41.75), (126.91, 41.76)]))
        s.add(reach)
        s.flush()
        reach_id = reach.id
    (f,) = check(demo)
    assert (f.rule, f.object_id, f.level) == ("reach_without_chief", reach_id, None)
    assert f.message == "河段“测试河段”（鸭绿江）没有在任的河长"


def test_reach_whose_chiefs_all_ended(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        reach = s.scalars(select(Reach).where(Reach.code == "BSG-01")).one()
        for c in s.scalars(select(ReachChief).where(ReachChief.reach_id == reach.id)):
            c.valid_to = YESTERDAY
        reach_id = reach.id
    (f,) = check(demo)
    assert (f.rule, f.object_id) == ("reach_without_chief", reach_id)
    assert f.message.endswith("（原河长管荣波已于2026-11-27任期届满）")


def test_person_of_one_village_holding_a_post_in_the_other(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        stranger = Person(name="测试人员", unit="东兴村")
        s.add(stranger)
        a = assign(s, SENGONG, "测试人员", GridRole.SUPERVISOR)
        s.flush()
        ids = a.id, stranger.id, grid(s, SENGONG).id, grid(s, DONGXING).id
    (f,) = check(demo)
    assert (f.rule, f.object_id, f.severity, f.level) == ("person_outside_branch", ids[0], "warning", "village")
    assert f.related_ids == ids[1:]
    assert f.message == ("测试人员在村级网格“森工街道森工社区”担任监管人员，"
                         "不在其单位“东兴村”所属网格“森工街道东兴村”的上下级链条内")


def test_posts_up_and_down_the_branch_are_fine(demo: Store) -> None:
    """A village person may serve the township and county; a township person any village."""
    with demo.session(SYSTEM) as s:
        assign(s, TOWNSHIP, "王立军", GridRole.SUPERVISOR)
        assign(s, "临江市", "王立军", GridRole.ASSISTANT)
        assign(s, SENGONG, "张力文", GridRole.SUPERVISOR)
    assert check(demo) == []


def test_unit_matching_no_grid_belongs_where_the_person_serves_highest(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        s.add(Person(name="无单位对应人员", unit="农业农村办"))
        assign(s, DONGXING, "无单位对应人员", GridRole.SUPERVISOR)
        assign(s, SENGONG, "无单位对应人员", GridRole.ASSISTANT)
    assert check(demo) == []  # both posts at the highest level held: each is its own branch
    with demo.session(SYSTEM) as s:
        county = grid(s, "临江市")
        twin = Grid(name="另一街道", level="township", parent=county)
        s.add_all([twin, Grid(name="另一街道某村", level="village", parent=twin), Person(name="跨街道人员", unit="")])
        assign(s, "另一街道", "跨街道人员", GridRole.MAIN_RESPONSIBLE)
        assign(s, "另一街道某村", "跨街道人员", GridRole.MAIN_RESPONSIBLE)
        assign(s, "另一街道某村", "张力文", GridRole.TOWNSHIP_SUPERVISOR)
        assign(s, "另一街道某村", "高雪", GridRole.SUPERVISOR)
        assign(s, DONGXING, "跨街道人员", GridRole.ASSISTANT)
    found = check(demo)
    # 跨街道人员's highest post is 另一街道, so the 东兴村 post is outside; 张力文 (township office of
    # 森工街道) supervising 另一街道某村 is outside too; 高雪 likewise.
    assert [f.rule for f in found] == ["person_outside_branch"] * 3
    assert "跨街道人员在村级网格“森工街道东兴村”" in found[0].message
    assert "按其最高一级任职所在网格“另一街道”" in found[0].message
    assert {f.message.split("在")[0] for f in found} == {"跨街道人员", "张力文", "高雪"}


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("森工街道东兴村", [DONGXING]),
        ("东兴村", [DONGXING]),
        ("东兴村村民委员会", [DONGXING]),
        ("森工社区", [SENGONG]),
        ("森工街道农业农村办", [TOWNSHIP]),
        ("森工街道办事处", [TOWNSHIP]),
        ("临江市森工街道党工委", [TOWNSHIP]),
        ("临江市河长制办公室", ["临江市"]),
        ("森工", [TOWNSHIP]),
        ("农业农村办", []),
        ("", []),
    ],
)
def test_unit_to_grid(demo: Store, unit: str, expected: list[str]) -> None:
    with demo.session() as s:
        assert [g.name for g in unit_grids(unit, live_grids(s))] == expected


def test_expired_only_for_a_post_no_other_rule_covers(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        # issue 15: the demo's 赵春梅 is a 志愿者, no longer a 协管员; 吴玉华 is the 协管员 of 森工社区
        for name in ("吴玉华",):
            post(s, SENGONG, name, GridRole.ASSISTANT).valid_to = YESTERDAY
    (f,) = check(demo)
    assert (f.rule, f.object_id, f.severity, f.level) == ("expired_only", grid_id(demo, SENGONG), "warning", "village")
    assert f.message.startswith("村级网格“森工街道森工社区”的协管员任期均已结束，无人接替（原协管员")
    assert "赵春梅" not in f.message and "吴玉华已于2026-11-27任期届满" in f.message
    with demo.session(SYSTEM) as s:  # a successor booked from tomorrow: a replacement exists
        assign(s, SENGONG, "赵春梅", GridRole.ASSISTANT, valid_from=TODAY + timedelta(days=1))
    assert check(demo) == []


def test_deleted_grids_and_reaches_are_ignored(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        now = clock.now()
        s.add(Grid(name="已删除的村", level="village", parent=grid(s, TOWNSHIP), deleted_at=now))
        river = s.scalars(select(River).where(River.name == "鸭绿江")).one()
        s.add(Reach(river=river, name="已删除河段", deleted_at=now,
                    geom=LineString([(126.9, 41.75), (126.91, 41.76)])))
        dongxing = grid(s, DONGXING)
        s.delete(post(s, DONGXING, "何兆花", GridRole.MAIN_RESPONSIBLE))
        dongxing.deleted_at = now  # its remaining posts (张力文, 王立军, 陈宝山) no longer count
        person(s, "王立军").status = PersonStatus.LEFT.value
    assert check(demo) == []


def test_findings_come_grouped_by_rule(demo: Store) -> None:
    with demo.session(SYSTEM) as s:
        s.delete(post(s, SENGONG, "刘晓东", GridRole.SUPERVISOR))
        s.delete(post(s, DONGXING, "何兆花", GridRole.MAIN_RESPONSIBLE))
        person(s, "崔雪冰").status = PersonStatus.LEFT.value
    found = check(demo)
    order = list(RULE_LABELS)
    assert [f.rule for f in found] == ["no_main_responsible", "work_group_too_small",
                                       "post_held_by_departed", "post_held_by_departed"]
    assert [order.index(f.rule) for f in found] == sorted(order.index(f.rule) for f in found)
    assert all(isinstance(f.to_dict()["message"], str) for f in found)
