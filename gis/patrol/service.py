"""Patrol tracks in the store: import of a track file (all or nothing), and the period's report
(tracks analysed, compliance per person, grid and reach, river coverage, the object ledger; used by
``python -m gis patrol-report`` and the page 巡河管理).

Import (:func:`check_track_file`, then :func:`import_track_file`): GPX, KML/KMZ or CSV points are
read with :func:`gis.patrol.tracks.read_tracks` (limits of :mod:`gis.limits`, non-finite points refused),
optionally converted from GCJ-02/BD-09, cleaned and checked; every track of the file must be
usable and lie within ``RIVERGRID_MAX_DISTANCE_KM`` of the top-level grid (unless ``allow_far``,
see :mod:`gis.grids.jurisdiction`) or nothing is written. Each track becomes one
``PatrolTrack`` row (the cleaned points and their UTC times) attached to a person and a grid,
carrying the original file (``source_name``/``source_data``). A probable GCJ-02/BD-09 offset
(the track runs systematically beside the rivers) is reported so the user can re-import with
the conversion.

Posts decide a person's level: 主要责任人, 监管人员 and 协管员 take their grid's level, a 乡级监管责任人
the township level; a person with several posts follows the most frequent rule. People with
tracks but no post are listed with nothing required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.auth import Scope
from gis.errors import NotFoundError, ValidationError
from gis.geometry.linref import format_range
from gis.grids.jurisdiction import check_near
from gis.model import LOCAL_TZ, GridLevel, GridRole
from gis.patrol.flags import FlagRules, PatrolResult
from gis.patrol.matching import MatchOptions, analyse_track, analyse_tracks, merge_intervals, reaches_frame
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
from gis.patrol.tracks import DROP_REASONS, Track, clean_track, local_text, read_tracks, track_from_record
from gis.store.schema import Grid, GridRoleAssignment, PatrolTrack, Person, Reach, not_deleted
from gis.store.scope import persons_in_scope, scope_of

__all__ = [
    "MAX_BACKWARD_SHARE",
    "PatrolReport",
    "TrackFileCheck",
    "check_track_file",
    "check_tracks",
    "coverage_frame",
    "import_track_file",
    "import_tracks",
    "patrol_report",
    "store_reaches",
    "track_frame",
]

_GEOD = pyproj.Geod(ellps="WGS84")

MAX_BACKWARD_SHARE = 0.05
"""A track whose times go backwards at more than this share of its timed points is refused on
import (a file stitched from several recordings, or a clock reset); below it the few backward
points are dropped like GPS glitches and reported."""

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


def _store_grids(session: Session) -> gpd.GeoDataFrame:
    grids = session.scalars(select(Grid).where(not_deleted(Grid), Grid.geom.is_not(None)).order_by(Grid.id)).all()
    return gpd.GeoDataFrame({"id": [g.id for g in grids]}, geometry=[g.geom for g in grids], crs="EPSG:4326").set_index(
        "id"
    )


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


@dataclass
class TrackFileCheck:
    """What :func:`check_track_file` found in a file, before anything is written.

    ``results`` has one analysed track per track of the file (after cleaning and, when reaches
    exist, matching); ``offset_guess`` the probable GCJ-02/BD-09 offset of the file (see
    :func:`gis.patrol.matching.detect_offset`; ``None`` when the tracks lie on the rivers or no reach is
    known); ``warnings`` Chinese notes (points dropped, offset suspected).
    """

    source_name: str
    from_crs: str | None
    results: list[PatrolResult]
    offset_guess: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def suggested_from_crs(self) -> str | None:
        """``gcj02``/``bd09`` when the file looks offset and was read without conversion."""
        return self.offset_guess["source"] if self.offset_guess and self.from_crs is None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_name": self.source_name,
            "from_crs": self.from_crs,
            "offset_guess": self.offset_guess,
            "suggested_from_crs": self.suggested_from_crs,
            "warnings": self.warnings,
            "tracks": [r.to_dict() for r in self.results],
        }


@dataclass
class TrackImport:
    """What :func:`import_track_file` wrote: the new ``PatrolTrack`` ids and the check behind them."""

    ids: list[int]
    check: TrackFileCheck
    person: str
    grid: str | None
    batch: str = ""

    @property
    def warnings(self) -> list[str]:
        return self.check.warnings

    def to_dict(self) -> dict[str, Any]:
        return {"ids": self.ids, "person": self.person, "grid": self.grid, "batch": self.batch, **self.check.to_dict()}


def _track_label(track: Track, k: int, n: int) -> str:
    name = track.name or track.source_name
    return f"轨迹“{name}”" if n == 1 else f"第 {k + 1} 条轨迹“{name}”"


def _usable(track: Track, label: str, options: MatchOptions) -> None:
    """Raise a Chinese :class:`ValidationError` when ``track`` cannot be stored as a patrol."""
    if len(track) < 2:
        raise ValidationError(
            f"{label}只有 {len(track)} 个点，至少需要 2 个带时间的点才能作为巡河轨迹",
            f"track has {len(track)} point(s)",
        )
    _, report = clean_track(track, max_speed_kmh=options.max_speed_kmh, noise_m=options.noise_m)
    d = report.dropped
    if d["bad_coords"] == len(track):
        raise ValidationError(
            f"{label}的坐标全部无效（0,0 或缺失），可能是定位失败时记录的点", "all coordinates are (0, 0) or missing"
        )
    timed = len(track) - d["bad_coords"] - d["no_time"]
    if timed < 2:
        raise ValidationError(
            f"{label}没有逐点时间（{len(track)} 个点中只有 {timed} 个带有效时间），无法判断巡查时段和速度",
            f"only {timed} timed points",
        )
    if d["time_backwards"] > MAX_BACKWARD_SHARE * timed:
        t = track.times
        ok = ~np.isnat(t)
        ti = t[ok]
        k = int(np.flatnonzero(ti[1:] < np.maximum.accumulate(ti)[:-1])[0]) + 1
        raise ValidationError(
            f"{label}的时间倒退：{d['time_backwards']} 个点（共 {timed} 个带时间的点）早于之前的点，"
            f"首次在第 {int(np.flatnonzero(ok)[k]) + 1} 个点（{local_text(ti[k])}，前一点 {local_text(ti[k - 1])}）。"
            "可能是多次记录拼接或设备时钟被重置，请分开上传或检查设备时间",
            f"{d['time_backwards']} of {timed} points go back in time",
        )
    if report.points_kept < 2:
        why = "，".join(f"{DROP_REASONS[k]} {v} 个" for k, v in d.items() if v)
        raise ValidationError(
            f"{label}清洗后可用的点少于 2 个（共 {report.points_in} 个；{why}）", f"fewer than 2 usable points ({d})"
        )


def check_track_file(
    session: Session,
    path: str | Path,
    *,
    from_crs: str | None = None,
    options: MatchOptions | None = None,
    flag_rules: FlagRules | None = None,
    allow_far: bool = False,
) -> TrackFileCheck:
    """Read, clean and check every track of ``path``; match them to the store's reaches.

    Writes nothing. Raises the first problem as a Chinese error, so that :func:`import_track_file`
    stores all tracks of a file or none.

    Parameters
    ----------
    session : Session
        An open store session (read only here).
    path : str or path-like
        GPX, KML/KMZ or CSV (see :func:`gis.patrol.tracks.read_tracks`).
    from_crs : {"gcj02", "bd09"}, optional
        Convert from that offset before anything else.
    options : MatchOptions, optional
        Corridor (default 50 m) and speed limits of cleaning and matching.
    allow_far : bool
        Accept tracks farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid (the
        user confirmed them).

    Raises
    ------
    FileFormatError
        Unreadable file or no track in it (GPX without ``<trk>``, KML with only polygons).
    LimitError
        File too large, unsafe XML, archive or point limits (:mod:`gis.limits`).
    GeometryError
        A point without finite coordinates.
    ValidationError
        A track with fewer than two usable points, no times, coordinates all at (0, 0), or times
        going backwards (more than :data:`MAX_BACKWARD_SHARE` of its points).
    TooFarError
        A track lies entirely farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid.
    """
    p = Path(path)
    tracks = read_tracks(p, from_crs=from_crs)
    return check_tracks(
        session,
        tracks,
        source_name=p.name,
        from_crs=from_crs,
        options=options,
        flag_rules=flag_rules,
        allow_far=allow_far,
    )


def check_tracks(
    session: Session,
    tracks: list[Track],
    *,
    source_name: str,
    from_crs: str | None = None,
    options: MatchOptions | None = None,
    flag_rules: FlagRules | None = None,
    allow_far: bool = False,
) -> TrackFileCheck:
    """Clean and check ``tracks`` (read from a file, or recorded by the field app) and match them
    to the store's reaches: the checks of :func:`check_track_file` after reading. Writes nothing.

    ``source_name`` names where the tracks came from (a file name); ``from_crs`` records the
    conversion already applied to them (they are not converted here).
    """
    options = options or MatchOptions()
    labels = [_track_label(t, k, len(tracks)) for k, t in enumerate(tracks)]
    for t, label in zip(tracks, labels, strict=True):
        _usable(t, label, options)
    check_near(
        session,
        [shapely.multipoints(np.column_stack([t.lon, t.lat])) for t in tracks],
        labels=labels,
        allow_far=allow_far,
    )
    reaches = store_reaches(session)
    warnings: list[str] = []
    results: list[PatrolResult] = []
    if len(reaches):
        results, _ = analyse_tracks(
            tracks, reaches, options=options, grids=_store_grids(session), flag_rules=flag_rules, skip_unusable=False
        )
    else:
        warnings.append("数据库中还没有河段，轨迹未与河道匹配（沿河里程为 0）")
        empty = gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
        results = [_unmatched(t, options, empty) for t in tracks]
    guesses = [r.offset_guess for r in results if r.offset_guess is not None]
    offset = None
    if from_crs is None and guesses and len(guesses) * 2 > len(results):
        offset = max(guesses, key=lambda g: g["median_m_before"])
        warnings.append(
            f"轨迹整体偏离河道约 {offset['median_m_before']:.0f} 米，按 {offset['source'].upper()} "
            f"纠偏后仅 {offset['median_m_after']:.0f} 米：很可能是从高德/腾讯（GCJ-02）或百度（BD-09）"
            "地图导出的坐标，建议纠偏后导入"
        )
    for k, r in enumerate(results):
        if sum(r.clean.dropped.values()):
            warnings.append(f"{_track_label(r.track, k, len(results))}：{r.clean.text()}")
    return TrackFileCheck(
        source_name=source_name, from_crs=from_crs, results=results, offset_guess=offset, warnings=warnings
    )


def _unmatched(track: Track, options: MatchOptions, empty: gpd.GeoDataFrame) -> PatrolResult:
    """A track analysed without reaches (nothing to match to): cleaning and figures only."""
    kept, report = clean_track(track, max_speed_kmh=options.max_speed_kmh, noise_m=options.noise_m)
    _, _, d = _GEOD.inv(kept.lon[:-1], kept.lat[:-1], kept.lon[1:], kept.lat[1:])
    secs = (kept.times[-1] - kept.times[0]) / np.timedelta64(1, "s")
    return PatrolResult(
        track=kept,
        clean=report,
        length_m=float(np.sum(d)),
        duration_s=float(secs),
        start=kept.times[0],
        end=kept.times[-1],
        matched=merge_intervals(np.zeros(0, dtype=object), np.zeros(0), np.zeros(0)),
        river_length_m=0.0,
        river_duration_s=0.0,
        reaches=[],
        grids=[],
        near_share=0.0,
    )


def _find_person(session: Session, person: str | int) -> Person:
    if isinstance(person, int) or (isinstance(person, str) and person.strip().isdigit()):
        found = session.get(Person, int(person))
    else:
        found = session.scalar(select(Person).where(Person.name == str(person).strip()).order_by(Person.id).limit(1))
    if found is None:
        raise NotFoundError(f"找不到人员“{person}”，请先在人员名单中添加", f"no person {person!r}")
    return found


def _find_grid(session: Session, grid: str | int) -> Grid:
    if isinstance(grid, int) or (isinstance(grid, str) and grid.strip().isdigit()):
        found = session.get(Grid, int(grid))
        found = found if found is not None and found.deleted_at is None else None
    else:
        found = session.scalar(
            select(Grid).where(Grid.name == str(grid).strip(), not_deleted(Grid)).order_by(Grid.id).limit(1)
        )
    if found is None:
        raise NotFoundError(f"找不到网格“{grid}”", f"no grid {grid!r}")
    return found


def _post_grid(session: Session, person: Person, on: Any) -> Grid | None:
    """The grid of the person's current post, village posts first (None without a post)."""
    posts = session.scalars(
        select(GridRoleAssignment)
        .where(GridRoleAssignment.person_id == person.id)
        .options(selectinload(GridRoleAssignment.grid))
    ).all()
    live = [
        a
        for a in posts
        if a.grid is not None
        and a.grid.deleted_at is None
        and (a.valid_from is None or a.valid_from <= on)
        and (a.valid_to is None or a.valid_to >= on)
    ]
    order = {GridLevel.VILLAGE.value: 0, GridLevel.TOWNSHIP.value: 1, GridLevel.COUNTY.value: 2}
    live.sort(key=lambda a: (order.get(a.grid.level, 9), a.sort, a.id))
    return live[0].grid if live else None


def import_track_file(
    session: Session,
    path: str | Path,
    *,
    person: str | int,
    grid: str | int | None = None,
    from_crs: str | None = None,
    options: MatchOptions | None = None,
    flag_rules: FlagRules | None = None,
    allow_far: bool = False,
) -> TrackImport:
    """Store every track of ``path`` as a patrol of ``person`` in ``grid``, all or nothing.

    Parameters
    ----------
    session : Session
        An open store session whose actor holds ``patrol.write``.
    path : str or path-like
        GPX, KML/KMZ or CSV file; its bytes are kept with each track (``source_data``).
    person : str or int
        Name or id of the patroller.
    grid : str or int, optional
        Name or id of the grid patrolled; default the grid of the person's current post
        (village first), else none.
    from_crs : {"gcj02", "bd09"}, optional
        Convert from that offset (see :attr:`TrackFileCheck.suggested_from_crs`).
    allow_far : bool
        Store tracks farther than ``RIVERGRID_MAX_DISTANCE_KM`` from the top-level grid too.

    Returns
    -------
    TrackImport
        The ids written and the check (figures, flags, warnings, offset guess).

    Raises
    ------
    FileFormatError, ValidationError, NotFoundError
        See :func:`check_track_file`; unknown person or grid; a track of the person with the same
        start and end is already stored (the file was imported before). Nothing is written then.
    """
    p = Path(path)
    who = _find_person(session, person)
    tracks = read_tracks(p, from_crs=from_crs)
    return import_tracks(
        session,
        tracks,
        person=who.id,
        grid=grid,
        source_name=p.name,
        source_data=p.read_bytes(),  # within RIVERGRID_MAX_FILE_MB: read_tracks checked the size
        default_name=p.stem,
        from_crs=from_crs,
        options=options,
        flag_rules=flag_rules,
        allow_far=allow_far,
    )


def import_tracks(
    session: Session,
    tracks: list[Track],
    *,
    person: str | int,
    grid: str | int | None = None,
    source_name: str,
    source_data: bytes | None,
    default_name: str = "",
    from_crs: str | None = None,
    options: MatchOptions | None = None,
    flag_rules: FlagRules | None = None,
    allow_far: bool = False,
) -> TrackImport:
    """Store ``tracks`` as patrols of ``person`` in ``grid``, all or nothing: the one path of every
    patrol into the store (an uploaded file through :func:`import_track_file`, the fixes of the
    field app through :mod:`gis.field`). The same cleaning, checks, matching and flags as
    :func:`check_tracks`; ``source_name``/``source_data`` are kept with each track (the file,
    or the fixes as sent); ``default_name`` names a track that has no name of its own.

    Raises as :func:`import_track_file`.
    """
    who = _find_person(session, person)
    check = check_tracks(
        session,
        tracks,
        source_name=source_name,
        from_crs=from_crs,
        options=options,
        flag_rules=flag_rules,
        allow_far=allow_far,
    )
    start = min(r.start for r in check.results if r.start is not None)  # every track has times (_usable)
    where = (
        _find_grid(session, grid)
        if grid not in (None, "")
        else _post_grid(session, who, pd.Timestamp(start).tz_localize("UTC").tz_convert(LOCAL_TZ).date())
    )
    ids: list[int] = []
    for k, r in enumerate(check.results):
        t = r.track
        started = pd.Timestamp(t.times[0]).tz_localize("UTC").to_pydatetime()
        ended = pd.Timestamp(t.times[-1]).tz_localize("UTC").to_pydatetime()
        if (
            session.scalar(
                select(PatrolTrack.id)
                .where(
                    PatrolTrack.person_id == who.id, PatrolTrack.started_at == started, PatrolTrack.ended_at == ended
                )
                .limit(1)
            )
            is not None
        ):
            raise ValidationError(
                f"{_track_label(t, k, len(check.results))}（{who.name}，{local_text(t.times[0])} 开始）"
                "已经导入过，未重复导入",
                "track already imported",
            )
        row = PatrolTrack(
            name=(t.name or default_name or source_name)[:200],
            person=who,
            grid_id=where.id if where is not None else None,
            started_at=started,
            ended_at=ended,
            geom=shapely.LineString(np.column_stack([t.lon, t.lat])),
            times=[pd.Timestamp(x).tz_localize("UTC").isoformat() for x in t.times],
            source_name=source_name[:255],
            source_data=source_data,
        )
        session.add(row)
        session.flush()
        ids.append(row.id)
        t.track_id, t.person, t.grid = row.id, who.name, row.grid_id
    return TrackImport(
        ids=ids,
        check=check,
        person=who.name,
        grid=where.name if where is not None else None,
        batch=session.info.get("batch", ""),
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
    results, warnings = analyse_tracks(tracks, reaches, options=options, grids=grid_gdf, flag_rules=flag_rules)
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
