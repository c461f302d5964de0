"""Operating the installation: ``init-demo``, ``info``, ``undo``, ``backup``, ``restore``,
``audit verify`` and ``calendar DATE|years|add FILE|refresh``."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from datetime import date
from typing import Any

from gis import clock
from gis.cli.common import acting_actor, open_store, show
from gis.errors import RiverGridError
from gis.history import undo, undo_batch
from gis.incidents.deadlines import recompute_open_deadlines
from gis.incidents.schedules import (
    ESTIMATE_METHOD,
    SOURCE_LABELS,
    add_local_years,
    configured_file,
    load_local_calendar,
    official_years,
)
from gis.incidents.workdays import DEFAULT_CALENDAR
from gis.model import GridRole
from gis.store.audit_chain import verify_chain
from gis.store.backup import backup, restore, rotate
from gis.store.queries import store_info


def cmd_init_demo(args: argparse.Namespace) -> int:
    from gis.demo.load import load_demo  # noqa: PLC0415 — the demo data and its geometry (~0.4 s); only init-demo loads it

    store = open_store(args)
    summary = load_demo(store, reset=args.reset)
    text = "演示数据已就绪：" + "，".join(f"{k} {v}" for k, v in summary["counts"].items() if v)
    if summary.get("skipped"):
        text = "数据库中已有数据，未重复导入演示数据（如需重建请加 --reset）"
    show(summary, args.json, text)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store.session() as s:
        info = store_info(s)
    lines = ["各表记录数：" + "，".join(f"{k} {v}" for k, v in info["counts"].items())]
    for g in info["grids"]:
        people = "；".join(
            f"{GridRole(role).label}：{'、'.join(p['name'] for p in ps)}" for role, ps in g["persons"].items()
        )
        lines.append(f"[{g['level_label']}] {g['name']}（上级：{g['parent'] or '无'}）{people}")
    show(info, args.json, "\n".join(lines))
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        if args.batch:
            n = undo_batch(s, args.batch)
        else:
            undo(s, args.entry)
            n = 1
    show({"undone": n}, args.json, f"已撤销 {n} 项修改")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store.session() as s:
        report = verify_chain(s)
    if report.ok:
        show(report.to_dict(), args.json, report.message)
        return 0
    if args.json:
        show(report.to_dict(), True, "")
    print(f"错误：{report.message}", file=sys.stderr)
    return 2


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def cmd_backup(args: argparse.Namespace) -> int:
    if args.rotate is not None and args.rotate < 1:
        raise RiverGridError(f"--rotate 应为不小于 1 的整数（收到 {args.rotate}）", f"--rotate {args.rotate} < 1")
    result = backup(args.database_url, args.output, reason=args.reason)
    m = result.manifest
    files = m["files"].get("attachments", {"count": 0, "bytes": 0})
    lines = [
        f"已备份到 {result.path}（{_size(result.path.stat().st_size)}）",
        f"数据库：{m['backend']}，结构版本 {m['revision'] or '无'}，{len(m['tables'])} 张表共 "
        f"{sum(m['tables'].values())} 条记录；附件照片 {files['count']} 个（{_size(files['bytes'])}）",
    ]
    data: dict[str, Any] = {"path": str(result.path), "manifest": m}
    if args.rotate is not None:
        removed = rotate(args.rotate)
        data["removed"] = [str(p) for p in removed]
        lines.append(
            f"保留最新 {args.rotate} 个定期备份，删除旧备份 {len(removed)} 个"
            + ("：" + "、".join(p.name for p in removed) if removed else "")
        )
    show(data, args.json, "\n".join(lines))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    result = restore(args.file, args.database_url, force=args.force)
    m = result.manifest
    text = (
        f"已从 {args.file} 恢复（备份时间 {m.get('created_at_local') or m.get('created_at')}，"
        f"结构版本 {m.get('revision') or '无'}）：{len(result.tables)} 张表共 {sum(result.tables.values())} 条记录，"
        f"与备份清单一致；写入附件等文件 {sum(result.files.values())} 个"
    )
    show(
        {"file": str(args.file), "manifest": m, "tables": result.tables, "files_written": result.files}, args.json, text
    )
    return 0


def _calendar_day(args: argparse.Namespace) -> int:
    text = args.what.strip()
    try:
        day = clock.today() if text in ("today", "今天") else date.fromisoformat(text)
    except ValueError:
        raise RiverGridError(
            f"无法识别“{text}”：请给出日期（YYYY-MM-DD），或 years、add、refresh",
            f"expected a date, years, add or refresh, got {text!r}",
        ) from None
    info = DEFAULT_CALENDAR.day_info(day)
    show(info.to_dict(), args.json, info.text())
    return 0


def _calendar_years(args: argparse.Namespace) -> int:
    first, last = official_years()
    official = f"chinesecalendar {importlib.metadata.version('chinesecalendar')}"
    path = configured_file()
    local = load_local_calendar(path)
    years = [{**sched.to_dict(), "used": local.active(year) is not None} for year, sched in sorted(local.years.items())]
    data = {
        "official": {"from": first, "to": last, "package": official},
        "local_file": str(path),
        "local_file_exists": local.path is not None,
        "local": years,
        "estimated": ESTIMATE_METHOD,
        "warnings": list(local.warnings),
    }
    lines = [f"{SOURCE_LABELS['official']}：{first}–{last} 年（{official}）"]
    if local.path is None:
        lines.append(f"本地日历文件：{path}（尚无；国务院公布新年度安排后用 calendar add 加入）")
    else:
        lines.append(f"本地日历文件：{path}")
        for year, sched in sorted(local.years.items()):
            used = "" if local.active(year) is not None else "（未使用：官方安排已覆盖）"
            lines.append(
                f"  {year} 年：{sched.basis}，假日 {len(sched.holidays)} 天，调休上班 {len(sched.workdays)} 天{used}"
            )
    lines.append(f"其余年份：{ESTIMATE_METHOD}")
    lines.extend(f"提示：{w}" for w in local.warnings)
    show(data, args.json, "\n".join(lines))
    return 0


def _calendar_add(args: argparse.Namespace) -> int:
    if args.file is None:
        raise RiverGridError("calendar add 需要给出安排文件（JSON）", "calendar add needs a file")
    path = configured_file()
    added = add_local_years(args.file, path, replace=args.replace)
    data = {"file": str(path), "added": [s.to_dict() for s in added]}
    lines = [
        f"已将 {s.year} 年的放假安排加入日历文件 {path}：{s.basis}，假日 {len(s.holidays)} 天，"
        f"调休上班 {len(s.workdays)} 天"
        for s in added
    ]
    lines.append("请运行 python -m gis calendar refresh 重算在办事件的期限（应用启动时也会重算）。")
    show(data, args.json, "\n".join(lines))
    return 0


def _calendar_refresh(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        changes = recompute_open_deadlines(s)
    data = {"changed": len(changes), "changes": [c.to_dict() for c in changes]}
    text = (
        f"已按当前日历重算 {len(changes)} 件在办事件的期限：\n" + "\n".join(c.text() for c in changes)
        if changes
        else "在办事件的期限都已按当前日历计算，无需更改"
    )
    show(data, args.json, text)
    return 0


def cmd_calendar(args: argparse.Namespace) -> int:
    what = args.what.strip()
    if what != "add" and args.file is not None:
        raise RiverGridError(f"多余的参数：{args.file}", f"unexpected argument {args.file}")
    if what == "refresh":
        return _calendar_refresh(args)
    if what == "years":
        return _calendar_years(args)
    if what == "add":
        return _calendar_add(args)
    return _calendar_day(args)
