"""Commands ``notify run|log|prefs|messages|read`` (issue 18): one notification pass, the delivery
log, a person's channels and quiet hours, an account's in-app messages."""

from __future__ import annotations

import argparse

from gis.cli.common import acting_actor, open_store, show
from gis.notify.core import KIND_LABELS
from gis.notify.delivery import delivery_log
from gis.notify.messages import mark_read, messages_for
from gis.notify.preferences import set_preferences
from gis.notify.runner import run_pass


def cmd_notify_run(args: argparse.Namespace) -> int:
    store = open_store(args)
    report = run_pass(store, dry_run=args.dry_run)
    if report["skipped"]:
        show(report, args.json, report["reason"])
        return 0
    lines = [f"{'（演练，未发送）' if args.dry_run else ''}本次发现事件 {len(report['events'])} 个"]
    for e in report["events"]:
        new = sum(1 for t in e["targets"] if t["new"])
        lines.append(f"  {e['title']}：{len(e['targets'])} 个接收对象，新增 {new}")
    for esc in report.get("escalations", []):
        lines.append(f"  {'将记录' if args.dry_run else '已记录'}升级：{esc['code']} {esc['label']}")
    if args.dry_run:
        lines.append(f"将发送 {len(report['would_send'])} 条")
    else:
        c = report["counts"]
        lines.append(
            f"已发送 {c['sent']} 条，免打扰顺延 {c['deferred']} 条，待重试 {c['retry']} 条，失败 {c['failed']} 条"
        )
    show(report, args.json, "\n".join(lines))
    return 0


def cmd_notify_log(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store.session() as s:
        rows = delivery_log(s, state=args.state, problems=args.problems, limit=args.limit)
    text = "\n".join(
        f"{r['id']}\t{r['state_label']}\t{r['channel_label']}\t{r['name'] or r['address']}\t{r['title']}"
        f"\t尝试 {r['attempts']} 次{('；' + r['last_error']) if r['last_error'] else ''}"
        for r in rows
    )
    show(rows, args.json, text or "（没有投递记录）")
    return 0


def cmd_notify_prefs(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        data = set_preferences(s, args.person, email=args.email, channels=args.channels, quiet_hours=args.quiet)
    channels = "、".join(data["channels"])
    text = f"{data['name']}：邮箱 {data['email'] or '无'}；渠道 {channels}；免打扰 {data['quiet_hours'] or '默认'}"
    show(data, args.json, text)
    return 0


def cmd_notify_messages(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session() as s:
        rows = messages_for(s, actor, unread_only=args.unread)
    text = "\n".join(
        f"{m['id']}\t{'已读' if m['read'] else '未读'}\t{KIND_LABELS.get(m['kind'], m['kind'])}\t{m['title']}"
        for m in rows
    )
    show(rows, args.json, text or "（没有消息）")
    return 0


def cmd_notify_read(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        mark_read(s, actor, args.message)
    show({"id": args.message, "read": True}, args.json, f"消息 {args.message} 已标为已读")
    return 0
