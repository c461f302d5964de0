"""Signing in through the real app in Chromium: wrong passwords lock the name with a Chinese
message, the right password works again once the lock time has passed; an account that an
administrator created must choose its own password before it sees anything else."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gis.config import PROJECT_DIR

pytestmark = pytest.mark.e2e

LOCK_S = 4  # a short lock, set by configuration for the test


def attempts_recorded(data_dir: Path, n: int, *, timeout_s: float = 60.0) -> None:
    """Wait until the app has recorded ``n`` sign-in attempts (each submit is one)."""
    engine = create_engine(f"sqlite:///{data_dir / 'rivergrid.sqlite'}")
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(text("SELECT count(*) FROM sign_in_attempts WHERE outcome != 'lock'")).scalar()
            if done >= n or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    assert done >= n, f"{done} sign-in attempts recorded, {n} submitted"


def _try(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_six_wrong_passwords_lock_the_account_until_the_lock_time_has_passed(
    app_server, page, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none",
                           "RIVERGRID_LOCK_S": str(LOCK_S)})
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    alerts = page.locator('[data-testid="stAlertContentError"]')
    for attempt in range(1, 7):
        _try(page, "leader", f"wrong-password-{attempt}")
        attempts_recorded(tmp_path, attempt)  # this attempt was checked (the alert may be the last one's)
        if attempt < 5:
            alerts.filter(has_text="用户名或密码错误").wait_for(timeout=60_000)
        elif attempt == 5:
            alerts.filter(has_text="已锁定").wait_for(timeout=60_000)
        else:
            alerts.filter(has_text="登录失败次数过多").wait_for(timeout=60_000)
    _try(page, "leader", "rivergrid-demo")  # the right password, but locked
    alerts.filter(has_text="登录失败次数过多").wait_for(timeout=60_000)
    assert "联系安全管理员解锁" in alerts.first.inner_text()
    assert page.get_by_text("已登录：").count() == 0

    page.wait_for_timeout((LOCK_S + 1) * 1000)  # let the lock run out
    _try(page, "leader", "rivergrid-demo")
    page.get_by_text("已登录：孙凤海（领导）").wait_for(timeout=60_000)


def test_an_account_created_by_the_security_administrator_changes_its_password_first(
    app_server, page, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    url = f"sqlite:///{tmp_path / 'rivergrid.sqlite'}"
    for command, stdin in ((["init"], ""),
                           (["user", "add", "--username", "anquan", "--role", "security", "--password-stdin"],
                            "Zhanghao-guanli-2026\n")):
        done = subprocess.run([sys.executable, "-m", "gis", *command, "--database-url", url], cwd=PROJECT_DIR,
                              input=stdin, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    base_url = app_server({"RIVERGRID_DATA_DIR": str(tmp_path), "RIVERGRID_BASEMAP": "none", "RIVERGRID_DEMO": "0"})
    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    _try(page, "anquan", "Zhanghao-guanli-2026")
    page.get_by_text("已登录：").wait_for(timeout=60_000)
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_text("河湖一张图").count() == 1  # a production database: pages after sign-in
    nav.get_by_text("用户管理", exact=True).click()
    page.get_by_role("heading", name="用户管理").wait_for(timeout=60_000)
    page.locator(".st-key-uc_username input").fill("gaoxue")
    page.locator(".st-key-uc_display input").fill("高雪（工作人员）")
    box = page.locator(".st-key-uc_role").get_by_role("combobox")
    box.click()
    box.press("ArrowDown")
    page.get_by_role("option", name="工作人员", exact=True).click()
    page.locator(".st-key-uc_password input").fill("Chushi-mima-2026")
    page.get_by_role("button", name="建立账号").click()
    page.get_by_text("已建立账号 gaoxue").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="退出登录").click()

    page.goto(f"{base_url}/login", wait_until="domcontentloaded")
    _try(page, "gaoxue", "Chushi-mima-2026")
    page.get_by_text("请先设定自己的新密码").wait_for(timeout=60_000)
    assert nav.get_by_text("河湖一张图").count() == 0  # nothing else until the password is changed
    page.locator(".st-key-pw_old input").fill("Chushi-mima-2026")
    page.locator(".st-key-pw_new input").fill("Yalu-jiang-2026")
    page.locator(".st-key-pw_again input").fill("Yalu-jiang-2026")
    page.get_by_role("button", name="修改密码").click()
    nav.get_by_text("河湖一张图").wait_for(timeout=60_000)
