"""Patrol tracks into the store: one path for an uploaded file and for a phone's fixes.

Import (:func:`check_track_file`, then :func:`import_track_file`): GPX, KML/KMZ or CSV points are
read with :func:`gis.patrol.tracks.read_tracks` (limits of :mod:`gis.limits`, non-finite points refused),
optionally converted from GCJ-02/BD-09, cleaned and checked; every track of the file must be
usable and lie within ``RIVERGRID_MAX_DISTANCE_KM`` of the top-level grid (unless ``allow_far``,
see :mod:`gis.grids.jurisdiction`) or nothing is written. Each track becomes one
``PatrolTrack`` row (the cleaned points and their UTC times) attached to a person and a grid,
carrying the original file (``source_name``/``source_data``). A probable GCJ-02/BD-09 offset
(the track runs systematically beside the rivers) is reported so the user can re-import with
the conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gis.errors import NotFoundError, ValidationError
from gis.grids.jurisdiction import check_near
from gis.model import LOCAL_TZ, GridLevel
from gis.patrol.flags import FlagRules, PatrolResult
from gis.patrol.matching import MatchOptions, analyse_tracks, merge_intervals
from gis.patrol.service import store_reaches
from gis.patrol.tracks import DROP_REASONS, Track, clean_track, local_text, read_tracks
from gis.store.schema import Grid, GridRoleAssignment, PatrolTrack, Person, not_deleted
from gis.tiling import default_tile_m

__all__ = [
    "MAX_BACKWARD_SHARE",
    "TrackFileCheck",
    "TrackImport",
    "check_track_file",
    "check_tracks",
    "import_track_file",
    "import_tracks",
]

_GEOD = pyproj.Geod(ellps="WGS84")

MAX_BACKWARD_SHARE = 0.05
"""A track whose times go backwards at more than this share of its timed points is refused on
import (a file stitched from several recordings, or a clock reset); below it the few backward
points are dropped like GPS glitches and reported."""


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
            tracks,
            reaches,
            options=options,
            grids=_store_grids(session),
            flag_rules=flag_rules,
            skip_unusable=False,
            tile_m=default_tile_m(),
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
