"""Incidents (gis.incidents.workflow): report and routing, workflow, roles, deadlines, CLI; SQLite and PostGIS."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from gis.accounts.users import actor_for
from gis.auth import SYSTEM, Actor, hash_password
from gis.config import PROJECT_DIR
from gis.demo import data as dd
from gis.errors import (
    ConflictError,
    CoordinateRangeError,
    NotFoundError,
    PermissionDenied,
    RiverGridError,
    ValidationError,
)
from gis.incidents.deadlines import DEFAULT_POLICY, DeadlinePolicy, DeadlineRule, Span, deadline_status
from gis.incidents.lists import blind_spot_incidents, list_incidents
from gis.incidents.reporting import BLIND_SPOT_MARK, report_incident
from gis.incidents.states import ACTIONS, IllegalTransition, allowed_actions, resolve_action, transitions_table
from gis.incidents.workdays import WorkCalendar
from gis.incidents.workflow import can_move, get_incident, move
from gis.model import LOCAL_TZ, IncidentStatus, UserRole
from gis.store import Store
from gis.store.schema import Attachment, AuditEntry, Grid, Incident, IncidentEvent, User

DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"
TOWNSHIP = "临江市森工街道办事处"
DONGXING_POINT = (127.0, 41.84)
GAP_POINT = (126.812, 41.729)
SENGONG_POINT = (126.87, 41.80)


def bj(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    """A Beijing wall-clock time, aware."""
    return datetime(y, mo, d, h, mi, s, tzinfo=LOCAL_TZ)


FRI = bj(2026, 11, 20, 15, 0)  # Friday


def photo(path, color: str = "green"):  # type: ignore[no-untyped-def]
    """A small real JPEG at ``path`` (its file name is what the notes show)."""
    from PIL import Image

    Image.new("RGB", (40, 30), color).save(path, format="JPEG")
    return path


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Photos go to a temporary data folder, never into the checkout's ``data/``."""
    folder = tmp_path / "data"
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def actor(store: Store, username: str) -> Actor:
    with store.session() as s:
        return actor_for(s, username)


def report(store: Store, who: str = "patroller", *, point=DONGXING_POINT, **kw) -> int:  # type: ignore[no-untyped-def]
    args = {"category": "ecology", "description": "岸边堆放生活垃圾约2立方米", "reported_at": FRI, **kw}
    with store.session(actor(store, who)) as s:
        return report_incident(s, lon=point[0], lat=point[1], **args).id


def step(store: Store, who: str, incident_id: int, action: str, **kw) -> Incident:  # type: ignore[no-untyped-def]
    with store.session(actor(store, who)) as s:
        return move(s, incident_id, action, **kw)


def snapshot(store: Store, incident_id: int) -> tuple:
    with store.session() as s:
        inc = s.get(Incident, incident_id)
        events = s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)).all()
        audit = s.scalars(select(AuditEntry.id)).all()
        return inc.status, inc.version, inc.grid_id, inc.closed_at, len(events), len(audit)


def history(store: Store, incident_id: int) -> list[tuple[str, str | None, str, str]]:
    with store.session() as s:
        events = s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                           .order_by(IncidentEvent.at, IncidentEvent.id)).all()
        return [(e.action, e.from_status, e.to_status, e.by) for e in events]


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == name))


# --- the state machine -------------------------------------------------------------------------

EXPECTED = {
    "reported": {"accept": "accepted", "reject": "rejected", "escalate": "reported", "urge": "reported",
                 "transfer": "transferred"},
    "accepted": {"assign": "assigned", "escalate": "accepted", "urge": "accepted", "transfer": "transferred"},
    "assigned": {"start": "in_progress", "escalate": "assigned", "urge": "assigned", "transfer": "transferred"},
    "in_progress": {"resolve": "resolved", "escalate": "in_progress", "urge": "in_progress",
                    "transfer": "transferred"},
    "resolved": {"submit_review": "review", "escalate": "resolved", "urge": "resolved", "transfer": "transferred"},
    "review": {"archive": "archived", "return": "in_progress", "escalate": "review", "urge": "review",
               "transfer": "transferred"},
    "rejected": {}, "archived": {}, "transferred": {},
}


def test_transitions_table_is_the_issue_s_workflow() -> None:
    table: dict[str, dict[str, str]] = {s.value: {} for s in IncidentStatus}
    for row in transitions_table():
        table[row["from"]][row["action"]] = row["to"]
    assert table == EXPECTED
    assert resolve_action("in_progress", "assigned").code == "start"
    assert resolve_action("处置中", "review").code == "return"
    assert resolve_action("受理", "reported").code == "accept"
    assert resolve_action("approve", "review").code == "archive"
    assert resolve_action("通过", "review").code == "archive"
    assert resolve_action("归档", "review").code == "archive"
    assert resolve_action("重办", "review").code == "return"
    assert resolve_action("督办", "in_progress").code == "urge"
    assert resolve_action("移送司法", "accepted").code == "transfer"
    with pytest.raises(IllegalTransition, match="无法识别"):
        resolve_action("fly", "reported")


def test_happy_path_records_every_step_with_who_and_when(demo: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    iid = report(demo, "patroller")
    dongxing = grid_id(demo, DONGXING)
    with demo.session() as s:
        person = s.scalar(select(User.person_id).where(User.username == "patroller"))
    t = FRI
    step(demo, "staff", iid, "accept", note="受理", at=t + timedelta(hours=1))
    step(demo, "staff", iid, "assign", to_grid_id=dongxing, to_person_id=person, note="限期清理", at=t + timedelta(hours=2))
    step(demo, "staff", iid, "start", at=t + timedelta(days=3))
    step(demo, "staff", iid, "resolve", note="已清运", attachments=[photo(tmp_path / "after.jpg")], at=t + timedelta(days=4))
    step(demo, "staff", iid, "submit_review", at=t + timedelta(days=4, hours=1))
    inc = step(demo, "admin", iid, "archive", note="复核合格", at=t + timedelta(days=5))
    assert inc.status == "archived" and inc.closed_at == (t + timedelta(days=5)).astimezone(inc.closed_at.tzinfo)
    assert history(demo, iid) == [
        ("report", None, "reported", "patroller"), ("accept", "reported", "accepted", "staff"),
        ("assign", "accepted", "assigned", "staff"), ("start", "assigned", "in_progress", "staff"),
        ("resolve", "in_progress", "resolved", "staff"), ("submit_review", "resolved", "review", "staff"),
        ("archive", "review", "archived", "admin"),
    ]
    with demo.session() as s:
        events = s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == iid)
                           .order_by(IncidentEvent.at)).all()
        assert [e.at for e in events][:2] == [FRI, FRI + timedelta(hours=1)]
        assert f"交办网格：{DONGXING}" in events[2].note and "责任人：何兆花" in events[2].note
        assert "已清运" in events[4].note and "附件：after.jpg" in events[4].note
        # every step is in the audit log with the incident before and after
        audit = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "incidents", AuditEntry.row_id == iid)
                          .order_by(AuditEntry.id)).all()
        assert [(a.action, (a.before or {}).get("status"), a.after["status"]) for a in audit] == [
            ("insert", None, "reported"), ("update", "reported", "accepted"), ("update", "accepted", "assigned"),
            ("update", "assigned", "in_progress"), ("update", "in_progress", "resolved"),
            ("update", "resolved", "review"), ("update", "review", "archived")]
        assert [a.username for a in audit] == ["patroller"] + ["staff"] * 5 + ["admin"]
        assert s.scalar(select(AuditEntry).where(AuditEntry.table_name == "incident_events",
                                                 AuditEntry.action == "insert").order_by(AuditEntry.id.desc())
                        ).after["action"] == "archive"


def test_returned_and_redone_escalated_and_transferred(demo: Store) -> None:
    iid = report(demo)
    for action, kw in [("accept", {}), ("assign", {"to_grid_id": grid_id(demo, DONGXING)}), ("start", {}),
                       ("resolve", {"note": "已拆除"}), ("submit_review", {})]:
        step(demo, "staff", iid, action, **kw)
    # the review is the upper grid's, and never by whoever resolved the case (the county's account)
    with pytest.raises(IllegalTransition, match="退回的理由"):
        step(demo, "county", iid, "return")
    assert step(demo, "county", iid, "退回", note="地基未清理").status == "in_progress"
    step(demo, "staff", iid, "resolve", note="地基已清理")
    step(demo, "staff", iid, "submit_review")
    assert step(demo, "county", iid, "通过").status == "archived"
    assert [h[0] for h in history(demo, iid)] == [
        "report", "accept", "assign", "start", "resolve", "submit_review", "return", "resolve", "submit_review",
        "archive"]

    # escalate: the state stays, the grid goes up
    iid2 = report(demo)
    step(demo, "staff", iid2, "accept")
    inc = step(demo, "staff", iid2, "escalate", note="村级无法处置")
    assert inc.status == "accepted" and inc.grid_id == grid_id(demo, TOWNSHIP)
    assert history(demo, iid2)[-1][:3] == ("escalate", "accepted", "accepted")
    inc = step(demo, "admin", iid2, "escalate", note="报县")
    assert inc.grid_id == grid_id(demo, "临江市")
    with demo.session() as s:  # the grid moves are in the audit log with before and after
        audit = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "incidents", AuditEntry.row_id == iid2,
                                                   AuditEntry.action == "update").order_by(AuditEntry.id)).all()
        assert [(a.username, a.before["grid_id"], a.after["grid_id"]) for a in audit[-2:]] == [
            ("staff", grid_id(demo, DONGXING), grid_id(demo, TOWNSHIP)),
            ("admin", grid_id(demo, TOWNSHIP), grid_id(demo, "临江市"))]
    with pytest.raises(IllegalTransition, match="最高一级"):
        step(demo, "admin", iid2, "escalate", note="再报")
    # urge: recorded, no state change
    before = snapshot(demo, iid2)
    inc = step(demo, "admin", iid2, "urge", note="请加快办理")
    after = snapshot(demo, iid2)
    assert inc.status == "accepted" and after[4] == before[4] + 1
    assert history(demo, iid2)[-1][:3] == ("urge", "accepted", "accepted")
    # transfer: closed here
    with pytest.raises(IllegalTransition, match="移送的机关和理由"):
        step(demo, "admin", iid2, "transfer")
    inc = step(demo, "admin", iid2, "transfer", note="涉嫌违法排污，移送市生态环境执法部门")
    assert inc.status == "transferred" and inc.closed_at is not None
    with pytest.raises(IllegalTransition, match="已经结束"):
        step(demo, "admin", iid2, "urge")


def test_rejected_needs_a_reason(demo: Store) -> None:
    iid = report(demo)
    before = snapshot(demo, iid)
    for note in ("", "   "):
        with pytest.raises(IllegalTransition, match="不予受理的理由"):
            step(demo, "staff", iid, "reject", note=note)
    assert snapshot(demo, iid) == before
    inc = step(demo, "staff", iid, "不予受理", note="不属河道监管事项")
    assert inc.status == "rejected" and inc.closed_at is not None
    # resolving needs the result
    other = report(demo)
    step(demo, "admin", other, "accept")
    step(demo, "admin", other, "assign", to_grid_id=grid_id(demo, DONGXING))
    step(demo, "admin", other, "start")
    with pytest.raises(IllegalTransition, match="办理结果"):
        step(demo, "admin", other, "resolve")
    assert step(demo, "admin", other, "办结", note="已清运").status == "resolved"


@pytest.mark.parametrize("state", [s.value for s in IncidentStatus])
def test_every_illegal_transition_is_refused_and_changes_nothing(demo: Store, state: str) -> None:
    iid = report(demo)
    with demo.session(SYSTEM) as s:  # put the case in `state` directly
        s.get(Incident, iid).status = state
    before = snapshot(demo, iid)
    label = IncidentStatus(state).label
    illegal = [code for code in ACTIONS if code not in EXPECTED[state]]
    assert illegal, state
    for code in illegal:
        with pytest.raises(IllegalTransition) as err:
            step(demo, "admin", iid, code, note="说明", to_grid_id=None)
        message = err.value.message_zh
        assert f"当前状态为“{label}”" in message and ACTIONS[code].label in message
        for allowed in allowed_actions(state):
            assert allowed.label in message
        assert snapshot(demo, iid) == before
    assert {a.code for a in allowed_actions(state)} == set(EXPECTED[state])


# --- roles -------------------------------------------------------------------------------------


def test_patroller_may_report_but_not_accept(demo: Store) -> None:
    iid = report(demo, "patroller")
    before = snapshot(demo, iid)
    with pytest.raises(PermissionDenied, match="巡查员"):
        step(demo, "patroller", iid, "accept")
    assert snapshot(demo, iid) == before
    with demo.session() as s:
        assert not can_move(s, actor(demo, "patroller"), s.get(Incident, iid), "accept")
        assert can_move(s, actor(demo, "staff"), s.get(Incident, iid), "accept")


def test_leader_may_do_nothing_but_read(demo: Store) -> None:
    iid = report(demo, "staff")
    before = snapshot(demo, iid)
    with pytest.raises(PermissionDenied, match="领导"):
        report(demo, "leader")
    for action in ("accept", "reject", "urge", "transfer"):
        with pytest.raises(PermissionDenied):
            step(demo, "leader", iid, action, note="x")
    assert snapshot(demo, iid) == before
    with demo.session(actor(demo, "leader")) as s:
        assert len(list_incidents(s)) == 15
    with pytest.raises(PermissionDenied, match="请先登录"), demo.session() as s:
        report_incident(s, lon=127.0, lat=41.84, category="ecology", description="x")


def test_village_staff_handle_their_grid_and_upper_grids_assign_and_review(demo: Store) -> None:
    dongxing, sengong = grid_id(demo, DONGXING), grid_id(demo, SENGONG)
    with demo.session(SYSTEM) as s:
        s.add(User(username="dx_staff", display_name="东兴村工作人员", role=UserRole.STAFF.value,
                   password_hash=hash_password("password123"), grid_id=dongxing))
    mine = report(demo)  # 东兴村
    theirs = report(demo, point=SENGONG_POINT)
    with demo.session() as s:
        assert s.get(Incident, theirs).grid_id == sengong
    step(demo, "dx_staff", mine, "accept")
    before = snapshot(demo, theirs)
    with pytest.raises(PermissionDenied, match="不在您的网格范围内"):
        step(demo, "dx_staff", theirs, "accept")
    assert snapshot(demo, theirs) == before
    # assigning is for the upper grid (the township's staff), not the village itself
    with pytest.raises(PermissionDenied, match="上级网格"):
        step(demo, "dx_staff", mine, "assign", to_grid_id=dongxing)
    step(demo, "staff", mine, "assign", to_grid_id=dongxing)
    step(demo, "dx_staff", mine, "start")
    step(demo, "dx_staff", mine, "resolve", note="已处理")
    step(demo, "dx_staff", mine, "submit_review")
    with pytest.raises(PermissionDenied):
        step(demo, "dx_staff", mine, "archive")
    with pytest.raises(PermissionDenied):
        step(demo, "dx_staff", mine, "urge")
    assert step(demo, "staff", mine, "archive").status == "archived"
    # the village escalates to the township, after which it is no longer the village's case
    iid = report(demo)
    step(demo, "dx_staff", iid, "escalate", note="超出村级处置能力")
    with pytest.raises(PermissionDenied):
        step(demo, "dx_staff", iid, "accept")
    # the township handles a case in its own area (the blind spot) as its own upper grid
    gap = report(demo, point=GAP_POINT)
    with demo.session(SYSTEM) as s:
        s.get(Incident, gap).grid_id = grid_id(demo, TOWNSHIP)
    step(demo, "staff", gap, "accept")
    step(demo, "staff", gap, "assign", to_grid_id=sengong)


# --- optimistic locking --------------------------------------------------------------------------


def test_concurrent_moves_raise_conflict(demo: Store) -> None:
    iid = report(demo)
    with demo.session() as s:
        version = s.get(Incident, iid).version
    step(demo, "staff", iid, "accept", expected_version=version)
    with pytest.raises(ConflictError, match="已被他人修改"):
        step(demo, "admin", iid, "reject", note="重复", expected_version=version)
    staff, admin = actor(demo, "staff"), actor(demo, "admin")
    if demo.backend == "postgresql":
        # two sessions that both read the case before either writes: the later write is refused
        with pytest.raises(ConflictError), demo.session(staff) as first:
            seen = get_incident(first, iid)  # held, as a page holds what it shows
            assert seen.version == version + 1
            with demo.session(admin) as second:
                move(second, iid, "assign", to_grid_id=grid_id(demo, DONGXING))
            move(first, iid, "transfer", note="移送")
        with demo.session() as s:
            inc = s.get(Incident, iid)
            assert inc.status == "assigned" and inc.version == version + 2
        assert [h[0] for h in history(demo, iid)] == ["report", "accept", "assign"]
        return
    # SQLite: a writing session holds the write lock from its start, so a second writer waits for
    # the first to commit, then reads the case as the first left it and is refused in Chinese
    outcome: list[BaseException | str] = []

    def second_writer() -> None:
        try:
            with demo.session(admin) as second:
                move(second, iid, "assign", to_grid_id=grid_id(demo, DONGXING))
            outcome.append("saved")
        except RiverGridError as exc:
            outcome.append(exc)

    with demo.session(staff) as first:
        seen = get_incident(first, iid)
        assert seen.version == version + 1
        waiting = threading.Thread(target=second_writer)
        waiting.start()
        move(first, iid, "transfer", note="移送")
    waiting.join()
    assert len(outcome) == 1 and isinstance(outcome[0], IllegalTransition)
    assert "已经结束" in outcome[0].message_zh
    with demo.session() as s:
        inc = s.get(Incident, iid)
        assert inc.status == "transferred" and inc.version == version + 2
    assert [h[0] for h in history(demo, iid)] == ["report", "accept", "transfer"]


# --- report and routing --------------------------------------------------------------------------


def test_point_in_dongxing_routes_to_the_village_with_the_chain(demo: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with demo.session(actor(demo, "patroller")) as s:
        inc = report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="生态环境",
                              description="岸边垃圾", severity="一般", source="日常巡查", reported_at=FRI,
                              photos=[photo(tmp_path / "a.jpg"), photo(tmp_path / "b.jpg", "blue")])
        routing = inc.routing
        assert inc.code.startswith("SJ-2026-") and inc.code == "SJ-2026-015"
        assert inc.grid.name == DONGXING and inc.status == "reported" and inc.reporter == "何兆花（巡查员）"
        assert inc.title == "岸边垃圾"
    assert routing.grid_name == DONGXING and not routing.blind_spot and routing.warnings == []
    assert routing.persons[:5] == ["何兆花", "张力文", "孙凤海", "李鑫", "崔雪冰"]
    with demo.session() as s:
        (event,) = s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == inc.id)).all()
        assert (event.action, event.from_status, event.to_status, event.by, event.at) == (
            "report", None, "reported", "patroller", FRI)
        assert f"网格：{DONGXING}" in event.note and "何兆花" in event.note and "附件：a.jpg、b.jpg" in event.note


def test_point_near_a_reach_gets_the_reach(demo: Store) -> None:
    data = dd.build_demo_data()
    sg01 = next(r for r in data.reaches if r.code == "YLJ-SG-01")
    pt = sg01.geom.interpolate(0.5, normalized=True)
    with demo.session(actor(demo, "staff")) as s:
        inc = report_incident(s, lon=pt.x, lat=pt.y, category="ecology", description="江边电鱼")
        assert inc.reach is not None and inc.reach.code == "YLJ-SG-01"
        assert inc.routing.reach_distance_m is not None and inc.routing.reach_distance_m < 1
        assert inc.routing.station.startswith("K")


def test_point_in_the_gap_goes_to_the_nearest_grid_with_a_warning(demo: Store) -> None:
    with demo.session(actor(demo, "staff")) as s:
        inc = report_incident(s, lon=GAP_POINT[0], lat=GAP_POINT[1], category="safety_hazard",
                              description="岸边油污", reported_at=FRI)
        routing = inc.routing
        assert inc.grid.name == SENGONG
        iid = inc.id
    assert routing.blind_spot and routing.grid_name == SENGONG
    assert any("盲区" in w and SENGONG in w for w in routing.warnings)
    assert routing.persons[:2] == ["管荣波", "崔雪冰"] and "孙凤海" in routing.persons
    with demo.session() as s:
        note = s.scalar(select(IncidentEvent.note).where(IncidentEvent.incident_id == iid))
        assert note.startswith(BLIND_SPOT_MARK)
        # counted as a coverage problem, like the demo's SJ-2026-012
        assert [i.code for i in blind_spot_incidents(s)] == ["SJ-2026-012", "SJ-2026-015"]


def test_bad_reports_are_refused_in_chinese(demo: Store) -> None:
    staff = actor(demo, "staff")
    cases = [
        ({"category": "flood"}, ValidationError, "无法识别的取值“flood”"),
        ({"description": "  "}, ValidationError, "请填写事件描述"),
        ({"severity": "很急"}, ValidationError, "一般、较大、紧急"),
        ({"lon": 41.84, "lat": 127.0}, CoordinateRangeError, "纬度"),
        ({"object_id": 9999}, NotFoundError, "监管对象"),
        ({"track_id": 9999}, NotFoundError, "巡河轨迹"),
    ]
    for extra, exc, match in cases:
        args = {"lon": 127.0, "lat": 41.84, "category": "ecology", "description": "x", **extra}
        with pytest.raises(exc, match=match), demo.session(staff) as s:
            report_incident(s, **args)
    with demo.session() as s:
        assert len(s.scalars(select(Incident)).all()) == 14
    with pytest.raises(NotFoundError, match="没有编号为 999 的事件"):
        step(demo, "admin", 999, "accept")


# --- deadlines ---------------------------------------------------------------------------------


def test_deadlines_across_a_weekend() -> None:
    accept, close = DEFAULT_POLICY.deadlines("ecology", "normal", FRI)  # Friday 2026-11-20 15:00
    assert accept == bj(2026, 11, 23, 15, 0)  # Monday
    assert close == bj(2026, 12, 4, 15, 0)  # 10 working days: 11-23..27, 11-30..12-04
    _, close_major = DEFAULT_POLICY.deadlines("ecology", "major", FRI)
    assert close_major == bj(2026, 12, 18, 15, 0)  # 20 working days


def test_deadlines_across_a_holiday_and_an_adjusted_working_weekend() -> None:
    # Friday 2026-09-18: Sunday 09-20 is worked (调休), 中秋 09-25..27 and 国庆 10-01..07 are off
    accept, close = DEFAULT_POLICY.deadlines("petition", "normal", bj(2026, 9, 18, 10, 0))
    assert accept == bj(2026, 9, 20, 10, 0)
    # 09-20, 21, 22, 23, 24, 28, 29, 30, 10-08, 10-09
    assert close == bj(2026, 10, 9, 10, 0)
    # reported on a holiday: the clock starts with the next working day, due at its end
    accept, close = DEFAULT_POLICY.deadlines("petition", "normal", bj(2026, 10, 3, 9, 0))
    assert accept == bj(2026, 10, 8, 23, 59, 59)
    # 10-08, 09, 10 (Saturday, worked), 12, 13, 14, 15, 16, 19, 20
    assert close == bj(2026, 10, 20, 23, 59, 59)


def test_urgent_deadlines_are_hours_whatever_the_calendar() -> None:
    accept, close = DEFAULT_POLICY.deadlines("drinking_water_source", "urgent", bj(2026, 10, 3, 9, 0))
    assert (accept, close) == (bj(2026, 10, 3, 11, 0), bj(2026, 10, 4, 9, 0))


def test_deadlines_are_configurable() -> None:
    cal = WorkCalendar(holidays={date(2027, 1, 1)}, workdays=set())
    policy = DeadlinePolicy(
        by_category={"petition": DeadlineRule(Span(working_days=2), Span(working_days=15)),
                     ("ecology", "urgent"): DeadlineRule(Span(hours=1), Span(hours=12))},
        calendar=cal,
    )
    accept, close = policy.deadlines("ecology", "normal", bj(2026, 12, 31, 9, 0))  # Thursday; 01-01 off
    assert (accept, close) == (bj(2027, 1, 4, 9, 0), bj(2027, 1, 15, 9, 0))
    assert policy.deadlines("petition", "major", bj(2026, 12, 31, 9, 0))[0] == bj(2027, 1, 5, 9, 0)
    assert policy.deadlines("ecology", "urgent", bj(2026, 12, 31, 9, 0)) == (bj(2026, 12, 31, 10, 0),
                                                                              bj(2026, 12, 31, 21, 0))
    with pytest.raises(ValidationError):
        Span(working_days=1, hours=2)
    with pytest.raises(ValidationError, match="既是假日又是调休上班日"):
        WorkCalendar(holidays={date(2027, 1, 1)}, workdays={date(2027, 1, 1)})


def test_reported_incident_carries_its_deadlines(demo: Store) -> None:
    iid = report(demo, severity="urgent", reported_at=bj(2026, 10, 3, 9, 0))
    with demo.session() as s:
        inc = s.get(Incident, iid)
        assert (inc.accept_due_at, inc.close_due_at) == (bj(2026, 10, 3, 11, 0), bj(2026, 10, 4, 9, 0))
        d = deadline_status(inc, now=bj(2026, 10, 3, 10, 0))
        assert (d.kind, d.overdue, d.due_soon) == ("accept", False, True)
        d = deadline_status(inc, now=bj(2026, 10, 3, 12, 30))
        assert d.overdue and d.overdue_hours == pytest.approx(1.5) and "已超期" in d.label


def test_overdue_and_due_soon_on_the_demo_at_its_reference_time(demo: Store) -> None:
    now = dd.REFERENCE_TIME  # Saturday 2026-11-28 08:00 Beijing time
    with demo.session() as s:
        assert sorted(i.code for i in list_incidents(s, overdue=True, now=now)) == ["SJ-2026-008", "SJ-2026-009"]
        assert [i.code for i in list_incidents(s, due_soon=True, now=now)] == ["SJ-2026-012"]
        # closed and waiting-for-review cases are never overdue
        assert all(not deadline_status(i, now=now).overdue
                   for i in list_incidents(s, status=["archived", "review", "rejected", "transferred", "resolved"]))
        assert len(list_incidents(s, status="处置中", category="畜禽养殖污染")) == 1


# --- command line ------------------------------------------------------------------------------


def run(*args: str, url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", url], check=False,
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_cli_report_move_list(demo: Store, tmp_path, data_dir) -> None:  # type: ignore[no-untyped-def]
    url = demo.url
    missing = run("incident", "report", "--lon", "126.812", "--lat", "41.729", "--category", "ecology",
                  "--description", "x", "--photo", str(tmp_path / "nope.jpg"), url=url, check=False)
    assert missing.returncode == 2 and "找不到照片文件" in missing.stderr
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("岸边油污，见照片")
    refused = run("incident", "report", "--lon", "126.812", "--lat", "41.729", "--category", "ecology",
                  "--description", "x", "--photo", str(not_image), url=url, check=False)
    assert refused.returncode == 2 and "不是可识别的图片文件" in refused.stderr
    with demo.session() as s:
        assert len(s.scalars(select(Incident)).all()) == 14  # nothing saved
    out = json.loads(run("incident", "report", "--lon", "126.812", "--lat", "41.729", "--category", "环境安全隐患",
                         "--description", "岸边油污", "--json", "--as", "patroller",
                         "--photo", str(photo(tmp_path / "油污.jpg")), url=url).stdout)
    with demo.session() as s:
        (att,) = s.scalars(select(Attachment).where(Attachment.incident_id == out["id"])).all()
        assert att.original_name == "油污.jpg" and att.uploaded_by == "patroller"
    assert (data_dir / "attachments" / att.sha256[:2] / f"{att.sha256}.jpg").is_file()
    assert {"id", "code", "grid", "reach", "persons", "chain", "accept_due_at", "close_due_at", "deadline",
            "warnings", "blind_spot", "status"} <= out.keys()
    assert out["grid"]["name"] == SENGONG and out["blind_spot"] and any("盲区" in w for w in out["warnings"])
    assert out["persons"][:2] == ["管荣波", "崔雪冰"] and out["status"] == "reported"
    denied = run("incident", "move", str(out["id"]), "--to", "accepted", "--as", "patroller", url=url, check=False)
    assert denied.returncode == 2 and "无权处置事件" in denied.stderr
    moved = json.loads(run("incident", "move", out["code"], "--to", "受理", "--note", "受理", "--as", "admin",
                           "--json", url=url).stdout)
    assert moved["status"] == "accepted" and moved["event"]["by"] == "admin" and moved["event"]["action"] == "accept"
    bad = run("incident", "move", str(out["id"]), "--to", "archived", "--as", "admin", url=url, check=False)
    assert bad.returncode == 2 and "当前状态为“受理”" in bad.stderr and "交办" in bad.stderr
    listed = json.loads(run("incident", "list", "--overdue", "--now", "2026-11-28T08:00:00+08:00", "--json",
                            url=url).stdout)
    assert sorted(d["code"] for d in listed) == ["SJ-2026-008", "SJ-2026-009"]
    assert all(d["deadline"]["overdue"] for d in listed)
