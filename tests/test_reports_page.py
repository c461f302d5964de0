"""Page 信息报送 (AppTest) on the demo: a village's staff build last month's report and submit it;
the township's staff then see it among their lower grids as 已报送 (late: October's deadline, the
6th of November, has passed on the suite's pinned date) and the other village as 逾期; a leader
reads without the submit form."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR

APP = str(PROJECT_DIR / "app.py")


def open_page(username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    from gis.accounts.users import actor_for
    from ui.state import get_store

    with get_store().session() as s:
        at.session_state["actor"] = actor_for(s, username)
    at = at.run()
    return at.switch_page("pages/reports.py").run()


def status_table(at: AppTest) -> dict[str, str]:
    table = at.dataframe[0].value
    return dict(zip(table["网格"], table["状态"]))


def test_a_village_submits_and_the_township_sees_its_lower_grids(app_env: Path) -> None:
    at = open_page("dongxing")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["信息报送"]
    assert at.selectbox(key="reports_period_month").value == "2026-10"  # the latest month that has ended
    assert status_table(at) == {"森工街道东兴村": "逾期"}
    at.button(key="reports_build").click().run()
    assert not at.exception, at.exception
    labels = [d.proto.label for d in at.get("download_button")]
    assert "下载 Excel" in labels and "下载 PDF" in labels
    next(b for b in at.button if b.label == "报送").click().run()
    assert not at.exception, at.exception
    assert any("已报送第 1 版" in x.value for x in at.success)

    at = open_page("staff")
    assert not at.exception, at.exception
    assert status_table(at) == {
        "临江市森工街道办事处": "逾期",
        "森工街道东兴村": "已报送（逾期报送）",
        "森工街道森工社区": "逾期",
    }
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["下载 Excel", "下载 PDF"]  # the submitted report of 东兴村, opened by the upper grid

    at = open_page("leader")
    assert not at.exception, at.exception
    at.button(key="reports_build").click().run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.label == "报送"]
