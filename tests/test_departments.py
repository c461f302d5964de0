"""Departments (成员单位), 协办, 移交/移送 records and 延期 (issue 17): services on SQLite and PostGIS,
the command line, and the 事件处置 page's actions (AppTest)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from test_app import APP, sign_in

from gis import clock
from gis.accounts.keys import actor_for_key, create_key
from gis.accounts.users import actor_for, command_line_actor, create_user
from gis.assessment.indicators import assess
from gis.auth import SYSTEM, Actor
from gis.config import PROJECT_DIR
from gis.demo import data as dd
from gis.errors import DuplicateNameError, NotFoundError, PermissionDenied, ValidationError
from gis.features.incidents import query_incidents
from gis.incidents.card import load_incident_card
from gis.incidents.cooperation import (
    answer_cotask,
    cotasks_of,
    decide_extension,
    record_outcome,
    record_receipt,
    request_extension,
    send_cotasks,
    transfers_of,
)
from gis.incidents.departments import add_department, get_department, list_departments
from gis.incidents.lists import list_incidents
from gis.incidents.reporting import report_incident
from gis.incidents.states import IllegalTransition
from gis.incidents.workflow import move, visible_incident
from gis.model import LOCAL_TZ
from gis.store import Store
from gis.store.schema import AuditEntry, CoTask, DeadlineExtension, Grid, Incident, TransferRecord

DONGXING = "森工街道东兴村"
DONGXING_POINT = (127.0, 41.84)
PASSWORD = "dept-pass-2026x"


def bj(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LOCAL_TZ)


FRI = bj(2026, 11, 20, 15, 0)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    folder = tmp_path / "data"
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(folder))
    return folder


def actor(store: Store, username: str) -> Actor:
    with store.session() as s:
        return actor_for(s, username)


def report(store: Store, who: str = "patroller", **kw) -> int:  # type: ignore[no-untyped-def]
    args = {"category": "ecology", "description": "排污口附近水面发黑有异味", "reported_at": FRI, **kw}
    with store.session(actor(store, who)) as s:
        return report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], **args).id


def step(store: Store, who: str, incident_id: int, action: str, **kw) -> Incident:  # type: ignore[no-untyped-def]
    with store.session(actor(store, who)) as s:
        return move(s, incident_id, action, **kw)


def dept_id(store: Store, name: str) -> int:
    with store.session() as s:
        return get_department(s, name).id


def department_account(store: Store, username: str, department: str) -> Actor:
    with store.session(command_line_actor()) as s:
        create_user(s, username=username, role="department", password=PASSWORD, department=department)
    return actor(store, username)


def in_review(store: Store) -> int:
    """A 东兴村 case handled by the township's staff up to 审核 (the county approves it)."""
    iid = report(store)
    for action, kw in [("accept", {}), ("assign", {"to_grid_id": grid_id(store, DONGXING)}), ("start", {}),
                       ("resolve", {"note": "已封堵排污口"}), ("submit_review", {})]:
        step(store, "staff", iid, action, **kw)
    return iid


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == name))


def set_close_due(store: Store, iid: int, due: datetime) -> None:
    with store.session(SYSTEM) as s:
        s.get(Incident, iid).close_due_at = due


def close_due(store: Store, iid: int) -> datetime:
    with store.session() as s:
        return s.get(Incident, iid).close_due_at.astimezone(LOCAL_TZ)


# --- the registry -----------------------------------------------------------------------------


def test_registry_on_an_empty_store(store: Store) -> None:
    admin_like = Actor("op", SYSTEM.role, "运维", installer=False)
    with store.session(admin_like) as s:
        add_department(s, "水利局", contact_name="李科长", contact_phone="0439-1234567")
        add_department(s, "综合执法局", kind="执法机关")
    with pytest.raises(DuplicateNameError, match="已存在"), store.session(admin_like) as s:
        add_department(s, "水利局")
    with pytest.raises(ValidationError, match="未知的单位类别"), store.session(admin_like) as s:
        add_department(s, "某局", kind="bogus")
    with store.session() as s:
        rows = list_departments(s)
    assert [(d.name, d.kind_label, d.contact_phone) for d in rows] == [
        ("水利局", "职能部门", "0439-1234567"), ("综合执法局", "执法机关", "")]
    # a department account needs its department, and binds to no grid; other roles take none
    with store.session(command_line_actor()) as s:
        with pytest.raises(ValidationError, match="必须指定所属成员单位"):
            create_user(s, username="d1", role="department", password=PASSWORD)
        with pytest.raises(ValidationError, match="只有“成员单位”角色"):
            create_user(s, username="d2", role="staff", password=PASSWORD, department="水利局")
        with pytest.raises(NotFoundError, match="没有成员单位"):
            create_user(s, username="d3", role="department", password=PASSWORD, department="财政局")
        user = create_user(s, username="slj", role="department", password=PASSWORD, department="水利局")
        assert user.department_id is not None and user.grid_id is None
    with store.session() as s:
        assert {d.name: d.accounts for d in list_departments(s)} == {"水利局": 1, "综合执法局": 0}


def test_demo_has_the_four_departments_and_one_department_account(demo_store: Store) -> None:
    with demo_store.session() as s:
        names = {d.name for d in list_departments(s)}
        dept = actor_for(s, "department")
    assert {"生态环境分局", "水利局", "农业农村局", "综合执法局"} <= names
    assert dept.role.value == "department"


# --- 协办 blocks the archive until answered ----------------------------------------------------


def test_a_co_assigned_case_cannot_be_archived_before_the_department_answers(demo_store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    iid = in_review(demo_store)
    water = department_account(demo_store, "shuili", "水利局")
    with demo_store.session(actor(demo_store, "staff")) as s:
        tasks = send_cotasks(s, iid, ["水利局", "生态环境分局"], days=3, request="核查排污口是否在河道管理范围内")
        task_ids = {t.department.name: t.id for t in tasks}
    with pytest.raises(IllegalTransition, match="水利局") as refused:
        step(demo_store, "county", iid, "archive")
    assert "生态环境分局" in refused.value.message_zh and "尚未答复" in refused.value.message_zh
    # a department answers only its own sub-task
    with pytest.raises(PermissionDenied, match="生态环境分局"), demo_store.session(water) as s:
        answer_cotask(s, task_ids["生态环境分局"], "不归我们管")
    from PIL import Image

    Image.new("RGB", (40, 30), "blue").save(tmp_path / "现场.jpg", format="JPEG")
    with demo_store.session(water) as s:
        answer_cotask(s, task_ids["水利局"], "已核查：位于管理范围内，同意封堵", attachments=[tmp_path / "现场.jpg"])
    with pytest.raises(IllegalTransition, match="生态环境分局") as still:
        step(demo_store, "county", iid, "archive")
    assert "水利局" not in still.value.message_zh
    with demo_store.session(actor(demo_store, "department")) as s:  # the demo's 生态环境分局 account
        answer_cotask(s, task_ids["生态环境分局"], "已监测，水质恢复")
    with pytest.raises(ValidationError, match="答复过"), demo_store.session(water) as s:
        answer_cotask(s, task_ids["水利局"], "再答一次")
    assert step(demo_store, "county", iid, "archive").status == "archived"
    with demo_store.session(actor(demo_store, "staff")) as s:
        card = load_incident_card(s, iid)
        infos = cotasks_of(s, iid)
    labels = [h.action_label for h in card.history]
    assert labels.count("协办答复") == 2 and "发起协办" in labels
    answer = next(h for h in card.history if h.by == "shuili")
    assert "同意封堵" in answer.note and [p.name for p in answer.photos] == ["现场.jpg"]
    assert all(t.answered for t in infos)
    # 协办 deadline: 3 working days from now on the calendar (2026-11-28 is a Saturday)
    assert infos[0].due_at.astimezone(LOCAL_TZ).date() == date(2026, 12, 2)


def test_a_department_account_sees_only_the_cases_sent_to_it(demo_store: Store) -> None:
    water = department_account(demo_store, "shuili", "水利局")
    mine, other = report(demo_store), report(demo_store)
    with demo_store.session(water, write=False) as s:
        assert list_incidents(s) == []
    step(demo_store, "staff", mine, "accept")
    with demo_store.session(actor(demo_store, "staff")) as s:
        send_cotasks(s, mine, ["水利局"], days=5)
    with demo_store.session(actor(demo_store, "staff")) as s:
        send_cotasks(s, other, ["农业农村局"], days=5)
    with demo_store.session(water, write=False) as s:
        assert [i.id for i in list_incidents(s)] == [mine]
        assert visible_incident(s, mine).id == mine
        with pytest.raises(NotFoundError):
            visible_incident(s, other)
        with pytest.raises(NotFoundError):
            cotasks_of(s, other)
    # through an API key it acts as the same account, with the same data scope
    with demo_store.session(command_line_actor()) as s:
        key = create_key(s, "shuili", "水利局平台").key
    with demo_store.session() as s:
        by_key = actor_for_key(s, key)
    with demo_store.session(by_key, write=False) as s:
        assert [f.id for f in query_incidents(s).features] == [mine]
    # it reads and answers; it does not move the case
    with pytest.raises(PermissionDenied), demo_store.session(water) as s:
        move(s, mine, "start")
    with pytest.raises(PermissionDenied), demo_store.session(water) as s:
        request_extension(s, mine, 3, "需要时间")


# --- 移交/移送 ---------------------------------------------------------------------------------


def test_transfer_records_the_receiver_date_receipt_and_outcome(demo_store: Store) -> None:
    iid = report(demo_store)
    step(demo_store, "staff", iid, "accept")
    enforcement = dept_id(demo_store, "综合执法局")
    step(demo_store, "staff", iid, "transfer", note="涉嫌非法排污，移交执法", receiver="临江市综合行政执法局",
         receiver_department_id=enforcement)
    with demo_store.session(actor(demo_store, "staff")) as s:
        (rec,) = transfers_of(s, iid)
    assert (rec.receiver, rec.department_id, rec.sent_on, rec.receipt_on) == (
        "临江市综合行政执法局", enforcement, date(2026, 11, 28), None)
    # the receiving department's account sees the case and records the receipt
    zhifa = department_account(demo_store, "zhifa", "综合执法局")
    with demo_store.session(zhifa) as s:
        record_receipt(s, rec.id, received_on="2026-11-30", note="已立案")
    with pytest.raises(ValidationError, match="早于移送日期"), demo_store.session(actor(demo_store, "staff")) as s:
        record_outcome(s, rec.id, "罚款", decided_on="2026-11-01")
    with demo_store.session(actor(demo_store, "staff")) as s:
        record_outcome(s, rec.id, "责令停止排污，罚款五万元", decided_on=date(2026, 12, 3))
    with demo_store.session(zhifa, write=False) as s:
        (after,) = transfers_of(s, iid)
        card = load_incident_card(s, iid)
    assert (after.receipt_on, after.receipt_note, after.outcome, after.outcome_on) == (
        date(2026, 11, 30), "已立案", "责令停止排污，罚款五万元", date(2026, 12, 3))
    steps = [(h.action_label, h.note) for h in card.history]
    assert ("移送回执", "接收机关：临江市综合行政执法局；回执日期：2026-11-30；已立案") in steps
    assert any(label == "移送处理结果" and "罚款五万元" in note for label, note in steps)
    with demo_store.session() as s:
        audited = {a.table_name for a in s.scalars(select(AuditEntry).where(AuditEntry.username == "zhifa"))}
    assert {"incident_transfers", "incident_events"} <= audited


# --- 延期 --------------------------------------------------------------------------------------


def _oracle_add_working_days(start: date, n: int) -> date:
    """Count on chinesecalendar (the State Council's schedule) directly."""
    import chinese_calendar

    day = start
    while n:
        day += timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def test_an_approved_extension_moves_the_deadline_across_national_day(demo_store: Store) -> None:
    iid = report(demo_store, reported_at=bj(2026, 9, 24, 9, 0))
    step(demo_store, "dongxing", iid, "accept", at=bj(2026, 9, 24, 10, 0))
    set_close_due(demo_store, iid, bj(2026, 9, 29, 15, 0))  # Tuesday before 国庆
    with demo_store.session(actor(demo_store, "dongxing")) as s:
        ext_id = request_extension(s, iid, 5, "需协调水利局现场勘查", at=bj(2026, 9, 28, 9, 0)).id
    # the village may not approve its own request; the township (upper grid) does
    with pytest.raises(PermissionDenied), demo_store.session(actor(demo_store, "dongxing")) as s:
        decide_extension(s, ext_id, approve=True)
    with demo_store.session(actor(demo_store, "staff")) as s:
        decide_extension(s, ext_id, approve=True, note="同意", at=bj(2026, 9, 28, 11, 0))
    due = close_due(demo_store, iid)
    # 9-30, 10-8, 10-9, 10-10 (Saturday worked), 10-12: not 10-6, as weekdays alone would give
    assert due == bj(2026, 10, 12, 15, 0)
    assert due.date() == _oracle_add_working_days(date(2026, 9, 29), 5)
    with demo_store.session(actor(demo_store, "staff")) as s:
        card = load_incident_card(s, iid)
        ext = s.get(DeadlineExtension, ext_id)
        assert (ext.status, ext.decided_by) == ("approved", "staff")
    assert "已延期 5 个工作日" in card.close_due_text
    approve = next(h for h in card.history if h.action == "extension_approve")
    assert "2026-09-29 15:00 → 2026-10-12 15:00" in approve.note and approve.by == "staff"
    assert any(h.action == "extension_request" and "需协调水利局现场勘查" in h.note for h in card.history)
    with demo_store.session() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "incidents", AuditEntry.row_id == iid,
                                                     AuditEntry.username == "staff")).all()
    assert any(str((e.after or {}).get("close_due_at")).startswith("2026-10-12") for e in entries)


def test_a_refused_extension_leaves_the_deadline(demo_store: Store) -> None:
    iid = report(demo_store)
    step(demo_store, "dongxing", iid, "accept")
    before = close_due(demo_store, iid)
    with demo_store.session(actor(demo_store, "dongxing")) as s:
        ext_id = request_extension(s, iid, 3, "雨天无法施工").id
    with pytest.raises(ValidationError, match="待审批"), demo_store.session(actor(demo_store, "dongxing")) as s:
        request_extension(s, iid, 2, "再申请")
    with pytest.raises(ValidationError, match="审批意见"), demo_store.session(actor(demo_store, "staff")) as s:
        decide_extension(s, ext_id, approve=False)
    with demo_store.session(actor(demo_store, "staff")) as s:
        decide_extension(s, ext_id, approve=False, note="理由不充分")
    assert close_due(demo_store, iid) == before
    with demo_store.session(actor(demo_store, "staff")) as s:
        card = load_incident_card(s, iid)
    assert any(h.action_label == "不批准延期" and "理由不充分" in h.note for h in card.history)
    assert "已延期" not in card.close_due_text


def test_an_approved_extension_is_not_overdue_in_the_assessment(demo_store: Store) -> None:
    iid = report(demo_store)  # 2026-11-20, 东兴村
    step(demo_store, "dongxing", iid, "accept", at=FRI + timedelta(hours=1))
    set_close_due(demo_store, iid, bj(2026, 11, 25, 15, 0))
    dongxing = grid_id(demo_store, DONGXING)
    judged = bj(2026, 11, 30, 10, 0)
    with demo_store.session() as s:
        overdue_before = assess(s, "2026-11", grid_id=dongxing, now=judged).get(dongxing).indicators["overdue"]
    with demo_store.session(actor(demo_store, "dongxing")) as s:
        ext_id = request_extension(s, iid, 5, "等待检测报告", at=bj(2026, 11, 24, 9, 0)).id
    with demo_store.session(actor(demo_store, "staff")) as s:
        decide_extension(s, ext_id, approve=True, at=bj(2026, 11, 24, 10, 0))
    assert close_due(demo_store, iid) == bj(2026, 12, 2, 15, 0)  # 11-26, 27, 30, 12-1, 12-2
    with demo_store.session() as s:
        overdue_after = assess(s, "2026-11", grid_id=dongxing, now=judged).get(dongxing).indicators["overdue"]
    assert overdue_after == overdue_before - 1
    with demo_store.session(actor(demo_store, "staff")) as s:
        assert iid not in [i.id for i in list_incidents(s, overdue=True, now=judged)]


# --- the command line --------------------------------------------------------------------------


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", url],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_dept_add_list_and_a_department_account(store_url: str) -> None:
    run("init-demo", "--json", url=store_url)
    out = run("dept", "add", "住建局", "--contact", "王科长", "--phone", "0439-7654321", url=store_url)
    assert "已登记成员单位“住建局”" in out.stdout
    listed = json.loads(run("dept", "list", "--json", url=store_url).stdout)
    assert {"住建局", "水利局", "生态环境分局", "农业农村局", "综合执法局"} <= {d["name"] for d in listed}
    assert next(d for d in listed if d["name"] == "住建局")["contact_phone"] == "0439-7654321"
    made = json.loads(run("user", "add", "--username", "zj", "--role", "department", "--department", "住建局",
                          "--json", url=store_url).stdout)
    assert made["department_id"] == next(d["id"] for d in listed if d["name"] == "住建局")
    text = run("dept", "list", url=store_url).stdout
    assert "住建局（职能部门） 联系人：王科长 电话：0439-7654321 账号 1 个" in text


# --- the page ----------------------------------------------------------------------------------


def _open_case(app_env: Path) -> int:
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    try:
        iid = report(store, reported_at=clock.now())
        step(store, "dongxing", iid, "accept")
        return iid
    finally:
        store.dispose()


def _page(username: str, iid: int, password: str = dd.DEMO_PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at = sign_in(at.switch_page("pages/login.py").run(), username, password)
    at = at.switch_page("pages/incidents.py").run()
    at.selectbox(key="inc_pick").set_value(iid)
    return at.run()


def _button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def test_page_sends_for_co_handling_the_department_answers_and_an_extension_is_asked(app_env: Path) -> None:
    iid = _open_case(app_env)
    at = _page("staff", iid)
    assert not at.exception
    headings = [m.value for m in at.markdown if m.value.startswith("#####")]
    assert "##### 协办" in headings and "##### 延期" in headings
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    water = dept_id(store, "水利局")
    store.dispose()
    next(w for w in at.multiselect if w.label == "协办单位").set_value([water])
    next(t for t in at.text_area if t.label == "协办要求").input("请核查河道管理范围")
    at = _button(at, "发起协办").click().run()
    assert not at.exception and not at.error
    assert any("已发起协办：水利局" in s.value for s in at.success)
    next(t for t in at.text_area if t.label == "延期理由").input("等待水利局勘查")
    at = _button(at, "申请延期").click().run()
    assert not at.exception and not at.error
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session(SYSTEM) as s:
        task = s.scalar(select(CoTask).where(CoTask.incident_id == iid))
        assert (task.department.name, task.request, task.answered_at) == ("水利局", "请核查河道管理范围", None)
        ext = s.scalar(select(DeadlineExtension).where(DeadlineExtension.incident_id == iid))
        assert (ext.days, ext.reason, ext.status) == (5, "等待水利局勘查", "pending")
        from gis.accounts.users import create_user as make

        make(s, username="shuili", role="department", password=PASSWORD, department="水利局",
             must_change_password=False)
    store.dispose()

    at = _page("shuili", iid, PASSWORD)  # the department's account: the case, its 协办 answer form, no workflow buttons
    assert not at.exception
    assert any(m.value.startswith("**共 1 件**") for m in at.markdown)  # only the case sent to 水利局
    assert not {"交办", "办结", "转执法/移送司法"} & {b.label for b in at.button}
    next(t for t in at.text_area if t.label == "答复内容").input("已勘查，位于管理范围内")
    at = _button(at, "提交协办答复").click().run()
    assert not at.exception and not at.error
    at = _page("county", iid)  # the upper grid approves the extension
    at = _button(at, "批准延期").click().run()
    assert not at.exception and not at.error
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        assert s.scalar(select(CoTask.answer).where(CoTask.incident_id == iid)) == "已勘查，位于管理范围内"
        assert s.scalar(select(DeadlineExtension.status).where(DeadlineExtension.incident_id == iid)) == "approved"
        assert s.scalar(select(TransferRecord.id)) is None
    store.dispose()


def test_recounting_deadlines_keeps_an_approved_extension(demo_store: Store) -> None:
    from gis.incidents.deadlines import DEFAULT_POLICY, recompute_open_deadlines

    iid = report(demo_store, reported_at=bj(2026, 12, 21, 9, 0))  # the close deadline runs into 2027 (estimated)
    step(demo_store, "dongxing", iid, "accept", at=bj(2026, 12, 21, 10, 0))
    original = close_due(demo_store, iid)
    with demo_store.session(actor(demo_store, "dongxing")) as s:
        ext_id = request_extension(s, iid, 4, "年底放假前无法完成", at=bj(2026, 12, 22, 9, 0)).id
    with demo_store.session(actor(demo_store, "staff")) as s:
        decide_extension(s, ext_id, approve=True, at=bj(2026, 12, 22, 10, 0))
    extended = close_due(demo_store, iid)
    assert extended == DEFAULT_POLICY.calendar.add_working_days(original, 4) and extended > original
    with demo_store.session() as s:
        assert s.get(Incident, iid).deadline_estimated
    with demo_store.session(actor(demo_store, "staff")) as s:
        changed = recompute_open_deadlines(s)
    assert iid not in [c.incident_id for c in changed]
    assert close_due(demo_store, iid) == extended


def test_cli_co_handling_extension_and_transfer_receipt(store_url: str) -> None:
    run("init-demo", "--json", url=store_url)
    cases = json.loads(run("incident", "list", "--status", "in_progress", "--json", url=store_url).stdout)
    code = cases[0]["code"]
    sent = json.loads(run("incident", "cotask", code, "--dept", "水利局", "--days", "3", "--note", "核查",
                          "--as", "staff", "--json", url=store_url).stdout)
    assert [t["department"] for t in sent] == ["水利局"]
    out = run("incident", "answer", str(sent[0]["id"]), "--note", "已核查", "--as", "admin", url=store_url).stdout
    assert "已答复协办任务" in out
    ext = json.loads(run("incident", "extend", code, "--days", "2", "--reason", "等待检测", "--as", "admin",
                         "--json", url=store_url).stdout)
    decided = json.loads(run("incident", "decide-extension", str(ext["id"]), "--approve", "--as", "county",
                             "--json", url=store_url).stdout)
    assert decided["status"] == "approved" and decided["new_due_at"]
    run("incident", "move", code, "--to", "transfer", "--note", "移交执法", "--receiver-dept", "综合执法局",
        "--as", "county", url=store_url)
    rec = json.loads(run("incident", "receipt", "1", "--date", "2026-11-30", "--note", "已立案", "--as", "admin",
                         "--json", url=store_url).stdout)
    assert (rec["receiver"], rec["receipt_on"]) == ("综合执法局", "2026-11-30")
