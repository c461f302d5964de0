"""The 待办 inbox in Chromium: the sidebar counts, the page's items, a message marked read, a link to
the case, and the item gone once the case is handled there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .browser import save_screenshot, settle

pytestmark = pytest.mark.e2e


def test_staff_reads_a_message_opens_a_case_from_the_inbox_and_handles_it(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none"})
    # one pass of the notification runner on the server's database (the server's own schedule is off
    # in tests): the staff gets its in-app messages
    env = {**os.environ, "RIVERGRID_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    run = subprocess.run([sys.executable, "-m", "gis", "notify", "run", "--json"], env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["counts"]["sent"] > 0
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(base_url, wait_until="domcontentloaded")  # (a deep link makes Streamlit probe /login/_stcore: 404s)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("登录").click()
    page.get_by_label("用户名").fill("staff")
    page.get_by_label("密码").fill("rivergrid-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录").first.wait_for(timeout=60_000)
    expect(page.get_by_test_id("inbox-count")).to_have_text("12", timeout=60_000)
    expect(page.get_by_test_id("message-unread-count")).to_have_text("2")
    nav.get_by_text("待办 (12)", exact=True).click()
    page.get_by_role("heading", name="待办").first.wait_for(timeout=60_000)
    items = page.get_by_test_id("inbox-item")
    expect(items).to_have_count(12, timeout=30_000)
    expect(items.first).to_contain_text("已超期")
    messages = page.get_by_test_id("message-item")
    expect(messages).to_have_count(2, timeout=30_000)
    expect(page.locator('[data-testid="message-item"][data-read="未读"]')).to_have_count(2)
    expect(messages.first).to_contain_text("SJ-2026-")
    settle(page)
    save_screenshot(page, "inbox")
    first_id = messages.first.get_attribute("data-id")
    page.locator(f".st-key-message_read_{first_id} button").click()
    expect(page.locator(f'[data-testid="message-item"][data-id="{first_id}"]')).to_have_attribute(
        "data-read", "已读", timeout=30_000)
    expect(page.get_by_test_id("message-unread-count")).to_have_text("1", timeout=30_000)
    expect(page.locator(".st-key-message_read_" + first_id)).to_have_count(0)
    accept = page.locator('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]').filter(
        has=page.locator('[data-key="case:12:accept"]')
    ).last
    accept.get_by_role("link", name="去办理").click()
    page.get_by_role("heading", name="事件处置").first.wait_for(timeout=90_000)
    page.get_by_role("heading", name="事件 SJ-2026-012").wait_for(timeout=90_000)
    page.get_by_role("button", name="受理", exact=True).click()
    page.get_by_text("事件 SJ-2026-012：已受理").wait_for(timeout=60_000)
    nav.get_by_text("待办", exact=False).first.click()
    page.get_by_role("heading", name="待办").first.wait_for(timeout=60_000)
    expect(page.locator('[data-key="case:12:assign"]')).to_have_count(1, timeout=30_000)  # its next step
    expect(page.locator('[data-key="case:12:accept"]')).to_have_count(0)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert not blocked_requests and not browser_errors and not missing
