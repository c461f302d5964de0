"""The field app's API (/api/field/v1) on a real server, SQLite and PostGIS: a phone signs in,
sends a patrol twice (stored once, matched, in the period's report), a report taken before its
patrol (linked when the patrol arrives); a resident reports from the signboard with a solved
challenge, gets a 查询码 and follows the case; nothing private is ever answered publicly."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select
from test_field_service import DONGXING, PASSWORD, walk, walked_length_m

from gis import clock
from gis.accounts.users import actor_for
from gis.field import core
from gis.incidents.workflow import move
from gis.store import Store
from gis.store.schema import Grid, Incident, PatrolTrack, Reach

F = "/field/v1"
PHONE = "13987654321"


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def db(api_server):
    store = Store(api_server.database_url, migrate=False)
    yield store
    store.dispose()


def sign_in(server, user: str = "patroller", ip: str = "10.9.0.1", password: str = PASSWORD):
    return requests.post(f"{server.api}{F}/session", json={"username": user, "password": password, "device": "测试手机"},
                         headers={"X-Real-IP": ip}, timeout=60)


def bearer(key: str, ip: str = "10.9.0.1") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Real-IP": ip}


def solved(server, ip: str) -> dict[str, str]:
    got = requests.get(f"{server.api}{F}/public/challenge", headers={"X-Real-IP": ip}, timeout=30)
    assert got.status_code == 200
    c = got.json()
    assert c["difficulty_bits"] >= 12
    return {"token": c["token"], "nonce": core.solve(c["token"], c["difficulty_bits"])}


def test_sign_in_gives_a_key_that_works_and_delete_revokes_it(api_server) -> None:
    r = sign_in(api_server)
    assert r.status_code == 200, r.text
    body = r.json()
    key = body["key"]
    assert body["user"]["username"] == "patroller" and [g["name"] for g in body["grids"]] == [DONGXING]
    assert len(body["grids"][0]["bounds"]) == 4
    me = requests.get(f"{api_server.api}{F}/me", headers=bearer(key), timeout=60)
    assert me.status_code == 200, me.text
    mine = me.json()
    assert mine["user"]["username"] == "patroller" and len(mine["categories"]) == 10
    assert any(reach["geometry"]["type"] in ("LineString", "MultiLineString") for reach in mine["reaches"])
    assert mine["patrols"]["frequency"] == "每周"
    out = requests.delete(f"{api_server.api}{F}/session", headers=bearer(key), timeout=30)
    assert out.status_code == 204
    again = requests.get(f"{api_server.api}{F}/me", headers=bearer(key), timeout=30)
    assert again.status_code == 401 and "密钥" in again.json()["message"]
    assert requests.get(f"{api_server.api}{F}/me", headers={"X-Real-IP": "10.9.0.1"}, timeout=30).status_code == 401


def test_wrong_passwords_count_toward_the_lock(api_server) -> None:
    answers = [sign_in(api_server, "dongxing", ip="10.9.0.2", password="not the password").status_code
               for _ in range(5)]
    assert answers == [401] * 5
    locked = sign_in(api_server, "dongxing", ip="10.9.0.3")  # the right password, from elsewhere
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.json()["message"] and "key" not in locked.json()


def test_a_patrol_is_stored_once_matched_and_in_the_patrol_report(api_server, db: Store) -> None:
    key = sign_in(api_server, ip="10.9.0.4").json()["key"]
    with db.session() as s:
        reach = s.scalar(select(Reach).where(Reach.code == "DXG-01"))
        reach_id, geom = reach.id, reach.geom
    fixes = walk(geom, start=clock.now() - timedelta(hours=3), seed=21)
    patrol = {"client_id": new_id(), "fixes": fixes}
    first = requests.post(f"{api_server.api}{F}/patrols", json=patrol, headers=bearer(key, "10.9.0.4"), timeout=120)
    assert first.status_code == 201, first.text
    second = requests.post(f"{api_server.api}{F}/patrols", json=patrol, headers=bearer(key, "10.9.0.4"), timeout=120)
    assert second.status_code == 200 and second.json() == first.json()
    got = first.json()
    with db.session() as s:
        stored = s.scalars(select(PatrolTrack).where(PatrolTrack.source_name == f"手机巡河-{patrol['client_id']}.json"))
        assert len(stored.all()) == 1
    oracle = walked_length_m(fixes)
    assert abs(got["length_m"] - oracle) <= 0.1 * oracle
    assert {m["reach_id"] for m in got["matched"]} == {reach_id} and got["grid"]["name"] == DONGXING
    assert got["matched"][0]["stations"].startswith("K") and got["reasons"] and not got["counted"]
    month = clock.local_now().strftime("%Y-%m")
    proc = api_server.cli("patrol-report", "--period", month, "--json")
    assert proc.returncode == 0, proc.stderr
    tracks = [t for t in json.loads(proc.stdout)["tracks"] if t["track_id"] == got["track_id"]]
    assert len(tracks) == 1 and tracks[0]["person"] == "何兆花"
    assert tracks[0]["not_counted_because"] == got["reasons"]
    mine = requests.get(f"{api_server.api}{F}/me", headers=bearer(key, "10.9.0.4"), timeout=60).json()
    assert patrol["client_id"] in [p["client_id"] for p in mine["patrols"]["items"]]


def test_too_few_fixes_answer_422_and_store_nothing(api_server) -> None:
    key = sign_in(api_server, ip="10.9.0.5").json()["key"]
    r = requests.post(f"{api_server.api}{F}/patrols", json={"client_id": new_id(), "fixes": [[126.96, 41.8, 0, 5]]},
                      headers=bearer(key, "10.9.0.5"), timeout=60)
    assert r.status_code == 422 and "至少需要" in r.json()["message"]
    bad = requests.post(f"{api_server.api}{F}/patrols", data=b"not json", headers=bearer(key, "10.9.0.5"), timeout=60)
    assert bad.status_code == 400 and bad.json()["message"]


def test_a_report_sent_before_its_patrol_is_linked_when_the_patrol_arrives(api_server, db: Store) -> None:
    ip = "10.9.0.6"
    key = sign_in(api_server, ip=ip).json()["key"]
    with db.session() as s:
        geom = s.scalar(select(Reach).where(Reach.code == "DXG-01")).geom
    fixes = walk(geom, start=clock.now() - timedelta(hours=6), seed=5)
    patrol_cid, report_cid = new_id(), new_id()
    form = {"client_id": report_cid, "category": "ecology", "description": "东兴沟岸边堆放垃圾",
            "lon": str(fixes[200][0]), "lat": str(fixes[200][1]), "patrol_client_id": patrol_cid}
    photo = ("photo", ("垃圾.png", tiny_png(), "image/png"))
    r = requests.post(f"{api_server.api}{F}/reports", data=form, files=[photo], headers=bearer(key, ip), timeout=60)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["track_id"] is None and report["grid"]["name"] == DONGXING
    resent = requests.post(f"{api_server.api}{F}/reports", data=form, headers=bearer(key, ip), timeout=60)
    assert resent.status_code == 200 and resent.json()["code"] == report["code"]
    p = requests.post(f"{api_server.api}{F}/patrols", json={"client_id": patrol_cid, "fixes": fixes},
                      headers=bearer(key, ip), timeout=120)
    assert p.status_code == 201, p.text
    with db.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == report["code"]))
        assert inc.track_id == p.json()["track_id"] and inc.grid.name == DONGXING
        assert len(inc.events) == 1 and "垃圾.png" in inc.events[0].note
    mine = requests.get(f"{api_server.api}{F}/me", headers=bearer(key, ip), timeout=60).json()
    assert [x["track_id"] for x in mine["reports"] if x["code"] == report["code"]] == [p.json()["track_id"]]
    no_category = requests.post(f"{api_server.api}{F}/reports", data={**form, "client_id": new_id(), "category": ""},
                                headers=bearer(key, ip), timeout=60)
    assert no_category.status_code == 400 and "类别" in no_category.json()["message"]


def tiny_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def test_a_public_report_gets_a_query_code_and_follows_the_workflow(api_server, db: Store) -> None:
    ip = "10.9.1.1"
    with db.session() as s:
        grid_id = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        staff = actor_for(s, "staff")
    place = requests.get(f"{api_server.api}{F}/public/place", params={"grid": grid_id}, headers={"X-Real-IP": ip},
                         timeout=30)
    assert place.status_code == 200 and place.json()["grid"] == {"id": grid_id, "name": DONGXING}
    cid = new_id()
    form = {**solved(api_server, ip), "client_id": cid, "category": "livestock_pollution",
            "description": "养殖场粪污流进河里", "phone": PHONE, "grid": str(grid_id)}
    r = requests.post(f"{api_server.api}{F}/public/reports", data=form,
                      files=[("photo", ("现场.png", tiny_png(), "image/png"))], headers={"X-Real-IP": ip}, timeout=60)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert len(answer["query_code"]) == 8 and answer["status_label"] == "上报" and PHONE not in r.text
    resent = requests.post(f"{api_server.api}{F}/public/reports", data=form, headers={"X-Real-IP": ip}, timeout=60)
    assert resent.status_code == 200 and resent.json() == answer  # the same answer, not a second case
    proc = api_server.cli("incident", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = [i for i in json.loads(proc.stdout) if i["code"] == answer["code"]]
    assert len(listed) == 1 and listed[0]["source_label"] == "群众投诉举报" and listed[0]["grid"]["name"] == DONGXING
    with db.session() as s:
        assert s.scalar(select(Incident.reporter_contact).where(Incident.code == answer["code"])) == PHONE
    case = requests.get(f"{api_server.api}{F}/public/cases/{answer['query_code']}", headers={"X-Real-IP": ip},
                        timeout=30)
    assert case.status_code == 200 and case.json()["status_label"] == "上报"
    with db.session(staff) as s:
        move(s, answer["code"], "accept", note="受理，交东兴村核查")
    case = requests.get(f"{api_server.api}{F}/public/cases/{answer['query_code'].lower()}",
                        headers={"X-Real-IP": ip}, timeout=30)
    assert case.status_code == 200
    shown = case.json()
    assert shown["status_label"] == "受理" and [u["status_label"] for u in shown["updates"]] == ["上报", "受理"]
    assert "交东兴村核查" not in case.text  # the step's note names people: never public
    # the phone is in no public answer: the case, Open311 and OGC lists
    public = [case.text,
              requests.get(f"{api_server.api}/open311/v2/requests.json", headers={"X-Real-IP": ip},
                           params={"service_request_id": answer["code"]}, timeout=60).text,
              requests.get(f"{api_server.api}/ogc/collections/incidents/items", headers={"X-Real-IP": ip},
                           params={"limit": 1000}, timeout=60).text]
    assert all(PHONE not in text and "987654321" not in text for text in public)
    assert answer["code"] in public[1]


def test_bad_missing_or_replayed_challenges_are_refused(api_server) -> None:
    ip = "10.9.1.2"
    base = {"category": "ecology", "description": "河面漂浮物", "lon": "126.96", "lat": "41.80"}
    good = solved(api_server, ip)
    first = requests.post(f"{api_server.api}{F}/public/reports", data={**base, **good, "client_id": new_id()},
                          headers={"X-Real-IP": ip}, timeout=60)
    assert first.status_code == 201, first.text
    refused = [
        {},  # missing
        {"token": good["token"], "nonce": ""},
        {"token": good["token"][:-1] + ("0" if good["token"][-1] != "0" else "1"), "nonce": good["nonce"]},  # forged
        {"token": good["token"], "nonce": "abc"},
        good,  # replayed with another client id
    ]
    for extra in refused:
        r = requests.post(f"{api_server.api}{F}/public/reports", data={**base, **extra, "client_id": new_id()},
                          headers={"X-Real-IP": ip}, timeout=60)
        assert r.status_code == 400, (extra, r.text)
        assert "验证" in r.json()["message"]


def test_a_photo_over_the_limit_answers_413_and_stores_nothing(api_server, db: Store) -> None:
    ip = "10.9.1.6"
    with db.session() as s:
        before = s.query(Incident).count()
    big = b"\xff\xd8" + b"0" * (10 * 1024 * 1024 + 10)
    r = requests.post(f"{api_server.api}{F}/public/reports",
                      data={**solved(api_server, ip), "client_id": new_id(), "category": "ecology",
                            "description": "大照片", "lon": "126.96", "lat": "41.80"},
                      files=[("photo", ("big.jpg", big, "image/jpeg"))], headers={"X-Real-IP": ip}, timeout=120)
    assert r.status_code == 413 and "过大" in r.json()["message"]
    with db.session() as s:
        assert s.query(Incident).count() == before


def test_the_per_address_limit_answers_429_in_chinese(api_server) -> None:
    ip = "10.9.1.3"
    answers = [requests.post(f"{api_server.api}{F}/public/reports", data={"client_id": new_id()},
                             headers={"X-Real-IP": ip}, timeout=60) for _ in range(11)]
    assert [a.status_code for a in answers] == [400] * 10 + [429]
    over = answers[-1]
    assert "举报过于频繁" in over.json()["message"] and int(over.headers["Retry-After"]) >= 1
    other = requests.post(f"{api_server.api}{F}/public/reports", data={"client_id": new_id()},
                          headers={"X-Real-IP": "10.9.1.4"}, timeout=60)
    assert other.status_code == 400  # another address has its own budget


def test_guessing_codes_reaches_nothing(api_server, db: Store) -> None:
    ip = "10.9.1.5"
    with db.session() as s:
        codes = list(s.scalars(select(Incident.code)))
    rng = random.Random(16)
    guesses = ["".join(rng.choice(core.QUERY_ALPHABET) for _ in range(8)) for _ in range(30)]
    guesses += codes[:5] + ["00000000", "SJ-2026-001", "' OR 1=1 --", "ABCDEFGH2"]
    for guess in guesses:
        r = requests.get(f"{api_server.api}{F}/public/cases/{guess}", headers={"X-Real-IP": ip}, timeout=30)
        assert r.status_code == 404, (guess, r.text)
        assert r.json()["message"] and "status" not in r.json()
    for path in ("/me", "/patrols", "/reports"):
        r = requests.request("GET" if path == "/me" else "POST", f"{api_server.api}{F}{path}",
                             headers={"X-Real-IP": ip}, timeout=30)
        assert r.status_code == 401


def test_me_lists_the_objects_of_the_accounts_grids_with_their_last_visit(api_server, db: Store) -> None:
    from gis.store.schema import SupervisedObject
    from gis.store.scope import grid_and_below

    ip = "10.9.0.17"
    signed = sign_in(api_server, ip=ip)
    assert signed.status_code == 200, signed.text
    key = signed.json()["key"]
    mine = requests.get(f"{api_server.api}{F}/me", headers=bearer(key, ip), timeout=60).json()
    with db.session() as s:
        dongxing = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        below = set(grid_and_below(s, dongxing))
        every = {o.id: (o.name, o.grid_id, o.geom.x, o.geom.y) for o in s.scalars(select(SupervisedObject))}
    expected = {oid for oid, (_, grid, _, _) in every.items() if grid in below}
    assert expected and set(every) - expected  # the demo has objects in 东兴村 and elsewhere
    objects = {o["id"]: o for o in mine["objects"]}
    assert set(objects) == expected  # 东兴村's patroller gets 东兴村's objects, no others
    for oid, o in objects.items():
        name, _, lon, lat = every[oid]
        assert o["name"] == name and o["category_label"] and isinstance(o["overdue"], bool)
        assert o["lon"] == pytest.approx(lon, abs=1e-6) and o["lat"] == pytest.approx(lat, abs=1e-6)
        assert "last_visit" in o

    target = min(expected)
    form = {"client_id": new_id(), "object_id": str(target), "note": "现场检查无异常"}
    sent = requests.post(f"{api_server.api}{F}/inspections", data=form, headers=bearer(key, ip), timeout=60)
    assert sent.status_code == 201, sent.text
    after = requests.get(f"{api_server.api}{F}/me", headers=bearer(key, ip), timeout=60).json()
    (row,) = [o for o in after["objects"] if o["id"] == target]
    assert row["last_visit_source"] == "record" and row["overdue"] is False
    assert row["last_visit"].startswith(clock.today().isoformat())  # the server's (pinned) today
