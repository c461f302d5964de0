"""Commands ``report build|submit|list``: a grid's periodic report (信息报送), its submission
upward and the status of the lower grids."""

from __future__ import annotations

import argparse
from typing import Any

from gis import clock
from gis.cli.common import acting_actor, open_store, show
from gis.errors import ValidationError
from gis.reports.editions import build_report, edition_dict, lower_status, submit_report
from gis.reports.periods import latest_ended, report_period
from gis.reports.render import FORMATS
from gis.store.queries import live_grids
from gis.store.scope import home_grid


def _viewer(store: Any, username: str | None) -> Any:
    return acting_actor(store, username) if username else None


def cmd_report_build(args: argparse.Namespace) -> int:
    fmt = args.output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValidationError("输出文件须以 .xlsx 或 .pdf 结尾", f"unsupported report file {args.output.name!r}")
    store = open_store(args)
    viewer = _viewer(store, args.user)
    with store.session(viewer, write=False) as s:
        built = build_report(s, args.grid, args.period, formats=(fmt,))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(built.file(fmt))
    data = {"file": str(args.output), "format": fmt, "bytes": len(built.file(fmt)), "figures": built.figures}
    f = built.figures
    text = (
        f"已生成 {built.title}：{args.output}\n"
        f"巡河轨迹 {f['patrol']['track_count']} 条（有效 {f['patrol']['counted_count']} 条）；"
        f"本期上报事件 {f['cases']['reported']} 件，办结 {f['cases']['closed']} 件，超期 {f['cases']['overdue']} 件；"
        f"考核得分 {f['assessment']['score'] if f['assessment']['score'] is not None else '—'}"
    )
    show(data, args.json, text)
    return 0


def cmd_report_submit(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user or "admin")
    with store.session(actor, write=False) as s:  # the figures and files: a read, no write lock held
        built = build_report(s, args.grid, args.period)
    with store.session(actor) as s:
        edition = submit_report(s, built, reason=args.reason)
        data = edition_dict(edition)
    text = (
        f"已报送 {built.title} 第 {data['edition']} 版（{data['submitted_by']}，{data['submitted_at_local']}），"
        "已锁定" + (f"；更正原因：{data['change_reason']}" if data["change_reason"] else "")
    )
    show(data, args.json, text)
    return 0


def cmd_report_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    viewer = _viewer(store, args.user)
    with store.session(viewer, write=False) as s:
        grid_id = args.grid
        if grid_id is None:
            grid_id = home_grid(s, viewer)
        if grid_id is None:
            roots = [g for g in live_grids(s) if g.parent_id is None]
            if not roots:
                raise ValidationError("还没有网格", "no grids")
            grid_id = roots[0].id
        period = report_period(args.period) if args.period else latest_ended("month", clock.today())
        data = lower_status(s, grid_id, period)
    rows = [data["own"], *data["lower"]]
    lines = [
        f"{data['grid']['name']} {data['period']['title']}{data['period']['kind_label']}报送情况"
        f"（报送期限 {data['due_at_local']}）："
    ]
    for k, r in enumerate(rows):
        who = "本网格" if k == 0 else "下级"
        latest = r["latest"]
        extra = (
            f"，第 {latest['edition']} 版，{latest['submitted_by']} {latest['submitted_at_local']}" if latest else ""
        )
        lines.append(f"  [{who}] {r['grid']}（{r['level_label']}）：{r['status_label']}{extra}")
    show(data, args.json, "\n".join(lines))
    return 0
