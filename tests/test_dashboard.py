"""河湖一张图 as a leader meets it (AppTest on the demo): the map spans the page with the chain
floating over it, KPI cards with their trend, the month they show is the latest with records and
the page says so, and the legend folds. The width on screen (≥ 70 % of 1,400 pixels) is measured
in Chromium by ``tests/e2e/test_home.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP

from layers.home_map import HomeLegend, legend_html
from ui.dashboard import HOME_CSS, IDLE_KEY, PANEL_KEY, STAGE_KEY, period_label, period_note
from ui.map_state import MAP_HEIGHT_PX, MAP_WIDTH_PX

DECEMBER = "2026-12-07T09:00+08:00"  # a month in which the demo has recorded nothing yet


def _children(node):  # type: ignore[no-untyped-def]
    kids = getattr(node, "children", None)
    return list(kids.values()) if isinstance(kids, dict) else []


def _find(node, key: str):  # type: ignore[no-untyped-def]
    if getattr(node, "key", None) == key:
        return node
    for child in _children(node):
        found = _find(child, key)
        if found is not None:
            return found
    return None


def test_the_map_spans_the_page_and_the_chain_floats_over_it(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    main = _children(at.main)
    stage = next(n for n in main if getattr(n, "key", None) == STAGE_KEY)  # a direct child: no column around it
    kinds = [getattr(c, "type", None) for c in _children(stage)]
    assert kinds[0] == "component_instance"  # the map first, alone on its row…
    panel = _children(stage)[1]
    assert panel.key == PANEL_KEY  # …then the chain panel, which the page style floats over it
    assert _find(panel, IDLE_KEY) is not None and "点击地图上的" in panel.markdown[0].value
    assert f".st-key-{PANEL_KEY}" in HOME_CSS and "position:absolute" in HOME_CSS
    assert f".st-key-{STAGE_KEY}{{position:relative}}" in HOME_CSS
    assert "@media (max-width: 800px)" in HOME_CSS  # on a phone the panel drops below the map
    # the default view is computed for the map's real size
    assert MAP_WIDTH_PX >= 980 and MAP_HEIGHT_PX <= 620


def test_kpi_cards_show_this_month_with_the_change_against_the_last(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()  # the tests' clock: 2026-11-28
    cards = {m.label: m for m in at.metric}
    assert list(cards) == ["河段（7 段）", "网格覆盖率", "在办事件", "超期事件", "本月巡河", "本月上报事件"]
    assert cards["本月巡河"].value == "4 次"  # the demo's four November tracks
    assert cards["本月巡河"].proto.delta == "0"  # four in October as well
    assert not [c for c in at.caption if "还没有巡河轨迹" in c.value]  # this month has records: no note


def test_a_month_without_records_opens_on_the_latest_month_with_data_and_says_so(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIVERGRID_NOW", DECEMBER)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    cards = {m.label: m for m in at.metric}
    assert cards["11月巡河"].value == "4 次"  # not "本月巡河 0 次"
    assert "11月上报事件" in cards
    notes = [c.value for c in at.caption if "还没有巡河轨迹" in c.value]
    assert notes == ["本月（2026年12月）还没有巡河轨迹和事件记录；巡河与上报显示有记录的最近一个月：2026年11月，"
                     "并与上月（2026年10月）比较。"]


def test_period_words() -> None:
    kpi = {"month": "2026-11", "current_month": "2026-11", "previous_month": "2026-10"}
    assert period_label(kpi) == "本月" and period_note(kpi) is None
    assert period_label({**kpi, "current_month": "2026-12"}) == "11月"
    assert period_label({**kpi, "month": "2025-12", "current_month": "2026-01"}) == "2025年12月"


def test_the_legend_folds_and_starts_folded_on_a_small_map() -> None:
    import folium

    html = legend_html(categories=["ecology"])
    assert html.startswith("<details open><summary>图例</summary>") and html.endswith("</details>")
    m = folium.Map()
    HomeLegend(html, fold_below_px=700).add_to(m)
    script = m.get_root().render()
    assert "map.getSize().x < 700" in script and "box.open = false" in script
