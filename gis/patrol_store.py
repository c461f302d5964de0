"""Patrol report from the store: the period's tracks analysed, compliance per person, grid and
reach, and river coverage (used by ``python -m gis patrol-report``).

Posts decide a person's level: 主要责任人, 监管人员 and 协管员 take their grid's level, a 乡级监管责任人
the township level; a person with several posts follows the most frequent rule. People with
tracks but no post are listed with nothing required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import geopandas as gpd
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.model import GridLevel, GridRole
from gis.patrol import (
    FlagRules,
    MatchOptions,
    PatrolResult,
    analyse_tracks,
    reaches_frame,
    track_from_record,
)
from gis.patrol_rules import (
    BLOCKING_FLAGS,
    DEFAULT_RULES,
    PatrolRule,
    Period,
    compliance,
    counts_as_patrol,
    parse_period,
    period_coverage,
    rule_for,
    slots,
)
from gis.store.schema import Grid, GridRoleAssignment, PatrolTrack, Reach

__all__ = ["PatrolReport", "patrol_report"]

_FREQ_RANK = {"day": 0, "week": 1, "xun": 2, "month": 3, "quarter": 4, "year": 5}


@dataclass
class PatrolReport:
    """Everything :func:`patrol_report` found; :meth:`to_dict` is the CLI's JSON."""

    period: Period
    persons: list[dict[str, Any]]
    grids: list[dict[str, Any]]
    reaches: list[dict[str, Any]]
    coverage: list[dict[str, Any]]
    tracks: list[dict[str, Any]]
    rules: dict[str, PatrolRule]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period.to_dict(), "rules": {k: r.to_dict() for k, r in self.rules.items()},
                "persons": self.persons, "grids": self.grids, "reaches": self.reaches, "coverage": self.coverage,
                "tracks": self.tracks, "warnings": self.warnings}

    def text(self) -> str:
        def rate(r: Any) -> str:
            return "不考核" if r is None else f"{r:.0%}"

        p = self.period
        lines = [f"巡河考核 {p.label}（{p.start.isoformat()} 至 {(p.end - timedelta(days=1)).isoformat()}，北京时间）"]
        lines.append("按人员：")
        lines += [f"  {x['person']}（{x['level'] or '无岗位'}）应巡 {x['required']} 次，达标 {x['done']} 次，"
                  f"有效巡查 {x['counted']}/{x['patrols']}，完成率 {rate(x['rate'])}" for x in self.persons]
        lines.append("按网格：")
        lines += [f"  {x['grid']}（{x['level']}）应巡 {x['required']} 次，达标 {x['done']} 次，完成率 {rate(x['rate'])}"
                  for x in self.grids]
        lines.append("河段巡查覆盖：")
        lines += [f"  {c['reach']}：{c['share']:.0%}（未巡 {c['uncovered_m'] / 1000:.2f} 公里"
                  + (f"：{'，'.join(s['stations'] for s in c['never_patrolled'][:5])}" if c["never_patrolled"] else "")
                  + "）" for c in self.coverage]
        flagged = [t for t in self.tracks if t["flags"]]
        if flagged:
            lines.append("疑似问题轨迹：")
            lines += [f"  {t['name']}（{t['person'] or '-'}）：{'、'.join(f['label'] for f in t['flags'])}" for t in flagged]
        lines += [f"提示：{w}" for w in self.warnings]
        return "\n".join(lines)


def _person_levels(grids: list[Grid], period: Period) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for g in grids:
        for a in g.roles:
            if (a.valid_from and a.valid_from >= period.end) or (a.valid_to and a.valid_to < period.start):
                continue
            level = GridLevel.TOWNSHIP.value if a.role == GridRole.TOWNSHIP_SUPERVISOR.value else g.level
            out.setdefault(a.person.name, set()).add(level)
    return out


def _best_level(levels: set[str], rules: Mapping[str, PatrolRule]) -> str | None:
    ruled = [lv for lv in levels if rule_for(lv, rules) is not None]
    if not ruled:
        return None
    return min(ruled, key=lambda lv: (_FREQ_RANK.get(rule_for(lv, rules).frequency, 9), lv))  # type: ignore[union-attr]


def patrol_report(session: Session, period: str | Period, *, rules: Mapping[str, PatrolRule] | None = None,
                  options: MatchOptions | None = None, flag_rules: FlagRules | None = None,
                  fix_offsets: bool = False) -> PatrolReport:
    """Analyse the store's tracks for ``period`` and report compliance and coverage.

    Parameters
    ----------
    session : Session
        An open store session (read only).
    period : str or Period
        See :func:`gis.patrol_rules.parse_period` (``2026``, ``2026-Q4``, ``2026-11``, ``2026-11-上旬`` …).
    rules : mapping level → PatrolRule, optional
        Defaults :data:`gis.patrol_rules.DEFAULT_RULES`.
    fix_offsets : bool
        Re-analyse a track flagged ``probable_gcj02``/``probable_bd09`` with the suggested
        conversion (default False: the flag is reported and the track is matched as stored).
    """
    period = parse_period(period) if isinstance(period, str) else period
    rules = dict(rules or DEFAULT_RULES)
    options = options or MatchOptions()
    # Tracks from every slot owned by the period (a week may start in the month before).
    owned = [s for r in rules.values() for s in slots(r.frequency, period)] + [period]
    lo = min(s.start_utc for s in owned)
    hi = max(s.end_utc for s in owned)

    reach_rows = session.scalars(select(Reach).where(Reach.deleted_at.is_(None)).order_by(Reach.id)).all()
    reaches = reaches_frame(gpd.GeoDataFrame(
        {"id": [r.id for r in reach_rows], "code": [r.code or "" for r in reach_rows],
         "name": [r.name for r in reach_rows], "level": [r.level for r in reach_rows],
         "start_station_m": [r.start_station_m or 0.0 for r in reach_rows]},
        geometry=[r.geom for r in reach_rows], crs="EPSG:4326"))
    grids = session.scalars(
        select(Grid).where(Grid.deleted_at.is_(None))
        .options(selectinload(Grid.roles).selectinload(GridRoleAssignment.person))
        .order_by(Grid.id)
    ).all()
    grid_gdf = gpd.GeoDataFrame({"id": [g.id for g in grids if g.geom is not None]},
                                geometry=[g.geom for g in grids if g.geom is not None], crs="EPSG:4326").set_index("id")
    records = [r for r in session.scalars(select(PatrolTrack).options(selectinload(PatrolTrack.person))
                                          .order_by(PatrolTrack.started_at, PatrolTrack.id))]
    tracks = [track_from_record(r) for r in records]
    tracks = [t for t in tracks if len(t) and not np.isnat(t.times).all()
              and lo <= np.nanmin(t.times[~np.isnat(t.times)]) < hi]
    results, warnings = analyse_tracks(tracks, reaches, options=options, grids=grid_gdf, flag_rules=flag_rules)
    if fix_offsets:
        from gis.patrol import analyse_track

        for k, res in enumerate(results):
            if res.offset_guess is not None:
                fixed = analyse_track(res.track, reaches, from_crs=res.offset_guess["source"], options=options,
                                      grids=grid_gdf, flag_rules=flag_rules)
                fixed.flags.insert(0, {**res.flags[0], "message": res.flags[0]["message"] + "（已按建议转换）"})
                results[k] = fixed

    person_levels = _person_levels(list(grids), period)
    grid_level = {g.id: g.level for g in grids}
    grid_name = {g.id: g.name for g in grids}
    posts_by_grid = {g.id: {a.person.name for a in g.roles} for g in grids}

    def counted_under(res: PatrolResult, level: str | None) -> bool:
        rule = rule_for(level, rules)
        return counts_as_patrol(res, rule)[0] if rule is not None else False

    track_rows = []
    for res in results:
        d = res.to_dict()
        lv = _best_level(person_levels.get(res.track.person, set()), rules) if res.track.person else None
        rule = rule_for(lv or grid_level.get(res.track.grid), rules)
        ok, why = counts_as_patrol(res, rule) if rule is not None else (False, ["无考核规则"])
        track_rows.append({"track_id": res.track.track_id, "name": res.track.name, "person": res.track.person,
                           "grid": grid_name.get(res.track.grid), "start": d["start"], "start_local": d["start_local"],
                           "duration_s": d["duration_s"], "length_m": d["length_m"], "river_length_m": d["river_length_m"],
                           "counted": ok, "not_counted_because": why, "flags": d["flags"], "matched": d["matched"]})

    persons = []
    names = sorted(set(person_levels) | {r.track.person for r in results if r.track.person})
    for name in names:
        lv = _best_level(person_levels.get(name, set()), rules)
        mine = [r for r in results if r.track.person == name]
        row = compliance(name, lv, [r.start for r in mine], [counted_under(r, lv) for r in mine], period, rules=rules)
        persons.append({"person": name, **row.to_dict()})

    grid_rows = []
    for g in grids:
        mine = [r for r in results if r.track.grid == g.id or (r.track.person in posts_by_grid[g.id])]
        row = compliance(g.id, g.level, [r.start for r in mine], [counted_under(r, g.level) for r in mine], period,
                         rules=rules)
        grid_rows.append({"grid_id": g.id, "grid": g.name, **row.to_dict()})

    reach_rows_out = []
    for rid, info in reaches.iterrows():
        mine = [r for r in results if rid in r.reaches]
        row = compliance(rid, info["level"], [r.start for r in mine], [counted_under(r, info["level"]) for r in mine],
                         period, rules=rules)
        reach_rows_out.append({"reach_id": rid, "code": info["code"], "reach": info["name"], **row.to_dict()})

    in_period = [r for r in results if r.start is not None and period.contains(r.start)
                 and not (set(r.flag_codes) & BLOCKING_FLAGS)]
    per_reach, stretches = period_coverage(in_period, reaches)
    coverage = []
    for rid, c in per_reach.iterrows():
        st = stretches[stretches["reach_id"] == rid]
        coverage.append({
            "reach_id": rid, "code": reaches.at[rid, "code"], "reach": reaches.at[rid, "name"],
            "length_m": round(float(c["length_m"]), 1), "covered_m": round(float(c["covered_m"]), 1),
            "uncovered_m": round(float(c["uncovered_m"]), 1), "share": round(float(c["share"]), 4),
            "never_patrolled": [{"from_m": round(float(s.from_m), 1), "to_m": round(float(s.to_m), 1),
                                 "length_m": round(float(s.length_m), 1), "stations": s.stations}
                                for s in st.itertuples()],
        })
    return PatrolReport(period=period, persons=persons, grids=grid_rows, reaches=reach_rows_out, coverage=coverage,
                        tracks=track_rows, rules=rules, warnings=warnings)
