"""Streamlit's fixed English widget texts are replaced on every page (``ui.zh``): no page draws an
uploader or a date input but through its wrappers, and the wrappers' texts are Chinese. What the
browser shows is checked in ``tests/e2e/test_chinese_widgets.py``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gis.config import PROJECT_DIR
from ui.zh import DATE_CSS, uploader_css, uploader_instructions

SOURCES = sorted([PROJECT_DIR / "app.py", *(PROJECT_DIR / "pages").glob("*.py"), *(PROJECT_DIR / "ui").glob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(PROJECT_DIR).as_posix())
def test_no_page_draws_streamlits_uploader_or_date_input_directly(path: Path) -> None:
    if path.name == "zh.py":
        return
    calls = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("file_uploader", "date_input")
        and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "zh")
    ]
    assert not calls, f"{path.name}: use ui.zh.file_uploader / ui.zh.date_input (lines {calls})"


def test_the_replacement_texts_are_chinese_and_state_limit_and_types() -> None:
    assert uploader_instructions(["gpx", ".kml"], 50) == "文件不超过 50 MB；GPX、KML；可拖入此处"
    assert uploader_instructions(["jpg", "png"], 2.5, multiple=True) == "每个文件不超过 2.5 MB；JPG、PNG；可拖入此处"
    css = uploader_css("inc_report_photos", "每个文件不超过 10 MB")
    assert ".st-key-inc_report_photos" in css and 'content:"选择文件"' in css and 'content:"每个文件不超过 10 MB"' in css
    assert re.search(r"content:\"年\"", DATE_CSS) and "data-placeholder='true'" in DATE_CSS
    with pytest.raises(ValueError, match="letters, digits"):
        uploader_css("a b{}", "x")  # a key can never break out of the selector
