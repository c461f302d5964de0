"""Page 一河一档 (AppTest) on the demo: staff edit a river's archive and this year's 一河一策 and
the database and the public page show them; a leader reads without forms."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR
from gis.store.schema import Grid, River, RiverPlan

APP = str(PROJECT_DIR / "app.py")
RIVER = "东兴沟（示意）"


def rivers_page(username: str | None) -> AppTest:
    from gis.accounts.users import actor_for
    from ui.state import get_store

    at = AppTest.from_file(APP, default_timeout=240).run()
    if username is not None:
        with get_store().session() as s:
            at.session_state["actor"] = actor_for(s, username)
        at = at.run()
    return at.switch_page("pages/rivers.py").run()


def river_id() -> int:
    from ui.state import get_store

    with get_store().session() as s:
        return int(s.scalar(select(River.id).where(River.name == RIVER)))


def test_staff_edit_the_archive_and_the_plan_of_this_year(app_env: Path) -> None:
    from ui.state import get_store

    rid = river_id()
    at = rivers_page("staff")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["一河一档"]
    assert RIVER in list(at.dataframe[0].value["河流"])
    at.selectbox(key="rivers_pick").set_value(rid).run()
    assert at.selectbox(key="rivers_year").value == 2026  # this year (the tests' clock)

    at.number_input(key=f"rivers_length_{rid}").set_value(7.25)
    at.text_input(key=f"rivers_basin_{rid}").input("松花江流域（测试）")
    at.text_area(key=f"rivers_works_{rid}").input("东兴沟拦水坝\n2 座涵闸")
    next(b for b in at.button if b.label == "保存一河一档").click().run()
    assert not at.exception, at.exception
    assert any("一河一档" in s.value for s in at.success)

    at.text_area(key=f"rivers_targets_{rid}_2026").input("水质稳定达到 III 类\n无黑臭水体")
    at.text_area(key=f"rivers_tasks_{rid}_2026").input("每周巡河一次")
    next(b for b in at.button if b.label == "保存一河一策").click().run()
    assert not at.exception, at.exception
    assert any("2026 年一河一策" in s.value for s in at.success)

    with get_store().session() as s:
        river = s.get(River, rid)
        assert river.length_km == 7.25 and river.basin == "松花江流域（测试）"
        assert river.works == "东兴沟拦水坝\n2 座涵闸"
        plan = s.scalar(select(RiverPlan).where(RiverPlan.river_id == rid, RiverPlan.year == 2026))
        assert plan.targets == "水质稳定达到 III 类\n无黑臭水体" and plan.tasks == "每周巡河一次"
        dx = s.scalar(select(Grid.id).where(Grid.name == "森工街道东兴村"))
    row = at.dataframe[0].value
    assert list(row[row["河流"] == RIVER]["所属流域"]) == ["松花江流域（测试）"]

    public = AppTest.from_file(APP, default_timeout=240).run()
    public.query_params["grid"] = str(dx)
    public.query_params["view"] = "rivers"
    public = public.switch_page("pages/public.py").run()
    assert not public.exception, public.exception
    html = "".join(h.proto.body for h in public.get("html"))
    assert "松花江流域（测试）" in html and "无黑臭水体" in html and "每周巡河一次" in html


def test_a_leader_reads_the_archive_without_forms(app_env: Path) -> None:
    rid = river_id()
    at = rivers_page("leader")
    assert not at.exception, at.exception
    at.selectbox(key="rivers_pick").set_value(rid).run()
    assert not [b for b in at.button if b.label in ("保存一河一档", "保存一河一策")]
    text = "\n".join(m.value for m in at.markdown)
    assert "水功能区" in text and "2026 年一河一策" in text
