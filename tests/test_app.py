"""The Streamlit app driven headless with ``streamlit.testing`` (AppTest): routing and sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR

APP = str(PROJECT_DIR / "app.py")


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    inputs = {t.label: t for t in at.text_input}
    inputs["用户名"].input(username)
    inputs["密码"].input(password)
    next(b for b in at.button if b.label == "登录").click()
    return at.run()


@pytest.mark.first_start  # app_env leaves the data folder empty
def test_first_start_loads_the_demo_and_shows_the_overview(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert (app_env / "rivergrid.sqlite").exists()  # created on first run
    assert [t.value for t in at.title] == ["河湖一张图"]
    labels = [m.label for m in at.metric]
    assert labels == ["河段（7 段）", "网格覆盖率", "在办事件", "超期事件", "本月巡河", "本月上报事件"]
    assert at.metric[0].value.endswith("公里")
    assert "未登录（只读浏览）" in [c.value for c in at.sidebar.caption]


def test_reading_can_require_sign_in(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_READ_LOGIN", "1")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert [t.value for t in at.title] == ["登录"]  # the map is not reachable
    assert not at.metric
    at = sign_in(at, "leader", "wrong-password")
    assert [e.value for e in at.error] == ["用户名或密码错误"]
    at = sign_in(at, "leader", "rivergrid-demo")
    assert not at.exception
    assert [s.value for s in at.success] == ["已登录：孙凤海（领导）"]


def test_admin_undoes_a_change_from_the_history_page(app_env: Path) -> None:
    from sqlalchemy import select

    from gis.auth import Actor
    from gis.model import UserRole
    from gis.store import Store
    from gis.store.schema import Grid

    at = AppTest.from_file(APP, default_timeout=120).run()  # first start: demo loaded
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session(Actor("staff", UserRole.STAFF)) as s:
        s.scalar(select(Grid).where(Grid.name == "森工街道东兴村")).name = "东兴村（改错了）"
    at = sign_in(at.switch_page("pages/login.py").run(), "admin", "rivergrid-demo")
    at = at.switch_page("pages/audit.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    newest = table.iloc[0]
    assert (newest["username"], newest["action"], newest["table"], newest["name"]) == ("staff", "修改", "网格", "东兴村（改错了）")
    assert newest["fields"] == "网格名称"
    at.number_input[0].set_value(int(newest["id"]))
    next(b for b in at.button if b.label == "撤销").click()
    at = at.run()
    assert [s.value for s in at.success] == ["已撤销 1 项修改（撤销本身也已记录；撤销错了，可再撤销这条撤销记录）。"]
    with store.session() as s:
        assert s.scalar(select(Grid.name).where(Grid.id == int(newest["row_id"]))) == "森工街道东兴村"
    store.dispose()


def test_leaders_see_the_history_but_cannot_undo(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "leader", "rivergrid-demo")
    at = at.switch_page("pages/audit.py").run()
    assert not at.exception and len(at.dataframe) == 1
    assert not [b for b in at.button if b.label == "撤销"]
