"""The object ledger's pure core (对象台账): which patrol tracks visited which supervised objects and
when, the vocabulary of the 五定 (subtypes, inspection intervals) and whether an object is overdue.

A *visit* is a patrol track whose line passes within ``max_distance_m`` metres of an object's
point (``RIVERGRID_OBJECT_VISIT_M``, default 50 m), measured in a projected CRS chosen for the data
(:func:`gis.geometry.crs.metric_crs_for`: CGCS2000 Gauss-Krüger in China). Its time is the moment
the patroller was nearest the object: the position of the nearest point of the line
(:func:`shapely.line_locate_point`), its time interpolated between the times of the timed vertices
around it (a track without any timed vertex is not a visit: its time is unknown). Pairs are found
with one :class:`shapely.STRtree` query (``dwithin``), distances and positions with shapely's
array functions; the tests check the result against a per-pair loop.

An object is *overdue* at a moment when it has an inspection interval and its last visit or
inspection record is older than that many days, or it has none at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.errors import CRSError, ValidationError
from gis.geometry.crs import metric_crs_for

__all__ = [
    "INTERVAL_CHOICES",
    "SUBTYPE_LABELS",
    "VISIT_COLUMNS",
    "check_interval_days",
    "check_subtype",
    "interval_label",
    "is_overdue",
    "last_times",
    "subtype_label",
    "track_visits",
]

SUBTYPE_LABELS: dict[str, str] = {"outfall": "排污口", "intake": "取水口"}
"""Subtypes of a supervised object within its category (code → Chinese label)."""

INTERVAL_CHOICES: dict[int, str] = {7: "每周", 10: "每旬", 30: "每月", 91: "每季度"}
"""The usual inspection intervals, in days, with their Chinese names; any other number of days
is allowed (``每 N 天``)."""

VISIT_COLUMNS = ("object_id", "track_id", "distance_m", "visited_at")
"""Columns of :func:`track_visits`."""

MAX_INTERVAL_DAYS = 3660


def subtype_label(code: str | None) -> str:
    """The Chinese label of a subtype code (``""`` for none)."""
    return SUBTYPE_LABELS.get(code or "", "") if code else ""


def check_subtype(value: str | None) -> str | None:
    """A subtype code from its code or Chinese label; ``None``/empty for none."""
    text = (value or "").strip()
    if not text:
        return None
    for code, label in SUBTYPE_LABELS.items():
        if text in (code, label):
            return code
    choices = "、".join(SUBTYPE_LABELS.values())
    raise ValidationError(f"无法识别的对象细类“{text}”，可选：{choices}", f"unknown subtype {text!r}")


def interval_label(days: int | None) -> str | None:
    """``每周`` for 7, ``每 12 天`` for 12, ``None`` for no interval."""
    if days is None:
        return None
    return INTERVAL_CHOICES.get(int(days), f"每 {int(days)} 天")


def check_interval_days(value: Any) -> int | None:
    """An inspection interval in whole days (1 to 3660) from a number, its text or a name in
    :data:`INTERVAL_CHOICES` (``每月``); ``None``/empty for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        named = {label: days for days, label in INTERVAL_CHOICES.items()}
        if text in named:
            return named[text]
        text = text.removeprefix("每").removesuffix("天").strip()
    else:
        text = str(value)
    try:
        days = int(float(text))
    except ValueError:
        raise ValidationError(
            f"巡查周期应为天数或“{'、'.join(INTERVAL_CHOICES.values())}”，收到“{value}”",
            f"interval {value!r} is not a number of days",
        ) from None
    if not 1 <= days <= MAX_INTERVAL_DAYS or float(text) != days:
        raise ValidationError(
            f"巡查周期应为 1 到 {MAX_INTERVAL_DAYS} 之间的整数天，收到“{value}”", f"interval {value!r} out of range"
        )
    return days


def is_overdue(last: datetime | None, every_days: int | None, at: datetime) -> bool:
    """Whether an object inspected every ``every_days`` days, last at ``last``, is overdue at ``at``
    (aware datetimes). No interval: never overdue; an interval and no visit at all: overdue."""
    if every_days is None:
        return False
    if last is None:
        return True
    return at - last > timedelta(days=int(every_days))


def _check_frames(objects: gpd.GeoDataFrame, tracks: gpd.GeoDataFrame) -> None:
    for what, gdf in (("监管对象", objects), ("巡河轨迹", tracks)):
        if gdf.crs is None:
            raise CRSError(f"{what}没有坐标系，无法计算距离", f"{what}: no CRS")
    if objects.crs != tracks.crs:
        raise CRSError(
            f"监管对象（{objects.crs.to_string()}）与巡河轨迹（{tracks.crs.to_string()}）的坐标系不同，请先统一坐标系",
            f"objects in {objects.crs.to_string()}, tracks in {tracks.crs.to_string()}: reproject one of them",
        )


def _empty_visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "object_id": pd.Series([], dtype="int64"),
            "track_id": pd.Series([], dtype="int64"),
            "distance_m": pd.Series([], dtype="float64"),
            "visited_at": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )


def _vertex_positions(line: shapely.LineString) -> np.ndarray:
    """Distance along ``line`` of each of its vertices (projected units)."""
    xy = shapely.get_coordinates(line)
    steps = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    return np.concatenate([[0.0], np.cumsum(steps)])


def _time_at(positions: np.ndarray, times: np.ndarray, along: np.ndarray) -> np.ndarray:
    """Times (int64 ns, UTC) at the distances ``along`` the line, interpolated between the timed
    vertices; NaT (``iNaT``) when no vertex is timed."""
    timed = ~np.isnat(times)
    if not timed.any():
        return np.full(len(along), np.iinfo(np.int64).min, dtype=np.int64)
    pos = positions[timed]
    ns = times[timed].astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    order = np.argsort(pos, kind="stable")
    out: np.ndarray = np.rint(np.interp(along, pos[order], ns[order])).astype(np.int64)
    return out


def track_visits(objects: gpd.GeoDataFrame, tracks: gpd.GeoDataFrame, *, max_distance_m: float = 50.0) -> pd.DataFrame:
    """Every (object, track) pair where the track passes within ``max_distance_m`` of the object.

    Parameters
    ----------
    objects : GeoDataFrame
        Points of the supervised objects; the index is the object id.
    tracks : GeoDataFrame
        Patrol tracks as LineStrings, same CRS as ``objects`` (any CRS: measured in a projected
        one chosen for the data); the index is the track id; column ``times``: one array of UTC
        ``datetime64`` per track, one time per vertex (NaT for an untimed vertex).
    max_distance_m : float
        Largest distance from the object to the track line, in metres (inclusive).

    Returns
    -------
    DataFrame
        Columns :data:`VISIT_COLUMNS`: object id, track id, distance in metres, and the UTC
        moment the track was nearest the object (``datetime64[ns, UTC]``, whole microseconds). Pairs of tracks
        without any timed vertex are left out. Sorted by object id and visit time.

    Raises
    ------
    CRSError
        Either frame has no CRS, or their CRSs differ.
    ValidationError
        ``max_distance_m`` negative or not finite.
    """
    if not np.isfinite(max_distance_m) or max_distance_m < 0:
        raise ValidationError(
            f"巡查距离应为不小于 0 的米数，收到 {max_distance_m}", f"max_distance_m must be >= 0, got {max_distance_m}"
        )
    if len(objects) == 0 or len(tracks) == 0:
        return _empty_visits()
    _check_frames(objects, tracks)
    both = pd.concat([objects.geometry.to_crs("EPSG:4326"), tracks.geometry.to_crs("EPSG:4326")])
    metric = metric_crs_for(tuple(gpd.GeoSeries(both, crs="EPSG:4326").total_bounds))
    points = objects.geometry.to_crs(metric).to_numpy()
    lines = tracks.geometry.to_crs(metric).to_numpy()
    tree = shapely.STRtree(lines)
    obj_idx, trk_idx = tree.query(points, predicate="dwithin", distance=max_distance_m)
    if len(obj_idx) == 0:
        return _empty_visits()
    distance = shapely.distance(points[obj_idx], lines[trk_idx])
    along = shapely.line_locate_point(lines[trk_idx], points[obj_idx])
    stamps = np.empty(len(obj_idx), dtype=np.int64)
    times = tracks["times"].to_numpy()
    for k in np.unique(trk_idx):
        sel = trk_idx == k
        stamps[sel] = _time_at(_vertex_positions(lines[k]), np.asarray(times[k], dtype="datetime64[ns]"), along[sel])
    out = pd.DataFrame(
        {
            "object_id": objects.index.to_numpy()[obj_idx].astype("int64"),
            "track_id": tracks.index.to_numpy()[trk_idx].astype("int64"),
            "distance_m": distance,
            "visited_at": pd.to_datetime(stamps.view("datetime64[ns]"), utc=True).floor("us"),
        }
    )
    out = out[out["visited_at"].notna()]
    return out.sort_values(["object_id", "visited_at", "track_id"], kind="stable").reset_index(drop=True)


def last_times(
    ids: Sequence[int], visits: pd.DataFrame, records: pd.DataFrame, *, before: pd.Timestamp
) -> dict[int, tuple[pd.Timestamp, str, int]]:
    """The last visit or inspection record of each object before ``before`` (UTC): object id →
    (time, ``patrol`` or ``record``, track id or record id). ``records`` has columns
    ``object_id``, ``id``, ``at`` (UTC). Objects without any are left out."""
    out: dict[int, tuple[pd.Timestamp, str, int]] = {}
    wanted = set(int(i) for i in ids)
    for frame, source, id_col, at_col in (
        (visits, "patrol", "track_id", "visited_at"),
        (records, "record", "id", "at"),
    ):
        if len(frame) == 0:
            continue
        mine = frame[(frame[at_col] < before) & frame["object_id"].isin(wanted)]
        if len(mine) == 0:
            continue
        last = mine.sort_values([at_col, id_col], kind="stable").groupby("object_id").tail(1)
        for oid, at, rid in zip(last["object_id"], last[at_col], last[id_col], strict=True):
            prev = out.get(int(oid))
            if prev is None or at > prev[0]:
                out[int(oid)] = (pd.Timestamp(at), source, int(rid))
    return out
