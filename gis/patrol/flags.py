"""Patrol results and fake-patrol flags (疑似虚假巡河).

:class:`PatrolResult` is what :func:`gis.patrol.matching.match_track` makes of one track (figures,
patrolled intervals, flags; ``to_dict`` and ``text`` for the CLI and pages). The flags:
:func:`single_track_flags` (speed, distance from the river, synthetic regularity) for one track,
:func:`cross_flags` (copied and concurrent tracks) across tracks of different persons, the
coordinate-offset flags from :func:`gis.patrol.matching.detect_offset`; thresholds in
:class:`FlagRules`, labels in :data:`FLAG_LABELS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from gis.patrol.tracks import CleanReport, Track, iso_utc, local_text

__all__ = ["FLAG_LABELS", "FlagRules", "PatrolResult", "cross_flags", "make_flag", "single_track_flags"]

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
        m = self.matched
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
                {
                    "reach_id": _jsonable(rid),
                    "from_m": round(float(a), 1),
                    "to_m": round(float(b), 1),
                    "length_m": round(float(length), 1),
                }
                for rid, a, b, length in zip(m["reach_id"], m["from_m"], m["to_m"], m["length_m"])
            ],
            "reaches": [_jsonable(r) for r in self.reaches],
            "grids": [_jsonable(g) for g in self.grids],
            "flags": self.flags,
            "offset_guess": self.offset_guess,
        }

    def text(self) -> str:
        """Chinese summary (times in Asia/Shanghai)."""
        lines = [
            (
                f"轨迹“{self.track.name or self.track.source_name}”：{local_text(self.start)} 至 "
                f"{local_text(self.end)}（"
                "北京时间），"
                f"历时 {self.duration_s / 60:.1f} 分钟，长 {self.length_m / 1000:.2f} 公里，均速 "
                f"{self.avg_speed_kmh:.1f} km/h"
                ""
            ),
            self.clean.text(),
            f"沿河巡查 {self.river_length_m / 1000:.2f} 公里："
            + (
                "；".join(f"河段 {r.reach_id} {r.from_m:.0f}–{r.to_m:.0f} 米" for r in self.matched.itertuples())
                or "无"
            ),
        ]
        lines += [f"⚠ {f['label']}：{f.get('message', '')}" for f in self.flags]
        return "\n".join(lines)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def make_flag(code: str, message: str, **details: Any) -> dict[str, Any]:
    """A flag: ``code`` (see :data:`FLAG_LABELS`), its Chinese ``label``, ``message`` and details."""
    return {"code": code, "label": FLAG_LABELS[code], "message": message, **details}


# ---------------------------------------------------------------------------------------------
# Flags of one track
# ---------------------------------------------------------------------------------------------


def _rolling_median3(v: np.ndarray) -> np.ndarray:
    if len(v) < 3:
        return v.copy()
    return pd.Series(v).rolling(3, center=True, min_periods=1).median().to_numpy()


def single_track_flags(
    x: np.ndarray, y: np.ndarray, secs: np.ndarray, dist: np.ndarray, corridor_m: float, rules: FlagRules
) -> list[dict[str, Any]]:
    """The flags one track raises on its own: ``fast_speed``, ``far_from_river``, ``too_regular``.

    ``x``/``y`` are the points in a metric CRS (metres), ``secs`` their times in seconds from
    the first, ``dist`` their distance to the nearest reach (metres, ``inf`` beyond the corridor).
    """
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
            flags.append(
                make_flag(
                    "fast_speed",
                    f"连续 {durations[longest] / 60:.1f} 分钟速度中位数 {med:.1f} km/h"
                    f"（超过 {rules.fast_speed_kmh:g} km/h）",
                    median_speed_kmh=round(med, 1),
                    duration_s=round(float(durations[longest]), 1),
                )
            )
        elif total >= rules.fast_min_s:
            # A drive broken by stops (traffic lights, a look at the river) is sustained too.
            med = float(np.median(window_kmh[window_kmh > rules.fast_speed_kmh]))
            flags.append(
                make_flag(
                    "fast_speed",
                    f"累计 {total / 60:.1f} 分钟以 {med:.1f} km/h 行进（按 "
                    f"{rules.fast_window_s:g} 秒平均，超过 {rules.fast_speed_kmh:g} km/h）",
                    median_speed_kmh=round(med, 1),
                    duration_s=round(total, 1),
                )
            )
    far = float(np.mean(dist > corridor_m))
    if far > rules.far_share:
        flags.append(
            make_flag("far_from_river", f"{far:.0%} 的轨迹点距河道超过 {corridor_m:g} 米", far_share=round(far, 3))
        )
    moving = step > 0
    if n >= rules.regular_min_points and moving.sum() >= rules.regular_min_points - 1:
        s_m, d_m = step[moving], dt[moving]
        cv_s = float(np.std(s_m) / np.mean(s_m)) if np.mean(s_m) > 0 else 1.0
        cv_t = float(np.std(d_m) / np.mean(d_m)) if np.mean(d_m) > 0 else 1.0
        if cv_s < rules.regular_cv and cv_t < rules.regular_cv:
            flags.append(
                make_flag(
                    "too_regular",
                    f"步长变异系数 {cv_s:.3f}、时间间隔变异系数 {cv_t:.3f}，真实 GPS 不会如此均匀",
                    step_cv=round(cv_s, 4),
                    interval_cv=round(cv_t, 4),
                )
            )
    return flags


# ---------------------------------------------------------------------------------------------
# Flags across tracks
# ---------------------------------------------------------------------------------------------


def _share_within(x: np.ndarray, y: np.ndarray, line: shapely.LineString, tol: float) -> float:
    d = shapely.distance(shapely.points(x, y), line)
    return float(np.mean(d <= tol))


def cross_flags(results: Sequence[PatrolResult], *, rules: FlagRules | None = None) -> None:
    """Add ``copied_track`` and ``concurrent_track`` flags to tracks of different persons, in place.

    Tracks must have been matched in the same metric CRS (one :func:`gis.patrol.matching.analyse_tracks` call).
    A track without a person is compared with every other track.
    """
    rules = rules or FlagRules()
    items = [(r, r.x, r.y) for r in results if r.x is not None and r.y is not None and len(r.x) >= 2]
    if len(items) < 2:
        return
    lines = np.array([shapely.LineString(np.column_stack([x, y])) for _, x, y in items], dtype=object)
    tree = shapely.STRtree(lines)
    pairs = tree.query(lines, predicate="dwithin", distance=rules.concurrent_tolerance_m)
    for a, b in zip(*pairs):
        if a >= b:
            continue
        ra, rb = items[a][0], items[b][0]
        pa, pb = ra.track.person, rb.track.person
        if pa is not None and pa == pb:
            continue
        name_a = ra.track.name or ra.track.source_name
        name_b = rb.track.name or rb.track.source_name
        share_ab = _share_within(ra.x, ra.y, lines[b], rules.copy_tolerance_m)
        share_ba = _share_within(rb.x, rb.y, lines[a], rules.copy_tolerance_m)
        if min(share_ab, share_ba) >= rules.copy_share:
            for r, other, who in ((ra, rb, pb), (rb, ra, pa)):
                r.flags.append(
                    make_flag(
                        "copied_track",
                        f"与 {who or '他人'} 的轨迹“{other.track.name or other.track.source_name}”"
                        f"形状相同（{rules.copy_tolerance_m:g} 米内）",
                        other_track=other.track.track_id or (other.track.name or other.track.source_name),
                        other_person=who,
                    )
                )
            continue
        concurrent = _concurrent(ra, rb, rules)
        if concurrent is not None:
            for r, other, who in ((ra, rb, pb), (rb, ra, pa)):
                r.flags.append(
                    make_flag(
                        "concurrent_track",
                        f"与 {who or '他人'} 的轨迹同一时间位于同一位置"
                        f"（{concurrent / 60:.0f} 分钟，{rules.concurrent_tolerance_m:g} 米内）",
                        other_track=other.track.track_id or (name_b if r is ra else name_a),
                        other_person=who,
                        overlap_s=round(concurrent, 1),
                    )
                )


def _concurrent(ra: PatrolResult, rb: PatrolResult, rules: FlagRules) -> float | None:
    if ra.x is None or ra.y is None or rb.x is None or rb.y is None:  # not matched: no metric points
        return None
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
