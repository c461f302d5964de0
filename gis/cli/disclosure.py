"""Commands ``signboard`` (公示牌 as PDF or PNG) and ``volunteer add|list`` (志愿者、协管员)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from gis.accounts.users import command_line_actor
from gis.cli.common import acting_actor, open_store, show
from gis.disclosure.volunteers import register_volunteer, volunteers_of
from gis.errors import RiverGridError


def cmd_volunteer_add(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        reg = register_volunteer(
            s,
            grid_id=args.grid,
            name=args.name,
            post=args.post,
            title=args.title or "",
            unit=args.unit or "",
            phone=args.phone or "",
            phone_public=args.phone_public,
            username=args.username,
            password=password,
            account_actor=command_line_actor(),
        )
    info = {"person_id": reg.person_id, "post_id": reg.post_id, "user_id": reg.user_id}
    text = f"已登记：{args.name}（人员编号 {reg.person_id}）" + (f"，账号 {args.username}" if reg.user_id else "")
    show(info, args.json, text)
    return 0


def cmd_volunteer_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store.session() as s:
        rows = volunteers_of(s, args.grid)
    text = (
        "\n".join(
            f"{r['post']} {r['name']}（{r['title'] or '-'}）" + (f" 账号 {r['username']}" if r["username"] else "")
            for r in rows
        )
        or "该网格没有登记志愿者或协管员"
    )
    show(rows, args.json, text)
    return 0


def cmd_signboard(args: argparse.Namespace) -> int:
    from gis.disclosure.signboard import make_signboard  # noqa: PLC0415 — PDF and QR-code libraries (~0.7 s); only signboard draws

    out = Path(args.output)
    if out.suffix.lower() not in (".pdf", ".png"):
        raise RiverGridError("输出文件须以 .pdf 或 .png 结尾", f"unsupported signboard file {out.name!r}")
    store = open_store(args)
    with store.session() as s:
        board = make_signboard(s, grid_id=args.grid, reach_id=args.reach, base_url=args.base_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(board.pdf_path if out.suffix.lower() == ".pdf" else board.png_path, out)
    info = {**board.to_dict(), "output": str(out)}
    text = (
        f"公示牌已生成：{out}（{board.content.heading}·{board.content.subject}，"
        f"更新日期 {board.generated_on.isoformat()}，二维码 {board.content.url}）"
    )
    show(info, args.json, text)
    return 0
