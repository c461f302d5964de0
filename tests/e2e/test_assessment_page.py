"""Page 考核评价 in Chromium on the demo data: signed in as staff, the score table, the charts and
the evaluation form render without browser errors; a screenshot is kept for review."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("RIVERGRID_SCREENSHOTS", "")) if os.environ.get("RIVERGRID_SCREENSHOTS") else None


def test_assessment_page_renders_scores_charts_and_the_form(
    app_server, page, blocked_requests: list, browser_errors: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none"})
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(base_url, wait_until="domcontentloaded")  # (a deep link makes Streamlit probe /login/_stcore: 404s)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("登录").click()
    page.get_by_label("用户名").fill("staff")
    page.get_by_label("密码").fill("rivergrid-demo")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录").first.wait_for(timeout=60_000)
    nav.get_by_text("考核评价").click()
    page.get_by_role("heading", name="考核评价").wait_for(timeout=90_000)
    page.get_by_text("各网格得分比较").wait_for(timeout=90_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
    page.locator('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]').first.wait_for(timeout=30_000)
    page.get_by_role("button", name="下载考核汇总表 Excel").wait_for(timeout=30_000)
    out = SHOTS or tmp_path
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "assessment_scores.png"), full_page=True)

    page.get_by_role("tab", name="年度评价").click()
    page.get_by_text("评价的网格").wait_for(timeout=30_000)
    page.get_by_role("button", name="提交（提交后锁定）").wait_for(timeout=30_000)
    page.screenshot(path=str(out / "assessment_evaluation.png"), full_page=True)
    page.get_by_role("tab", name="逐月趋势").click()
    page.get_by_text("巡河完成率（逐月）").wait_for(timeout=60_000)
    page.screenshot(path=str(out / "assessment_trend.png"), full_page=True)

    assert browser_errors == [], missing
    assert [r for r in blocked_requests if r.resource_type in ("script", "stylesheet", "font", "document")] == []
