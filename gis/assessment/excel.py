"""Excel workbook of an assessment in the shape county offices use (考核评价汇总表).

One sheet per grid level present (县级网格, 乡级网格, 村级网格 — from the top down), one row
per grid with Chinese headers: indicators, points per rubric item, system score, sibling rank,
the submitted self and upper evaluations, the final result and the mean final result of the
grid's lower grids (逐级汇总); a 合计 row at the bottom (counts summed, rates recomputed from the
summed counts, scores averaged). Then 评分细则 (the rubric)
and 说明 (period, time of assessment, notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from gis.assessment.indicators import Assessment, GridAssessment, signboard_label
from gis.model import LOCAL_TZ, GridLevel

__all__ = ["SHEET_COLUMNS", "write_assessment_xlsx"]

TOTAL_LABEL = "合计"

# (header, how to fill it, how the 合计 row aggregates it: sum, mean, rate:<denominator>/<numerator>, None)
SHEET_COLUMNS: list[tuple[str, str, str | None]] = [
    ("序号", "seq", None),
    ("网格名称", "grid", None),
    ("上级网格", "parent", None),
    ("应巡次数", "i:patrol_required", "sum"),
    ("达标次数", "i:patrol_done", "sum"),
    ("巡河完成率", "i:patrol_rate", "rate:应巡次数/达标次数"),
    ("有效巡河次数", "i:patrol_count", "sum"),
    ("巡河里程（公里）", "i:patrol_km", "sum"),
    ("其中志愿者/协管员巡河次数", "i:volunteer_patrol_count", "sum"),
    ("网格内河道长度（米）", "i:river_length_m", "sum"),
    ("已巡查河道（米）", "i:river_patrolled_m", "sum"),
    ("河道巡查覆盖率", "i:river_patrolled_share", "rate:网格内河道长度（米）/已巡查河道（米）"),
    ("发现问题（件）", "i:incidents_found", "sum"),
    ("其中已受理（件）", "i:incidents_accepted", "sum"),
    ("其中志愿者/协管员上报（件）", "i:volunteer_incidents", "sum"),
    ("应受理（件）", "i:accept_due", "sum"),
    ("按时受理（件）", "i:accepted_on_time", "sum"),
    ("按时受理率", "i:accept_rate", "rate:应受理（件）/按时受理（件）"),
    ("应办结（件）", "i:close_due", "sum"),
    ("按时办结（件）", "i:closed_on_time", "sum"),
    ("按时办结率", "i:close_rate", "rate:应办结（件）/按时办结（件）"),
    ("超期（件）", "i:overdue", "sum"),
    ("上报上级（件）", "i:escalated", "sum"),
    ("网格覆盖率", "i:coverage_rate", "mean"),
    ("盲区/重复覆盖（处）", "i:coverage_count", "sum"),
    ("纵向到底问题（个）", "i:vertical_errors", "sum"),
    ("公示牌", "signboard", None),
]
TAIL_COLUMNS: list[tuple[str, str, str | None]] = [
    ("系统评分（百分制）", "score", "mean"),
    ("同级排名", "rank", None),
    ("自评得分", "r:self_total", "mean"),
    ("上级评价得分", "r:upper_total", "mean"),
    ("最终得分", "r:final", "mean"),
    ("最终得分来源", "r:final_source_label", None),
    ("下级网格平均分", "r:lower_mean", "mean"),
]
RATE_HEADERS = {h for h, key, _ in SHEET_COLUMNS if key.endswith(("rate", "share"))}

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")


def _columns(a: Assessment) -> list[tuple[str, str, str | None]]:
    items = [(f"{i['label']}（{i['weight']:g}分）", f"s:{i['code']}", "mean") for i in a.rubric.items()]
    return [*SHEET_COLUMNS, *items, *TAIL_COLUMNS]


def _value(g: GridAssessment, seq: int, key: str, roll: dict[str, Any] | None) -> Any:
    if key == "seq":
        return seq
    if key == "grid":
        return g.grid
    if key == "parent":
        return g.parent or ""
    if key == "signboard":
        return signboard_label(g.indicators.get("signboard"))
    if key == "score":
        return g.score
    if key == "rank":
        return f"{g.rank}/{g.siblings}" if g.rank is not None else ""
    prefix, _, name = key.partition(":")
    if prefix == "i":
        return g.indicators.get(name)
    if prefix == "s":
        return g.scores.get(name)
    if prefix == "r":
        return None if roll is None else roll.get(name)
    raise KeyError(key)


def _total(rows: list[list[Any]], headers: list[str], how: str | None, col: int) -> Any:
    if how is None:
        return None
    values = [r[col] for r in rows if isinstance(r[col], (int, float)) and not isinstance(r[col], bool)]
    if how == "sum":
        return round(sum(values), 3)
    if how == "mean":
        return round(sum(values) / len(values), 2) if values else None
    den_h, num_h = how.removeprefix("rate:").split("/")
    den = sum(r[headers.index(den_h)] or 0 for r in rows)
    num = sum(r[headers.index(num_h)] or 0 for r in rows)
    return round(num / den, 4) if den else None


def write_assessment_xlsx(
    assessment: Assessment, path: str | Path, rollup_rows: Sequence[dict[str, Any]] | None = None
) -> Path:
    """Write the workbook (see the module docstring) to ``path`` and return it.

    ``rollup_rows`` (:func:`gis.assessment.evaluations.rollup`) adds the self/upper evaluations and final
    result; without it those columns stay empty.
    """
    path = Path(path)
    roll = {r["grid_id"]: r for r in rollup_rows or []}
    cols = _columns(assessment)
    headers = [h for h, _, _ in cols]
    wb = Workbook()
    wb.remove(wb.active)
    period = assessment.period
    for level in GridLevel:
        grids = [g for g in assessment.grids if g.level == level.value]
        if not grids:
            continue
        ws = wb.create_sheet(level.label)
        ws.append([f"{period.label} 河长制网格化管理考核评价汇总表（{level.label}）"])
        ws.append(headers)
        rows = [[_value(g, k + 1, key, roll.get(g.grid_id)) for _, key, _ in cols] for k, g in enumerate(grids)]
        for r in rows:
            ws.append(r)
        total = [_total(rows, headers, how, c) for c, (_, _, how) in enumerate(cols)]
        total[0], total[1] = TOTAL_LABEL, f"共 {len(rows)} 个网格"
        ws.append(total)
        _style(ws, headers, len(rows))
    ws = wb.create_sheet("评分细则")
    ws.append(["考核项", "分值", "评分方法"])
    for item in assessment.rubric.items():
        ws.append([item["label"], item["weight"], item["basis"]])
    ws.append(
        [
            TOTAL_LABEL,
            assessment.rubric.full_marks,
            "不适用的考核项（无应巡、无到期事件、公示牌未知）不计入满分，得分按百分制折算",
        ]
    )
    for c, w in zip("ABC", (16, 8, 70)):
        ws.column_dimensions[c].width = w
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws = wb.create_sheet("说明")
    ws.append(["考核时段", f"{period.label}（{period.to_dict()['start']} 至 {period.to_dict()['end']}）"])
    ws.append(["统计时间", assessment.as_of.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")])
    for note in assessment.warnings:
        ws.append(["提示", note])
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 90
    wb.save(path)
    return path


def _style(ws: Any, headers: list[str], n: int) -> None:
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(2, c)
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(c)].width = 18 if c in (2, 3) else max(8, min(14, len(h) + 2))
        for r in range(3, n + 4):
            body = ws.cell(r, c)
            body.border = _BORDER
            if h in RATE_HEADERS:
                body.number_format = "0.0%"
    for c in range(1, len(headers) + 1):
        ws.cell(n + 3, c).font = Font(bold=True)
        ws.cell(n + 3, c).fill = _TOTAL_FILL
    ws.row_dimensions[2].height = 45
    ws.freeze_panes = "D3"
