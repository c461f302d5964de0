"""Holiday schedules (放假安排) for working days: official, a local schedule file, estimates.

Every date follows the schedule of its year, from one of three *sources*:

``official``
    The State Council's schedule (国务院办公厅关于××年部分节假日安排的通知) as packaged by
    ``chinesecalendar`` (the years :func:`official_years`: 2004–2026 in 1.11.0).
``local``
    A schedule the deployment adds for a year the package does not cover yet (the State Council
    publishes next year's 放假安排 each November): the JSON file ``settings().calendar_file``
    (``RIVERGRID_CALENDAR_FILE``, default ``<data dir>/calendar.json``), format below.
``estimated``
    Any other year: Monday–Friday minus the statutory holidays (法定节假日) of the package
    ``holidays`` (``holidays.China(observed=False)``), without the days off and worked weekends
    moved around them (调休), which nobody knows before the notice. Deadlines counted on such days
    are labelled 估算 and recomputed when the schedule arrives
    (:func:`gis.incidents.deadlines.recompute_open_deadlines`).

The year's source is chosen in that order. A local year that the official data also covers is
not used: the official schedule wins and :attr:`LocalCalendar.warnings` says so (naming the
dates on which the two differ), so that upgrading ``chinesecalendar`` never breaks a running
deployment; ``python -m gis calendar add`` refuses such a year. A notice may also list dates in
December of the year before (the 2019 notice gave 2018-12-30 off and 2018-12-29 worked): those
dates follow the local notice even when the year before is official.

Local schedule file (UTF-8 JSON)::

    {
      "format": 1,
      "years": {
        "2027": {
          "source": {"title": "国务院办公厅关于2027年部分节假日安排的通知",
                     "published": "2026-11-12", "document": "国办发明电〔2026〕号"},
          "holidays": {"元旦": "2027-01-01..2027-01-03",
                       "春节": ["2027-02-05..2027-02-12"]},
          "workdays": ["2027-02-20"]
        }
      }
    }

``source.title`` and ``source.published`` (the notice's title and date) are required,
``document`` and ``url`` optional. ``holidays`` lists every day off (放假, including the
weekend days inside a holiday), by festival name or as a plain list; ``workdays`` the weekend
days that are worked (调休上班). A date is ``YYYY-MM-DD``, a range ``YYYY-MM-DD..YYYY-MM-DD``
(both ends included, at most 31 days); each lies in the year or in the December before it.
Mistakes are refused with Chinese messages naming the year and the date.

The calendars that count on these schedules are :mod:`gis.incidents.workdays`. Each year's
schedule is turned into two sets once and cached; the local file is read again only when its size
or modification time changes.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from threading import Lock
from typing import Any

import holidays
from chinese_calendar import constants

from gis.config import settings
from gis.errors import ValidationError

__all__ = [
    "ESTIMATE_METHOD",
    "SOURCES",
    "SOURCE_LABELS",
    "WEEKDAYS",
    "LocalCalendar",
    "YearSchedule",
    "add_local_years",
    "configured_file",
    "estimated_schedule",
    "load_local_calendar",
    "official_schedule",
    "official_years",
    "parse_local_calendar",
]

SOURCES = ("official", "local", "estimated")
SOURCE_LABELS = {"official": "官方安排", "local": "本地安排", "estimated": "估算"}
WEEKDAYS = "一二三四五六日"
MAX_RANGE_DAYS = 31
FORMAT = 1


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - pinned in requirements.txt
        return "?"


# =============================================================================================
# One year's schedule
# =============================================================================================


@dataclass(frozen=True)
class YearSchedule:
    """The schedule of one year: days off, worked weekend days, and where it comes from.

    Attributes
    ----------
    year
        The year (a local notice's ``holidays``/``workdays`` may also hold dates of the
        December before).
    source
        ``official``, ``local`` or ``estimated``.
    holidays
        Days off (a weekday among them is not worked).
    workdays
        Weekend days that are worked (调休上班).
    names
        Festival name of each day off or worked day (``国庆节``), where known.
    title
        What the schedule rests on (the notice's title, or how it was estimated).
    published
        Date of the notice (local schedules).
    local_dates
        Dates of this year that follow the next year's local notice (December days it lists).
    """

    year: int
    source: str
    holidays: frozenset[date]
    workdays: frozenset[date]
    names: Mapping[date, str] = field(default_factory=dict, compare=False, hash=False)
    title: str = ""
    published: date | None = None
    document: str = ""
    local_dates: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def source_of(self, day: date) -> str:
        return "local" if day in self.local_dates else self.source

    @property
    def basis(self) -> str:
        """One Chinese line: the source and what it rests on."""
        parts = [self.title] if self.title else []
        if self.published is not None:
            parts.append(f"{self.published.isoformat()} 发布")
        return SOURCE_LABELS[self.source] + (f"（{'，'.join(parts)}）" if parts else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "source": self.source,
            "title": self.title,
            "document": self.document,
            "published": None if self.published is None else self.published.isoformat(),
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }


# =============================================================================================
# Official schedules (chinesecalendar)
# =============================================================================================


@cache
def official_years() -> tuple[int, int]:
    """First and last year of the official schedules in the installed ``chinesecalendar``."""
    years = [d.year for d in constants.holidays]
    return min(years), max(years)


@cache
def official_schedule(year: int) -> YearSchedule | None:
    """The State Council's schedule of ``year`` from ``chinesecalendar``, or None outside its years."""
    first, last = official_years()
    if not first <= year <= last:
        return None
    chinese = {h.value: h.chinese for h in constants.Holiday}
    names = {d: chinese.get(n, n) for d, n in constants.holidays.items() if d.year == year}
    worked = {d: chinese.get(n, n) for d, n in constants.workdays.items() if d.year == year}
    return YearSchedule(
        year,
        "official",
        frozenset(names),
        frozenset(worked),
        {**names, **worked},
        title=f"国务院办公厅关于{year}年部分节假日安排的通知，chinesecalendar {_version('chinesecalendar')}",
    )


def _is_statutory(name: str) -> bool:
    # holidays.China also lists the days off moved by a published notice (休息日（由 … 调休）)
    return "调休" not in name


ESTIMATE_METHOD = f"按周末和法定节假日（holidays {_version('holidays')}）估算，未含调休"
"""How years without a schedule are estimated (Chinese)."""


@cache
def estimated_schedule(year: int) -> YearSchedule:
    """``year`` estimated from weekends and the statutory holidays of ``holidays.China``.

    No 调休: statutory holidays on a weekend give no day off in the week, and no weekend is worked.
    """
    # the typed factory: mypy cannot see holidays.China, which the package loads lazily
    days = holidays.country_holidays("CN", years=year, observed=False, language="zh_CN")
    names = {d: str(n) for d, n in days.items() if d.year == year and _is_statutory(str(n))}
    return YearSchedule(
        year, "estimated", frozenset(names), frozenset(), names, title=f"{year} 年没有官方或本地安排，{ESTIMATE_METHOD}"
    )


# =============================================================================================
# Local schedules (the calendar file)
# =============================================================================================

_YEAR_KEYS = {"source", "holidays", "workdays"}
_SOURCE_KEYS = {"title", "published", "document", "url"}
_TOP_KEYS = {"format", "years"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Problems:
    """Collects Chinese and English descriptions of what is wrong in a calendar file."""

    def __init__(self) -> None:
        self.zh: list[str] = []
        self.en: list[str] = []

    def add(self, zh: str, en: str) -> None:
        self.zh.append(zh)
        self.en.append(en)

    def raise_if_any(self, where: str) -> None:
        if self.zh:
            shown = self.zh[:10] + ([f"另有 {len(self.zh) - 10} 处问题"] if len(self.zh) > 10 else [])
            raise ValidationError(f"{where}有误：" + "；".join(shown), f"bad calendar ({where}): " + "; ".join(self.en))


def _parse_date(text: str, year: int, what: str, problems: _Problems) -> date | None:
    if not _DATE.fullmatch(text):
        problems.add(
            f"{year} 年的{what}“{text}”不是 YYYY-MM-DD 格式的日期", f"{year}: {what} {text!r} is not YYYY-MM-DD"
        )
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.add(f"{year} 年的{what}“{text}”不是有效日期", f"{year}: {what} {text!r} is no valid date")
        return None
    if day.year != year and not (day.year == year - 1 and day.month == 12):
        problems.add(
            f"{year} 年的{what}“{text}”不在 {year} 年内（只允许 {year} 年及 {year - 1} 年 12 月的日期）",
            f"{year}: {what} {text} outside the year",
        )
        return None
    return day


def _parse_days(value: Any, year: int, what: str, problems: _Problems) -> list[date]:
    """Dates from a date, a range ``A..B`` or a list of them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        problems.add(
            f'{year} 年的{what}应为日期字符串或其列表（如 "2027-01-01"、"2027-02-05..2027-02-12"）',
            f"{year}: {what} must be a date string or a list of them",
        )
        return []
    out: list[date] = []
    for item in items:
        text = item.strip()
        if ".." in text:
            a_text, _, b_text = text.partition("..")
            a = _parse_date(a_text.strip(), year, what, problems)
            b = _parse_date(b_text.strip(), year, what, problems)
            if a is None or b is None:
                continue
            if b < a:
                problems.add(
                    f"{year} 年的{what}区间“{text}”结束早于开始", f"{year}: range {text} ends before it starts"
                )
                continue
            if (b - a).days >= MAX_RANGE_DAYS:
                problems.add(
                    f"{year} 年的{what}区间“{text}”超过 {MAX_RANGE_DAYS} 天，请检查",
                    f"{year}: range {text} longer than {MAX_RANGE_DAYS} days",
                )
                continue
            out.extend(a + timedelta(days=i) for i in range((b - a).days + 1))
        else:
            day = _parse_date(text, year, what, problems)
            if day is not None:
                out.append(day)
    return out


def _parse_year(key: str, entry: Any, problems: _Problems) -> YearSchedule | None:
    if not re.fullmatch(r"\d{4}", str(key)):
        problems.add(f'年份“{key}”无效（应为四位数字，如 "2027"）', f"bad year key {key!r}")
        return None
    year = int(key)
    if not isinstance(entry, dict):
        problems.add(
            f"{year} 年的安排应为一个对象（含 source、holidays、workdays）", f"{year}: entry must be an object"
        )
        return None
    unknown = sorted(set(entry) - _YEAR_KEYS)
    if unknown:
        problems.add(
            f"{year} 年有未知字段：{'、'.join(unknown)}（可用字段：source、holidays、workdays）",
            f"{year}: unknown keys {unknown}",
        )
    source = entry.get("source")
    title, published, document = "", None, ""
    if not isinstance(source, dict):
        problems.add(f"{year} 年缺少来源 source（通知标题 title 和发布日期 published）", f"{year}: source missing")
    else:
        unknown = sorted(set(source) - _SOURCE_KEYS)
        if unknown:
            problems.add(
                f"{year} 年的来源有未知字段：{'、'.join(unknown)}（可用字段：title、published、document、url）",
                f"{year}: unknown source keys {unknown}",
            )
        raw_title = source.get("title")
        title = raw_title.strip() if isinstance(raw_title, str) else ""
        if not title:
            problems.add(f"{year} 年的来源缺少通知标题 title", f"{year}: source.title missing")
        pub = source.get("published")
        if not isinstance(pub, str) or not _DATE.fullmatch(pub.strip()):
            problems.add(f"{year} 年的来源缺少发布日期 published（YYYY-MM-DD）", f"{year}: source.published missing")
        else:
            try:
                published = date.fromisoformat(pub.strip())
            except ValueError:
                problems.add(f"{year} 年的发布日期“{pub}”不是有效日期", f"{year}: bad published date {pub!r}")
        doc = source.get("document", "")
        document = doc.strip() if isinstance(doc, str) else ""
    names: dict[date, str] = {}
    raw = entry.get("holidays")
    if isinstance(raw, dict):
        for name, value in raw.items():
            for day in _parse_days(value, year, f"假日（{name}）", problems):
                names[day] = str(name)
    elif raw is not None:
        for day in _parse_days(raw, year, "假日", problems):
            names[day] = "假日"
    if raw is None or (not names and not problems.zh):
        problems.add(f"{year} 年没有列出任何假日 holidays", f"{year}: no holidays")
    worked = _parse_days(entry.get("workdays", []), year, "调休上班日", problems)
    for day in worked:
        if day.weekday() < 5:
            problems.add(
                f"{year} 年的调休上班日 {day.isoformat()} 是星期{WEEKDAYS[day.weekday()]}，不是周末，无需列出",
                f"{year}: workday {day} is not a weekend day",
            )
    both = sorted(set(names) & set(worked))
    if both:
        days = "、".join(d.isoformat() for d in both)
        problems.add(f"{year} 年的以下日期既是假日又是调休上班日：{days}", f"{year}: both holiday and workday: {days}")
    return YearSchedule(
        year, "local", frozenset(names), frozenset(worked), names, title=title, published=published, document=document
    )


def _loads(data: str | bytes | Mapping[str, Any], where: str) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        loaded = json.loads(text)
    except UnicodeDecodeError:
        raise ValidationError(f"{where}不是 UTF-8 编码的文本", f"{where}: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{where}不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）", f"{where}: invalid JSON: {exc}"
        ) from None
    if not isinstance(loaded, dict):
        raise ValidationError(f"{where}应为一个 JSON 对象（含 years）", f"{where}: top level must be an object")
    return loaded


def parse_local_calendar(data: str | bytes | Mapping[str, Any], *, where: str = "日历文件") -> dict[int, YearSchedule]:
    """The years of a local schedule (JSON text or its parsed object), validated.

    Raises
    ------
    ValidationError
        With every problem found, in Chinese, each naming the year and the date.
    """
    loaded = _loads(data, where)
    problems = _Problems()
    unknown = sorted(set(loaded) - _TOP_KEYS)
    if unknown:
        problems.add(f"未知字段：{'、'.join(unknown)}（可用字段：format、years）", f"unknown keys {unknown}")
    if loaded.get("format", FORMAT) != FORMAT:
        problems.add(f"格式版本 format 应为 {FORMAT}，而不是 {loaded.get('format')!r}", f"format must be {FORMAT}")
    years = loaded.get("years")
    out: dict[int, YearSchedule] = {}
    if not isinstance(years, dict):
        problems.add("缺少 years（按年份列出的放假安排）", "years missing")
    else:
        for key, entry in years.items():
            sched = _parse_year(key, entry, problems)
            if sched is not None:
                out[sched.year] = sched
    problems.raise_if_any(where)
    return out


def _differences(a: YearSchedule, b: YearSchedule) -> list[date]:
    days = (a.holidays ^ b.holidays) | (a.workdays ^ b.workdays)
    return sorted(d for d in days if d.year == a.year and a.is_working_day(d) != b.is_working_day(d))


class LocalCalendar:
    """The local schedule file as read, and the effective schedule of each year.

    Attributes
    ----------
    path
        The file (None: no file).
    years
        Every year the file lists (also those not used because the official data covers them).
    warnings
        Chinese notes: local years not used because the official schedule covers them.
    """

    def __init__(self, path: Path | None, years: Mapping[int, YearSchedule]) -> None:
        self.path = path
        self.years = dict(years)
        self._effective: dict[int, YearSchedule] = {}
        self.warnings: list[str] = []
        for year, sched in sorted(self.years.items()):
            official = official_schedule(year)
            if official is None:
                continue
            diff = _differences(official, sched)
            note = f"日历文件中的 {year} 年安排未使用：官方安排（chinesecalendar）已覆盖该年"
            if diff:
                note += "，两者在 " + "、".join(d.isoformat() for d in diff[:10]) + " 上不同，以官方安排为准"
            self.warnings.append(note)

    def active(self, year: int) -> YearSchedule | None:
        """The local schedule of ``year`` when it is used (the official data does not cover it)."""
        if official_schedule(year) is not None:
            return None
        return self.years.get(year)

    def schedule(self, year: int) -> YearSchedule:
        """The effective schedule of ``year``: official, else local, else estimated, with the
        December days listed by next year's local notice."""
        sched = self._effective.get(year)
        if sched is not None:
            return sched
        base = official_schedule(year) or self.active(year) or estimated_schedule(year)
        nxt = self.active(year + 1)
        if nxt is not None:
            off = frozenset(d for d in nxt.holidays if d.year == year)
            worked = frozenset(d for d in nxt.workdays if d.year == year)
            if off or worked:
                names = {**base.names, **{d: nxt.names.get(d, "") for d in off | worked}}
                base = YearSchedule(
                    year,
                    base.source,
                    (base.holidays - worked) | off,
                    (base.workdays - off) | worked,
                    names,
                    base.title,
                    base.published,
                    base.document,
                    off | worked,
                )
        self._effective[year] = base
        return base

    def lists(self, day: date) -> bool:
        """True when this file lists ``day``'s year, or lists ``day`` itself in next year's
        notice (deadlines counted over ``day`` then follow the file)."""
        if day.year in self.years:
            return True
        nxt = self.years.get(day.year + 1)
        return nxt is not None and (day in nxt.holidays or day in nxt.workdays)


_EMPTY = LocalCalendar(None, {})
_LOCAL_CACHE: dict[Path, tuple[tuple[int, int, int], LocalCalendar]] = {}
_LOCK = Lock()
_PATH_CACHE: dict[tuple[str | None, str | None], Path] = {}


def configured_file() -> Path:
    """``settings().calendar_file`` (cached per value of the two variables that decide it)."""
    key = (os.environ.get("RIVERGRID_CALENDAR_FILE"), os.environ.get("RIVERGRID_DATA_DIR"))
    path = _PATH_CACHE.get(key)
    if path is None:
        configured = settings().calendar_file
        path = _PATH_CACHE[key] = Path(configured) if configured is not None else Path("calendar.json")
    return path


def load_local_calendar(path: Path | str | None = None) -> LocalCalendar:
    """The local schedule file ``path`` (default :func:`configured_file`), read again only when
    it changed; a missing file has no years.

    Raises
    ------
    ValidationError
        The file cannot be read or is not a valid schedule (Chinese message naming the file).
    """
    path = Path(path) if path is not None else configured_file()
    try:
        st = path.stat()
    except FileNotFoundError:
        return _EMPTY
    except OSError as exc:
        raise ValidationError(f"无法读取日历文件 {path}：{exc.strerror}", f"cannot stat {path}: {exc}") from None
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _LOCAL_CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"无法读取日历文件 {path}：{exc.strerror}", f"cannot read {path}: {exc}") from None
    local = LocalCalendar(path, parse_local_calendar(data, where=f"日历文件 {path} "))
    with _LOCK:
        _LOCAL_CACHE[path] = (key, local)
    return local


def add_local_years(source: Path | str, path: Path | str | None = None, *, replace: bool = False) -> list[YearSchedule]:
    """Add the years of the schedule file ``source`` to the local calendar file ``path``
    (default :func:`configured_file`), written atomically.

    Raises
    ------
    ValidationError
        ``source`` is not a valid schedule; a year is covered by the official data; a year is
        already in ``path`` (unless ``replace``); ``path`` itself is broken.
    """
    source = Path(source)
    target = Path(path) if path is not None else configured_file()
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ValidationError(f"无法读取文件 {source}：{exc.strerror}", f"cannot read {source}: {exc}") from None
    where = f"文件 {source} "
    added = parse_local_calendar(raw, where=where)
    if not added:
        raise ValidationError(f"{where}没有列出任何年份", f"{source}: no years")
    first, last = official_years()
    covered = sorted(y for y in added if official_schedule(y) is not None)
    if covered:
        years = "、".join(str(y) for y in covered)
        raise ValidationError(
            f"{years} 年已有官方安排（chinesecalendar {_version('chinesecalendar')} 覆盖 {first}–{last} 年），"
            "不需要也不能加入本地日历文件",
            f"years {covered} are covered by the official data",
        )
    existing = load_local_calendar(target)
    doc: dict[str, Any] = {"format": FORMAT, "years": {}}
    if existing.path is not None:
        doc = dict(_loads(target.read_bytes(), f"日历文件 {target} "))
        doc.setdefault("years", {})
    clash = sorted(y for y in added if y in existing.years)
    if clash and not replace:
        years = "、".join(f"{y} 年（{existing.years[y].title}）" for y in clash)
        raise ValidationError(
            f"日历文件 {target} 中已有 {years}的安排；如需替换请加 --replace", f"years {clash} already in {target}"
        )
    entries = _loads(raw, where)["years"]
    for key, entry in entries.items():
        doc["years"][str(int(key))] = entry
    doc["years"] = dict(sorted(doc["years"].items()))
    parse_local_calendar(doc, where=f"日历文件 {target} ")  # the result must still be valid
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".calendar-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [added[y] for y in sorted(added)]
