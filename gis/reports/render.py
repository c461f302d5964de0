"""A report's figures (:mod:`gis.reports.figures`) as tables with Chinese headings, written as an
Excel workbook (openpyxl) or a PDF (fpdf2, font Noto Sans CJK SC). Pure: figures in, bytes out.

The workbook has one sheet per section of :data:`SECTIONS`; row 1 of each sheet is its header
row and every following row one record (``概况`` is a two-column list of 项目 and 数值). Rates are
stored as fractions shown as percentages, lengths as numbers. The PDF prints the same sections,
each under its heading, after the title ``<网格> <报告期> 河长制信息报送（月报|季报|年报）``.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from gis.assessment.indicators import signboard_label
from gis.errors import RiverGridError, ValidationError

__all__ = [
    "FORMATS",
    "SECTIONS",
    "Section",
    "render",
    "report_title",
    "sections",
    "summary_rows",
    "write_pdf",
    "write_xlsx",
]

SECTIONS = ("概况", "网格巡河", "人员巡河", "巡河轨迹", "事件分类", "事件清单", "覆盖与盲区", "考核评分")
"""The sections (sheets of the workbook, headings of the PDF), in order."""

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
"""Output format → media type."""

_FREQ = {"day": "每日", "week": "每周", "xun": "每旬", "month": "每月", "quarter": "每季度", "year": "每年"}
_LEVEL = {"county": "县级", "township": "乡级", "village": "村级"}
_PERCENT_HEADERS = {"完成率", "网格覆盖率", "河道巡查覆盖率", "按时受理率", "按时办结率"}


@dataclass(frozen=True)
class Section:
    """One table of the report: its heading, column headers and rows."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    percent_columns: tuple[int, ...] = ()


def report_title(figures: dict[str, Any]) -> str:
    """``临江市森工街道办事处 2026年11月 河长制信息报送（月报）``."""
    p = figures["period"]
    return f"{figures['grid']['name']} {p['title']} 河长制信息报送（{p['kind_label']}）"


def _km(metres: Any) -> float | None:
    return None if metres is None else round(float(metres) / 1000, 3)


def summary_rows(figures: dict[str, Any]) -> list[list[Any]]:
    """The 概况 list: [项目, 数值] pairs (rates as fractions)."""
    g, p = figures["grid"], figures["period"]
    pat, cases, cov, ass = figures["patrol"], figures["cases"], figures["coverage"], figures["assessment"]
    own = pat["grids"][0] if pat["grids"] else {}
    rows: list[list[Any]] = [
        ["网格", g["name"]],
        ["层级", g["level_label"]],
        ["上级网格", g["parent"] or ""],
        ["报告期", f"{p['title']}（{p['start']} 至 {p['end']}）"],
        ["报表类型", p["kind_label"]],
        ["统计截至", figures["as_of_local"]],
        ["本网格应巡次数", own.get("required")],
        ["本网格达标次数", own.get("done")],
        ["本网格巡河完成率", own.get("rate")],
        ["巡河轨迹（条）", pat["track_count"]],
        ["有效巡河（条）", pat["counted_count"]],
        ["轨迹总长（公里）", _km(pat["length_m"])],
        ["有效巡河沿河里程（公里）", _km(pat["counted_river_length_m"])],
        ["本期上报事件（件）", cases["reported"]],
        ["本期办结事件（件）", cases["closed"]],
        ["超期事件（件）", cases["overdue"]],
        ["网格覆盖率", cov["coverage_rate"]],
        ["盲区/重复覆盖（处）", cov["coverage_count"]],
        ["网格内河道长度（公里）", _km(cov["river_length_m"])],
        ["本期已巡查河道（公里）", _km(cov["river_patrolled_m"])],
        ["河道巡查覆盖率", cov["river_patrolled_share"]],
        ["纵向到底问题（项）", cov["vertical_errors"]],
        ["考核得分（百分制）", ass["score"]],
        ["同级排名", f"{ass['rank']}/{ass['siblings']}" if ass["rank"] is not None else ""],
    ]
    ev = ass.get("evaluation")
    if ev:
        rows.append(["年度考核最终结果", ev["final"]])
        rows.append(["最终结果来源", ev["final_source_label"]])
    return rows


def _minute(iso: str | None) -> str:
    """``2026-11-27T06:50:00+08:00`` (Beijing time) as ``2026-11-27 06:50``."""
    return (iso or "")[:16].replace("T", " ")


def _slots(row: dict[str, Any], shown: int = 12) -> str:
    slots = list(row.get("missing_slots") or [])
    text = "、".join(slots[:shown])
    return text + (f" 等 {len(slots)} 个" if len(slots) > shown else "")


def sections(figures: dict[str, Any]) -> list[Section]:
    """The report's tables, in the order of :data:`SECTIONS`."""
    pat, cases, cov, ass = figures["patrol"], figures["cases"], figures["coverage"], figures["assessment"]
    out = [
        Section(
            "概况",
            ["项目", "数值"],
            summary_rows(figures),
        )
    ]
    out.append(
        Section(
            "网格巡河",
            ["网格", "层级", "考核频次", "应巡次数", "达标次数", "完成率", "上传轨迹", "有效巡查", "未达标时段"],
            [
                [
                    r["grid"], _LEVEL.get(r["level"], r["level"]), _FREQ.get(r["frequency"], r["frequency"]),
                    r["required"], r["done"], r["rate"], r["patrols"], r["counted"], _slots(r),
                ]
                for r in pat["grids"]
            ],
        )
    )  # fmt: skip
    out.append(
        Section(
            "人员巡河",
            ["人员", "层级", "考核频次", "应巡次数", "达标次数", "完成率", "上传轨迹", "有效巡查", "未达标时段"],
            [
                [
                    r["person"], _LEVEL.get(r["level"] or "", r["level"] or "无岗位"),
                    _FREQ.get(r["frequency"] or "", r["frequency"] or ""),
                    r["required"], r["done"], r["rate"], r["patrols"], r["counted"], _slots(r),
                ]
                for r in pat["persons"]
            ],
        )
    )  # fmt: skip
    out.append(
        Section(
            "巡河轨迹",
            [
                "轨迹编号", "巡查人", "网格", "开始时间", "时长（分钟）", "轨迹长度（米）", "沿河长度（米）",
                "是否有效", "不计原因",
            ],
            [
                [
                    t["track_id"], t["person"] or "", t["grid"] or "", t["start_local"],
                    None if t["duration_s"] is None else round(t["duration_s"] / 60, 1),
                    t["length_m"], t["river_length_m"], "有效" if t["counted"] else "不计",
                    "；".join(t["not_counted_because"]),
                ]
                for t in pat["tracks"]
            ],
        )
    )  # fmt: skip
    out.append(
        Section(
            "事件分类",
            ["类别", "本期上报", "本期办结", "超期"],
            [[r["category_label"], r["reported"], r["closed"], r["overdue"]] for r in cases["by_category"]]
            + [["合计", cases["reported"], cases["closed"], cases["overdue"]]],
        )
    )
    listed = []
    for name, key in (("本期上报", "reported_list"), ("本期办结", "closed_list"), ("超期", "overdue_list")):
        for c in cases[key]:
            listed.append(
                [
                    name, c["code"], c["title"], c["category_label"], c["status_label"], c["grid"] or "",
                    _minute(c["reported_at"]), _minute(c["closed_at"]), c["deadline_label"] or "",
                ]
            )  # fmt: skip
    out.append(
        Section(
            "事件清单", ["清单", "事件编号", "标题", "类别", "状态", "网格", "上报时间", "办结时间", "期限"], listed
        )
    )
    notes = [["盲区/重复覆盖", m] for m in cov["coverage_findings"] or []]
    notes += [["纵向到底", m] for m in cov["vertical_findings"] or []]
    out.append(
        Section(
            "覆盖与盲区",
            ["项目", "说明"],
            [
                ["网格覆盖率", cov["coverage_rate"]],
                ["河道巡查覆盖率", cov["river_patrolled_share"]],
                *notes,
            ],
        )
    )
    items = [[i["label"], i["weight"], i["points"]] for i in ass["items"]]
    items.append(["合计", ass["max_total"], ass["total"]])
    items.append(["百分制得分", 100, ass["score"]])
    ind = ass["indicators"]
    items.append(["公示牌状态", None, signboard_label(ind.get("signboard"))])
    ev = ass.get("evaluation")
    if ev:
        items += [
            ["自评总分", None, ev["self_total"]],
            ["上级评价总分", None, ev["upper_total"]],
            ["年度最终结果", None, ev["final"]],
        ]
    out.append(Section("考核评分", ["考核项", "分值", "得分"], items))
    return [
        Section(s.title, s.headers, s.rows, tuple(k for k, h in enumerate(s.headers) if h in _PERCENT_HEADERS))
        for s in out
    ]


def _summary_percent(label: Any) -> bool:
    return isinstance(label, str) and (label.endswith("完成率") or label.endswith("覆盖率"))


def write_xlsx(figures: dict[str, Any]) -> bytes:
    """The report as an Excel workbook (one sheet per section)."""
    wb = Workbook()
    wb.remove(wb.active)
    for sec in sections(figures):
        ws = wb.create_sheet(sec.title)
        ws.append(sec.headers)
        for row in sec.rows:
            ws.append([_cell(v) for v in row])
        for c, h in enumerate(sec.headers, start=1):
            ws.cell(1, c).font = Font(bold=True)
            ws.column_dimensions[get_column_letter(c)].width = max(10, min(60, len(str(h)) * 2 + 4))
        for r, row in enumerate(sec.rows, start=2):
            for c in range(len(sec.headers)):
                percent = c in sec.percent_columns or (
                    sec.headers[:2] in (["项目", "数值"], ["项目", "说明"]) and c == 1 and _summary_percent(row[0])
                )
                if percent and isinstance(row[c], float):
                    ws.cell(r, c + 1).number_format = "0.0%"
        ws.freeze_panes = "A2"
    wb.properties.title = report_title(figures)
    wb.properties.creator = "河长网格 RiverGrid"
    built = datetime.fromisoformat(figures["built_at"]).replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = built
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return value


def _text(value: Any, percent: bool) -> str:
    if value is None:
        return "—"
    if percent and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def write_pdf(figures: dict[str, Any]) -> bytes:
    """The report as a PDF (A4 landscape, Noto Sans CJK SC embedded as a subset)."""
    from fpdf import FPDF  # noqa: PLC0415 — fpdf2 (with fontTools) only when a PDF is written

    from gis.fonts import cjk_font_files  # noqa: PLC0415 — loads Pillow; only for PDFs

    try:
        regular, ri, bold, bi = cjk_font_files()
    except RiverGridError as exc:
        raise RiverGridError(
            "缺少中文字体，无法生成 PDF 报表，请安装 fonts-noto-cjk（Excel 报表不受影响）", exc.reason_en
        ) from exc
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_font("cjk", "", regular, collection_font_number=ri)
    pdf.add_font("cjk", "B", bold, collection_font_number=bi)
    built = datetime.fromisoformat(figures["built_at"])
    pdf.set_creation_date(built)
    title = report_title(figures)
    pdf.set_title(title)
    pdf.set_creator("河长网格 RiverGrid")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("cjk", "B", 16)
    pdf.multi_cell(0, 9, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 9)
    pdf.multi_cell(
        0, 6, f"统计截至 {figures['as_of_local']}（北京时间）；上级网格：{figures['grid']['parent'] or '无'}",
        align="C", new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    for sec in sections(figures):
        pdf.ln(3)
        pdf.set_font("cjk", "B", 12)
        pdf.cell(0, 8, sec.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", "", 8)
        if not sec.rows:
            pdf.cell(0, 6, "（无）", new_x="LMARGIN", new_y="NEXT")
            continue
        _pdf_table(pdf, sec)
    return bytes(pdf.output())


def _pdf_table(pdf: Any, sec: Section) -> None:
    widths = _widths(sec)
    summary = sec.headers[:2] in (["项目", "数值"], ["项目", "说明"])
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5, first_row_as_headings=True) as table:
        head = table.row()
        for h in sec.headers:
            head.cell(h)
        for row in sec.rows:
            r = table.row()
            for c, v in enumerate(row):
                percent = c in sec.percent_columns or (summary and c == 1 and _summary_percent(row[0]))
                r.cell(_text(_cell(v), percent))


def _display_width(text: str) -> int:
    """Columns ``text`` takes: a CJK (wide) character two, any other one."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _widths(sec: Section) -> Sequence[float]:
    """Relative column widths: each column's widest cell (display width), within 6 and 60."""
    longest = [
        max([_display_width(str(h)), *(_display_width(_text(_cell(row[c]), False)) for row in sec.rows)])
        for c, h in enumerate(sec.headers)
    ]
    return [min(max(w, 6), 60) for w in longest]


def render(figures: dict[str, Any], fmt: str) -> bytes:
    """The report in format ``xlsx`` or ``pdf``."""
    if fmt == "xlsx":
        return write_xlsx(figures)
    if fmt == "pdf":
        return write_pdf(figures)
    raise ValidationError(f"报表格式“{fmt}”无效，可选：xlsx、pdf", f"unknown report format {fmt!r}")
