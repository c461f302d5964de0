"""台账 (issue 17): meetings and the document shelf from the command line, and the yearly ledger
workbook ``gis ledger export`` whose sheets hold as many rows as the database has records —
counted here by queries written independently of gis.ledger."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import shapely
from openpyxl import load_workbook
from sqlalchemy import func, select

from gis.auth import SYSTEM
from gis.config import PROJECT_DIR
from gis.store import Store
from gis.store.schema import Grid, Incident, Meeting, PatrolTrack, Person, SupervisedObject

DONGXING = "森工街道东兴村"
SENGONG = "森工街道森工社区"
TOWNSHIP = "临江市森工街道办事处"
SHEETS = ["巡河", "事件", "会议", "考核", "对象"]
# 2026 in Beijing time, in UTC: [2025-12-31 16:00, 2026-12-31 16:00)
YEAR_START = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
YEAR_END = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def run(*args: str, url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gis", *args, "--database-url", url],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def demo_url(demo_store: Store, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path / "data"))  # the files' blob store
    demo_store.dispose()
    return store_url


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == name))


def below(store: Store, root: int) -> set[int]:
    """The grid and every grid under it, walking parent links naively."""
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


def sheet_rows(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def add_edge_records(store: Store) -> None:
    """Records on both sides of the year's edges in Beijing time, and in both village grids."""
    with store.session(SYSTEM) as s:
        dx = s.scalar(select(Grid).where(Grid.name == DONGXING))
        sg = s.scalar(select(Grid).where(Grid.name == SENGONG))
        he = s.scalar(select(Person).where(Person.name == "何兆花"))
        point = shapely.Point(126.93, 41.80)
        for code, at, grid in (
            ("T-LEDGER-1", datetime(2025, 12, 31, 12, 0, tzinfo=UTC), dx),  # 2025-12-31 20:00 Beijing: 2025
            ("T-LEDGER-2", datetime(2025, 12, 31, 16, 30, tzinfo=UTC), dx),  # 2026-01-01 00:30 Beijing: 2026
            ("T-LEDGER-3", datetime(2026, 12, 31, 15, 59, tzinfo=UTC), sg),  # 2026-12-31 23:59 Beijing: 2026
        ):
            s.add(Incident(code=code, title=code, category="ecology", reported_at=at, grid=grid, geom=point,
                           reporter="某村民", reporter_contact="13712345678"))
        line = shapely.LineString([(126.93, 41.80), (126.935, 41.801)])
        s.add(PatrolTrack(name="跨年巡河", person=he, grid=dx, started_at=datetime(2025, 12, 31, 16, 5, tzinfo=UTC),
                          ended_at=datetime(2025, 12, 31, 17, 0, tzinfo=UTC), geom=line,
                          times=["2025-12-31T16:05:00+00:00", "2025-12-31T17:00:00+00:00"]))
        s.add(PatrolTrack(name="年前巡河", person=he, grid=dx, started_at=datetime(2025, 12, 31, 15, 55, tzinfo=UTC),
                          ended_at=datetime(2025, 12, 31, 16, 30, tzinfo=UTC), geom=line,
                          times=["2025-12-31T15:55:00+00:00", "2025-12-31T16:30:00+00:00"]))
        s.add(Meeting(grid=dx, held_on=date(2026, 1, 1), title="元旦巡河部署", attendee_ids=[he.id]))
        s.add(Meeting(grid=dx, held_on=date(2025, 12, 31), title="去年的会", attendee_ids=[]))
        s.add(Meeting(grid=sg, held_on=date(2026, 6, 1), title="森工社区的会", attendee_ids=[]))
        s.add(SupervisedObject(name="测试排污口", category="discharge_enterprise", grid=sg, geom=point))


def expected_counts(store: Store, root: int, year_grids: set[int]) -> dict[str, int]:
    with store.session() as s:
        tracks = s.scalar(select(func.count()).select_from(PatrolTrack).where(
            PatrolTrack.grid_id.in_(year_grids), PatrolTrack.started_at >= YEAR_START, PatrolTrack.started_at < YEAR_END))
        cases = s.scalar(select(func.count()).select_from(Incident).where(
            Incident.grid_id.in_(year_grids), Incident.reported_at >= YEAR_START, Incident.reported_at < YEAR_END))
        meetings = s.scalar(select(func.count()).select_from(Meeting).where(
            Meeting.grid_id.in_(year_grids), Meeting.held_on >= date(2026, 1, 1), Meeting.held_on <= date(2026, 12, 31)))
        live = s.scalar(select(func.count()).select_from(Grid).where(Grid.id.in_(year_grids), Grid.deleted_at.is_(None)))
        objects = s.scalar(select(func.count()).select_from(SupervisedObject).where(
            SupervisedObject.grid_id.in_(year_grids)))
    return {"巡河": tracks, "事件": cases, "会议": meetings, "考核": live, "对象": objects}


def test_ledger_export_of_grid_2_has_five_sheets_with_the_database_counts(demo_url: str, tmp_path: Path) -> None:
    """The must-show: ``gis ledger export --grid 2 --year 2026 -o 台账.xlsx``."""
    store = Store(demo_url, migrate=False)
    add_edge_records(store)
    with store.session() as s:
        assert s.get(Grid, 2) is not None and s.get(Grid, 2).name == TOWNSHIP
    grids = below(store, 2)
    expected = expected_counts(store, 2, grids)
    store.dispose()
    out = tmp_path / "台账.xlsx"
    done = run("ledger", "export", "--grid", "2", "--year", "2026", "-o", str(out), "--json", url=demo_url)
    rows = sheet_rows(out)
    assert list(rows) == SHEETS
    got = {name: len(r) - 1 for name, r in rows.items()}  # row 1: the headers
    assert got == expected
    assert json.loads(done.stdout)["counts"] == expected
    # the demo has records in every sheet, and the township's ledger holds both villages
    assert all(v > 0 for v in expected.values()), expected
    assert rows["事件"][0][:3] == ("序号", "事件编号", "标题")
    codes = {r[1] for r in rows["事件"][1:]}
    assert {"T-LEDGER-2", "T-LEDGER-3"} <= codes and "T-LEDGER-1" not in codes
    assert "元旦巡河部署" in {r[2] for r in rows["会议"][1:]} and "去年的会" not in {r[2] for r in rows["会议"][1:]}
    assert [r[2] for r in rows["巡河"][1:]].count("跨年巡河") == 1 and "年前巡河" not in {r[2] for r in rows["巡河"][1:]}
    cells = " ".join(str(c) for r in rows.values() for row in r for c in row if c is not None)
    assert "13712345678" not in cells  # the reporter's contact never goes into the ledger


def test_a_village_ledger_leaves_the_other_village_out(demo_url: str, tmp_path: Path) -> None:
    store = Store(demo_url, migrate=False)
    add_edge_records(store)
    dx = grid_id(store, DONGXING)
    expected = expected_counts(store, dx, below(store, dx))
    store.dispose()
    out = tmp_path / "东兴村台账.xlsx"
    run("ledger", "export", "--grid", str(dx), "--year", "2026", "-o", str(out), url=demo_url)
    rows = sheet_rows(out)
    assert {name: len(r) - 1 for name, r in rows.items()} == expected
    assert expected["考核"] == 1
    assert "森工社区的会" not in {r[2] for r in rows["会议"][1:]}
    assert "测试排污口" not in {r[2] for r in rows["对象"][1:]}
    assert "T-LEDGER-3" not in {r[1] for r in rows["事件"][1:]}


def test_ledger_export_follows_the_data_scope(demo_url: str, tmp_path: Path) -> None:
    """The 东兴村 account cannot export the township's ledger."""
    proc = run("ledger", "export", "--grid", "2", "--year", "2026", "-o", str(tmp_path / "x.xlsx"),
               "--as", "dongxing", url=demo_url, check=False)
    assert proc.returncode == 2
    assert "数据权限" in proc.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_meetings_and_documents_from_the_command_line(demo_url: str, tmp_path: Path) -> None:
    store = Store(demo_url, migrate=False)
    with store.session() as s:
        ids = {p.name: p.id for p in s.scalars(select(Person).where(Person.name.in_(["何兆花", "张力文"])))}
    dx = grid_id(store, DONGXING)
    store.dispose()
    minutes = tmp_path / "纪要.txt"
    minutes.write_text("一、通报东兴沟整改情况。\n二、安排冬季巡河。", encoding="utf-8")
    scan = tmp_path / "签到表.pdf"
    scan.write_bytes(b"%PDF-1.4 sign-in sheet " + bytes(range(256)))
    added = json.loads(run(
        "meeting", "add", "--date", "2026-11-20", "--title", "东兴村冬季巡河部署会", "--grid", str(dx),
        "--attendee", str(ids["何兆花"]), "--attendee", str(ids["张力文"]), "--minutes-file", str(minutes),
        "--file", str(scan), "--as", "staff", "--json", url=demo_url).stdout)
    listed = json.loads(run("meeting", "list", "--grid", str(dx), "--year", "2026", "--json", url=demo_url).stdout)
    mine = next(m for m in listed if m["id"] == added["id"])
    assert mine["attendees"] == ["何兆花", "张力文"]
    assert mine["minutes"].startswith("一、通报东兴沟")
    (f,) = mine["files"]
    assert f["name"] == "签到表.pdf" and f["size_bytes"] == scan.stat().st_size
    blob = tmp_path / "data" / "blobs" / f["sha256"][:2] / f["sha256"]
    assert blob.read_bytes() == scan.read_bytes() and hashlib.sha256(blob.read_bytes()).hexdigest() == f["sha256"]
    # 2025's list and another grid's list do not hold it
    assert all(m["id"] != added["id"] for m in json.loads(
        run("meeting", "list", "--year", "2025", "--json", url=demo_url).stdout))
    assert all(m["id"] != added["id"] for m in json.loads(
        run("meeting", "list", "--grid", str(grid_id(Store(demo_url, migrate=False), SENGONG)), "--json",
            url=demo_url).stdout))

    doc = json.loads(run("doc", "add", "--kind", "规章制度", "--title", "东兴村河道保洁制度", "--date", "2026-05-01",
                         "--grid", str(dx), "--file", str(scan), "--as", "staff", "--json", url=demo_url).stdout)
    docs = json.loads(run("doc", "list", "--year", "2026", "--json", url=demo_url).stdout)
    mine = next(d for d in docs if d["id"] == doc["id"])
    assert (mine["kind"], mine["kind_label"], mine["issued_on"]) == ("rule", "规章制度", "2026-05-01")
    assert [x["name"] for x in mine["files"]] == ["签到表.pdf"]


def test_meeting_refusals(demo_url: str) -> None:
    """A leader reads but does not write; unknown attendees and future dates are refused; nothing is stored."""
    store = Store(demo_url, migrate=False)
    with store.session() as s:
        before = s.scalar(select(func.count()).select_from(Meeting))
    store.dispose()
    for args, message in (
        (("--as", "leader"), "无权"),
        (("--attendee", "99999"), "99999"),
        (("--date", "2099-01-01"), "晚于今天"),
    ):
        base = ["meeting", "add", "--date", "2026-11-01", "--title", "会", *args]
        proc = run(*base, url=demo_url, check=False)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr
    store = Store(demo_url, migrate=False)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == before
    store.dispose()
