"""Working days (工作日) for deadlines: counting on the holiday schedules.

:class:`WorkCalendar` counts on explicit dates (weekends, ``holidays``, ``workdays``; used by
tests and special rules); :class:`ChinaCalendar` is the combined calendar of
:mod:`gis.incidents.schedules` (each year's schedule from the State Council's notice as packaged
by ``chinesecalendar``, else the local schedule file, else an estimate) and
:data:`DEFAULT_CALENDAR` is one. Dates are counted in Beijing time (Asia/Shanghai); aware
datetimes are converted first, naive ones are taken as Beijing wall-clock times. Results keep
the input's time zone.

Each year's schedule is turned into two sets once and cached (``chinese_calendar.is_workday``
costs ~14 µs a call, a set lookup ~20 ns); the local file is read again only when its size or
modification time changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from gis.errors import ValidationError
from gis.incidents.schedules import WEEKDAYS, LocalCalendar, YearSchedule, load_local_calendar, official_schedule
from gis.model import LOCAL_TZ

__all__ = [
    "CHINA_2026_HOLIDAYS",
    "CHINA_2026_WORKDAYS",
    "DEFAULT_CALENDAR",
    "ChinaCalendar",
    "DayInfo",
    "WorkCalendar",
]


# =============================================================================================
# Calendars
# =============================================================================================


@dataclass(frozen=True)
class DayInfo:
    """One date: worked or not, by which source, the festival and the schedule's basis."""

    date: date
    working_day: bool
    source: str
    name: str
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "working_day": self.working_day,
            "source": self.source,
            "name": self.name,
            "basis": self.basis,
        }

    def text(self) -> str:
        """One Chinese line (``2025-10-01 星期三：休息日（国庆节）；依据：官方安排（…）``)."""
        weekend = self.date.weekday() >= 5
        if self.working_day:
            what = ("工作日（调休上班" + (f"，{self.name}" if self.name else "") + "）") if weekend else "工作日"
        else:
            what = f"休息日（{self.name or ('周末' if weekend else '假日')}）"
        return f"{self.date.isoformat()} 星期{WEEKDAYS[self.date.weekday()]}：{what}；依据：{self.basis}"


@dataclass(frozen=True)
class WorkCalendar:
    """Which dates are working days: Monday–Friday, minus ``holidays``, plus ``workdays``.

    A calendar on explicit dates, the same rule for every year (tests, special local rules);
    :class:`ChinaCalendar` is the one that follows China's schedules.

    Parameters
    ----------
    holidays
        Dates off (public holidays and adjusted days off); a holiday on a weekday is not worked.
    workdays
        Weekend dates that are worked (调休上班).
    tz
        Time zone in which dates are counted (default Asia/Shanghai).
    """

    holidays: frozenset[date] = field(default_factory=lambda: CHINA_2026_HOLIDAYS)
    workdays: frozenset[date] = field(default_factory=lambda: CHINA_2026_WORKDAYS)
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
        """China's official 2026 schedule, as explicit dates."""
        return WorkCalendar(CHINA_2026_HOLIDAYS, CHINA_2026_WORKDAYS)

    def with_dates(self, *, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> WorkCalendar:
        """A copy with more holidays and adjusted working days (e.g. a local flood-season rule)."""
        return WorkCalendar(self.holidays | frozenset(holidays), self.workdays | frozenset(workdays), self.tz)

    def _working(self) -> Callable[[date], bool]:
        """The test "is this date worked", fixed for one computation."""
        holidays, workdays = self.holidays, self.workdays
        return lambda day: day in workdays or (day.weekday() < 5 and day not in holidays)

    def is_working_day(self, day: date) -> bool:
        """True for a working day (a weekday that is no holiday, or an adjusted working weekend)."""
        return self._working()(day)

    def source(self, day: date) -> str:
        """Where the rule for ``day`` comes from: ``local`` (dates given to this calendar)."""
        return "local"

    def day_info(self, day: date) -> DayInfo:
        name = "假日" if day in self.holidays else ""
        return DayInfo(day, self.is_working_day(day), "local", name, "指定的假日和调休上班日")

    def estimated_between(self, start: datetime, end: datetime) -> bool:
        """Whether a date from ``start`` to ``end`` (Beijing dates, both included) follows an
        estimated schedule (never, for explicit dates)."""
        return False

    def revisable_between(self, start: datetime, end: datetime) -> bool:
        """Whether a deadline counted over these dates may move when the local schedule file
        changes (never, for explicit dates)."""
        return False

    def revisable_from(self) -> date | None:
        """The first date whose schedule the local file can change (None: none can)."""
        return None

    @staticmethod
    def _next(day: date, working: Callable[[date], bool]) -> date:
        day += timedelta(days=1)
        for _ in range(3660):
            if working(day):
                return day
            day += timedelta(days=1)
        raise ValidationError("十年内没有工作日，请检查假日设置", "no working day within ten years")

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self._next(day, self._working())

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz) if moment.tzinfo is not None else moment.replace(tzinfo=self.tz)

    def _dates(self, start: datetime, end: datetime) -> Iterable[date]:
        a, b = sorted((self._local(start).date(), self._local(end).date()))
        return (a + timedelta(days=i) for i in range((b - a).days + 1))

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
        working = self._working()
        local = self._local(start)
        day = local.date()
        if working(day):
            for _ in range(days):
                day = self._next(day, working)
            result = local.replace(year=day.year, month=day.month, day=day.day)
        else:
            day = self._next(day, working)
            for _ in range(days - 1):
                day = self._next(day, working)
            result = datetime.combine(day, time(23, 59, 59), tzinfo=self.tz)
        return _like(result, start)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time from ``start`` to ``end`` in working days (negative when ``end`` is earlier).

        Whole working days between the two dates count 1 each; the parts of the first and last
        day count by clock time when those days are worked. Used for "overdue by N working days".
        """
        if end < start:
            return -self.working_days_between(end, start)
        working = self._working()
        a, b = self._local(start), self._local(end)
        total = 0.0
        day = a.date()
        while day <= b.date():
            if working(day):
                lo = a if day == a.date() else datetime.combine(day, time(0), tzinfo=self.tz)
                hi = b if day == b.date() else datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
                total += (hi - lo).total_seconds() / 86400
            day += timedelta(days=1)
        return total


@dataclass(frozen=True)
class ChinaCalendar(WorkCalendar):
    """China's working days: official schedules, then the local file, then estimates.

    Parameters
    ----------
    holidays, workdays
        Extra days off and worked days on top of the schedules (see :meth:`with_dates`).
    tz
        Time zone in which dates are counted (default Asia/Shanghai).
    calendar_file
        The local schedule file (default: ``settings().calendar_file`` at each use).
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    tz: tzinfo = LOCAL_TZ
    calendar_file: Path | None = None

    def local(self) -> LocalCalendar:
        """The local schedule file as it is now (see :func:`gis.incidents.schedules.load_local_calendar`)."""
        return load_local_calendar(self.calendar_file)

    def schedule(self, year: int) -> YearSchedule:
        """The effective schedule of ``year`` (official → local → estimated)."""
        return self.local().schedule(year)

    def with_dates(self, *, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> ChinaCalendar:
        return ChinaCalendar(
            self.holidays | frozenset(holidays), self.workdays | frozenset(workdays), self.tz, self.calendar_file
        )

    def _working(self) -> Callable[[date], bool]:
        local = self.local()
        extra_off, extra_worked = self.holidays, self.workdays

        def working(day: date) -> bool:
            if day in extra_worked:
                return True
            if day in extra_off:
                return False
            return local.schedule(day.year).is_working_day(day)

        return working

    def source(self, day: date) -> str:
        """``official``, ``local`` or ``estimated`` (``local`` also for extra dates given here)."""
        if day in self.holidays or day in self.workdays:
            return "local"
        return self.schedule(day.year).source_of(day)

    def day_info(self, day: date) -> DayInfo:
        if day in self.holidays or day in self.workdays:
            return super().day_info(day)
        sched = self.schedule(day.year)
        working = sched.is_working_day(day)
        name = sched.names.get(day, "")
        if day in sched.local_dates:
            nxt = self.local().years[day.year + 1]
            basis = nxt.basis
        else:
            basis = sched.basis
        return DayInfo(day, working, sched.source_of(day), name, basis)

    def estimated_between(self, start: datetime, end: datetime) -> bool:
        local = self.local()
        return any(
            day not in self.holidays
            and day not in self.workdays
            and local.schedule(day.year).source_of(day) == "estimated"
            for day in self._dates(start, end)
        )

    def revisable_between(self, start: datetime, end: datetime) -> bool:
        local = self.local()
        return any(local.lists(day) for day in self._dates(start, end))

    def revisable_from(self) -> date | None:
        years = self.local().years
        return date(min(years) - 1, 12, 1) if years else None


def _like(result: datetime, start: datetime) -> datetime:
    """``result`` (local) in the time zone of ``start`` (naive when ``start`` was naive)."""
    if start.tzinfo is None:
        return result.replace(tzinfo=None)
    return result.astimezone(start.tzinfo)


_2026 = official_schedule(2026)
if _2026 is None:  # pragma: no cover - pinned in requirements.txt
    raise ImportError("chinesecalendar >= 1.11.0 is needed (requirements.txt): it lacks 2026")
CHINA_2026_HOLIDAYS: frozenset[date] = _2026.holidays
"""2026 public holidays and the days off adjusted around them (放假调休), from chinesecalendar."""
CHINA_2026_WORKDAYS: frozenset[date] = _2026.workdays
"""2026 weekend days that are working days (调休上班), from chinesecalendar."""

DEFAULT_CALENDAR: WorkCalendar = ChinaCalendar()
"""China's schedules: official (chinesecalendar) → the local file → estimated (see the module notes)."""
