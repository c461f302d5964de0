"""Working days (gis.incidents.workdays): official, local and estimated schedules; the calendar CLI; deadlines
counted on estimated years (估算) and their recomputation; SQLite and PostGIS."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gis.accounts.users import actor_for
from gis.config import PROJECT_DIR
from gis.errors import PermissionDenied, ValidationError
from gis.incidents.card import load_incident_card
from gis.incidents.deadlines import DEFAULT_POLICY, deadline_status, recompute_open_deadlines
from gis.incidents.export import incident_rows
from gis.incidents.lists import incident_dict
from gis.incidents.reporting import report_incident
from gis.incidents.schedules import add_local_years, load_local_calendar, official_schedule, parse_local_calendar
from gis.incidents.workdays import DEFAULT_CALENDAR, ChinaCalendar, WorkCalendar
from gis.incidents.workflow import move
from gis.model import LOCAL_TZ
from gis.store import Store
from gis.store.schema import AuditEntry, Grid, Incident

DONGXING_POINT = (127.0, 41.84)

# The published 2026 schedule (国务院办公厅关于2026年部分节假日安排的通知), typed from the notice:
# the oracle for what chinesecalendar gives.
NOTICE_2026_HOLIDAYS = frozenset(
    [date(2026, 1, d) for d in (1, 2, 3)]  # 元旦
    + [date(2026, 2, d) for d in range(15, 24)]  # 春节
    + [date(2026, 4, d) for d in (4, 5, 6)]  # 清明节
    + [date(2026, 5, d) for d in range(1, 6)]  # 劳动节
    + [date(2026, 6, d) for d in (19, 20, 21)]  # 端午节
    + [date(2026, 9, d) for d in (25, 26, 27)]  # 中秋节
    + [date(2026, 10, d) for d in range(1, 8)]  # 国庆节
)
NOTICE_2026_WORKDAYS = frozenset([date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                                  date(2026, 9, 20), date(2026, 10, 10)])

# A made-up 2027 schedule for the tests (not the real notice): New Year from 2026-12-31.
TEST_2027 = {
    "format": 1,
    "years": {
        "2027": {
            "source": {"title": "测试用：2027年部分节假日安排", "published": "2026-11-12"},
            "holidays": {"元旦": "2026-12-31..2027-01-03", "春节": ["2027-02-05..2027-02-12"],
                         "劳动节": ["2027-05-01..2027-05-05"]},
            "workdays": ["2027-02-20", "2027-04-25"],
        }
    },
}


def bj(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=LOCAL_TZ)


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False) if not isinstance(data, str) else data, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def calendar_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own data folder and local calendar file (absent until written)."""
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "calendar.json"
    monkeypatch.setenv("RIVERGRID_CALENDAR_FILE", str(path))
    return path


def gis_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "gis", *args], check=False, cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


# --- sources ------------------------------------------------------------------------------------


def test_cli_answers_official_and_estimated_days() -> None:
    answers = {d: json.loads(gis_cli("calendar", d, "--json").stdout)
               for d in ("2025-10-01", "2025-09-28", "2027-02-08")}
    pick = {d: {k: a[k] for k in ("date", "working_day", "source")} for d, a in answers.items()}
    assert pick == {
        "2025-10-01": {"date": "2025-10-01", "working_day": False, "source": "official"},  # 国庆节
        "2025-09-28": {"date": "2025-09-28", "working_day": True, "source": "official"},  # 调休上班 (Sunday)
        "2027-02-08": {"date": "2027-02-08", "working_day": False, "source": "estimated"},  # 春节 (Monday)
    }
    assert answers["2027-02-08"]["name"] == "春节"
    text = gis_cli("calendar", "2025-09-28").stdout
    assert "星期日" in text and "工作日（调休上班，国庆节）" in text and "官方安排" in text
    text = gis_cli("calendar", "2027-02-08").stdout
    assert "休息日（春节）" in text and "估算" in text
    bad = gis_cli("calendar", "2027-02-30", check=False)
    assert bad.returncode == 2 and "无法识别“2027-02-30”" in bad.stderr


def test_official_schedule_is_the_published_notice() -> None:
    s2026 = official_schedule(2026)
    assert s2026 is not None and s2026.source == "official"
    assert s2026.holidays == NOTICE_2026_HOLIDAYS and s2026.workdays == NOTICE_2026_WORKDAYS
    assert WorkCalendar.china_2026() == WorkCalendar(NOTICE_2026_HOLIDAYS, NOTICE_2026_WORKDAYS)
    # the old hard-coded calendar and the combined one agree on every day of 2026
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    assert [DEFAULT_CALENDAR.is_working_day(d) for d in days] == [WorkCalendar.china_2026().is_working_day(d)
                                                                  for d in days]
    assert {DEFAULT_CALENDAR.source(d) for d in days} == {"official"}
    assert sum(DEFAULT_CALENDAR.is_working_day(d) for d in days) == 248  # 261 weekdays − 19 of them off + 6 weekend days worked
    assert official_schedule(2027) is None


def test_estimated_year_counts_weekends_and_statutory_holidays_only() -> None:
    cal = ChinaCalendar()
    days = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
    assert {cal.source(d) for d in days} == {"estimated"}
    # 2027 has 261 weekdays; statutory holidays on weekdays: 01-01, 02-05 (除夕), 02-08, 04-05,
    # 06-09, 09-15, 10-01
    assert sum(cal.is_working_day(d) for d in days) == 261 - 7
    assert not cal.is_working_day(date(2027, 6, 9)) and cal.is_working_day(date(2027, 2, 9))
    assert cal.is_working_day(date(2027, 5, 3))  # no 调休 in an estimate
    # across the border: Thursday 2026-12-31 09:00 + 1 working day → Monday 2027-01-04 09:00
    assert cal.add_working_days(bj(2026, 12, 31, 9), 1) == bj(2027, 1, 4, 9)
    assert cal.estimated_between(bj(2026, 12, 31, 9), bj(2027, 1, 4, 9))
    assert not cal.estimated_between(bj(2026, 12, 1), bj(2026, 12, 31, 23))


def test_local_file_gives_2027_its_schedule(calendar_file: Path) -> None:
    write(calendar_file, TEST_2027)
    cal = ChinaCalendar()
    assert cal.source(date(2027, 2, 8)) == "local" and not cal.is_working_day(date(2027, 2, 8))
    assert cal.is_working_day(date(2027, 2, 20)) and cal.source(date(2027, 2, 20)) == "local"  # Saturday, worked
    assert not cal.is_working_day(date(2027, 5, 3))
    assert cal.is_working_day(date(2027, 3, 1)) and cal.source(date(2027, 3, 1)) == "local"
    # the notice's December day off moves the official 2026 Thursday; the rest of 2026 stays official
    assert not cal.is_working_day(date(2026, 12, 31)) and cal.source(date(2026, 12, 31)) == "local"
    assert cal.is_working_day(date(2026, 12, 30)) and cal.source(date(2026, 12, 30)) == "official"
    assert cal.source(date(2028, 1, 3)) == "estimated"
    assert not cal.estimated_between(bj(2026, 12, 20), bj(2027, 12, 31))
    # the command line reads the same file
    out = json.loads(gis_cli("calendar", "2027-02-08", "--json").stdout)
    assert (out["working_day"], out["source"]) == (False, "local") and "测试用" in out["basis"]
    out = json.loads(gis_cli("calendar", "2026-12-31", "--json").stdout)
    assert (out["working_day"], out["source"]) == (False, "local")
    years = json.loads(gis_cli("calendar", "years", "--json").stdout)
    assert years["official"]["from"] == 2004 and years["official"]["to"] == 2026
    assert [(y["year"], y["used"]) for y in years["local"]] == [(2027, True)]


def test_calendar_add_writes_the_file_and_refuses_official_and_existing_years(tmp_path, calendar_file: Path) -> None:
    src = write(tmp_path / "notice-2027.json", TEST_2027)
    out = gis_cli("calendar", "add", str(src))
    assert "已将 2027 年的放假安排加入日历文件" in out.stdout and "calendar refresh" in out.stdout
    assert json.loads(calendar_file.read_text(encoding="utf-8"))["years"]["2027"] == TEST_2027["years"]["2027"]
    again = gis_cli("calendar", "add", str(src), check=False)
    assert again.returncode == 2 and "已有 2027 年" in again.stderr and "--replace" in again.stderr
    changed = json.loads(json.dumps(TEST_2027))
    changed["years"]["2027"]["workdays"] = ["2027-02-20"]
    gis_cli("calendar", "add", str(write(tmp_path / "fix.json", changed)), "--replace")
    assert load_local_calendar().years[2027].workdays == {date(2027, 2, 20)}
    official = {"years": {"2026": {**TEST_2027["years"]["2027"], "holidays": ["2026-01-01"], "workdays": []}}}
    refused = gis_cli("calendar", "add", str(write(tmp_path / "y2026.json", official)), check=False)
    assert refused.returncode == 2 and "2026 年已有官方安排" in refused.stderr


def test_a_local_year_the_official_data_covers_is_not_used(calendar_file: Path) -> None:
    wrong = {"years": {"2026": {"source": {"title": "旧的本地安排", "published": "2025-11-04"},
                                "holidays": ["2026-01-01..2026-01-03", "2026-03-02"], "workdays": []}}}
    write(calendar_file, wrong)
    local = load_local_calendar()
    assert local.active(2026) is None and local.years[2026].title == "旧的本地安排"
    (warning,) = local.warnings
    assert "2026 年安排未使用" in warning and "2026-01-04" in warning and "2026-03-02" in warning
    cal = ChinaCalendar()
    assert cal.is_working_day(date(2026, 3, 2)) and cal.source(date(2026, 3, 2)) == "official"
    assert "提示：日历文件中的 2026 年安排未使用" in gis_cli("calendar", "years").stdout


GOOD_YEAR = TEST_2027["years"]["2027"]


@pytest.mark.parametrize(("text", "message"), [
    ("{\"years\": {", "不是有效的 JSON（第 1 行"),
    ("[]", "应为一个 JSON 对象"),
    ({"yrs": {}}, "未知字段：yrs"),
    ({"years": {"27": GOOD_YEAR}}, "年份“27”无效"),
    ({"years": {"2027": {**GOOD_YEAR, "holidays": ["2027-02-30"]}}}, "2027 年的假日“2027-02-30”不是有效日期"),
    ({"years": {"2027": {**GOOD_YEAR, "holidays": ["2027/02/08"]}}}, "不是 YYYY-MM-DD 格式的日期"),
    ({"years": {"2027": {**GOOD_YEAR, "holidays": ["2028-01-01"]}}}, "“2028-01-01”不在 2027 年内"),
    ({"years": {"2027": {**GOOD_YEAR, "holidays": ["2027-02-12..2027-02-05"]}}}, "结束早于开始"),
    ({"years": {"2027": {**GOOD_YEAR, "holidays": ["2027-01-01..2027-03-01"]}}}, "超过 31 天"),
    ({"years": {"2027": {**GOOD_YEAR, "workdays": ["2027-02-06"]}}}, "既是假日又是调休上班日：2027-02-06"),
    ({"years": {"2027": {**GOOD_YEAR, "workdays": ["2027-02-17"]}}}, "2027-02-17 是星期三，不是周末"),
    ({"years": {"2027": {k: v for k, v in GOOD_YEAR.items() if k != "source"}}}, "2027 年缺少来源"),
    ({"years": {"2027": {**GOOD_YEAR, "source": {"title": "通知"}}}}, "缺少发布日期 published"),
    ({"years": {"2027": {**GOOD_YEAR, "holiday": []}}}, "未知字段：holiday"),
    ({"years": {"2027": {**GOOD_YEAR, "holidays": []}}}, "没有列出任何假日"),
])
def test_bad_local_files_give_chinese_messages(calendar_file: Path, text: object, message: str) -> None:
    write(calendar_file, text)
    with pytest.raises(ValidationError, match=message) as info:
        ChinaCalendar().is_working_day(date(2027, 2, 8))
    assert str(calendar_file) in str(info.value)


def test_a_broken_calendar_file_stops_the_cli_with_one_chinese_line(tmp_path, calendar_file: Path) -> None:
    write(calendar_file, {"years": {"2027": {**GOOD_YEAR, "workdays": ["2027-02-06", "2027-02-17"]}}})
    out = gis_cli("calendar", "2027-03-01", check=False)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith(f"错误：日历文件 {calendar_file} 有误：")
    assert "既是假日又是调休上班日" in out.stderr and "不是周末" in out.stderr
    bad_src = write(tmp_path / "bad.json", {"years": {"2027": {**GOOD_YEAR, "holidays": ["2027-13-01"]}}})
    with pytest.raises(ValidationError, match="2027-13-01"):
        add_local_years(bad_src, tmp_path / "other.json")
    assert not (tmp_path / "other.json").exists()
    assert parse_local_calendar(TEST_2027)[2027].published == date(2026, 11, 12)


# --- deadlines counted on estimated years --------------------------------------------------------


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def act(store: Store, username: str):  # type: ignore[no-untyped-def]
    with store.session() as s:
        return actor_for(s, username)


def report(store: Store, at: datetime, **kw) -> int:  # type: ignore[no-untyped-def]
    with store.session(act(store, "patroller")) as s:
        return report_incident(s, lon=DONGXING_POINT[0], lat=DONGXING_POINT[1], category="ecology",
                               description="岸边堆放生活垃圾", reported_at=at, **kw).id


def test_a_deadline_reaching_into_an_estimated_year_is_labelled(demo: Store) -> None:
    sunday = bj(2026, 12, 20, 10, 0)
    late = report(demo, sunday)  # 10 working days: 12-21..25, 12-28..31, then 2027 (estimated)
    early = report(demo, bj(2026, 11, 20, 15, 0))
    urgent = report(demo, sunday, severity="urgent")  # hours: no working day counted
    with demo.session() as s:
        inc = s.get(Incident, late)
        assert inc.deadline_estimated
        assert inc.accept_due_at == bj(2026, 12, 21, 23, 59, 59)
        assert inc.close_due_at == bj(2027, 1, 4, 23, 59, 59)  # 2027-01-01 元旦 (estimated) off
        assert not s.get(Incident, early).deadline_estimated and not s.get(Incident, urgent).deadline_estimated
        d = deadline_status(inc, now=bj(2026, 12, 20, 12))
        assert d.estimated and d.label == "即将到期（受理期限 2026-12-21 23:59）（估算）"
        data = incident_dict(inc, now=bj(2026, 12, 20, 12))
        assert data["deadline_estimated"] and data["deadline"]["estimated"] and "（估算）" in data["deadline"]["label"]
        assert "估算" not in incident_dict(s.get(Incident, early), now=bj(2026, 11, 20, 16))["deadline"]["label"]
    with demo.session(act(demo, "admin")) as s:
        move(s, late, "accept", at=bj(2026, 12, 21, 9))
    with demo.session() as s:
        inc = s.get(Incident, late)
        d = deadline_status(inc, now=bj(2027, 1, 5, 9))
        assert d.overdue and d.label == "已超期（办结期限 2027-01-04 23:59）（估算）"
        rows = {r["code"]: r for r in incident_rows([inc, s.get(Incident, early)], now=bj(2026, 12, 22))}
        assert rows[inc.code]["deadline"] == "办结期限 2027-01-04 23:59（估算）"  # the incident list
        assert "估算" not in rows[s.get(Incident, early).code]["deadline"]
        card = load_incident_card(s, late, now=bj(2026, 12, 22))
        assert card.deadline_estimated
        assert (card.accept_due_text, card.close_due_text) == ("2026-12-21 23:59（估算）", "2027-01-04 23:59（估算）")
        assert load_incident_card(s, early).close_due_text == "2026-12-04 15:00"


def _archive(store: Store, incident_id: int) -> None:
    with store.session(act(store, "admin")) as s:
        grid = s.scalar(select(Grid.id).where(Grid.name == "森工街道东兴村"))
        for step, kw in (("accept", {}), ("assign", {"to_grid_id": grid}), ("start", {}),
                         ("resolve", {"note": "已清理"}), ("submit_review", {})):
            move(s, incident_id, step, at=bj(2026, 12, 22, 9), **kw)
    with store.session(act(store, "county")) as s:  # approved by someone else than who resolved it
        move(s, incident_id, "archive", at=bj(2026, 12, 22, 9))


def test_refresh_recomputes_open_estimated_deadlines_when_the_schedule_arrives(demo: Store,
                                                                               calendar_file: Path) -> None:
    sunday = bj(2026, 12, 20, 10, 0)
    open_id, closed_id = report(demo, sunday), report(demo, sunday)
    _archive(demo, closed_id)
    with demo.session() as s:
        before = {i: (s.get(Incident, i).close_due_at, s.get(Incident, i).version) for i in (open_id, closed_id)}
        audit_max = max(s.scalars(select(AuditEntry.id)).all())
    # nothing known yet: nothing to change
    assert json.loads(gis_cli("calendar", "refresh", "--json", "--database-url", demo.url).stdout)["changed"] == 0

    write(calendar_file, TEST_2027)  # the 2027 notice arrives: 2026-12-31 is off
    denied = gis_cli("calendar", "refresh", "--as", "patroller", "--database-url", demo.url, check=False)
    assert denied.returncode == 2 and "处置事件" in denied.stderr
    out = json.loads(gis_cli("calendar", "refresh", "--json", "--as", "staff", "--database-url", demo.url).stdout)
    assert out["changed"] == 1
    (change,) = out["changes"]
    assert change["id"] == open_id
    assert change["before"]["close_due_at"] == "2027-01-04T23:59:59+08:00" and change["before"]["estimated"]
    assert change["after"]["close_due_at"] == "2027-01-05T23:59:59+08:00" and not change["after"]["estimated"]
    with demo.session() as s:
        inc = s.get(Incident, open_id)
        assert inc.close_due_at == bj(2027, 1, 5, 23, 59, 59) and not inc.deadline_estimated
        assert "估算" not in deadline_status(inc, now=bj(2026, 12, 20, 12)).label
        closed = s.get(Incident, closed_id)
        assert (closed.close_due_at, closed.version) == before[closed_id] and closed.deadline_estimated
        entries = s.scalars(select(AuditEntry).where(AuditEntry.id > audit_max)).all()
        assert [(e.table_name, e.row_id, e.username, e.action) for e in entries] == [
            ("incidents", open_id, "staff", "update")]
        (entry,) = entries
        assert datetime.fromisoformat(entry.before["close_due_at"]) == bj(2027, 1, 4, 23, 59, 59)
        assert datetime.fromisoformat(entry.after["close_due_at"]) == bj(2027, 1, 5, 23, 59, 59)
        assert (entry.before["deadline_estimated"], entry.after["deadline_estimated"]) == (True, False)
    text = gis_cli("calendar", "refresh", "--database-url", demo.url).stdout
    assert "无需更改" in text  # twice: nothing more

    # the local file is corrected (New Year from 2027-01-01): the case follows, the archived one does not
    fixed = json.loads(json.dumps(TEST_2027))
    fixed["years"]["2027"]["holidays"]["元旦"] = "2027-01-01..2027-01-03"
    write(calendar_file, fixed)
    with demo.session(act(demo, "admin")) as s:
        (change,) = recompute_open_deadlines(s)
        assert change.incident_id == open_id and change.after.close_due_at == bj(2027, 1, 4, 23, 59, 59)
        assert "办结期限 2027-01-05 23:59 → 2027-01-04 23:59" in change.text()
    with demo.session() as s:
        assert s.get(Incident, closed_id).close_due_at == before[closed_id][0]


def test_refresh_needs_incident_handle_and_leaves_demo_deadlines_alone(demo: Store, calendar_file: Path) -> None:
    with pytest.raises(PermissionDenied), demo.session(act(demo, "patroller")) as s:
        recompute_open_deadlines(s)
    write(calendar_file, TEST_2027)
    with demo.session() as s:
        dues = {i.id: (i.accept_due_at, i.close_due_at) for i in s.scalars(select(Incident))}
    with demo.session(act(demo, "admin")) as s:
        assert recompute_open_deadlines(s) == []
    with demo.session() as s:
        assert {i.id: (i.accept_due_at, i.close_due_at) for i in s.scalars(select(Incident))} == dues
    # the policy itself: the 2026-12-31 day off moves a deadline counted over it
    assert DEFAULT_POLICY.compute("ecology", "normal", bj(2026, 12, 30, 9)).accept_due_at == bj(2027, 1, 4, 9)
