"""曝光台 (issue 17): the public page of a grid shows its closed cases with public fields only and
its monthly figures; 一河一档/一河一策 on the public page and in the chain panel.

Hostile data: a closed case of 东兴村 gets HTML/script in its title and its public reply, and phone
numbers in every private field (reporter, contact, description, a workflow note). None of the
private texts may reach the page, and no stored text may become markup."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import shapely
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.auth import SYSTEM, Actor
from gis.config import PROJECT_DIR
from gis.disclosure.archives import reach_archive, river_archive
from gis.disclosure.results import closed_cases, monthly_figures, set_public_reply
from gis.errors import PermissionDenied
from gis.model import Category, IncidentStatus, UserRole
from gis.store import Store
from gis.store.schema import Grid, Incident, IncidentEvent, Reach, River

APP = str(PROJECT_DIR / "app.py")
DONGXING = "森工街道东兴村"
STAFF = Actor("staff", UserRole.STAFF, "高雪")

HOSTILE_TITLE = '<script>alert("t")</script>垃圾<img src=x onerror=alert(1)> 回电 13912345678'
HOSTILE_REPLY = "<b>已清理</b><script>alert('r')</script> 回访电话 13911112222"
PRIVATE = {
    "reporter": "举报人张秘密 13800001111",
    "reporter_contact": "13700002222",
    "description": "描述里的秘密 <iframe src=//evil> 13600003333",
}
NOTE = "联系举报人李秘密 13500004444"
SECRETS = ("13800001111", "张秘密", "13700002222", "描述里的秘密", "13600003333", "李秘密", "13500004444",
           "13912345678", "13911112222", "iframe", "<script")


@pytest.fixture(autouse=True)
def public_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", "https://hezhang.example.gov.cn")


def make_hostile(store: Store) -> str:
    """Put the hostile texts on 东兴村's archived demo case SJ-2026-001; its code."""
    with store.session(SYSTEM) as s:
        case = s.scalar(select(Incident).where(Incident.code == "SJ-2026-001"))
        assert case.status == "archived" and case.grid.name == DONGXING
        case.title = HOSTILE_TITLE
        case.public_reply = HOSTILE_REPLY
        for key, value in PRIVATE.items():
            setattr(case, key, value)
        s.add(IncidentEvent(incident=case, action="urge", from_status="archived", to_status="archived",
                            by="高雪", note=NOTE, at=datetime(2026, 11, 1, tzinfo=UTC)))
        return case.code


def test_closed_cases_carry_public_fields_only(demo_store: Store) -> None:
    code = make_hostile(demo_store)
    with demo_store.session() as s:
        dx = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        town = s.scalar(select(Grid.id).where(Grid.name == "临江市森工街道办事处"))
        closed_in_dx = {i.code for i in s.scalars(select(Incident).where(
            Incident.grid_id == dx, Incident.status.in_(["archived", "transferred"]), Incident.category != "petition"))}
        open_codes = {i.code for i in s.scalars(select(Incident).where(
            Incident.status.not_in(["archived", "transferred", "rejected"])))}
        cases = closed_cases(s, dx)
        town_cases = closed_cases(s, town)
    assert {c.code for c in cases} == closed_in_dx and code in closed_in_dx
    assert not {c.code for c in town_cases} & open_codes  # open cases are never on the 曝光台
    assert {c.code for c in cases} < {c.code for c in town_cases}  # the township shows its villages' too
    text = repr([c.to_dict() for c in cases])
    for secret in ("13800001111", "张秘密", "13700002222", "描述里的秘密", "13600003333", "李秘密", "13500004444"):
        assert secret not in text
    mine = next(c for c in cases if c.code == code)
    assert "139****5678" in mine.title and "139****2222" in mine.reply  # numbers masked, as gis.incidents.public does
    assert mine.closed_on and mine.reported_on <= mine.closed_on
    assert mine.status == IncidentStatus.ARCHIVED.label and mine.category == Category.ECOLOGY.label
    assert mine.place  # the reach's (or grid's) name, never the exact point


def test_petitions_stay_off_the_public_page(demo_store: Store) -> None:
    with demo_store.session(SYSTEM) as s:
        dx = s.scalar(select(Grid).where(Grid.name == DONGXING))
        s.add(Incident(code="T-PET-1", title="信访：某户反映邻居", category="petition", status="archived", grid=dx,
                       geom=shapely.Point(126.93, 41.80), closed_at=datetime(2026, 11, 2, tzinfo=UTC)))
    with demo_store.session() as s:
        assert "T-PET-1" not in {c.code for c in closed_cases(s, s.scalar(select(Grid.id).where(Grid.name == DONGXING)))}


def test_monthly_figures_count_what_a_naive_loop_counts(demo_store: Store) -> None:
    with demo_store.session() as s:
        dx = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
        months = monthly_figures(s, dx, months=6)
        rows = s.execute(select(Incident.reported_at, Incident.closed_at, Incident.close_due_at, Incident.status)
                         .where(Incident.grid_id == dx)).all()
    assert [m.month for m in months] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]

    def month(t: datetime | None) -> str | None:  # Beijing time is UTC+8 all year
        if t is None:
            return None
        t = t if t.tzinfo else t.replace(tzinfo=UTC)
        b = t.timestamp() + 8 * 3600
        d = datetime.fromtimestamp(b, UTC)
        return f"{d.year}-{d.month:02d}"

    for m in months:
        assert m.received == sum(1 for r in rows if month(r.reported_at) == m.month)
        done = [r for r in rows if r.status in ("archived", "transferred") and month(r.closed_at) == m.month]
        assert m.closed == len(done)
        assert m.closed_on_time == sum(1 for r in done if r.close_due_at is None or
                                       r.closed_at.replace(tzinfo=UTC) <= r.close_due_at.replace(tzinfo=UTC))
        assert m.patrol_rate is None or 0.0 <= m.patrol_rate <= 1.0
    assert sum(m.received for m in months) > 0


def test_only_handlers_in_scope_write_the_public_reply(demo_store: Store) -> None:
    with demo_store.session(STAFF) as s:
        set_public_reply(s, "SJ-2026-002", "已整改。")
    with demo_store.session() as s:
        assert s.scalar(select(Incident.public_reply).where(Incident.code == "SJ-2026-002")) == "已整改。"
    dongxing_staff = Actor("dongxing", UserRole.STAFF, "王立军")  # bound to 东兴村; SJ-2026-002 is 森工社区's
    with pytest.raises(PermissionDenied), demo_store.session(dongxing_staff) as s:
        set_public_reply(s, "SJ-2026-002", "越权")
    with pytest.raises(PermissionDenied), demo_store.session(Actor("leader", UserRole.LEADER, "孙凤海")) as s:
        set_public_reply(s, "SJ-2026-002", "领导不处置")


def test_demo_rivers_have_archives_and_2026_plans(demo_store: Store) -> None:
    with demo_store.session() as s:
        yalu = s.scalar(select(River.id).where(River.name == "鸭绿江"))
        dxg = s.scalar(select(Reach.id).where(Reach.code == "DXG-01"))
        a = river_archive(s, yalu, year=2026)
        r = reach_archive(s, dxg, year=2026)
        none = river_archive(s, yalu, year=2025)
    assert a.length_km == 795.0 and a.source and a.mouth and a.basin
    assert a.plan is not None and len(a.plan.targets) >= 2 and len(a.plan.tasks) >= 2
    assert none.plan is None
    assert r.river.name == "东兴沟（示意）" and r.river.plan is not None
    assert "示意" in r.river.water_function_zone  # invented facts say so
    assert r.length_km > 0


# =============================================================================================
# The page (AppTest) and its HTML
# =============================================================================================


class Tags(HTMLParser):
    """Every start tag and attribute name in an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def page_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.header, *at.subheader, *at.markdown, *at.caption, *at.info)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [h.proto.body for h in at.get("html")]
    return "\n".join(str(p) for p in parts)


def test_public_page_of_dongxing_shows_closed_cases_without_private_fields(app_env: Path) -> None:
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=180).run()
    store = get_store()
    code = make_hostile(store)
    with store.session() as s:
        dx = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
    at.query_params["grid"] = str(dx)
    at.query_params["view"] = "results"
    at = at.switch_page("pages/public.py").run()
    assert not at.exception
    assert [h.value for h in at.subheader][:1] == ["曝光台：问题办理结果"]
    text = page_text(at)
    for secret in SECRETS:
        assert secret not in text, secret
    html = "".join(h.proto.body for h in at.get("html"))
    assert code in html
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;垃圾" in html  # shown as typed, escaped
    assert "&lt;b&gt;已清理&lt;/b&gt;" in html and "139****2222" in html
    parsed = Tags()
    parsed.feed(html)
    assert set(parsed.tags) <= {"style", "div", "b", "table", "tr", "th", "td", "ul", "li"}, set(parsed.tags)
    assert set(parsed.attrs) <= {"class", "style"}, set(parsed.attrs)
    assert "月份" in html and "巡河完成率" in html  # the monthly figures
    assert html.count('class="rg-card rg-case"') >= 2  # the demo's closed 东兴村 cases


def test_public_page_shows_the_river_archives_and_plans(app_env: Path) -> None:
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=180).run()
    with get_store().session() as s:
        dx = s.scalar(select(Grid.id).where(Grid.name == DONGXING))
    at.query_params["grid"] = str(dx)
    at = at.switch_page("pages/public.py").run()
    assert not at.exception
    at.radio(key="public_view").set_value("rivers").run()
    assert not at.exception
    html = "".join(h.proto.body for h in at.get("html"))
    assert "东兴沟（示意）" in html and "2026 年一河一策" in html and "水功能区" in html
    assert at.query_params["view"] == ["rivers"] or at.query_params["view"] == "rivers"


def test_chain_panel_lines_of_a_reach_archive_are_escaped(demo_store: Store) -> None:
    from ui.chain_panel import archive_lines

    with demo_store.session(SYSTEM) as s:
        reach = s.scalar(select(Reach).where(Reach.code == "DXG-01"))
        reach.works = "<script>x</script>**粗体**"
        rid = reach.id
    with demo_store.session() as s:
        lines = archive_lines(reach_archive(s, rid, year=2026))
    text = "\n".join(lines)
    assert "<script>" not in text and "**粗体**" not in text
    assert "东兴沟（示意）" in text.replace("\\", "") and "2026 年一河一策目标" in text
    assert any(line.startswith("- ") for line in lines)  # this year's targets as a list


def _reach_panel() -> None:
    import streamlit as st

    from ui.chain_panel import render_selection
    from ui.map_state import Selection

    selection = Selection("reach", st.session_state["reach_id"], 41.81, 126.97, 14)
    render_selection(selection, info={}, index=None, signed_in=False)


def test_clicking_a_reach_shows_its_archive_in_the_chain_panel(app_env: Path) -> None:
    from ui.state import get_store

    with get_store().session() as s:
        reach_id = s.scalar(select(Reach.id).where(Reach.code == "DXG-01"))
    at = AppTest.from_function(_reach_panel, default_timeout=120)
    at.session_state["reach_id"] = reach_id
    at.run()
    assert not at.exception, at.exception
    assert [e.label for e in at.expander] == ["一河一档"]
    text = "\n".join(m.value for m in at.expander[0].markdown).replace("\\", "")
    assert "东兴沟（示意）" in text and "水功能区" in text and "2026 年一河一策目标" in text
    assert "沟道无垃圾、无违建" in text  # a target of the demo plan
