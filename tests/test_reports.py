"""信息报送 (issue 18, part 5): a grid's monthly/quarterly/yearly report.

The workbook written by a real ``gis report build`` process is read back and its figures are
checked against what ``gis patrol-report``, ``gis assess`` and ``gis incident list`` print as JSON
for the same grid and period (the grid's subtree and post holders are read from the database
here, by plain queries). Submission locks, a second edition needs a reason, the lower grids'
status 已报送/未报送/逾期 follows a pinned clock and the deadline (the 5th working day, counted on
the 2026 State Council schedule by hand), and the PDF carries the Chinese heading as text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from gis.accounts.users import actor_for
from gis.config import PROJECT_DIR
from gis.errors import PermissionDenied, ValidationError
from gis.reports.editions import build_report, edition_dict, edition_file, lower_status, submit_report
from gis.reports.periods import due_at, latest_ended, report_period
from gis.reports.upstream import idempotency_key, multipart_parts, upstream_payload
from gis.store import Store
from gis.store.schema import AuditEntry, Grid, GridRoleAssignment, Person, ReportEdition

TOWNSHIP, DONGXING, SENGONG = "临江市森工街道办事处", "森工街道东兴村", "森工街道森工社区"


def run(*args: str, url: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gis", *args, "--database-url", url],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def cli_json(*args: str, url: str) -> Any:
    return json.loads(run(*args, "--json", url=url).stdout)


@pytest.fixture
def demo_url(demo_store: Store, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path / "data"))  # the blob store of the submitted files
    demo_store.dispose()
    return store_url


def grid_ids(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {name: gid for gid, name in s.execute(select(Grid.id, Grid.name))}


def subtree(store: Store, root: int) -> set[int]:
    with store.session() as s:
        links = s.execute(select(Grid.id, Grid.parent_id)).all()
    out, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for gid, pid in links:
            if pid == parent and gid not in out:
                out.add(gid)
                frontier.append(gid)
    return out


def post_holders(store: Store, grids: set[int]) -> set[str]:
    with store.session() as s:
        return set(
            s.scalars(
                select(Person.name)
                .join(GridRoleAssignment, GridRoleAssignment.person_id == Person.id)
                .where(GridRoleAssignment.grid_id.in_(grids))
            )
        )


def sheets(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def records(rows: list[tuple]) -> list[dict[str, Any]]:
    head = rows[0]
    return [dict(zip(head, r)) for r in rows[1:]]


# ---------------------------------------------------------------------------------------------
# The must-show: the monthly workbook of grid 2 equals the commands' figures
# ---------------------------------------------------------------------------------------------


@pytest.mark.serial
def test_monthly_workbook_of_grid_2_has_the_figures_of_patrol_report_assess_and_incident_list(
    demo_url: str, demo_store: Store, tmp_path: Path
) -> None:
    ids = grid_ids(demo_store)
    assert ids[TOWNSHIP] == 2
    out = tmp_path / "月报.xlsx"
    built = cli_json("report", "build", "--grid", "2", "--period", "2026-11", "-o", str(out), url=demo_url)
    assert out.is_file() and built["file"] == str(out)
    as_of = built["figures"]["as_of"]  # the moment its deadlines were judged: the commands are asked at it too

    patrol = cli_json("patrol-report", "--period", "2026-11", url=demo_url)
    assessment = cli_json("assess", "--period", "2026-11", "--grid", "2", "--now", as_of, url=demo_url)
    assessed = assessment["grids"][0]
    cases = cli_json("incident", "list", "--now", as_of, url=demo_url)
    overdue = cli_json("incident", "list", "--overdue", "--now", as_of, url=demo_url)

    area = subtree(demo_store, 2)
    assert area == {2, ids[DONGXING], ids[SENGONG]}
    names = {gid: name for name, gid in ids.items()}
    holders = post_holders(demo_store, area)
    wb = sheets(out)
    summary = {k: v for k, v in wb["概况"][1:]}

    # patrols: the grid rows, the persons, the tracks started in November
    grid_rows = {r["网格"]: r for r in records(wb["网格巡河"])}
    assert set(grid_rows) == {names[g] for g in area}
    for row in patrol["grids"]:
        if row["grid_id"] in area:
            got = grid_rows[row["grid"]]
            assert (got["应巡次数"], got["达标次数"], got["上传轨迹"], got["有效巡查"]) == (
                row["required"], row["done"], row["patrols"], row["counted"]
            )
            assert got["完成率"] == pytest.approx(row["rate"])
    own = next(r for r in patrol["grids"] if r["grid_id"] == 2)
    assert (summary["本网格应巡次数"], summary["本网格达标次数"]) == (own["required"], own["done"])
    person_rows = {r["人员"]: r for r in records(wb["人员巡河"])}
    expected_persons = {r["person"]: r for r in patrol["persons"] if r["person"] in holders}
    assert set(person_rows) == set(expected_persons) and len(person_rows) >= 8
    for name, row in expected_persons.items():
        got = person_rows[name]
        assert (got["应巡次数"], got["达标次数"], got["上传轨迹"], got["有效巡查"]) == (
            row["required"], row["done"], row["patrols"], row["counted"]
        )
        assert got["完成率"] == pytest.approx(row["rate"])
    area_names = {names[g] for g in area}
    tracks = [
        t for t in patrol["tracks"]
        if t["start_local"].startswith("2026-11") and (t["grid"] in area_names or t["person"] in holders)
    ]  # fmt: skip
    track_rows = records(wb["巡河轨迹"])
    assert sorted(r["轨迹编号"] for r in track_rows) == sorted(t["track_id"] for t in tracks)
    assert len(tracks) >= 2
    assert summary["巡河轨迹（条）"] == len(tracks)
    assert summary["有效巡河（条）"] == sum(t["counted"] for t in tracks)
    assert summary["轨迹总长（公里）"] == pytest.approx(sum(t["length_m"] for t in tracks) / 1000, abs=1e-3)
    by_id = {t["track_id"]: t for t in tracks}
    for r in track_rows:
        assert r["轨迹长度（米）"] == pytest.approx(by_id[r["轨迹编号"]]["length_m"])
        assert (r["是否有效"] == "有效") == by_id[r["轨迹编号"]]["counted"]

    # cases: reported, closed and overdue in the grid and below, and by category
    mine = [c for c in cases if c["grid"] and c["grid"]["id"] in area]
    reported = [c for c in mine if c["reported_at"].startswith("2026-11")]
    closed = [c for c in mine if (c["closed_at"] or "").startswith("2026-11")]
    late = [c for c in overdue if c["grid"] and c["grid"]["id"] in area]
    assert reported and late
    assert (summary["本期上报事件（件）"], summary["本期办结事件（件）"], summary["超期事件（件）"]) == (
        len(reported), len(closed), len(late)
    )
    by_cat = {r["类别"]: r for r in records(wb["事件分类"])}
    assert by_cat.pop("合计")["本期上报"] == len(reported)
    labels = {c["category_label"] for c in reported + closed + late}
    assert set(by_cat) == labels
    for label, row in by_cat.items():
        assert row["本期上报"] == sum(c["category_label"] == label for c in reported)
        assert row["本期办结"] == sum(c["category_label"] == label for c in closed)
        assert row["超期"] == sum(c["category_label"] == label for c in late)
    listed = records(wb["事件清单"])
    assert sorted(r["事件编号"] for r in listed if r["清单"] == "本期上报") == sorted(c["code"] for c in reported)

    # coverage (盲区检查 through the assessment) and the assessment itself
    ind = assessed["indicators"]
    assert summary["网格覆盖率"] == pytest.approx(ind["coverage_rate"])
    assert summary["盲区/重复覆盖（处）"] == ind["coverage_count"]
    assert summary["网格内河道长度（公里）"] == pytest.approx(ind["river_length_m"] / 1000, abs=1e-3)
    notes = [r["说明"] for r in records(wb["覆盖与盲区"]) if r["项目"] == "盲区/重复覆盖"]
    assert notes == ind["coverage_findings"] and notes
    assert summary["考核得分（百分制）"] == pytest.approx(assessed["score"])
    assert summary["同级排名"] == f"{assessed['rank']}/{assessed['siblings']}"
    items = {r["考核项"]: r["得分"] for r in records(wb["考核评分"])}
    assert items["合计"] == pytest.approx(assessed["total"])
    for code, points in assessed["scores"].items():
        label = next(i["label"] for i in assessment["rubric_items"] if i["code"] == code)
        assert items[label] == (None if points is None else pytest.approx(points))


# ---------------------------------------------------------------------------------------------
# Submitting: locked editions, a reason for the next one, audited, the files kept
# ---------------------------------------------------------------------------------------------


def test_submit_locks_and_a_second_edition_needs_a_reason(demo_url: str, demo_store: Store) -> None:
    ids = grid_ids(demo_store)
    dx = str(ids[DONGXING])
    first = cli_json("report", "submit", "--grid", dx, "--period", "2026-10", "--as", "dongxing", url=demo_url)
    assert (first["edition"], first["submitted_by"], first["change_reason"]) == (1, "dongxing", "")

    again = run("report", "submit", "--grid", dx, "--period", "2026-10", "--as", "dongxing", url=demo_url, check=False)
    assert again.returncode == 2 and "说明原因" in again.stderr
    second = cli_json(
        "report", "submit", "--grid", dx, "--period", "2026-10", "--as", "dongxing", "--reason", "补录 10 月 28 日巡河轨迹",
        url=demo_url,
    )  # fmt: skip
    assert (second["edition"], second["change_reason"]) == (2, "补录 10 月 28 日巡河轨迹")

    # another village's report, a leader, a period not over: refused
    other = run("report", "submit", "--grid", str(ids[SENGONG]), "--period", "2026-10", "--as", "dongxing",
                url=demo_url, check=False)  # fmt: skip
    assert other.returncode == 2 and "数据权限" in other.stderr
    leader = run("report", "submit", "--grid", "2", "--period", "2026-10", "--as", "leader", url=demo_url, check=False)
    assert leader.returncode == 2 and "无权" in leader.stderr
    early = run("report", "submit", "--grid", dx, "--period", "2026-11", "--as", "dongxing", url=demo_url, check=False)
    assert early.returncode == 2 and "尚未结束" in early.stderr

    with demo_store.session() as s:
        rows = s.scalars(select(ReportEdition).order_by(ReportEdition.edition)).all()
        assert [(r.grid_id, r.period, r.edition) for r in rows] == [(ids[DONGXING], "2026-10", 1), (ids[DONGXING], "2026-10", 2)]
        audited = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "report_editions")).all()
        assert sorted((a.action, a.username) for a in audited) == [("insert", "dongxing"), ("insert", "dongxing")]
        stored = rows[0]
        assert stored.figures["grid"]["name"] == DONGXING and stored.figures["period"]["label"] == "2026-10"
        blob = Path(os.environ["RIVERGRID_DATA_DIR"]) / "blobs" / stored.xlsx_sha256[:2] / stored.xlsx_sha256
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == stored.xlsx_sha256
        assert blob.stat().st_size == stored.xlsx_bytes
        first_id = stored.id

    admin = actor_for_store(demo_store, "admin")
    with pytest.raises(ValidationError, match="锁定"), demo_store.session(admin) as s:
        s.get(ReportEdition, first_id).change_reason = "改一改"
    with pytest.raises(ValidationError, match="锁定"), demo_store.session(admin) as s:
        s.delete(s.get(ReportEdition, first_id))
    with demo_store.session() as s:
        assert s.get(ReportEdition, first_id).change_reason == ""

    # the upper grid opens the submitted workbook; a sibling village may not
    staff = actor_for_store(demo_store, "staff")
    with demo_store.session(staff, write=False) as s:
        name, media, data = edition_file(s, first_id, "xlsx")
    assert name == f"{DONGXING}-2026-10-月报-第1版.xlsx" and media.endswith("sheet")
    assert hashlib.sha256(data).hexdigest() == stored.xlsx_sha256
    volunteer = actor_for_store(demo_store, "volunteer")  # bound to 森工社区
    with pytest.raises(PermissionDenied), demo_store.session(volunteer, write=False) as s:
        edition_file(s, first_id, "pdf")


def actor_for_store(store: Store, username: str) -> Any:
    with store.session() as s:
        return actor_for(s, username)


# ---------------------------------------------------------------------------------------------
# The upper grid's view: 已报送 / 未报送 / 逾期 with a pinned clock
# ---------------------------------------------------------------------------------------------


def local(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00").astimezone(UTC)


def test_lower_grids_status_follows_the_deadline(demo_url: str, demo_store: Store) -> None:
    ids = grid_ids(demo_store)
    dongxing, staff = actor_for_store(demo_store, "dongxing"), actor_for_store(demo_store, "staff")
    # October's deadline: 1 November is a Sunday; 2–6 November are the five working days → end of 6 November.
    with demo_store.session(staff, write=False) as s:
        before = lower_status(s, 2, "2026-10", now=local("2026-11-06T23:59"))
    assert before["due_at_local"] == "2026-11-06 24:00"
    assert {r["grid"]: r["status_label"] for r in before["lower"]} == {DONGXING: "未报送", SENGONG: "未报送"}
    assert before["own"]["status_label"] == "未报送"

    with demo_store.session(dongxing, write=False) as s:
        built = build_report(s, ids[DONGXING], "2026-10", now=local("2026-11-04T10:00"))
    with demo_store.session(dongxing) as s:
        submit_report(s, built, now=local("2026-11-04T10:00"))

    with demo_store.session(staff, write=False) as s:
        after = lower_status(s, 2, "2026-10", now=local("2026-11-07T00:01"))
    status = {r["grid"]: (r["status"], r["status_label"], r["late"]) for r in after["lower"]}
    assert status == {DONGXING: ("submitted", "已报送", False), SENGONG: ("overdue", "逾期", False)}

    # 森工社区 reports late: 已报送, marked late; the county sees the township's own status
    admin = actor_for_store(demo_store, "admin")
    with demo_store.session(admin, write=False) as s:
        late_built = build_report(s, ids[SENGONG], "2026-10", now=local("2026-11-20T09:00"))
    with demo_store.session(admin) as s:
        submit_report(s, late_built, now=local("2026-11-20T09:00"))
    with demo_store.session(staff, write=False) as s:
        final = lower_status(s, 2, "2026-10", now=local("2026-11-28T08:00"))
    assert {r["grid"]: r["status_label"] for r in final["lower"]} == {DONGXING: "已报送", SENGONG: "已报送（逾期报送）"}
    assert final["own"]["status"] == "overdue"

    # the same from the command line, with the suite's pinned clock (2026-11-28 08:00)
    listed = cli_json("report", "list", "--grid", "2", "--period", "2026-10", "--as", "staff", url=demo_url)
    assert {r["grid"]: r["status"] for r in listed["lower"]} == {DONGXING: "submitted", SENGONG: "submitted"}
    november = cli_json("report", "list", "--as", "staff", "--period", "2026-11", url=demo_url)
    assert {r["status_label"] for r in november["lower"]} == {"未报送"}
    assert november["due_at_local"] == "2026-12-07 24:00"
    refused = run("report", "list", "--grid", "2", "--as", "dongxing", url=demo_url, check=False)
    assert refused.returncode == 2 and "数据权限" in refused.stderr
    default = cli_json("report", "list", "--as", "dongxing", url=demo_url)  # its own grid, last month
    assert default["grid"]["id"] == ids[DONGXING] and default["period"]["label"] == "2026-10"
    assert default["own"]["status"] == "submitted" and default["lower"] == []


# ---------------------------------------------------------------------------------------------
# The PDF
# ---------------------------------------------------------------------------------------------


def test_pdf_opens_and_has_the_chinese_heading(demo_url: str, demo_store: Store, tmp_path: Path) -> None:
    ids = grid_ids(demo_store)
    out = tmp_path / "季报.pdf"
    run("report", "build", "--grid", str(ids[DONGXING]), "--period", "2026-Q4", "-o", str(out), url=demo_url)
    reader = PdfReader(out)
    # pypdf spells each character of a CID font with a NUL beside it (pdftotext does not): compare without them
    text = "".join("".join(page.extract_text().replace("\x00", "").split()) for page in reader.pages)
    assert f"{DONGXING}2026年第4季度河长制信息报送（季报）" in text
    for heading in ("概况", "人员巡河", "巡河轨迹", "事件分类", "覆盖与盲区", "考核评分"):
        assert heading in text
    assert "何兆花" in text
    wrong = run("report", "build", "--grid", "2", "--period", "2026-W45", "-o", str(tmp_path / "x.pdf"),
                url=demo_url, check=False)  # fmt: skip
    assert wrong.returncode == 2 and "报告期" in wrong.stderr


# ---------------------------------------------------------------------------------------------
# Pure parts: periods, deadlines, the upstream body
# ---------------------------------------------------------------------------------------------


def test_report_periods_and_deadlines() -> None:
    assert [report_period(p).kind for p in ("2026-11", "2026-Q4", "2026")] == ["month", "quarter", "year"]
    for bad in ("2026-W45", "2026-11-上旬", "2026-11-01..2026-11-15", "11月"):
        with pytest.raises(ValidationError):
            report_period(bad)
    # November: 1–4 and 7 December are working days → the end of Monday 7 December (16:00 UTC)
    assert due_at(report_period("2026-11")) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    # Q3: 国庆 1–7 October off; 8, 9, 10 (Saturday, 调休上班), 12, 13 October worked → end of 13 October
    assert due_at(report_period("2026-Q3")) == datetime(2026, 10, 13, 16, 0, tzinfo=UTC)
    assert due_at(report_period("2026-Q3"), 3) == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)
    today = datetime(2026, 11, 28).date()
    assert [latest_ended(k, today).label for k in ("month", "quarter", "year")] == ["2026-10", "2026-Q3", "2025"]
    assert latest_ended("month", datetime(2027, 1, 3).date()).label == "2026-12"


def test_the_deadline_is_a_setting(demo_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_REPORT_DUE_WORKDAYS", "3")
    with demo_store.session() as s:
        status = lower_status(s, 2, "2026-10", now=local("2026-11-05T09:00"))
    assert status["due_at_local"] == "2026-11-04 24:00"
    assert {r["status"] for r in status["lower"]} == {"overdue"}


def test_upstream_payload_carries_the_file_and_a_stable_key() -> None:
    data = b"PK\x03\x04 a workbook"
    sha = hashlib.sha256(data).hexdigest()
    edition = {
        "id": 7, "grid_id": 3, "period": "2026-10", "edition": 2, "change_reason": "补录", "submitted_by": "dongxing",
        "submitted_at": "2026-11-04T02:00:00+00:00", "xlsx": {"sha256": sha, "bytes": len(data)},
    }  # fmt: skip
    figures = {"grid": {"id": 3, "name": DONGXING}, "period": {"label": "2026-10", "kind": "month"}, "cases": {"reported": 1}}
    body, key = upstream_payload(edition, figures, data, file_name="东兴村-2026-10-月报-第2版.xlsx", source="https://hz.example")
    again, key2 = upstream_payload(dict(edition), dict(figures), data, file_name="东兴村-2026-10-月报-第2版.xlsx")
    assert key == key2 == body["idempotency_key"] == idempotency_key(3, "2026-10", 2, sha)
    assert key.startswith("rivergrid-report-") and len(key) == len("rivergrid-report-") + 64
    assert idempotency_key(3, "2026-10", 3, sha) != key and idempotency_key(4, "2026-10", 2, sha) != key
    assert base64.b64decode(body["file"]["content_base64"]) == data
    assert (body["file"]["sha256"], body["file"]["bytes"], body["edition"]) == (sha, len(data), 2)
    assert body["figures"]["cases"]["reported"] == 1 and body["grid"]["name"] == DONGXING
    json.dumps(body)  # JSON as it is
    with pytest.raises(ValidationError):
        upstream_payload(edition, figures, data + b"x", file_name="x.xlsx")
    parts = multipart_parts(body, data)
    assert [p[0] for p in parts] == ["report", "file"] and parts[1][3] == data
    assert "content_base64" not in json.loads(parts[0][3])["file"]


def test_edition_dict_and_payload_of_a_stored_edition(demo_store: Store, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path))
    from gis.reports.editions import edition_payload

    admin = actor_for_store(demo_store, "admin")
    with demo_store.session(admin, write=False) as s:
        built = build_report(s, 2, "2026-Q3")
    with demo_store.session(admin) as s:
        ed = submit_report(s, built)
        eid, info = ed.id, edition_dict(ed)
    with demo_store.session(admin, write=False) as s:
        body, key = edition_payload(s, eid, "pdf")
    assert base64.b64decode(body["file"]["content_base64"]).startswith(b"%PDF")
    assert body["file"]["sha256"] == info["pdf"]["sha256"]
    assert key == idempotency_key(2, "2026-Q3", 1, info["pdf"]["sha256"])
    assert body["period"]["kind_label"] == "季报" and body["grid"]["name"] == TOWNSHIP


def test_due_reports_lists_what_a_grid_still_owes(demo_store: Store) -> None:
    from gis.reports.editions import due_reports

    ids = grid_ids(demo_store)
    with demo_store.session() as s:
        owed = due_reports(s, ids[DONGXING], now=local("2026-11-28T08:00"))
    # October (due 6 November: overdue), Q3 (due 13 October: overdue), 2025 (due in January 2026: overdue)
    assert [(d["period"]["label"], d["status"]) for d in owed] == [
        ("2025", "overdue"), ("2026-Q3", "overdue"), ("2026-10", "overdue")
    ]
    admin = actor_for_store(demo_store, "admin")
    with demo_store.session(admin, write=False) as s:
        built = build_report(s, ids[DONGXING], "2026-10", now=local("2026-11-28T08:00"))
    with demo_store.session(admin) as s:
        submit_report(s, built, now=local("2026-11-28T08:00"))
    with demo_store.session() as s:
        owed = due_reports(s, ids[DONGXING], now=local("2026-12-01T09:00"), kinds=("month",))
    assert [(d["period"]["label"], d["status"], d["due_at_local"]) for d in owed] == [
        ("2026-11", "missing", "2026-12-07 24:00")
    ]


@pytest.mark.serial  # several CLI processes submitting at once
def test_simultaneous_submissions_lose_nothing_and_the_losers_are_told_in_chinese(demo_url: str, demo_store: Store) -> None:
    """Four processes submit 东兴村's October report at the same moment, each with a reason: the
    stored editions are numbered 1…k without a gap, one per process that succeeded, and every other
    process exits 2 with a Chinese message (already submitted, or a simultaneous save)."""
    dx = str(grid_ids(demo_store)[DONGXING])
    args = [sys.executable, "-m", "gis", "report", "submit", "--grid", dx, "--period", "2026-10", "--as", "dongxing",
            "--json", "--database-url", demo_url]
    procs = [subprocess.Popen([*args, "--reason", f"第 {i} 个进程"], cwd=PROJECT_DIR, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    outcomes = [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]
    won = [json.loads(out) for code, out, _ in outcomes if code == 0]
    lost = [err for code, _, err in outcomes if code != 0]
    assert won and all(code in (0, 2) for code, _, _ in outcomes), outcomes
    assert all(re.search(r"[\u4e00-\u9fff]", err.splitlines()[0]) for err in lost), lost
    listed = cli_json("report", "list", "--grid", dx, "--period", "2026-10", "--as", "dongxing", url=demo_url)
    assert sorted(w["edition"] for w in won) == list(range(1, len(won) + 1))
    assert listed["own"]["latest"]["edition"] == len(won)
