"""Patrol tracks (巡河轨迹): reading and cleaning.

A track is a sequence of GPS points with UTC timestamps. Matching them to reaches is
:mod:`gis.patrol.matching`; the results and the fake-patrol flags are :mod:`gis.patrol.flags`.

1. :func:`read_tracks` reads GPX (via :mod:`gis.io.files`), KML/KMZ (``gx:Track`` pairs of
   ``<when>``/``<gx:coord>``, or time-stamped point placemarks) and CSV of points (columns
   lon/lat/time, also 经度/纬度/时间; read by :func:`gis.io.files.read_csv_rows`, the one CSV
   reader: UTF-8, else GB18030). ``from_crs="gcj02"|"bd09"`` converts offset coordinates.
   The limits of :mod:`gis.limits` apply (file size; KMZ judged from its zip directory and read
   bounded; XML streamed through ``defusedxml``; CSV in chunks; points counted while reading),
   and a point whose coordinates are not finite numbers refuses the file, naming the point.
2. :func:`clean_track` drops points with bad coordinates ((0, 0), NaN), without a time (or at
   the epoch), with a time going backwards, duplicates (same time), and impossible jumps
   (a point reached above ``max_speed_kmh`` that the track then leaves again); counts per reason.

Angles are WGS84 decimal degrees; distances are metres; times are UTC (``numpy.datetime64[ns]``),
shown in Beijing time (:data:`gis.model.LOCAL_TZ`) by the text helpers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike

from gis import limits
from gis.errors import CRSError, FileFormatError, GeometryError, ValidationError
from gis.geometry.crs import FloatArray, bd09_to_wgs84, gcj02_to_wgs84, metric_crs_for, transformer
from gis.io.files import read_csv_rows, read_gpx_tracks
from gis.model import LOCAL_TZ

__all__ = [
    "DROP_REASONS",
    "CleanReport",
    "Track",
    "clean_track",
    "geodesic_m",
    "iso_utc",
    "local_text",
    "path_length_m",
    "position_at",
    "read_tracks",
    "track_from_record",
]

_MIN_VALID_TIME = np.datetime64("2000-01-01T00:00:00", "ns")
"""Times before this are treated as missing (0 / epoch / GPS week roll-over garbage)."""
_GEOD = pyproj.Geod(ellps="WGS84")

DROP_REASONS = {
    "bad_coords": "坐标无效（0,0 或缺失）",
    "no_time": "无时间或时间为 0",
    "time_backwards": "时间倒退",
    "duplicate": "重复点（同一时刻）",
    "jump": "速度不可能的跳点",
}
"""Reason code → Chinese label of :attr:`CleanReport.dropped`."""


# ---------------------------------------------------------------------------------------------
# Tracks
# ---------------------------------------------------------------------------------------------


@dataclass
class Track:
    """A GPS track: lon/lat (WGS84 decimal degrees) and UTC times per point.

    ``times`` is ``datetime64[ns]`` (UTC, naive numpy values) with ``NaT`` where a point has no
    time. ``person``/``grid`` are names or ids when known; ``track_id`` the store id.
    """

    lon: np.ndarray
    lat: np.ndarray
    times: np.ndarray
    name: str | None = None
    source_name: str = ""
    person: Any = None
    grid: Any = None
    track_id: int | None = None

    def __post_init__(self) -> None:
        self.lon = np.asarray(self.lon, dtype=np.float64)
        self.lat = np.asarray(self.lat, dtype=np.float64)
        self.times = _as_utc_ns(self.times)
        if not (len(self.lon) == len(self.lat) == len(self.times)):
            raise ValidationError(
                "轨迹的经度、纬度和时间个数不一致",
                f"lon/lat/times lengths differ: {len(self.lon)}, {len(self.lat)}, {len(self.times)}",
            )

    def __len__(self) -> int:
        return len(self.lon)

    def subset(self, mask: np.ndarray) -> Track:
        """A copy with only the points where ``mask`` is true (or at the given positions)."""
        return replace(self, lon=self.lon[mask], lat=self.lat[mask], times=self.times[mask])

    def converted(self, from_crs: str | None) -> Track:
        """A copy converted from GCJ-02 (``"gcj02"``) or BD-09 (``"bd09"``) to WGS84."""
        if from_crs is None:
            return self
        lon, lat = _offset_inverse(from_crs)(self.lon, self.lat)
        return replace(self, lon=np.asarray(lon), lat=np.asarray(lat))


def _floats(values: Sequence[float]) -> FloatArray:
    """Coordinates as the float64 array a :class:`Track` holds."""
    return np.asarray(values, dtype=np.float64)


def _as_utc_ns(values: Any) -> np.ndarray:
    """Anything time-like → naive ``datetime64[ns]`` in UTC (NaT for missing)."""
    if isinstance(values, np.ndarray) and values.dtype == "datetime64[ns]":
        return values
    idx = pd.to_datetime(
        pd.Series(list(values) if not isinstance(values, np.ndarray) else values, dtype=object),
        utc=True,
        errors="coerce",
        format="mixed",
    )
    return idx.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _offset_inverse(source: str) -> Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]]:
    key = str(source).strip().lower().replace("-", "").replace("_", "")
    if key == "gcj02":
        return gcj02_to_wgs84
    if key == "bd09":
        return bd09_to_wgs84
    raise CRSError(
        f"未知的坐标偏移类型“{source}”，可选：gcj02（高德/腾讯）、bd09（百度）",
        f"unknown offset {source!r}; expected gcj02 or bd09",
    )


def iso_utc(t: np.datetime64 | None) -> str | None:
    """``2026-11-04T05:50:12Z`` for a UTC ``datetime64`` (``None`` for NaT/None)."""
    if t is None or np.isnat(t):
        return None
    return pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_text(t: np.datetime64 | None) -> str:
    """``2026-11-04 13:50:12`` in Asia/Shanghai for a UTC ``datetime64``."""
    if t is None or np.isnat(t):
        return "-"
    return pd.Timestamp(t).tz_localize("UTC").tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


_CSV_LON = ("lon", "lng", "longitude", "经度", "x")
_CSV_LAT = ("lat", "latitude", "纬度", "y")
_CSV_TIME = ("time", "timestamp", "datetime", "date_time", "时间", "定位时间", "采集时间", "日期时间")


def read_tracks(path: str | Path, *, from_crs: str | None = None, csv_tz: tzinfo | str = LOCAL_TZ) -> list[Track]:
    """Read the patrol tracks of a GPX, KML/KMZ or CSV file.

    Parameters
    ----------
    path : str or path-like
        ``.gpx`` (every ``<trk>``, segments joined), ``.kml``/``.kmz`` (each ``gx:Track`` of a
        placemark; or all time-stamped point placemarks as one track) or ``.csv`` of points with
        longitude, latitude and time columns (``lon``/``lat``/``time`` or ``经度``/``纬度``/``时间``),
        read by :func:`gis.io.files.read_csv_rows` (UTF-8, else GB18030) like every CSV.
    from_crs : {"gcj02", "bd09"}, optional
        The coordinates carry that offset (Amap/Tencent, Baidu): convert them to WGS84.
    csv_tz : tzinfo or str
        Zone of CSV times written without one (default Asia/Shanghai, as Chinese apps export);
        numbers are Unix seconds (or milliseconds above 1e11), UTC.

    Returns
    -------
    list of Track
        In file order; times UTC, ``NaT`` where missing.

    Raises
    ------
    FileFormatError
        Missing/empty/unsupported file, or no track (e.g. a KML with only polygons).
    LimitError
        A limit of :mod:`gis.limits`: file size, KMZ archive, XML entities, too many points.
    GeometryError
        A point whose longitude or latitude is missing or not a finite number (the message
        names the track and the point); such points are never dropped silently.
    """
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        raise FileFormatError(f"找不到文件或文件为空：“{p.name}”", f"missing or empty file {p}")
    limits.check_file_size(p)
    suffix = p.suffix.lower()
    if suffix == ".gpx":
        tracks = [
            Track(
                lon=_floats([c[0] for c in t.coords]),
                lat=_floats([c[1] for c in t.coords]),
                times=_as_utc_ns([x if x is not None else None for x in t.times]),
                name=t.name,
                source_name=p.name,
            )
            for t in read_gpx_tracks(p)
        ]
    elif suffix in (".kml", ".kmz"):
        tracks = _read_kml_tracks(p)
    elif suffix == ".csv":
        tracks = [_read_csv_track(p, csv_tz)]
    else:
        raise FileFormatError(f"巡河轨迹支持 GPX、KML/KMZ、CSV 文件，收到“{p.name}”", f"unsupported track file {p}")
    if not tracks:
        raise FileFormatError(f"文件“{p.name}”中没有轨迹", f"no track in {p}")
    for k, t in enumerate(tracks):
        _require_finite(t, k, len(tracks), p)
        if np.any((np.abs(t.lon) > 180) | (np.abs(t.lat) > 90)):
            raise FileFormatError(
                f"文件“{p.name}”的坐标不是经纬度（超出 ±180°/±90°）", f"coordinates out of range in {p}"
            )
    return [t.converted(from_crs) for t in tracks]


def _require_finite(track: Track, k: int, n: int, p: Path) -> None:
    """Refuse a track with a point whose coordinates are not finite numbers, naming the point."""
    bad = np.flatnonzero(~(np.isfinite(track.lon) & np.isfinite(track.lat)))
    if not len(bad):
        return
    i = int(bad[0])
    which = f"轨迹“{track.name or p.name}”" if n == 1 else f"第 {k + 1} 条轨迹“{track.name or p.name}”"
    more = f"；共 {len(bad)} 个点无效" if len(bad) > 1 else ""
    raise GeometryError(
        f"文件“{p.name}”中{which}的第 {i + 1} 个点坐标无效（经度 {track.lon[i]}，纬度 {track.lat[i]}），不能导入"
        f"{more}。"
        ""
        "请修正文件后重试",
        f"non-finite coordinates at point {i + 1} of track {k + 1} in {p.name} ({len(bad)} point(s))",
    )


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _kml_source(p: Path, stack: ExitStack) -> Path | Any:
    """What to stream: the KML file, or the main KML of a KMZ (archive checked, member bounded)."""
    if p.suffix.lower() != ".kmz":
        return p
    zf, infos = stack.enter_context(limits.open_archive(p))
    kmls = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(".kml")]
    if not kmls:
        raise FileFormatError(f"KMZ 文件“{p.name}”中没有 KML", f"no .kml in {p}")
    main = next((i for i in kmls if i.filename == "doc.kml"), kmls[0])
    return stack.enter_context(limits.open_member(zf, main, p.name))


@dataclass
class _Placemark:
    """What a KML placemark holds, gathered while streaming."""

    name: str | None = None
    tracks: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    point: list[str] | None = None
    when: str | None = None
    line: bool = False


def _read_kml_tracks(p: Path) -> list[Track]:
    tracks: list[Track] = []
    stamped: list[tuple[float, float, str]] = []
    lines_without_time = 0
    counter = limits.PointCounter(p.name)
    pm = _Placemark()
    whens: list[str] = []
    coords: list[list[str]] = []
    with ExitStack() as stack:
        for elem, tags in limits.iter_xml(_kml_source(p, stack), p.name):
            tag = tags[-1]
            parent = tags[-2] if len(tags) > 1 else ""
            if "Placemark" not in tags:
                continue
            if tag == "when":
                if parent == "Track":
                    whens.append(elem.text or "")
                elif pm.when is None:
                    pm.when = (elem.text or "").strip()
            elif tag == "coord" and parent == "Track":
                counter.add()
                coords.append((elem.text or "").split())
            elif tag == "Track":
                pm.tracks.append((whens, coords))
                whens, coords = [], []
            elif tag == "coordinates":
                parts = (elem.text or "").split()
                counter.add(len(parts))
                if "Point" in tags and pm.point is None:
                    pm.point = (elem.text or "").strip().split(",")
            elif tag == "LineString":
                pm.line = True
            elif tag == "name" and parent == "Placemark":
                pm.name = (elem.text or "").strip() or None
            elif tag == "Placemark":
                for track_whens, track_coords in pm.tracks:
                    if len(track_whens) != len(track_coords):
                        raise FileFormatError(
                            f"KML 轨迹“{pm.name or ''}”的时间（when）与坐标（gx:coord）个数不一致",
                            f"gx:Track has {len(track_whens)} when and {len(track_coords)} coord",
                        )
                    lon = [_number(c[0]) if len(c) >= 2 else math.nan for c in track_coords]
                    lat = [_number(c[1]) if len(c) >= 2 else math.nan for c in track_coords]
                    tracks.append(
                        Track(
                            lon=_floats(lon),
                            lat=_floats(lat),
                            times=_as_utc_ns([w.strip() or None for w in track_whens]),
                            name=pm.name,
                            source_name=p.name,
                        )
                    )
                if not pm.tracks:
                    if pm.point is not None and pm.when is not None:
                        if len(pm.point) >= 2:
                            stamped.append((_number(pm.point[0]), _number(pm.point[1]), pm.when))
                    elif pm.line:
                        lines_without_time += 1
                pm = _Placemark()
    if stamped:
        tracks.append(
            Track(
                lon=_floats([s[0] for s in stamped]),
                lat=_floats([s[1] for s in stamped]),
                times=_as_utc_ns([s[2] or None for s in stamped]),
                name=p.stem,
                source_name=p.name,
            )
        )
    if not tracks:
        if lines_without_time:
            raise FileFormatError(
                f"KML 文件“{p.name}”中的线没有逐点时间，无法作为巡河轨迹（需要 gx:Track 或带时间的点）",
                f"KML {p} has LineStrings without times",
            )
        raise FileFormatError(
            f"KML 文件“{p.name}”中没有轨迹（gx:Track 或带时间的点），可能只有面或线",
            f"no gx:Track or time-stamped points in {p}",
        )
    return tracks


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _read_csv_track(p: Path, csv_tz: tzinfo | str) -> Track:
    header: list[str] = []
    wanted = {n.lower() for n in (*_CSV_LON, *_CSV_LAT, *_CSV_TIME)}

    def candidate(column: str) -> bool:  # pandas asks about every column (some more than once)
        header.append(str(column))
        return str(column).strip().lower() in wanted

    df, _warns = read_csv_rows(p, usecols=candidate, dtype=str, keep_default_na=False)
    cols = [str(c) for c in df.columns]
    lon_c, lat_c, time_c = _find(cols, _CSV_LON), _find(cols, _CSV_LAT), _find(cols, _CSV_TIME)
    missing = [label for label, c in (("经度 lon", lon_c), ("纬度 lat", lat_c), ("时间 time", time_c)) if c is None]
    if missing:
        raise FileFormatError(
            f"CSV 文件“{p.name}”缺少列：{'、'.join(missing)}；现有列：{'、'.join(dict.fromkeys(header))}",
            f"CSV {p} lacks columns {missing}",
        )
    lon = pd.to_numeric(df[lon_c], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(df[lat_c], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
    if len(bad):
        i = int(bad[0])
        more = f"；共 {len(bad)} 个点无效" if len(bad) > 1 else ""

        def shown(v: str) -> str:
            return f"“{v}”" if str(v).strip() else "空"

        raise GeometryError(
            f"CSV 文件“{p.name}”第 {i + 2} 行（第 {i + 1} 个点）的坐标无效（经度{shown(df[lon_c].iloc[i])}，"
            f"纬度{shown(df[lat_c].iloc[i])}），不能导入{more}。请补全或删除这些行后重试",
            f"non-finite or missing coordinates at point {i + 1} of {p.name} ({len(bad)} point(s))",
        )
    return Track(lon=lon, lat=lat, times=_csv_times(df[time_c], csv_tz), name=p.stem, source_name=p.name)


def _csv_times(values: pd.Series, tz: tzinfo | str) -> np.ndarray:
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    numeric = pd.to_numeric(values, errors="coerce")
    is_num = numeric.notna().to_numpy()
    if is_num.any():
        secs = numeric[is_num].to_numpy(dtype=np.float64)
        secs = np.where(secs > 1e11, secs / 1000.0, secs)
        out[is_num] = (secs * 1e9).astype("int64").astype("datetime64[ns]")
    text = values[~is_num]
    for i, v in zip(np.flatnonzero(~is_num), text):
        v = str(v).strip()
        if not v:
            continue
        try:
            stamp = pd.Timestamp(v)
        except (ValueError, TypeError):
            continue
        if pd.isna(stamp):
            continue
        stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp
        out[i] = stamp.tz_convert("UTC").tz_localize(None).to_datetime64()
    return out


def track_from_record(record: Any) -> Track:
    """A :class:`Track` from a store ``PatrolTrack`` row (geometry + ISO ``times``)."""
    coords = shapely.get_coordinates(record.geom)
    times = list(record.times or [])
    if len(times) != len(coords):
        times = (times + [None] * len(coords))[: len(coords)]
    person = record.person.name if getattr(record, "person", None) is not None else None
    return Track(
        lon=coords[:, 0],
        lat=coords[:, 1],
        times=_as_utc_ns(times),
        name=record.name,
        source_name=record.source_name,
        person=person,
        grid=record.grid_id,
        track_id=record.id,
    )


def path_length_m(path: Sequence[tuple[float, float]]) -> float:
    """Geodesic length (WGS84 ellipsoid), in metres, of a path of (lon, lat) in decimal degrees."""
    xy = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    if len(xy) < 2:
        return 0.0
    return float(geodesic_m(xy[:, 0], xy[:, 1], np.arange(len(xy) - 1), np.arange(1, len(xy))).sum())


def position_at(track: Track, t: np.datetime64) -> tuple[float, float, int]:
    """Where a patrol was at UTC time ``t`` (for playback): lon, lat (decimal degrees, linear
    between the two points around ``t``) and how many points were recorded by then.

    Before the first point: the first point (count 1); after the last: the last. Points without
    a time are ignored; the times must increase (a cleaned or stored track).
    """
    ok = ~np.isnat(track.times)
    if not ok.any():
        raise ValidationError("轨迹没有时间，无法回放", "track has no times")
    lon, lat, ns = track.lon[ok], track.lat[ok], track.times[ok].astype("int64")
    x = t.astype("datetime64[ns]").astype("int64")
    k = int(np.searchsorted(ns, x, side="right"))
    if k == 0:
        return float(lon[0]), float(lat[0]), 1
    if k >= len(ns):
        return float(lon[-1]), float(lat[-1]), len(ns)
    f = (x - ns[k - 1]) / (ns[k] - ns[k - 1])
    return float(lon[k - 1] + f * (lon[k] - lon[k - 1])), float(lat[k - 1] + f * (lat[k] - lat[k - 1])), k


# ---------------------------------------------------------------------------------------------
# Cleaning
# ---------------------------------------------------------------------------------------------


@dataclass
class CleanReport:
    """What :func:`clean_track` dropped: counts per reason code (see :data:`DROP_REASONS`)."""

    points_in: int
    points_kept: int
    dropped: dict[str, int]

    def text(self) -> str:
        parts = [f"{DROP_REASONS[k]} {v} 个" for k, v in self.dropped.items() if v]
        return f"共 {self.points_in} 个点，保留 {self.points_kept} 个" + (
            f"；删除：{'，'.join(parts)}" if parts else ""
        )


def geodesic_m(lon: np.ndarray, lat: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Geodesic distances (WGS84 ellipsoid), in metres, from the points ``i`` to the points ``j``
    of ``lon``/``lat`` (decimal degrees)."""
    if len(i) == 0:
        return np.zeros(0)
    _, _, d = _GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    return np.asarray(d, dtype=np.float64)


def clean_track(
    track: Track, *, max_speed_kmh: float = 30.0, noise_m: float = 15.0, lookahead: int = 5
) -> tuple[Track, CleanReport]:
    """Drop bad, untimed, backward, duplicate and jump points of ``track``.

    Parameters
    ----------
    track : Track
        Points in file order.
    max_speed_kmh : float
        Fastest plausible movement between two points, km/h (default 30). A point reached faster
        (after allowing ``noise_m`` of GPS error) is a jump when a later point within
        ``lookahead`` points is again reachable from the last good one; when none is (the track
        really moves that fast, e.g. in a car) the points are kept for the speed flag.
    noise_m : float
        GPS error allowed on every distance, metres (default 15).
    lookahead : int
        How many following points may belong to one jump (default 5).

    Returns
    -------
    (Track, CleanReport)
        The kept points (a new Track) and the counts dropped per reason.
    """
    n = len(track)
    dropped = dict.fromkeys(DROP_REASONS, 0)
    bad = ~(np.isfinite(track.lon) & np.isfinite(track.lat)) | ((np.abs(track.lon) < 1e-9) & (np.abs(track.lat) < 1e-9))
    dropped["bad_coords"] = int(bad.sum())
    t = track.times
    no_time = ~bad & (np.isnat(t) | (t < _MIN_VALID_TIME))
    dropped["no_time"] = int(no_time.sum())
    keep = ~(bad | no_time)
    idx = np.flatnonzero(keep)
    if len(idx):
        ti = t[idx].astype("int64")
        prev_max = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(ti)[:-1]])
        backwards = ti < prev_max
        duplicate = ti == prev_max
        dropped["time_backwards"] = int(backwards.sum())
        dropped["duplicate"] = int(duplicate.sum())
        keep[idx[backwards | duplicate]] = False
    idx = np.flatnonzero(keep)
    jumps = _jump_points(track.lon[idx], track.lat[idx], t[idx], max_speed_kmh / 3.6, noise_m, lookahead)
    dropped["jump"] = len(jumps)
    keep[idx[jumps]] = False
    kept = track.subset(keep)
    return kept, CleanReport(points_in=n, points_kept=int(keep.sum()), dropped=dropped)


def _excursion(lon: np.ndarray, lat: np.ndarray, a: int, b: int, noise_m: float) -> bool:
    """True when a point strictly between ``a`` and ``b`` lies more than ``2 × noise_m`` off the
    straight line a→b (a spike, not fast movement along the way)."""
    tr = transformer("EPSG:4326", metric_crs_for((float(lon[a]), float(lat[a]), float(lon[a]), float(lat[a]))))
    xs, ys = tr.transform(lon[a : b + 1], lat[a : b + 1])
    seg = (
        shapely.LineString([(xs[0], ys[0]), (xs[-1], ys[-1])])
        if (xs[0], ys[0]) != (xs[-1], ys[-1])
        else shapely.Point(xs[0], ys[0])
    )
    d = shapely.distance(shapely.points(np.asarray(xs[1:-1]), np.asarray(ys[1:-1])), seg)
    return bool(np.max(d) > 2 * noise_m) if len(d) else False


def _jump_points(
    lon: np.ndarray, lat: np.ndarray, t: np.ndarray, v_ms: float, noise_m: float, lookahead: int
) -> np.ndarray:
    """Positions (into the given arrays) of isolated excursions faster than ``v_ms``."""
    n = len(lon)
    if n < 3:
        return np.zeros(0, dtype=np.int64)
    secs = (t.astype("int64") - t[0].astype("int64")) / 1e9
    steps = geodesic_m(lon, lat, np.arange(n - 1), np.arange(1, n))
    too_fast = np.maximum(steps - noise_m, 0.0) > v_ms * np.diff(secs)
    if not too_fast.any():
        return np.zeros(0, dtype=np.int64)

    def ok(a: int, b: int) -> bool:
        d = float(geodesic_m(lon, lat, np.array([a]), np.array([b]))[0])
        return bool(max(d - noise_m, 0.0) <= v_ms * (secs[b] - secs[a]))

    out: list[int] = []
    start = 0
    # A first point that is itself an excursion: 0→1 impossible and out of all proportion with
    # the plausible step 1→2 that follows.
    if too_fast[0] and not too_fast[1] and steps[0] > 3.0 * max(steps[1], noise_m):
        out.append(0)
        start = 1
    last = start
    i = start + 1
    while i < n:
        if ok(last, i):
            last = i
            i += 1
            continue
        found = next((j for j in range(i + 1, min(n, i + 1 + lookahead)) if ok(last, j)), None)
        if found is not None and not _excursion(lon, lat, last, found, noise_m):
            found = None
        if found is None:
            last = i  # sustained fast movement: keep it (the speed flag judges it)
            i += 1
            continue
        out.extend(range(i, found))
        last = found
        i = found + 1
    return np.asarray(out, dtype=np.int64)
