"""Page 会议与台账 (AppTest) on the demo: the year's meetings and documents, a meeting recorded
through the form (attendees from the organisation), the ledger workbook offered for download;
a leader reads without a form; a visitor without sign-in does not get the page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR

APP = str(PROJECT_DIR / "app.py")


def open_page(username: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()  # the demo is in the data folder
    if username is not None:
        from gis.accounts.users import actor_for
        from ui.state import get_store

        with get_store().session() as s:
            at.session_state["actor"] = actor_for(s, username)
        at = at.run()  # the navigation lists the page for signed-in accounts only
    return at.switch_page("pages/ledger.py").run()


def test_staff_see_the_demo_meetings_record_one_and_export_the_ledger(app_env: Path) -> None:
    at = open_page("staff")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["会议与台账"]
    assert [t.label for t in at.tabs] == ["会议记录", "文件柜", "导出台账"]
    meetings = at.dataframe[0].value
    assert "2026 年河长制网格化管理工作部署会（示意）" in list(meetings["会议名称"])
    assert "孙凤海" in meetings["参会人员"].iloc[-1]
    docs = at.dataframe[1].value
    assert "临江市森工街道河长制工作网格化管理实施方案" in list(docs["文件名称"])

    at.text_input(key="ledger_meeting_title").input("冬季巡河部署会")
    from sqlalchemy import select

    from gis.store.schema import Person
    from ui.state import get_store

    with get_store().session() as s:
        he = s.scalar(select(Person.id).where(Person.name == "何兆花"))
    at.multiselect(key="ledger_meeting_attendees").select(he)  # the person's id; the box shows 何兆花（东兴村书记）
    at.text_area(key="ledger_meeting_minutes").input("安排冰封期巡河。")
    next(b for b in at.button if b.label == "保存会议").click().run()
    assert not at.exception, at.exception
    assert any("已登记会议" in x.value for x in at.success)
    at = at.run()
    meetings = at.dataframe[0].value
    row = meetings[meetings["会议名称"] == "冬季巡河部署会"]
    assert list(row["参会人员"]) == ["何兆花"]

    at.button(key="ledger_export").click().run()
    assert not at.exception, at.exception
    (download,) = [d for d in at.get("download_button") if d.proto.label == "下载台账 Excel"]
    assert download.proto.label == "下载台账 Excel"
    caption = next(c.value for c in at.caption if c.value.startswith("巡河"))
    assert "会议 3 条" in caption  # two demo meetings of 2026 and the one just recorded (the township's ledger)


def test_a_leader_reads_without_forms_and_a_visitor_does_not_get_the_page(app_env: Path) -> None:
    at = open_page("leader")
    assert not at.exception, at.exception
    assert at.dataframe  # the meetings
    assert not [b for b in at.button if b.label in ("保存会议", "保存文件")]
    visitor = AppTest.from_file(APP, default_timeout=240).run()
    assert not visitor.exception
    pages = [Path(str(p.get("script_path"))).name for p in visitor._registered_pages.values() if p.get("script_path")]
    assert "public.py" in pages and "ledger.py" not in pages  # minutes are not public
