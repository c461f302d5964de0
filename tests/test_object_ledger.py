"""The object ledger (issue 17, item 3): the 五定 of each supervised object, visits counted from
patrol tracks within 50 m and from inspection records (page service and phone API), every demo
object in ``patrol-report`` with its responsible person, interval, last visit and overdue flag,
and the 纵向到底 finding of an object without a responsible person. SQLite and PostGIS.

Oracles: the vectorised track/object proximity (STRtree, one projected CRS) against a plain loop
over every (object, track) pair with shapely's scalar ``distance``/``project`` in EPSG:4551, the
time interpolated vertex by vertex; the overdue flag against dates computed by hand."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import requests
import shapely
from shapely.geometry import LineString, Point
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from test_app import APP, sign_in

from gis import clock
from gis.auth import SYSTEM, Actor
from gis.checks.vertical import check_vertical
from gis.errors import PermissionDenied, ValidationError
from gis.incidents.attachments import AttachmentStore
from gis.model import LOCAL_TZ, Category, UserRole
from gis.patrol.object_ledger import inspections_of, object_ledger, record_inspection, set_object_duties
from gis.patrol.objects import check_interval_days, track_visits
from gis.patrol.service import patrol_report
from gis.store import Store
from gis.store.schema import FieldSubmission, ObjectInspection, PatrolTrack, Person, SupervisedObject

STAFF = Actor("staff", UserRole.STAFF, "高雪（工作人员）")
LEADER = Actor("leader", UserRole.LEADER, "孙凤海（领导）")
NO_RESPONSIBLE = "沿江加油站（示意）"
OUTFALL = "森工河木材加工厂雨污排口（示意）"
CATTLE = "东兴村肉牛养殖场（示意）"  # 东兴村, 每月, a demo record on 2026-11-20 10:00
NOV_END = datetime(2026, 12, 1, tzinfo=LOCAL_TZ)
GK = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True)  # CGCS2000 GK CM 126°E, metres


def png(colour: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(buf, format="PNG")
    return buf.getvalue()


# --- the oracle --------------------------------------------------------------------------------


def gk(geom):
    """``geom`` (lon/lat) in EPSG:4551, metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(GK.transform(xy[:, 0], xy[:, 1])))


def naive_visit(line_lonlat: LineString, times: list[str | None], point_lonlat: Point,
                max_m: float) -> datetime | None:
    """When a track passed nearest a point, if within ``max_m`` metres: per pair, scalar shapely."""
    line = gk(line_lonlat)
    pt = gk(point_lonlat)
    if line.distance(pt) > max_m:
        return None
    along = line.project(pt)
    coords = list(line.coords)
    pos = [0.0]
    for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:]):
        pos.append(pos[-1] + ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
    timed = [(p, pd.Timestamp(t).tz_convert("UTC")) for p, t in zip(pos, times) if t]
    if not timed:
        return None
    if along <= timed[0][0]:
        return timed[0][1].to_pydatetime()
    for (p0, t0), (p1, t1) in zip(timed[:-1], timed[1:]):
        if p0 <= along <= p1:
            share = 0.0 if p1 == p0 else (along - p0) / (p1 - p0)
            return (t0 + (t1 - t0) * share).to_pydatetime()
    return timed[-1][1].to_pydatetime()


def naive_last_visits(store: Store, before: datetime, max_m: float = 50.0) -> dict[str, tuple[datetime, str]]:
    """Object name → (last visit or record before ``before``, source), by looping over everything."""
    out: dict[str, tuple[datetime, str]] = {}
    with store.session() as s:
        objects = s.scalars(select(SupervisedObject)).all()
        tracks = s.scalars(select(PatrolTrack)).all()
        records = s.scalars(select(ObjectInspection)).all()
        for o in objects:
            seen: list[tuple[datetime, str]] = []
            for t in tracks:
                if t.started_at is not None and t.started_at >= before:
                    continue
                when = naive_visit(LineString(shapely.get_coordinates(t.geom)), list(t.times), o.geom, max_m)
                if when is not None and when < before:
                    seen.append((when, "patrol"))
            seen += [(r.at, "record") for r in records if r.object_id == o.id and r.at < before]
            if seen:
                out[o.name] = max(seen)
    return out


# --- the core against the oracle, on made-up tracks ---------------------------------------------


def test_track_visits_equal_a_per_pair_loop_and_the_50_m_edge() -> None:
    rng = np.random.default_rng(17)
    lon0, lat0 = 126.95, 41.80
    t0 = pd.Timestamp("2026-11-03T01:00:00Z")
    lines, times = [], []
    for k in range(25):
        n = int(rng.integers(2, 12))
        start = np.array([lon0, lat0]) + rng.uniform(-0.008, 0.008, 2)
        steps = rng.normal(0, 0.0015, (n - 1, 2))
        xy = np.vstack([start, start + np.cumsum(steps, axis=0)])
        lines.append(LineString(xy))
        stamps = [t0 + pd.Timedelta(hours=k) + pd.Timedelta(minutes=3 * i) for i in range(n)]
        if k % 7 == 3:
            stamps[0] = None  # an untimed vertex
        if k == 24:
            stamps = [None] * n  # no time at all: never a visit
        times.append(stamps)
    points = [Point(lon0 + dx, lat0 + dy) for dx, dy in rng.uniform(-0.01, 0.01, (150, 2))]
    # two points by hand: 49 m and 51 m north of a straight east-west line (metres in EPSG:4551)
    x, y = GK.transform(lon0, lat0 - 0.03)
    back = pyproj.Transformer.from_crs("EPSG:4551", "EPSG:4326", always_xy=True)
    lines.append(LineString([back.transform(x - 500, y), back.transform(x + 500, y)]))
    times.append([t0, t0 + pd.Timedelta(minutes=10)])
    points += [Point(back.transform(x, y + 49)), Point(back.transform(x, y + 51))]
    objects = gpd.GeoDataFrame({"id": range(100, 100 + len(points))}, geometry=points, crs="EPSG:4326").set_index("id")
    tracks = gpd.GeoDataFrame(
        {"id": range(1, len(lines) + 1),
         "times": [np.array([np.datetime64("NaT") if t is None else t.tz_convert(None).to_datetime64() for t in ts],
                            dtype="datetime64[ns]") for ts in times]},
        geometry=lines, crs="EPSG:4326").set_index("id")

    got = track_visits(objects, tracks, max_distance_m=50.0)

    expected = {}
    for oid, pt in zip(objects.index, points):
        for tid, line, ts in zip(tracks.index, lines, times):
            when = naive_visit(line, [None if t is None else t.isoformat() for t in ts], pt, 50.0)
            if when is not None:
                expected[(oid, tid)] = when
    assert len(expected) >= 10  # the sample is not empty
    assert set(zip(got["object_id"], got["track_id"])) == set(expected)
    for oid, tid, when in zip(got["object_id"], got["track_id"], got["visited_at"]):
        assert abs(when.to_pydatetime() - expected[(oid, tid)]) <= timedelta(milliseconds=1)
    edge = got[got["track_id"] == len(lines)]
    assert list(edge["object_id"]) == [100 + len(points) - 2]  # 49 m visited, 51 m not
    assert edge["distance_m"].iloc[0] == pytest.approx(49.0, abs=0.01)
    assert edge["visited_at"].iloc[0] == pd.Timestamp("2026-11-03T01:05:00Z")  # the middle of the line
    assert 25 not in set(got["track_id"])  # the track without any time is never a visit


def test_visits_refuse_mixed_crs_and_intervals_are_days() -> None:
    obj = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(126.9, 41.8)], crs="EPSG:4326").set_index("id")
    trk = gpd.GeoDataFrame({"id": [1], "times": [np.array(["2026-11-01T00:00", "2026-11-01T00:10"],
                                                          dtype="datetime64[ns]")]},
                           geometry=[LineString([(0, 0), (10, 0)])], crs="EPSG:4551").set_index("id")
    with pytest.raises(Exception, match="坐标系不同"):
        track_visits(obj, trk)
    assert [check_interval_days(v) for v in ("每周", "每月", "每季度", "12", 5, "每 9 天", None, "")] == \
        [7, 30, 91, 12, 5, 9, None, None]
    with pytest.raises(ValidationError, match="巡查周期"):
        check_interval_days("每年两次")


# --- the demo: patrol-report's objects -----------------------------------------------------------


def test_patrol_report_lists_every_demo_object_with_the_oracle_last_visit(demo_store: Store) -> None:
    with demo_store.session() as s:
        report = patrol_report(s, "2026-11").to_dict()
        names = {o.name: o for o in s.scalars(select(SupervisedObject))}
        persons = {p.id: p.name for p in s.scalars(select(Person))}
        duties = {o.name: (persons.get(o.responsible_id), o.inspect_every_days) for o in names.values()}
    rows = {r["name"]: r for r in report["objects"]}
    assert set(rows) == set(names) and len(report["objects"]) == len(names) == 11
    assert {"persons", "grids", "reaches", "coverage", "tracks", "warnings", "period", "rules"} <= set(report)
    oracle = naive_last_visits(demo_store, NOV_END.astimezone(UTC))
    now = clock.now()
    for name, row in rows.items():
        assert (row["responsible"], row["interval_days"]) == duties[name]
        want = oracle.get(name)
        if want is None:
            assert row["last_visit"] is None and row["last_visit_source"] is None
        else:
            got = datetime.fromisoformat(row["last_visit"])
            assert abs(got - want[0]) <= timedelta(seconds=1), name
            assert row["last_visit_source"] == want[1]
            assert got.utcoffset() == timedelta(hours=8)  # shown in Beijing time
        days = duties[name][1]
        expected = days is not None and (want is None or now - want[0] > timedelta(days=days))
        assert row["overdue"] is expected, name
    # both kinds of visit occur in the demo, and the ledger is honest about the unassigned object
    assert {r["last_visit_source"] for r in rows.values()} >= {"patrol", "record"}
    assert rows[OUTFALL]["last_visit_source"] == "patrol" and rows[OUTFALL]["subtype_label"] == "排污口"
    assert rows[CATTLE]["last_visit"].startswith("2026-11-20T10:00") and not rows[CATTLE]["overdue"]
    assert rows[NO_RESPONSIBLE]["responsible"] is None and rows[NO_RESPONSIBLE]["interval"] == "每季度"
    assert rows["北山沟（示意）取水口"]["subtype_label"] == "取水口"
    json.dumps(report, ensure_ascii=False)


def test_overdue_on_pinned_dates_and_periods(demo_store: Store) -> None:
    with demo_store.session() as s:
        cattle = s.scalar(select(SupervisedObject).where(SupervisedObject.name == CATTLE)).id
    record = datetime(2026, 11, 20, 10, 0, tzinfo=LOCAL_TZ)

    def row(period: str, now: datetime) -> dict:
        with demo_store.session() as s:
            return next(r for r in object_ledger(s, period, now=now) if r["object_id"] == cattle)

    # 每月 = 30 days after the record of 2026-11-20 10:00: due until 2026-12-20 10:00 Beijing
    assert row("2026-12", record + timedelta(days=30, minutes=-1))["overdue"] is False
    late = row("2026-12", record + timedelta(days=30, minutes=1))
    assert late["overdue"] is True and late["days_since"] == 30
    # October ended before the record: judged on 2026-11-01 00:00 with what was known then
    october = row("2026-10", datetime(2026, 11, 28, 8, 0, tzinfo=LOCAL_TZ))
    assert october["checked_at"] == "2026-11-01T00:00:00+08:00"
    assert october["last_visit"] is None or october["last_visit"] < "2026-11-01"


# --- inspection records --------------------------------------------------------------------------


def test_an_inspection_record_with_a_photo_counts_as_the_last_visit(demo_store: Store, tmp_path) -> None:
    files = AttachmentStore(tmp_path / "attachments")
    with demo_store.session() as s:
        oid = s.scalar(select(SupervisedObject).where(SupervisedObject.name == NO_RESPONSIBLE)).id
    at = clock.now() - timedelta(hours=2)
    with demo_store.session(STAFF) as s:
        row = record_inspection(s, oid, note="油罐区无渗漏", photo=("现场.png", png()), person="刘晓东", at=at,
                                files=files)
        rid, sha = row.id, row.photo_sha256
    assert sha is not None and files.find(sha, "image/png") is not None  # the photo is stored by its hash
    with demo_store.session() as s:
        ledger = {r["object_id"]: r for r in object_ledger(s, "2026-11")}
        history = inspections_of(s, oid)
    assert ledger[oid]["last_visit_source"] == "record" and ledger[oid]["last_visit_ref"] == rid
    assert abs(datetime.fromisoformat(ledger[oid]["last_visit"]) - at) < timedelta(seconds=1)
    assert ledger[oid]["overdue"] is False
    assert history[0]["note"] == "油罐区无渗漏" and history[0]["person"] == "刘晓东"

    with pytest.raises(ValidationError, match="巡查情况"), demo_store.session(STAFF) as s:
        record_inspection(s, oid, note="  ")
    with pytest.raises(PermissionDenied), demo_store.session(LEADER) as s:
        record_inspection(s, oid, note="领导只读")
    with pytest.raises(ValidationError, match="晚于现在"), demo_store.session(STAFF) as s:
        record_inspection(s, oid, note="明天的记录", at=clock.now() + timedelta(days=1))


# --- 纵向到底 -------------------------------------------------------------------------------------


def test_an_object_without_a_responsible_person_is_a_vertical_finding(demo_store: Store) -> None:
    with demo_store.session() as s:
        found = [f for f in check_vertical(s) if f.rule == "object_without_responsible"]
        station = s.scalar(select(SupervisedObject).where(SupervisedObject.name == NO_RESPONSIBLE))
        assert [f.object_id for f in found] == [station.id]
        assert found[0].message == (
            f"村级网格“森工街道森工社区”的监管对象“{NO_RESPONSIBLE}”（{Category.SAFETY_HAZARD.label}）"
            "没有落实责任人（五定：定人员）")
        assert found[0].severity == "error" and found[0].related_ids == (station.grid_id,)
        sid = station.id
    with demo_store.session(STAFF) as s:
        set_object_duties(s, sid, responsible="刘晓东", interval="每季度", tasks="检查油罐", rewards="")
    with demo_store.session() as s:
        assert [f for f in check_vertical(s) if f.rule == "object_without_responsible"] == []
        liu = s.scalar(select(Person).where(Person.name == "刘晓东")).id
    with demo_store.session(SYSTEM) as s:
        s.get(Person, liu).status = "left"
    with demo_store.session() as s:
        found = [f for f in check_vertical(s) if f.rule == "object_without_responsible"]
    assert len(found) >= 2 and any("刘晓东已离任" in f.message for f in found)


# --- the phone API -------------------------------------------------------------------------------


F = "/field/v1"


@pytest.fixture(scope="module")
def db(api_server):
    store = Store(api_server.database_url, migrate=False)
    yield store
    store.dispose()


def test_the_phone_sends_an_inspection_once_and_patrol_report_shows_it(api_server, db: Store) -> None:
    ip = "10.17.0.1"
    signed = requests.post(f"{api_server.api}{F}/session",
                           json={"username": "patroller", "password": "rivergrid-demo", "device": "测试手机"},
                           headers={"X-Real-IP": ip}, timeout=60)
    assert signed.status_code == 200, signed.text
    headers = {"Authorization": f"Bearer {signed.json()['key']}", "X-Real-IP": ip}
    with db.session() as s:
        source = s.scalar(select(SupervisedObject).where(SupervisedObject.name == "东兴沟（示意）水源保护区")).id
        elsewhere = s.scalar(select(SupervisedObject).where(SupervisedObject.name == OUTFALL)).id  # 森工社区
    form = {"client_id": str(uuid.uuid4()), "object_id": str(source), "note": "保护区标志完好，无放牧"}
    photo = [("photo", ("水源地.png", png((10, 160, 60)), "image/png"))]
    first = requests.post(f"{api_server.api}{F}/inspections", data=form, files=photo, headers=headers, timeout=60)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["person"] == "何兆花" and body["photo"] is True and body["object"]["id"] == source
    again = requests.post(f"{api_server.api}{F}/inspections", data=form, files=photo, headers=headers, timeout=60)
    assert again.status_code == 200 and again.json() == body
    with db.session() as s:
        rows = s.scalars(select(ObjectInspection).where(ObjectInspection.object_id == source,
                                                        ObjectInspection.note == form["note"])).all()
        assert len(rows) == 1 and rows[0].photo_sha256 and rows[0].source == "record"
        sub = s.scalar(select(FieldSubmission).where(FieldSubmission.client_id == form["client_id"]))
        assert sub.kind == "inspection" and sub.inspection_id == rows[0].id

    no_note = requests.post(f"{api_server.api}{F}/inspections", headers=headers, timeout=60,
                            data={"client_id": str(uuid.uuid4()), "object_id": str(source), "note": ""})
    assert no_note.status_code in (400, 422) and "巡查情况" in no_note.json()["message"]
    outside = requests.post(f"{api_server.api}{F}/inspections", headers=headers, timeout=60,
                            data={"client_id": str(uuid.uuid4()), "object_id": str(elsewhere), "note": "越界"})
    assert outside.status_code == 404  # 东兴村's patroller does not see 森工社区's objects
    anonymous = requests.post(f"{api_server.api}{F}/inspections", data=form, headers={"X-Real-IP": ip}, timeout=60)
    assert anonymous.status_code == 401

    proc = api_server.cli("patrol-report", "--period", "2026-11", "--json")
    assert proc.returncode == 0, proc.stderr
    objects = {o["object_id"]: o for o in json.loads(proc.stdout)["objects"]}
    assert len(objects) == 11 and all({"responsible", "interval", "last_visit", "overdue"} <= set(o)
                                      for o in objects.values())
    assert objects[source]["last_visit_source"] == "record" and objects[source]["overdue"] is False
    assert objects[source]["responsible"] == "何兆花" and objects[source]["interval"] == "每周"


# --- the page ------------------------------------------------------------------------------------


def test_the_page_shows_the_ledger_and_staff_record_an_inspection(app_env) -> None:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at = at.switch_page("pages/objects.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["监管对象"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"监管对象": "11 个", "逾期未巡查": metrics["逾期未巡查"], "未落实责任人": "1 个"}
    table = at.dataframe[0].value
    assert NO_RESPONSIBLE in set(table["监管对象"]) and "未落实" in set(table["责任人"])
    assert {"责任人", "巡查周期", "最近巡查", "逾期未巡查"} <= set(table.columns)
    assert not any(b.label == "保存巡查记录" for b in at.button)  # not signed in: no record form

    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        oid = s.scalar(select(SupervisedObject).where(SupervisedObject.name == NO_RESPONSIBLE)).id
        gao = s.scalar(select(Person).where(Person.name == "刘晓东")).id
    store.dispose()
    at = sign_in(at.switch_page("pages/login.py").run(), "staff", "rivergrid-demo")
    at = at.switch_page("pages/objects.py").run()
    assert not at.exception
    at = next(sb for sb in at.selectbox if sb.label == "选择监管对象").set_value(oid).run()
    assert not at.exception
    next(sb for sb in at.selectbox if sb.label == "巡查人员").set_value(gao)
    next(t for t in at.text_area if t.label == "巡查情况").input("围堰完好，无油污")
    at = next(b for b in at.button if b.label == "保存巡查记录").click().run()
    assert not at.exception
    assert any("已记录" in m.value for m in at.success), [e.value for e in at.error]
    history = at.dataframe[-1].value
    assert "围堰完好，无油污" in set(history["情况"]) and "刘晓东" in set(history["巡查人员"])
    table = at.dataframe[0].value
    station = table[table["监管对象"] == NO_RESPONSIBLE].iloc[0]
    assert station["来源"] == "巡查记录" and station["逾期未巡查"] == ""
