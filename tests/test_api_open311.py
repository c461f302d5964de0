"""Open311 GeoReport v2 at /api/open311/v2/ on a real server (pages and API in one process), on
SQLite and PostGIS: services, reports with a key (routed, listed by the CLI, audited under the
key's account), public fields only when listed, errors in Chinese with an English reason."""

from __future__ import annotations

import io
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from xml.etree import ElementTree as ET

import pyproj
import pytest
import requests
from PIL import Image
from sqlalchemy import select

from gis.geometry.crs import wgs84_to_gcj02
from gis.model import Category, GridLevel
from gis.store import Store
from gis.store.schema import Attachment, AuditEntry, Grid, Incident

V2 = "/open311/v2"


@pytest.fixture(scope="module")
def db(api_server) -> Store:
    store = Store(api_server.database_url, migrate=False)
    yield store
    store.dispose()


def make_key(server, user: str, name: str) -> str:
    proc = server.cli("token", "create", "--user", user, "--name", name, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["key"]


@pytest.fixture(scope="module")
def keys(api_server) -> dict[str, str]:
    return {u: make_key(api_server, u, "测试") for u in ("patroller", "leader", "staff")}


def dongxing_point(db: Store) -> tuple[float, float]:
    with db.session() as s:
        grid = s.scalar(select(Grid).where(Grid.name == "森工街道东兴村", Grid.level == GridLevel.VILLAGE.value))
        p = grid.geom.representative_point()
        return p.x, p.y


def post(server, data: dict, *, files=None, fmt: str = "json") -> requests.Response:
    return requests.post(f"{server.api}{V2}/requests.{fmt}", data=data, files=files, timeout=120)


def test_services_list_the_nine_focus_objects_and_other_in_json_and_xml(api_server) -> None:
    r = requests.get(f"{api_server.api}{V2}/services.json", timeout=30)
    assert r.status_code == 200
    names = [s["service_name"] for s in r.json()]
    assert names == [c.label for c in Category.focus_objects()] + ["其他"]
    assert {"排污企业", "饮用水源地", "畜禽养殖污染"} <= set(names) and len(names) == 10
    assert all(s["service_code"] and s["group"] == "河湖监管" for s in r.json())

    x = requests.get(f"{api_server.api}{V2}/services.xml", timeout=30)
    assert x.status_code == 200 and x.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(x.content)
    assert [e.findtext("service_name") for e in root.findall("service")] == names

    d = requests.get(f"{api_server.api}{V2}/services/livestock_pollution.json", timeout=30).json()
    assert d["service_code"] == "livestock_pollution"
    assert [v["name"] for v in d["attributes"][0]["values"]] == ["一般", "较大", "紧急"]
    disc = requests.get(f"{api_server.api}{V2}/discovery.json", timeout=30).json()
    assert disc["endpoints"][0]["url"] == f"{api_server.api}{V2}"


def test_a_post_without_a_key_or_with_a_bad_key_is_refused_and_stores_nothing(api_server, db, keys) -> None:
    lon, lat = dongxing_point(db)
    with db.session() as s:
        before = len(s.scalars(select(Incident.id)).all())
    form = {"service_code": "ecology", "lat": lat, "long": lon, "description": "没有密钥的上报"}
    r = post(api_server, form)
    assert r.status_code == 401
    body = r.json()
    assert "接口密钥" in body["message"] and body["reason"] == "API key required"
    r = post(api_server, {**form, "api_key": "rg_not-a-real-key"})
    assert r.status_code == 401 and "无效" in r.json()["message"]
    r = post(api_server, {**form, "api_key": keys["leader"]})  # leaders read, they do not write
    assert r.status_code == 403
    assert "权限" in r.json()["message"] or "无权" in r.json()["message"]
    with db.session() as s:
        assert len(s.scalars(select(Incident.id)).all()) == before


def test_a_patrollers_post_in_dongxing_is_routed_there_listed_by_the_cli_and_audited(api_server, db, keys) -> None:
    lon, lat = dongxing_point(db)
    r = post(api_server, {"api_key": keys["patroller"], "service_code": "ecology", "lat": lat, "long": lon,
                          "description": "接口上报：江边有垃圾堆放", "phone": "13900001111",
                          "attribute[severity]": "major"})
    assert r.status_code == 201, r.text
    (answer,) = r.json()
    code = answer["service_request_id"]
    assert answer["extended_attributes"]["grid"] == "森工街道东兴村"
    assert answer["extended_attributes"]["blind_spot"] is False

    listed = api_server.cli("incident", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    mine = [c for c in json.loads(listed.stdout) if c["code"] == code]
    assert len(mine) == 1
    assert mine[0]["grid"]["name"] == "森工街道东兴村" and mine[0]["source"] == "patrol"
    assert mine[0]["severity"] == "major" and mine[0]["status"] == "reported"

    got = requests.get(f"{api_server.api}{V2}/requests/{code}.json", timeout=30)
    assert got.status_code == 200
    (req,) = got.json()
    assert req["status"] == "open" and req["extended_attributes"]["rivergrid_status"] == "reported"
    assert req["extended_attributes"]["rivergrid_status_label"] == "上报"
    assert req["agency_responsible"] == "森工街道东兴村"
    assert "13900001111" not in got.text and "reporter" not in req

    with db.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == code))
        assert inc.reporter_contact == "13900001111"  # kept for the staff, never listed
        entries = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "incidents",
                                                     AuditEntry.row_id == inc.id)).all()
    assert [(e.action, e.username) for e in entries] == [("insert", "patroller")]


def test_listed_requests_carry_public_fields_only(api_server, db, keys) -> None:
    lon, lat = dongxing_point(db)
    secret_phone = "13712345678"
    made = {}
    for cat in ("petition", "pollution_dispute"):
        r = post(api_server, {"api_key": keys["staff"], "service_code": cat, "lat": lat, "long": lon,
                              "description": f"公开字段测试 {cat}，回电{secret_phone}", "phone": secret_phone,
                              "first_name": "某", "last_name": "王"})
        assert r.status_code == 201, r.text
        made[cat] = r.json()[0]["service_request_id"]

    r = requests.get(f"{api_server.api}{V2}/requests.json", timeout=60)
    assert r.status_code == 200
    rows = r.json()
    codes = {row["service_request_id"] for row in rows}
    assert made["pollution_dispute"] in codes
    assert made["petition"] not in codes  # 信访案件 are never listed
    assert all(row["service_code"] != "petition" for row in rows)
    assert secret_phone not in r.text and "王某" not in r.text
    assert not any(k in row for row in rows for k in ("reporter", "reporter_contact", "phone", "email"))
    one = requests.get(f"{api_server.api}{V2}/requests/{made['petition']}.json", timeout=30)
    assert one.status_code == 404

    # a 污染纠纷 point is moved to the centre of its 100 m cell (CGCS2000 3-degree Gauss-Krüger, CM 126E)
    (dispute,) = [row for row in rows if row["service_request_id"] == made["pollution_dispute"]]
    gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True)
    x, y = gk.transform(lon, lat)
    cx, cy = (math.floor(x / 100) + 0.5) * 100, (math.floor(y / 100) + 0.5) * 100
    px, py = gk.transform(dispute["long"], dispute["lat"])
    assert abs(px - cx) < 0.2 and abs(py - cy) < 0.2
    assert math.hypot(px - x, py - y) <= 100 / math.sqrt(2) + 0.2
    assert dispute["extended_attributes"]["location_coarsened"] is True


def test_a_photo_comes_with_the_report_as_a_multipart_file(api_server, db, keys) -> None:
    lon, lat = dongxing_point(db)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(buf, format="JPEG")
    r = post(api_server, {"api_key": keys["patroller"], "service_code": "ecology", "lat": lat, "long": lon,
                          "description": "带照片的上报"}, files=[("media", ("江边.jpg", buf.getvalue(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    code = r.json()[0]["service_request_id"]
    with db.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == code))
        photos = s.scalars(select(Attachment).where(Attachment.incident_id == inc.id)).all()
    assert [(p.original_name, p.width_px, p.height_px) for p in photos] == [("江边.jpg", 64, 48)]

    r = post(api_server, {"api_key": keys["patroller"], "service_code": "ecology", "lat": lat, "long": lon,
                          "description": "假照片"}, files=[("media", ("x.jpg", b"not an image", "image/jpeg"))])
    assert r.status_code == 400 and "照片" in r.json()["message"]


def test_gcj02_coordinates_are_converted_on_request(api_server, db, keys) -> None:
    lon, lat = dongxing_point(db)
    g_lon, g_lat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    r = post(api_server, {"api_key": keys["patroller"], "service_code": "ecology", "lat": g_lat, "long": g_lon,
                          "coord_system": "gcj02", "description": "高德坐标上报"})
    assert r.status_code == 201, r.text
    code = r.json()[0]["service_request_id"]
    with db.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == code))
        stored = (inc.geom.x, inc.geom.y)
    gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4551", always_xy=True)
    (ax, ay), (bx, by) = gk.transform(*stored), gk.transform(lon, lat)
    assert math.hypot(ax - bx, ay - by) < 1.0  # back where it is, not ~500 m off


@pytest.mark.parametrize(
    "form, status, words",
    [
        ({"service_code": "ecology", "long": "126.99", "description": "x"}, 400, "纬度"),
        ({"service_code": "ecology", "lat": "abc", "long": "126.99", "description": "x"}, 400, "应为数字"),
        ({"service_code": "nonsense", "lat": "41.75", "long": "126.99", "description": "x"}, 404, "没有代码"),
        ({"service_code": "ecology", "lat": "41.75", "long": "126.99", "description": ""}, 400, "描述"),
        ({"service_code": "ecology", "lat": "91", "long": "126.99", "description": "x"}, 400, "纬度"),
        ({"service_code": "ecology", "lat": "41.75", "long": "126.99", "description": "x",
          "coord_system": "mars"}, 400, "坐标系"),
    ],
)
def test_bad_posts_get_a_chinese_message_and_an_english_reason(api_server, keys, form, status, words) -> None:
    r = post(api_server, {"api_key": keys["patroller"], **form})
    assert r.status_code == status, r.text
    body = r.json()
    assert words in body["message"] and re.search(r"[a-z]{3,}", body["reason"])  # an English reason


def test_unknown_formats_routes_and_dates_are_json_errors(api_server) -> None:
    r = requests.get(f"{api_server.api}{V2}/services.csv", timeout=30)
    assert r.status_code == 404 and "格式" in r.json()["message"]
    r = requests.get(f"{api_server.api}{V2}/requests.json?start_date=yesterday", timeout=30)
    assert r.status_code == 400 and "时间" in r.json()["message"]
    r = requests.get(f"{api_server.api}{V2}/requests.json?status=pending", timeout=30)
    assert r.status_code == 400 and "open" in r.json()["message"]
    r = requests.delete(f"{api_server.api}{V2}/requests.json", timeout=30)
    assert r.status_code == 405 and r.json()["message"]


def test_status_and_category_filters(api_server) -> None:
    rows = requests.get(f"{api_server.api}{V2}/requests.json", timeout=60).json()
    closed = requests.get(f"{api_server.api}{V2}/requests.json?status=closed", timeout=60).json()
    assert closed and all(r["status"] == "closed" for r in closed)
    assert {r["service_request_id"] for r in closed} == {r["service_request_id"] for r in rows if r["status"] == "closed"}
    eco = requests.get(f"{api_server.api}{V2}/requests.json?service_code=ecology", timeout=60).json()
    assert eco and all(r["service_code"] == "ecology" for r in eco)
    assert len(eco) == sum(r["service_code"] == "ecology" for r in rows)


def test_a_hundred_simultaneous_posts_make_a_hundred_cases_with_unique_codes(api_server, db, keys) -> None:
    lon, lat = dongxing_point(db)
    n = 100

    def one(i: int) -> requests.Response:
        return post(api_server, {"api_key": keys["patroller"], "service_code": "ecology", "lat": lat,
                                 "long": lon, "description": f"同时上报 第 {i} 件"})

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(one, range(n)))
    assert [a.status_code for a in answers] == [201] * n, [a.text for a in answers if a.status_code != 201][:3]
    codes = [a.json()[0]["service_request_id"] for a in answers]
    assert len(set(codes)) == n
    with db.session() as s:
        cases = s.scalars(select(Incident).where(Incident.description.like("同时上报 第 %"))).all()
        assert sorted(c.code for c in cases) == sorted(codes)
        audited = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "incidents",
                                                     AuditEntry.action == "insert",
                                                     AuditEntry.row_id.in_([c.id for c in cases]))).all()
    assert len(audited) == n and {e.username for e in audited} == {"patroller"}
