"""Command ``inbox``: one account's 待办 (what waits for it now), as text or JSON."""

from __future__ import annotations

import argparse
from datetime import datetime

from gis.cli.common import open_store, show
from gis.errors import RiverGridError
from gis.inbox.service import inbox


def cmd_inbox(args: argparse.Namespace) -> int:
    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError as exc:
        raise RiverGridError(
            f"--now 时间格式无效：{args.now}（应为 ISO 8601，如 2026-11-30T09:00）", f"bad --now {args.now!r}"
        ) from exc
    store = open_store(args)
    with store.session() as s:  # the operator reads any account's inbox (the command line trusts it)
        box = inbox(s, args.user, now=now)
    show(box.to_dict(), args.json, box.text())
    return 0
