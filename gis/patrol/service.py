"""Patrol tracks in the store: the period's report
(tracks analysed, compliance per person, grid and reach, river coverage, the object ledger; used by
``python -m gis patrol-report`` and the page 巡河管理).

Posts decide a person's level: 主要责任人, 监管人员 and 协管员 take their grid's level, a 乡级监管责任人
the township level; a person with several posts follows the most frequent rule. People with
tracks but no post are listed with nothing required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.auth import Scope
from gis.geometry.linref import format_range
from gis.model import GridLevel, GridRole
from gis.patrol.flags import FlagRules, PatrolResult
from gis.patrol.matching import MatchOptions, analyse_track, analyse_tracks, reaches_frame
from gis.patrol.object_ledger import object_ledger
from gis.patrol.rules import (
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
    stretch_lines,
)
from gis.patrol.tracks import track_from_record
from gis.store.schema import Grid, GridRoleAssignment, PatrolTrack, Reach, not_deleted
from gis.store.scope import persons_in_scope, scope_of
from gis.tiling import default_tile_m

__all__ = [
    "PatrolReport",
    "coverage_frame",
    "patrol_report",
    "store_reaches",
    "track_frame",
]

_GEOD = pyproj.Geod(ellps="WGS84")

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
    objects: list[dict[str, Any]] = field(default_factory=list)
    """The object ledger (:func:`gis.patrol.object_ledger.object_ledger`): every live supervised
    object with its responsible person, interval, last visit and whether it is overdue."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "rules": {k: r.to_dict() for k, r in self.rules.items()},
            "persons": self.persons,
            "grids": self.grids,
            "reaches": self.reaches,
            "coverage": self.coverage,
            "tracks": self.tracks,
            "warnings": self.warnings,
            "objects": self.objects,
        }

    def text(self) -> str:
        def rate(r: Any) -> str:
            return "不考核" if r is None else f"{r:.0%}"

        p = self.period
        lines = [f"巡河考核 {p.label}（{p.start.isoformat()} 至 {(p.end - timedelta(days=1)).isoformat()}，北京时间）"]
        lines.append("按人员：")
        lines += [
            f"  {x['person']}（{x['level'] or '无岗位'}）应巡 {x['required']} 次，达标 {x['done']} 次，"
            f"有效巡查 {x['counted']}/{x['patrols']}，完成率 {rate(x['rate'])}"
            for x in self.persons
        ]
        lines.append("按网格：")
        lines += [
            f"  {x['grid']}（{x['level']}）应巡 {x['required']} 次，达标 {x['done']} 次，完成率 {rate(x['rate'])}"
            for x in self.grids
        ]
        lines.append("河段巡查覆盖：")
        lines += [
            f"  {c['reach']}：{c['share']:.0%}（未巡 {c['uncovered_m'] / 1000:.2f} 公里"
            + (f"：{'，'.join(s['stations'] for s in c['never_patrolled'][:5])}" if c["never_patrolled"] else "")
            + "）"
            for c in self.coverage
        ]
        flagged = [t for t in self.tracks if t["flags"]]
        if flagged:
            lines.append("疑似问题轨迹：")
            lines += [
                f"  {t['name']}（{t['person'] or '-'}）：{'、'.join(f['label'] for f in t['flags'])}" for t in flagged
            ]
        if self.objects:
            late = [o for o in self.objects if o["overdue"]]
            lines.append(f"监管对象巡查：共 {len(self.objects)} 个，逾期未巡查 {len(late)} 个")
            lines += [
                f"  {o['name']}（责任人 {o['responsible'] or '未落实'}，{o['interval'] or '未定周期'}，"
                f"最近巡查 {(o['last_visit'] or '无')[:10]}）"
                for o in late
            ]
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
    ruled = {lv: rule for lv in levels if (rule := rule_for(lv, rules)) is not None}
    if not ruled:
        return None
    return min(ruled, key=lambda lv: (_FREQ_RANK.get(ruled[lv].frequency, 9), lv))


# ---------------------------------------------------------------------------------------------
# Reading the store
# ---------------------------------------------------------------------------------------------


def store_reaches(session: Session) -> gpd.GeoDataFrame:
    """The store's live reaches for matching (:func:`gis.patrol.matching.reaches_frame`): index = reach id,
    columns code, name, river_name, level, start_station_m; EPSG:4326."""
    rows = session.scalars(
        select(Reach).where(not_deleted(Reach)).options(selectinload(Reach.river)).order_by(Reach.id)
    ).all()
    return reaches_frame(
        gpd.GeoDataFrame(
            {
                "id": [r.id for r in rows],
                "code": [r.code or "" for r in rows],
                "name": [r.name for r in rows],
                "river_name": [r.river.name if r.river is not None else "" for r in rows],
                "level": [r.level for r in rows],
                "start_station_m": [r.start_station_m or 0.0 for r in rows],
            },
            geometry=[r.geom for r in rows],
            crs="EPSG:4326",
        )
    )


def patrol_report(
    session: Session,
    period: str | Period,
    *,
    rules: Mapping[str, PatrolRule] | None = None,
    options: MatchOptions | None = None,
    flag_rules: FlagRules | None = None,
    fix_offsets: bool = False,
    scope: Scope | None = None,
) -> PatrolReport:
    """Analyse the store's tracks for ``period`` and report compliance and coverage.

    Parameters
    ----------
    session : Session
        An open store session (read only).
    period : str or Period
        See :func:`gis.patrol.rules.parse_period` (``2026``, ``2026-Q4``, ``2026-11``, ``2026-11-上旬`` …).
    rules : mapping level → PatrolRule, optional
        Defaults :data:`gis.patrol.rules.DEFAULT_RULES`.
    fix_offsets : bool
        Re-analyse a track flagged ``probable_gcj02``/``probable_bd09`` with the suggested
        conversion (default False: the flag is reported and the track is matched as stored).
    scope : Scope, optional
        The grids whose tracks, persons and compliance are reported (default: what the
        session's actor may see, :func:`gis.store.scope.scope_of`); reaches are reported whole, with
        the coverage of those tracks.
    """
    scope = scope if scope is not None else scope_of(session)
    period = parse_period(period) if isinstance(period, str) else period
    rules = dict(rules or DEFAULT_RULES)
    options = options or MatchOptions()
    # Tracks from every slot owned by the period (a week may start in the month before).
    owned = [s for r in rules.values() for s in slots(r.frequency, period)] + [period]
    lo = min(s.start_utc for s in owned)
    hi = max(s.end_utc for s in owned)

    reaches = store_reaches(session)
    grids = session.scalars(
        select(Grid)
        .where(not_deleted(Grid))
        .options(selectinload(Grid.roles).selectinload(GridRoleAssignment.person))
        .order_by(Grid.id)
    ).all()
    grid_gdf = gpd.GeoDataFrame(
        {"id": [g.id for g in grids if g.geom is not None]},
        geometry=[g.geom for g in grids if g.geom is not None],
        crs="EPSG:4326",
    ).set_index("id")
    records = [
        r
        for r in session.scalars(
            select(PatrolTrack)
            .options(selectinload(PatrolTrack.person))
            .order_by(PatrolTrack.started_at, PatrolTrack.id)
        )
    ]
    if not scope.everything:  # an account bound to a grid: its grids, their people and their tracks
        staff = persons_in_scope(session, scope) or set()
        grids = [g for g in grids if scope.covers(g.id)]
        records = [r for r in records if scope.covers(r.grid_id) or r.person_id in staff]
    tracks = [track_from_record(r) for r in records]
    tracks = [
        t
        for t in tracks
        if len(t) and not np.isnat(t.times).all() and lo <= np.nanmin(t.times[~np.isnat(t.times)]) < hi
    ]
    results, warnings = analyse_tracks(
        tracks, reaches, options=options, grids=grid_gdf, flag_rules=flag_rules, tile_m=default_tile_m()
    )
    if fix_offsets:
        for k, res in enumerate(results):
            if res.offset_guess is not None:
                fixed = analyse_track(
                    res.track,
                    reaches,
                    from_crs=res.offset_guess["source"],
                    options=options,
                    grids=grid_gdf,
                    flag_rules=flag_rules,
                )
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
        track_rows.append(
            {
                "track_id": res.track.track_id,
                "name": res.track.name,
                "person": res.track.person,
                "grid": grid_name.get(res.track.grid),
                "start": d["start"],
                "start_local": d["start_local"],
                "duration_s": d["duration_s"],
                "length_m": d["length_m"],
                "river_length_m": d["river_length_m"],
                "counted": ok,
                "not_counted_because": why,
                "flags": d["flags"],
                "matched": d["matched"],
            }
        )

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
        row = compliance(
            g.id, g.level, [r.start for r in mine], [counted_under(r, g.level) for r in mine], period, rules=rules
        )
        grid_rows.append({"grid_id": g.id, "grid": g.name, **row.to_dict()})

    reach_rows_out = []
    for rid, info in reaches.iterrows():
        mine = [r for r in results if rid in r.reaches]
        row = compliance(
            rid,
            info["level"],
            [r.start for r in mine],
            [counted_under(r, info["level"]) for r in mine],
            period,
            rules=rules,
        )
        reach_rows_out.append({"reach_id": rid, "code": info["code"], "reach": info["name"], **row.to_dict()})

    in_period = [
        r
        for r in results
        if r.start is not None and period.contains(r.start) and not (set(r.flag_codes) & BLOCKING_FLAGS)
    ]
    per_reach, stretches = period_coverage(in_period, reaches)
    coverage = []
    for rid, c in per_reach.iterrows():
        st = stretches[stretches["reach_id"] == rid]
        coverage.append(
            {
                "reach_id": rid,
                "code": reaches.at[rid, "code"],
                "reach": reaches.at[rid, "name"],
                "length_m": round(float(c["length_m"]), 1),
                "covered_m": round(float(c["covered_m"]), 1),
                "uncovered_m": round(float(c["uncovered_m"]), 1),
                "share": round(float(c["share"]), 4),
                "never_patrolled": [
                    {
                        "from_m": round(float(a), 1),
                        "to_m": round(float(b), 1),
                        "length_m": round(float(length), 1),
                        "stations": stations,
                    }
                    for a, b, length, stations in zip(st["from_m"], st["to_m"], st["length_m"], st["stations"])
                ],
            }
        )
    return PatrolReport(
        period=period,
        persons=persons,
        grids=grid_rows,
        reaches=reach_rows_out,
        coverage=coverage,
        tracks=track_rows,
        rules=rules,
        warnings=warnings,
        objects=object_ledger(session, period, scope=scope),
    )


# ---------------------------------------------------------------------------------------------
# Map data of a report
# ---------------------------------------------------------------------------------------------


def coverage_frame(report: PatrolReport, reaches: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The reaches cut into patrolled and never-patrolled stretches for ``report``'s period.

    Columns: reach_id, reach (name), status (``patrolled`` or ``never``), from_m, to_m, length_m
    (metres from the reach start), stations (桩号 with the reach's start station), share (of the
    whole reach patrolled) and the stretch's line (EPSG:4326). ``reaches`` as from
    :func:`store_reaches`.
    """
    rows = []
    for c in report.coverage:
        rid = c["reach_id"]
        if rid not in reaches.index:
            continue
        pos = 0.0
        cuts = [(s["from_m"], s["to_m"]) for s in c["never_patrolled"]] + [(c["length_m"], c["length_m"])]
        for a, b in cuts:
            if a - pos > 0.05:
                rows.append((rid, c["reach"], "patrolled", pos, a))
            if b - a > 0.05:
                rows.append((rid, c["reach"], "never", a, b))
            pos = max(pos, b)
    frame = pd.DataFrame(rows, columns=["reach_id", "reach", "status", "from_m", "to_m"])
    frame["length_m"] = frame["to_m"] - frame["from_m"]
    starts = (
        frame["reach_id"].map(reaches["start_station_m"]).fillna(0.0)
        if len(frame) and "start_station_m" in reaches.columns
        else pd.Series(0.0, index=frame.index)
    )
    frame["stations"] = [format_range(a + o, b + o) for a, b, o in zip(frame["from_m"], frame["to_m"], starts)]
    share = {c["reach_id"]: c["share"] for c in report.coverage}
    frame["share"] = frame["reach_id"].map(share)
    geoms = (
        stretch_lines(reaches, list(frame["reach_id"]), frame["from_m"].to_numpy(), frame["to_m"].to_numpy())
        if len(frame)
        else gpd.GeoSeries([], crs=reaches.crs)
    )
    out = gpd.GeoDataFrame(frame, geometry=geoms.to_numpy(), crs=reaches.crs)
    return out[out.geometry.notna()].reset_index(drop=True)


def track_frame(session: Session, ids: list[int]) -> gpd.GeoDataFrame:
    """Stored tracks ``ids`` for the map and playback: id, name, person_name, grid_name,
    started_at, ended_at (UTC), length_m (geodesic, metres), times (ISO UTC per vertex), line."""
    if not ids:
        return gpd.GeoDataFrame(
            {c: [] for c in ("id", "name", "person_name", "grid_name", "started_at", "ended_at", "length_m", "times")},
            geometry=[],
            crs="EPSG:4326",
        )
    rows = session.scalars(
        select(PatrolTrack)
        .where(PatrolTrack.id.in_(ids))
        .options(selectinload(PatrolTrack.person), selectinload(PatrolTrack.grid))
        .order_by(PatrolTrack.started_at, PatrolTrack.id)
    ).all()
    geoms = [r.geom for r in rows]
    return gpd.GeoDataFrame(
        {
            "id": [r.id for r in rows],
            "name": [r.name for r in rows],
            "person_name": [r.person.name if r.person else "" for r in rows],
            "grid_name": [r.grid.name if r.grid else "" for r in rows],
            "started_at": [r.started_at for r in rows],
            "ended_at": [r.ended_at for r in rows],
            "length_m": [float(_GEOD.geometry_length(g)) for g in geoms],
            "times": [list(r.times or []) for r in rows],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
