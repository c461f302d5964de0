"""A refused action shows its Chinese message on the page and leaves its English reason in the
log for the operator (no English on screen)."""

from __future__ import annotations

import logging

from streamlit.testing.v1 import AppTest


def _page() -> None:
    from gis.errors import ValidationError
    from ui.state import show_error

    show_error(ValidationError("网格名称“东兴村”已存在", "duplicate grid name 'dongxing'"))


def test_page_shows_chinese_and_logs_the_english_reason(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="rivergrid.ui")
    at = AppTest.from_function(_page).run(timeout=60)
    assert [e.value for e in at.error] == ["网格名称“东兴村”已存在"]
    shown = [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert not any("duplicate" in text for text in shown)
    logged = [r for r in caplog.records if r.name == "rivergrid.ui"]
    assert [(r.levelno, r.getMessage()) for r in logged] == [
        (logging.WARNING, "ValidationError: duplicate grid name 'dongxing'")
    ]
