"""Streamlit's own widget texts in Chromium: the uploader's "Upload" / "200MB per file • …" and the
date input's ``yyyy-mm-dd`` are replaced by Chinese on every page that has them (``ui.zh``); the
English stays in the document but is drawn at size 0, the Chinese is what the user sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import save_screenshot, settle
from .test_incidents import open_page, sign_in
from .test_map_click import OFFLINE_ENV

pytestmark = pytest.mark.e2e

_SEEN = """(el) => {
    const after = getComputedStyle(el, '::after').content;
    return {size: getComputedStyle(el).fontSize, after: after === 'none' ? '' : JSON.parse(after)};
}"""


def seen(locator):  # type: ignore[no-untyped-def]
    """What the user sees of an element: its own text's size and the text written after it."""
    return locator.evaluate(_SEEN)


def test_uploaders_and_date_inputs_speak_chinese(app_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), **OFFLINE_ENV})
    sign_in(page, base_url, "staff")
    open_page(page, "事件处置")

    # the list's date filter: empty parts read 年-月-日, not yyyy-mm-dd
    date = page.locator('[data-testid="stDateInput"]').first
    date.wait_for(timeout=60_000)
    for part, text in (("year", "年"), ("month", "月"), ("day", "日")):
        segment = date.locator(f'[role="spinbutton"][data-type="{part}"]').first
        assert seen(segment) == {"size": "0px", "after": text}, part

    # the report form's photo uploader
    page.get_by_text("上报事件", exact=True).click()
    uploader = page.locator(".st-key-inc_report_photos")
    uploader.wait_for(timeout=60_000)
    settle(page)
    assert seen(uploader.locator("button p").first) == {"size": "0px", "after": "选择文件"}
    line = seen(uploader.locator('[data-testid="stFileUploaderDropzoneInstructions"] span').first)
    assert line["size"] == "0px"
    assert line["after"] == "每个文件不超过 10 MB；JPG、JPEG、PNG、WEBP 等 8 种；可拖入此处"
    uploader.scroll_into_view_if_needed()
    save_screenshot(page, "incidents-report", keep=tmp_path)

    # the track uploader of 巡河管理 states the server's limit (RIVERGRID_MAX_FILE_MB, 50 MB)
    open_page(page, "巡河管理")
    page.get_by_text("上传巡河轨迹").click()
    track = page.locator('[class*="st-key-patrol_upload_"]').first
    track.wait_for(timeout=60_000)
    line = seen(track.locator('[data-testid="stFileUploaderDropzoneInstructions"] span').first)
    assert line["after"] == "文件不超过 50 MB；GPX、KML、KMZ、CSV；可拖入此处"
