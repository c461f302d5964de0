"""Volunteers and 协管员 (gis.disclosure.volunteers, UserRole.VOLUNTEER): registered under village grids,
they may read, report incidents and upload their own patrols, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from gis.accounts.signin import authenticate
from gis.accounts.users import actor_for
from gis.auth import Actor
from gis.demo import data as dd
from gis.disclosure.volunteers import register_volunteer, volunteers_of
from gis.errors import (
    DuplicateNameError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from gis.incidents.reporting import report_incident
from gis.incidents.workflow import move
from gis.model import GridRole, IncidentSource, UserRole
from gis.patrol.track_import import import_track_file
from gis.store import Store
from gis.store.schema import (
    AuditEntry,
    Grid,
    GridRoleAssignment,
    Incident,
    PatrolTrack,
    Person,
    User,
)

DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"
ADMIN = Actor("admin", UserRole.ADMIN, "系统管理员")
STAFF = Actor("staff", UserRole.STAFF, "高雪")
SECURITY = Actor("security", UserRole.SECURITY, "安全管理员")  # accounts are the security administrator's
ZHAO_GPX = dd.GPX_DIR / "2026-11-04_zhaochunmei_BSG-01.gpx"  # 赵春梅's walk along 北山沟
DONGXING_POINT = (127.0, 41.84)  # inside 东兴村 only


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == name))


def audit_count(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def volunteer(store: Store, username: str = "volunteer", password: str = dd.DEMO_PASSWORD) -> Actor:
    with store.session() as s:
        return authenticate(s, username, password)


def test_register_a_volunteer_with_an_account_under_a_village_grid(demo: Store) -> None:
    dongxing = grid_id(demo, DONGXING)
    with demo.session(ADMIN) as s:
        reg = register_volunteer(s, grid_id=dongxing, name="孙小红", title="河道保护志愿者", username="sunxh",
                                 password="long-enough-1", account_actor=SECURITY)
    with demo.session() as s:
        post = s.get(GridRoleAssignment, reg.post_id)
        assert (post.grid_id, post.role, post.person.name) == (dongxing, GridRole.VOLUNTEER.value, "孙小红")
        user = s.get(User, reg.user_id)
        assert (user.role, user.person_id, user.grid_id) == ("volunteer", reg.person_id, dongxing)
        assert volunteers_of(s, dongxing) == [
            {"name": "陈宝山", "post": "协管员", "title": "河道监管协管员", "username": ""},
            {"name": "孙小红", "post": "志愿者", "title": "河道保护志愿者", "username": "sunxh"},
        ]
    actor = volunteer(demo, "sunxh", "long-enough-1")
    assert actor.role is UserRole.VOLUNTEER and actor.role.label == "志愿者/协管员"


def test_registration_refuses_bad_input_and_saves_nothing(demo: Store) -> None:
    dongxing, township = grid_id(demo, DONGXING), grid_id(demo, "临江市森工街道办事处")
    before = audit_count(demo)
    cases = [
        (ADMIN, {"grid_id": township, "name": "甲"}, ValidationError, "登记在村级网格下"),
        (ADMIN, {"grid_id": dongxing, "name": "甲", "post": "监管人员"}, ValidationError, "只能登记为志愿者或协管员"),
        (ADMIN, {"grid_id": dongxing, "name": "  "}, ValidationError, "请填写姓名"),
        (ADMIN, {"grid_id": 9999, "name": "甲"}, NotFoundError, "没有编号为 9999 的网格"),
        (ADMIN, {"grid_id": dongxing, "name": "甲", "username": "volunteer", "password": "long-enough-1"},
         DuplicateNameError, "用户名“volunteer”已被使用"),
        (ADMIN, {"grid_id": dongxing, "name": "甲", "username": "jia"}, ValidationError, "同时填写用户名和密码"),
        (ADMIN, {"grid_id": dongxing, "name": "甲", "username": "jia", "password": "short"}, ValidationError, "密码至少"),
        # 三员分立: the system administrator registers persons but does not create accounts
        (ADMIN, {"grid_id": dongxing, "name": "甲", "username": "jia", "password": "long-enough-1"},
         PermissionDenied, "无权管理用户"),
        # staff may add persons and posts but not accounts: the person is not saved either
        (STAFF, {"grid_id": dongxing, "name": "甲", "username": "jia", "password": "long-enough-1"},
         PermissionDenied, "无权管理用户"),
    ]
    for actor, kwargs, error, message in cases:
        with pytest.raises(error, match=message), demo.session(actor) as s:
            register_volunteer(s, **kwargs)  # type: ignore[arg-type]
    assert audit_count(demo) == before
    with demo.session() as s:
        assert s.scalar(select(Person.id).where(Person.name == "甲")) is None


def test_a_volunteer_reports_an_incident_attributed_to_them(demo: Store) -> None:
    actor = volunteer(demo)  # the demo's 赵春梅, 森工社区
    with demo.session(actor) as s:
        incident = report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="生态环境",
                                   description="河边堆放生活垃圾", source="patrol")
        iid = incident.id
    with demo.session() as s:
        inc = s.get(Incident, iid)
        assert inc.source == IncidentSource.VOLUNTEER.value  # counted apart from the staff's patrols
        assert inc.reporter == "赵春梅（志愿者/协管员）"
        assert [e.by for e in inc.events] == ["volunteer"]
        assert inc.grid.name == DONGXING  # routed like any report
        users = set(s.scalars(select(AuditEntry.username).where(AuditEntry.table_name == "incidents",
                                                                AuditEntry.row_id == iid)))
        assert users == {"volunteer"}


def walk_on(day: str, folder: Path) -> Path:
    """赵春梅's demo walk along 北山沟, recorded again on ``day`` (a new patrol, not a copy)."""
    path = folder / f"{day}.gpx"
    path.write_text(ZHAO_GPX.read_text(encoding="utf-8").replace("2026-11-04", day), encoding="utf-8")
    return path


def test_a_volunteer_uploads_their_own_patrol_and_no_one_elses(demo: Store, tmp_path: Path) -> None:
    actor = volunteer(demo)
    with demo.session(actor) as s:
        result = import_track_file(s, walk_on("2026-11-12", tmp_path), person="赵春梅")
    with demo.session() as s:
        tracks = [s.get(PatrolTrack, i) for i in result.ids]
        assert tracks and {t.person.name for t in tracks} == {"赵春梅"}
    before = audit_count(demo)
    with pytest.raises(PermissionDenied, match="只能上传本人的巡河轨迹"), demo.session(actor) as s:
        import_track_file(s, walk_on("2026-11-19", tmp_path), person="何兆花")
    with demo.session(actor) as s:  # a track added without a person becomes the volunteer's own
        t = s.get(PatrolTrack, result.ids[0])
        copy = PatrolTrack(name="补录", geom=t.geom, times=list(t.times), started_at=t.started_at, ended_at=t.ended_at)
        s.add(copy)
        s.flush()
        assert copy.person_id == s.scalar(select(User.person_id).where(User.username == "volunteer"))
    assert audit_count(demo) == before + 1


def test_a_volunteer_cannot_edit_grids_people_or_handle_incidents(demo: Store) -> None:
    actor = volunteer(demo)
    with demo.session(actor) as s:
        iid = report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="生态环境",
                              description="疑似排污").id
        track_id = s.scalar(select(PatrolTrack.id).limit(1))
    before = audit_count(demo)
    attempts = {
        "rename a grid": lambda s: setattr(s.scalar(select(Grid).where(Grid.name == SENGONG)), "name", "改名"),
        "edit a person": lambda s: setattr(s.scalar(select(Person).where(Person.name == "赵春梅")), "title", "组长"),
        "accept an incident": lambda s: move(s, iid, "accept"),
        "change own report": lambda s: setattr(s.get(Incident, iid), "status", "archived"),
        "delete a track": lambda s: s.delete(s.get(PatrolTrack, track_id)),
    }
    for what, attempt in attempts.items():
        with pytest.raises(PermissionDenied), demo.session(actor) as s:
            attempt(s)
            s.flush()
        assert audit_count(demo) == before, what
    with demo.session() as s:
        assert s.get(Incident, iid).status == "reported"
        assert s.scalar(select(Grid.id).where(Grid.name == SENGONG)) is not None


def test_the_demo_volunteer_account_is_linked_to_zhao_chunmei(demo: Store) -> None:
    with demo.session() as s:
        actor = actor_for(s, "volunteer")
        user = s.get(User, actor.user_id)
        assert actor.role is UserRole.VOLUNTEER
        assert s.get(Person, user.person_id).name == "赵春梅"
        assert s.get(Grid, user.grid_id).name == SENGONG


def test_cli_registers_a_volunteer_whose_account_can_sign_in(demo: Store) -> None:
    import json
    import subprocess
    import sys

    from gis.config import PROJECT_DIR

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", demo.url], cwd=PROJECT_DIR,
                              input=stdin, capture_output=True, text=True, timeout=120, check=False)

    dongxing = grid_id(demo, DONGXING)
    proc = run("volunteer", "add", "--grid", str(dongxing), "--name", "钱小兵", "--post", "协管员",
               "--username", "qianxb", "--password-stdin", "--json", stdin="long-enough-2\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["user_id"] is not None
    assert volunteer(demo, "qianxb", "long-enough-2").role is UserRole.VOLUNTEER
    listed = json.loads(run("volunteer", "list", "--grid", str(dongxing), "--json").stdout)
    assert {"name": "钱小兵", "post": "协管员", "title": "", "username": "qianxb"} in listed
    bad = run("volunteer", "add", "--grid", str(grid_id(demo, "临江市")), "--name", "某人")
    assert bad.returncode == 2 and "登记在村级网格下" in bad.stderr


def test_volunteer_signs_in_to_the_app_and_sees_no_history_page(app_env) -> None:  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    from gis.config import PROJECT_DIR

    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=120).run()
    at = at.switch_page("pages/login.py").run()
    inputs = {t.label: t for t in at.text_input}
    inputs["用户名"].input("volunteer")
    inputs["密码"].input(dd.DEMO_PASSWORD)
    next(b for b in at.button if b.label == "登录").click()
    at = at.run()
    assert [s.value for s in at.success] == ["已登录：赵春梅（志愿者/协管员）"]
    at = at.switch_page("pages/audit.py").run()  # 修改记录 needs audit.read
    assert [w.value for w in at.warning] == ["当前角色“志愿者/协管员”无权查看修改记录"]
    assert not at.dataframe
