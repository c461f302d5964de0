"""RiverGrid command line: ``python -m gis COMMAND [--json]``.

Commands: ``init``, ``user add|passwd|disable|enable|set|unlock|list``, ``init-demo``, ``info``,
``inspect FILE [--as KIND]``, ``import FILE --as KIND [--allow-far]``,
``export --layer L --format F -o PATH``, ``check [--rivers F --grids F]``, ``undo ENTRY|--batch B``,
``who --lon X --lat Y [--tolerance-m 50]``, ``patrol FILE [--rivers F] [--corridor-m 50] [--from-crs gcj02]``,
``patrol-report --period 2026-11``, ``assess --period 2026 [--grid ID] [--xlsx FILE]``,
``incident report --lon X --lat Y --category C --description D``, ``incident move ID --to STATE --as USER``,
``incident list [--overdue] [--due-soon] [--now ISO] [--as USER]``,
``calendar DATE|years|add FILE|refresh [--as USER]``, ``backup [-o FILE] [--rotate N]``,
``restore FILE [--force]``, ``audit verify``.

The command line trusts its operator (who can read the database file anyway) but still acts as
a named user: writes run as ``--user`` (default ``admin``) and are checked against that user's
role and written to the audit log like any other write. Errors print one line on stderr,
``错误：<中文说明> (<English reason>)``, and exit with status 2 (1 for an unexpected failure);
no traceback unless ``RIVERGRID_DEBUG=1``.

``inspect`` gives the verdict ``import`` would give, with the same message and exit status. With
``--as KIND`` it runs the import itself (same options, as ``--user``) in a transaction that is
rolled back: every check of that kind, nothing written. Without it, it lists the layers and runs
every check that does not depend on the kind on the layer an import would read (``--layer``,
else the first): the limits of :mod:`gis.limits`, readable, CRS known and plausible, finite
coordinates, geometry repair, and the distance to the top-level grid when the database has one
(:mod:`gis.grids.jurisdiction`; ``--allow-far`` as for import; a new top-level grid needs
``--as grids``). A SQLite database file that does not exist is not created by it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gis.errors import RiverGridError

EXPORT_LAYERS = ("reaches", "grids", "tracks", "incidents", "objects")
EXPORT_FORMATS = ("gpkg", "shp", "geojson", "kml")


def _print(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def _store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from gis.store import Store

    return Store(args.database_url)


def _actor(store, username: str):  # type: ignore[no-untyped-def]
    from gis.accounts.users import actor_for

    with store.session() as s:
        return actor_for(s, username)


def cmd_init(args: argparse.Namespace) -> int:
    from gis.accounts.installation import FIRST_ADMIN_COMMANDS, init_production

    result = init_production(_store(args))
    text = "已建立正式数据库（仅数据结构，无演示数据）。" if result["created"] else "该数据库已是正式数据库，未做改动。"
    if not result["accounts"]:
        text += "\n下一步：建立管理员账号，例如\n  " + "\n  ".join(FIRST_ADMIN_COMMANDS[1:])
    _print(result, args.json, text)
    return 0


def _read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from standard input (``--password-stdin``: chosen, True) or a new temporary
    one (False: to be shown once and changed at the first sign-in)."""
    import secrets

    if not getattr(args, "password_stdin", False):
        return secrets.token_urlsafe(12), False
    line = sys.stdin.readline()
    if not line:
        raise RiverGridError("标准输入中没有读到密码", "no password on standard input")
    return line.rstrip("\r\n"), True


def _account_session(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from gis.accounts.users import command_line_actor

    return _store(args).session(command_line_actor())


def cmd_user_add(args: argparse.Namespace) -> int:
    from gis.accounts.users import create_user

    password, chosen = _read_password(args)
    with _account_session(args) as s:
        user = create_user(s, username=args.username, role=args.role, password=password,
                           display_name=args.display_name or "", grid_id=args.grid, person_id=args.person,
                           must_change_password=not chosen)
        info = {"id": user.id, "username": user.username, "role": user.role, "grid_id": user.grid_id,
                "must_change_password": user.must_change_password}
    text = f"已建立账号 {info['username']}（{info['role']}）"
    if not chosen:
        info["temporary_password"] = password
        text += f"，临时密码：{password}（首次登录后须修改）"
    _print(info, args.json, text)
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    from gis.accounts.users import reset_password

    password, chosen = _read_password(args)
    temporary = not chosen
    with _account_session(args) as s:
        user = reset_password(s, args.username, password)
        info: dict[str, Any] = {"username": user.username, "must_change_password": True}
    text = f"已重置 {args.username} 的密码，下次登录时须修改"
    if temporary:
        info["temporary_password"] = password
        text += f"；临时密码：{password}"
    _print(info, args.json, text)
    return 0


def cmd_user_active(args: argparse.Namespace) -> int:
    from gis.accounts.users import set_active

    active = args.user_command == "enable"
    with _account_session(args) as s:
        set_active(s, args.username, active)
    _print({"username": args.username, "active": active}, args.json,
           f"已{'启用' if active else '停用'}账号 {args.username}")
    return 0


def cmd_user_set(args: argparse.Namespace) -> int:
    from gis.accounts.users import update_user

    grid: int | None | bool = False
    if args.grid is not None:
        grid = None if args.grid.strip().lower() in ("none", "无", "") else int(args.grid)
    with _account_session(args) as s:
        user = update_user(s, args.username, role=args.role, display_name=args.display_name, grid_id=grid)
        info = {"username": user.username, "role": user.role, "grid_id": user.grid_id,
                "display_name": user.display_name}
    _print(info, args.json, f"已修改账号 {args.username}：角色 {info['role']}，网格 {info['grid_id'] or '不限'}")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from gis.accounts.signin import unlock

    with _account_session(args) as s:
        unlock(s, args.username)
    _print({"username": args.username, "unlocked": True}, args.json, f"已解除 {args.username} 的登录锁定")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from gis.accounts.users import list_users

    with _account_session(args) as s:
        rows = [u.to_dict() for u in list_users(s)]
    lines = ["\t".join([r["username"], r["role_label"], r["display_name"] or "-", f"网格：{r['grid_name'] or '不限'}",
                        *(["已停用"] if not r["active"] else []), *(["已锁定"] if r["locked"] else []),
                        *(["须改密码"] if r["must_change_password"] else [])]) for r in rows]
    _print(rows, args.json, "\n".join(lines) or "还没有任何账号")
    return 0


def cmd_init_demo(args: argparse.Namespace) -> int:
    from gis.demo.load import load_demo

    store = _store(args)
    summary = load_demo(store, reset=args.reset)
    text = "演示数据已就绪：" + "，".join(f"{k} {v}" for k, v in summary["counts"].items() if v)
    if summary.get("skipped"):
        text = "数据库中已有数据，未重复导入演示数据（如需重建请加 --reset）"
    _print(summary, args.json, text)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from gis.model import GridRole
    from gis.store.queries import store_info

    store = _store(args)
    with store.session() as s:
        info = store_info(s)
    lines = ["各表记录数：" + "，".join(f"{k} {v}" for k, v in info["counts"].items())]
    for g in info["grids"]:
        people = "；".join(
            f"{GridRole(role).label}：{'、'.join(p['name'] for p in ps)}" for role, ps in g["persons"].items()
        )
        lines.append(f"[{g['level_label']}] {g['name']}（上级：{g['parent'] or '无'}）{people}")
    _print(info, args.json, "\n".join(lines))
    return 0


def _existing_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The store when its database exists (a SQLite file that is not there is not created)."""
    from sqlalchemy.engine import make_url

    from gis.config import settings

    url = args.database_url or settings().database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (
        not parsed.database or parsed.database == ":memory:" or not Path(parsed.database).is_file()
    ):
        return None
    return _store(args)


def _import_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"layer": args.layer, "crs": args.crs, "source_offset": args.from_offset,
            "mapping": _pairs(args.map, "--map"), "defaults": _pairs(args.default, "--default"),
            "allow_far": args.allow_far}


def cmd_inspect(args: argparse.Namespace) -> int:
    from gis.io import feature_labels, inspect, read_layer
    from gis.grids.jurisdiction import check_near

    if args.kind:
        return _inspect_as(args)
    layers = inspect(args.file, crs=args.crs)
    result = read_layer(args.file, layer=args.layer, crs=args.crs, source_offset=args.from_offset)
    store = _existing_store(args)
    if store is not None:
        with store.session() as s:
            check_near(s, list(result.gdf.geometry), labels=feature_labels(result.gdf), allow_far=args.allow_far)
    data = {"file": str(args.file), "layers": [layer.to_dict() for layer in layers]}
    text = "\n".join(
        f"{l.name}: {l.geometry_type}, {l.features} 个要素, 坐标系 {l.crs or '未知'}, 范围 {l.bounds_wgs84}"
        for l in layers
    )
    text += "".join(f"\n提示：{w}" for w in result.warnings)
    _print(data, args.json, text)
    return 0


def _inspect_as(args: argparse.Namespace) -> int:
    """``inspect --as KIND``: the import, rolled back."""
    from gis.importing import KIND_LABELS, import_file

    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        report = import_file(s, args.file, args.kind, **_import_options(args))
        s.rollback()  # a check: nothing is written
    data = {"file": str(args.file), "kind": args.kind, "layer": report.layer, "source_crs": report.source_crs,
            "features": len(report.ids), "warnings": report.warnings}
    text = (f"可以导入：{len(report.ids)} 条{KIND_LABELS[args.kind]}（图层 {report.layer or '-'}，"
            f"原坐标系 {report.source_crs}）；仅检查，未写入")
    text += "".join(f"\n提示：{w}" for w in report.warnings)
    _print(data, args.json, text)
    return 0


def _pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RiverGridError(f"{what}的格式应为 键=值：{item}", f"expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def cmd_import(args: argparse.Namespace) -> int:
    from gis.importing import KIND_LABELS, import_file

    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        report = import_file(s, args.file, args.kind, **_import_options(args))
    text = f"已导入 {len(report.ids)} 条{KIND_LABELS[args.kind]}（图层 {report.layer or '-'}，原坐标系 {report.source_crs}）"
    if report.warnings:
        text += "\n" + "\n".join(f"提示：{w}" for w in report.warnings)
    _print(report.to_dict(), args.json, text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gis.io.writers import write_layer
    from gis.overview import load_map_data

    store = _store(args)
    with store.session() as s:
        data = load_map_data(s)
    gdf = getattr(data, args.layer)
    path = write_layer(gdf, args.output, fmt=args.format, layer=args.layer)
    result = {"layer": args.layer, "format": args.format, "features": len(gdf), "path": str(path)}
    _print(result, args.json, f"已导出 {len(gdf)} 个要素到 {path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gis.checks.report import check_files, check_store

    if bool(args.rivers) != bool(args.grids):
        raise RiverGridError("--rivers 与 --grids 需同时给出（或都不给，检查数据库）", "give both --rivers and --grids or neither")
    if args.rivers:
        report = check_files(args.rivers, args.grids, level=args.level, crs=args.crs, min_gap_m=args.min_gap_m)
    else:
        store = _store(args)
        with store.session() as s:
            report = check_store(s, level=args.level or "village", crs=args.crs, min_gap_m=args.min_gap_m)
    if args.csv:
        report.to_csv(args.csv)
    if args.xlsx:
        report.to_excel(args.xlsx)
    data = report.to_dict()
    lines = [
        f"河段总长 {data['total_length_m'] / 1000:.3f} 公里，覆盖率 {data['coverage_rate']:.2%}；"
        f"未覆盖 {data['uncovered_length_m']:.1f} 米（{data['uncovered_count']} 段），"
        f"重复覆盖 {data['overlap_length_m']:.1f} 米（{data['overlap_count']} 段）；"
        f"拓扑问题 {data['topology_count']} 项，纵向到底问题 {data['vertical_count']} 项",
        *(f"- {m}" for m in report.findings_table()["说明"]),
    ]
    _print(data, args.json, "\n".join(lines))
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from gis.history import undo, undo_batch

    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        if args.batch:
            n = undo_batch(s, args.batch)
        else:
            undo(s, args.entry)
            n = 1
    _print({"undone": n}, args.json, f"已撤销 {n} 项修改")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from gis.store.audit_chain import verify_chain

    store = _store(args)
    with store.session() as s:
        report = verify_chain(s)
    if report.ok:
        _print(report.to_dict(), args.json, report.message)
        return 0
    if args.json:
        _print(report.to_dict(), True, "")
    print(f"错误：{report.message}", file=sys.stderr)
    return 2


def cmd_who(args: argparse.Namespace) -> int:
    from gis.grids.chain import ResponsibilityIndex

    store = _store(args)
    with store.session() as s:
        index = ResponsibilityIndex.from_session(s)
    chain = index.lookup(args.lon, args.lat, tolerance_m=args.tolerance_m)
    private = not args.public_phones_only
    _print(chain.to_dict(include_private_phones=private), args.json, chain.to_text(include_private_phones=private))
    return 0


def cmd_volunteer_add(args: argparse.Namespace) -> int:
    from gis.accounts.users import command_line_actor
    from gis.disclosure.volunteers import register_volunteer

    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        reg = register_volunteer(s, grid_id=args.grid, name=args.name, post=args.post, title=args.title or "",
                                 unit=args.unit or "", phone=args.phone or "", phone_public=args.phone_public,
                                 username=args.username, password=password, account_actor=command_line_actor())
    info = {"person_id": reg.person_id, "post_id": reg.post_id, "user_id": reg.user_id}
    text = f"已登记：{args.name}（人员编号 {reg.person_id}）" + (f"，账号 {args.username}" if reg.user_id else "")
    _print(info, args.json, text)
    return 0


def cmd_volunteer_list(args: argparse.Namespace) -> int:
    from gis.disclosure.volunteers import volunteers_of

    store = _store(args)
    with store.session() as s:
        rows = volunteers_of(s, args.grid)
    text = "\n".join(f"{r['post']} {r['name']}（{r['title'] or '-'}）" + (f" 账号 {r['username']}" if r["username"] else "")
                     for r in rows) or "该网格没有登记志愿者或协管员"
    _print(rows, args.json, text)
    return 0


def cmd_signboard(args: argparse.Namespace) -> int:
    import shutil

    from gis.disclosure.signboard import make_signboard

    out = Path(args.output)
    if out.suffix.lower() not in (".pdf", ".png"):
        raise RiverGridError("输出文件须以 .pdf 或 .png 结尾", f"unsupported signboard file {out.name!r}")
    store = _store(args)
    with store.session() as s:
        board = make_signboard(s, grid_id=args.grid, reach_id=args.reach, base_url=args.base_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(board.pdf_path if out.suffix.lower() == ".pdf" else board.png_path, out)
    info = {**board.to_dict(), "output": str(out)}
    text = (f"公示牌已生成：{out}（{board.content.heading}·{board.content.subject}，"
            f"更新日期 {board.generated_on.isoformat()}，二维码 {board.content.url}）")
    _print(info, args.json, text)
    return 0


def cmd_incident_report(args: argparse.Namespace) -> int:
    from gis import clock
    from gis.incidents.lists import incident_dict
    from gis.incidents.reporting import report_incident
    from gis.grids.chain import ResponsibilityIndex

    store = _store(args)
    actor = _actor(store, args.user)
    with store.session() as s:  # routed from a read: the write below holds the write lock only briefly
        index = ResponsibilityIndex.from_session(s, today=clock.today())
    with store.session(actor) as s:
        inc = report_incident(
            s, lon=args.lon, lat=args.lat, category=args.category, description=args.description,
            severity=args.severity, source=args.source, reporter=args.reporter, reporter_contact=args.contact,
            title=args.title,
            object_id=args.object_id, track_id=args.track_id, photos=args.photo, tolerance_m=args.tolerance_m,
            index=index, allow_far=args.allow_far,
        )
        routing = inc.routing
        data = incident_dict(inc)
    routed = routing.to_dict()
    data.update({
        "grid": routed["grid"], "reach": routed["reach"], "persons": routing.persons,
        "chain": routing.chain, "warnings": routing.warnings, "blind_spot": routing.blind_spot,
    })
    lines = [f"已上报事件 {data['code']}（编号 {data['id']}）：{data['title']}",
             f"网格：{routing.grid_name or '无'}；河段：{routing.reach_name or '附近没有河段'}",
             "责任人：" + ("、".join(dict.fromkeys(routing.persons)) or "无"),
             f"受理期限：{data['accept_due_at']}；办结期限：{data['close_due_at']}",
             *(f"提示：{w}" for w in routing.warnings)]
    _print(data, args.json, "\n".join(lines))
    return 0


def cmd_incident_move(args: argparse.Namespace) -> int:
    from gis.incidents.lists import incident_dict
    from gis.incidents.states import ACTION_LABELS
    from gis.incidents.workflow import move

    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        inc = move(s, args.id, args.to, note=args.note, to_grid_id=args.grid, to_person_id=args.person,
                   expected_version=args.expected_version, attachments=args.attach)
        event = max(inc.events, key=lambda e: (e.at, e.id or 0))
        data = incident_dict(inc)
        data["event"] = {"action": event.action, "action_label": ACTION_LABELS.get(event.action, event.action),
                         "from": event.from_status, "to": event.to_status, "by": event.by,
                         "at": event.at.isoformat(), "note": event.note}
    text = (f"事件 {data['code']}：{data['event']['action_label']}，当前状态“{data['status_label']}”"
            f"（{data['event']['by']}，{data['event']['at']}）")
    _print(data, args.json, text)
    return 0


def cmd_incident_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    from gis.incidents.lists import incident_dict, list_incidents

    now = datetime.fromisoformat(args.now) if args.now else None
    store = _store(args)
    viewer = _actor(store, args.user) if args.user else None
    with store.session(viewer, write=False) as s:
        rows = list_incidents(s, status=args.status, category=args.category, grid_id=args.grid,
                              overdue=True if args.overdue else None, due_soon=True if args.due_soon else None,
                              now=now)
        data = [incident_dict(i, now=now) for i in rows]
    lines = [f"{d['code']} [{d['status_label']}] {d['title']}（{d['grid']['name'] if d['grid'] else '无网格'}）"
             f"{' ' + d['deadline']['label'] if d['deadline']['label'] else ''}" for d in data]
    _print(data, args.json, "\n".join(lines) if lines else "没有符合条件的事件")
    return 0


def _calendar_day(args: argparse.Namespace) -> int:
    from datetime import date

    from gis import clock
    from gis.incidents.workdays import DEFAULT_CALENDAR

    text = args.what.strip()
    try:
        day = clock.today() if text in ("today", "今天") else date.fromisoformat(text)
    except ValueError:
        raise RiverGridError(f"无法识别“{text}”：请给出日期（YYYY-MM-DD），或 years、add、refresh",
                             f"expected a date, years, add or refresh, got {text!r}") from None
    info = DEFAULT_CALENDAR.day_info(day)
    _print(info.to_dict(), args.json, info.text())
    return 0


def _calendar_years(args: argparse.Namespace) -> int:
    from gis.incidents.schedules import (
        ESTIMATE_METHOD,
        SOURCE_LABELS,
        configured_file,
        load_local_calendar,
        official_years,
    )

    first, last = official_years()
    official = f"chinesecalendar {_package_version('chinesecalendar')}"
    path = configured_file()
    local = load_local_calendar(path)
    years = [{**sched.to_dict(), "used": local.active(year) is not None} for year, sched in sorted(local.years.items())]
    data = {"official": {"from": first, "to": last, "package": official}, "local_file": str(path),
            "local_file_exists": local.path is not None, "local": years, "estimated": ESTIMATE_METHOD,
            "warnings": list(local.warnings)}
    lines = [f"{SOURCE_LABELS['official']}：{first}–{last} 年（{official}）"]
    if local.path is None:
        lines.append(f"本地日历文件：{path}（尚无；国务院公布新年度安排后用 calendar add 加入）")
    else:
        lines.append(f"本地日历文件：{path}")
        for year, sched in sorted(local.years.items()):
            used = "" if local.active(year) is not None else "（未使用：官方安排已覆盖）"
            lines.append(f"  {year} 年：{sched.basis}，假日 {len(sched.holidays)} 天，"
                         f"调休上班 {len(sched.workdays)} 天{used}")
    lines.append(f"其余年份：{ESTIMATE_METHOD}")
    lines.extend(f"提示：{w}" for w in local.warnings)
    _print(data, args.json, "\n".join(lines))
    return 0


def _package_version(name: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(name)


def _calendar_add(args: argparse.Namespace) -> int:
    from gis.incidents.schedules import add_local_years, configured_file

    if args.file is None:
        raise RiverGridError("calendar add 需要给出安排文件（JSON）", "calendar add needs a file")
    path = configured_file()
    added = add_local_years(args.file, path, replace=args.replace)
    data = {"file": str(path), "added": [s.to_dict() for s in added]}
    lines = [f"已将 {s.year} 年的放假安排加入日历文件 {path}：{s.basis}，假日 {len(s.holidays)} 天，"
             f"调休上班 {len(s.workdays)} 天" for s in added]
    lines.append("请运行 python -m gis calendar refresh 重算在办事件的期限（应用启动时也会重算）。")
    _print(data, args.json, "\n".join(lines))
    return 0


def _calendar_refresh(args: argparse.Namespace) -> int:
    from gis.incidents.deadlines import recompute_open_deadlines

    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        changes = recompute_open_deadlines(s)
    data = {"changed": len(changes), "changes": [c.to_dict() for c in changes]}
    text = (f"已按当前日历重算 {len(changes)} 件在办事件的期限：\n" + "\n".join(c.text() for c in changes)
            if changes else "在办事件的期限都已按当前日历计算，无需更改")
    _print(data, args.json, text)
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


def cmd_patrol(args: argparse.Namespace) -> int:
    from gis.patrol.matching import MatchOptions, analyse_tracks, reaches_frame
    from gis.patrol.tracks import read_tracks

    if args.rivers:
        from gis.io.files import read_layer

        reaches = reaches_frame(read_layer(args.rivers).gdf)
    else:
        from gis.patrol.service import store_reaches

        store = _store(args)
        with store.session() as s:
            reaches = store_reaches(s)
    if reaches.empty:
        raise RiverGridError("没有河段可供匹配（请用 --rivers 指定河段文件或先导入河段）", "no reaches")
    tracks = read_tracks(args.file)
    options = MatchOptions(corridor_m=args.corridor_m, max_speed_kmh=args.max_speed_kmh)
    results, _warnings = analyse_tracks(tracks, reaches, options=options, from_crs=args.from_crs,
                                        skip_unusable=False)
    dicts = [r.to_dict() for r in results]
    data: Any = dicts[0] if len(dicts) == 1 else {"tracks": dicts}
    _print(data, args.json, "\n\n".join(r.text() for r in results))
    return 0


def cmd_patrol_report(args: argparse.Namespace) -> int:
    from gis.patrol.matching import MatchOptions
    from gis.patrol.service import patrol_report

    store = _store(args)
    with store.session() as s:
        report = patrol_report(s, args.period, options=MatchOptions(corridor_m=args.corridor_m),
                               fix_offsets=args.fix_offsets)
    _print(report.to_dict(), args.json, report.text())
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    from datetime import datetime

    from gis.assessment.indicators import DEFAULT_RUBRIC, Rubric, assess
    from gis.assessment.excel import write_assessment_xlsx
    from gis.assessment.evaluations import rollup

    rubric = Rubric.from_file(args.rubric) if args.rubric else DEFAULT_RUBRIC
    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError as exc:
        raise RiverGridError(f"--now 时间格式无效：{args.now}（应为 ISO 8601，如 2026-11-20T09:00）",
                             f"bad --now {args.now!r}") from exc
    store = _store(args)
    with store.session() as s:
        result = assess(s, args.period, grid_id=args.grid, rubric=rubric, now=now)
        year = result.period.start.year
        rows = rollup(s, year, result)
    data = result.to_dict()
    final = {r["grid_id"]: r for r in rows}
    for g in data["grids"]:
        r = final[g["grid_id"]]
        g["evaluation"] = {k: r[k] for k in ("self_total", "self_edition", "upper_total", "upper_edition", "final",
                                             "final_source", "lower_mean")}
    text = result.text()
    if args.xlsx:
        write_assessment_xlsx(result, args.xlsx, rows)
        data["xlsx"] = str(args.xlsx)
        text += f"\n已导出 Excel：{args.xlsx}"
    _print(data, args.json, text)
    return 0


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def cmd_backup(args: argparse.Namespace) -> int:
    from gis.store.backup import backup, rotate

    if args.rotate is not None and args.rotate < 1:
        raise RiverGridError(f"--rotate 应为不小于 1 的整数（收到 {args.rotate}）", f"--rotate {args.rotate} < 1")
    result = backup(args.database_url, args.output, reason=args.reason)
    m = result.manifest
    files = m["files"].get("attachments", {"count": 0, "bytes": 0})
    lines = [f"已备份到 {result.path}（{_size(result.path.stat().st_size)}）",
             f"数据库：{m['backend']}，结构版本 {m['revision'] or '无'}，{len(m['tables'])} 张表共 "
             f"{sum(m['tables'].values())} 条记录；附件照片 {files['count']} 个（{_size(files['bytes'])}）"]
    data: dict[str, Any] = {"path": str(result.path), "manifest": m}
    if args.rotate is not None:
        removed = rotate(args.rotate)
        data["removed"] = [str(p) for p in removed]
        lines.append(f"保留最新 {args.rotate} 个定期备份，删除旧备份 {len(removed)} 个"
                     + ("：" + "、".join(p.name for p in removed) if removed else ""))
    _print(data, args.json, "\n".join(lines))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from gis.store.backup import restore

    result = restore(args.file, args.database_url, force=args.force)
    m = result.manifest
    text = (f"已从 {args.file} 恢复（备份时间 {m.get('created_at_local') or m.get('created_at')}，"
            f"结构版本 {m.get('revision') or '无'}）：{len(result.tables)} 张表共 {sum(result.tables.values())} 条记录，"
            f"与备份清单一致；写入附件等文件 {sum(result.files.values())} 个")
    _print({"file": str(args.file), "manifest": m, "tables": result.tables, "files_written": result.files},
           args.json, text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="机器可读的 JSON 输出")
    common.add_argument("--database-url", default=None, help="数据库 URL（默认读取 DATABASE_URL 或 data/ 下的 SQLite 文件）")
    parser = argparse.ArgumentParser(prog="python -m gis", description="河长网格 RiverGrid 命令行")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[common], help="建立正式数据库（仅数据结构，不含演示数据和账号）")
    p.set_defaults(func=cmd_init)

    users = sub.add_parser("user", help="账号管理（安全管理员）：建立、重置密码、停用/启用、修改、解锁、列表")
    usub = users.add_subparsers(dest="user_command", required=True)
    p = usub.add_parser("add", parents=[common], help="建立账号")
    p.add_argument("--username", required=True, help="用户名")
    p.add_argument("--role", required=True,
                   help="角色：admin 系统管理员、security 安全管理员、auditor 审计员、staff 工作人员、leader 领导、"
                        "patroller 巡查员、volunteer 志愿者/协管员")
    p.add_argument("--password-stdin", action="store_true",
                   help="从标准输入读取密码（本人设定，无需首次登录后修改）；不给出时生成临时密码")
    p.add_argument("--display-name", help="显示名称")
    p.add_argument("--grid", type=int, help="绑定网格编号（只能查看和处理该网格及下级网格的数据）")
    p.add_argument("--person", type=int, help="关联人员编号")
    p.set_defaults(func=cmd_user_add)
    p = usub.add_parser("passwd", parents=[common], help="重置密码（下次登录时须修改）")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取新密码；不给出时生成临时密码")
    p.set_defaults(func=cmd_user_passwd)
    for name, help_text in (("disable", "停用账号"), ("enable", "启用账号")):
        p = usub.add_parser(name, parents=[common], help=help_text)
        p.add_argument("username")
        p.set_defaults(func=cmd_user_active)
    p = usub.add_parser("set", parents=[common], help="修改角色、绑定网格或显示名称")
    p.add_argument("username")
    p.add_argument("--role")
    p.add_argument("--grid", help="网格编号；none 表示不限网格")
    p.add_argument("--display-name")
    p.set_defaults(func=cmd_user_set)
    p = usub.add_parser("unlock", parents=[common], help="解除登录锁定")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_unlock)
    p = usub.add_parser("list", parents=[common], help="列出账号")
    p.set_defaults(func=cmd_user_list)

    p = sub.add_parser("init-demo", parents=[common], help="载入临江市森工街道演示数据")
    p.add_argument("--reset", action="store_true", help="删除并重建数据库表后重新载入（仅限演示数据库，正式数据库拒绝）")
    p.set_defaults(func=cmd_init_demo)

    p = sub.add_parser("info", parents=[common], help="各表记录数及网格责任人")
    p.set_defaults(func=cmd_info)

    kinds = ("rivers", "grids", "tracks", "objects", "incidents")
    importing = argparse.ArgumentParser(add_help=False)
    importing.add_argument("file", type=Path)
    importing.add_argument("--layer", help="读取的图层（默认第一个非空图层）")
    importing.add_argument("--crs", help="文件未声明坐标系时采用的坐标系，如 EPSG:4490")
    importing.add_argument("--from", dest="from_offset", choices=("gcj02", "bd09"),
                           help="坐标带有火星/百度偏移时转换为 WGS84")
    importing.add_argument("--map", action="append", metavar="KEY=COLUMN", help="字段对应，如 name=MC")
    importing.add_argument("--default", action="append", metavar="KEY=VALUE",
                           help="缺省值，如 parent=临江市森工街道办事处")
    importing.add_argument("--allow-far", action="store_true",
                           help="要素距本系统最上级网格超过 RIVERGRID_MAX_DISTANCE_KM（默认 50 km）时仍然导入")

    p = sub.add_parser("inspect", parents=[common, importing],
                       help="检查地理数据文件（图层、要素数、坐标系、范围），结论与导入相同，不写入")
    p.add_argument("--as", dest="kind", choices=kinds, help="按此类型做完整的导入检查（回滚，不写入）")
    p.add_argument("--user", default="admin", help="--as 检查时以哪个用户的身份（默认 admin）")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("import", parents=[common, importing], help="导入地理数据文件")
    p.add_argument("--as", dest="kind", required=True, choices=kinds)
    p.add_argument("--user", default="admin", help="以哪个用户的身份写入（默认 admin）")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="导出图层")
    p.add_argument("--layer", required=True, choices=EXPORT_LAYERS)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("-o", "--output", required=True, type=Path)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("check", parents=[common], help="盲区检查：河段覆盖、网格拓扑、纵向到底")
    p.add_argument("--rivers", type=Path, help="河段文件（与 --grids 一起给出时检查文件而非数据库）")
    p.add_argument("--grids", type=Path, help="网格文件")
    p.add_argument("--level", default=None, help="检查的网格层级：village（默认）、township、county")
    p.add_argument("--crs", help="量算用的投影坐标系，如 EPSG:4551（默认按数据中心自动选择）")
    p.add_argument("--min-gap-m", type=float, default=0.0, help="忽略短于此长度（米）的未覆盖/重复段")
    p.add_argument("--csv", type=Path, help="问题清单另存为 CSV")
    p.add_argument("--xlsx", type=Path, help="报告另存为 Excel")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("who", parents=[common], help="查询某点的责任链：所在网格、河段、河长及各级责任人")
    p.add_argument("--lon", type=float, required=True, help="经度（WGS84，度）")
    p.add_argument("--lat", type=float, required=True, help="纬度（WGS84，度）")
    p.add_argument("--tolerance-m", type=float, default=50.0, help="查找河段和相邻网格的距离（米，默认 50）")
    p.add_argument("--public-phones-only", action="store_true", help="只显示公开的电话号码")
    p.set_defaults(func=cmd_who)

    p = sub.add_parser("signboard", parents=[common], help="生成网格或河段公示牌（PDF 或 PNG，含二维码）")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--grid", type=int, help="网格编号")
    which.add_argument("--reach", type=int, help="河段编号")
    p.add_argument("-o", "--output", required=True, help="输出文件（.pdf 或 .png）")
    p.add_argument("--base-url", help="二维码链接的应用地址（默认 RIVERGRID_PUBLIC_URL）")
    p.set_defaults(func=cmd_signboard)

    vol = sub.add_parser("volunteer", help="志愿者和协管员：登记到村级网格、列表")
    vsub = vol.add_subparsers(dest="volunteer_command", required=True)
    p = vsub.add_parser("add", parents=[common], help="登记志愿者或协管员（可同时创建只能上报事件、上传轨迹的账号）")
    p.add_argument("--grid", type=int, required=True, help="村级网格编号")
    p.add_argument("--name", required=True, help="姓名")
    p.add_argument("--post", default="volunteer", help="volunteer 志愿者（默认）或 assistant 协管员")
    p.add_argument("--title", help="职务")
    p.add_argument("--unit", help="单位")
    p.add_argument("--phone", help="电话")
    p.add_argument("--phone-public", action="store_true", help="电话可向社会公示")
    p.add_argument("--username", help="同时创建的账号用户名（密码从标准输入读取，见 --password-stdin）")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入第一行读取新账号的密码")
    p.add_argument("--user", default="admin", help="以哪个用户的身份登记（默认 admin）")
    p.set_defaults(func=cmd_volunteer_add)
    p = vsub.add_parser("list", parents=[common], help="列出网格的志愿者和协管员")
    p.add_argument("--grid", type=int, required=True, help="网格编号")
    p.set_defaults(func=cmd_volunteer_list)

    p = sub.add_parser("patrol", parents=[common], help="分析巡河轨迹：清洗、沿河匹配、疑似虚假巡查")
    p.add_argument("file", type=Path, help="轨迹文件（GPX、KML/KMZ、CSV）")
    p.add_argument("--rivers", type=Path, help="河段文件（默认用数据库中的河段；河段编号取 id 属性或从 0 起的序号）")
    p.add_argument("--corridor-m", type=float, default=50.0, help="河道缓冲距离（米，默认 50）")
    p.add_argument("--max-speed-kmh", type=float, default=30.0, help="判定跳点的最大速度（km/h，默认 30）")
    p.add_argument("--from-crs", choices=("gcj02", "bd09"), help="轨迹坐标带有火星/百度偏移时转换为 WGS84")
    p.set_defaults(func=cmd_patrol)

    p = sub.add_parser("patrol-report", parents=[common], help="巡河考核：按人员、网格、河段统计完成率和河段覆盖")
    p.add_argument("--period", required=True, help="时段：2026、2026-Q4、2026-11、2026-11-上旬、2026-W45、2026-11-01..2026-11-15")
    p.add_argument("--corridor-m", type=float, default=50.0, help="河道缓冲距离（米，默认 50）")
    p.add_argument("--fix-offsets", action="store_true", help="对疑似 GCJ-02/BD-09 偏移的轨迹按建议转换后再统计")
    p.set_defaults(func=cmd_patrol_report)

    p = sub.add_parser("assess", parents=[common], help="考核评价：各网格的巡河、事件处置、覆盖等指标、得分和同级排名")
    p.add_argument("--period", required=True, help="考核时段：年度 2026、月份 2026-11（也可 2026-Q4 等）")
    p.add_argument("--grid", type=int, help="只输出此网格（编号）；排名仍在全部同级网格中计算")
    p.add_argument("--xlsx", type=Path, help="导出 Excel 汇总表（每个层级一张表，含合计行）")
    p.add_argument("--rubric", type=Path, help="评分细则 JSON 文件（权重与扣分，缺省项用默认值）")
    p.add_argument("--now", help="按此时刻判断事件是否超期（ISO 8601，默认当前时间）")
    p.set_defaults(func=cmd_assess)

    p = sub.add_parser("undo", parents=[common], help="撤销一次修改（审计日志编号）或一批修改")
    p.add_argument("entry", nargs="?", type=int)
    p.add_argument("--batch")
    p.add_argument("--user", default="admin")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("backup", parents=[common], help="备份数据库和附件照片到一个文件（可在系统运行时执行）")
    p.add_argument("-o", "--output", type=Path,
                   help="备份文件（默认在备份目录 RIVERGRID_BACKUP_DIR 中新建 rivergrid-日期-时间.zip）")
    p.add_argument("--rotate", type=int, metavar="N", help="备份后只保留备份目录中最新的 N 个定期备份")
    p.add_argument("--reason", default="manual", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", parents=[common], help="从备份文件恢复数据库和附件照片（请先停止应用）")
    p.add_argument("file", type=Path, help="备份文件（gis backup 生成的 .zip）")
    p.add_argument("--force", action="store_true", help="目标数据库已有数据时仍然恢复：用备份替换现有数据")
    p.set_defaults(func=cmd_restore)

    aud = sub.add_parser("audit", help="修改记录（审计日志）：校验哈希链")
    asub = aud.add_subparsers(dest="audit_command", required=True)
    p = asub.add_parser("verify", parents=[common],
                        help="逐条校验修改记录的哈希链；完整时退出码为 0，发现被改动、删除的记录时为 2 并指出第一条")
    p.set_defaults(func=cmd_audit_verify)

    inc = sub.add_parser("incident", help="事件：上报、流转、列表")
    isub = inc.add_subparsers(dest="incident_command", required=True)
    p = isub.add_parser("report", parents=[common], help="上报事件（自动派往所在网格、河段和责任人）")
    p.add_argument("--lon", type=float, required=True, help="经度（WGS84，度）")
    p.add_argument("--lat", type=float, required=True, help="纬度（WGS84，度）")
    p.add_argument("--category", required=True, help="类别（代码或中文，如 ecology、生态环境）")
    p.add_argument("--description", required=True, help="事件描述")
    p.add_argument("--severity", default="normal", help="紧急程度：normal 一般、major 较大、urgent 紧急")
    p.add_argument("--source", default="patrol", help="来源：patrol、public_complaint、assigned_by_upper、volunteer")
    p.add_argument("--reporter", help="上报人（默认为当前用户）")
    p.add_argument("--contact", help="上报人联系方式（不记入修改记录；工作人员查看时记录查看人）")
    p.add_argument("--title", help="标题（默认取描述开头）")
    p.add_argument("--object-id", type=int, help="关联的监管对象编号")
    p.add_argument("--track-id", type=int, help="关联的巡河轨迹编号")
    p.add_argument("--photo", action="append", help="照片文件路径（JPEG/PNG 等，每张不超过 10 MB，可重复）")
    p.add_argument("--tolerance-m", type=float, default=50.0, help="查找河段的距离（米，默认 50）")
    p.add_argument("--allow-far", action="store_true", help="位置距本系统最上级网格超过上限时仍然上报")
    p.add_argument("--as", "--user", dest="user", default="admin", help="以哪个用户的身份上报（默认 admin）")
    p.set_defaults(func=cmd_incident_report)
    p = isub.add_parser("move", parents=[common], help="事件流转：受理、交办、办结、审核、督办、移送等")
    p.add_argument("id", help="事件编号（数字）或代码（如 SJ-2026-001）")
    p.add_argument("--to", required=True, help="目标状态或操作（如 accepted、受理、assign、通过、退回）")
    p.add_argument("--note", default="", help="说明（不予受理、办结、退回、上报上级、移送时必填）")
    p.add_argument("--grid", type=int, help="交办或上报的网格编号")
    p.add_argument("--person", type=int, help="交办的责任人编号")
    p.add_argument("--attach", action="append", help="照片文件路径（JPEG/PNG 等，每张不超过 10 MB，可重复）")
    p.add_argument("--expected-version", type=int, help="读取时的版本号（乐观锁）")
    p.add_argument("--as", "--user", dest="user", default="admin", help="以哪个用户的身份操作（默认 admin）")
    p.set_defaults(func=cmd_incident_move)
    p = isub.add_parser("list", parents=[common], help="事件列表")
    p.add_argument("--overdue", action="store_true", help="只列超期事件")
    p.add_argument("--due-soon", action="store_true", help="只列即将到期的事件")
    p.add_argument("--status", action="append", help="状态（可重复）")
    p.add_argument("--category")
    p.add_argument("--grid", type=int, help="网格编号")
    p.add_argument("--now", help="按此时刻判断超期（ISO 8601，默认当前时间）")
    p.add_argument("--as", "--user", dest="user", help="以哪个用户的身份查看（只列出其数据权限内的事件）")
    p.set_defaults(func=cmd_incident_list)

    p = sub.add_parser("calendar", parents=[common], help="工作日日历：某天是否上班及依据、各年安排的来源、加入新年度安排、重算在办事件期限",
                       description="DATE（YYYY-MM-DD 或 today）：该日是否工作日及依据（官方安排、本地安排或估算）；"
                                   "years：各年安排的来源；add FILE：加入国务院公布的新年度放假安排（JSON）；"
                                   "refresh：按当前日历重算在办事件的期限（需处置事件权限）")
    p.add_argument("what", metavar="DATE|years|add|refresh", help="日期，或 years、add、refresh")
    p.add_argument("file", nargs="?", type=Path, help="add：放假安排文件（JSON，格式见 README 生产部署一节）")
    p.add_argument("--replace", action="store_true", help="add：替换日历文件中已有的年份")
    p.add_argument("--as", "--user", dest="user", default="admin",
                   help="refresh：以哪个用户的身份重算（需有处置事件权限，默认 admin）")
    p.set_defaults(func=cmd_calendar)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "undo" and not (args.entry or args.batch):
        parser.error("请给出审计日志编号或 --batch")
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0
    except RiverGridError as exc:
        if os.environ.get("RIVERGRID_DEBUG") == "1":
            raise
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line for the operator, never a traceback
        if os.environ.get("RIVERGRID_DEBUG") == "1":
            raise
        print(f"错误：内部错误，请联系管理员 ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
