"""Signboards (gis.disclosure.signboard): the printed PDF renders, its QR code opens the public page of the
grid, and the board is redrawn (with a new date) exactly when what it shows changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from gis.auth import Actor
from gis.config import PROJECT_DIR
from gis.disclosure.signboard import make_signboard, signboard_content, signboard_status
from gis.model import UserRole
from gis.store import Store
from gis.store.schema import Grid, Person, Reach

PUBLIC = "https://hezhang.example.gov.cn/rivergrid"
DONGXING = "森工街道东兴村"
STAFF = Actor("staff", UserRole.STAFF, "高雪")
T1 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 2026-03-02 10:00 Beijing
T2 = datetime(2026, 5, 20, 17, 0, tzinfo=UTC)  # 2026-05-21 01:00 Beijing


@pytest.fixture
def demo(demo_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    monkeypatch.setenv("RIVERGRID_PUBLIC_URL", PUBLIC + "/")  # a trailing slash is tolerated
    monkeypatch.setenv("RIVERGRID_DATA_DIR", str(tmp_path / "data"))
    return demo_store  # the demo, copied from the session's template (tests/conftest.py)


def grid_id(store: Store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(Grid.id).where(Grid.name == name))


def qr_texts_of_pdf(pdf: Path, out_dir: Path) -> tuple[list[str], Image.Image]:
    """Render the PDF's first page with poppler (pdftoppm) and decode every QR code on it."""
    import zxingcpp

    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm missing (apt-get install poppler-utils)")
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-f", "1", "-l", "1", str(pdf), str(out_dir / "page")],
                   check=True, timeout=60)
    (png,) = sorted(out_dir.glob("page*.png"))
    with Image.open(png) as im:
        page = im.copy()
    return [r.text for r in zxingcpp.read_barcodes(page) if r.format == zxingcpp.BarcodeFormat.QRCode], page


def test_grid_signboard_pdf_renders_as_a4_and_its_qr_opens_the_grid_on_the_public_page(demo: Store, tmp_path: Path) -> None:
    gid = grid_id(demo, DONGXING)
    with demo.session() as s:
        board = make_signboard(s, grid_id=gid, now=T1)
    assert board.pdf_path.read_bytes().startswith(b"%PDF")
    texts, page = qr_texts_of_pdf(board.pdf_path, tmp_path)
    assert texts == [f"{PUBLIC}/public?grid={gid}"]
    # A4 portrait at 100 dpi: 210 × 297 mm → 827 × 1169 pixels
    assert abs(page.width - 827) <= 2 and abs(page.height - 1169) <= 2
    assert board.generated_on.isoformat() == "2026-03-02"
    # the same drawing as PNG
    with Image.open(board.png_path) as png:
        assert png.size == (1654, 2339)
    text = board.content.text()
    for name in ("何兆花", "张力文", "王立军", "孙凤海", "李鑫", "周永明", "东兴沟（示意）"):
        assert name in text
    assert "0439-52xxx03（示意）" in text  # the grid's hotline


def test_reach_signboard_qr_selects_the_reach_and_its_village_grid(demo: Store, tmp_path: Path) -> None:
    gid = grid_id(demo, DONGXING)
    with demo.session() as s:
        reach = s.scalar(select(Reach).where(Reach.code == "DXG-01"))
        board = make_signboard(s, reach_id=reach.id, now=T1)
    texts, _ = qr_texts_of_pdf(board.pdf_path, tmp_path)
    assert texts == [f"{PUBLIC}/public?grid={gid}&reach={reach.id}"]
    chiefs = [(c.post, c.name) for c in board.content.chiefs]
    assert chiefs[0] == ("村级河长", "何兆花")  # the reach's own chief, then the grid's people
    assert ("网格主要责任人", "何兆花") in chiefs and ("网格乡级监管责任人", "张力文") in chiefs


def test_board_is_redrawn_with_a_new_date_when_a_person_on_it_changes(demo: Store) -> None:
    gid = grid_id(demo, DONGXING)
    with demo.session() as s:
        assert signboard_status(s, gid)["up_to_date"] is False  # never drawn
        first = make_signboard(s, grid_id=gid, now=T1)
        again = make_signboard(s, grid_id=gid, now=T2)  # nothing changed: the cached board, its date kept
    assert first.regenerated and not again.regenerated
    assert again.pdf_path == first.pdf_path and again.generated_on.isoformat() == "2026-03-02"
    with demo.session() as s:
        status = signboard_status(s, gid)
    assert status["up_to_date"] is True and status["generated_on"] == "2026-03-02"

    with demo.session(STAFF) as s:  # a person shown on the board gets a new title
        s.scalar(select(Person).where(Person.name == "王立军")).title = "东兴村网格监管员"
    with demo.session() as s:
        stale = signboard_status(s, gid)
        assert stale["up_to_date"] is False
        assert stale["changed_at"] > stale["generated_at"]
        redrawn = make_signboard(s, grid_id=gid, now=T2)
        fresh = signboard_status(s, gid)
    assert redrawn.regenerated and redrawn.pdf_path != first.pdf_path
    assert redrawn.generated_on.isoformat() == "2026-05-21"  # Beijing date of T2
    assert "东兴村网格监管员" in redrawn.content.text()
    assert fresh["up_to_date"] is True and fresh["generated_on"] == "2026-05-21"


def test_a_change_elsewhere_leaves_the_board_up_to_date(demo: Store) -> None:
    gid = grid_id(demo, DONGXING)
    with demo.session() as s:
        make_signboard(s, grid_id=gid, now=T1)
    with demo.session(STAFF) as s:  # 刘晓东 works for 森工社区 only
        s.scalar(select(Person).where(Person.name == "刘晓东")).title = "森工社区网格监管员"
    with demo.session() as s:
        assert signboard_status(s, gid)["up_to_date"] is True
        assert signboard_status(s, grid_id(demo, "森工街道森工社区"))["up_to_date"] is False  # never drawn


def test_private_phone_numbers_stay_off_the_board(demo: Store) -> None:
    gid = grid_id(demo, DONGXING)
    with demo.session(STAFF) as s:
        he = s.scalar(select(Person).where(Person.name == "何兆花"))
        he.phone, he.phone_public = "13900001111", False
        zhang = s.scalar(select(Person).where(Person.name == "张力文"))
        zhang.phone, zhang.phone_public = "13900002222", True
    with demo.session() as s:
        text = signboard_content(s, grid_id=gid).text()
    assert "13900001111" not in text
    assert "13900002222" in text


def run_cli(*args: str, url: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "RIVERGRID_DATA_DIR": str(env_dir), "RIVERGRID_PUBLIC_URL": PUBLIC}
    return subprocess.run([sys.executable, "-m", "gis", *args, "--database-url", url], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def test_cli_writes_the_signboard_as_pdf_or_png(demo: Store, tmp_path: Path) -> None:
    gid = grid_id(demo, DONGXING)
    out = tmp_path / "公示牌" / "东兴村.pdf"
    proc = run_cli("signboard", "--grid", str(gid), "-o", str(out), "--json", url=demo.url, env_dir=tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["url"] == f"{PUBLIC}/public?grid={gid}" and info["output"] == str(out)
    texts, _ = qr_texts_of_pdf(out, tmp_path)
    assert texts == [info["url"]]
    with demo.session() as s:
        reach_id = s.scalar(select(Reach.id).where(Reach.code == "SGH-01"))
    png = tmp_path / "森工河.png"
    proc = run_cli("signboard", "--reach", str(reach_id), "-o", str(png), url=demo.url, env_dir=tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    assert "公示牌已生成" in proc.stdout
    with Image.open(png) as im:
        assert im.format == "PNG"

    bad = run_cli("signboard", "--grid", "9999", "-o", str(out), url=demo.url, env_dir=tmp_path / "d")
    assert bad.returncode == 2 and "没有编号为 9999 的网格" in bad.stderr
    bad = run_cli("signboard", "--grid", str(gid), "-o", str(tmp_path / "x.docx"), url=demo.url, env_dir=tmp_path / "d")
    assert bad.returncode == 2 and ".pdf 或 .png" in bad.stderr
