"""Commands ``meeting add|list`` (会议), ``doc add|list`` (文件柜), ``ledger export`` (台账.xlsx)
and ``river archive|plan`` (一河一档、一河一策)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from gis import clock
from gis.cli.common import acting_actor, open_store, show
from gis.errors import ValidationError
from gis.ledger.records import FileIn, add_document, add_meeting, document_rows, meeting_rows
from gis.limits import check_file_size


def _date(text: str | None, what: str) -> date | None:
    if text is None or not text.strip():
        return None
    if text.strip() == "today":
        return clock.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{what}“{text}”无效，应为 YYYY-MM-DD", f"invalid date {text!r}") from None


def _files(paths: list[str] | None) -> list[FileIn]:
    out = []
    for p in paths or []:
        path = Path(p)
        if not path.is_file():
            raise ValidationError(f"找不到文件：{p}", f"no file {p!r}")
        check_file_size(path)
        out.append(FileIn(path.name, path.read_bytes()))
    return out


def _text_arg(text: str | None, file: str | None) -> str:
    if file:
        return Path(file).read_text(encoding="utf-8")
    return text or ""


def _scope_actor(store: Any, username: str | None) -> Any:
    return acting_actor(store, username) if username else None


def cmd_meeting_add(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    held_on = _date(args.date, "会议日期")
    assert held_on is not None  # required by the parser
    with store.session(actor) as s:
        m = add_meeting(
            s,
            held_on=held_on,
            title=args.title,
            grid_id=args.grid,
            place=args.place or "",
            attendee_ids=args.attendee or [],
            minutes=_text_arg(args.minutes, args.minutes_file),
            files=_files(args.file),
        )
        info = {"id": m.id, "held_on": m.held_on.isoformat(), "title": m.title, "attendees": len(m.attendee_ids)}
    show(info, args.json, f"已登记会议 {info['id']}：{info['held_on']} {info['title']}（参会 {info['attendees']} 人）")
    return 0


def cmd_meeting_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = _scope_actor(store, args.user)
    with store.session(actor, write=False) as s:
        rows = meeting_rows(s, grid_ids=_grids(s, args.grid), year=args.year)
    text = (
        "\n".join(
            f"{r['id']} {r['held_on']} {r['title']}（{r['grid'] or '街道'}；参会：{'、'.join(r['attendees']) or '-'}"
            f"；附件 {len(r['files'])} 个）"
            for r in rows
        )
        or "没有会议记录"
    )
    show(rows, args.json, text)
    return 0


def _grids(session: Any, grid_id: int | None) -> list[int] | None:
    from gis.store.scope import grid_and_below  # noqa: PLC0415 — only when a grid is given

    return None if grid_id is None else grid_and_below(session, grid_id)


def cmd_doc_add(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        d = add_document(
            s,
            kind=args.kind,
            title=args.title,
            issued_on=_date(args.date, "印发日期"),
            grid_id=args.grid,
            note=args.note or "",
            files=_files(args.file),
        )
        info = {"id": d.id, "kind": d.kind, "title": d.title}
    show(info, args.json, f"已登记文件 {info['id']}：{info['title']}")
    return 0


def cmd_doc_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    actor = _scope_actor(store, args.user)
    with store.session(actor, write=False) as s:
        rows = document_rows(s, grid_ids=_grids(s, args.grid), year=args.year)
    text = (
        "\n".join(
            f"{r['id']} [{r['kind_label']}] {r['title']}（{r['issued_on'] or '日期不详'}；{r['grid'] or '街道'}；"
            f"附件 {len(r['files'])} 个）"
            for r in rows
        )
        or "文件柜是空的"
    )
    show(rows, args.json, text)
    return 0


def cmd_ledger_export(args: argparse.Namespace) -> int:
    from gis.ledger.export import build_ledger, write_ledger_xlsx  # noqa: PLC0415 — openpyxl and the assessment only for the export

    store = open_store(args)
    actor = _scope_actor(store, args.user)
    with store.session(actor, write=False) as s:
        ledger = build_ledger(s, args.grid, args.year)
    out = write_ledger_xlsx(ledger, args.output)
    counts = ledger.counts()
    info = {"output": str(out), "grid": ledger.grid, "year": ledger.year, "counts": counts}
    text = (
        f"台账已导出：{out}（{ledger.grid}，{ledger.year} 年；"
        + "，".join(f"{k} {v} 条" for k, v in counts.items())
        + "）"
    )
    show(info, args.json, text)
    return 0


def cmd_river_archive(args: argparse.Namespace) -> int:
    from gis.disclosure.archives import river_archive, save_river_archive  # noqa: PLC0415 — geopandas only here

    store = open_store(args)
    values: dict[str, Any] = {
        k: getattr(args, k)
        for k in ("basin", "source", "mouth", "water_function_zone", "water_quality_target", "works")
        if getattr(args, k) is not None
    }
    if args.length_km is not None:
        values["length_km"] = args.length_km
    if values:
        actor = acting_actor(store, args.user)
        with store.session(actor) as s:
            save_river_archive(s, args.river, values)
    with store.session() as s:
        archive = river_archive(s, args.river, year=args.year)
    lines = [f"一河一档：{archive.name}（{archive.level_label}）"]
    lines += [f"  {label}：{value}" for label, value in archive.facts()]
    if archive.plan is not None:
        lines.append(f"  {archive.plan.year} 年目标：" + "；".join(archive.plan.targets))
        lines.append(f"  {archive.plan.year} 年任务：" + "；".join(archive.plan.tasks))
    show(archive.to_dict(), args.json, "\n".join(lines))
    return 0


def cmd_river_plan(args: argparse.Namespace) -> int:
    from gis.disclosure.archives import river_archive, save_river_plan  # noqa: PLC0415 — geopandas only here

    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        save_river_plan(
            s,
            args.river,
            args.year,
            targets=_text_arg(args.targets, args.targets_file),
            tasks=_text_arg(args.tasks, args.tasks_file),
            note=args.note or "",
        )
    with store.session() as s:
        archive = river_archive(s, args.river, year=args.year)
    plan = archive.plan
    assert plan is not None  # just saved
    show(
        plan.to_dict(),
        args.json,
        f"已保存 {archive.name} {plan.year} 年一河一策：目标 {len(plan.targets)} 项，任务 {len(plan.tasks)} 项",
    )
    return 0


def cmd_case_reply(args: argparse.Namespace) -> int:
    from gis.disclosure.results import set_public_reply  # noqa: PLC0415 — only for this command

    store = open_store(args)
    actor = acting_actor(store, args.user)
    with store.session(actor) as s:
        incident = set_public_reply(s, args.id, _text_arg(args.text, args.text_file))
        info = {"id": incident.id, "code": incident.code, "public_reply": incident.public_reply}
    show(info, args.json, f"已保存事件 {info['code']} 的公开答复")
    return 0
