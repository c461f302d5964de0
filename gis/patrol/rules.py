"""Patrol rules (巡河考核): periods incl. 旬, what counts as a patrol, compliance and coverage.

Periods are calendar spans in Beijing time (Asia/Shanghai): a year ``2026``, a quarter
``2026-Q4``, a month ``2026-11``, a 旬 ``2026-11-上旬`` (days 1–10), ``中旬`` (11–20) or ``下旬``
(21–end), an ISO week ``2026-W45``, a day ``2026-11-04`` or a range ``2026-11-01..2026-11-15``
(both days included).

Compliance is counted in *slots* of the required frequency (weeks Monday–Sunday, 旬, months,
quarters): a report period owns the slots whose midpoint lies inside it, so every slot belongs to
exactly one month (a week to the month holding its Thursday) and the months of a year add up to
the year. A slot is done when it holds the required number of counted patrols (started in the
slot, Beijing time). ``rate = done / required``; ``None`` when the period owns no slot.

Default rules (documented choice within the practice quoted in DOMAIN.md, 10–30 min and
0.3–2 km): a patrol counts when it lasts at least 10 minutes, covers at least 0.5 km along rivers
and carries none of the fake-patrol flags ``fast_speed``, ``far_from_river``, ``copied_track``,
``too_regular``. Frequency: village weekly, township monthly, county quarterly, one patrol per slot.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import ValidationError
from gis.geometry.crs import metric_crs_for, to_crs
from gis.geometry.linref import format_range, substring
from gis.model import LOCAL_TZ
from gis.patrol.flags import PatrolResult
from gis.patrol.matching import merge_intervals

__all__ = [
    "BLOCKING_FLAGS",
    "DEFAULT_RULES",
    "FREQUENCIES",
    "PatrolRule",
    "Period",
    "compliance",
    "counts_as_patrol",
    "parse_period",
    "period_choices",
    "period_coverage",
    "slots",
    "stretch_lines",
]

FREQUENCIES = {"day": "每日", "week": "每周", "xun": "每旬", "month": "每月", "quarter": "每季度", "year": "每年"}
XUN_NAMES = ("上旬", "中旬", "下旬")
BLOCKING_FLAGS = frozenset({"fast_speed", "far_from_river", "copied_track", "too_regular"})
"""Flags that keep a patrol from counting until someone reviews it."""


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A span of Beijing-time calendar days ``[start, end)`` with its label."""

    label: str
    start: date
    end: date

    @property
    def start_utc(self) -> np.datetime64:
        return _local_midnight_utc(self.start)

    @property
    def end_utc(self) -> np.datetime64:
        return _local_midnight_utc(self.end)

    @property
    def midpoint(self) -> datetime:
        a = datetime.combine(self.start, datetime.min.time())
        return a + (datetime.combine(self.end, datetime.min.time()) - a) / 2

    def contains(self, t: np.datetime64) -> bool:
        return bool(self.start_utc <= t < self.end_utc)

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "start": self.start.isoformat(), "end": (self.end - timedelta(days=1)).isoformat()}


def _local_midnight_utc(d: date) -> np.datetime64:
    return pd.Timestamp(d).tz_localize(LOCAL_TZ).tz_convert("UTC").tz_localize(None).to_datetime64()


def _month_end(y: int, m: int) -> date:
    return date(y + (m == 12), m % 12 + 1, 1)


def _xun(y: int, m: int, k: int) -> Period:
    starts = (1, 11, 21)
    start = date(y, m, starts[k])
    end = date(y, m, starts[k + 1]) if k < 2 else _month_end(y, m)
    return Period(f"{y}-{m:02d}-{XUN_NAMES[k]}", start, end)


def parse_period(text: str) -> Period:
    """Parse a period label (see the module docstring) into a :class:`Period`.

    Raises
    ------
    ValidationError
        The label matches none of the forms.
    """
    s = str(text).strip()
    try:
        if m := re.fullmatch(r"(\d{4})", s):
            y = int(m[1])
            return Period(s, date(y, 1, 1), date(y + 1, 1, 1))
        if m := re.fullmatch(r"(\d{4})-?[Qq]([1-4])", s):
            y, q = int(m[1]), int(m[2])
            return Period(f"{y}-Q{q}", date(y, 3 * q - 2, 1), _month_end(y, 3 * q))
        if m := re.fullmatch(r"(\d{4})-[Ww](\d{1,2})", s):
            y, w = int(m[1]), int(m[2])
            start = date.fromisocalendar(y, w, 1)
            return Period(f"{y}-W{w:02d}", start, start + timedelta(days=7))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", s):
            y, mo = int(m[1]), int(m[2])
            return Period(f"{y}-{mo:02d}", date(y, mo, 1), _month_end(y, mo))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-?(上旬|中旬|下旬)", s):
            return _xun(int(m[1]), int(m[2]), XUN_NAMES.index(m[3]))
        if m := re.fullmatch(r"(\d{4}-\d{1,2}-\d{1,2})\s*\.\.\s*(\d{4}-\d{1,2}-\d{1,2})", s):
            a, b = date.fromisoformat(_iso(m[1])), date.fromisoformat(_iso(m[2]))
            if b < a:
                raise ValueError("range ends before it starts")
            return Period(f"{a.isoformat()}..{b.isoformat()}", a, b + timedelta(days=1))
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", s):
            d = date.fromisoformat(_iso(s))
            return Period(d.isoformat(), d, d + timedelta(days=1))
    except ValueError as exc:
        raise ValidationError(f"时段“{s}”无效：{exc}", f"invalid period {s!r}: {exc}") from exc
    raise ValidationError(
        f"无法识别的时段“{s}”，可用：2026、2026-Q4、2026-11、2026-11-上旬/中旬/下旬、2026-W45、2026-11-04、"
        "2026-11-01..2026-11-15",
        f"unrecognised period {s!r}",
    )


def period_choices(today: date) -> list[str]:
    """Period labels to offer on ``today`` (Beijing date): this month, its 旬 up to today, last
    month, this ISO week, this quarter, last quarter, this year."""
    y, m = today.year, today.month
    py, pm = (y, m - 1) if m > 1 else (y - 1, 12)
    q = (m - 1) // 3 + 1
    pq_y, pq = (y, q - 1) if q > 1 else (y - 1, 4)
    week_y, week, _ = today.isocalendar()
    xun = [f"{y}-{m:02d}-{XUN_NAMES[k]}" for k in range(min((today.day - 1) // 10, 2) + 1)]
    return [f"{y}-{m:02d}", *xun, f"{py}-{pm:02d}", f"{week_y}-W{week:02d}", f"{y}-Q{q}", f"{pq_y}-Q{pq}", str(y)]


def _iso(s: str) -> str:
    y, m, d = s.split("-")
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def slot_of(frequency: str, d: date) -> Period:
    """The slot of ``frequency`` (day, week, xun, month, quarter, year) holding day ``d``."""
    if frequency == "day":
        return Period(d.isoformat(), d, d + timedelta(days=1))
    if frequency == "week":
        start = d - timedelta(days=d.weekday())
        y, w, _ = start.isocalendar()
        return Period(f"{y}-W{w:02d}", start, start + timedelta(days=7))
    if frequency == "xun":
        return _xun(d.year, d.month, min((d.day - 1) // 10, 2))
    if frequency == "month":
        return Period(f"{d.year}-{d.month:02d}", date(d.year, d.month, 1), _month_end(d.year, d.month))
    if frequency == "quarter":
        q = (d.month - 1) // 3 + 1
        return Period(f"{d.year}-Q{q}", date(d.year, 3 * q - 2, 1), _month_end(d.year, 3 * q))
    if frequency == "year":
        return Period(str(d.year), date(d.year, 1, 1), date(d.year + 1, 1, 1))
    raise ValidationError(
        f"未知的巡查频次“{frequency}”，可选：{'、'.join(FREQUENCIES)}", f"unknown frequency {frequency!r}"
    )


def slots(frequency: str, period: Period) -> list[Period]:
    """Slots of ``frequency`` owned by ``period`` (their midpoint lies inside it), in order."""
    out = []
    slot = slot_of(frequency, period.start - timedelta(days=200 if frequency == "year" else 60))
    lo = datetime.combine(period.start, datetime.min.time())
    hi = datetime.combine(period.end, datetime.min.time())
    while slot.start < period.end:
        if lo <= slot.midpoint < hi:
            out.append(slot)
        slot = slot_of(frequency, slot.end)
    return out


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatrolRule:
    """What a level must do: a patrol counts when it lasts ``min_minutes`` and covers
    ``min_river_km`` along rivers; ``per_slot`` counted patrols are due every ``frequency``."""

    level: str
    frequency: str
    min_minutes: float = 10.0
    min_river_km: float = 0.5
    per_slot: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "frequency": self.frequency,
            "min_minutes": self.min_minutes,
            "min_river_km": self.min_river_km,
            "per_slot": self.per_slot,
        }


DEFAULT_RULES: dict[str, PatrolRule] = {
    "village": PatrolRule("village", "week"),
    "township": PatrolRule("township", "month"),
    "county": PatrolRule("county", "quarter"),
}
"""Per grid level: village weekly, township monthly, county quarterly; ≥ 10 min and ≥ 0.5 km."""


def rule_for(level: str | None, rules: Mapping[str, PatrolRule] | None = None) -> PatrolRule | None:
    """The rule of ``level``; river levels above county (province, city) use the county rule."""
    rules = rules or DEFAULT_RULES
    if level is None:
        return None
    if level in rules:
        return rules[level]
    if level in ("province", "city"):
        return rules.get("county")
    return None


def counts_as_patrol(result: PatrolResult, rule: PatrolRule) -> tuple[bool, list[str]]:
    """Whether ``result`` counts under ``rule``, and the Chinese reasons when it does not."""
    reasons = []
    if result.duration_s < rule.min_minutes * 60:
        reasons.append(f"历时 {result.duration_s / 60:.1f} 分钟，不足 {rule.min_minutes:g} 分钟")
    if result.river_length_m < rule.min_river_km * 1000:
        reasons.append(f"沿河 {result.river_length_m / 1000:.2f} 公里，不足 {rule.min_river_km:g} 公里")
    blocking = [f["label"] for f in result.flags if f["code"] in BLOCKING_FLAGS]
    if blocking:
        reasons.append("疑似虚假巡查待核实：" + "、".join(blocking))
    return not reasons, reasons


# ---------------------------------------------------------------------------------------------
# Compliance
# ---------------------------------------------------------------------------------------------


@dataclass
class ComplianceRow:
    """Compliance of one subject (person, grid or reach) in a period."""

    subject: Any
    level: str | None
    frequency: str | None
    slots: int
    required: int
    done: int
    patrols: int
    counted: int
    rate: float | None
    missing_slots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "frequency": self.frequency,
            "slots": self.slots,
            "required": self.required,
            "done": self.done,
            "patrols": self.patrols,
            "counted": self.counted,
            "rate": None if self.rate is None else round(self.rate, 4),
            "missing_slots": self.missing_slots,
        }


def compliance(
    subject: Any,
    level: str | None,
    patrol_times: Sequence[np.datetime64 | None],
    counted: Sequence[bool],
    period: Period,
    *,
    rules: Mapping[str, PatrolRule] | None = None,
) -> ComplianceRow:
    """Required versus done for one subject.

    Parameters
    ----------
    subject
        Anything identifying the person, grid or reach (kept in the row).
    level : str or None
        Grid/reach level choosing the rule; ``None`` or a level without rule → nothing required.
    patrol_times : sequence of numpy.datetime64 or None
        Start (UTC) of each of the subject's patrols; those outside the period's slots, and
        ``None``/NaT (no time), are ignored.
    counted : sequence of bool
        Whether each patrol counts (see :func:`counts_as_patrol`).

    Returns
    -------
    ComplianceRow
        ``required = slots × per_slot``; ``done`` sums, per slot, ``min(counted patrols, per_slot)``.
    """
    rule = rule_for(level, rules)
    times = np.asarray(patrol_times, dtype="datetime64[ns]")
    ok = np.asarray(counted, dtype=bool)
    if rule is None:
        inside = (times >= period.start_utc) & (times < period.end_utc)
        return ComplianceRow(subject, level, None, 0, 0, 0, int(inside.sum()), int((inside & ok).sum()), None)
    owned = slots(rule.frequency, period)
    done = patrols = n_counted = 0
    missing = []
    for slot in owned:
        inside = (times >= slot.start_utc) & (times < slot.end_utc)
        patrols += int(inside.sum())
        c = int((inside & ok).sum())
        n_counted += c
        done += min(c, rule.per_slot)
        if c < rule.per_slot:
            missing.append(slot.label)
    required = len(owned) * rule.per_slot
    return ComplianceRow(
        subject,
        level,
        rule.frequency,
        len(owned),
        required,
        done,
        patrols,
        n_counted,
        done / required if required else None,
        missing,
    )


# ---------------------------------------------------------------------------------------------
# Coverage over a period
# ---------------------------------------------------------------------------------------------


def period_coverage(results: Iterable[PatrolResult], reaches: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per reach, the share of its length patrolled at least once, and the stretches never patrolled.

    Parameters
    ----------
    results : iterable of PatrolResult
        The patrols of the period (callers leave out flagged ones as they see fit).
    reaches : GeoDataFrame
        Reaches with a CRS, index = reach ids (:func:`gis.patrol.matching.reaches_frame`); optional
        ``start_station_m`` column (metres) shifts the 桩号.

    Returns
    -------
    (per_reach, stretches) : DataFrame, DataFrame
        ``per_reach`` indexed by reach id: length_m, covered_m, uncovered_m, share.
        ``stretches``: reach_id, from_m, to_m, length_m (metres from the reach start) and
        ``stations`` (桩号 ``K1+000–K2+500`` including ``start_station_m``) of never-patrolled stretches.
        Invariant: covered_m + uncovered_m = length_m.
    """
    metric = to_crs(reaches, metric_crs_for(reaches))
    length = pd.Series(metric.geometry.length.to_numpy(), index=reaches.index, name="length_m")
    frames = [r.matched for r in results if len(r.matched)]
    if frames:
        m = pd.concat(frames, ignore_index=True)
        m = m[m["reach_id"].isin(reaches.index)]
        merged = merge_intervals(
            m["reach_id"].to_numpy(dtype=object), m["from_m"].to_numpy(float), m["to_m"].to_numpy(float)
        )
    else:
        merged = merge_intervals(np.zeros(0, dtype=object), np.zeros(0), np.zeros(0))
    # Clip to [0, length] (projections never leave it, but be safe).
    lens = merged["reach_id"].map(length).to_numpy(float)
    merged["from_m"] = np.clip(merged["from_m"].to_numpy(float), 0, lens)
    merged["to_m"] = np.clip(merged["to_m"].to_numpy(float), 0, lens)
    merged["length_m"] = merged["to_m"] - merged["from_m"]
    covered = merged.groupby("reach_id")["length_m"].sum().reindex(reaches.index, fill_value=0.0)
    per_reach = pd.DataFrame({"length_m": length, "covered_m": covered.to_numpy(float)}, index=reaches.index)
    per_reach["uncovered_m"] = per_reach["length_m"] - per_reach["covered_m"]
    per_reach["share"] = np.where(
        per_reach["length_m"] > 0,
        per_reach["covered_m"] / per_reach["length_m"].where(per_reach["length_m"] > 0, 1.0),
        0.0,
    )
    rows = []
    starts = reaches["start_station_m"] if "start_station_m" in reaches.columns else pd.Series(0.0, index=reaches.index)
    by_reach: dict[Hashable, pd.DataFrame] = {k: g for k, g in merged.groupby("reach_id", sort=False)}
    for rid, total in length.items():
        pos = 0.0
        g = by_reach.get(rid)
        cuts = [] if g is None else list(zip(g["from_m"], g["to_m"]))
        for a, b in [*cuts, (total, total)]:
            if a - pos > 1e-6:
                rows.append((rid, pos, float(a)))
            pos = max(pos, float(b))
    st = pd.DataFrame(rows, columns=["reach_id", "from_m", "to_m"])
    st["length_m"] = st["to_m"] - st["from_m"]
    offset = st["reach_id"].map(starts.fillna(0.0)).to_numpy(float) if len(st) else np.zeros(0)
    st["stations"] = [format_range(a + o, b + o) for a, b, o in zip(st["from_m"], st["to_m"], offset)]
    return per_reach, st


def stretch_lines(
    reaches: gpd.GeoDataFrame, reach_ids: Sequence[Any], from_m: Iterable[float], to_m: Iterable[float]
) -> gpd.GeoSeries:
    """The lines of stretches ``[from_m, to_m]`` (metres from each reach's start, as in
    :func:`period_coverage`) of ``reaches`` (index = reach ids), in the reaches' CRS."""
    crs = metric_crs_for(reaches)
    metric = to_crs(reaches.geometry, crs)
    geoms = [substring(metric.loc[r], float(a), float(b)) for r, a, b in zip(reach_ids, from_m, to_m, strict=True)]
    geoms = [None if g.is_empty else g for g in geoms]
    return to_crs(gpd.GeoSeries(geoms, crs=crs), reaches.crs)
