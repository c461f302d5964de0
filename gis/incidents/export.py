"""The incident list as a table with Chinese headers, and as an Excel workbook (事件清单).

:func:`incident_rows` turns incidents into display rows (times in Beijing time, deadlines judged
at ``now``); :func:`incidents_excel` writes them to an ``.xlsx`` (one sheet 事件清单, bold
frozen header, filters, readable column widths). Every cell of user text is written as text:
a description starting with ``=`` stays a string and never becomes a formula.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from gis.incidents.deadlines import DEFAULT_POLICY, DeadlinePolicy, deadline_status
from gis.model import LOCAL_TZ, Category, IncidentSource, IncidentStatus, Severity
from gis.store.schema import Incident

__all__ = ["COLUMNS", "incident_rows", "incidents_excel"]

COLUMNS: dict[str, str] = {
    "code": "事件编号",
    "title": "标题",
    "category": "类别",
    "severity": "严重程度",
    "status": "状态",
    "deadline": "期限情况",
    "overdue": "是否超期",
    "source": "来源",
    "reporter": "上报人",
    "reported_at": "上报时间",
    "grid": "所属网格",
    "reach": "河段",
    "accept_due_at": "受理期限",
    "close_due_at": "办结期限",
    "closed_at": "结束时间",
    "lon": "经度",
    "lat": "纬度",
    "photos": "照片（张）",
    "description": "事件描述",
}
"""Row keys and their Chinese column headers, in column order."""

_WIDTHS = {"title": 28, "description": 48, "deadline": 30, "grid": 18, "reach": 18}
_TIME_FMT = "%Y-%m-%d %H:%M"


def _label(enum: Any, code: str | None) -> str:
    try:
        return str(enum(code).label)
    except ValueError:
        return code or ""


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).strftime(_TIME_FMT)


def incident_rows(
    incidents: Sequence[Incident],
    *,
    now: datetime | None = None,
    photo_counts: Mapping[int, int] | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> list[dict[str, Any]]:
    """One display row per incident, keyed as :data:`COLUMNS` (labels in Chinese, times in
    Beijing time ``YYYY-MM-DD HH:MM``, lon/lat in decimal degrees).

    ``photo_counts`` maps incident id → number of photos (missing: 0); overdue and the deadline
    text are judged at ``now`` (default: the clock).
    """
    rows = []
    for inc in incidents:
        d = deadline_status(inc, now=now, policy=policy)
        rows.append(
            {
                "code": inc.code,
                "title": inc.title,
                "category": _label(Category, inc.category),
                "severity": _label(Severity, inc.severity),
                "status": _label(IncidentStatus, inc.status),
                "deadline": d.label,
                "overdue": "是" if d.overdue else "否",
                "source": _label(IncidentSource, inc.source),
                "reporter": inc.reporter,
                "reported_at": _local(inc.reported_at),
                "grid": inc.grid.name if inc.grid is not None else "",
                "reach": inc.reach.name if inc.reach is not None else "",
                "accept_due_at": _local(inc.accept_due_at),
                "close_due_at": _local(inc.close_due_at),
                "closed_at": _local(inc.closed_at),
                "lon": round(float(inc.geom.x), 6),
                "lat": round(float(inc.geom.y), 6),
                "photos": int((photo_counts or {}).get(inc.id, 0)),
                "description": inc.description or "",
            }
        )
    return rows


def incidents_excel(rows: Sequence[Mapping[str, Any]], *, title: str = "事件清单") -> bytes:
    """An ``.xlsx`` of :func:`incident_rows` output with the Chinese headers of :data:`COLUMNS`."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    keys = list(COLUMNS)
    ws.append([COLUMNS[k] for k in keys])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for r, row in enumerate(rows, start=2):
        for c, key in enumerate(keys, start=1):
            value = row.get(key, "")
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # user text is never a formula
            if key in ("description", "title"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for c, key in enumerate(keys, start=1):
        ws.column_dimensions[get_column_letter(c)].width = _WIDTHS.get(key, max(10, 2 * len(COLUMNS[key]) + 2))
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(keys))}{max(len(rows) + 1, 1)}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
