"""Command ``check``: the blind-spot check (盲区检查) of the store or of two files."""

from __future__ import annotations

import argparse

from gis.checks.report import check_files, check_store
from gis.cli.common import open_store, show
from gis.errors import RiverGridError


def cmd_check(args: argparse.Namespace) -> int:
    if bool(args.rivers) != bool(args.grids):
        raise RiverGridError(
            "--rivers 与 --grids 需同时给出（或都不给，检查数据库）", "give both --rivers and --grids or neither"
        )
    if args.rivers:
        report = check_files(args.rivers, args.grids, level=args.level, crs=args.crs, min_gap_m=args.min_gap_m)
    else:
        store = open_store(args)
        with store.session() as s:
            report = check_store(s, level=args.level or "village", crs=args.crs, min_gap_m=args.min_gap_m)
    if args.csv:
        report.to_csv(args.csv)
    if args.xlsx:
        report.to_excel(args.xlsx)
    data = report.to_dict()
    slivers = report.slivers_table()
    lines = [
        f"河段总长 {data['total_length_m'] / 1000:.3f} 公里，覆盖率 {data['coverage_rate']:.2%}；"
        f"盲区 {data['blind_spot_length_m']:.1f} 米（{data['uncovered_count']} 段），"
        f"重复覆盖 {data['overlap_length_m']:.1f} 米（{data['overlap_count']} 段）；"
        f"拓扑问题 {data['topology_count']} 项，纵向到底问题 {data['vertical_count']} 项",
        *(f"- {m}" for m in report.findings_table()["说明"]),
    ]
    if len(slivers):
        tiny = data["sliver_length_m"] + data["overlap_sliver_length_m"]
        lines.append(
            f"微小缝隙/重叠 {len(slivers)} 处（短于 {data['min_gap_m']:g} 米，共 {tiny:.3f} 米，"
            "请清理数据，不计为问题）："
        )
        lines += [f"- {m}" for m in slivers["说明"]]
    for note in data["warnings"]:
        lines.append(f"提示：{note}")
    show(data, args.json, "\n".join(lines))
    return 0
