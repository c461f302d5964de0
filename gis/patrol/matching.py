"""Patrol matching (轨迹匹配): which stretches of which reaches a cleaned track walked.

:func:`match_track` projects the points within a corridor of a reach onto it (metres from the
reach's start) and merges consecutive matched points into patrolled intervals; it also detects a
probable GCJ-02/BD-09 offset (:func:`detect_offset`) and raises the flags that need only one
track (:mod:`gis.patrol.flags`). :func:`match_many` does the matching of many tracks at once;
:func:`analyse_track`/:func:`analyse_tracks` clean (:mod:`gis.patrol.tracks`), match and flag.

The reaches' segments are hashed once per corridor (:class:`gis.geometry.segindex.SegmentIndex`,
the index the coverage check uses too): the segments within the corridor of a point are those of
its cell. Distances are metres in a metric CRS chosen for the reaches
(:func:`gis.geometry.crs.metric_crs_for`); times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gis.errors import CRSError, ValidationError
from gis.geometry.crs import metric_crs_for, to_crs, transformer
from gis.geometry.segindex import SegmentIndex
from gis.patrol.flags import FlagRules, PatrolResult, cross_flags, make_flag, single_track_flags
from gis.patrol.tiled import PointCandidates, point_candidates, resolve_continuity, segment_index, tiled_candidates
from gis.patrol.tracks import DROP_REASONS, CleanReport, Track, clean_track, geodesic_m

__all__ = [
    "MatchOptions",
    "analyse_track",
    "analyse_tracks",
    "detect_offset",
    "match_many",
    "match_track",
    "merge_intervals",
    "reaches_frame",
]


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
    gdf = to_crs(gdf, "EPSG:4326")
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


# ---------------------------------------------------------------------------------------------
# The reach index
# ---------------------------------------------------------------------------------------------


@dataclass
class _ReachIndex:
    ids: np.ndarray
    geoms_m: np.ndarray
    tree: shapely.STRtree
    crs: pyproj.CRS
    to_m: pyproj.Transformer
    segments: dict[float, SegmentIndex] = field(default_factory=dict)

    def segments_for(self, corridor_m: float) -> SegmentIndex:
        """The reaches' segments hashed for ``corridor_m`` (built once per corridor): every
        segment within the corridor of a point is listed in the point's cell."""
        key = float(corridor_m)
        if key not in self.segments:
            self.segments[key] = segment_index(self.geoms_m, key)
        return self.segments[key]


def _reach_index(reaches: gpd.GeoDataFrame, crs: pyproj.CRS | None = None) -> _ReachIndex:
    crs = crs or metric_crs_for(reaches)
    proj = to_crs(reaches, crs)
    geoms = np.asarray(proj.geometry.array)
    return _ReachIndex(
        ids=np.asarray(reaches.index, dtype=object),
        geoms_m=geoms,
        tree=shapely.STRtree(geoms),
        crs=crs,
        to_m=transformer("EPSG:4326", crs),
    )


def _nearest(
    index: _ReachIndex, x: np.ndarray, y: np.ndarray, max_distance: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per point: position of the nearest reach (-1 when none within ``max_distance``) and its distance."""
    pts = shapely.points(x, y)
    which = np.full(len(pts), -1, dtype=np.int64)
    dist = np.full(len(pts), np.inf)
    if len(pts) == 0 or len(index.geoms_m) == 0:
        return which, dist
    (src, tgt), d = index.tree.query_nearest(pts, max_distance=max_distance, return_distance=True, all_matches=False)
    which[src] = tgt
    dist[src] = d
    return which, dist


def _match_xy(
    index: _ReachIndex,
    x: np.ndarray,
    y: np.ndarray,
    corridor_m: float,
    *,
    breaks: np.ndarray | None = None,
    tile_m: float | None = None,
    scheduler: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point (metric x, y): the position of the nearest reach within ``corridor_m`` (-1 when
    none), the distance to it (``inf`` beyond the corridor) and the point's projection on it in
    metres from the reach's start (NaN when none).

    Where several reaches lie within the corridor (a confluence, a reach end), the reach of the
    point before is kept when it is one of them, else that of the next point with a single
    candidate. ``breaks``: True where a new track starts (continuity does not cross it).
    ``tile_m``: find the candidates tile by tile (:mod:`gis.patrol.tiled`; the same result),
    where ``scheduler`` says (:func:`gis.tiling.run_tiles`).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) == 0 or len(index.geoms_m) == 0:
        c = PointCandidates.empty(len(x))
    elif tile_m is None:
        c = point_candidates(index.segments_for(corridor_m), x, y)
    else:
        c = tiled_candidates(index.geoms_m, x, y, corridor_m, tile_m=tile_m, scheduler=scheduler)
    which = resolve_continuity(c, breaks)
    return which, c.dist, c.m


def detect_offset(
    track: Track, reaches: gpd.GeoDataFrame, *, corridor_m: float = 50.0, _index: _ReachIndex | None = None
) -> dict[str, Any] | None:
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
        shifted = track.converted(source)
        xs, ys = index.to_m.transform(shifted.lon, shifted.lat)
        _, d1 = _nearest(index, np.asarray(xs), np.asarray(ys))
        after = float(np.median(d1))
        shift = float(np.median(np.hypot(np.asarray(xs) - x, np.asarray(ys) - y)))
        if after <= corridor_m and after <= before / 3.0 and (best is None or after < best["median_m_after"]):
            best = {
                "source": source,
                "median_m_before": round(before, 1),
                "median_m_after": round(after, 1),
                "shift_m": round(shift, 1),
            }
    return best


# ---------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------


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
    walked: np.ndarray = same & (dm <= options.max_speed_kmh / 3.6 * (secs[1:] - secs[:-1]) + 2 * options.noise_m)
    return walked


def match_many(
    tracks: Sequence[Track],
    reaches: gpd.GeoDataFrame,
    *,
    options: MatchOptions | None = None,
    tile_m: float | None = None,
    scheduler: str | None = None,
    _index: _ReachIndex | None = None,
) -> pd.DataFrame:
    """Patrolled intervals of many cleaned tracks at once (the matching step of
    :func:`match_track`, vectorised over all their points; no figures, no flags).

    ``tile_m``: match the points to reaches per square tile of that side in metres (memory then
    depends on the tile, not on all reaches; the same result, see :mod:`gis.patrol.tiled`), run
    where ``scheduler`` says (``"inline"``, ``"local"``, ``"tcp://host:8786"``; None: the setting
    ``RIVERGRID_DASK_SCHEDULER``, see :func:`gis.tiling.run_tiles`).

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
    which, _, m = _match_xy(
        index,
        np.asarray(x, np.float64),
        np.asarray(y, np.float64),
        options.corridor_m,
        breaks=breaks,
        tile_m=tile_m,
        scheduler=scheduler,
    )
    step = _walked(which, m, secs, options) & ~breaks[1:]
    n_reach = max(len(index.ids), 1)
    key, lo, hi = _runs(track_of * n_reach + which, m, step)
    merged = merge_intervals(key, lo, hi)
    keys = merged["reach_id"].to_numpy(dtype=np.int64)
    merged.insert(0, "track", keys // n_reach)
    merged["reach_id"] = index.ids[keys % n_reach]
    return merged


def match_track(
    track: Track,
    reaches: gpd.GeoDataFrame,
    *,
    options: MatchOptions | None = None,
    grids: gpd.GeoDataFrame | None = None,
    flag_rules: FlagRules | None = None,
    clean_report: CleanReport | None = None,
    _index: _ReachIndex | None = None,
    _matched: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> PatrolResult:
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
    _matched : (which, dist, m), optional
        The track's points already matched (:func:`_match_xy`, e.g. tile by tile for many tracks).

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
    which, dist, m = _matched if _matched is not None else _match_xy(index, x, y, options.corridor_m)
    near = which >= 0
    if n >= 2:
        i, j = np.arange(n - 1), np.arange(1, n)
        plausible = _walked(which, m, secs, options)
        run_reach, lo, hi = _runs(which, m, plausible)
        matched = merge_intervals(index.ids[run_reach], lo, hi)
        river_duration = float(np.sum((secs[j] - secs[i])[plausible]))
        lengths = geodesic_m(track.lon, track.lat, i, j)
        length_m = float(lengths.sum())
    else:
        matched = merge_intervals(np.zeros(0, dtype=object), np.zeros(0), np.zeros(0))
        river_duration = 0.0
        length_m = 0.0
    touched_grids: list[Any] = []
    if grids is not None and len(grids) and n:
        g = to_crs(grids, index.crs)
        gtree = shapely.STRtree(np.asarray(g.geometry.array))
        _, hit = gtree.query(shapely.points(x, y), predicate="intersects")
        touched_grids = [g.index[k] for k in sorted(set(hit.tolist()))]
    result = PatrolResult(
        track=track,
        clean=clean_report,
        length_m=length_m,
        duration_s=float(secs[-1] - secs[0]) if n >= 2 else 0.0,
        start=track.times[0] if n else None,
        end=track.times[-1] if n else None,
        matched=matched,
        river_length_m=float(matched["length_m"].sum()),
        river_duration_s=river_duration,
        reaches=list(dict.fromkeys(matched["reach_id"].tolist())),
        grids=touched_grids,
        near_share=float(near.mean()) if n else 0.0,
        x=x,
        y=y,
        crs=index.crs,
    )
    if options.detect_offsets and n and float(np.median(dist)) > options.corridor_m:
        # (most points beyond the corridor: only then can detect_offset find anything)
        guess = detect_offset(track, reaches, corridor_m=options.corridor_m, _index=index)
        if guess is not None:
            result.offset_guess = guess
            code = f"probable_{guess['source']}"
            result.flags.append(
                make_flag(
                    code,
                    f"轨迹整体偏离河道约 {guess['median_m_before']:.0f} 米，按 {guess['source'].upper()} 纠偏后仅 "
                    f"{guess['median_m_after']:.0f} 米，建议转换坐标（--from {guess['source']}）",
                    suggest_from_crs=guess["source"],
                    **{k: v for k, v in guess.items() if k != "source"},
                )
            )
    result.flags.extend(single_track_flags(x, y, secs, dist, options.corridor_m, rules))
    return result


def _cleaned(track: Track, from_crs: str | None, options: MatchOptions) -> tuple[Track, CleanReport, MatchOptions]:
    """The track converted (``from_crs``) and cleaned, its report and the options to match it with.

    Raises ValidationError when fewer than two usable points remain (message says why).
    """
    if from_crs is not None:
        track = track.converted(from_crs)
        options = replace(options, detect_offsets=False)
    kept, report = clean_track(track, max_speed_kmh=options.max_speed_kmh, noise_m=options.noise_m)
    if report.points_kept < 2:
        why = "，".join(f"{DROP_REASONS[k]} {v} 个" for k, v in report.dropped.items() if v) or "点数不足"
        raise ValidationError(
            f"轨迹“{track.name or track.source_name}”可用的点少于 2 个（共 {report.points_in} 个；{why}）",
            f"fewer than 2 usable points ({report.dropped})",
        )
    return kept, report, options


def analyse_track(
    track: Track,
    reaches: gpd.GeoDataFrame,
    *,
    from_crs: str | None = None,
    options: MatchOptions | None = None,
    grids: gpd.GeoDataFrame | None = None,
    flag_rules: FlagRules | None = None,
    _index: _ReachIndex | None = None,
) -> PatrolResult:
    """Convert (optionally), clean and match one track; see :func:`clean_track` and :func:`match_track`.

    Raises
    ------
    ValidationError
        Fewer than two usable points remain after cleaning (message says why).
    """
    kept, report, options = _cleaned(track, from_crs, options or MatchOptions())
    return match_track(
        kept, reaches, options=options, grids=grids, flag_rules=flag_rules, clean_report=report, _index=_index
    )


def analyse_tracks(
    tracks: Iterable[Track],
    reaches: gpd.GeoDataFrame,
    *,
    options: MatchOptions | None = None,
    grids: gpd.GeoDataFrame | None = None,
    flag_rules: FlagRules | None = None,
    from_crs: str | None = None,
    skip_unusable: bool = True,
    tile_m: float | None = None,
    scheduler: str | None = None,
) -> tuple[list[PatrolResult], list[str]]:
    """:func:`analyse_track` for many tracks in one metric CRS, then :func:`cross_flags`.

    ``tile_m``: the points of all tracks are matched to reaches per square tile of that side in
    metres (run where ``scheduler`` says, as in :func:`match_many`), while each
    track's figures, flags and the cross-track flags are computed on whole tracks: the results
    are those of the single pass. Returns the results and Chinese warnings for tracks skipped
    as unusable (``skip_unusable``).
    """
    index = _reach_index(reaches)
    options = options or MatchOptions()
    warns: list[str] = []
    ready: list[tuple[Track, CleanReport, MatchOptions]] = []
    for t in tracks:
        try:
            ready.append(_cleaned(t, from_crs, options))
        except ValidationError as exc:
            if not skip_unusable:
                raise
            warns.append(exc.message_zh)
    matched: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(ready)
    if tile_m is not None and ready:
        sizes = np.array([len(kept) for kept, _, _ in ready], dtype=np.int64)
        firsts = np.cumsum(sizes) - sizes
        lon = np.concatenate([kept.lon for kept, _, _ in ready])
        x, y = index.to_m.transform(lon, np.concatenate([kept.lat for kept, _, _ in ready]))
        breaks = np.zeros(int(sizes.sum()), dtype=bool)
        breaks[firsts] = True
        which, dist, m = _match_xy(
            index, np.asarray(x), np.asarray(y), options.corridor_m, breaks=breaks, tile_m=tile_m, scheduler=scheduler
        )
        matched = [(which[a : a + k], dist[a : a + k], m[a : a + k]) for a, k in zip(firsts.tolist(), sizes.tolist())]
    results = [
        match_track(
            kept,
            reaches,
            options=opts,
            grids=grids,
            flag_rules=flag_rules,
            clean_report=report,
            _index=index,
            _matched=pts,
        )
        for (kept, report, opts), pts in zip(ready, matched)
    ]
    cross_flags(results, rules=flag_rules)
    return results, warns
