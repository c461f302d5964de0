"""公开答复 on 事件处置 (AppTest): a staff member writes the public reply of a closed case in its
detail and the public page's 曝光台 (``?view=results``) shows it; a leader (read-only) gets no form."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR
from gis.store.schema import Grid, Incident

APP = str(PROJECT_DIR / "app.py")
CODE = "SJ-2026-001"  # an archived demo case of 东兴村
REPLY = "已清理沟内垃圾并设置警示牌，欢迎继续监督"


def incidents_page(username: str) -> tuple[AppTest, int]:
    from gis.accounts.users import actor_for
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=240).run()
    with get_store().session() as s:
        at.session_state["actor"] = actor_for(s, username)
        incident_id = s.scalar(select(Incident.id).where(Incident.code == CODE))
    at = at.run()
    at = at.switch_page("pages/incidents.py").run()
    at.selectbox(key="inc_pick").set_value(incident_id).run()
    return at, incident_id


def test_staff_reply_is_saved_and_shown_on_the_public_results(app_env: Path) -> None:
    from ui.state import get_store

    at, incident_id = incidents_page("staff")
    assert not at.exception, at.exception
    assert at.selectbox(key="inc_pick").value == incident_id
    assert any(m.value == "##### 公开答复" for m in at.markdown)
    at.text_area(key=f"inc_reply_text_{incident_id}").input(REPLY)
    next(b for b in at.button if b.label == "保存公开答复").click().run()
    assert not at.exception, at.exception
    assert any("已保存公开答复" in s.value for s in at.success)
    with get_store().session() as s:
        assert s.scalar(select(Incident.public_reply).where(Incident.id == incident_id)) == REPLY
        grid = s.scalar(select(Grid.id).where(Grid.name == "森工街道东兴村"))
    assert at.text_area(key=f"inc_reply_text_{incident_id}").value == REPLY  # the form shows the saved text

    public = AppTest.from_file(APP, default_timeout=240).run()
    public.query_params["grid"] = str(grid)
    public.query_params["view"] = "results"
    public = public.switch_page("pages/public.py").run()
    assert not public.exception, public.exception
    html = "".join(h.proto.body for h in public.get("html"))
    assert CODE in html and REPLY in html


def test_a_leader_sees_no_reply_form(app_env: Path) -> None:
    at, incident_id = incidents_page("leader")
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.label == "保存公开答复"]
    assert not [t for t in at.text_area if t.key == f"inc_reply_text_{incident_id}"]
