"""Working-day arithmetic (工作日计算) for deadlines, with a configurable holiday calendar.

A :class:`WorkCalendar` knows which dates are public holidays (放假) and which weekend dates are
adjusted working days (调休上班). Its default is China's 2026 schedule
(国务院办公厅关于2026年部分节假日安排的通知, 国办发明电〔2025〕, published 2025-11-04);
pass other dates for other years or local arrangements::

    cal = WorkCalendar(holidays={date(2027, 1, 1)}, workdays=set())
    WorkCalendar.china_2026().with_dates(holidays=[...], workdays=[...])

Dates are counted in local time (Asia/Shanghai); aware datetimes are converted first, naive
ones are taken as local wall-clock times. Results keep the input's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from gis.errors import ValidationError
from gis.model import LOCAL_TZ

CHINA_2026_HOLIDAYS: frozenset[date] = frozenset(
    [date(2026, 1, d) for d in (1, 2, 3)]  # 元旦
    + [date(2026, 2, d) for d in range(15, 24)]  # 春节
    + [date(2026, 4, d) for d in (4, 5, 6)]  # 清明节
    + [date(2026, 5, d) for d in range(1, 6)]  # 劳动节
    + [date(2026, 6, d) for d in (19, 20, 21)]  # 端午节
    + [date(2026, 9, d) for d in (25, 26, 27)]  # 中秋节
    + [date(2026, 10, d) for d in range(1, 8)]  # 国庆节
)
"""2026 public holidays and the days off adjusted around them (放假调休)."""

CHINA_2026_WORKDAYS: frozenset[date] = frozenset(
    [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
     date(2026, 10, 10)]
)
"""2026 weekend days that are working days (调休上班)."""


@dataclass(frozen=True)
class WorkCalendar:
    """Which dates are working days: Monday–Friday, minus ``holidays``, plus ``workdays``.

    Parameters
    ----------
    holidays
        Dates off (public holidays and adjusted days off); a holiday on a weekday is not worked.
    workdays
        Weekend dates that are worked (调休上班).
    tz
        Time zone in which dates are counted (default Asia/Shanghai).
    """

    holidays: frozenset[date] = field(default=CHINA_2026_HOLIDAYS)
    workdays: frozenset[date] = field(default=CHINA_2026_WORKDAYS)
    tz: tzinfo = LOCAL_TZ

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        both = self.holidays & self.workdays
        if both:
            days = "、".join(sorted(d.isoformat() for d in both))
            raise ValidationError(f"以下日期既是假日又是调休上班日：{days}", f"dates both holiday and workday: {days}")

    @classmethod
    def china_2026(cls) -> WorkCalendar:
        """China's official 2026 schedule (the default)."""
        return cls()

    def with_dates(self, *, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> WorkCalendar:
        """A copy with more holidays and adjusted working days (e.g. a local flood-season rule)."""
        return WorkCalendar(self.holidays | frozenset(holidays), self.workdays | frozenset(workdays), self.tz)

    def is_working_day(self, day: date) -> bool:
        """True for a working day (a weekday that is no holiday, or an adjusted working weekend)."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        for _ in range(3660):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValidationError("十年内没有工作日，请检查假日设置", "no working day within ten years")

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz) if moment.tzinfo is not None else moment.replace(tzinfo=self.tz)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` working days after ``start``.

        From a working day the deadline is the same clock time on the ``days``-th following
        working day (Friday 15:00 + 1 → Monday 15:00). From a non-working day the clock starts
        with the next working day: the deadline is the end (23:59:59) of the ``days``-th working
        day from there (Saturday + 1 → Monday 23:59:59). ``days`` must be ≥ 0; 0 returns
        ``start`` unchanged.
        """
        if days < 0:
            raise ValidationError(f"工作日数不能为负数：{days}", f"days must be >= 0, got {days}")
        if days == 0:
            return start
        local = self._local(start)
        day = local.date()
        if self.is_working_day(day):
            for _ in range(days):
                day = self.next_working_day(day)
            result = local.replace(year=day.year, month=day.month, day=day.day)
        else:
            day = self.next_working_day(day)
            for _ in range(days - 1):
                day = self.next_working_day(day)
            result = datetime.combine(day, time(23, 59, 59), tzinfo=self.tz)
        return _like(result, start)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time from ``start`` to ``end`` in working days (negative when ``end`` is earlier).

        Whole working days between the two dates count 1 each; the parts of the first and last
        day count by clock time when those days are worked. Used for "overdue by N working days".
        """
        if end < start:
            return -self.working_days_between(end, start)
        a, b = self._local(start), self._local(end)
        total = 0.0
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                lo = a if day == a.date() else datetime.combine(day, time(0), tzinfo=self.tz)
                hi = b if day == b.date() else datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
                total += (hi - lo).total_seconds() / 86400
            day += timedelta(days=1)
        return total


def _like(result: datetime, start: datetime) -> datetime:
    """``result`` (local) in the time zone of ``start`` (naive when ``start`` was naive)."""
    if start.tzinfo is None:
        return result.replace(tzinfo=None)
    return result.astimezone(start.tzinfo)


DEFAULT_CALENDAR = WorkCalendar()
"""China 2026 (see :data:`CHINA_2026_HOLIDAYS`, :data:`CHINA_2026_WORKDAYS`)."""
