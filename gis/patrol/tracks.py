"""Patrol tracks (巡河轨迹): read, clean, match to reaches, flag probable fake patrols.

A track is a sequence of GPS points with UTC timestamps. The steps, each a function:

1. :func:`read_tracks` reads GPX (via :mod:`gis.io.files`), KML/KMZ (``gx:Track`` pairs of
   ``<when>``/``<gx:coord>``, or time-stamped point placemarks) and CSV of points (columns
   lon/lat/time, also 经度/纬度/时间). ``from_crs="gcj02"|"bd09"`` converts offset coordinates.
   The limits of :mod:`gis.limits` apply (file size; KMZ judged from its zip directory and read
   bounded; XML streamed through ``defusedxml``; CSV in chunks; points counted while reading),
   and a point whose coordinates are not finite numbers refuses the file, naming the point.
2. :func:`clean_track` drops points with bad coordinates ((0, 0), NaN), without a time (or at
   the epoch), with a time going backwards, duplicates (same time), and impossible jumps
   (a point reached above ``max_speed_kmh`` that the track then leaves again); counts per reason.
3. :func:`match_track` projects the points within a corridor of a reach onto it (metres from the
   reach's start) and merges consecutive matched points into patrolled intervals; it also detects
   a probable GCJ-02/BD-09 offset and raises the fake-patrol flags that need only one track.
4. :func:`cross_flags` compares tracks of different persons (copied or concurrent tracks).

Angles are WGS84 decimal degrees; distances are metres in a metric CRS chosen for the reaches
(:func:`gis.geometry.crs.metric_crs_for`); times are UTC (``numpy.datetime64[ns]``), shown in
Asia/Shanghai by the text helpers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gis import limits, model
from gis.geometry.crs import bd09_to_wgs84, gcj02_to_wgs84, metric_crs_for
from gis.errors import CRSError, FileFormatError, GeometryError, ValidationError

__all__ = [
    "CleanReport",
    "FlagRules",
    "MatchOptions",
    "PatrolResult",
    "Track",
    "analyse_track",
    "clean_track",
    "cross_flags",
    "detect_offset",
    "match_many",
    "match_track",
    "merge_intervals",
    "path_length_m",
    "position_at",
    "reaches_frame",
    "read_tracks",
    "track_from_record",
]

LOCAL_TZ = model.LOCAL_TZ.key  # pandas takes the zone by name
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

FLAG_LABELS = {
    "probable_gcj02": "疑似 GCJ-02（高德/腾讯）坐标偏移",
    "probable_bd09": "疑似 BD-09（百度）坐标偏移",
    "fast_speed": "持续速度超过步行/骑行",
    "far_from_river": "大部分轨迹点远离河道",
    "copied_track": "与他人轨迹相同",
    "concurrent_track": "与他人同一时间同一位置",
    "too_regular": "轨迹点过于规则（疑似合成）",
}
"""Flag code → Chinese label."""


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
            raise ValidationError("轨迹的经度、纬度和时间个数不一致",
                                  f"lon/lat/times lengths differ: {len(self.lon)}, {len(self.lat)}, {len(self.times)}")

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


def _as_utc_ns(values: Any) -> np.ndarray:
    """Anything time-like → naive ``datetime64[ns]`` in UTC (NaT for missing)."""
    if isinstance(values, np.ndarray) and values.dtype == "datetime64[ns]":
        return values
    idx = pd.to_datetime(pd.Series(list(values) if not isinstance(values, np.ndarray) else values, dtype=object),
                         utc=True, errors="coerce", format="mixed")
    return idx.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _offset_inverse(source: str):  # type: ignore[no-untyped-def]
    key = str(source).strip().lower().replace("-", "").replace("_", "")
    if key == "gcj02":
        return gcj02_to_wgs84
    if key == "bd09":
        return bd09_to_wgs84
    raise CRSError(f"未知的坐标偏移类型“{source}”，可选：gcj02（高德/腾讯）、bd09（百度）",
                   f"unknown offset {source!r}; expected gcj02 or bd09")


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

_KML_NS = "{http://www.opengis.net/kml/2.2}"
_GX_NS = "{http://www.google.com/kml/ext/2.2}"
_CSV_LON = ("lon", "lng", "longitude", "经度", "x")
_CSV_LAT = ("lat", "latitude", "纬度", "y")
_CSV_TIME = ("time", "timestamp", "datetime", "date_time", "时间", "定位时间", "采集时间", "日期时间")


def read_tracks(path: str | Path, *, from_crs: str | None = None, csv_tz: str = LOCAL_TZ) -> list[Track]:
    """Read the patrol tracks of a GPX, KML/KMZ or CSV file.

    Parameters
    ----------
    path : str or path-like
        ``.gpx`` (every ``<trk>``, segments joined), ``.kml``/``.kmz`` (each ``gx:Track`` of a
        placemark; or all time-stamped point placemarks as one track) or ``.csv`` of points with
        longitude, latitude and time columns (``lon``/``lat``/``time`` or ``经度``/``纬度``/``时间``).
    from_crs : {"gcj02", "bd09"}, optional
        The coordinates carry that offset (Amap/Tencent, Baidu): convert them to WGS84.
    csv_tz : str
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
        from gis.io.files import read_gpx_tracks

        tracks = [
            Track(lon=[c[0] for c in t.coords], lat=[c[1] for c in t.coords],
                  times=[x if x is not None else None for x in t.times], name=t.name, source_name=p.name)
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
            raise FileFormatError(f"文件“{p.name}”的坐标不是经纬度（超出 ±180°/±90°）", f"coordinates out of range in {p}")
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
        f"文件“{p.name}”中{which}的第 {i + 1} 个点坐标无效（经度 {track.lon[i]}，纬度 {track.lat[i]}），不能导入{more}。"
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
                        raise FileFormatError(f"KML 轨迹“{pm.name or ''}”的时间（when）与坐标（gx:coord）个数不一致",
                                              f"gx:Track has {len(track_whens)} when and {len(track_coords)} coord")
                    lon = [_number(c[0]) if len(c) >= 2 else math.nan for c in track_coords]
                    lat = [_number(c[1]) if len(c) >= 2 else math.nan for c in track_coords]
                    tracks.append(Track(lon=lon, lat=lat, times=[w.strip() or None for w in track_whens],
                                        name=pm.name, source_name=p.name))
                if not pm.tracks:
                    if pm.point is not None and pm.when is not None:
                        if len(pm.point) >= 2:
                            stamped.append((_number(pm.point[0]), _number(pm.point[1]), pm.when))
                    elif pm.line:
                        lines_without_time += 1
                pm = _Placemark()
    if stamped:
        tracks.append(Track(lon=[s[0] for s in stamped], lat=[s[1] for s in stamped],
                            times=[s[2] or None for s in stamped], name=p.stem, source_name=p.name))
    if not tracks:
        if lines_without_time:
            raise FileFormatError(
                f"KML 文件“{p.name}”中的线没有逐点时间，无法作为巡河轨迹（需要 gx:Track 或带时间的点）",
                f"KML {p} has LineStrings without times")
        raise FileFormatError(f"KML 文件“{p.name}”中没有轨迹（gx:Track 或带时间的点），可能只有面或线",
                              f"no gx:Track or time-stamped points in {p}")
    return tracks


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _read_csv_track(p: Path, csv_tz: str) -> Track:
    from gis.io.files import read_csv_rows

    cols = [str(c) for c in _csv_header(p)]
    lon_c, lat_c, time_c = _find(cols, _CSV_LON), _find(cols, _CSV_LAT), _find(cols, _CSV_TIME)
    missing = [label for label, c in (("经度 lon", lon_c), ("纬度 lat", lat_c), ("时间 time", time_c)) if c is None]
    if missing:
        raise FileFormatError(f"CSV 文件“{p.name}”缺少列：{'、'.join(missing)}；现有列：{'、'.join(cols)}",
                              f"CSV {p} lacks columns {missing}")
    df, _warns = read_csv_rows(p, usecols=[lon_c, lat_c, time_c], dtype=str, keep_default_na=False)
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


def _csv_header(p: Path) -> list[str]:
    """The column names of a CSV (UTF-8 or GBK), read from its first line only."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return [str(c) for c in pd.read_csv(p, encoding=encoding, nrows=0, skipinitialspace=True).columns]
        except UnicodeDecodeError:
            continue
        except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError) as exc:
            raise FileFormatError(f"无法读取 CSV 文件“{p.name}”", f"bad CSV {p}: {exc}") from exc
    raise FileFormatError(f"CSV 文件“{p.name}”的编码无法识别（请用 UTF-8 或 GBK）", f"undecodable CSV {p}")


def _csv_times(values: pd.Series, tz: str) -> np.ndarray:
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
    return Track(lon=coords[:, 0], lat=coords[:, 1], times=times, name=record.name, source_name=record.source_name,
                 person=person, grid=record.grid_id, track_id=record.id)


def path_length_m(path: Sequence[tuple[float, float]]) -> float:
    """Geodesic length (WGS84 ellipsoid), in metres, of a path of (lon, lat) in decimal degrees."""
    xy = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    if len(xy) < 2:
        return 0.0
    return float(_step_m(xy[:, 0], xy[:, 1], np.arange(len(xy) - 1), np.arange(1, len(xy))).sum())


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
    x = np.datetime64(t, "ns").astype("int64")
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
        return f"共 {self.points_in} 个点，保留 {self.points_kept} 个" + (f"；删除：{'，'.join(parts)}" if parts else "")


def _step_m(lon: np.ndarray, lat: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if len(i) == 0:
        return np.zeros(0)
    _, _, d = _GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    return np.asarray(d, dtype=np.float64)


def clean_track(track: Track, *, max_speed_kmh: float = 30.0, noise_m: float = 15.0,
                lookahead: int = 5) -> tuple[Track, CleanReport]:
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
    tr = pyproj.Transformer.from_crs("EPSG:4326", metric_crs_for((float(lon[a]), float(lat[a]), float(lon[a]), float(lat[a]))),
                                     always_xy=True)
    xs, ys = tr.transform(lon[a:b + 1], lat[a:b + 1])
    seg = shapely.LineString([(xs[0], ys[0]), (xs[-1], ys[-1])]) if (xs[0], ys[0]) != (xs[-1], ys[-1]) else shapely.Point(xs[0], ys[0])
    d = shapely.distance(shapely.points(np.asarray(xs[1:-1]), np.asarray(ys[1:-1])), seg)
    return bool(np.max(d) > 2 * noise_m) if len(d) else False


def _jump_points(lon: np.ndarray, lat: np.ndarray, t: np.ndarray, v_ms: float, noise_m: float,
                 lookahead: int) -> np.ndarray:
    """Positions (into the given arrays) of isolated excursions faster than ``v_ms``."""
    n = len(lon)
    if n < 3:
        return np.zeros(0, dtype=np.int64)
    secs = (t.astype("int64") - t[0].astype("int64")) / 1e9
    steps = _step_m(lon, lat, np.arange(n - 1), np.arange(1, n))
    too_fast = np.maximum(steps - noise_m, 0.0) > v_ms * np.diff(secs)
    if not too_fast.any():
        return np.zeros(0, dtype=np.int64)

    def ok(a: int, b: int) -> bool:
        d = float(_step_m(lon, lat, np.array([a]), np.array([b]))[0])
        return max(d - noise_m, 0.0) <= v_ms * (secs[b] - secs[a])

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


# ---------------------------------------------------------------------------------------------
# Reaches and matching
# ---------------------------------------------------------------------------------------------


def reaches_frame(reaches: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reaches with their ids as index (``id`` column when present, else the row position).

    Refuses a missing CRS; the result is in EPSG:4326 and keeps ``start_station_m``, ``name``,
    ``code`` and ``level`` when present.
    """
    if reaches.crs is None:
        raise CRSError("河段数据没有坐标系，请先设置（如 EPSG:4326）", "reaches have no CRS")
    gdf = reaches.copy()
    if "id" in gdf.columns:
        gdf = gdf.set_index("id", drop=True)
    else:
        gdf = gdf.reset_index(drop=True)
    gdf = gdf.to_crs("EPSG:4326")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    bad = ~gdf.geom_type.isin(["LineString", "MultiLineString"])
    if bad.any():
        raise ValidationError("河段必须是线要素", f"non-line reaches: {list(gdf.index[bad])[:5]}")
    return gdf


@dataclass
class MatchOptions:
    """Options of :func:`match_track` (distances in metres, speeds in km/h)."""

    corridor_m: float = 50.0
    max_speed_kmh: float = 30.0
    noise_m: float = 15.0
    detect_offsets: bool = True


@dataclass
class FlagRules:
    """Thresholds of the fake-patrol flags.

    fast_speed_kmh, fast_min_s
        Median speed (over 3 steps) above ``fast_speed_kmh`` for at least ``fast_min_s`` seconds
        in a row, or, averaged over ``fast_window_s`` (where GPS noise no longer looks like
        speed), above it for ``fast_min_s`` in all (a drive with stops) → ``fast_speed``
        (defaults 15 km/h, 180 s, 60 s: a car covers 1.5 km in 3 minutes).
    far_share
        Share of points beyond the corridor of every reach above which ``far_from_river`` is
        raised (default 0.5).
    copy_tolerance_m, copy_share
        Two persons' tracks with at least ``copy_share`` of each one's points within
        ``copy_tolerance_m`` of the other's line → ``copied_track`` (defaults 5 m, 0.9).
    concurrent_tolerance_m, concurrent_min_s
        Same-time positions within ``concurrent_tolerance_m`` for 80 % of an overlap of at least
        ``concurrent_min_s`` seconds → ``concurrent_track`` (defaults 20 m, 300 s).
    regular_cv, regular_min_points
        Step lengths and time intervals both with a coefficient of variation below
        ``regular_cv`` over at least ``regular_min_points`` points → ``too_regular``
        (defaults 0.02, 20).
    """

    fast_speed_kmh: float = 15.0
    fast_min_s: float = 180.0
    fast_window_s: float = 60.0
    far_share: float = 0.5
    copy_tolerance_m: float = 5.0
    copy_share: float = 0.9
    concurrent_tolerance_m: float = 20.0
    concurrent_min_s: float = 300.0
    regular_cv: float = 0.02
    regular_min_points: int = 20


@dataclass
class PatrolResult:
    """One analysed track: cleaning, matched intervals, figures and flags.

    ``matched`` holds one row per patrolled interval: reach_id, from_m, to_m, length_m (metres
    along the reach from its start). ``length_m`` is the geodesic length of the kept track;
    ``river_length_m`` the sum of matched intervals. ``flags`` are dicts with ``code``,
    ``label`` (Chinese) and details.
    """

    track: Track
    clean: CleanReport
    length_m: float
    duration_s: float
    start: np.datetime64 | None
    end: np.datetime64 | None
    matched: pd.DataFrame
    river_length_m: float
    river_duration_s: float
    reaches: list[Any]
    grids: list[Any]
    near_share: float
    flags: list[dict[str, Any]] = field(default_factory=list)
    offset_guess: dict[str, Any] | None = None
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    crs: pyproj.CRS | None = None

    @property
    def avg_speed_kmh(self) -> float:
        return self.length_m / self.duration_s * 3.6 if self.duration_s > 0 else 0.0

    @property
    def flag_codes(self) -> list[str]:
        return [f["code"] for f in self.flags]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (keys of the ``patrol`` command)."""
        return {
            "name": self.track.name,
            "source_name": self.track.source_name,
            "person": self.track.person,
            "points_in": self.clean.points_in,
            "points_kept": self.clean.points_kept,
            "dropped": {k: v for k, v in self.clean.dropped.items() if v},
            "length_m": round(self.length_m, 1),
            "duration_s": round(self.duration_s, 1),
            "avg_speed_kmh": round(self.avg_speed_kmh, 2),
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "start_local": local_text(self.start),
            "end_local": local_text(self.end),
            "river_length_m": round(self.river_length_m, 1),
            "river_duration_s": round(self.river_duration_s, 1),
            "matched": [
                {"reach_id": _jsonable(r.reach_id), "from_m": round(float(r.from_m), 1), "to_m": round(float(r.to_m), 1),
                 "length_m": round(float(r.length_m), 1)}
                for r in self.matched.itertuples()
            ],
            "reaches": [_jsonable(r) for r in self.reaches],
            "grids": [_jsonable(g) for g in self.grids],
            "flags": self.flags,
            "offset_guess": self.offset_guess,
        }

    def text(self) -> str:
        """Chinese summary (times in Asia/Shanghai)."""
        lines = [
            (f"轨迹“{self.track.name or self.track.source_name}”：{local_text(self.start)} 至 {local_text(self.end)}（北京时间），"
            f"历时 {self.duration_s / 60:.1f} 分钟，长 {self.length_m / 1000:.2f} 公里，均速 {self.avg_speed_kmh:.1f} km/h"),
            self.clean.text(),
            f"沿河巡查 {self.river_length_m / 1000:.2f} 公里：" + (
                "；".join(f"河段 {r.reach_id} {r.from_m:.0f}–{r.to_m:.0f} 米" for r in self.matched.itertuples())
                or "无"),
        ]
        lines += [f"⚠ {f['label']}：{f.get('message', '')}" for f in self.flags]
        return "\n".join(lines)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def merge_intervals(reach_ids: np.ndarray, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """Union of intervals [a, b] per reach: DataFrame reach_id, from_m, to_m, length_m.

    Overlapping or touching intervals of one reach merge; rows sorted by reach (in order of
    first appearance) then start. Empty results of zero length are left out.
    """
    cols = ["reach_id", "from_m", "to_m", "length_m"]
    if len(a) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols}).astype({"reach_id": object})
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    ids = np.asarray(reach_ids, dtype=object)
    codes = pd.factorize(ids, sort=False)[0]
    order = np.lexsort((hi, lo, codes))
    k, f, t = codes[order], lo[order], hi[order]
    first = np.concatenate([[True], k[1:] != k[:-1]])
    starts = np.flatnonzero(first)
    reach_max = np.empty_like(t)  # running maximum of the ends within each reach
    for s0, s1 in zip(starts.tolist(), [*starts[1:].tolist(), len(t)]):
        reach_max[s0:s1] = np.maximum.accumulate(t[s0:s1])
    new = first | (f > np.concatenate([[-np.inf], reach_max[:-1]]))
    heads = np.flatnonzero(new)
    out = pd.DataFrame({"reach_id": ids[order][heads], "from_m": f[heads], "to_m": np.maximum.reduceat(t, heads)})
    out["length_m"] = out["to_m"] - out["from_m"]
    return out[out["length_m"] > 0].reset_index(drop=True)


@dataclass
class _Segments:
    """The reaches cut into straight segments (metric CRS), hashed into square cells.

    Every segment is listed in each cell its bounding box, grown by the corridor, overlaps, so
    the segments within the corridor of a point are among those of the point's own cell.
    ``m0`` is the distance along the reach to the segment's start (parts of a MultiLineString
    chained in order, as :func:`shapely.line_locate_point` measures).
    """

    ax: np.ndarray
    ay: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    length: np.ndarray
    m0: np.ndarray
    reach: np.ndarray
    corridor_m: float
    cell_m: float
    x0: float
    y0: float
    ny: int
    keys: np.ndarray  # sorted cell keys of the (cell, segment) entries
    segs: np.ndarray  # segment of each entry

    @classmethod
    def build(cls, geoms: np.ndarray, corridor_m: float) -> _Segments:
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        coords, vertex_part = shapely.get_coordinates(parts, return_index=True)
        same = vertex_part[1:] == vertex_part[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        seg_part = vertex_part[:-1][same]
        dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        length = np.hypot(dx, dy)
        # distance along the reach: segments of a part, parts of a reach, in order
        part_len = shapely.length(parts)
        part_m0 = np.cumsum(part_len) - part_len
        reach_start = np.zeros(len(parts))
        if len(parts):
            first = np.concatenate([[True], part_of[1:] != part_of[:-1]])
            reach_start = np.maximum.accumulate(np.where(first, part_m0, 0.0))
        cum = np.cumsum(length) - length
        part_first_seg = np.searchsorted(seg_part, np.arange(len(parts)))
        seg_m0 = cum - cum[np.minimum(part_first_seg[seg_part], max(len(cum) - 1, 0))] \
            + (part_m0 - reach_start)[seg_part] if len(cum) else cum
        keep = length > 0
        a, dx, dy, length, seg_m0, seg_part = a[keep], dx[keep], dy[keep], length[keep], seg_m0[keep], seg_part[keep]
        reach = part_of[seg_part].astype(np.int64)
        cell = max(2.0 * corridor_m, 20.0)
        lo_x = np.minimum(a[:, 0], a[:, 0] + dx) - corridor_m
        hi_x = np.maximum(a[:, 0], a[:, 0] + dx) + corridor_m
        lo_y = np.minimum(a[:, 1], a[:, 1] + dy) - corridor_m
        hi_y = np.maximum(a[:, 1], a[:, 1] + dy) + corridor_m
        x0 = float(lo_x.min()) if len(a) else 0.0
        y0 = float(lo_y.min()) if len(a) else 0.0
        ix0, ix1 = ((lo_x - x0) // cell).astype(np.int64), ((hi_x - x0) // cell).astype(np.int64)
        iy0, iy1 = ((lo_y - y0) // cell).astype(np.int64), ((hi_y - y0) // cell).astype(np.int64)
        ny = int(iy1.max()) + 1 if len(a) else 1
        wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
        n = wx * wy
        seg = np.repeat(np.arange(len(a)), n)
        k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        keys = (ix0[seg] + k // wy[seg]) * ny + (iy0[seg] + k % wy[seg])
        order = np.argsort(keys, kind="stable")
        return cls(ax=a[:, 0].copy(), ay=a[:, 1].copy(), dx=dx, dy=dy, length=length, m0=seg_m0, reach=reach,
                   corridor_m=float(corridor_m), cell_m=cell, x0=x0, y0=y0, ny=ny, keys=keys[order], segs=seg[order])

    def pairs(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(point, segment, distance, m) for every segment within the corridor of each point,
        grouped by point in point order (m: metres along the segment's reach)."""
        ix = np.floor((x - self.x0) / self.cell_m)
        iy = np.floor((y - self.y0) / self.cell_m)
        ok = np.isfinite(ix) & np.isfinite(iy) & (iy >= 0) & (iy < self.ny) & (ix >= 0)
        key = np.where(ok, ix * self.ny + iy, -1).astype(np.int64)
        lo = np.searchsorted(self.keys, key, side="left")
        hi = np.searchsorted(self.keys, key, side="right")
        cnt = np.where(ok, hi - lo, 0)
        pt = np.repeat(np.arange(len(x)), cnt)
        seg = self.segs[np.repeat(lo, cnt) + (np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt))]
        px, py = x[pt] - self.ax[seg], y[pt] - self.ay[seg]
        t = np.clip((px * self.dx[seg] + py * self.dy[seg]) / (self.length[seg] ** 2), 0.0, 1.0)
        d = np.hypot(px - t * self.dx[seg], py - t * self.dy[seg])
        near = d <= self.corridor_m
        return pt[near], seg[near], d[near], self.m0[seg[near]] + t[near] * self.length[seg[near]]


@dataclass
class _ReachIndex:
    ids: np.ndarray
    geoms_m: np.ndarray
    tree: shapely.STRtree
    crs: pyproj.CRS
    to_m: pyproj.Transformer
    segments: dict[float, _Segments] = field(default_factory=dict)

    def segments_for(self, corridor_m: float) -> _Segments:
        """The segment hash for ``corridor_m`` (built once per corridor)."""
        key = float(corridor_m)
        if key not in self.segments:
            self.segments[key] = _Segments.build(self.geoms_m, key)
        return self.segments[key]


def _reach_index(reaches: gpd.GeoDataFrame, crs: pyproj.CRS | None = None) -> _ReachIndex:
    crs = crs or metric_crs_for(reaches)
    proj = reaches.to_crs(crs)
    geoms = np.asarray(proj.geometry.array)
    return _ReachIndex(ids=np.asarray(reaches.index, dtype=object), geoms_m=geoms, tree=shapely.STRtree(geoms),
                       crs=crs, to_m=pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True))


def _nearest(index: _ReachIndex, x: np.ndarray, y: np.ndarray, max_distance: float | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per point: position of the nearest reach (-1 when none within ``max_distance``) and its distance."""
    pts = shapely.points(x, y)
    which = np.full(len(pts), -1, dtype=np.int64)
    dist = np.full(len(pts), np.inf)
    if len(pts) == 0 or len(index.geoms_m) == 0:
        return which, dist
    (src, tgt), d = index.tree.query_nearest(pts, max_distance=max_distance, return_distance=True,
                                             all_matches=False)
    which[src] = tgt
    dist[src] = d
    return which, dist


def _match_xy(index: _ReachIndex, x: np.ndarray, y: np.ndarray, corridor_m: float, *,
              breaks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point (metric x, y): the position of the nearest reach within ``corridor_m`` (-1 when
    none), the distance to it (``inf`` beyond the corridor) and the point's projection on it in
    metres from the reach's start (NaN when none).

    Where several reaches lie within the corridor (a confluence, a reach end), the reach of the
    point before is kept when it is one of them, else that of the next point with a single
    candidate. ``breaks``: True where a new track starts (continuity does not cross it).
    """
    n = len(x)
    which = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    m = np.full(n, np.nan)
    if n == 0 or len(index.geoms_m) == 0:
        return which, dist, m
    segs = index.segments_for(corridor_m)
    pt, seg, d, along = segs.pairs(np.asarray(x, np.float64), np.asarray(y, np.float64))
    if len(pt) == 0:
        return which, dist, m
    starts = np.flatnonzero(np.concatenate([[True], pt[1:] != pt[:-1]]))
    pts = pt[starts]
    size = np.diff(np.append(starts, len(pt)))
    dmin = np.minimum.reduceat(d, starts)
    first_min = np.flatnonzero(d == np.repeat(dmin, size))
    first_min = first_min[np.concatenate([[True], pt[first_min][1:] != pt[first_min][:-1]])]
    reach = segs.reach[seg]
    which[pts] = reach[first_min]
    dist[pts] = dmin
    m[pts] = along[first_min]
    multi = np.flatnonzero(np.minimum.reduceat(reach, starts) != np.maximum.reduceat(reach, starts))
    if len(multi):
        single = np.zeros(n, dtype=bool)
        single[pts] = True
        single[pts[multi]] = False
        # next point (from each position on) with a single candidate; n: none
        nxt = np.minimum.accumulate(np.where(single, np.arange(n), n)[::-1])[::-1].tolist() + [n]
        track = (np.cumsum(breaks) if breaks is not None else np.zeros(n, dtype=np.int64)).tolist()
        reach_l, d_l, along_l = reach.tolist(), d.tolist(), along.tolist()
        which_l, pts_l, starts_l, size_l = which.tolist(), pts.tolist(), starts.tolist(), size.tolist()
        for g in multi.tolist():  # confluences and reach ends only: plain Python is fastest here
            p, lo = pts_l[g], starts_l[g]
            hi = lo + size_l[g]
            cands = reach_l[lo:hi]
            prefer = which_l[p - 1] if p > 0 and track[p - 1] == track[p] else -1
            if prefer < 0 or prefer not in cands:
                q = nxt[p + 1] if p + 1 < n else n
                prefer = which_l[q] if q < n and track[q] == track[p] else -1
            if prefer >= 0 and prefer in cands and prefer != which_l[p]:
                best = min((k for k in range(lo, hi) if reach_l[k] == prefer), key=d_l.__getitem__)
                which_l[p] = prefer
                dist[p], m[p] = d_l[best], along_l[best]
        which = np.asarray(which_l, dtype=np.int64)
    return which, dist, m


def detect_offset(track: Track, reaches: gpd.GeoDataFrame, *, corridor_m: float = 50.0,
                  _index: _ReachIndex | None = None) -> dict[str, Any] | None:
    """Guess whether ``track`` carries a GCJ-02 or BD-09 offset.

    Compares the median distance (metres) of the points to the nearest reach as read and after
    each correction. Returns ``{"source", "median_m_before", "median_m_after", "shift_m"}`` when a
    correction brings the track within the corridor while it lay beyond it, at no more than a
    third of the distance before; ``None`` otherwise.
    """
    if len(track) == 0:
        return None
    index = _index or _reach_index(reaches)
    x, y = index.to_m.transform(track.lon, track.lat)
    _, d0 = _nearest(index, np.asarray(x), np.asarray(y))
    before = float(np.median(d0))
    if not before > corridor_m:
        return None
    best: dict[str, Any] | None = None
    for source in ("gcj02", "bd09"):
        lon, lat = _offset_inverse(source)(track.lon, track.lat)
        xs, ys = index.to_m.transform(lon, lat)
        _, d1 = _nearest(index, np.asarray(xs), np.asarray(ys))
        after = float(np.median(d1))
        shift = float(np.median(np.hypot(np.asarray(xs) - x, np.asarray(ys) - y)))
        if after <= corridor_m and after <= before / 3.0 and (best is None or after < best["median_m_after"]):
            best = {"source": source, "median_m_before": round(before, 1), "median_m_after": round(after, 1),
                    "shift_m": round(shift, 1)}
    return best


def _flag(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "label": FLAG_LABELS[code], "message": message, **details}


def _rolling_median3(v: np.ndarray) -> np.ndarray:
    if len(v) < 3:
        return v.copy()
    return pd.Series(v).rolling(3, center=True, min_periods=1).median().to_numpy()


def _single_flags(x: np.ndarray, y: np.ndarray, secs: np.ndarray, dist: np.ndarray, corridor_m: float,
                  rules: FlagRules) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    n = len(x)
    if n < 2:
        return flags
    step = np.hypot(np.diff(x), np.diff(y))
    dt = np.diff(secs)
    speed = np.where(dt > 0, step / np.where(dt > 0, dt, 1.0), 0.0) * 3.6
    smooth = _rolling_median3(speed)
    fast = smooth > rules.fast_speed_kmh
    if fast.any():
        edges = np.diff(np.concatenate([[0], fast.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        durations = np.array([dt[s:e].sum() for s, e in zip(starts, ends)])
        longest = int(np.argmax(durations))
        # Over windows of fast_window_s the GPS noise (metres) no longer looks like speed:
        # time spent moving faster than the limit, stops and all, adds up.
        half = rules.fast_window_s / 2
        a = np.searchsorted(secs, secs[:-1] - half, side="left")  # window centred on each step
        b = np.minimum(np.searchsorted(secs, secs[1:] + half, side="right") - 1, n - 1)
        span = secs[b] - secs[a]
        has = span >= half  # at least half a window of track (short tracks: none)
        window_kmh = np.zeros(n - 1)
        window_kmh[has] = np.hypot(x[b[has]] - x[a[has]], y[b[has]] - y[a[has]]) / span[has] * 3.6
        total = float(dt[window_kmh > rules.fast_speed_kmh].sum())
        if durations[longest] >= rules.fast_min_s:
            s, e = starts[longest], ends[longest]
            med = float(np.median(speed[s:e]))
            flags.append(_flag("fast_speed", f"连续 {durations[longest] / 60:.1f} 分钟速度中位数 {med:.1f} km/h"
                                             f"（超过 {rules.fast_speed_kmh:g} km/h）",
                               median_speed_kmh=round(med, 1), duration_s=round(float(durations[longest]), 1)))
        elif total >= rules.fast_min_s:
            # A drive broken by stops (traffic lights, a look at the river) is sustained too.
            med = float(np.median(window_kmh[window_kmh > rules.fast_speed_kmh]))
            flags.append(_flag("fast_speed", f"累计 {total / 60:.1f} 分钟以 {med:.1f} km/h 行进（按 "
                                             f"{rules.fast_window_s:g} 秒平均，超过 {rules.fast_speed_kmh:g} km/h）",
                               median_speed_kmh=round(med, 1), duration_s=round(total, 1)))
    far = float(np.mean(dist > corridor_m))
    if far > rules.far_share:
        flags.append(_flag("far_from_river", f"{far:.0%} 的轨迹点距河道超过 {corridor_m:g} 米",
                           far_share=round(far, 3)))
    moving = step > 0
    if n >= rules.regular_min_points and moving.sum() >= rules.regular_min_points - 1:
        s_m, d_m = step[moving], dt[moving]
        cv_s = float(np.std(s_m) / np.mean(s_m)) if np.mean(s_m) > 0 else 1.0
        cv_t = float(np.std(d_m) / np.mean(d_m)) if np.mean(d_m) > 0 else 1.0
        if cv_s < rules.regular_cv and cv_t < rules.regular_cv:
            flags.append(_flag("too_regular", f"步长变异系数 {cv_s:.3f}、时间间隔变异系数 {cv_t:.3f}，"
                                              "真实 GPS 不会如此均匀", step_cv=round(cv_s, 4), interval_cv=round(cv_t, 4)))
    return flags


def _runs(key: np.ndarray, m: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of consecutive walked steps (``step[i]``: points i → i+1) along one ``key`` (per
    point): the key and the [lo, hi] span of ``m`` of each run (the union of its steps)."""
    idx = np.flatnonzero(step)
    if len(idx) == 0:
        return key[:0], np.zeros(0), np.zeros(0)
    new = np.concatenate([[True], (idx[1:] != idx[:-1] + 1) | (key[idx[1:]] != key[idx[:-1]])])
    starts = np.flatnonzero(new)
    lo = np.minimum.reduceat(np.minimum(m[idx], m[idx + 1]), starts)
    hi = np.maximum.reduceat(np.maximum(m[idx], m[idx + 1]), starts)
    return key[idx[starts]], lo, hi


def _walked(which: np.ndarray, m: np.ndarray, secs: np.ndarray, options: MatchOptions) -> np.ndarray:
    """Per step between consecutive points: both matched to the same reach and the distance
    along it plausible for the time between them (≤ ``max_speed_kmh`` × Δt + 2 × ``noise_m``)."""
    same = (which[:-1] >= 0) & (which[:-1] == which[1:])
    dm = np.abs(m[1:] - m[:-1])
    return same & (dm <= options.max_speed_kmh / 3.6 * (secs[1:] - secs[:-1]) + 2 * options.noise_m)


def match_many(tracks: Sequence[Track], reaches: gpd.GeoDataFrame, *, options: MatchOptions | None = None,
               _index: _ReachIndex | None = None) -> pd.DataFrame:
    """Patrolled intervals of many cleaned tracks at once (the matching step of
    :func:`match_track`, vectorised over all their points; no figures, no flags).

    Returns
    -------
    DataFrame
        track (position in ``tracks``), reach_id, from_m, to_m, length_m (metres along the
        reach), sorted by track, reach and start; the same intervals :func:`match_track` finds.
    """
    options = options or MatchOptions()
    index = _index or _reach_index(reaches)
    sizes = np.array([len(t) for t in tracks], dtype=np.int64)
    if sizes.sum() == 0:
        out = merge_intervals(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        return out.assign(track=pd.Series(dtype=np.int64))[["track", "reach_id", "from_m", "to_m", "length_m"]]
    lon = np.concatenate([t.lon for t in tracks])
    lat = np.concatenate([t.lat for t in tracks])
    ns = np.concatenate([t.times.astype("int64") for t in tracks])
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    secs = (ns - ns[first]) / 1e9
    track_of = np.repeat(np.arange(len(tracks)), sizes)
    breaks = np.zeros(len(lon), dtype=bool)
    breaks[(np.cumsum(sizes) - sizes)[sizes > 0]] = True
    x, y = index.to_m.transform(lon, lat)
    which, _, m = _match_xy(index, np.asarray(x, np.float64), np.asarray(y, np.float64), options.corridor_m,
                            breaks=breaks)
    step = _walked(which, m, secs, options) & ~breaks[1:]
    n_reach = max(len(index.ids), 1)
    key, lo, hi = _runs(track_of * n_reach + which, m, step)
    merged = merge_intervals(key, lo, hi)
    keys = merged["reach_id"].to_numpy(dtype=np.int64)
    merged.insert(0, "track", keys // n_reach)
    merged["reach_id"] = index.ids[keys % n_reach]
    return merged


def match_track(track: Track, reaches: gpd.GeoDataFrame, *, options: MatchOptions | None = None,
                grids: gpd.GeoDataFrame | None = None, flag_rules: FlagRules | None = None,
                clean_report: CleanReport | None = None, _index: _ReachIndex | None = None) -> PatrolResult:
    """Match a cleaned track to reaches: patrolled intervals, figures, single-track flags.

    Parameters
    ----------
    track : Track
        Cleaned points (see :func:`clean_track`), WGS84 lon/lat, increasing UTC times.
    reaches : GeoDataFrame
        Reach lines with a CRS, index = reach ids (see :func:`reaches_frame`).
    options : MatchOptions
        ``corridor_m`` (default 50 m): points nearer than this to a reach are projected onto the
        nearest one. Two consecutive points matched to the same reach are joined into a patrolled
        interval when their along-reach distance is plausible for the time between them
        (≤ ``max_speed_kmh`` × Δt + 2 × ``noise_m``).
    grids : GeoDataFrame, optional
        Grid polygons (index = ids) to report which grids the track touched.

    Returns
    -------
    PatrolResult
    """
    options = options or MatchOptions()
    rules = flag_rules or FlagRules()
    index = _index or _reach_index(reaches)
    clean_report = clean_report or CleanReport(len(track), len(track), dict.fromkeys(DROP_REASONS, 0))
    n = len(track)
    x, y = index.to_m.transform(track.lon, track.lat)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    secs = (track.times.astype("int64") - (track.times[0].astype("int64") if n else 0)) / 1e9
    which, dist, m = _match_xy(index, x, y, options.corridor_m)
    near = which >= 0
    if n >= 2:
        i, j = np.arange(n - 1), np.arange(1, n)
        plausible = _walked(which, m, secs, options)
        run_reach, lo, hi = _runs(which, m, plausible)
        matched = merge_intervals(index.ids[run_reach], lo, hi)
        river_duration = float(np.sum((secs[j] - secs[i])[plausible]))
        lengths = _step_m(track.lon, track.lat, i, j)
        length_m = float(lengths.sum())
    else:
        matched = merge_intervals(np.zeros(0, dtype=object), np.zeros(0), np.zeros(0))
        river_duration = 0.0
        length_m = 0.0
    touched_grids: list[Any] = []
    if grids is not None and len(grids) and n:
        g = grids.to_crs(index.crs)
        gtree = shapely.STRtree(np.asarray(g.geometry.array))
        _, hit = gtree.query(shapely.points(x, y), predicate="intersects")
        touched_grids = [g.index[k] for k in sorted(set(hit.tolist()))]
    result = PatrolResult(
        track=track, clean=clean_report, length_m=length_m,
        duration_s=float(secs[-1] - secs[0]) if n >= 2 else 0.0,
        start=track.times[0] if n else None, end=track.times[-1] if n else None,
        matched=matched, river_length_m=float(matched["length_m"].sum()), river_duration_s=river_duration,
        reaches=list(dict.fromkeys(matched["reach_id"].tolist())), grids=touched_grids,
        near_share=float(near.mean()) if n else 0.0, x=x, y=y, crs=index.crs,
    )
    if options.detect_offsets and n and float(np.median(dist)) > options.corridor_m:
        # (most points beyond the corridor: only then can detect_offset find anything)
        guess = detect_offset(track, reaches, corridor_m=options.corridor_m, _index=index)
        if guess is not None:
            result.offset_guess = guess
            code = f"probable_{guess['source']}"
            result.flags.append(_flag(
                code, f"轨迹整体偏离河道约 {guess['median_m_before']:.0f} 米，按 {guess['source'].upper()} 纠偏后仅 "
                      f"{guess['median_m_after']:.0f} 米，建议转换坐标（--from-crs {guess['source']}）",
                suggest_from_crs=guess["source"], **{k: v for k, v in guess.items() if k != "source"}))
    result.flags.extend(_single_flags(x, y, secs, dist, options.corridor_m, rules))
    return result


def analyse_track(track: Track, reaches: gpd.GeoDataFrame, *, from_crs: str | None = None,
                  options: MatchOptions | None = None, grids: gpd.GeoDataFrame | None = None,
                  flag_rules: FlagRules | None = None, _index: _ReachIndex | None = None) -> PatrolResult:
    """Convert (optionally), clean and match one track; see :func:`clean_track` and :func:`match_track`.

    Raises
    ------
    ValidationError
        Fewer than two usable points remain after cleaning (message says why).
    """
    options = options or MatchOptions()
    if from_crs is not None:
        track = track.converted(from_crs)
        options = replace(options, detect_offsets=False)
    kept, report = clean_track(track, max_speed_kmh=options.max_speed_kmh, noise_m=options.noise_m)
    if report.points_kept < 2:
        why = "，".join(f"{DROP_REASONS[k]} {v} 个" for k, v in report.dropped.items() if v) or "点数不足"
        raise ValidationError(f"轨迹“{track.name or track.source_name}”可用的点少于 2 个（共 {report.points_in} 个；{why}）",
                              f"fewer than 2 usable points ({report.dropped})")
    return match_track(kept, reaches, options=options, grids=grids, flag_rules=flag_rules, clean_report=report,
                       _index=_index)


# ---------------------------------------------------------------------------------------------
# Flags across tracks
# ---------------------------------------------------------------------------------------------


def _share_within(x: np.ndarray, y: np.ndarray, line: shapely.LineString, tol: float) -> float:
    d = shapely.distance(shapely.points(x, y), line)
    return float(np.mean(d <= tol))


def cross_flags(results: Sequence[PatrolResult], *, rules: FlagRules | None = None) -> None:
    """Add ``copied_track`` and ``concurrent_track`` flags to tracks of different persons, in place.

    Tracks must have been matched in the same metric CRS (one :func:`analyse_tracks` call).
    A track without a person is compared with every other track.
    """
    rules = rules or FlagRules()
    items = [(k, r) for k, r in enumerate(results) if r.x is not None and len(r.x) >= 2]
    if len(items) < 2:
        return
    lines = np.array([shapely.LineString(np.column_stack([r.x, r.y])) for _, r in items], dtype=object)
    tree = shapely.STRtree(lines)
    pairs = tree.query(lines, predicate="dwithin", distance=rules.concurrent_tolerance_m)
    for a, b in zip(*pairs):
        if a >= b:
            continue
        ra, rb = items[a][1], items[b][1]
        pa, pb = ra.track.person, rb.track.person
        if pa is not None and pa == pb:
            continue
        name_a = ra.track.name or ra.track.source_name
        name_b = rb.track.name or rb.track.source_name
        share_ab = _share_within(ra.x, ra.y, lines[b], rules.copy_tolerance_m)
        share_ba = _share_within(rb.x, rb.y, lines[a], rules.copy_tolerance_m)
        if min(share_ab, share_ba) >= rules.copy_share:
            for r, other, who in ((ra, rb, pb), (rb, ra, pa)):
                r.flags.append(_flag("copied_track", f"与 {who or '他人'} 的轨迹“{other.track.name or other.track.source_name}”"
                                                     f"形状相同（{rules.copy_tolerance_m:g} 米内）",
                                     other_track=other.track.track_id or (other.track.name or other.track.source_name),
                                     other_person=who))
            continue
        concurrent = _concurrent(ra, rb, rules)
        if concurrent is not None:
            for r, other, who in ((ra, rb, pb), (rb, ra, pa)):
                r.flags.append(_flag("concurrent_track", f"与 {who or '他人'} 的轨迹同一时间位于同一位置"
                                                         f"（{concurrent / 60:.0f} 分钟，{rules.concurrent_tolerance_m:g} 米内）",
                                     other_track=other.track.track_id or (name_b if r is ra else name_a),
                                     other_person=who, overlap_s=round(concurrent, 1)))


def _concurrent(ra: PatrolResult, rb: PatrolResult, rules: FlagRules) -> float | None:
    ta = ra.track.times.astype("int64") / 1e9
    tb = rb.track.times.astype("int64") / 1e9
    lo, hi = max(ta[0], tb[0]), min(ta[-1], tb[-1])
    if hi - lo < rules.concurrent_min_s:
        return None
    sel = (ta >= lo) & (ta <= hi)
    bx = np.interp(ta[sel], tb, rb.x)
    by = np.interp(ta[sel], tb, rb.y)
    close = np.hypot(ra.x[sel] - bx, ra.y[sel] - by) <= rules.concurrent_tolerance_m
    return float(hi - lo) if close.mean() >= 0.8 else None


def analyse_tracks(tracks: Iterable[Track], reaches: gpd.GeoDataFrame, *, options: MatchOptions | None = None,
                   grids: gpd.GeoDataFrame | None = None, flag_rules: FlagRules | None = None,
                   from_crs: str | None = None, skip_unusable: bool = True
                   ) -> tuple[list[PatrolResult], list[str]]:
    """:func:`analyse_track` for many tracks in one metric CRS, then :func:`cross_flags`.

    Returns the results and Chinese warnings for tracks skipped as unusable (``skip_unusable``).
    """
    index = _reach_index(reaches)
    results: list[PatrolResult] = []
    warns: list[str] = []
    for t in tracks:
        try:
            results.append(analyse_track(t, reaches, from_crs=from_crs, options=options, grids=grids,
                                         flag_rules=flag_rules, _index=index))
        except ValidationError as exc:
            if not skip_unusable:
                raise
            warns.append(exc.message_zh)
    cross_flags(results, rules=flag_rules)
    return results, warns
