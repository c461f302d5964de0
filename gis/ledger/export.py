"""The yearly ledger workbook of a grid (台账.xlsx): five sheets with Chinese headers.

=========  ===============================================================================
sheet      rows
=========  ===============================================================================
巡河        patrol tracks filed under the grid or a grid below it, started in the year
事件        cases registered in the grid or below it, reported in the year
会议        meetings of the grid or below it, held in the year
考核        the year's assessment (:func:`gis.assessment.indicators.assess`) of the grid and
           every live grid below it
对象        the supervised objects of the grid and below it (the ledger of objects, not dated)
=========  ===============================================================================

"The year" is the calendar year in Beijing time. Row 1 of each sheet holds the headers; every
following row is one record, so a sheet's record count is its number of rows minus one. The
reporter's contact of a case is never written. Fields the object ledger may carry (responsible
person, inspection interval, tasks, subtype) are read when the schema has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.errors import NotFoundError, PermissionDenied, ValidationError
from gis.formatting import local_time
from gis.geometry.crs import metric_crs_for, to_crs
from gis.ledger.records import meeting_rows
from gis.model import LOCAL_TZ, STORE_CRS, Category, GridLevel, IncidentSource, IncidentStatus, Severity
from gis.patrol.objects import SUBTYPE_LABELS
from gis.store.schema import Grid, Incident, PatrolTrack, SupervisedObject
from gis.store.scope import grid_and_below, scope_of

__all__ = ["SHEETS", "LedgerWorkbook", "build_ledger", "write_ledger_xlsx"]

SHEETS = ("巡河", "事件", "会议", "考核", "对象")
"""The sheets of the workbook, in order."""


@dataclass(frozen=True)
class LedgerWorkbook:
    """What a ledger holds: per sheet its headers and rows; ``grid`` and ``year`` it covers."""

    grid: str
    year: int
    sheets: dict[str, tuple[list[str], list[list[Any]]]]

    def counts(self) -> dict[str, int]:
        """Records per sheet."""
        return {name: len(rows) for name, (_, rows) in self.sheets.items()}


def _label(enum: Any, code: str | None) -> str:
    if not code:
        return ""
    try:
        return str(enum(code).label)
    except ValueError:
        return code


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    start = datetime(year, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    return start, end


def _lengths_km(geoms: Sequence[Any]) -> list[float]:
    if not geoms:
        return []
    series = gpd.GeoSeries(list(geoms), crs=STORE_CRS)
    metric = to_crs(series, metric_crs_for(tuple(series.total_bounds)))
    return [round(float(v) / 1000, 3) for v in metric.length]


def _patrol_sheet(
    session: Session, grids: list[int], names: dict[int, str], year: int
) -> tuple[list[str], list[list[Any]]]:
    lo, hi = _year_bounds(year)
    tracks = list(
        session.scalars(
            select(PatrolTrack)
            .where(PatrolTrack.grid_id.in_(grids), PatrolTrack.started_at >= lo, PatrolTrack.started_at < hi)
            .options(selectinload(PatrolTrack.person))
            .order_by(PatrolTrack.started_at, PatrolTrack.id)
        )
    )
    lengths = _lengths_km([t.geom for t in tracks])
    headers = [
        "序号",
        "轨迹编号",
        "轨迹名称",
        "巡查人",
        "网格",
        "开始时间",
        "结束时间",
        "时长（分钟）",
        "轨迹长度（公里）",
    ]
    rows = []
    for n, (t, km) in enumerate(zip(tracks, lengths, strict=True), start=1):
        minutes = round((t.ended_at - t.started_at).total_seconds() / 60, 1) if t.started_at and t.ended_at else None
        rows.append(
            [
                n,
                t.id,
                t.name,
                t.person.name if t.person is not None else "",
                names.get(t.grid_id or -1, ""),
                local_time(t.started_at),
                local_time(t.ended_at),
                minutes,
                km,
            ]
        )
    return headers, rows


def _incident_sheet(
    session: Session, grids: list[int], names: dict[int, str], year: int
) -> tuple[list[str], list[list[Any]]]:
    lo, hi = _year_bounds(year)
    cases = session.scalars(
        select(Incident)
        .where(Incident.grid_id.in_(grids), Incident.reported_at >= lo, Incident.reported_at < hi)
        .options(selectinload(Incident.reach))
        .order_by(Incident.reported_at, Incident.id)
    ).all()
    headers = [
        "序号", "事件编号", "标题", "类别", "严重程度", "状态", "来源", "上报人", "上报时间", "网格", "河段",
        "受理期限", "办结期限", "办结时间", "公开答复",
    ]  # fmt: skip
    rows = [
        [
            n,
            i.code,
            i.title,
            _label(Category, i.category),
            _label(Severity, i.severity),
            _label(IncidentStatus, i.status),
            _label(IncidentSource, i.source),
            i.reporter,
            local_time(i.reported_at),
            names.get(i.grid_id or -1, ""),
            i.reach.name if i.reach is not None else "",
            local_time(i.accept_due_at),
            local_time(i.close_due_at),
            local_time(i.closed_at),
            i.public_reply,
        ]
        for n, i in enumerate(cases, start=1)
    ]
    return headers, rows


def _meeting_sheet(session: Session, grids: list[int], year: int) -> tuple[list[str], list[list[Any]]]:
    meetings = sorted(meeting_rows(session, grid_ids=grids, year=year), key=lambda m: (m["held_on"], m["id"]))
    headers = ["序号", "会议日期", "会议名称", "网格", "地点", "参会人员", "参会人数", "会议纪要", "附件"]
    rows = [
        [
            n,
            m["held_on"],
            m["title"],
            m["grid"],
            m["place"],
            "、".join(m["attendees"]),
            len(m["attendees"]),
            m["minutes"],
            "、".join(f["name"] for f in m["files"]),
        ]
        for n, m in enumerate(meetings, start=1)
    ]
    return headers, rows


def _assessment_sheet(session: Session, grids: list[int], year: int) -> tuple[list[str], list[list[Any]]]:
    from gis.assessment.indicators import assess  # noqa: PLC0415 — the assessment (coverage checks, patrol matching) only for this sheet

    result = assess(session, str(year))
    wanted = set(grids)
    table = replace(result, grids=[g for g in result.grids if g.grid_id in wanted]).table()
    headers = ["序号", *[str(c) for c in table.columns]]
    rows = [[n, *(_cell(v) for v in row)] for n, row in enumerate(table.itertuples(index=False), start=1)]
    return headers, rows


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _object_sheet(session: Session, grids: list[int], names: dict[int, str]) -> tuple[list[str], list[list[Any]]]:
    objects = session.scalars(
        select(SupervisedObject).where(SupervisedObject.grid_id.in_(grids)).order_by(SupervisedObject.id)
    ).all()
    headers = [
        "序号",
        "对象编号",
        "名称",
        "类别",
        "细类",
        "网格",
        "责任人",
        "巡查周期（天）",
        "任务",
        "经度",
        "纬度",
        "说明",
    ]
    rows = [
        [
            n,
            o.id,
            o.name,
            _label(Category, o.category),
            SUBTYPE_LABELS.get(o.subtype or "", o.subtype or ""),
            names.get(o.grid_id or -1, ""),
            o.responsible.name if o.responsible is not None else "",
            o.inspect_every_days,
            o.tasks or "",
            round(o.geom.x, 6),
            round(o.geom.y, 6),
            o.description,
        ]
        for n, o in enumerate(objects, start=1)
    ]
    return headers, rows


def build_ledger(session: Session, grid_id: int, year: int) -> LedgerWorkbook:
    """The ledger of grid ``grid_id`` (and the grids below it) for ``year``.

    Raises
    ------
    NotFoundError
        No live grid ``grid_id``.
    PermissionDenied
        The grid is outside the session's actor's data scope.
    """
    if not 2000 <= int(year) <= 2100:
        raise ValidationError(f"年度“{year}”无效，应为四位数字，如 2026", f"invalid year {year!r}")
    grid = session.get(Grid, grid_id)
    if grid is None or grid.deleted_at is not None:
        raise NotFoundError(f"没有编号为 {grid_id} 的网格", f"no live grid {grid_id!r}")
    if not scope_of(session).covers(grid_id):
        raise PermissionDenied(f"网格“{grid.name}”不在您的数据权限内", f"grid {grid_id} outside the actor's scope")
    grids = grid_and_below(session, grid_id)
    names = {g.id: g.name for g in session.scalars(select(Grid))}
    sheets = {
        "巡河": _patrol_sheet(session, grids, names, year),
        "事件": _incident_sheet(session, grids, names, year),
        "会议": _meeting_sheet(session, grids, year),
        "考核": _assessment_sheet(session, grids, year),
        "对象": _object_sheet(session, grids, names),
    }
    return LedgerWorkbook(grid=f"{grid.name}（{GridLevel(grid.level).label}）", year=int(year), sheets=sheets)


def write_ledger_xlsx(ledger: LedgerWorkbook, path: str | Path) -> Path:
    """Write ``ledger`` to an Excel file (sheets :data:`SHEETS`, bold headers, frozen first row)."""
    out = Path(path)
    if out.suffix.lower() != ".xlsx":
        raise ValidationError("输出文件须以 .xlsx 结尾", f"unsupported ledger file {out.name!r}")
    wb = Workbook()
    wb.remove(wb.active)
    for name in SHEETS:
        headers, rows = ledger.sheets[name]
        ws = wb.create_sheet(name)
        ws.append(headers)
        for row in rows:
            ws.append(row)
        for c, h in enumerate(headers, start=1):
            ws.cell(1, c).font = Font(bold=True)
            ws.column_dimensions[get_column_letter(c)].width = max(8, min(30, len(str(h)) * 2 + 2))
        ws.freeze_panes = "A2"
    wb.properties.title = f"{ledger.grid} {ledger.year} 年台账"
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
