"""Benchmark of patrol matching (``gis.patrol.matching``): GPS points against reaches.

Generates ``--reaches`` meandering reaches (:func:`bench.synthetic.make_reaches`, EPSG:4551 near
Linjiang) and ``--tracks`` patrols with ``--points`` GPS points in all: each walks along a random
single-part reach at 3–6 km/h (one fix every 4–6 s, turning back at the reach's ends) with 7 m of GPS noise;
one in ten walks 150 m beside its river (nothing to match). Then:

1. builds the reach index (STRtree and the segment hash of the corridor; ``index_s``);
2. matches every point with :func:`gis.patrol.matching.match_many` (nearest reach within ``--corridor-m``,
   projection in metres along it, continuity at confluences, patrolled intervals per track;
   ``match_s``, transformation from lon/lat included);
3. checks that :func:`gis.patrol.matching.match_track`, one track at a time, finds the same intervals on
   ``--check-tracks`` tracks;
4. times a naive loop on ``--naive`` of the points: for each point, the distance to every reach
   (``shapely`` one pair at a time), the nearest one within the corridor and
   ``line_locate_point`` on it; checks it agrees with ours (same reach and position where one
   reach lies within the corridor; where several do, ours keeps the track's own reach, which
   must be one of them).

Prints progress lines, CPU time beside wall time and the load average (the machine is shared:
wall ≫ CPU means the process waited for a core), then as its last line one JSON object
``{"reaches", "points", "tracks", "index_s", "match_s", "match_cpu_s", "naive_ms_per_point",
"naive_extrapolated_s", "ratio", "agree", "load_avg", "full_s"}`` (``ratio`` = naive extrapolated to
all points / ``match_s``; ``full_s``: with ``--full``, the whole analysis of every track, see
:func:`gis.patrol.matching.analyse_tracks`). Exits with status 1 when matching takes 5 s or more (the target of issue
6) or when anything disagrees.

Run: ``python bench/patrol.py`` (about a minute, most of it the naive loop and generating data).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.synthetic import CRS, make_reaches
from gis.patrol.matching import (
    MatchOptions,
    _match_xy,
    _reach_index,
    analyse_tracks,
    match_many,
    match_track,
    reaches_frame,
)
from gis.patrol.tracks import Track

TARGET_S = 5.0
T0 = np.datetime64("2026-11-02T00:00:00", "ns")


def make_tracks(
    rng: np.random.Generator, reaches_m: np.ndarray, n_tracks: int, n_points: int
) -> tuple[list[Track], np.ndarray, np.ndarray]:
    """Tracks (lon/lat, UTC times) walking along random reaches; also all points' metric x, y."""
    sizes = np.full(n_tracks, n_points // n_tracks)
    sizes[: n_points % n_tracks] += 1
    # along single-part reaches: on a MultiLineString the walker would jump the gap between parts
    simple = np.flatnonzero(shapely.get_type_id(reaches_m) == 1)
    which = simple[rng.integers(0, len(simple), n_tracks)]
    length = shapely.length(reaches_m)[which]
    track_of = np.repeat(np.arange(n_tracks), sizes)
    step_m = rng.uniform(3, 6, n_tracks)[track_of] / 3.6 * rng.uniform(4, 6, len(track_of))
    firsts = np.cumsum(sizes) - sizes
    walked = np.cumsum(step_m)
    walked -= np.repeat(walked[firsts], sizes)
    s = rng.uniform(0, 1, n_tracks)[track_of] * length[track_of] + walked
    span = length[track_of]
    s = span - np.abs(np.mod(s, 2 * span) - span)  # there and back along the reach
    pts = shapely.line_interpolate_point(reaches_m[which][track_of], s)
    beside = (rng.random(n_tracks) < 0.1)[track_of] * 150.0
    x = shapely.get_x(pts) + rng.normal(0, 7, len(s)) + beside
    y = shapely.get_y(pts) + rng.normal(0, 7, len(s))
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    secs = np.cumsum(rng.uniform(4, 6, len(s)))
    secs -= np.repeat(secs[firsts], sizes)
    times = T0 + (secs * 1e9).astype("int64").astype("timedelta64[ns]")
    tracks = [
        Track(lon=lon[a : a + k], lat=lat[a : a + k], times=times[a : a + k], name=f"t{i}")
        for i, (a, k) in enumerate(zip(firsts, sizes))
    ]
    return tracks, np.asarray(x), np.asarray(y)


def naive(
    reaches_m: np.ndarray, x: np.ndarray, y: np.ndarray, corridor_m: float
) -> tuple[list[int], list[float], list[set[int]]]:
    """Per point: nearest reach within the corridor (-1: none), its position (m), all reaches within."""
    which, along, within = [], [], []
    for px, py in zip(x.tolist(), y.tolist()):
        pt = shapely.Point(px, py)
        d = [g.distance(pt) for g in reaches_m]
        k = min(range(len(d)), key=d.__getitem__)
        near = d[k] <= corridor_m
        which.append(k if near else -1)
        along.append(reaches_m[k].project(pt) if near else float("nan"))
        within.append({i for i, v in enumerate(d) if v <= corridor_m})
    return which, along, within


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reaches", type=int, default=5_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--tracks", type=int, default=1_000)
    parser.add_argument("--corridor-m", type=float, default=50.0)
    parser.add_argument("--naive", type=int, default=200, help="points timed with the naive loop")
    parser.add_argument("--check-tracks", type=int, default=20, help="tracks also matched one by one")
    parser.add_argument(
        "--full",
        action="store_true",
        help="also time the whole analysis (cleaning, matching, figures, fake-patrol flags)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    options = MatchOptions(corridor_m=args.corridor_m)

    t = time.perf_counter()
    reaches_m = make_reaches(args.reaches, seed=args.seed)
    reaches = reaches_frame(reaches_m.to_crs("EPSG:4326"))
    geoms_m = np.asarray(reaches_m.geometry.array)
    tracks, x, y = make_tracks(rng, geoms_m, args.tracks, args.points)
    vertices = int(shapely.get_num_coordinates(geoms_m).sum())
    print(
        f"generated {len(reaches):,} reaches ({vertices:,} vertices, {shapely.length(geoms_m).sum() / 1000:,.0f} km) "
        f"and {len(tracks):,} tracks with {len(x):,} points in {time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    index = _reach_index(reaches)
    index.segments_for(options.corridor_m)
    index_s = time.perf_counter() - t
    segs = index.segments_for(options.corridor_m)
    print(
        f"index built in {index_s:.2f} s ({len(segs.segments):,} segments, {len(segs.keys):,} cell entries, "
        f"metric CRS EPSG:{index.crs.to_epsg()})"
    )

    t, c = time.perf_counter(), time.process_time()
    matched = match_many(tracks, reaches, options=options, _index=index)
    match_s, match_cpu_s = time.perf_counter() - t, time.process_time() - c
    load = os.getloadavg()
    print(
        f"matched {len(x):,} points in {match_s:.2f} s (CPU {match_cpu_s:.2f} s; load average "
        f"{load[0]:.1f} on {os.cpu_count()} cores): {len(matched):,} patrolled intervals, "
        f"{matched['length_m'].sum() / 1000:,.0f} km along rivers"
    )

    agree = True
    k = min(args.check_tracks, len(tracks))
    one = pd.concat(
        [match_track(tracks[i], reaches, options=options, _index=index).matched.assign(track=i) for i in range(k)],
        ignore_index=True,
    )
    many = matched[matched["track"] < k]
    cols = ["track", "reach_id", "from_m", "to_m"]
    a = one[cols].sort_values(cols).to_numpy(dtype=float)
    b = many[cols].sort_values(cols).to_numpy(dtype=float)
    same_tracks = a.shape == b.shape and np.allclose(a, b, atol=1e-6)
    agree &= same_tracks
    print(f"match_track one by one on {k} tracks: same intervals: {'yes' if same_tracks else 'NO'}")

    n = min(args.naive, len(x))
    sample = np.sort(rng.choice(len(x), n, replace=False))
    t = time.perf_counter()
    n_which, n_m, n_within = naive(geoms_m, x[sample], y[sample], args.corridor_m)
    naive_ms = (time.perf_counter() - t) * 1000 / n
    # ours for every point (the same call match_many makes), compared on the sample
    sizes = np.array([len(tr) for tr in tracks])
    breaks = np.zeros(len(x), dtype=bool)
    breaks[np.cumsum(sizes) - sizes] = True
    xm, ym = index.to_m.transform(np.concatenate([tr.lon for tr in tracks]), np.concatenate([tr.lat for tr in tracks]))
    o_which, _, o_m = _match_xy(index, np.asarray(xm), np.asarray(ym), options.corridor_m, breaks=breaks)
    single_ok = several_ok = singles = several = 0
    for j, p in enumerate(sample.tolist()):
        if len(n_within[j]) <= 1:
            singles += 1
            single_ok += int(o_which[p] == n_which[j] and (n_which[j] < 0 or abs(o_m[p] - n_m[j]) < 1e-6))
        else:
            several += 1
            several_ok += int(o_which[p] in n_within[j])
    same_points = single_ok == singles and several_ok == several
    agree &= same_points
    extrapolated = naive_ms / 1000 * len(x)
    ratio = extrapolated / match_s
    print(
        f"naive loop over all reaches ({n} points): {naive_ms:.1f} ms/point, {extrapolated:,.0f} s for all points "
        f"(extrapolated); ours is {ratio:,.0f}× faster"
    )
    print(
        f"  same reach and position: {single_ok}/{singles} points near at most one reach; "
        f"{several_ok}/{several} near several keep one of them"
    )
    full_s = None
    if args.full:
        t, c = time.perf_counter(), time.process_time()
        results, _ = analyse_tracks(tracks, reaches, options=options)
        full_s, full_cpu = time.perf_counter() - t, time.process_time() - c
        flagged = sum(bool(r.flags) for r in results)
        print(
            f"whole analysis (analyse_tracks: clean, match, figures, flags incl. copied/concurrent tracks): "
            f"{full_s:.1f} s (CPU {full_cpu:.1f} s); {flagged} tracks flagged"
        )
    met = match_s < TARGET_S
    print(f"target < {TARGET_S:g} s for {len(x):,} points: {'met' if met else 'MISSED'}")
    print(
        json.dumps(
            {
                "reaches": len(reaches),
                "points": len(x),
                "tracks": len(tracks),
                "index_s": round(index_s, 3),
                "match_s": round(match_s, 3),
                "match_cpu_s": round(match_cpu_s, 3),
                "naive_ms_per_point": round(naive_ms, 3),
                "naive_extrapolated_s": round(extrapolated, 1),
                "ratio": round(ratio, 1),
                "agree": bool(agree),
                "load_avg": round(load[0], 2),
                "full_s": None if full_s is None else round(full_s, 2),
            }
        )
    )
    return 0 if (met and agree) else 1


if __name__ == "__main__":
    sys.exit(main())
