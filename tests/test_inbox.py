"""The 待办 inbox (issue 18, part 1) on the demo, on SQLite and PostGIS, with the pinned clock
(Saturday 2026-11-28 08:00 Beijing time). Expected items are read off the demo by hand: its
open cases, its accounts and their grids (县 1 > 街道 2 > 东兴村 3 / 森工社区 4)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from gis.accounts.users import actor_for
from gis.auth import Actor
from gis.config import PROJECT_DIR
from gis.errors import PermissionDenied
from gis.inbox.core import NEXT_STEP, waiting_grid
from gis.inbox.service import count_for, inbox
from gis.incidents.cooperation import answer_cotask, send_cotasks
from gis.incidents.states import ACTIONS
from gis.incidents.workflow import get_incident, move
from gis.model import LOCAL_TZ, IncidentStatus
from gis.reports.editions import build_report, submit_report
from gis.store import Store

STAFF_KEYS = {
    "case:8:resolve",  # 森工社区 has no handler account of its own: its 街道 handles (overdue)
    "deadline:9",  # 东兴村's overdue case: waits on 东兴村's own account, the 街道 follows it up
    "case:12:accept",  # the 街道's own case, due 10:30 today
    "case:11:assign",  # 受理 → 交办 is the upper grid's step
    "case:6:archive",  # 审核 by the upper grid
    "case:7:submit_review",
    "evaluation:2:2026:self",
    "evaluation:3:2026:upper",
    "evaluation:4:2026:upper",
    # the 街道's own periodic reports: the latest ended month, quarter and year, none submitted
    "report:2:2025",
    "report:2:2026-Q3",
    "report:2:2026-10",
}
DONGXING_KEYS = {
    "case:9:resolve",
    "case:10:start",
    "case:14:resolve",
    "evaluation:3:2026:self",
    "patrol:王立军:2026-W48",  # 王立军 has no track this week; 何兆花 (the patroller) has one
    "report:3:2025",
    "report:3:2026-Q3",
    "report:3:2026-10",
}


def actor(store: Store, username: str) -> Actor:
    with store.session() as s:
        return actor_for(s, username)


def items_of(store: Store, username: str, **kw):  # type: ignore[no-untyped-def]
    with store.session(actor(store, username), write=False) as s:
        return inbox(s, username, **kw).items


def test_the_staff_sees_what_waits_for_the_township_overdue_first(demo_store: Store) -> None:
    items = items_of(demo_store, "staff")
    assert {i.key for i in items} == STAFF_KEYS
    assert [i.overdue for i in items] == [True] * 5 + [False] * 7  # 3 reports and 2 cases overdue
    assert [i.key for i in items[:5]] == [
        "report:2:2025", "report:2:2026-Q3", "case:8:resolve", "deadline:9", "report:2:2026-10"]
    dated = [i.due_at for i in items if not i.overdue and i.due_at is not None]
    assert dated == sorted(dated) and len(dated) == 2  # 012 (today 10:30), then 011 (12-07)
    assert all(i.due_at is None for i in items[7:])  # review steps and evaluations have no deadline
    october = next(i for i in items if i.key == "report:2:2026-10")
    assert october.title == "报送“临江市森工街道办事处”2026年10月月报"
    assert october.url == "/reports?period=2026-10&grid=2"
    # due at the end of the 5th working day of November: Mon 2 … Fri 6
    assert october.due_at == datetime(2026, 11, 6, 23, 59, 59, tzinfo=LOCAL_TZ)
    accept = next(i for i in items if i.key == "case:12:accept")
    assert accept.title == "受理：SJ-2026-012 鸭绿江下段西端岸边油污"
    assert accept.due_soon and accept.url == "/incidents?case=SJ-2026-012"
    assert accept.due_at == datetime(2026, 11, 28, 10, 30, tzinfo=LOCAL_TZ)
    follow = next(i for i in items if i.key == "deadline:9")
    assert "东兴村" in follow.detail and follow.title.startswith("已超期：SJ-2026-009")
    ev = next(i for i in items if i.key == "evaluation:3:2026:upper")
    assert ev.url == "/assessment?year=2026&grid=3&kind=upper" and ev.title.startswith("填写“森工街道东兴村”")
    with demo_store.session() as s:
        assert count_for(s, "staff") == len(STAFF_KEYS)


def test_a_village_account_sees_only_its_village(demo_store: Store) -> None:
    items = items_of(demo_store, "dongxing")
    assert {i.key for i in items} == DONGXING_KEYS
    cases = [i for i in items if i.object.get("type") == "incident"]
    assert cases and {i.object["grid_id"] for i in cases} == {3}
    patrol = next(i for i in items if i.kind == "patrol")
    assert patrol.url == "/patrol" and patrol.due_at == datetime(2026, 11, 29, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert items_of(demo_store, "patroller") == []  # reports, handles nothing; patrolled this week


def test_an_account_reads_only_its_own_inbox(demo_store: Store) -> None:
    with pytest.raises(PermissionDenied, match="只能查看本人的待办"), demo_store.session(actor(demo_store, "dongxing")) as s:
        inbox(s, "staff")
    with demo_store.session(actor(demo_store, "admin")) as s:
        assert inbox(s, "staff").count == len(STAFF_KEYS)


def test_an_item_is_gone_once_done(demo_store: Store) -> None:
    staff = actor(demo_store, "staff")
    with demo_store.session(staff) as s:
        move(s, "SJ-2026-012", "accept")
    keys = {i.key for i in items_of(demo_store, "staff")}
    assert "case:12:accept" not in keys and "case:12:assign" in keys  # the next step of the 街道's own case
    with demo_store.session(staff) as s:
        move(s, "SJ-2026-006", "archive")
    keys = {i.key for i in items_of(demo_store, "staff")}
    assert not any(k.startswith("case:6:") for k in keys)
    # 协办: the department's account gets the sub-task, and loses it once it answers
    assert items_of(demo_store, "department") == []
    with demo_store.session(staff) as s:
        (task,) = send_cotasks(s, "SJ-2026-011", ["生态环境分局"], days=3, request="核查堆放物")
        task_id = task.id
    (item,) = items_of(demo_store, "department")
    assert item.kind == "cotask" and item.url == "/incidents?case=SJ-2026-011"
    assert item.due_at == datetime(2026, 12, 2, 23, 59, 59, tzinfo=LOCAL_TZ)  # Saturday + 3 working days: Mon, Tue, Wed
    with demo_store.session(actor(demo_store, "department")) as s:
        answer_cotask(s, task_id, "已核查，为建筑垃圾")
    assert items_of(demo_store, "department") == []
    # 信息报送: 东兴村 submits its October report, the item is gone; the others stay
    dongxing = actor(demo_store, "dongxing")
    with demo_store.session(dongxing) as s:
        submit_report(s, build_report(s, 3, "2026-10"))
    keys = {i.key for i in items_of(demo_store, "dongxing")}
    assert "report:3:2026-10" not in keys and {"report:3:2026-Q3", "report:3:2025"} <= keys


def set_close_due(store: Store, code: str, due: datetime) -> None:
    with store.session(actor(store, "admin")) as s:
        get_incident(s, code).close_due_at = due


def test_due_within_one_working_day_counts_over_the_weekend(demo_store: Store) -> None:
    """Saturday 08:00 + one working day = the end of Monday: a case due Monday afternoon is due
    soon, one due Tuesday morning is not."""
    set_close_due(demo_store, "SJ-2026-011", datetime(2026, 11, 30, 17, 0, tzinfo=LOCAL_TZ))
    item = next(i for i in items_of(demo_store, "staff") if i.key == "case:11:assign")
    assert item.due_soon and not item.overdue
    leader = next(i for i in items_of(demo_store, "leader") if i.key == "deadline:11")
    assert leader.title.startswith("即将到期：SJ-2026-011")
    set_close_due(demo_store, "SJ-2026-011", datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ))
    item = next(i for i in items_of(demo_store, "staff") if i.key == "case:11:assign")
    assert not item.due_soon and not item.overdue
    assert "deadline:11" not in {i.key for i in items_of(demo_store, "leader")}


def test_due_within_one_working_day_counts_over_the_national_day_holiday(demo_store: Store) -> None:
    """On Wednesday 2026-09-30 10:00 the next working day is Thursday 10-08 (国庆节 10-01..07)."""
    eve = datetime(2026, 9, 30, 10, 0, tzinfo=LOCAL_TZ)
    set_close_due(demo_store, "SJ-2026-011", datetime(2026, 10, 8, 9, 0, tzinfo=LOCAL_TZ))
    item = next(i for i in items_of(demo_store, "staff", now=eve) if i.key == "case:11:assign")
    assert item.due_soon
    set_close_due(demo_store, "SJ-2026-011", datetime(2026, 10, 9, 9, 0, tzinfo=LOCAL_TZ))
    item = next(i for i in items_of(demo_store, "staff", now=eve) if i.key == "case:11:assign")
    assert not item.due_soon


def test_who_a_step_waits_on_walks_up_the_grid_line() -> None:
    levels = {1: "county", 2: "township", 3: "village", 4: "village"}
    handlers = {1: {"county"}, 2: {"staff"}, 3: {"dongxing"}}
    accept, assign, archive = (ACTIONS[NEXT_STEP[s]] for s in (IncidentStatus.REPORTED, IncidentStatus.ACCEPTED, IncidentStatus.REVIEW))
    assert waiting_grid(accept, (3, 2, 1), levels, handlers) == 3
    assert waiting_grid(accept, (4, 2, 1), levels, handlers) == 2  # no account in 森工社区
    assert waiting_grid(assign, (3, 2, 1), levels, handlers) == 2
    assert waiting_grid(assign, (2, 1), levels, handlers) == 2  # a township assigns its own cases
    assert waiting_grid(archive, (4, 2, 1), levels, handlers, excluded={"staff"}) == 1  # not who resolved it
    assert waiting_grid(accept, (4, 2, 1), levels, {}) is None  # nobody bound: the unbound administrators


def test_gis_inbox_on_the_command_line(demo_store: Store, store_url: str) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gis", "inbox", *args, "--database-url", store_url],
            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120,
        )

    proc = run("--user", "staff", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["user"] == "staff" and data["count"] == len(STAFF_KEYS) and data["overdue"] == 5
    assert {i["key"] for i in data["items"]} == STAFF_KEYS
    first = data["items"][0]
    assert first["overdue"] and first["link"] == "/reports?period=2025&grid=2"
    assert first["due_at"] == "2026-01-08T23:59:59+08:00"  # 2025's report: 5 working days after New Year
    case = data["items"][2]
    assert case["overdue"] and case["link"] == "/incidents?case=SJ-2026-008"
    assert case["due_at"] == "2026-10-19T09:00:00+08:00"
    text = run("--user", "staff").stdout
    assert text.startswith("高雪（工作人员） 的待办：共 12 项，其中已超期 5 项")
    assert "受理：SJ-2026-012" in text and "/incidents?case=SJ-2026-012" in text
    missing = run("--user", "nobody")
    assert missing.returncode == 2 and "不存在或已停用" in missing.stderr
