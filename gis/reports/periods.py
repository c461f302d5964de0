"""Report periods (报告期) and their deadlines (报送期限): pure, no store.

A report covers a calendar month (``2026-11``), quarter (``2026-Q4``) or year (``2026``) in
Beijing time (:func:`gis.patrol.rules.parse_period`). It is due by the end (24:00, Beijing
time) of the ``n``-th working day on or after the first day of the next period: ``n`` is
``RIVERGRID_REPORT_DUE_WORKDAYS`` (default 5, :attr:`gis.config.Settings.report_due_workdays`),
working days come from the holiday calendar of :mod:`gis.incidents.workdays`. The November 2026
report is due by the end of Monday 7 December 2026 (1, 2, 3, 4 and 7 December are working days).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from gis.errors import ValidationError
from gis.incidents.workdays import DEFAULT_CALENDAR, WorkCalendar
from gis.model import LOCAL_TZ
from gis.patrol.rules import Period, parse_period

__all__ = [
    "KIND_LABELS",
    "ReportPeriod",
    "due_at",
    "latest_ended",
    "report_period",
]

KIND_LABELS = {"month": "月报", "quarter": "季报", "year": "年报"}
"""Kind of report → its Chinese name."""


@dataclass(frozen=True)
class ReportPeriod:
    """A report's period: the calendar span (:class:`gis.patrol.rules.Period`) and its kind."""

    period: Period
    kind: str

    @property
    def label(self) -> str:
        return self.period.label

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def title(self) -> str:
        """``2026年11月``, ``2026年第4季度``, ``2026年度``."""
        p = self.period
        if self.kind == "month":
            return f"{p.start.year}年{p.start.month}月"
        if self.kind == "quarter":
            return f"{p.start.year}年第{(p.start.month - 1) // 3 + 1}季度"
        return f"{p.start.year}年度"

    @property
    def end_utc(self) -> datetime:
        """The first moment after the period (local midnight of its end day), UTC."""
        return datetime.combine(self.period.end, time(0), tzinfo=LOCAL_TZ).astimezone(UTC)

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.period.start, time(0), tzinfo=LOCAL_TZ).astimezone(UTC)

    def to_dict(self) -> dict[str, str]:
        return {**self.period.to_dict(), "kind": self.kind, "kind_label": self.kind_label, "title": self.title}


def report_period(text: str) -> ReportPeriod:
    """The report period of ``2026-11``, ``2026-Q4`` or ``2026``.

    Raises
    ------
    ValidationError
        Not a month, quarter or year (weeks, 旬 and day ranges are not report periods).
    """
    s = str(text or "").strip()
    if re.fullmatch(r"\d{4}", s):
        kind = "year"
    elif re.fullmatch(r"\d{4}-?[Qq][1-4]", s):
        kind = "quarter"
    elif re.fullmatch(r"\d{4}-\d{1,2}", s):
        kind = "month"
    else:
        raise ValidationError(
            f"报告期“{s}”无效：月报如 2026-11，季报如 2026-Q4，年报如 2026", f"not a report period: {s!r}"
        )
    return ReportPeriod(parse_period(s), kind)


def due_at(period: ReportPeriod, workdays: int = 5, calendar: WorkCalendar = DEFAULT_CALENDAR) -> datetime:
    """The deadline of ``period``'s report: the end of the ``workdays``-th working day on or after
    the period's end (the first day of the next period), as an aware UTC datetime."""
    if workdays < 1:
        raise ValidationError("报送期限的工作日数至少为 1", f"workdays must be >= 1, got {workdays}")
    day = period.period.end
    if not calendar.is_working_day(day):
        day = calendar.next_working_day(day)
    for _ in range(workdays - 1):
        day = calendar.next_working_day(day)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def latest_ended(kind: str, today: date) -> ReportPeriod:
    """The most recent period of ``kind`` that has ended by ``today`` (Beijing date): on
    2026-11-28 the month 2026-10, the quarter 2026-Q3, the year 2025."""
    if kind == "month":
        y, m = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return report_period(f"{y}-{m:02d}")
    if kind == "quarter":
        q = (today.month - 1) // 3
        return report_period(f"{today.year}-Q{q}" if q else f"{today.year - 1}-Q4")
    if kind == "year":
        return report_period(str(today.year - 1))
    raise ValidationError(f"报表类型“{kind}”无效，可选：month、quarter、year", f"unknown report kind {kind!r}")
