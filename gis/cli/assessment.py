"""Command ``assess``: the assessment (考核评价) of every grid for a period, with the evaluations."""

from __future__ import annotations

import argparse
from datetime import datetime

from gis.assessment.evaluations import rollup
from gis.assessment.excel import write_assessment_xlsx
from gis.assessment.indicators import DEFAULT_RUBRIC, Rubric, assess
from gis.cli.common import open_store, show
from gis.errors import RiverGridError


def cmd_assess(args: argparse.Namespace) -> int:
    rubric = Rubric.from_file(args.rubric) if args.rubric else DEFAULT_RUBRIC
    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError as exc:
        raise RiverGridError(
            f"--now 时间格式无效：{args.now}（应为 ISO 8601，如 2026-11-20T09:00）", f"bad --now {args.now!r}"
        ) from exc
    store = open_store(args)
    with store.session() as s:
        result = assess(s, args.period, grid_id=args.grid, rubric=rubric, now=now)
        year = result.period.start.year
        rows = rollup(s, year, result)
    data = result.to_dict()
    final = {r["grid_id"]: r for r in rows}
    for g in data["grids"]:
        r = final[g["grid_id"]]
        g["evaluation"] = {
            k: r[k]
            for k in (
                "self_total",
                "self_edition",
                "upper_total",
                "upper_edition",
                "final",
                "final_source",
                "lower_mean",
            )
        }
    text = result.text()
    if args.xlsx:
        write_assessment_xlsx(result, args.xlsx, rows)
        data["xlsx"] = str(args.xlsx)
        text += f"\n已导出 Excel：{args.xlsx}"
    show(data, args.json, text)
    return 0
