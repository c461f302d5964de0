"""RiverGrid command line: ``python -m gis COMMAND [--json]``.

Commands: ``init-demo``, ``info``, ``inspect FILE``, ``import FILE --as KIND``,
``export --layer L --format F -o PATH``, ``check [--rivers F --grids F]``, ``undo ENTRY|--batch B``,
``who --lon X --lat Y [--tolerance-m 50]``, ``patrol FILE [--rivers F] [--corridor-m 50] [--from-crs gcj02]``,
``patrol-report --period 2026-11``, ``assess --period 2026 [--grid ID] [--xlsx FILE]``,
``incident report --lon X --lat Y --category C --description D``, ``incident move ID --to STATE --as USER``,
``incident list [--overdue] [--due-soon] [--now ISO]``, ``audit verify``.

The command line trusts its operator (who can read the database file anyway) but still acts as
a named user: writes run as ``--user`` (default ``admin``) and are checked against that user's
role and written to the audit log like any other write. Errors print one line on stderr,
``错误：<中文说明> (<English reason>)``, and exit with status 2 (1 for an unexpected failure);
no traceback unless ``RIVERGRID_DEBUG=1``.
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
    from gis.auth import actor_for

    with store.session() as s:
        return actor_for(s, username)


def cmd_init_demo(args: argparse.Namespace) -> int:
    from gis.demo import load_demo

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


def cmd_inspect(args: argparse.Namespace) -> int:
    from gis.io import inspect

    layers = inspect(args.file, crs=args.crs)
    data = {"file": str(args.file), "layers": [layer.to_dict() for layer in layers]}
    text = "\n".join(
        f"{l.name}: {l.geometry_type}, {l.features} 个要素, 坐标系 {l.crs or '未知'}, 范围 {l.bounds_wgs84}"
        for l in layers
    )
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
    defaults = _pairs(args.default, "--default")
    with store.session(actor) as s:
        report = import_file(
            s, args.file, args.kind, layer=args.layer, crs=args.crs, source_offset=args.from_offset,
            mapping=_pairs(args.map, "--map"), defaults=defaults,
        )
    text = f"已导入 {len(report.ids)} 条{KIND_LABELS[args.kind]}（图层 {report.layer or '-'}，原坐标系 {report.source_crs}）"
    if report.warnings:
        text += "\n" + "\n".join(f"提示：{w}" for w in report.warnings)
    _print(report.to_dict(), args.json, text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gis.io import write_layer
    from gis.store.queries import load_map_data

    store = _store(args)
    with store.session() as s:
        data = load_map_data(s)
    gdf = getattr(data, args.layer)
    path = write_layer(gdf, args.output, fmt=args.format, layer=args.layer)
    result = {"layer": args.layer, "format": args.format, "features": len(gdf), "path": str(path)}
    _print(result, args.json, f"已导出 {len(gdf)} 个要素到 {path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gis.checks import check_files, check_store

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
    from gis.store.audit import undo, undo_batch

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
    from gis.responsibility import ResponsibilityIndex

    store = _store(args)
    with store.session() as s:
        index = ResponsibilityIndex.from_session(s)
    chain = index.lookup(args.lon, args.lat, tolerance_m=args.tolerance_m)
    private = not args.public_phones_only
    _print(chain.to_dict(include_private_phones=private), args.json, chain.to_text(include_private_phones=private))
    return 0


def cmd_volunteer_add(args: argparse.Namespace) -> int:
    from gis.volunteers import register_volunteer

    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        reg = register_volunteer(s, grid_id=args.grid, name=args.name, post=args.post, title=args.title or "",
                                 unit=args.unit or "", phone=args.phone or "", phone_public=args.phone_public,
                                 username=args.username, password=password)
    info = {"person_id": reg.person_id, "post_id": reg.post_id, "user_id": reg.user_id}
    text = f"已登记：{args.name}（人员编号 {reg.person_id}）" + (f"，账号 {args.username}" if reg.user_id else "")
    _print(info, args.json, text)
    return 0


def cmd_volunteer_list(args: argparse.Namespace) -> int:
    from gis.volunteers import volunteers_of

    store = _store(args)
    with store.session() as s:
        rows = volunteers_of(s, args.grid)
    text = "\n".join(f"{r['post']} {r['name']}（{r['title'] or '-'}）" + (f" 账号 {r['username']}" if r["username"] else "")
                     for r in rows) or "该网格没有登记志愿者或协管员"
    _print(rows, args.json, text)
    return 0


def cmd_signboard(args: argparse.Namespace) -> int:
    import shutil

    from gis.signboard import make_signboard

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
    from gis.incidents import incident_dict, report_incident

    store = _store(args)
    actor = _actor(store, args.user)
    with store.session(actor) as s:
        inc = report_incident(
            s, lon=args.lon, lat=args.lat, category=args.category, description=args.description,
            severity=args.severity, source=args.source, reporter=args.reporter, title=args.title,
            object_id=args.object_id, track_id=args.track_id, photos=args.photo, tolerance_m=args.tolerance_m,
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
    from gis.incidents import ACTION_LABELS, incident_dict, move

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

    from gis.incidents import incident_dict, list_incidents

    now = datetime.fromisoformat(args.now) if args.now else None
    store = _store(args)
    with store.session() as s:
        rows = list_incidents(s, status=args.status, category=args.category, grid_id=args.grid,
                              overdue=True if args.overdue else None, due_soon=True if args.due_soon else None,
                              now=now)
        data = [incident_dict(i, now=now) for i in rows]
    lines = [f"{d['code']} [{d['status_label']}] {d['title']}（{d['grid']['name'] if d['grid'] else '无网格'}）"
             f"{' ' + d['deadline']['label'] if d['deadline']['label'] else ''}" for d in data]
    _print(data, args.json, "\n".join(lines) if lines else "没有符合条件的事件")
    return 0


def cmd_patrol(args: argparse.Namespace) -> int:
    from gis.patrol import MatchOptions, analyse_tracks, reaches_frame, read_tracks

    if args.rivers:
        from gis.io import read_layer

        reaches = reaches_frame(read_layer(args.rivers).gdf)
    else:
        from gis.patrol_store import store_reaches

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
    from gis.patrol import MatchOptions
    from gis.patrol_store import patrol_report

    store = _store(args)
    with store.session() as s:
        report = patrol_report(s, args.period, options=MatchOptions(corridor_m=args.corridor_m),
                               fix_offsets=args.fix_offsets)
    _print(report.to_dict(), args.json, report.text())
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    from datetime import datetime

    from gis.assessment import DEFAULT_RUBRIC, Rubric, assess
    from gis.assessment_excel import write_assessment_xlsx
    from gis.evaluations import rollup

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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="机器可读的 JSON 输出")
    common.add_argument("--database-url", default=None, help="数据库 URL（默认读取 DATABASE_URL 或 data/ 下的 SQLite 文件）")
    parser = argparse.ArgumentParser(prog="python -m gis", description="河长网格 RiverGrid 命令行")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init-demo", parents=[common], help="载入临江市森工街道演示数据")
    p.add_argument("--reset", action="store_true", help="删除并重建数据库表后重新载入（仅限演示数据库，正式数据库拒绝）")
    p.set_defaults(func=cmd_init_demo)

    p = sub.add_parser("info", parents=[common], help="各表记录数及网格责任人")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("inspect", parents=[common], help="查看地理数据文件的图层、要素数、坐标系和范围")
    p.add_argument("file", type=Path)
    p.add_argument("--crs", help="文件未声明坐标系时采用的坐标系，如 EPSG:4490")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("import", parents=[common], help="导入地理数据文件")
    p.add_argument("file", type=Path)
    p.add_argument("--as", dest="kind", required=True, choices=("rivers", "grids", "tracks", "objects", "incidents"))
    p.add_argument("--layer")
    p.add_argument("--crs", help="文件未声明坐标系时采用的坐标系")
    p.add_argument("--from", dest="from_offset", choices=("gcj02", "bd09"), help="坐标带有火星/百度偏移时转换为 WGS84")
    p.add_argument("--map", action="append", metavar="KEY=COLUMN", help="字段对应，如 name=MC")
    p.add_argument("--default", action="append", metavar="KEY=VALUE", help="缺省值，如 parent=临江市森工街道办事处")
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
    p.add_argument("--title", help="标题（默认取描述开头）")
    p.add_argument("--object-id", type=int, help="关联的监管对象编号")
    p.add_argument("--track-id", type=int, help="关联的巡河轨迹编号")
    p.add_argument("--photo", action="append", help="照片文件路径（JPEG/PNG 等，每张不超过 10 MB，可重复）")
    p.add_argument("--tolerance-m", type=float, default=50.0, help="查找河段的距离（米，默认 50）")
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
    p.set_defaults(func=cmd_incident_list)
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
