"""The command line's parser, its dispatch and its boundary: errors as one line, logging.

Every command's options are declared here (the parser imports nothing heavy, so ``--help`` and a
mistyped command answer at once); the command runs in its capability's module of :mod:`gis.cli`,
imported only when that command runs (:func:`main`).

Flags mean one thing everywhere: ``--as USER`` is the account a command acts as (``--user`` is
still accepted), ``--from gcj02|bd09`` converts Amap/Tencent (GCJ-02) or Baidu (BD-09) offset
coordinates to WGS84 (``--from-crs`` is still accepted), ``--kind`` is the kind of data an import
writes (the old ``import FILE --as KIND`` still works when no ``--kind`` is given: a kind's name
after ``--as`` is read as the kind).

Errors print one line on stderr, ``错误：<中文说明> (<English reason>)``, and exit with status 2
(1 for an unexpected failure); no traceback unless ``RIVERGRID_DEBUG=1``. The same failure is a
log record of the logger ``rivergrid.cli`` (WARNING with the English reason; ERROR with the
traceback for an unexpected failure) for whatever collects the logs; :func:`configure_logging`
sends log records to stderr from ``RIVERGRID_LOG_LEVEL`` (default ``WARNING``) up, without
repeating the error line the operator has already seen.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gis.errors import RiverGridError

__all__ = ["EXPORT_FORMATS", "EXPORT_LAYERS", "KINDS", "LOG", "build_parser", "configure_logging", "main"]

EXPORT_LAYERS = ("reaches", "grids", "tracks", "incidents", "objects")
EXPORT_FORMATS = ("gpkg", "shp", "geojson", "kml")
KINDS = ("rivers", "grids", "tracks", "objects", "incidents")
"""What ``import --kind`` writes (:data:`gis.importing.KIND_LABELS`)."""
OFFSETS = ("gcj02", "bd09")

LOG = logging.getLogger("rivergrid.cli")
LOG_LEVEL_ENV = "RIVERGRID_LOG_LEVEL"
_SHOWN = "rivergrid_shown"
"""Attribute of a log record whose message the operator has already seen as the error line."""


# =============================================================================================
# Flags spelled one way
# =============================================================================================


def _account_flags(p: argparse.ArgumentParser, help_text: str, *, default: str | None = "admin") -> None:
    """``--as USER``: the account the command acts as (the old ``--user`` still works, unlisted)."""
    p.add_argument("--as", dest="user", default=default, metavar="USER", help=help_text)
    p.add_argument("--user", dest="user", default=default, help=argparse.SUPPRESS)


def _import_account_flags(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--as USER`` for ``import``/``inspect``, where ``--as`` once named the kind (see
    :func:`_resolve_import_flags`)."""
    p.add_argument("--as", dest="as_account", metavar="USER", help=help_text)
    p.add_argument("--user", dest="user", default=None, help=argparse.SUPPRESS)


def _offset_flags(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--from gcj02|bd09`` (the old ``--from-crs`` still works, unlisted)."""
    p.add_argument("--from", dest="from_offset", choices=OFFSETS, help=help_text)
    p.add_argument("--from-crs", dest="from_offset", choices=OFFSETS, help=argparse.SUPPRESS)


def _tile_flags(p: argparse.ArgumentParser) -> None:
    """``--tile-km`` and ``--scheduler``: where a large check runs (:mod:`gis.tiling`), for this
    command only (they override ``RIVERGRID_TILE_KM`` and ``RIVERGRID_DASK_SCHEDULER``)."""
    p.add_argument("--tile-km", type=float, default=None, help="分块边长（公里，默认取 RIVERGRID_TILE_KM，25）")
    p.add_argument(
        "--scheduler",
        default=None,
        help="分块在哪里计算：inline（本进程）、local（本机 dask 集群）、tcp://主机:8786（dask 集群）；"
        "默认取 RIVERGRID_DASK_SCHEDULER（自动）",
    )


def _apply_tile_flags(args: argparse.Namespace) -> None:
    if getattr(args, "tile_km", None) is not None:
        if not args.tile_km > 0:
            raise RiverGridError("--tile-km 必须大于 0", "tile size must be > 0")
        os.environ["RIVERGRID_TILE_KM"] = repr(args.tile_km)
    if getattr(args, "scheduler", None):
        os.environ["RIVERGRID_DASK_SCHEDULER"] = args.scheduler


def _resolve_import_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``args.kind`` and ``args.user`` of ``import``/``inspect`` from ``--kind``, ``--as`` and ``--user``.

    A kind's name after ``--as`` with no ``--kind`` is the old spelling of the kind; anything else
    after ``--as`` is the account.
    """
    kind, account = args.kind, args.as_account
    if kind is None and account in KINDS:
        kind, account = account, None
    if args.command == "import" and kind is None:
        parser.error(f"请用 --kind 给出导入的数据类型：{'、'.join(KINDS)}")
    if account is not None and args.user is not None and account != args.user:
        parser.error("--as 与 --user 都是“以哪个账号的身份”，只需给出一个")
    args.kind, args.user = kind, account or args.user or "admin"


# =============================================================================================
# The parser
# =============================================================================================


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="机器可读的 JSON 输出")
    common.add_argument(
        "--database-url", default=None, help="数据库 URL（默认读取 DATABASE_URL 或 data/ 下的 SQLite 文件）"
    )
    parser = argparse.ArgumentParser(prog="python -m gis", description="河长网格 RiverGrid 命令行")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[common], help="建立正式数据库（仅数据结构，不含演示数据和账号）")
    p.set_defaults(run="accounts.cmd_init")

    users = sub.add_parser("user", help="账号管理（安全管理员）：建立、重置密码、停用/启用、修改、解锁、列表")
    usub = users.add_subparsers(dest="user_command", required=True)
    p = usub.add_parser("add", parents=[common], help="建立账号")
    p.add_argument("--username", required=True, help="用户名")
    p.add_argument(
        "--role",
        required=True,
        help="角色：admin 系统管理员、security 安全管理员、auditor 审计员、staff 工作人员、leader 领导、"
        "patroller 巡查员、volunteer 志愿者/协管员、department 成员单位",
    )
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="从标准输入读取密码（本人设定，无需首次登录后修改）；不给出时生成临时密码",
    )
    p.add_argument("--display-name", help="显示名称")
    p.add_argument("--grid", type=int, help="绑定网格编号（只能查看和处理该网格及下级网格的数据）")
    p.add_argument("--person", type=int, help="关联人员编号")
    p.add_argument(
        "--department", help="所属成员单位（名称或编号；department 角色必填，只能查看和办理发给该单位的事件）"
    )
    p.set_defaults(run="accounts.cmd_user_add")
    p = usub.add_parser("passwd", parents=[common], help="重置密码（下次登录时须修改）")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取新密码；不给出时生成临时密码")
    p.set_defaults(run="accounts.cmd_user_passwd")
    for name, help_text in (("disable", "停用账号"), ("enable", "启用账号")):
        p = usub.add_parser(name, parents=[common], help=help_text)
        p.add_argument("username")
        p.set_defaults(run="accounts.cmd_user_active")
    p = usub.add_parser("set", parents=[common], help="修改角色、绑定网格或显示名称")
    p.add_argument("username")
    p.add_argument("--role")
    p.add_argument("--grid", help="网格编号；none 表示不限网格")
    p.add_argument("--display-name")
    p.add_argument("--department", help="所属成员单位（名称或编号；none 表示不属于任何单位）")
    p.set_defaults(run="accounts.cmd_user_set")
    p = usub.add_parser("unlock", parents=[common], help="解除登录锁定")
    p.add_argument("username")
    p.set_defaults(run="accounts.cmd_user_unlock")
    p = usub.add_parser("list", parents=[common], help="列出账号")
    p.set_defaults(run="accounts.cmd_user_list")

    tokens = sub.add_parser("token", help="接口密钥（安全管理员）：为账号建立、列出、吊销 HTTP 接口的密钥")
    tsub = tokens.add_subparsers(dest="token_command", required=True)
    p = tsub.add_parser("create", parents=[common], help="为账号建立接口密钥（只显示这一次）")
    p.add_argument("--user", required=True, help="密钥所属账号的用户名（接口以该账号的角色和数据权限办事）")
    p.add_argument("--name", required=True, help="密钥名称，说明用途，例如“县河长制平台”")
    p.set_defaults(run="accounts.cmd_token_create")
    p = tsub.add_parser("list", parents=[common], help="列出接口密钥（不显示密钥本身）")
    p.add_argument("--user", help="只列出该账号的密钥")
    p.set_defaults(run="accounts.cmd_token_list")
    p = tsub.add_parser("revoke", parents=[common], help="吊销接口密钥（立即失效）")
    p.add_argument("id", type=int, help="密钥编号（见 token list）")
    p.set_defaults(run="accounts.cmd_token_revoke")

    p = sub.add_parser("init-demo", parents=[common], help="载入临江市森工街道演示数据")
    p.add_argument(
        "--reset", action="store_true", help="删除并重建数据库表后重新载入（仅限演示数据库，正式数据库拒绝）"
    )
    p.set_defaults(run="ops.cmd_init_demo")

    bm = sub.add_parser("basemap", help="底图：由网格、河段数据生成内置简图（无需互联网）")
    bsub = bm.add_subparsers(dest="basemap_command", required=True)
    p = bsub.add_parser(
        "build", parents=[common], help="生成简图矢量瓦片（默认写入数据目录 basemap/simple.pmtiles，应用即用）"
    )
    p.add_argument("-o", "--output", type=Path, help="输出文件（.pmtiles 或 .mbtiles；默认为应用使用的简图）")
    p.add_argument("--if-stale", action="store_true", help="只在文件缺失或数据已变化时生成")
    p.set_defaults(run="basemap.cmd_basemap_build")

    p = sub.add_parser("info", parents=[common], help="各表记录数及网格责任人")
    p.set_defaults(run="ops.cmd_info")

    importing = argparse.ArgumentParser(add_help=False)
    importing.add_argument("file", type=Path)
    importing.add_argument("--layer", help="读取的图层（默认第一个非空图层）")
    importing.add_argument("--crs", help="文件未声明坐标系时采用的坐标系，如 EPSG:4490")
    _offset_flags(importing, "坐标带有火星/百度偏移时转换为 WGS84")
    importing.add_argument("--map", action="append", metavar="KEY=COLUMN", help="字段对应，如 name=MC")
    importing.add_argument(
        "--default", action="append", metavar="KEY=VALUE", help="缺省值，如 parent=临江市森工街道办事处"
    )
    importing.add_argument(
        "--allow-far",
        action="store_true",
        help="要素距本系统最上级网格超过 RIVERGRID_MAX_DISTANCE_KM（默认 50 km）时仍然导入",
    )

    p = sub.add_parser(
        "inspect",
        parents=[common, importing],
        help="检查地理数据文件（图层、要素数、坐标系、范围），结论与导入相同，不写入",
    )
    p.add_argument("--kind", choices=KINDS, help="按此类型做完整的导入检查（回滚，不写入）")
    _import_account_flags(p, "--kind 检查时以哪个账号的身份（默认 admin）")
    p.set_defaults(run="geodata.cmd_inspect")

    p = sub.add_parser("import", parents=[common, importing], help="导入地理数据文件")
    p.add_argument("--kind", choices=KINDS, help="导入的数据类型（必填）")
    _import_account_flags(p, "以哪个账号的身份写入（默认 admin）")
    p.set_defaults(run="geodata.cmd_import")

    p = sub.add_parser("export", parents=[common], help="导出图层")
    p.add_argument("--layer", required=True, choices=EXPORT_LAYERS)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("-o", "--output", required=True, type=Path)
    p.set_defaults(run="geodata.cmd_export")

    p = sub.add_parser("check", parents=[common], help="盲区检查：河段覆盖、网格拓扑、纵向到底")
    p.add_argument("--rivers", type=Path, help="河段文件（与 --grids 一起给出时检查文件而非数据库）")
    p.add_argument("--grids", type=Path, help="网格文件")
    p.add_argument("--level", default=None, help="检查的网格层级：village（默认）、township、county")
    p.add_argument("--crs", help="量算用的投影坐标系，如 EPSG:4551（默认按数据中心自动选择）")
    p.add_argument(
        "--min-gap-m",
        type=float,
        default=None,
        help="短于此长度（米）的未覆盖/重复段列为微小缝隙/微小重叠（数据清理），不算盲区、不扣分；"
        "默认取 RIVERGRID_MIN_GAP_M（0.5 米），0 表示不区分",
    )
    p.add_argument("--csv", type=Path, help="问题清单另存为 CSV")
    p.add_argument("--xlsx", type=Path, help="报告另存为 Excel")
    _tile_flags(p)
    p.set_defaults(run="checks.cmd_check")

    p = sub.add_parser("who", parents=[common], help="查询某点的责任链：所在网格、河段、河长及各级责任人")
    p.add_argument("--lon", type=float, required=True, help="经度（WGS84，度）")
    p.add_argument("--lat", type=float, required=True, help="纬度（WGS84，度）")
    p.add_argument("--tolerance-m", type=float, default=50.0, help="查找河段和相邻网格的距离（米，默认 50）")
    p.add_argument("--public-phones-only", action="store_true", help="只显示公开的电话号码")
    p.set_defaults(run="grids.cmd_who")

    p = sub.add_parser("signboard", parents=[common], help="生成网格或河段公示牌（PDF 或 PNG，含二维码）")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--grid", type=int, help="网格编号")
    which.add_argument("--reach", type=int, help="河段编号")
    p.add_argument("-o", "--output", required=True, help="输出文件（.pdf 或 .png）")
    p.add_argument("--base-url", help="二维码链接的应用地址（默认 RIVERGRID_PUBLIC_URL）")
    p.set_defaults(run="disclosure.cmd_signboard")

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
    _account_flags(p, "以哪个账号的身份登记（默认 admin）")
    p.set_defaults(run="disclosure.cmd_volunteer_add")
    p = vsub.add_parser("list", parents=[common], help="列出网格的志愿者和协管员")
    p.add_argument("--grid", type=int, required=True, help="网格编号")
    p.set_defaults(run="disclosure.cmd_volunteer_list")

    p = sub.add_parser("patrol", parents=[common], help="分析巡河轨迹：清洗、沿河匹配、疑似虚假巡查")
    p.add_argument("file", type=Path, help="轨迹文件（GPX、KML/KMZ、CSV）")
    p.add_argument("--rivers", type=Path, help="河段文件（默认用数据库中的河段；河段编号取 id 属性或从 0 起的序号）")
    p.add_argument("--corridor-m", type=float, default=50.0, help="河道缓冲距离（米，默认 50）")
    p.add_argument("--max-speed-kmh", type=float, default=30.0, help="判定跳点的最大速度（km/h，默认 30）")
    _offset_flags(p, "轨迹坐标带有火星/百度偏移时转换为 WGS84")
    _tile_flags(p)
    p.set_defaults(run="patrol.cmd_patrol")

    p = sub.add_parser("patrol-report", parents=[common], help="巡河考核：按人员、网格、河段统计完成率和河段覆盖")
    p.add_argument(
        "--period", required=True, help="时段：2026、2026-Q4、2026-11、2026-11-上旬、2026-W45、2026-11-01..2026-11-15"
    )
    p.add_argument("--corridor-m", type=float, default=50.0, help="河道缓冲距离（米，默认 50）")
    p.add_argument("--fix-offsets", action="store_true", help="对疑似 GCJ-02/BD-09 偏移的轨迹按建议转换后再统计")
    _tile_flags(p)
    p.set_defaults(run="patrol.cmd_patrol_report")

    p = sub.add_parser("assess", parents=[common], help="考核评价：各网格的巡河、事件处置、覆盖等指标、得分和同级排名")
    p.add_argument("--period", required=True, help="考核时段：年度 2026、月份 2026-11（也可 2026-Q4 等）")
    p.add_argument("--grid", type=int, help="只输出此网格（编号）；排名仍在全部同级网格中计算")
    p.add_argument("--xlsx", type=Path, help="导出 Excel 汇总表（每个层级一张表，含合计行）")
    p.add_argument("--rubric", type=Path, help="评分细则 JSON 文件（权重与扣分，缺省项用默认值）")
    p.add_argument("--now", help="按此时刻判断事件是否超期（ISO 8601，默认当前时间）")
    p.set_defaults(run="assessment.cmd_assess")

    p = sub.add_parser("undo", parents=[common], help="撤销一次修改（审计日志编号）或一批修改")
    p.add_argument("entry", nargs="?", type=int)
    p.add_argument("--batch")
    _account_flags(p, "以哪个账号的身份撤销（默认 admin）")
    p.set_defaults(run="ops.cmd_undo")

    p = sub.add_parser("backup", parents=[common], help="备份数据库和附件照片到一个文件（可在系统运行时执行）")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="备份文件（默认在备份目录 RIVERGRID_BACKUP_DIR 中新建 rivergrid-日期-时间.zip）",
    )
    p.add_argument("--rotate", type=int, metavar="N", help="备份后只保留备份目录中最新的 N 个定期备份")
    p.add_argument("--reason", default="manual", help=argparse.SUPPRESS)
    p.set_defaults(run="ops.cmd_backup")

    p = sub.add_parser("restore", parents=[common], help="从备份文件恢复数据库和附件照片（请先停止应用）")
    p.add_argument("file", type=Path, help="备份文件（gis backup 生成的 .zip）")
    p.add_argument("--force", action="store_true", help="目标数据库已有数据时仍然恢复：用备份替换现有数据")
    p.set_defaults(run="ops.cmd_restore")

    aud = sub.add_parser("audit", help="修改记录（审计日志）：校验哈希链")
    asub = aud.add_subparsers(dest="audit_command", required=True)
    p = asub.add_parser(
        "verify",
        parents=[common],
        help="逐条校验修改记录的哈希链；完整时退出码为 0，发现被改动、删除的记录时为 2 并指出第一条",
    )
    p.set_defaults(run="ops.cmd_audit_verify")

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
    _account_flags(p, "以哪个账号的身份上报（默认 admin）")
    p.set_defaults(run="incident_report.cmd_incident_report")
    p = isub.add_parser("move", parents=[common], help="事件流转：受理、交办、办结、审核、督办、移送等")
    p.add_argument("id", help="事件编号（数字）或代码（如 SJ-2026-001）")
    p.add_argument("--to", required=True, help="目标状态或操作（如 accepted、受理、assign、通过、退回）")
    p.add_argument("--note", default="", help="说明（不予受理、办结、退回、上报上级、移送时必填）")
    p.add_argument("--grid", type=int, help="交办或上报的网格编号")
    p.add_argument("--person", type=int, help="交办的责任人编号")
    p.add_argument("--attach", action="append", help="照片文件路径（JPEG/PNG 等，每张不超过 10 MB，可重复）")
    p.add_argument("--expected-version", type=int, help="读取时的版本号（乐观锁）")
    p.add_argument("--receiver", help="移送时：接收机关名称（默认取说明）")
    p.add_argument("--receiver-dept", help="移送时：接收的成员单位（名称或编号），其账号可登记回执和处理结果")
    _account_flags(p, "以哪个账号的身份操作（默认 admin）")
    p.set_defaults(run="incidents.cmd_incident_move")
    p = isub.add_parser("list", parents=[common], help="事件列表")
    p.add_argument("--overdue", action="store_true", help="只列超期事件")
    p.add_argument("--due-soon", action="store_true", help="只列即将到期的事件")
    p.add_argument("--status", action="append", help="状态（可重复）")
    p.add_argument("--category")
    p.add_argument("--grid", type=int, help="网格编号")
    p.add_argument("--now", help="按此时刻判断超期（ISO 8601，默认当前时间）")
    _account_flags(p, "以哪个账号的身份查看（只列出其数据权限内的事件）", default=None)
    p.set_defaults(run="incidents.cmd_incident_list")

    p = sub.add_parser(
        "calendar",
        parents=[common],
        help="工作日日历：某天是否上班及依据、各年安排的来源、加入新年度安排、重算在办事件期限",
        description="DATE（YYYY-MM-DD 或 today）：该日是否工作日及依据（官方安排、本地安排或估算）；"
        "years：各年安排的来源；add FILE：加入国务院公布的新年度放假安排（JSON）；"
        "refresh：按当前日历重算在办事件的期限（需处置事件权限）",
    )
    p.add_argument("what", metavar="DATE|years|add|refresh", help="日期，或 years、add、refresh")
    p.add_argument("file", nargs="?", type=Path, help="add：放假安排文件（JSON，格式见 README 生产部署一节）")
    p.add_argument("--replace", action="store_true", help="add：替换日历文件中已有的年份")
    _account_flags(p, "refresh：以哪个账号的身份重算（需有处置事件权限，默认 admin）")
    p.set_defaults(run="ops.cmd_calendar")

    # --- issue 17: meetings, the document shelf, the ledger workbook, 一河一档/一河一策, 曝光台 replies
    mt = sub.add_parser("meeting", help="会议记录：登记（日期、名称、参会人员、纪要、附件）、列表")
    msub = mt.add_subparsers(dest="meeting_command", required=True)
    p = msub.add_parser("add", parents=[common], help="登记会议")
    p.add_argument("--date", required=True, help="会议日期 YYYY-MM-DD（或 today）")
    p.add_argument("--title", required=True, help="会议名称")
    p.add_argument("--grid", type=int, help="网格编号（不填：街道领导小组）")
    p.add_argument("--place", help="地点")
    p.add_argument("--attendee", type=int, action="append", help="参会人员编号（可重复）")
    p.add_argument("--minutes", help="会议纪要")
    p.add_argument("--minutes-file", help="从 UTF-8 文本文件读取会议纪要")
    p.add_argument("--file", action="append", help="附件文件路径（可重复）")
    _account_flags(p, "以哪个账号的身份登记（默认 admin）")
    p.set_defaults(run="ledger.cmd_meeting_add")
    p = msub.add_parser("list", parents=[common], help="列出会议记录")
    p.add_argument("--grid", type=int, help="网格编号（含下级网格）")
    p.add_argument("--year", type=int, help="年度")
    _account_flags(p, "以哪个账号的身份查看（只列出其数据权限内的记录）", default=None)
    p.set_defaults(run="ledger.cmd_meeting_list")

    dc = sub.add_parser("doc", help="文件柜：登记方案计划、规章制度等文件，列表")
    dsub = dc.add_subparsers(dest="doc_command", required=True)
    p = dsub.add_parser("add", parents=[common], help="登记文件")
    p.add_argument(
        "--kind", required=True, help="类别：plan 方案计划、rule 规章制度、report 工作报告、notice 通知通报、other 其他"
    )
    p.add_argument("--title", required=True, help="文件名称")
    p.add_argument("--date", help="印发日期 YYYY-MM-DD")
    p.add_argument("--grid", type=int, help="网格编号（不填：街道）")
    p.add_argument("--note", help="备注")
    p.add_argument("--file", action="append", help="文件路径（可重复）")
    _account_flags(p, "以哪个账号的身份登记（默认 admin）")
    p.set_defaults(run="ledger.cmd_doc_add")
    p = dsub.add_parser("list", parents=[common], help="列出文件柜")
    p.add_argument("--grid", type=int, help="网格编号（含下级网格）")
    p.add_argument("--year", type=int, help="印发年度")
    _account_flags(p, "以哪个账号的身份查看（只列出其数据权限内的文件）", default=None)
    p.set_defaults(run="ledger.cmd_doc_list")

    lg = sub.add_parser("ledger", help="台账：导出网格年度台账 Excel（巡河、事件、会议、考核、对象）")
    lsub = lg.add_subparsers(dest="ledger_command", required=True)
    p = lsub.add_parser("export", parents=[common], help="导出网格（含下级网格）某年度的台账")
    p.add_argument("--grid", type=int, required=True, help="网格编号")
    p.add_argument("--year", type=int, required=True, help="年度，如 2026")
    p.add_argument("-o", "--output", required=True, help="输出文件（.xlsx）")
    _account_flags(p, "以哪个账号的身份导出（只含其数据权限内的网格）", default=None)
    p.set_defaults(run="ledger.cmd_ledger_export")

    rv = sub.add_parser("river", help="一河一档、一河一策：查看或修改河流档案，保存年度目标和任务")
    rsub = rv.add_subparsers(dest="river_command", required=True)
    p = rsub.add_parser("archive", parents=[common], help="查看河流档案；给出字段时先修改")
    p.add_argument("river", type=int, help="河流编号")
    p.add_argument("--length-km", type=float, help="河流长度（公里）")
    p.add_argument("--basin", help="所属流域")
    p.add_argument("--source", help="河源")
    p.add_argument("--mouth", help="河口")
    p.add_argument("--water-function-zone", help="水功能区")
    p.add_argument("--water-quality-target", help="水质目标")
    p.add_argument("--works", help="涉河工程")
    p.add_argument("--year", type=int, help="显示哪一年的一河一策（默认今年）")
    _account_flags(p, "修改时以哪个账号的身份（默认 admin）")
    p.set_defaults(run="ledger.cmd_river_archive")
    p = rsub.add_parser("plan", parents=[common], help="保存河流某年度的一河一策（目标、任务每行一项）")
    p.add_argument("river", type=int, help="河流编号")
    p.add_argument("--year", type=int, required=True, help="年度")
    p.add_argument("--targets", help="年度目标（每行一项）")
    p.add_argument("--targets-file", help="从 UTF-8 文本文件读取年度目标")
    p.add_argument("--tasks", help="年度任务（每行一项）")
    p.add_argument("--tasks-file", help="从 UTF-8 文本文件读取年度任务")
    p.add_argument("--note", help="备注")
    _account_flags(p, "以哪个账号的身份保存（默认 admin）")
    p.set_defaults(run="ledger.cmd_river_plan")

    p = sub.add_parser(
        "case-reply", parents=[common], help="曝光台：填写已办结事件的公开答复（向社会公开，勿写姓名、电话）"
    )
    p.add_argument("id", help="事件编号（数字）或代码（如 SJ-2026-001）")
    p.add_argument("--text", help="公开答复")
    p.add_argument("--text-file", help="从 UTF-8 文本文件读取公开答复")
    _account_flags(p, "以哪个账号的身份填写（需处置事件权限，默认 admin）")
    p.set_defaults(run="ledger.cmd_case_reply")
    # issue 17: departments (成员单位), 协办, 移送回执/结果, 延期
    dept = sub.add_parser("dept", help="成员单位：登记、列表")
    dsub = dept.add_subparsers(dest="dept_command", required=True)
    p = dsub.add_parser("add", parents=[common], help="登记成员单位（如 生态环境分局、水利局）")
    p.add_argument("name", help="单位名称")
    p.add_argument(
        "--kind",
        default="functional",
        help="类别：functional 职能部门、enforcement 执法机关、judicial 司法机关、other 其他单位",
    )
    p.add_argument("--contact", default="", help="联系人")
    p.add_argument("--phone", default="", help="联系电话")
    p.add_argument("--address", default="", help="地址")
    p.add_argument("--note", default="", help="备注")
    _account_flags(p, "以哪个账号的身份登记（需有管理成员单位权限，默认 admin）")
    p.set_defaults(run="departments.cmd_dept_add")
    p = dsub.add_parser("list", parents=[common], help="列出成员单位")
    p.set_defaults(run="departments.cmd_dept_list")
    p = isub.add_parser("cotask", parents=[common], help="发起协办：把事件发给一个或多个成员单位，各有期限")
    p.add_argument("id", help="事件编号（数字）或代码")
    p.add_argument("--dept", action="append", required=True, help="协办单位（名称或编号，可重复）")
    p.add_argument("--days", type=int, required=True, help="协办期限（工作日）")
    p.add_argument("--note", default="", help="协办要求")
    _account_flags(p, "以哪个账号的身份操作（默认 admin）")
    p.set_defaults(run="incidents.cmd_incident_cotask")
    p = isub.add_parser("answer", parents=[common], help="答复协办任务（成员单位）")
    p.add_argument("task", type=int, help="协办任务编号")
    p.add_argument("--note", required=True, help="答复内容")
    p.add_argument("--attach", action="append", help="照片文件路径（可重复）")
    _account_flags(p, "以哪个账号的身份答复（默认 admin）")
    p.set_defaults(run="incidents.cmd_incident_answer")
    p = isub.add_parser("extend", parents=[common], help="申请延期：理由和工作日数")
    p.add_argument("id", help="事件编号（数字）或代码")
    p.add_argument("--days", type=int, required=True, help="延期的工作日数")
    p.add_argument("--reason", required=True, help="延期理由")
    _account_flags(p, "以哪个账号的身份申请（默认 admin）")
    p.set_defaults(run="incidents.cmd_incident_extend")
    p = isub.add_parser("decide-extension", parents=[common], help="审批延期申请（上级网格）")
    p.add_argument("extension", type=int, help="延期申请编号")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--approve", action="store_true", help="批准")
    group.add_argument("--refuse", action="store_true", help="不批准（须写明意见）")
    p.add_argument("--note", default="", help="审批意见")
    _account_flags(p, "以哪个账号的身份审批（默认 admin）")
    p.set_defaults(run="incidents.cmd_incident_decide_extension")
    p = isub.add_parser("receipt", parents=[common], help="登记移送回执或处理结果")
    p.add_argument("transfer", type=int, help="移送记录编号")
    p.add_argument("--date", help="回执（或结果）日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--note", default="", help="回执说明")
    p.add_argument("--outcome", help="处理结果（给出时登记为处理结果）")
    _account_flags(p, "以哪个账号的身份登记（默认 admin）")
    p.set_defaults(run="incidents.cmd_incident_receipt")
    # issue 18: the 待办 inbox of one account
    p = sub.add_parser("inbox", parents=[common], help="待办：某账号待办理的事件、期限提醒、考核评价和巡河任务")
    p.add_argument("--user", "--as", dest="user", required=True, metavar="USER", help="账号（用户名）")
    p.add_argument("--now", help="按此时刻判断期限（ISO 8601，默认当前时间）")
    p.set_defaults(run="inbox.cmd_inbox")
    # issue 18: notifications, escalation, the delivery log
    notify = sub.add_parser("notify", help="消息提醒：运行一次通知与超期升级、投递记录、接收渠道、站内消息")
    nsub = notify.add_subparsers(dest="notify_command", required=True)
    p = nsub.add_parser("run", parents=[common], help="运行一次：发现事件、记录升级、发送到期的消息")
    p.add_argument("--dry-run", action="store_true", help="只列出将要记录和发送的内容，不写入、不发送")
    p.set_defaults(run="notify.cmd_notify_run")
    p = nsub.add_parser("log", parents=[common], help="投递记录（状态、尝试次数、最近错误）")
    p.add_argument("--state", choices=["pending", "deferred", "retry", "sent", "failed"], help="只列出此状态")
    p.add_argument("--problems", action="store_true", help="只列出失败和待重试的")
    p.add_argument("--limit", type=int, default=500, help="最多列出条数（默认 500）")
    p.set_defaults(run="notify.cmd_notify_log")
    p = nsub.add_parser("prefs", parents=[common], help="设置人员的电子邮箱、接收渠道和免打扰时段")
    p.add_argument("person", type=int, help="人员编号")
    p.add_argument("--email", help="电子邮箱（空字符串清除）")
    p.add_argument("--channels", help="接收渠道：inapp,email,sms（空字符串：按记录可用的全部渠道）")
    p.add_argument("--quiet", help="免打扰时段，如 22:00-07:00（空字符串：使用默认）")
    _account_flags(p, "以哪个账号的身份修改（需编辑人员权限，默认 admin）")
    p.set_defaults(run="notify.cmd_notify_prefs")
    p = nsub.add_parser("messages", parents=[common], help="列出账号的站内消息")
    p.add_argument("--unread", action="store_true", help="只列出未读")
    _account_flags(p, "哪个账号的消息（默认 admin）")
    p.set_defaults(run="notify.cmd_notify_messages")
    p = nsub.add_parser("read", parents=[common], help="将自己的一条站内消息标为已读")
    p.add_argument("message", type=int, help="消息编号")
    _account_flags(p, "以哪个账号的身份（只能标记自己的消息，默认 admin）")
    p.set_defaults(run="notify.cmd_notify_read")
    # issue 18: 信息报送 (monthly, quarterly and yearly reports per grid, submitted upward)
    rp = sub.add_parser("report", help="信息报送：生成网格月报、季报、年报（Excel/PDF），向上级报送，查看下级报送情况")
    rsub = rp.add_subparsers(dest="report_command", required=True)
    p = rsub.add_parser("build", parents=[common], help="生成报表（按文件后缀写 Excel 或 PDF）")
    p.add_argument("--grid", type=int, required=True, help="网格编号")
    p.add_argument("--period", required=True, help="报告期：月报 2026-11、季报 2026-Q4、年报 2026")
    p.add_argument("-o", "--output", required=True, type=Path, help="输出文件（.xlsx 或 .pdf）")
    _account_flags(p, "以哪个账号的身份生成（只能生成其数据权限内网格的报表）", default=None)
    p.set_defaults(run="reports.cmd_report_build")
    p = rsub.add_parser("submit", parents=[common], help="报送报表（报送后锁定；再次报送为新版本，须说明原因）")
    p.add_argument("--grid", type=int, required=True, help="网格编号")
    p.add_argument("--period", required=True, help="报告期：月报 2026-11、季报 2026-Q4、年报 2026")
    p.add_argument("--reason", default="", help="更正原因（报送新版本时必填）")
    _account_flags(p, "以哪个账号的身份报送（须为本网格工作人员或管理员）", default=None)
    p.set_defaults(run="reports.cmd_report_submit")
    p = rsub.add_parser("list", parents=[common], help="报送情况：网格及其下级网格在报告期的已报送/未报送/逾期")
    p.add_argument("--grid", type=int, help="网格编号（默认：账号所属网格，或最上级网格）")
    p.add_argument("--period", help="报告期（默认：最近结束的一个月）")
    _account_flags(p, "以哪个账号的身份查看（只能查看其数据权限内的网格）", default=None)
    p.set_defaults(run="reports.cmd_report_list")
    return parser


# =============================================================================================
# Logging and the run
# =============================================================================================


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to whatever ``sys.stderr`` is when a record comes (tests and
    programs that call :func:`main` replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


class _NotShown(logging.Filter):
    """Leaves out the records the operator has already read as the error line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, _SHOWN, False)


def _log_level(text: str | None) -> int | None:
    text = (text or "").strip().upper()
    if not text:
        return logging.WARNING
    if text.isdigit():
        return int(text)
    level = logging.getLevelName(text)
    return level if isinstance(level, int) else None


def configure_logging() -> int:
    """Send log records to stderr from ``RIVERGRID_LOG_LEVEL`` up (a level name or number; default
    ``WARNING``). Calling it again only updates the level. Returns the level."""
    level = _log_level(os.environ.get(LOG_LEVEL_ENV))
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _CurrentStderr)), None)
    if handler is None:
        handler = _CurrentStderr()
        handler.addFilter(_NotShown())
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    handler.setLevel(level or logging.WARNING)
    root.setLevel(level or logging.WARNING)
    if level is None:
        LOG.warning("%s=%r is not a log level; using WARNING", LOG_LEVEL_ENV, os.environ.get(LOG_LEVEL_ENV))
    return level or logging.WARNING


def _command_name(args: argparse.Namespace) -> str:
    sub = (
        getattr(args, name, None)
        for name in (
            "user_command",
            "volunteer_command",
            "audit_command",
            "incident_command",
            "basemap_command",
            # issue 17
            "meeting_command",
            "doc_command",
            "ledger_command",
            "river_command",
            # issue 18
            "notify_command",
            "report_command",
        )
    )
    return " ".join([args.command, *(s for s in sub if s)])


def _handler(run: str) -> Callable[[argparse.Namespace], int]:
    """The function ``module.name`` of :mod:`gis.cli` that runs a command."""
    module_name, _, name = run.partition(".")
    # One import per command module, when its command runs: start-up and --help load none of them.
    module = importlib.import_module(f"gis.cli.{module_name}")
    return getattr(module, name)  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    configure_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "undo" and not (args.entry or args.batch):
        parser.error("请给出审计日志编号或 --batch")
    if args.command in ("import", "inspect"):
        _resolve_import_flags(parser, args)
    debug = os.environ.get("RIVERGRID_DEBUG") == "1"
    try:
        _apply_tile_flags(args)
        return int(_handler(args.run)(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0
    except RiverGridError as exc:
        if debug:
            raise
        print(f"错误：{exc}", file=sys.stderr)
        LOG.warning(
            "%s refused: %s: %s",
            _command_name(args),
            type(exc).__name__,
            exc.reason_en or exc.message_zh,
            extra={_SHOWN: True},
        )
        return 2
    except Exception as exc:  # noqa: BLE001 - one line for the operator, never a traceback
        if debug:
            raise
        print(f"错误：内部错误，请联系管理员 ({type(exc).__name__}: {exc})", file=sys.stderr)
        LOG.error(
            "%s failed: %s: %s", _command_name(args), type(exc).__name__, exc, exc_info=True, extra={_SHOWN: True}
        )
        return 1
