"""The incident list's filters (period, several states/categories, a grid and the grids below it)
and its Excel export, opened again with openpyxl; plus the 事件处置 page per role (AppTest)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.auth import SYSTEM
from gis.config import PROJECT_DIR
from gis.demo import data as dd
from gis.incidents.export import COLUMNS, incident_rows, incidents_excel
from gis.incidents.lists import grid_and_below, list_incidents
from gis.model import LOCAL_TZ, Category
from gis.store import Store
from gis.store.schema import Grid, Incident

NOW = dd.REFERENCE_TIME  # Saturday 2026-11-28 08:00 Beijing time


@pytest.fixture
def demo(demo_store: Store) -> Store:
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def test_filters_by_period_states_categories_and_grid_with_the_grids_below(demo: Store) -> None:
    with demo.session() as s:
        every = list_incidents(s)
        grids = {g.name: g.id for g in s.scalars(select(Grid))}
        by_code = {i.code: i for i in every}
        # naive oracle: filter the full list in Python
        nov = [i.code for i in every
               if datetime(2026, 11, 1, tzinfo=LOCAL_TZ) <= i.reported_at < datetime(2026, 11, 21, tzinfo=LOCAL_TZ)]
        got = [i.code for i in list_incidents(s, since=datetime(2026, 11, 1), until=datetime(2026, 11, 21))]
        assert got == nov and 0 < len(got) < len(every)
        both = [i.code for i in every if i.status in ("archived", "rejected") and i.category in ("ecology", "petition")]
        assert [i.code for i in list_incidents(s, status=["归档", "rejected"], category=["生态环境", "petition"])] == both
        # the township and everything below it: every incident but those filed at the county
        township = grids["临江市森工街道办事处"]
        below = grid_and_below(s, township)
        assert set(below) == {township, grids["森工街道东兴村"], grids["森工街道森工社区"]}
        assert {i.code for i in list_incidents(s, grid_id=below)} == {
            c for c, i in by_code.items() if i.grid_id in below}
        assert [i.code for i in list_incidents(s, grid_id=grids["森工街道东兴村"])] == [
            i.code for i in every if i.grid_id == grids["森工街道东兴村"]]


def test_excel_export_has_chinese_headers_and_the_filtered_rows(demo: Store) -> None:
    with demo.session(SYSTEM) as s:  # user text that looks like a formula stays text
        s.scalar(select(Incident).where(Incident.code == "SJ-2026-009")).description = '=HYPERLINK("http://x","y")'
    with demo.session() as s:
        rows = list_incidents(s, overdue=True, now=NOW)
        table = incident_rows(rows, now=NOW, photo_counts={rows[0].id: 2})
        expected = {i.code: i for i in rows}
        wb = load_workbook(io.BytesIO(incidents_excel(table)))
    ws = wb["事件清单"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == list(COLUMNS.values())
    assert values[0][:6] == ["事件编号", "标题", "类别", "严重程度", "状态", "期限情况"]
    body = [dict(zip(COLUMNS, row)) for row in values[1:]]
    assert sorted(r["code"] for r in body) == ["SJ-2026-008", "SJ-2026-009"]
    for r in body:
        inc = expected[r["code"]]
        assert r["title"] == inc.title and r["overdue"] == "是" and r["deadline"].startswith("已超期")
        assert r["reported_at"] == inc.reported_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        assert (r["lon"], r["lat"]) == (pytest.approx(inc.geom.x, abs=1e-6), pytest.approx(inc.geom.y, abs=1e-6))
    assert [r["photos"] for r in body] == [2, 0]
    nine = next(r for r in body if r["code"] == "SJ-2026-009")
    assert nine["description"] == '=HYPERLINK("http://x","y")'
    cell = next(c for c in ws["S"] if c.value == '=HYPERLINK("http://x","y")')
    assert cell.data_type == "s"  # a string, not a formula
    assert ws.freeze_panes == "B2"


# --- the page, per role (AppTest) ------------------------------------------------------------------

APP = str(PROJECT_DIR / "app.py")


def signed_in_page(username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    if username:
        at = at.switch_page("pages/login.py").run()
        inputs = {t.label: t for t in at.text_input}
        inputs["用户名"].input(username)
        inputs["密码"].input("rivergrid-demo")
        next(b for b in at.button if b.label == "登录").click()
        at = at.run()
    return at.switch_page("pages/incidents.py").run()


def buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def test_leaders_read_everything_and_move_nothing(app_env: Path) -> None:
    at = signed_in_page("leader")
    assert not at.exception and [t.value for t in at.title] == ["事件处置"]
    assert at.radio[0].options == ["事件列表"]  # no reporting
    assert "共 14 件" in at.markdown[0].value
    assert not {"受理", "交办", "开始处置", "督办"} & buttons(at)
    assert any("领导账号只读" in c.value for c in at.caption)
    # the overdue filter shows what the deadline rules call overdue now (naive oracle over every case)
    next(c for c in at.checkbox if c.label == "只看超期").check()
    at = at.run()
    from gis.incidents.deadlines import deadline_status

    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}", migrate=False)
    with store.session() as s:
        overdue = [i for i in s.scalars(select(Incident)) if deadline_status(i).overdue]
    store.dispose()
    assert overdue and at.markdown[0].value.startswith(f"**共 {len(overdue)} 件**")
    assert sorted(at.dataframe[0].value["事件编号"]) == sorted(i.code for i in overdue)


def test_a_patroller_reports_but_does_not_handle(app_env: Path) -> None:
    at = signed_in_page("patroller")
    assert at.radio[0].options == ["事件列表", "上报事件"]
    assert not {"受理", "交办", "开始处置"} & buttons(at)
    at.radio[0].set_value("上报事件").run()
    at.number_input(key="inc_report_lon").set_value(127.0)
    at.number_input(key="inc_report_lat").set_value(41.84).run()
    assert any("森工街道东兴村" in m.value for m in at.markdown)  # routed before saving
    at.text_area[0].input("岸边堆放生活垃圾")
    at.selectbox(key="inc_report_category").set_value(Category.ECOLOGY)  # no default since issue 15
    next(b for b in at.button if b.label == "上报").click()
    at = at.run()
    assert not at.exception
    assert [s.value for s in at.success] and "已上报事件 SJ" in at.success[0].value
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}", migrate=False)
    with store.session() as s:
        inc = s.scalar(select(Incident).order_by(Incident.id.desc()))
        assert (inc.description, inc.status, inc.reporter, inc.grid.name) == (
            "岸边堆放生活垃圾", "reported", "何兆花（巡查员）", "森工街道东兴村")
    store.dispose()


def test_staff_see_the_buttons_their_role_allows_and_accept(app_env: Path) -> None:
    at = signed_in_page("staff")
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}", migrate=False)
    with store.session() as s:
        case = s.scalar(select(Incident.id).where(Incident.code == "SJ-2026-012"))  # 上报, 森工社区
    at.selectbox(key="inc_pick").set_value(case).run()
    assert any(m.value == "#### 事件 SJ\\-2026\\-012" for m in at.markdown)
    assert {"受理", "不予受理", "上报上级", "督办", "转执法/移送司法"} <= buttons(at)
    next(b for b in at.button if b.label == "受理").click()
    at = at.run()
    assert not at.exception
    assert any("已受理，当前状态“受理”" in s.value for s in at.success)
    with store.session() as s:
        assert s.scalar(select(Incident.status).where(Incident.code == "SJ-2026-012")) == "accepted"
    store.dispose()
