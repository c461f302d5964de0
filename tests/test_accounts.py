"""Accounts, production databases and the demo, sign-in throttling, data scope and separation of
duties (gis.accounts.users, gis.accounts.installation, gis.accounts.signin, gis.store.scope, gis.incidents.workflow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gis.accounts.installation import init_production, mode
from gis.accounts.signin import client_address, lock_state, sign_in, unlock
from gis.accounts.users import (
    actor_for,
    change_own_password,
    check_password,
    create_user,
    list_users,
    reset_password,
    set_active,
    update_user,
)
from gis.auth import SYSTEM, Actor
from gis.config import PROJECT_DIR
from gis.errors import (
    AuthenticationError,
    DuplicateNameError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from gis.incidents.lists import list_incidents
from gis.incidents.reporting import report_incident
from gis.incidents.workflow import move, visible_incident
from gis.model import UserRole
from gis.store import Store
from gis.store.schema import AuditEntry, Grid, Incident, SignInAttempt, User

SECURITY = Actor("sec", UserRole.SECURITY, "安全管理员")
DONGXING_POINT = (127.0, 41.84)
SENGONG_POINT = (126.84, 41.80)


def cli(*args: str, url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", url], cwd=PROJECT_DIR,
                          input=stdin, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


# --- production databases and the demo --------------------------------------------------------


def test_a_fresh_production_database_has_the_first_admin_and_no_demo_account(store_url: str, tmp_path: Path) -> None:
    """The issue's check: gis init, gis user add boss, gis user list: boss and no demo account,
    even after the app has been started on that database (in demo mode, by mistake)."""
    assert cli("init", "--json", url=store_url).returncode == 0
    added = cli("user", "add", "--username", "boss", "--role", "admin", "--password-stdin", "--json",
                url=store_url, stdin="Linjiang-river-2026\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["must_change_password"] is False  # chose their own password
    # the app starts on it, even with RIVERGRID_DEMO=1 set by mistake: no demo is loaded
    app = subprocess.run(
        [sys.executable, "-c", "from streamlit.testing.v1 import AppTest; at = AppTest.from_file('app.py', "
                               "default_timeout=120).run(); print([t.value for t in at.title])"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, check=False,
        env={**__import__("os").environ, "DATABASE_URL": store_url, "RIVERGRID_DEMO": "1",
             "RIVERGRID_DATA_DIR": str(tmp_path)})
    assert app.returncode == 0, app.stderr
    listed = cli("user", "list", "--json", url=store_url)
    assert listed.returncode == 0, listed.stderr
    users = json.loads(listed.stdout)
    assert [u["username"] for u in users] == ["boss"]
    assert users[0]["role"] == "admin" and users[0]["active"] and "password_hash" not in users[0]
    store = Store(store_url)
    with store.session() as s:
        assert mode(s) == "production" and s.scalar(select(func.count()).select_from(Grid)) == 0
    store.dispose()
    refused = cli("init-demo", url=store_url)
    assert refused.returncode == 2 and "正式数据库" in refused.stderr and "演示" in refused.stderr


def test_the_app_on_an_empty_database_explains_how_to_create_the_first_administrator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RIVERGRID_DEMO", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    st.cache_resource.clear()
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=120).run()
    st.cache_resource.clear()
    assert not at.exception
    assert [t.value for t in at.title] == ["河长网格：请先建立管理员账号"]
    text = " ".join(m.value for m in at.markdown)
    assert "python -m gis user add" in text and "--role security" in text and "三员分立" in text
    assert not at.metric  # nothing of the map
    store = Store(f"sqlite:///{tmp_path / 'rivergrid.sqlite'}")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0  # no demo account slipped in
    store.dispose()


def test_init_refuses_a_demo_database(demo: Store) -> None:
    with pytest.raises(ValidationError, match="不能作为正式数据库"):
        init_production(demo)
    with demo.session() as s:
        assert mode(s) == "demo"


# --- accounts --------------------------------------------------------------------------------


def test_password_rules() -> None:
    for bad, why in [("short-pw", "至少需要 10 个字符"), ("zhangsan-2026!", "不能包含用户名"),
                     ("1234567890", "过于简单"), ("aaaaaaaaaaaa", "过于简单"), (" leading-space-pw", "空格")]:
        with pytest.raises(ValidationError, match=why):
            check_password(bad, "zhangsan")
    check_password("河长网格-巡河-2026", "zhangsan")


def test_accounts_are_managed_by_the_security_administrator_only(store: Store) -> None:
    init_production(store)
    with store.session(SECURITY) as s:
        create_user(s, username="sec", role="security", password="first-Guard-2026", must_change_password=False)
        create_user(s, username="ops", role="admin", password="Temp-password-1")
    for role in (UserRole.ADMIN, UserRole.AUDITOR, UserRole.STAFF):
        with pytest.raises(PermissionDenied, match="无权管理用户账号"), store.session(Actor("x", role)) as s:
            create_user(s, username=f"by_{role.value}", role="staff", password="Temp-password-1")
    with store.session(SECURITY) as s:
        with pytest.raises(DuplicateNameError, match="已被使用"):
            create_user(s, username="ops", role="staff", password="Temp-password-1")
        with pytest.raises(ValidationError, match="未知角色"):
            create_user(s, username="who", role="superuser", password="Temp-password-1")
    with store.session(SECURITY) as s:
        rows = {u.username: u for u in list_users(s)}
    assert rows["ops"].must_change_password and not rows["sec"].must_change_password
    with store.session() as s:  # every account change is audited, never with the hash
        entries = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "users")).all()
        assert {e.username for e in entries} == {"sec"} and len(entries) == 2


def test_a_reset_account_must_choose_a_new_password_and_then_need_not_again(store: Store) -> None:
    init_production(store)
    with store.session(SECURITY) as s:
        create_user(s, username="sec", role="security", password="first-Guard-2026", must_change_password=False)
        create_user(s, username="gaoxue", role="staff", password="Temp-password-1")
    first = sign_in(store, "gaoxue", "Temp-password-1")
    assert first.must_change_password and first.actor.role is UserRole.STAFF
    with store.session(first.actor) as s:
        with pytest.raises(AuthenticationError, match="原密码不正确"):
            change_own_password(s, "wrong-one-123", "Yalu-River-own-2026")
    with store.session(first.actor) as s:
        change_own_password(s, "Temp-password-1", "Yalu-River-own-2026")
    second = sign_in(store, "gaoxue", "Yalu-River-own-2026")
    assert not second.must_change_password
    with store.session(SECURITY) as s:
        reset_password(s, "gaoxue", "Reset-password-9")
    assert sign_in(store, "gaoxue", "Reset-password-9").must_change_password
    with pytest.raises(AuthenticationError, match="用户名或密码错误"):
        sign_in(store, "gaoxue", "Yalu-River-own-2026")


def test_disabled_accounts_cannot_sign_in_and_administrators_cannot_lock_themselves_out(store: Store) -> None:
    init_production(store)
    with store.session(SECURITY) as s:
        me = create_user(s, username="sec", role="security", password="first-Guard-2026", must_change_password=False)
        create_user(s, username="leader1", role="leader", password="Temp-password-1")
        me_actor = Actor("sec", UserRole.SECURITY, "安全管理员", me.id)
    with store.session(me_actor) as s:
        set_active(s, "leader1", False)
    with pytest.raises(AuthenticationError, match="用户名或密码错误"):  # same words as a wrong password
        sign_in(store, "leader1", "Temp-password-1")
    with store.session(me_actor) as s:
        with pytest.raises(PermissionDenied, match="不能停用本人"):
            set_active(s, "sec", False)
        with pytest.raises(PermissionDenied, match="不能更改角色：本人"):
            update_user(s, "sec", role="admin")
    other = Actor("sec2", UserRole.SECURITY)
    with store.session(other) as s, pytest.raises(ValidationError, match="唯一在用的安全管理员"):
        set_active(s, "sec", False)
    with store.session(me_actor) as s:
        set_active(s, "leader1", True)
        update_user(s, "leader1", grid_id=None, display_name="孙凤海（领导）")
    assert sign_in(store, "leader1", "Temp-password-1").actor.display_name == "孙凤海（领导）"


# --- sign-in throttling -----------------------------------------------------------------------


def _failures(store: Store, username: str, n: int, *, ip: str = "10.1.2.3") -> list[str]:
    messages = []
    for _ in range(n):
        with pytest.raises(AuthenticationError) as info:
            sign_in(store, username, "not-the-password", ip=ip)
        messages.append(info.value.message_zh)
    return messages


def test_five_failures_lock_a_name_known_or_not_with_the_same_words(demo: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    known, unknown = _failures(demo, "leader", 5), _failures(demo, "no-such-user", 5)
    assert known == unknown  # nothing tells which name exists
    assert known[:4] == ["用户名或密码错误"] * 4
    assert "已锁定 15 分钟" in known[4]
    for name in ("leader", "no-such-user"):  # now even the right password is refused
        with pytest.raises(AuthenticationError, match="登录失败次数过多") as info:
            sign_in(demo, name, "rivergrid-demo", ip="10.9.9.9")
        assert "联系安全管理员解锁" in info.value.message_zh
    with demo.session() as s:
        assert lock_state(s, "leader").locked and lock_state(s, "no-such-user").locked
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "lock")).all()
        assert {json.dumps(e.after, ensure_ascii=False) for e in audit} >= {
            json.dumps({"username": "leader", "ip": "10.1.2.3"}, ensure_ascii=False)}
    # the security administrator unlocks; the lock and the unlock are both in the audit log
    with demo.session(actor_for_security(demo)) as s:
        unlock(s, "leader")
    assert sign_in(demo, "leader", "rivergrid-demo", ip="10.1.2.3").actor.username == "leader"
    with demo.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "unlock")) == 1
        with pytest.raises(PermissionDenied):
            unlock(s, "leader")  # a session without the security administrator


def actor_for_security(store: Store) -> Actor:
    with store.session() as s:
        return actor_for(s, "security")


def test_a_lock_ends_after_the_configured_time(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from gis import clock

    _failures(demo, "staff", 5)
    with pytest.raises(AuthenticationError, match="登录失败次数过多"):
        sign_in(demo, "staff", "rivergrid-demo")
    later = (clock.now() + timedelta(minutes=15, seconds=5)).isoformat()
    monkeypatch.setenv("RIVERGRID_NOW", later)
    monkeypatch.delenv("RIVERGRID_NOW_SINCE", raising=False)
    assert sign_in(demo, "staff", "rivergrid-demo").actor.username == "staff"


def test_one_address_trying_many_names_is_stopped(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_IP_ATTEMPTS", "6")
    for i in range(6):  # six names, one try each: no name is locked, the address is
        with pytest.raises(AuthenticationError):
            sign_in(demo, f"guess{i}", "password-guess", ip="192.168.7.7")
    with pytest.raises(AuthenticationError, match="登录失败次数过多"):
        sign_in(demo, "leader", "rivergrid-demo", ip="192.168.7.7")
    assert sign_in(demo, "leader", "rivergrid-demo", ip="192.168.7.8").actor.username == "leader"
    with demo.session() as s:
        outcomes = dict(s.execute(select(SignInAttempt.outcome, func.count()).group_by(SignInAttempt.outcome)).all())
    assert outcomes == {"failed": 6, "lock_ip": 1, "refused": 1, "ok": 1}


def test_the_client_address_trusts_proxy_headers_only_from_this_machine() -> None:
    headers = {"X-Real-IP": "10.20.30.40"}
    assert client_address(None, headers) == "10.20.30.40"  # Streamlit reports local peers as None
    assert client_address("127.0.0.1", {"X-Forwarded-For": "10.1.1.1, 127.0.0.1"}) == "10.1.1.1"
    assert client_address("10.5.5.5", headers) == "10.5.5.5"  # a forged header from outside is ignored
    assert client_address(None, None) == "127.0.0.1"


# --- data scope and separation of duties ------------------------------------------------------


def _report(store: Store, point: tuple[float, float]) -> str:
    with store.session(SYSTEM) as s:
        return report_incident(s, lon=point[0], lat=point[1], category="生态环境", description="范围测试").code


def test_an_account_bound_to_dongxing_sees_and_moves_only_its_own_cases(demo: Store) -> None:
    mine, theirs = _report(demo, DONGXING_POINT), _report(demo, SENGONG_POINT)
    dongxing = actor_for_name(demo, "dongxing")
    with demo.session(dongxing, write=False) as s:
        codes = {i.code for i in list_incidents(s)}
        grids = {i.grid.name for i in list_incidents(s)}
        assert mine in codes and theirs not in codes and grids == {"森工街道东兴村"}
        assert visible_incident(s, mine).code == mine
        with pytest.raises(NotFoundError, match=f"没有编号为 {theirs} 的事件"):
            visible_incident(s, theirs)
    with pytest.raises(PermissionDenied, match="不在您的网格范围内"), demo.session(dongxing) as s:
        move(s, theirs, "accept")
    with demo.session(dongxing) as s:
        assert move(s, mine, "accept").status == "accepted"
    with demo.session(actor_for_name(demo, "staff"), write=False) as s:  # the township sees both villages
        assert {mine, theirs} <= {i.code for i in list_incidents(s)}


def actor_for_name(store: Store, username: str) -> Actor:
    with store.session() as s:
        return actor_for(s, username)


def test_the_cli_applies_the_same_scope(demo: Store) -> None:
    mine, theirs = _report(demo, DONGXING_POINT), _report(demo, SENGONG_POINT)
    listed = cli("incident", "list", "--as", "dongxing", "--json", url=demo.url)
    assert listed.returncode == 0, listed.stderr
    codes = {row["code"] for row in json.loads(listed.stdout)}
    assert mine in codes and theirs not in codes
    everything = {row["code"] for row in json.loads(cli("incident", "list", "--json", url=demo.url).stdout)}
    assert {mine, theirs} <= everything
    refused = cli("incident", "move", theirs, "--to", "受理", "--as", "dongxing", url=demo.url)
    assert refused.returncode == 2 and "不在您的网格范围内" in refused.stderr
    with demo.session() as s:
        assert s.scalar(select(Incident.status).where(Incident.code == theirs)) == "reported"
    assert cli("incident", "move", mine, "--to", "受理", "--as", "dongxing", url=demo.url).returncode == 0


def test_whoever_resolved_a_case_cannot_approve_it(demo: Store) -> None:
    code = _report(demo, DONGXING_POINT)

    def step(user: str, action: str, **kw: object) -> Incident:
        with demo.session(actor_for_name(demo, user)) as s:
            return move(s, code, action, **kw)

    step("staff", "accept")
    step("staff", "assign", to_grid_id=grid_id(demo, "森工街道东兴村"))
    step("staff", "start")
    step("staff", "resolve", note="已清理")
    step("staff", "submit_review")
    for action in ("archive", "return"):
        with pytest.raises(PermissionDenied, match="是您本人办结的"):
            step("staff", action, note="自己审核")
    assert step("county", "archive").status == "archived"  # the upper grid's account approves
    with demo.session() as s:
        events = s.scalar(select(Incident).where(Incident.code == code)).events
        assert [(e.action, e.by) for e in events][-3:] == [("resolve", "staff"), ("submit_review", "staff"),
                                                            ("archive", "county")]


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == name))


def test_the_case_page_of_an_account_bound_to_dongxing_lists_only_its_cases(app_env: Path) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=240).run()  # loads the demo
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        dongxing, staff = actor_for(s, "dongxing"), actor_for(s, "staff")
        by_grid = {code: grid for code, grid in s.execute(select(Incident.code, Grid.name).join(
            Grid, Incident.grid_id == Grid.id))}
    store.dispose()
    assert {"森工街道东兴村", "森工街道森工社区"} <= set(by_grid.values())
    at.session_state["actor"] = dongxing
    at = at.switch_page("pages/incidents.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "事件编号" in d.value.columns)
    codes = set(table["事件编号"])
    assert codes == {c for c, g in by_grid.items() if g == "森工街道东兴村"}
    # the township's staff sees both villages' cases on the same page
    at.session_state["actor"] = staff
    at = at.run()
    table = next(d.value for d in at.dataframe if "事件编号" in d.value.columns)
    assert {c for c, g in by_grid.items() if g in ("森工街道东兴村", "森工街道森工社区")} <= set(table["事件编号"])


def test_the_security_audit_is_the_auditors(app_env: Path) -> None:
    """Sign-in locks and account changes are on 修改记录 for the auditor, not for leaders or staff."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=240).run()  # loads the demo
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    _failures(store, "leader", 5)  # a lock: an entry of the security audit
    with store.session() as s:
        auditor, leader = actor_for(s, "auditor"), actor_for(s, "leader")
    store.dispose()
    seen = {}
    for who in (auditor, leader):
        at.session_state["actor"] = who
        at = at.run().switch_page("pages/audit.py").run()  # the page is registered for readers of the log
        assert not at.exception
        seen[who.username] = set(at.dataframe[0].value["table"])
    assert {"登录", "用户"} <= seen["auditor"]
    assert not {"登录", "用户"} & seen["leader"] and {"网格", "事件"} & seen["leader"]


def test_an_account_bound_to_dongxing_changes_only_its_own_grid(demo: Store) -> None:
    from gis.grids.versions import save_grid
    from gis.store.schema import GridRoleAssignment, Person

    dongxing = actor_for_name(demo, "dongxing")
    with demo.session() as s:
        mine = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村"))
        theirs = s.scalar(select(Grid).where(Grid.name == "森工街道森工社区"))
        person = s.scalar(select(Person.id).where(Person.name == "王立军"))
    with pytest.raises(PermissionDenied, match="数据权限"), demo.session(dongxing) as s:
        save_grid(s, theirs.id, geometry=None, attributes={"responsible_body": "越权修改"},
                  expected_version=theirs.version)
    with pytest.raises(PermissionDenied, match="数据权限"), demo.session(dongxing) as s:
        s.add(GridRoleAssignment(grid_id=theirs.id, person_id=person, role="supervisor"))
    with demo.session(dongxing) as s:
        save_grid(s, mine.id, geometry=None, attributes={"responsible_body": "东兴村村民委员会（改）"},
                  expected_version=mine.version)
    with demo.session() as s:
        assert s.get(Grid, theirs.id).responsible_body == theirs.responsible_body
        assert s.get(Grid, mine.id).responsible_body == "东兴村村民委员会（改）"


def test_a_reporters_phone_is_kept_out_of_the_log_and_reading_it_is_logged(demo: Store) -> None:
    from gis.incidents.contact import reveal_reporter_contact

    phone = "13904391234"
    done = cli("incident", "report", "--lon", str(DONGXING_POINT[0]), "--lat", str(DONGXING_POINT[1]),
               "--category", "生态环境", "--description", "群众来电：岸边倾倒垃圾", "--source", "public_complaint",
               "--reporter", "李女士", "--contact", phone, "--as", "staff", "--json", url=demo.url)
    assert done.returncode == 0, done.stderr
    code = json.loads(done.stdout)["code"]
    with demo.session() as s:
        log = json.dumps([[e.before, e.after] for e in s.scalars(select(AuditEntry))], ensure_ascii=False)
        iid = s.scalar(select(Incident.id).where(Incident.code == code))
    assert phone not in log
    with demo.session(actor_for_name(demo, "dongxing")) as s:
        assert reveal_reporter_contact(s, iid) == phone
    other = _report(demo, SENGONG_POINT)
    with demo.session(actor_for_name(demo, "dongxing")) as s:  # not a case of his grids: not shown
        with pytest.raises(NotFoundError):
            reveal_reporter_contact(s, s.scalar(select(Incident.id).where(Incident.code == other)))
    with demo.session() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "read")).all()
    assert [(r.username, r.row_id) for r in reads] == [("dongxing", iid)]
    assert phone not in json.dumps([r.after for r in reads], ensure_ascii=False)
