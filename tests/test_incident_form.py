"""The report form of 事件处置 (AppTest, demo data): the category has no default, and a report
without one is refused with a Chinese message and files nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest
from test_app import APP, sign_in

from gis.model import Category
from gis.store import Store
from gis.store.schema import Incident

IN_DONGXING = (126.9754, 41.806)  # lon, lat


def _count(app_env: Path) -> int:
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        n = int(s.scalar(select(func.count()).select_from(Incident)))
    store.dispose()
    return n


def test_the_report_form_has_no_default_category_and_refuses_without_one(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at = sign_in(at.switch_page("pages/login.py").run(), "patroller", "rivergrid-demo")
    at = at.switch_page("pages/incidents.py").run()
    at = at.radio(key="inc_mode").set_value("上报事件").run()
    assert not at.exception
    category = at.selectbox(key="inc_report_category")
    assert category.value is None  # nothing preselected (a garbage report was filed as 排污企业)
    assert category.options[-1] == Category.OTHER.label and len(category.options) == len(Category)
    at.number_input(key="inc_report_lon").set_value(IN_DONGXING[0])
    at.number_input(key="inc_report_lat").set_value(IN_DONGXING[1])
    at = at.run()
    before = _count(app_env)
    next(t for t in at.text_area if t.label == "事件描述").input("岸边有一个塑料瓶")
    at = next(b for b in at.button if b.label == "上报").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["尚未上报：请先选择事件类别（九类重点对象之一，都不是时选“其他”）。"]
    assert _count(app_env) == before  # nothing filed

    at.selectbox(key="inc_report_category").set_value(Category.OTHER)
    at = next(b for b in at.button if b.label == "上报").click().run()
    assert not at.exception and not at.error
    assert _count(app_env) == before + 1
    store = Store(f"sqlite:///{app_env / 'rivergrid.sqlite'}")
    with store.session() as s:
        newest = s.scalar(select(Incident).order_by(Incident.id.desc()))
        assert (newest.category, newest.description) == ("other", "岸边有一个塑料瓶")
    store.dispose()
