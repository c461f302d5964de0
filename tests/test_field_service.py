"""The field app's services (gis.field) on both stores: device keys, patrols sent from a phone
(once, through the same pipeline as an uploaded file), reports linked to their patrol, public
reports with a proof-of-work challenge and their 查询码."""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from datetime import timedelta

import numpy as np
import pyproj
import pytest
import shapely
from sqlalchemy import select

from gis import clock
from gis.accounts.keys import actor_for_key
from gis.accounts.signin import lock_state
from gis.accounts.users import actor_for
from gis.config import settings
from gis.errors import AuthenticationError, PermissionDenied, ValidationError
from gis.field import core
from gis.field.public import public_case, submit_public_report
from gis.field.service import (
    PUBLIC_REPORTER,
    me,
    sign_in_device,
    sign_out_device,
    submit_patrol,
    submit_report,
)
from gis.incidents.workflow import move
from gis.patrol.service import patrol_report
from gis.store import Store
from gis.store.schema import FieldSubmission, Grid, Incident, PatrolTrack, Reach

DONGXING = "森工街道东兴村"
PASSWORD = "rivergrid-demo"
GEOD = pyproj.Geod(ellps="WGS84")


def walk(reach_geom, *, start, speed_ms: float = 3.2, jitter_m: float = 1.5, seconds: int = 420, seed: int = 7,
         from_m: float = 50.0):
    """Fixes along a reach line: one per second at ``speed_ms`` (cycling), jittered by up to
    ``jitter_m`` metres, from ``from_m`` metres after its start; [[lon, lat, t_ms, accuracy]]."""
    rng = np.random.default_rng(seed)
    line = shapely.line_merge(reach_geom) if reach_geom.geom_type == "MultiLineString" else reach_geom
    gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)  # CGCS2000 GK CM 126E
    back = pyproj.Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)
    xy = shapely.transform(line, lambda c: np.column_stack(gk.transform(c[:, 0], c[:, 1])))
    total = xy.length
    fixes = []
    t0 = int(start.timestamp() * 1000)
    for k in range(seconds):
        d = min(from_m + k * speed_ms, total)
        p = xy.interpolate(d)
        x = p.x + rng.uniform(-jitter_m, jitter_m)
        y = p.y + rng.uniform(-jitter_m, jitter_m)
        lon, lat = back.transform(x, y)
        fixes.append([round(lon, 7), round(lat, 7), t0 + k * 1000, 5.0])
    return fixes


def walked_length_m(fixes) -> float:
    """The oracle: geodesic length of the polyline of the fixes (pyproj, independent of gis)."""
    lon = [f[0] for f in fixes]
    lat = [f[1] for f in fixes]
    return float(GEOD.line_length(lon, lat))


def dongxing_reach(s) -> Reach:
    """A reach of the demo lying in 东兴村 (东兴沟, a tributary)."""
    return s.scalar(select(Reach).where(Reach.code == "DXG-01"))


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def patroller(demo_store: Store):
    with demo_store.session() as s:
        return actor_for(s, "patroller")


def test_a_device_key_acts_as_its_account_and_signing_out_revokes_it(demo_store: Store) -> None:
    signed = sign_in_device(demo_store, "patroller", PASSWORD, "Pixel 8", ip="10.1.1.1")
    body = signed.body
    assert body["user"]["username"] == "patroller" and body["user"]["person_id"] is not None
    assert [g["name"] for g in body["grids"]] == [DONGXING]
    with demo_store.session() as s:
        assert actor_for_key(s, signed.key).username == "patroller"
    again = sign_in_device(demo_store, "patroller", PASSWORD, "Pixel 8", ip="10.1.1.1")  # same phone, second key
    assert again.key != signed.key
    sign_out_device(demo_store, signed.key)
    with demo_store.session() as s:
        with pytest.raises(AuthenticationError):
            actor_for_key(s, signed.key)
        assert actor_for_key(s, again.key).username == "patroller"  # the other device still works


def test_wrong_passwords_count_toward_the_lock(demo_store: Store) -> None:
    for _ in range(settings().lock_attempts):
        with pytest.raises(AuthenticationError, match="用户名或密码错误"):
            sign_in_device(demo_store, "volunteer", "wrong password", "手机", ip="10.1.1.2")
    with demo_store.session() as s:
        assert lock_state(s, "volunteer").locked
    with pytest.raises(AuthenticationError, match="登录失败次数过多") as err:
        sign_in_device(demo_store, "volunteer", PASSWORD, "手机", ip="10.1.1.3")  # the right one, refused
    assert err.value.reason_en == "locked"


def test_a_patrol_of_fixes_is_stored_once_matched_and_reported(demo_store: Store, patroller) -> None:
    with demo_store.session() as s:
        reach = dongxing_reach(s)
        reach_id, geom = reach.id, reach.geom
    fixes = walk(geom, start=clock.now() - timedelta(hours=2))
    cid = new_id()
    with demo_store.session(patroller) as s:
        first, created = submit_patrol(s, client_id=cid, fixes=fixes)
    assert created
    with demo_store.session(patroller) as s:
        second, created_again = submit_patrol(s, client_id=cid, fixes=fixes)
    assert not created_again and second == first
    with demo_store.session() as s:
        rows = s.scalars(select(PatrolTrack).where(PatrolTrack.source_name == f"手机巡河-{cid}.json")).all()
        assert len(rows) == 1 and rows[0].person.name == "何兆花"
        assert s.get(Grid, rows[0].grid_id).name == DONGXING
    oracle = walked_length_m(fixes)
    assert abs(first["length_m"] - oracle) <= 0.1 * oracle
    assert first["matched"] and {m["reach_id"] for m in first["matched"]} == {reach_id}
    m = first["matched"][0]  # stationing in metres from the reach's start station, and as 桩号
    assert 0 <= m["from_station"] < m["to_station"] and m["stations"].startswith("K0+")
    assert abs((m["to_station"] - m["from_station"]) - m["length_m"]) < 1.0
    assert first["river_length_m"] > 0.8 * 3.2 * 419
    assert first["grid"]["name"] == DONGXING
    # default rules: at least 10 minutes; a 7-minute patrol is listed with its reason
    assert not first["counted"] and any("分钟" in r for r in first["reasons"])
    with demo_store.session(patroller) as s:
        month = clock.local_now().strftime("%Y-%m")
        report = patrol_report(s, month)
        mine = [t for t in report.tracks if t["track_id"] == first["track_id"]]
        assert len(mine) == 1 and mine[0]["person"] == "何兆花"
        assert mine[0]["not_counted_because"] == first["reasons"]
        summary = me(s)
    assert first["track_id"] in [p["track_id"] for p in summary["patrols"]["items"]]
    assert summary["patrols"]["frequency"] == "每周" and summary["patrols"]["required"] >= 4
    assert any(r["id"] == reach_id for r in summary["reaches"])
    assert len(summary["categories"]) == 10


def test_too_few_fixes_store_nothing(demo_store: Store, patroller) -> None:
    with demo_store.session(patroller) as s:
        with pytest.raises(ValidationError, match="至少需要 2 个"):
            submit_patrol(s, client_id=new_id(), fixes=[[126.96, 41.80, 1764288000000, 5]])
        with pytest.raises(ValidationError, match="client_id"):
            submit_patrol(s, client_id="x", fixes=[])
    with demo_store.session() as s:
        assert s.scalars(select(FieldSubmission)).all() == []


def test_a_report_sent_before_its_patrol_is_linked_when_the_patrol_arrives(demo_store: Store, patroller) -> None:
    with demo_store.session() as s:
        geom = dongxing_reach(s).geom
    fixes = walk(geom, start=clock.now() - timedelta(hours=5), seed=11)
    patrol_cid, report_cid = new_id(), new_id()
    lon, lat = fixes[100][0], fixes[100][1]
    with demo_store.session(patroller) as s:
        answer, created = submit_report(s, client_id=report_cid, category="ecology", description="沟内有漂浮垃圾",
                                        lon=lon, lat=lat, patrol_client_id=patrol_cid)
    assert created and answer["track_id"] is None and answer["grid"]["name"] == DONGXING
    with demo_store.session(patroller) as s:
        again, created = submit_report(s, client_id=report_cid, category="ecology", description="沟内有漂浮垃圾",
                                       lon=lon, lat=lat, patrol_client_id=patrol_cid)
    assert not created and again["code"] == answer["code"]
    with demo_store.session(patroller) as s:
        patrol, _ = submit_patrol(s, client_id=patrol_cid, fixes=fixes)
    with demo_store.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == answer["code"]))
        assert inc.track_id == patrol["track_id"] and inc.source == "patrol"
        assert s.query(Incident).filter(Incident.description == "沟内有漂浮垃圾").count() == 1
    # a report sent after its patrol is linked at once
    with demo_store.session(patroller) as s:
        later, _ = submit_report(s, client_id=new_id(), category="其他", description="护栏损坏", lon=lon, lat=lat,
                                 patrol_client_id=patrol_cid)
    assert later["track_id"] == patrol["track_id"]
    with demo_store.session(patroller) as s:
        with pytest.raises(ValidationError, match="请选择问题类别"):
            submit_report(s, client_id=new_id(), category="", description="无类别", lon=lon, lat=lat)


def test_a_volunteer_s_report_is_linked_to_the_volunteer_s_later_patrol(demo_store: Store) -> None:
    with demo_store.session() as s:
        volunteer = actor_for(s, "volunteer")  # bound to 森工社区: walks 森工河 there
        geom = s.scalar(select(Reach).where(Reach.code == "SGH-01")).geom
    fixes = walk(geom, start=clock.now() - timedelta(hours=7), seed=3)
    patrol_cid = new_id()
    with demo_store.session(volunteer) as s:
        answer, _ = submit_report(s, client_id=new_id(), category="ecology", description="志愿者发现垃圾",
                                  lon=fixes[50][0], lat=fixes[50][1], patrol_client_id=patrol_cid)
    with demo_store.session(volunteer) as s:
        patrol, _ = submit_patrol(s, client_id=patrol_cid, fixes=fixes)
    with demo_store.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == answer["code"]))
        assert inc.source == "volunteer"
        # a volunteer only adds rows; linking its own case to its patrol is the one change allowed
        assert inc.track_id == patrol["track_id"]
    with pytest.raises(PermissionDenied), demo_store.session(volunteer) as s:
        inc = s.scalar(select(Incident).where(Incident.code == answer["code"]))
        inc.description = "改写"  # any other change stays refused
    with demo_store.session() as s:  # a case someone else reported, with no track yet
        other = s.scalar(select(Incident).where(Incident.track_id.is_(None), Incident.code != answer["code"],
                                                Incident.source != "volunteer").limit(1))
        other_code = other.code
    with pytest.raises(PermissionDenied), demo_store.session(volunteer) as s:
        s.scalar(select(Incident).where(Incident.code == other_code)).track_id = patrol["track_id"]
    with demo_store.session() as s:
        assert s.scalar(select(Incident).where(Incident.code == other_code)).track_id is None


def solved(secret: bytes, bits: int = 8) -> tuple[str, str]:
    challenge = core.make_challenge(secret, clock.now().timestamp(), bits=bits)
    return challenge.token, core.solve(challenge.token, bits)


def test_a_public_report_gets_a_query_code_and_shows_only_public_fields(demo_store: Store) -> None:
    secret = b"k" * 32
    with demo_store.session() as s:
        grid_id = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        staff = actor_for(s, "staff")
    token, nonce = solved(secret)
    cid = new_id()
    with demo_store.session(PUBLIC_REPORTER) as s:
        answer, created = submit_public_report(s, secret=secret, token=token, nonce=nonce, client_id=cid,
                                               category="ecology", description="河边有人倾倒垃圾",
                                               phone="13912345678", grid=grid_id)
    assert created and len(answer["query_code"]) == 8 and answer["status_label"] == "上报"
    with demo_store.session(PUBLIC_REPORTER) as s:  # sent again: the same answer, nothing new
        again, created = submit_public_report(s, secret=secret, token=token, nonce=nonce, client_id=cid,
                                              category="ecology", description="河边有人倾倒垃圾", grid=grid_id)
    assert not created and again == answer
    with demo_store.session(PUBLIC_REPORTER) as s:  # the token is spent
        with pytest.raises(ValidationError, match="已使用过"):
            submit_public_report(s, secret=secret, token=token, nonce=nonce, client_id=new_id(),
                                 category="ecology", description="再报一次", grid=grid_id)
    with demo_store.session() as s:
        inc = s.scalar(select(Incident).where(Incident.code == answer["code"]))
        assert inc.source == "public_complaint" and inc.reporter_contact == "13912345678"
        assert inc.grid.name == DONGXING
        case = public_case(s, answer["query_code"].lower())
    assert case["status_label"] == "上报" and "13912345678" not in str(case)
    with demo_store.session(staff) as s:
        move(s, answer["code"], "accept", note="受理")
    with demo_store.session() as s:
        case = public_case(s, answer["query_code"])
    assert case["status_label"] == "受理" and [u["text"] for u in case["updates"]] == ["上报", "受理"]
    assert case["reply"] == "您的举报已受理，将交由责任网格处理。"
    assert set(case) == {"code", "query_code", "status", "status_label", "category_label", "reported_at", "reply",
                         "updates"}


def unsolved(token: str, bits: int) -> str:
    """A nonce whose hash does not reach ``bits`` leading zero bits (checked with hashlib here)."""
    n = 0
    while hashlib.sha256(f"{token}:{n}".encode()).digest()[0] == 0 and bits <= 8:
        n += 1
    return str(n)


def test_bad_challenges_are_refused(demo_store: Store) -> None:
    secret = b"s" * 32
    with demo_store.session() as s:
        grid_id = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
    token, nonce = solved(secret)
    other, _ = solved(b"x" * 32)
    expired = core.make_challenge(secret, clock.now().timestamp() - 3600, ttl_s=60)
    cases = [
        ("", "", "缺少防刷验证"),
        (token, "", "缺少防刷验证"),
        (other, nonce, "无效"),  # signed with another key
        (token.replace("v1.", "v1.9", 1), nonce, "无效"),  # tampered
        (expired.token, core.solve(expired.token, expired.difficulty_bits), "已过期"),
        (token, unsolved(token, 8), "计算结果不正确"),
        (token, "12x", "计算结果不正确"),
    ]
    for t, n, message in cases:
        with demo_store.session(PUBLIC_REPORTER) as s:
            with pytest.raises(ValidationError, match=message):
                submit_public_report(s, secret=secret, token=t, nonce=n, client_id=new_id(), category="ecology",
                                     description="测试", grid=grid_id)
    with demo_store.session() as s:
        assert s.scalars(select(FieldSubmission)).all() == []


def test_the_secret_is_made_once_and_readable_only_by_its_owner(tmp_path) -> None:
    first = core.server_secret(tmp_path)
    assert len(first) == 32 and core.server_secret(tmp_path) == first
    mode = stat.S_IMODE(os.stat(tmp_path / core.SECRET_FILE).st_mode)
    assert mode == 0o600
    assert core.leading_zero_bits(b"\x00\x0f") == 12 and core.leading_zero_bits(b"\x80") == 0


def test_an_account_that_must_change_its_password_is_sent_to_the_web_page(demo_store: Store) -> None:
    from gis.auth import SYSTEM
    from gis.store.schema import ApiKey, User

    with demo_store.session(SYSTEM) as s:
        s.scalar(select(User).where(User.username == "staff")).must_change_password = True
    with pytest.raises(PermissionDenied, match="修改初始密码"):
        sign_in_device(demo_store, "staff", PASSWORD, "手机", ip="10.1.1.4")
    with demo_store.session() as s:
        assert s.scalars(select(ApiKey)).all() == []  # no key issued
