"""Issue 15, item 8: a signboard is not printed while its QR code would lead to this machine
(``RIVERGRID_PUBLIC_URL`` unset, so ``http://localhost:8501``, or local): a Chinese message says
how to set the address, on the page, on the command line and to callers of make_signboard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from gis.config import PROJECT_DIR
from gis.disclosure.signboard import check_public_url, make_signboard
from gis.errors import ValidationError
from gis.store import Store
from gis.store.schema import Grid
from ui.text import md_text

PUBLIC = "https://hezhang.example.gov.cn/rivergrid"
DONGXING = "森工街道东兴村"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(folder))
    monkeypatch.delenv("RIVERGRID_PUBLIC_URL", raising=False)
    return folder


def dongxing(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == DONGXING))


@pytest.mark.parametrize("url", ["http://localhost:8501", "http://127.0.0.1:8501/", "http://127.8.0.1",
                                 "http://[::1]:8501", "http://0.0.0.0:8501", "https://app.localhost",
                                 "localhost:8501", "ftp://hezhang.example.gov.cn", "https://"])
def test_local_or_broken_addresses_are_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", url)
    with pytest.raises(ValidationError, match="暂不能生成公示牌。请把环境变量 RIVERGRID_PUBLIC_URL 设为"):
        check_public_url()


def test_public_addresses_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", PUBLIC + "/")
    assert check_public_url() == PUBLIC
    assert check_public_url("http://10.20.30.40:8501") == "http://10.20.30.40:8501"  # an intranet address is chosen
    monkeypatch.delenv("RIVERGRID_PUBLIC_URL")
    with pytest.raises(ValidationError, match="尚未设置对外网址（RIVERGRID_PUBLIC_URL）") as info:
        check_public_url()
    assert "http://localhost:8501" in info.value.message_zh and "群众扫码无法打开" in info.value.message_zh


def test_make_signboard_refuses_and_draws_nothing_until_the_address_is_set(demo_store: Store, data_dir: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    gid = dongxing(demo_store)
    with demo_store.session() as s, pytest.raises(ValidationError, match="RIVERGRID_PUBLIC_URL"):
        make_signboard(s, grid_id=gid)
    assert not (data_dir / "signboards").exists() or not any((data_dir / "signboards").iterdir())
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", PUBLIC)
    with demo_store.session() as s:
        board = make_signboard(s, grid_id=gid)
    assert board.content.url == f"{PUBLIC}/public?grid={gid}" and board.pdf_path.is_file()


def test_the_command_refuses_with_the_message_and_accepts_base_url(demo_store: Store, data_dir: Path,
                                                                   tmp_path: Path) -> None:
    gid = dongxing(demo_store)
    env = {k: v for k, v in os.environ.items() if k != "RIVERGRID_PUBLIC_URL"}
    out = tmp_path / "东兴村.pdf"

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gis", "signboard", "--grid", str(gid), "-o", str(out),
                               "--database-url", demo_store.url, *extra], cwd=PROJECT_DIR, capture_output=True,
                              text=True, timeout=180, env=env, check=False)

    refused = run()
    assert refused.returncode == 2 and not out.exists()
    assert "尚未设置对外网址（RIVERGRID_PUBLIC_URL）" in refused.stderr and "--base-url" in refused.stderr
    assert run("--base-url", "http://127.0.0.1:8501").returncode == 2 and not out.exists()
    done = run("--base-url", PUBLIC)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and f"二维码 {PUBLIC}/public?grid={gid}" in done.stdout


def test_the_public_page_says_why_there_is_no_signboard(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIVERGRID_PUBLIC_URL", raising=False)
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=240).run()
    from ui.state import get_store

    at.query_params["grid"] = str(dongxing(get_store()))
    at = at.switch_page("pages/public.py").run()
    assert not at.exception
    assert not [d for d in at.get("download_button") if "公示牌" in d.label]
    said = [e.value for e in at.error if "暂不能生成公示牌" in e.value]
    assert said and md_text("尚未设置对外网址（RIVERGRID_PUBLIC_URL）") in said[0]
    assert "public URL" not in "".join(e.value for e in at.error)  # the English reason goes to the log only
