"""Page 考核评价 driven headless (AppTest) on the demo data: tables, charts, Excel download, and the
evaluation form for a permitted role (draft, submit, locked, new edition)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR

APP = str(PROJECT_DIR / "app.py")


def open_page(actor=None) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(APP, default_timeout=240).run()
    if actor is not None:
        at.session_state["actor"] = actor
    return at.switch_page("pages/assessment.py").run()


def test_page_shows_scores_trend_and_offers_excel_without_sign_in(app_env: Path) -> None:
    at = open_page()
    assert not at.exception
    assert [t.value for t in at.title] == ["考核评价"]
    assert [t.label for t in at.tabs] == ["指标与得分", "逐月趋势", "年度评价"]
    table = at.dataframe[0].value
    assert list(table["网格"]) == ["森工街道东兴村", "森工街道森工社区"]  # village level by default
    assert {"巡河完成率", "发现问题（件）", "百分制得分", "同级排名"} <= set(table.columns)
    assert sorted(table["同级排名"]) == ["1/2", "2/2"]
    labels = [m.label for m in at.metric]
    assert labels == ["网格数", "巡河完成率", "发现问题 / 超期", "同级最高分"]
    # without sign-in: no form, a hint instead
    assert any("填写考核评价" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "新建版本"]


def test_staff_fill_save_submit_and_then_need_a_new_edition(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=240).run()  # loads the demo
    from gis.accounts.users import actor_for
    from ui.state import get_store

    with get_store().session() as s:
        staff = actor_for(s, "staff")  # home grid: the township
    at = open_page(staff)
    assert not at.exception
    grids = at.selectbox(key="eval_grid")
    assert grids.options[grids.index] == "临江市森工街道办事处（乡级网格）"  # the staff account's own grid first
    # the form starts from the system's points; submit it
    submit = next(b for b in at.button if b.label == "提交（提交后锁定）")
    submit.click().run()
    assert not at.exception, at.exception
    assert any("已提交并锁定" in w.value for w in at.warning)
    assert [b.label for b in at.button if b.label == "新建版本"] == ["新建版本"]
    at.button(key="eval_new").click().run()  # no reason given
    assert any("更改原因" in e.value for e in at.error)
    at.text_input(key="eval_reason").input("补充材料").run()
    at.button(key="eval_new").click().run()
    assert not at.exception
    editions = at.dataframe[-1].value
    assert list(editions["版本"]) == [1, 2] and list(editions["状态"]) == ["已提交（已锁定）", "草稿"]
    assert list(editions["更改原因"]) == ["", "补充材料"]
