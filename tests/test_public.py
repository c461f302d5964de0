"""The public page 责任公示 (AppTest) and its read model gis.disclosure.public: open without sign-in,
public fields only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import shapely
from pyproj import Geod
from sqlalchemy import event, select
from streamlit.testing.v1 import AppTest

from gis.auth import SYSTEM, Actor
from gis.config import PROJECT_DIR
from gis.disclosure.public import grid_of_reach, public_grid, public_grids, public_url
from gis.errors import NotFoundError
from gis.model import GridLevel, GridRole, PersonStatus, ReachChiefLevel, UserRole
from gis.store import Store
from gis.store.schema import (
    Grid,
    GridRoleAssignment,
    Incident,
    Person,
    Reach,
    ReachChief,
    River,
)

APP = str(PROJECT_DIR / "app.py")
STAFF = Actor("staff", UserRole.STAFF, "高雪")
DONGXING = "森工街道东兴村"


@pytest.fixture(autouse=True)
def public_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signboards are printed only for an address the public can open (issue 15): give one."""
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", "https://hezhang.example.gov.cn")


# =============================================================================================
# gis.disclosure.public on hand-made data
# =============================================================================================


def _hand_made(store: Store) -> dict[str, int]:
    """A township square and two village squares side by side (lon 126.90–126.92 and
    126.92–126.94, lat 41.80–41.82); one reach along lat 41.81 from lon 126.905 to 126.935."""
    with store.session(SYSTEM) as s:
        town = Grid(name="乡", level="township", geom=shapely.box(126.90, 41.80, 126.94, 41.82), hotline="",
                    duties="乡职责", tasks="乡任务")
        west = Grid(name="西村", level="village", parent=town, geom=shapely.box(126.90, 41.80, 126.92, 41.82),
                    hotline="0439-1111", duties="西村职责", tasks="西村任务", rewards="奖惩", area_desc="西边")
        east = Grid(name="东村", level="village", parent=town, geom=shapely.box(126.92, 41.80, 126.94, 41.82))
        river = River(name="测试河")
        reach = Reach(river=river, name="测试河段", geom=shapely.LineString([(126.905, 41.81), (126.935, 41.81)]))
        boss = Person(name="甲", title="村书记", phone="13800000001", phone_public=True)
        secret = Person(name="乙", title="监管员", phone="13800000002", phone_public=False)
        gone = Person(name="丙", title="原监管员", status=PersonStatus.LEFT.value)
        helper = Person(name="丁", title="志愿者", phone="13800000004", phone_public=True)
        town_head = Person(name="戊", title="主任")
        s.add_all([town, west, east, river, reach, boss, secret, gone, helper, town_head])
        s.add_all([
            GridRoleAssignment(grid=west, person=boss, role=GridRole.MAIN_RESPONSIBLE.value),
            GridRoleAssignment(grid=west, person=secret, role=GridRole.SUPERVISOR.value),
            GridRoleAssignment(grid=west, person=gone, role=GridRole.SUPERVISOR.value),
            GridRoleAssignment(grid=west, person=helper, role=GridRole.VOLUNTEER.value),
            GridRoleAssignment(grid=town, person=town_head, role=GridRole.MAIN_RESPONSIBLE.value),
            ReachChief(reach=reach, person=boss, level=ReachChiefLevel.VILLAGE.value),
            ReachChief(reach=reach, person=town_head, level=ReachChiefLevel.TOWNSHIP.value),
        ])
        s.add(Incident(code="SJ-2026-900", title="秘密事件", category="ecology", geom=shapely.Point(126.91, 41.81)))
        s.flush()
        return {"town": town.id, "west": west.id, "east": east.id, "reach": reach.id}


def test_disclosure_publishes_public_fields_only(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_HOTLINE", "12345-9")
    ids = _hand_made(store)
    with store.session() as s:
        west = public_grid(s, ids["west"])
        town = public_grid(s, ids["town"])
    assert [(p.post, p.name, p.phone) for p in west.persons] == [
        ("主要责任人", "甲", "13800000001"),  # marked public
        ("监管人员", "乙", ""),  # private phone withheld
    ]  # 丙 has left; 丁 is a volunteer (a private citizen): neither is published
    assert west.hotline == "0439-1111" and town.hotline == "12345-9"  # own hotline, else the configured one
    assert west.upper == (("乡", GridLevel.TOWNSHIP.label, (west.upper[0][2][0],)),)
    assert west.upper[0][2][0].name == "戊"
    dumped = repr(west.to_dict())
    for private in ("13800000002", "丙", "丁", "秘密事件", "SJ-2026-900"):
        assert private not in dumped


def test_supervised_reaches_and_their_lengths_inside_each_grid(store: Store) -> None:
    ids = _hand_made(store)
    with store.session() as s:
        grids = {g.name: g for g in public_grids(s)}
    geod = Geod(ellps="GRS80")  # independent oracle: geodesic length of each piece
    inside_west = geod.geometry_length(shapely.LineString([(126.905, 41.81), (126.92, 41.81)])) / 1000
    inside_east = geod.geometry_length(shapely.LineString([(126.92, 41.81), (126.935, 41.81)])) / 1000
    (west_reach,) = grids["西村"].reaches
    (east_reach,) = grids["东村"].reaches
    assert west_reach.length_km == pytest.approx(inside_west, abs=0.01)
    assert east_reach.length_km == pytest.approx(inside_east, abs=0.01)
    assert grids["乡"].reaches[0].length_km == pytest.approx(inside_west + inside_east, abs=0.01)
    assert [(c.post, c.name) for c in west_reach.chiefs] == [("乡级河长", "戊"), ("村级河长", "甲")]  # top-down
    assert grid_of_reach(list(grids.values()), ids["reach"]).level == "village"  # the finest level wins
    with store.session() as s, pytest.raises(NotFoundError, match="没有编号为 9999 的网格"):
        public_grid(s, 9999)


def test_public_url_selects_the_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", "https://example.gov.cn/hz/")
    assert public_url(3) == "https://example.gov.cn/hz/public?grid=3"
    assert public_url(3, reach_id=7) == "https://example.gov.cn/hz/public?grid=3&reach=7"
    assert public_url(None, base_url="http://10.0.0.2:8501") == "http://10.0.0.2:8501/public"


# =============================================================================================
# The page (AppTest)
# =============================================================================================


def page_text(at: AppTest) -> str:
    """Every text the page shows: titles, markdown, captions, metrics, tables, select options."""
    parts = [e.value for e in (*at.title, *at.header, *at.subheader, *at.markdown, *at.caption, *at.info)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [d.value.to_string() for d in at.dataframe]
    parts += [h.proto.body for h in at.get("html")]  # the people's and reaches' cards
    parts += [str(o) for sb in at.selectbox for o in sb.options]
    return "\n".join(str(p) for p in parts)


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_public_page_opens_without_sign_in_when_reading_needs_it(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The router's side (other pages stay locked) is proven against the real server in
    tests/e2e/test_public.py: AppTest runs a switched-to page file on its own."""
    monkeypatch.setenv("RIVERGRID_READ_LOGIN", "1")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert titles(at) == ["登录"]  # the default page for a visitor is still the sign-in
    assert "pages/public.py" in [Path(str(p.get("script_path"))).relative_to(PROJECT_DIR).as_posix()
                                 for p in at._registered_pages.values() if p.get("script_path")]
    at = at.switch_page("pages/public.py").run()
    assert not at.exception
    assert titles(at) == ["责任公示"]
    text = page_text(at)
    for name in ("何兆花", "张力文", "王立军", "孙凤海", "鸭绿江森工街道段（上段）", "定职责", "0439-52xxx03（示意）"):
        assert name in text


def test_public_page_shows_public_fields_and_reads_nothing_else(app_env: Path) -> None:
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=120).run()  # first start: demo loaded
    store = get_store()
    with store.session(STAFF) as s:
        he = s.scalar(select(Person).where(Person.name == "何兆花"))
        he.phone, he.phone_public = "13900001111", False
        zhang = s.scalar(select(Person).where(Person.name == "张力文"))
        zhang.phone, zhang.phone_public = "13900002222", True
        incident_titles = list(s.scalars(select(Incident.title)))
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.session() as s:
            dongxing = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        at.query_params["grid"] = str(dongxing)
        at = at.switch_page("pages/public.py").run()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert not at.exception
    text = page_text(at)
    assert "13900002222" in text and "13900001111" not in text
    assert "赵春梅" not in text  # a volunteer of 森工社区; never published
    assert not [t for t in incident_titles if t in text]
    assert "SJ-2026" not in text
    # the page's queries touch the public tables only (and the newest audit id, its cache key)
    touched = set()
    for sql in statements:
        touched |= set(re.findall(r"\b(?:FROM|JOIN)\s+\"?(\w+)", sql, flags=re.IGNORECASE))
    assert touched <= {"grids", "grid_roles", "persons", "reaches", "rivers", "reach_chiefs", "audit_log"}, touched
    audit_reads = [sql for sql in statements if "audit_log" in sql]
    assert all(re.search(r"max\(audit_log\.id\)", sql) for sql in audit_reads), audit_reads
    assert any(d.label == "下载公示牌 PDF" for d in at.get("download_button"))


def test_a_qr_link_selects_the_grid_and_the_reach(app_env: Path) -> None:
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=120).run()
    with get_store().session() as s:
        sengong = s.scalar(select(Grid.id).where(Grid.name == "森工街道森工社区"))
        reach = s.scalar(select(Reach).where(Reach.code == "SGH-01"))
        reach_id, reach_name = reach.id, reach.name
    at.query_params["grid"] = str(sengong)
    at.query_params["reach"] = str(reach_id)
    at = at.switch_page("pages/public.py").run()
    assert not at.exception
    assert at.selectbox[0].value == sengong
    assert [h.value for h in at.header] == ["森工街道森工社区（边界示意）"]
    assert any(f"所选河段：{reach_name}" in i.value.replace("\\", "") for i in at.info)
    assert any(d.label.startswith("下载河段公示牌 PDF") for d in at.get("download_button"))
    # the resident's way to report from the signboard: the phone app's form for this grid and reach
    (report,) = at.get("link_button")
    assert report.proto.label == "我要举报：拍照上报河湖问题"
    assert report.proto.url == f"m/report?grid={sengong}&reach={reach_id}"


def test_public_page_shows_people_as_cards_with_their_public_phones(app_env: Path) -> None:
    """On a phone a data grid cuts the phone column off and brings a download/search toolbar: the
    page shows people (and reaches) as cards of text instead, every public phone whole."""
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=120).run()
    with get_store().session(STAFF) as s:
        dongxing = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        for name, phone, public in (("何兆花", "0439-5221234", True), ("王立军", "13900003333", True),
                                    ("张力文", "13900002222", False)):
            person = s.scalar(select(Person).where(Person.name == name))
            person.phone, person.phone_public = phone, public
    at.query_params["grid"] = str(dongxing)
    at = at.switch_page("pages/public.py").run()
    assert not at.exception
    assert not at.dataframe  # no data grid (and so no toolbar) anywhere on the page
    cards = "".join(h.proto.body for h in at.get("html") if "rg-person" in h.proto.body)
    for phone in ("0439-5221234", "13900003333"):
        assert f">{phone}</a>" in cards  # shown as text (and callable: a tel: link)
    assert 'href="tel:04395221234"' in cards
    assert "13900002222" not in page_text(at)  # not public
    assert cards.count('class="rg-card rg-person"') >= 3
