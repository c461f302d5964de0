"""The 待办 page and its links, driven headless with ``streamlit.testing`` (AppTest) on the demo."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR
from gis.store import Store
from gis.store.schema import Person

APP = str(PROJECT_DIR / "app.py")


def signed_in(username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at = at.switch_page("pages/login.py").run()
    inputs = {t.label: t for t in at.text_input}
    inputs["用户名"].input(username)
    inputs["密码"].input("rivergrid-demo")
    next(b for b in at.button if b.label == "登录").click()
    return at.run()


def html_of(at: AppTest) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def test_the_staff_inbox_lists_its_items_grouped_overdue_first(app_env: Path) -> None:
    at = signed_in("staff").switch_page("pages/inbox.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["待办"]
    body = html_of(at)
    assert body.count('data-testid="inbox-item"') == 12 and 'data-testid="inbox-empty"' not in body
    headings = [m.value for m in at.markdown if m.value.startswith("#####")]
    # the group of the most urgent item first: 2025's report is overdue since January
    assert headings == ["##### 信息报送（3，已超期 3）", "##### 待办事件（5，已超期 1）", "##### 事件期限提醒（1，已超期 1）",
                        "##### 考核评价（3）"]
    assert body.index("SJ-2026-008") < body.index("SJ-2026-012") < body.index("SJ-2026-011")  # overdue first


def test_an_account_with_nothing_to_do_sees_why(app_env: Path) -> None:
    at = signed_in("patroller").switch_page("pages/inbox.py").run()
    assert not at.exception
    body = html_of(at)
    assert 'data-testid="inbox-empty"' in body and "当前没有待办事项" in body
    assert 'data-testid="inbox-item"' not in body


def test_a_link_opens_the_case_on_the_incidents_page(app_env: Path) -> None:
    at = signed_in("staff")
    at.query_params["case"] = "SJ-2026-011"
    at = at.switch_page("pages/incidents.py").run()
    assert not at.exception
    pick = next(s for s in at.selectbox if s.label == "查看事件")
    assert pick.value == 11
    assert "case" not in at.query_params  # applied once: the list's own choice rules afterwards


def test_a_report_link_opens_that_period_and_grid_on_the_reports_page(app_env: Path) -> None:
    at = signed_in("staff")
    at.query_params["period"] = "2026-Q3"
    at.query_params["grid"] = "3"
    at = at.switch_page("pages/reports.py").run()
    assert not at.exception
    chosen = {s.label: s.value for s in at.selectbox}
    assert (chosen["报表类型"], chosen["报告期"], chosen["网格"]) == ("quarter", "2026-Q3", 3)
    assert "period" not in at.query_params and "grid" not in at.query_params  # applied once


def test_a_patroller_sets_its_own_quiet_hours_on_the_inbox_page(app_env: Path) -> None:
    at = signed_in("patroller").switch_page("pages/inbox.py").run()
    assert not at.exception
    fields = {t.label: t for t in at.text_input}
    fields["免打扰时段"].input("21:00-06:30")
    fields["电子邮箱"].input("不是邮箱")
    at = next(b for b in at.button if b.label == "保存接收设置").click().run()
    assert [e.value for e in at.error] == ["电子邮箱格式无效：不是邮箱"]  # nothing saved
    fields = {t.label: t for t in at.text_input}
    fields["电子邮箱"].input("hzh@example.org")
    at = next(b for b in at.button if b.label == "保存接收设置").click().run()
    assert not at.exception and [s.value for s in at.success] == ["已保存"]
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}", migrate=False)
    try:
        with store.session() as s:
            me = s.scalar(select(Person).where(Person.name == "何兆花"))
            assert (me.quiet_hours, me.email) == ("21:00-06:30", "hzh@example.org")
    finally:
        store.dispose()
