"""Page 消息投递 (AppTest) on the demo: the administrator sees a failed delivery with its error,
runs a pass from the page and then sees what was sent; staff do not get the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR

APP = str(PROJECT_DIR / "app.py")


def open_page(username: str) -> AppTest:
    from gis.accounts.users import actor_for
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=240).run()
    with get_store().session() as s:
        at.session_state["actor"] = actor_for(s, username)
    at = at.run()
    return at.switch_page("pages/deliveries.py").run()


def test_admin_sees_failures_and_runs_a_pass(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_NOTIFY_FILE", str(app_env / "notify.json"))
    monkeypatch.delenv("RIVERGRID_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("RIVERGRID_SMTP_HOST", raising=False)
    from gis.auth import SYSTEM
    from gis.notify.delivery import enqueue_post
    from gis.notify.runner import run_pass
    from ui.state import get_store

    with get_store().session(SYSTEM) as s:  # a POST to a port where nothing listens: it fails
        enqueue_post(s, url="http://127.0.0.1:9/upstream", body={"x": 1}, event_key="test:refused")
    run_pass(get_store())

    at = open_page("admin")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["消息投递"]
    table = at.dataframe[0].value  # first shown: failures and retries
    assert list(table["状态"]) == ["失败待重试"]
    assert table["最近错误"].iloc[0].startswith("请求失败")

    at.selectbox(key="deliveries_filter").select("全部").run()
    at.button(key="deliveries_run").click().run()
    assert not at.exception, at.exception
    assert any("本次新增" in x.value for x in at.success)
    table = at.dataframe[0].value
    assert "已发送" in set(table["状态"]) and any(t.startswith("【超期】SJ-2026-009") for t in table["内容"])


def test_staff_do_not_get_the_page(app_env: Path) -> None:
    at = open_page("staff")
    assert any("无权查看消息投递记录" in w.value for w in at.warning)
    assert not at.dataframe
