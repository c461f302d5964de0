"""Commands ``init``, ``user add|passwd|disable|enable|set|unlock|list`` and ``token create|list|revoke``:
the installation, its accounts and their API keys.

Account commands run as the command line's own security officer
(:func:`gis.accounts.users.command_line_actor`), audited like any other write.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from gis.accounts.installation import FIRST_ADMIN_COMMANDS, init_production
from gis.accounts.keys import create_key, list_keys, revoke_key
from gis.accounts.signin import unlock
from gis.accounts.users import command_line_actor, create_user, list_users, reset_password, set_active, update_user
from gis.cli.common import open_store, show
from gis.errors import RiverGridError


def cmd_init(args: argparse.Namespace) -> int:
    result = init_production(open_store(args))
    text = "已建立正式数据库（仅数据结构，无演示数据）。" if result["created"] else "该数据库已是正式数据库，未做改动。"
    if not result["accounts"]:
        text += "\n下一步：建立管理员账号，例如\n  " + "\n  ".join(FIRST_ADMIN_COMMANDS[1:])
    show(result, args.json, text)
    return 0


def _read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from standard input (``--password-stdin``: chosen, True) or a new temporary
    one (False: to be shown once and changed at the first sign-in)."""
    if not getattr(args, "password_stdin", False):
        return secrets.token_urlsafe(12), False
    line = sys.stdin.readline()
    if not line:
        raise RiverGridError("标准输入中没有读到密码", "no password on standard input")
    return line.rstrip("\r\n"), True


def _account_session(args: argparse.Namespace) -> AbstractContextManager[Session]:
    return open_store(args).session(command_line_actor())


def cmd_user_add(args: argparse.Namespace) -> int:
    password, chosen = _read_password(args)
    with _account_session(args) as s:
        user = create_user(
            s,
            username=args.username,
            role=args.role,
            password=password,
            display_name=args.display_name or "",
            grid_id=args.grid,
            person_id=args.person,
            must_change_password=not chosen,
            department=getattr(args, "department", None),
        )
        info = {
            "id": user.id,
            "username": user.username,
            "role": user.role,
            "grid_id": user.grid_id,
            "must_change_password": user.must_change_password,
            "department_id": user.department_id,
        }
    text = f"已建立账号 {info['username']}（{info['role']}）"
    if not chosen:
        info["temporary_password"] = password
        text += f"，临时密码：{password}（首次登录后须修改）"
    show(info, args.json, text)
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    password, chosen = _read_password(args)
    temporary = not chosen
    with _account_session(args) as s:
        user = reset_password(s, args.username, password)
        info: dict[str, Any] = {"username": user.username, "must_change_password": True}
    text = f"已重置 {args.username} 的密码，下次登录时须修改"
    if temporary:
        info["temporary_password"] = password
        text += f"；临时密码：{password}"
    show(info, args.json, text)
    return 0


def cmd_user_active(args: argparse.Namespace) -> int:
    active = args.user_command == "enable"
    with _account_session(args) as s:
        set_active(s, args.username, active)
    show(
        {"username": args.username, "active": active},
        args.json,
        f"已{'启用' if active else '停用'}账号 {args.username}",
    )
    return 0


def cmd_user_set(args: argparse.Namespace) -> int:
    grid: int | None | bool = False
    if args.grid is not None:
        grid = None if args.grid.strip().lower() in ("none", "无", "") else int(args.grid)
    department: str | None | bool = False
    if getattr(args, "department", None) is not None:
        department = None if args.department.strip().lower() in ("none", "无", "") else args.department
    with _account_session(args) as s:
        user = update_user(
            s, args.username, role=args.role, display_name=args.display_name, grid_id=grid, department=department
        )
        info = {
            "username": user.username,
            "role": user.role,
            "grid_id": user.grid_id,
            "display_name": user.display_name,
        }
    show(info, args.json, f"已修改账号 {args.username}：角色 {info['role']}，网格 {info['grid_id'] or '不限'}")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    with _account_session(args) as s:
        unlock(s, args.username)
    show({"username": args.username, "unlocked": True}, args.json, f"已解除 {args.username} 的登录锁定")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    with _account_session(args) as s:
        rows = [u.to_dict() for u in list_users(s)]
    lines = [
        "\t".join(
            [
                r["username"],
                r["role_label"],
                r["display_name"] or "-",
                f"网格：{r['grid_name'] or '不限'}",
                *(["已停用"] if not r["active"] else []),
                *(["已锁定"] if r["locked"] else []),
                *(["须改密码"] if r["must_change_password"] else []),
            ]
        )
        for r in rows
    ]
    show(rows, args.json, "\n".join(lines) or "还没有任何账号")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    with _account_session(args) as s:
        made = create_key(s, args.user, args.name).to_dict()
    show(
        made,
        args.json,
        f"已为 {made['user']} 建立接口密钥“{made['name']}”（编号 {made['id']}）：\n{made['key']}\n"
        "密钥只显示这一次，请立即妥善保存；遗失后请吊销并重新建立。",
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    with _account_session(args) as s:
        rows = [k.to_dict() for k in list_keys(s, args.user)]
    lines = [
        "\t".join(
            [
                str(r["id"]),
                r["user"],
                r["name"],
                r["prefix"] + "…",
                r["created_at"][:10],
                "有效" if r["active"] else "已吊销",
            ]
        )
        for r in rows
    ]
    show(rows, args.json, "\n".join(lines) or "还没有任何接口密钥")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    with _account_session(args) as s:
        info = revoke_key(s, args.id).to_dict()
    show(info, args.json, f"已吊销接口密钥 {info['id']}（{info['user']}：{info['name']}）")
    return 0
