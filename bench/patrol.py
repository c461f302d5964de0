"""Benchmark of patrol matching (``gis.patrol.matching``) against fair baselines, side by side.

    python bench/patrol.py [--reaches N] [--points N] [--tracks N] [--tile-km KM] [--parallel SCHEDULER]

Generates ``--reaches`` meandering reaches (:func:`bench.synthetic.make_reaches`, EPSG:4551) and
``--tracks`` patrols with ``--points`` GPS points in all: each walks along a random single-part reach
at 3–6 km/h (one fix every 4–6 s, turning back at the reach's ends) with 7 m of GPS noise; one in ten
walks 150 m beside its river (nothing to match). All methods get the points in lon/lat and the
reaches in lon/lat, and find for every point the nearest reach within ``--corridor-m`` and the
point's position along it (metres from the reach's start). Timed in one run:

(a) ours, single pass (``ours_s``): the reach index (projection, STRtree, segment hash of the
    corridor) and :func:`gis.patrol.matching.match_many` (which also applies continuity at
    confluences and builds the patrolled intervals per track — more work than the baselines do);
    ``match_s`` is ``match_many`` alone with the index built (target < 5 s for 1M points);
(b) ours, tiled (``tiled_s``): ``match_many(tile_m=…, scheduler="inline")``, tiles of ``--tile-km``
    (default: the setting ``RIVERGRID_TILE_KM``) one after another in this process; with
    ``--parallel local|tcp://HOST:8786`` also on dask (``parallel_s``; with ``local`` the
    LocalCluster's start-up is included); both must give exactly the single pass's intervals;
(c) geopandas (``sjoin_s``): reaches and points ``to_crs`` the same metric CRS,
    ``gpd.sjoin_nearest(points, reaches, max_distance=corridor, distance_col=…)`` (ties: every
    tied reach is returned; the first is kept) and ``shapely.line_locate_point`` on the reach found;
(d) shapely (``strtree_s``): ``STRtree(reaches).query_nearest(points, max_distance=corridor,
    all_matches=False)`` and ``line_locate_point``, without geopandas.

Agreement (``agree``): every baseline must match the same points (a reach within the corridor or
not), to the same reach as our nearest candidate (one of the tied reaches where several are
equally near) and the same position (within 1e-6 m); where several reaches lie within the corridor
ours may then keep the track's own reach (continuity), which is counted, not a disagreement.
Ratios are ``baseline_s / ours_s``; ``ratio`` is against the strongest (fastest) baseline.

Beside every wall time: the CPU time of this process (``time.process_time``; dask workers' CPU is
not included) and the 1-minute load average when the step finished (the machine is shared: wall ≫
CPU means the process waited for a core). Footnote only: a naive loop over every reach per point on
``--naive`` points, extrapolated (``naive_footnote``). The last line is one JSON object. Exits with
status 1 when ``match_s`` is 5 s or more or when anything disagrees.

Run: ``python bench/patrol.py`` (a few minutes, most of it generating data and the baselines).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.synthetic import CRS, make_reaches
from gis.config import settings
from gis.geometry.segindex import SegmentIndex
from gis.patrol.matching import MatchOptions, _reach_index, analyse_tracks, match_many, match_track, reaches_frame
from gis.patrol.tiled import patrol_tiles, point_candidates, resolve_continuity, segment_index
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


def log(msg: str) -> None:
    print(msg, flush=True)


def timed(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, dict[str, float]]:
    """``func(*args, **kwargs)`` and its wall time, CPU time of this process and 1-minute load."""
    t, c = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    return out, {"s": time.perf_counter() - t, "cpu_s": time.process_time() - c, "load": os.getloadavg()[0]}


def show(t: dict[str, float]) -> str:
    return f"{t['s']:.2f} s (CPU {t['cpu_s']:.2f} s, load {t['load']:.1f})"


def hash_mb(segs: SegmentIndex) -> float:
    """Memory of a segment hash (its segments' arrays and the cell table), MB."""
    arrays = [v for v in vars(segs.segments).values() if isinstance(v, np.ndarray)]
    arrays += [a for a in (segs.keys, segs.segs, segs.starts) if a is not None]
    return sum(a.nbytes for a in arrays) / 1e6


def sjoin_baseline(
    reaches: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS, corridor_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """geopandas: per point (position -1: none) the nearest reach within the corridor, the distance
    and ``line_locate_point`` on it (ties: sjoin_nearest returns every tied reach; the first is kept)."""
    r = reaches.to_crs(crs).reset_index(drop=True)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(crs)
    j = gpd.sjoin_nearest(pts, r, how="inner", max_distance=corridor_m, distance_col="dist_m")
    j = j[~j.index.duplicated(keep="first")]
    pos, reach = j.index.to_numpy(), j["index_right"].to_numpy()
    which, d, m = np.full(len(lon), -1), np.full(len(lon), np.inf), np.full(len(lon), np.nan)
    which[pos], d[pos] = reach, j["dist_m"].to_numpy()
    m[pos] = shapely.line_locate_point(np.asarray(r.geometry.array)[reach], np.asarray(pts.geometry.array)[pos])
    return which, d, m


def strtree_baseline(
    reaches: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS, corridor_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """shapely alone: ``STRtree.query_nearest(max_distance=…, all_matches=False)`` and ``line_locate_point``."""
    geoms = np.asarray(reaches.to_crs(crs).geometry.array)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    pts = shapely.points(x, y)
    (src, tgt), dist = shapely.STRtree(geoms).query_nearest(
        pts, max_distance=corridor_m, return_distance=True, all_matches=False
    )
    which, d, m = np.full(len(lon), -1), np.full(len(lon), np.inf), np.full(len(lon), np.nan)
    which[src], d[src] = tgt, dist
    m[src] = shapely.line_locate_point(geoms[tgt], pts[src])
    return which, d, m


def agreement(
    base: tuple[np.ndarray, np.ndarray, np.ndarray], near: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> dict[str, int]:
    """How a baseline's (reach, distance, position) per point compares with our nearest candidate."""
    bw, bd, bm = base
    ow, od, om = near
    matched_b, matched_o = bw >= 0, ow >= 0
    both = matched_b & matched_o
    same = both & (bw == ow)
    with np.errstate(invalid="ignore"):  # inf - inf where neither matched
        tie = both & (bw != ow) & (np.abs(bd - od) <= 1e-9)  # an equally near reach: either is the nearest
    return {
        "points": len(bw),
        "matched": int(matched_o.sum()),
        "matched_differently": int((matched_b != matched_o).sum()),
        "same_reach": int(same.sum()),
        "tied_reach": int(tie.sum()),
        "other_reach": int((both & (bw != ow) & ~tie).sum()),
        "same_position": int((same & (np.abs(bm - om) <= 1e-6)).sum()),
    }


def agrees(a: dict[str, int]) -> bool:
    return a["matched_differently"] == 0 and a["other_reach"] == 0 and a["same_position"] == a["same_reach"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reaches", type=int, default=5_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--tracks", type=int, default=1_000)
    parser.add_argument("--corridor-m", type=float, default=50.0)
    parser.add_argument("--tile-km", type=float, default=None, help="tile side, km (default: RIVERGRID_TILE_KM)")
    parser.add_argument("--parallel", default=None, help="also run the tiles on dask: local or tcp://HOST:8786")
    parser.add_argument("--naive", type=int, default=200, help="points timed with the naive loop (footnote)")
    parser.add_argument("--check-tracks", type=int, default=20, help="tracks also matched one by one")
    parser.add_argument("--full", action="store_true", help="also time the whole analysis (analyse_tracks)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    options = MatchOptions(corridor_m=args.corridor_m)
    tile_m = 1000.0 * (args.tile_km if args.tile_km is not None else settings().tile_km)

    t = time.perf_counter()
    reaches_m = make_reaches(args.reaches, seed=args.seed)
    reaches = reaches_frame(reaches_m.to_crs("EPSG:4326"))
    geoms_m = np.asarray(reaches_m.geometry.array)
    tracks, x, y = make_tracks(rng, geoms_m, args.tracks, args.points)
    lon, lat = np.concatenate([tr.lon for tr in tracks]), np.concatenate([tr.lat for tr in tracks])
    vertices = int(shapely.get_num_coordinates(geoms_m).sum())
    log(
        f"generated {len(reaches):,} reaches ({vertices:,} vertices, {shapely.length(geoms_m).sum() / 1000:,.0f} km) "
        f"and {len(tracks):,} tracks with {len(x):,} points in {time.perf_counter() - t:.1f} s "
        f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})"
    )

    # (a) ours, single pass: index, then match_many
    def build() -> Any:
        index = _reach_index(reaches)
        index.segments_for(options.corridor_m)
        return index

    index, t_index = timed(build)
    matched, t_match = timed(match_many, tracks, reaches, options=options, _index=index)
    t_ours = {"s": t_index["s"] + t_match["s"], "cpu_s": t_index["cpu_s"] + t_match["cpu_s"], "load": t_match["load"]}
    segs = index.segments_for(options.corridor_m)
    log(
        f"ours, single pass: {show(t_ours)} = index {show(t_index)} ({len(segs.segments):,} segments, "
        f"metric CRS EPSG:{index.crs.to_epsg()}) + match_many {show(t_match)}: {len(matched):,} patrolled "
        f"intervals, {matched['length_m'].sum() / 1000:,.0f} km along rivers"
    )

    # (b) ours, tiled (in this process; and on dask if asked)
    xm, ym = (np.asarray(v) for v in index.to_m.transform(lon, lat))
    tiles = patrol_tiles(index.geoms_m, xm, ym, options.corridor_m, tile_m)
    n_tiles = len(tiles)
    full_mb = hash_mb(segs)
    tile_mb = max((hash_mb(segment_index(t.geoms_m, t.corridor_m, t.reach_pos)) for t in tiles), default=0.0)
    most = max((len(t.reach_pos) for t in tiles), default=0)
    del tiles
    tiled, t_tiled = timed(match_many, tracks, reaches, options=options, tile_m=tile_m, scheduler="inline")
    tiled_equal = tiled.equals(matched)
    log(
        f"ours, tiled ({tile_m / 1000:g} km tiles, {n_tiles} with points and reaches, one after another): "
        f"{show(t_tiled)}; same intervals bit for bit: {'yes' if tiled_equal else 'NO'}; segment hash "
        f"{full_mb:.1f} MB for all reaches, at most {tile_mb:.1f} MB for one tile ({most:,} reaches)"
    )
    t_par: dict[str, float] | None = None
    parallel_equal = None
    if args.parallel:
        par, t_par = timed(match_many, tracks, reaches, options=options, tile_m=tile_m, scheduler=args.parallel)
        parallel_equal = par.equals(matched)
        startup = ", cluster start-up included" if args.parallel == "local" else ""
        log(
            f"ours, tiled on dask ({args.parallel}{startup}): {show(t_par)} (CPU of this process only); "
            f"same intervals: {'yes' if parallel_equal else 'NO'}"
        )

    # (c), (d) the baselines
    sj, t_sj = timed(sjoin_baseline, reaches, lon, lat, index.crs, options.corridor_m)
    st, t_st = timed(strtree_baseline, reaches, lon, lat, index.crs, options.corridor_m)

    # agreement with our nearest candidate (before continuity), then what continuity changes
    breaks = np.zeros(len(xm), dtype=bool)
    sizes = np.array([len(tr) for tr in tracks])
    breaks[np.cumsum(sizes) - sizes] = True
    c = point_candidates(segs, xm, ym)
    near = (c.which.copy(), c.dist.copy(), c.m.copy())
    final = resolve_continuity(c, breaks)
    kept_track_reach = int((final != near[0]).sum())
    agree = tiled_equal and parallel_equal is not False
    results: dict[str, Any] = {}
    for name, base, tb in (("sjoin", sj, t_sj), ("strtree", st, t_st)):
        a = agreement(base, near)
        ok = agrees(a)
        agree &= ok
        results[name] = {"t": tb, "agreement": a, "ok": ok}
        label = "geopandas sjoin_nearest + line_locate_point" if name == "sjoin" else "shapely STRtree.query_nearest"
        log(
            f"{label}: {show(tb)}, {tb['s'] / t_ours['s']:.1f}× ours; agreement: {a['matched']:,} points matched, "
            f"{a['matched_differently']} matched differently, same reach {a['same_reach']:,} + tied {a['tied_reach']}, "
            f"other reach {a['other_reach']}, same position (1e-6 m) {a['same_position']:,}/{a['same_reach']:,}: "
            f"{'agree' if ok else 'DISAGREE'}"
        )
    log(f"  continuity: at {kept_track_reach:,} points near several reaches ours keeps the track's reach instead")
    strongest = min(results, key=lambda k: results[k]["t"]["s"])
    ratio = results[strongest]["t"]["s"] / t_ours["s"]
    ratio_tiled = results[strongest]["t"]["s"] / t_tiled["s"]
    log(f"strongest baseline: {strongest}; ours {ratio:.1f}× faster single pass, {ratio_tiled:.1f}× tiled")

    # one track at a time gives the same intervals
    k = min(args.check_tracks, len(tracks))
    one = pd.concat(
        [match_track(tracks[i], reaches, options=options, _index=index).matched.assign(track=i) for i in range(k)],
        ignore_index=True,
    )
    cols = ["track", "reach_id", "from_m", "to_m"]
    a1 = one[cols].sort_values(cols).to_numpy(dtype=float)
    b1 = matched[matched["track"] < k][cols].sort_values(cols).to_numpy(dtype=float)
    same_tracks = a1.shape == b1.shape and np.allclose(a1, b1, atol=1e-6)
    agree &= same_tracks
    log(f"match_track one by one on {k} tracks: same intervals: {'yes' if same_tracks else 'NO'}")

    # footnote: the naive loop over all reaches per point
    n = min(args.naive, len(x))
    sample = np.sort(rng.choice(len(x), n, replace=False))
    t = time.perf_counter()
    n_which, n_m, n_within = naive(geoms_m, x[sample], y[sample], args.corridor_m)
    naive_ms = (time.perf_counter() - t) * 1000 / n
    naive_ok = all(
        (final[p] == n_which[j] and (n_which[j] < 0 or abs(c.m[p] - n_m[j]) < 1e-6))
        if len(n_within[j]) <= 1
        else final[p] in n_within[j]
        for j, p in enumerate(sample.tolist())
    )
    agree &= naive_ok
    extrapolated = naive_ms / 1000 * len(x)
    log(
        f"footnote — naive loop over every reach per point ({n} points): {naive_ms:.1f} ms/point, "
        f"{extrapolated:,.0f} s for all points extrapolated ({extrapolated / t_ours['s']:,.0f}× ours); "
        f"agrees: {'yes' if naive_ok else 'NO'}"
    )

    full_s = None
    if args.full:
        res, t_full = timed(analyse_tracks, tracks, reaches, options=options)
        full_s = t_full["s"]
        log(f"whole analysis (analyse_tracks): {show(t_full)}; {sum(bool(r.flags) for r in res[0])} tracks flagged")
    met = t_match["s"] < TARGET_S
    log(f"target match_many < {TARGET_S:g} s for {len(x):,} points: {'met' if met else 'MISSED'}")

    def r3(v: float) -> float:
        return round(v, 3)

    out: dict[str, Any] = {
        "reaches": len(reaches),
        "points": len(x),
        "tracks": len(tracks),
        "cores": os.cpu_count(),
        "index_s": r3(t_index["s"]),
        "match_s": r3(t_match["s"]),
        "match_cpu_s": r3(t_match["cpu_s"]),
        "ours_s": r3(t_ours["s"]),
        "ours_cpu_s": r3(t_ours["cpu_s"]),
        "ours_load": round(t_ours["load"], 2),
        "tile_km": tile_m / 1000,
        "tiles": n_tiles,
        "tiled_s": r3(t_tiled["s"]),
        "tiled_cpu_s": r3(t_tiled["cpu_s"]),
        "tiled_load": round(t_tiled["load"], 2),
        "tiled_equal": bool(tiled_equal),
        "hash_mb": round(full_mb, 1),
        "tile_hash_mb_max": round(tile_mb, 1),
        "tile_reaches_max": most,
        "parallel": args.parallel,
        "parallel_s": None if t_par is None else r3(t_par["s"]),
        "parallel_cpu_s": None if t_par is None else r3(t_par["cpu_s"]),
        "parallel_load": None if t_par is None else round(t_par["load"], 2),
        "parallel_equal": parallel_equal,
    }
    for name, r in results.items():
        out[f"{name}_s"] = r3(r["t"]["s"])
        out[f"{name}_cpu_s"] = r3(r["t"]["cpu_s"])
        out[f"{name}_load"] = round(r["t"]["load"], 2)
        out[f"ratio_{name}"] = round(r["t"]["s"] / t_ours["s"], 2)
        out[f"{name}_agreement"] = r["agreement"]
    out |= {
        "strongest_baseline": strongest,
        "ratio": round(ratio, 2),
        "ratio_tiled": round(ratio_tiled, 2),
        "continuity_points": kept_track_reach,
        "agree": bool(agree),
        "naive_footnote": {
            "ms_per_point": round(naive_ms, 3),
            "extrapolated_s": round(extrapolated, 1),
            "ratio": round(extrapolated / t_ours["s"], 1),
        },
        "full_s": None if full_s is None else round(full_s, 2),
    }
    print(json.dumps(out))
    return 0 if (met and agree) else 1


if __name__ == "__main__":
    sys.exit(main())
