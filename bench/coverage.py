"""Benchmark of the river coverage check (``gis.checks.coverage``) against fair baselines, side by side.

    python bench/coverage.py [--size county|province|province5|both] [--database-url URL]
                             [--naive-limit N] [--pg-formulation NAME|fastest|all] [--repeat N]

For each size (synthetic data from ``bench.synthetic.make_case``) it times, in one run

(a) ours: ``check_coverage`` — the full check, including the uncovered / overlap pieces with
    their stationing (``res.uncovered()``, ``res.overlaps()``) and the totals (median of
    ``--repeat`` runs after one untimed warm-up run); and, beside it, ours giving only what the
    SQL gives, the per-reach lengths (``ours_lengths_only_s``, ``ratio_postgis_same_output``);
(a') ours tiled: the tiles one after another in this process (``tiled_s``, ``tiled_equal``) and
    on a dask LocalCluster (``parallel_s``, ``parallel_equal``: the same stretches, 桩号 and
    coordinates as the single pass; ``ratio_postgis_parallel``);
(b) shapely STRtree local union (``local_union_s``, ``ratio_local_union``): per reach, the grids
    an STRtree finds intersecting it, ``union_all`` of only those, ``difference`` length =
    uncovered; overlap = ``intersection`` length with the union of the pairwise intersections
    of those grids (computed once, STRtree-indexed); and its stronger variant without any
    polygon union (``local_successive_s``, ``ratio_local_successive``): the candidate grids,
    then the candidate pair intersections, subtracted from the reach one ``difference`` at a time;
(c) PostGIS (``postgis_s``, ``ratio_postgis``): the fastest of the exact SQL formulations run
    (default ``fastest``: ``subdivide_diffagg`` and ``subdivide_intervals``, see
    ``PG_FORMULATIONS``; ``--pg-formulation all`` adds the slower ones), on temporary tables
    loaded beforehand (not timed) with GiST indexes and ANALYZE;
(d) incremental: ``CoverageChecker.update_grid`` after growing one grid by 50 m (median wall
    time ``incremental_s`` and median CPU time ``incremental_cpu_s``);
(f) footnote only (``naive_footnote``, not a main ratio): the old naive shapely strawman —
    ``union_all`` of all grids and of their pairwise intersections, then per reach
    ``difference`` / ``intersection`` with those two huge geometries, no index. With
    ``--naive-limit N`` only N random reaches are measured and the time is extrapolated.

Beside every wall time: the CPU time of the bench process (``time.process_time``; for PostGIS
that is the client only — the server's CPU is not included) and the 1-minute load average
(``os.getloadavg``) when the step finished (``*_cpu_s``, ``*_load``).

Every method must agree with ours on the total uncovered and overlap lengths (1e-6 relative,
1e-6 m absolute near zero); a WARNING line is printed and ``agree`` is false otherwise. Ratios are
``other_s / ours_s`` (how many times longer the other approach takes). One JSON line per size
is printed as it finishes (``{"run": {...}}``); the last line is one JSON object with the keys
of the largest size run at top level plus all runs under ``"runs"``.

PostGIS comes from ``--database-url``, ``DATABASE_URL`` (if PostgreSQL), or
``RIVERGRID_TEST_PG_URL``; failing those, if ``pg_ctlcluster`` exists, the local cluster is
started with ``scripts/start_postgis.sh`` (whose last stdout line is the URL; it resets the test
database, so pass ``--database-url`` on a shared machine).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.synthetic import make_case

SRID = 4551
REL_TOL = 1e-6
ABS_TOL_M = 1e-6


def log(msg: str) -> None:
    print(msg, flush=True)


@contextmanager
def timer(out: dict[str, float], key: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    out[key] = time.perf_counter() - t0


def agree(a: float, b: float) -> bool:
    return abs(a - b) <= max(ABS_TOL_M, REL_TOL * max(abs(a), abs(b)))


# --------------------------------------------------------------------------------------------
# (a) ours


def run_ours(
    reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, repeat: int
) -> tuple[tuple[float, float], pd.DataFrame, Any]:
    """((median wall seconds, median CPU seconds) over ``repeat`` runs, per-reach lengths, the
    last result)."""
    from gis.checks.coverage import check_coverage

    check_coverage(reaches, grids, reach_id="id", grid_id="id").uncovered()  # warm-up, not timed
    times, cpu = [], []
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        res = check_coverage(reaches, grids, reach_id="id", grid_id="id")
        res.totals()
        uncovered = res.uncovered()
        overlaps = res.overlaps()
        cpu.append(time.process_time() - c0)
        times.append(time.perf_counter() - t0)
    elapsed, elapsed_cpu = statistics.median(times), statistics.median(cpu)
    lengths = []
    for _ in range(max(1, repeat)):  # the SQL's answer only: per-reach uncovered and overlap lengths
        t0 = time.perf_counter()
        per_reach = check_coverage(reaches, grids, reach_id="id", grid_id="id").reach_totals
        assert len(per_reach) == len(reaches)
        lengths.append(time.perf_counter() - t0)
    LENGTHS_ONLY["s"] = statistics.median(lengths)
    log(
        f"  ours: {elapsed:.3f} s, CPU {elapsed_cpu:.3f} s (median of {len(times)}:"
        f" {', '.join(f'{t:.3f}' for t in times)}), load {os.getloadavg()[0]:.2f};"
        f" {len(uncovered)} uncovered pieces, {len(overlaps)} overlap pieces"
    )
    per = res.reach_totals.set_index("reach_id")[["uncovered_m", "overlap_m"]]
    per.index = per.index.astype("int64")
    return (elapsed, elapsed_cpu), per.sort_index(), res


LENGTHS_ONLY: dict[str, float] = {}
"""Median wall time of ours giving only what the PostGIS SQL gives (per-reach lengths), set by
:func:`run_ours`."""


def same_result(a: Any, b: Any) -> bool:
    """Two coverage results stretch for stretch: claims, measures, 桩号, coordinates, totals."""
    cols = ["reach_id", "from_m", "to_m", "status", "grid_ids", "nearest_grid_id", "on_boundary", "sliver", "station"]
    x, y = a.intervals[cols].reset_index(drop=True), b.intervals[cols].reset_index(drop=True)
    geoms = shapely.equals_exact(a.intervals.geometry.to_numpy(), b.intervals.geometry.to_numpy(), 0.0)
    return bool(x.equals(y) and geoms.all() and a.totals() == b.totals())


def run_parallel(
    reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, args: argparse.Namespace, single: Any
) -> dict[str, Any]:
    """(a') ours in parallel: ``check_coverage(tile_m=…)`` with the tiles on a dask
    ``LocalCluster`` of ``--workers`` single-threaded processes (or on ``--scheduler``), started
    and warmed up (the check imported) before the timing, as a running cluster is; the same
    result as one pass (``parallel_equal``)."""
    from distributed import Client, LocalCluster

    from gis.checks.coverage import check_coverage

    out: dict[str, Any] = {"parallel_tile_km": args.tile_km}
    tiled_times = []
    for _ in range(max(1, args.repeat)):  # the tiles one after another in this process
        t0 = time.perf_counter()
        res = check_coverage(reaches, grids, tile_m=args.tile_km * 1000, scheduler="inline")
        res.totals()
        res.uncovered()
        res.overlaps()
        tiled_times.append(time.perf_counter() - t0)
    out["tiled_s"] = round(statistics.median(tiled_times), 4)
    out["tiled_equal"] = same_result(single, res)
    log(
        f"  ours tiled in one process ({args.tile_km:g} km tiles): {out['tiled_s']:.3f} s;"
        f" same result: {out['tiled_equal']}"
    )
    t0 = time.perf_counter()
    cluster = None
    address = args.scheduler
    if not address:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=0
        )
        address = cluster.scheduler_address
    with Client(address) as client:
        client.run(lambda: __import__("gis.checks.tiled"))
        out["parallel_workers"] = len(client.scheduler_info()["workers"])
    out["parallel_cluster_start_s"] = round(time.perf_counter() - t0, 3)
    times, cpu = [], []
    res = None
    try:
        for _ in range(max(1, args.repeat)):
            t0, c0 = time.perf_counter(), time.process_time()
            res = check_coverage(
                reaches, grids, reach_id="id", grid_id="id", tile_m=args.tile_km * 1000, scheduler=address
            )
            res.totals()
            res.uncovered()
            res.overlaps()
            cpu.append(time.process_time() - c0)
            times.append(time.perf_counter() - t0)
    finally:
        if cluster is not None:
            cluster.close()
    out["parallel_s"] = round(statistics.median(times), 4)
    out["parallel_cpu_s"] = round(statistics.median(cpu), 4)
    out["parallel_load"] = _load()
    out["parallel_equal"] = same_result(single, res)
    log(
        f"  ours in parallel ({out['parallel_workers']} dask workers, {args.tile_km:g} km tiles):"
        f" {out['parallel_s']:.3f} s,"
        f" CPU here {out['parallel_cpu_s']:.3f} s (cluster start {out['parallel_cluster_start_s']:.2f} s, not timed);"
        f" same result as one pass: {out['parallel_equal']}"
    )
    return out


def run_incremental(
    reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, repeat: int
) -> tuple[float, float, float, bool]:
    """(build_s, median update_grid seconds, median update_grid CPU seconds, incremental result
    == full recheck)."""
    from gis.checks.coverage import CoverageChecker, check_coverage

    # A grid near the middle of the extent, grown by 50 m (then shrunk back, alternately, so
    # every update really changes the geometry).
    centre = shapely.Point(np.mean(grids.total_bounds[[0, 2]]), np.mean(grids.total_bounds[[1, 3]]))
    pos = int(np.argmin(grids.distance(centre).to_numpy()))
    gid = int(grids["id"].iloc[pos])
    original = grids.geometry.iloc[pos]
    grown = shapely.segmentize(original.buffer(50.0, join_style="mitre"), 20.0)
    t0 = time.perf_counter()
    checker = CoverageChecker(reaches, grids, reach_id="id", grid_id="id")
    checker.update_grid(gid, original)  # the first edit builds the edit indexes: part of the build
    build = time.perf_counter() - t0
    times, cpu = [], []
    for i in range(repeat * 2):
        new = grown if i % 2 == 0 else original
        t, c = time.perf_counter(), time.process_time()
        checker.update_grid(gid, new)
        cpu.append(time.process_time() - c)
        times.append(time.perf_counter() - t)
    res = checker.update_grid(gid, grown)
    moved = grids.copy()
    moved.loc[moved.index[pos], "geometry"] = grown
    full = check_coverage(reaches, moved, reach_id="id", grid_id="id")
    a, b = res.totals(), full.totals()
    same = all(agree(a[k], b[k]) for k in ("uncovered_length_m", "overlap_length_m", "covered_length_m"))
    med, med_cpu = statistics.median(times), statistics.median(cpu)
    log(
        f"  incremental: build {build:.3f} s, update_grid(grid {gid} ±50 m) median {med * 1000:.1f} ms"
        f" (CPU {med_cpu * 1000:.1f} ms) over {len(times)}; equals full recheck: {same}"
    )
    return build, med, med_cpu, same


# --------------------------------------------------------------------------------------------
# (b) shapely STRtree local union (the fair shapely baseline)


def run_local_union(
    reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, successive: bool = False
) -> tuple[tuple[float, float], pd.DataFrame]:
    """Per reach: the grids an STRtree finds intersecting it, ``union_all`` of only those,
    ``difference`` length = uncovered; the pairwise intersections of those candidates, unioned,
    ``intersection`` length = overlap (closed sets, as ours). Returns ((wall, CPU seconds),
    per-reach lengths).

    ``successive``: the same candidates, but no polygon union is built — the reach has its
    candidate grids subtracted one ``difference`` at a time (uncovered = what is left), and
    overlap = its length minus what is left after subtracting the candidate pair
    intersections one at a time (the stronger shapely variant, ``local_successive_s``)."""
    t0, c0 = time.perf_counter(), time.process_time()
    garr = grids.geometry.to_numpy()
    tree = shapely.STRtree(garr)
    # Pairwise intersections of grids, computed once (not again for every reach that meets
    # them) and indexed: the ones a reach meets are exactly the pairs of its candidate grids
    # that can claim part of it.
    left, right = tree.query(garr, predicate="intersects")
    pairs = left < right
    inter = shapely.intersection(garr[left[pairs]], garr[right[pairs]])
    inter = shapely.get_parts(inter[~shapely.is_empty(inter)])
    inter = inter[shapely.get_dimensions(inter) >= 1]  # shared corners claim no length
    ov_tree = shapely.STRtree(inter)
    rarr = reaches.geometry.to_numpy()
    ridx, gidx = tree.query(rarr, predicate="intersects")
    gcut = np.searchsorted(ridx, np.arange(len(rarr) + 1))
    oridx, oidx = ov_tree.query(rarr, predicate="intersects")
    ocut = np.searchsorted(oridx, np.arange(len(rarr) + 1))
    unc = np.empty(len(rarr))
    ovl = np.zeros(len(rarr))
    for i, reach in enumerate(rarr):
        cand = garr[gidx[gcut[i] : gcut[i + 1]]]
        if successive:
            rest = reach
            for poly in cand:
                rest = shapely.difference(rest, poly)
            unc[i] = rest.length
            rest = reach
            for piece in inter[oidx[ocut[i] : ocut[i + 1]]]:
                rest = shapely.difference(rest, piece)
            ovl[i] = reach.length - rest.length
            continue
        unc[i] = shapely.length(shapely.difference(reach, shapely.union_all(cand))) if len(cand) else reach.length
        ocand = inter[oidx[ocut[i] : ocut[i + 1]]]
        if len(ocand):
            ovl[i] = shapely.length(shapely.intersection(reach, shapely.union_all(ocand)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    what = "successive difference" if successive else "union_all of nearby grids"
    log(
        f"  local {'successive' if successive else 'union'} (STRtree + {what}): {elapsed:.3f} s, CPU {cpu:.3f} s,"
        f" load {os.getloadavg()[0]:.2f}"
    )
    per = pd.DataFrame(
        {"uncovered_m": unc, "overlap_m": ovl}, index=pd.Index(reaches["id"].astype("int64"), name="reach_id")
    )
    return (elapsed, cpu), per.sort_index()


# --------------------------------------------------------------------------------------------
# (f) naive shapely (footnote only)


def run_naive(
    reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, limit: int | None, seed: int = 0
) -> tuple[float, bool, pd.DataFrame]:
    """(seconds for all reaches — extrapolated if ``limit``, extrapolated?, per-reach lengths)."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    garr = grids.geometry.to_numpy()
    union = shapely.union_all(garr)
    # Double-claimed area: union of the pairwise intersections (closed sets: a shared edge
    # is a line in it, so a reach running along it counts as overlap).
    tree = shapely.STRtree(garr)
    left, right = tree.query(garr, predicate="intersects")
    pairs = left < right
    ov = shapely.union_all(shapely.intersection(garr[left[pairs]], garr[right[pairs]]))
    setup = time.perf_counter() - t0
    log(f"  naive: union of grids + pairwise overlaps {setup:.2f} s")

    n = len(reaches)
    if limit is not None and limit < n:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(n, size=limit, replace=False))
    else:
        pick = np.arange(n)
    sub = reaches.iloc[pick]
    rarr = sub.geometry.to_numpy()
    unc = np.empty(len(rarr))
    ovl = np.empty(len(rarr))
    t1 = last = time.perf_counter()
    chunk = 10
    for start in range(0, len(rarr), chunk):
        stop = min(start + chunk, len(rarr))
        part = rarr[start:stop]
        unc[start:stop] = shapely.length(shapely.difference(part, union))
        ovl[start:stop] = shapely.length(shapely.intersection(part, ov))
        now = time.perf_counter()
        if now - last > 10 or stop == len(rarr):
            last, done = now, now - t1
            log(f"    naive: {stop}/{len(rarr)} reaches, {done:.1f} s, ~{done / stop * (len(rarr) - stop):.0f} s to go")
    per_reach = time.perf_counter() - t1
    extrapolated = len(pick) < n
    total = setup + per_reach * (n / len(pick))
    label = f"extrapolated from {len(pick)} of {n} reaches" if extrapolated else "all reaches"
    log(
        f"  naive: {total:.2f} s ({label}; setup {setup:.2f} s + per reach {per_reach:.2f} s);"
        f" CPU measured {time.process_time() - c0:.2f} s, load {os.getloadavg()[0]:.2f}"
    )
    per = pd.DataFrame(
        {"uncovered_m": unc, "overlap_m": ovl}, index=pd.Index(sub["id"].astype("int64"), name="reach_id")
    )
    return total, extrapolated, per.sort_index()


# --------------------------------------------------------------------------------------------
# (c) PostGIS

# Every formulation reads cov_reaches(id, geom) and cov_grids(id, geom) (temporary tables,
# GiST-indexed, ANALYZEd, loaded untimed) and ends with one SELECT of (id, uncovered_m,
# overlap_m) for every reach; its ``setup`` statements (helper tables) are timed as well.
# Temporary tables are never scanned in parallel, so PostgreSQL uses one core here, as ours does.
#
# Measured on the development machine (2 cores, PostgreSQL 15, PostGIS 3.3 / GEOS 3.11):
#                 ours    subdivide_diffagg   complement   lateral_union
#   county        0.11 s  0.75-0.81 s         0.68 s       2.9 s
#   province      1.0-1.4 s  9.1 s            9.3 s        32.8 s
# complement is as fast but not exact (see C), so subdivide_diffagg was the one kept.
# Issue 19 added D (subdivide_intervals), measured in the same runs (2026-12-07, load 0.5-0.9):
#              ours         subdivide_diffagg  subdivide_intervals  shapely local union / successive
#   county     0.10-0.11 s  0.72-0.79 s        0.31 s (jit on 0.67) 1.10-1.18 s / 0.43-0.45 s
#   province   1.09-1.18 s  7.15-8.05 s        3.01 s (jit on 3.5-3.6) 12.3-12.4 s / 4.5-4.8 s
# (shapely local union was 22-24 s at province while the pair intersections were unioned as
# GeometryCollections; exploded into their parts it is 12.4 s.)
# Tuning notes (county): grids subdivided to 256 vertices beat 32/64/128 for the difference
# aggregate (0.24 s vs 0.35 s at 32); the double-claimed set must be ST_Subdivide'd as well —
# left whole, its GeometryCollections of shared-edge lines made the overlap SELECT 5x slower.
# Subtracting the double-claimed pieces one by one (cov_diff_agg again, overlap = length -
# rest) takes the same time as the union-then-intersect used below.
# What does NOT work: dissolving clipped line pieces, i.e. covered = ST_Length(ST_Union(
# ST_Intersection(reach, piece))) or the same for overlap pieces. Overlapping pieces (three-way
# overlaps) cut a reach at slightly different computed points; the nearly-collinear lines are
# not dissolved and lengths are over-counted (county: +13.7 m overlap on one reach, and
# covered off by 10 km). So polygons are always unioned before a reach is clipped, or
# subtracted one at a time.

# Helper for the successive-difference formulation: an aggregate that subtracts polygons one
# at a time from a line, so no union of polygons is ever built.
PG_HELPERS = [
    """
    CREATE OR REPLACE FUNCTION pg_temp.cov_diff_step(state geometry, line geometry, poly geometry)
    RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN state IS NULL THEN ST_Difference(line, poly)
                    WHEN ST_IsEmpty(state) THEN state
                    ELSE ST_Difference(state, poly) END
    $$""",
    """
    CREATE OR REPLACE AGGREGATE pg_temp.cov_diff_agg(geometry, geometry) (
        SFUNC = pg_temp.cov_diff_step, STYPE = geometry
    )""",
]


def _gsub(max_vertices: int | None) -> list[str]:
    """cov_gsub(gid, geom): the grids, ST_Subdivide'd unless ``max_vertices`` is None."""
    geom = f"ST_Subdivide(geom, {max_vertices})" if max_vertices else "geom"
    return [
        f"CREATE TEMP TABLE cov_gsub AS SELECT id AS gid, {geom} AS geom FROM cov_grids",
        "CREATE INDEX ON cov_gsub USING gist (geom)",
        "ANALYZE cov_gsub",
    ]


# cov_ov: the double-claimed set — pairwise intersections of (pieces of) grids of different
# ids, subdivided: polygons where grids overlap and lines along shared edges (grids are closed
# sets, so a reach along a shared edge is double-claimed). Points are dropped (length 0).
_OVERLAP_SET = [
    """
    CREATE TEMP TABLE cov_ov AS
    SELECT ST_Subdivide(ST_Intersection(a.geom, b.geom), 32) AS geom
    FROM cov_gsub a JOIN cov_gsub b ON a.gid < b.gid AND ST_Intersects(a.geom, b.geom)""",
    "DELETE FROM cov_ov WHERE ST_Dimension(geom) = 0",
    "CREATE INDEX ON cov_ov USING gist (geom)",
    "ANALYZE cov_ov",
]
# Overlap per reach: the reach within the union of the double-claimed pieces it meets (unioned
# first, then one intersection: see the notes above).
_OVERLAP_SELECT = """
    COALESCE(ST_Length(ST_Intersection(r.geom,
        (SELECT ST_Union(o.geom) FROM cov_ov o WHERE ST_Intersects(o.geom, r.geom)))), 0)"""

PG_FORMULATIONS: dict[str, dict[str, Any]] = {
    # A (fastest). Grids ST_Subdivide'd to <= 256 vertices a piece (GiST); uncovered = what is
    #    left of the reach after subtracting, one ST_Difference at a time (custom aggregate),
    #    every piece it intersects; overlap as above. Exact closed-set semantics.
    "subdivide_diffagg": {
        "exact": True,
        "setup": PG_HELPERS + _gsub(256) + _OVERLAP_SET,
        "select": f"""
            SELECT r.id,
                   COALESCE((SELECT ST_Length(pg_temp.cov_diff_agg(r.geom, s.geom))
                             FROM cov_gsub s WHERE ST_Intersects(s.geom, r.geom)),
                            ST_Length(r.geom)) AS uncovered_m,
                   {_OVERLAP_SELECT} AS overlap_m
            FROM cov_reaches r""",
    },
    # B. Straightforward: per reach, ST_Difference with the ST_Union of the whole grids whose
    #    boxes meet it; overlap as above (pairs of whole grids). Exact semantics; the per-reach
    #    union of large polygons makes it the slowest.
    "lateral_union": {
        "exact": True,
        "setup": _gsub(None) + _OVERLAP_SET,
        "select": f"""
            SELECT r.id,
                   ST_Length(ST_Difference(r.geom, COALESCE(
                       (SELECT ST_Union(g.geom) FROM cov_grids g WHERE g.geom && r.geom),
                       'SRID=4551;POLYGON EMPTY'::geometry))) AS uncovered_m,
                   {_OVERLAP_SELECT} AS overlap_m
            FROM cov_reaches r""",
    },
    # C. Complement: gaps = extent minus ST_Union(all grids), ST_Subdivide'd and indexed; the
    #    uncovered part of a reach is its intersection with the union of the gap pieces it
    #    meets. The gap pieces are closed, so a reach running exactly along the outer boundary
    #    of the grids would count as uncovered here (it does not happen on synthetic data).
    "complement": {
        "exact": False,
        "setup": _gsub(256)
        + _OVERLAP_SET
        + [
            """
            CREATE TEMP TABLE cov_gap AS
            SELECT ST_Subdivide(ST_Difference(ST_Expand(e.box, 10), u.geom), 256) AS geom
            FROM (SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4551) AS box
                  FROM (SELECT geom FROM cov_reaches UNION ALL SELECT geom FROM cov_grids) x) e,
                 (SELECT ST_Union(geom) AS geom FROM cov_grids) u""",
            "CREATE INDEX ON cov_gap USING gist (geom)",
            "ANALYZE cov_gap",
        ],
        "select": f"""
            SELECT r.id,
                   COALESCE(ST_Length(ST_Intersection(r.geom,
                       (SELECT ST_Union(p.geom) FROM cov_gap p WHERE ST_Intersects(p.geom, r.geom)))),
                       0) AS uncovered_m,
                   {_OVERLAP_SELECT} AS overlap_m
            FROM cov_reaches r""",
    },
    # D. Intervals (issue 19): grids ST_Subdivide'd (GiST); the reaches dumped into their
    #    LineString parts; per part x piece, ST_Intersection turned into intervals [a, b] of
    #    metres along the part with ST_LineLocatePoint (of the piece's midpoint, +- half its
    #    length: its end points may sit where a reach crosses itself, where locating them is
    #    ambiguous and gave 8 km of false overlap at county size); a grid's intervals are merged (gaps and
    #    islands, window functions) so its own pieces never double-claim; then one sweep over
    #    the +1/-1 events of all grids (running sum): covered = length claimed by >= 1 grid,
    #    overlap = length claimed by >= 2 distinct grids, uncovered = length - covered.
    #    Closed sets as ours: a part along a shared edge is claimed by both grids. No polygon
    #    union is ever built.
    "subdivide_intervals": {
        "exact": True,
        "setup": _gsub(256)
        + [
            """
            CREATE TEMP TABLE cov_rpart AS
            SELECT r.id, d.path[1] AS part, d.geom, ST_Length(d.geom) AS len
            FROM cov_reaches r, ST_Dump(r.geom) d WHERE ST_Dimension(d.geom) = 1""",
            "CREATE INDEX ON cov_rpart USING gist (geom)",
            "ANALYZE cov_rpart",
        ],
        "select": """
            WITH seg AS (
                SELECT p.id, p.part, s.gid, p.len, p.geom AS pg,
                       (ST_Dump(ST_Intersection(p.geom, s.geom))).geom AS g
                FROM cov_rpart p JOIN cov_gsub s ON ST_Intersects(p.geom, s.geom)
            ), iv AS (
                SELECT id, part, gid, ST_LineLocatePoint(pg, ST_LineInterpolatePoint(g, 0.5)) * len AS m,
                       ST_Length(g) / 2 AS h
                FROM seg WHERE ST_Dimension(g) = 1
            ), iv2 AS (
                SELECT id, part, gid, m - h AS a, m + h AS b FROM iv
            ), isl AS (
                SELECT id, part, gid, a, b,
                       CASE WHEN a <= MAX(b) OVER (PARTITION BY id, part, gid ORDER BY a, b
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                            THEN 0 ELSE 1 END AS brk
                FROM iv2
            ), grp AS (
                SELECT id, part, gid, a, b,
                       SUM(brk) OVER (PARTITION BY id, part, gid ORDER BY a, b ROWS UNBOUNDED PRECEDING) AS k
                FROM isl
            ), merged AS (
                SELECT id, part, MIN(a) AS a, MAX(b) AS b FROM grp GROUP BY id, part, gid, k
            ), ev AS (
                SELECT id, part, a AS x, 1 AS d FROM merged
                UNION ALL SELECT id, part, b AS x, -1 AS d FROM merged
            ), sweep AS (
                SELECT id, x,
                       SUM(d) OVER (PARTITION BY id, part ORDER BY x, d ROWS UNBOUNDED PRECEDING) AS c,
                       LEAD(x) OVER (PARTITION BY id, part ORDER BY x, d) AS nx
                FROM ev
            ), per AS (
                SELECT id, SUM(CASE WHEN c >= 1 THEN nx - x ELSE 0 END) AS cov,
                       SUM(CASE WHEN c >= 2 THEN nx - x ELSE 0 END) AS ov
                FROM sweep GROUP BY id
            )
            SELECT r.id, ST_Length(r.geom) - COALESCE(per.cov, 0) AS uncovered_m,
                   COALESCE(per.ov, 0) AS overlap_m
            FROM cov_reaches r LEFT JOIN per ON per.id = r.id""",
    },
}
PG_DEFAULT = "fastest"
_PG_FAST = ["subdivide_diffagg", "subdivide_intervals"]
_PG_SCRATCH = ["cov_gsub", "cov_ov", "cov_gap", "cov_rpart"]


def resolve_database_url(explicit: str | None) -> str | None:
    for url in (explicit, os.environ.get("DATABASE_URL"), os.environ.get("RIVERGRID_TEST_PG_URL")):
        if url and url.startswith("postgresql"):
            return url
    if shutil.which("pg_ctlcluster"):
        log("  starting the local PostgreSQL cluster (scripts/start_postgis.sh)")
        out = subprocess.run(
            ["bash", str(ROOT / "scripts" / "start_postgis.sh")],
            check=True,
            capture_output=True,
            text=True,
        )
        lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
        return lines[-1].strip() if lines else None
    return None


def pg_connect(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    engine = create_engine(url)
    conn = engine.raw_connection()
    conn.autocommit = True
    return engine, conn


def pg_load(conn, reaches: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> None:  # type: ignore[no-untyped-def]
    """Temporary tables cov_reaches / cov_grids (id, geom SRID 4551) via COPY of hex EWKB."""
    cur = conn.cursor()
    cur.execute("SET work_mem = '256MB'")
    # JIT compilation costs more than it saves here (county, subdivide_intervals: 0.67 s with
    # it, 0.30 s without; the compile happens per query, whatever the size). Session-wide, so
    # every formulation runs without it.
    cur.execute("SET jit = off")
    for name, gdf in (("cov_reaches", reaches), ("cov_grids", grids)):
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"CREATE TEMP TABLE {name} (id bigint PRIMARY KEY, geom geometry(Geometry, {SRID}) NOT NULL)")
        wkb = shapely.to_wkb(shapely.set_srid(gdf.geometry.to_numpy(), SRID), hex=True, include_srid=True)
        buf = io.StringIO("".join(f"{i}\t{w}\n" for i, w in zip(gdf["id"].astype("int64"), wkb)))
        cur.copy_expert(f"COPY {name} (id, geom) FROM STDIN", buf)
        cur.execute(f"CREATE INDEX ON {name} USING gist (geom)")
        cur.execute(f"ANALYZE {name}")


def pg_run(conn, name: str) -> tuple[tuple[float, float], pd.DataFrame]:  # type: ignore[no-untyped-def]
    form = PG_FORMULATIONS[name]
    cur = conn.cursor()
    for t in _PG_SCRATCH:
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    t0, c0 = time.perf_counter(), time.process_time()
    for stmt in form["setup"]:
        cur.execute(stmt)
    t_setup = time.perf_counter() - t0
    cur.execute(form["select"])
    rows = cur.fetchall()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    log(
        f"  postgis[{name}]: {elapsed:.2f} s (setup {t_setup:.2f} s); bench-process CPU {cpu:.3f} s"
        f" (the server's CPU is not included), load {os.getloadavg()[0]:.2f}"
    )
    per = pd.DataFrame(rows, columns=["reach_id", "uncovered_m", "overlap_m"]).astype(
        {"reach_id": "int64", "uncovered_m": float, "overlap_m": float}
    )
    return (elapsed, cpu), per.set_index("reach_id").sort_index()


# --------------------------------------------------------------------------------------------


def compare(label: str, ref: pd.DataFrame, other: pd.DataFrame) -> bool:
    """Totals over the reaches of ``other`` agree with ``ref`` (per-reach worst case logged)."""
    ref = ref.loc[other.index]
    ok = True
    for col in ("uncovered_m", "overlap_m"):
        a, b = float(ref[col].sum()), float(other[col].sum())
        worst = float((ref[col] - other[col]).abs().max()) if len(other) else 0.0
        if not agree(a, b):
            ok = False
            log(f"  WARNING: {label} {col} total differs: {a:.6f} m vs {b:.6f} m")
        else:
            log(f"  agree ({label}, {col}): {a:.3f} m vs {b:.3f} m, worst reach diff {worst:.2e} m")
    return ok


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def bench_size(size: str, args: argparse.Namespace, pg_url: str | None) -> dict[str, Any]:
    log(f"== {size} ==")
    reaches, grids = make_case(size, seed=args.seed)
    log(
        f"  {len(reaches)} reaches ({shapely.get_num_coordinates(reaches.geometry.to_numpy()).sum()} vertices),"
        f" {len(grids)} grids ({shapely.get_num_coordinates(grids.geometry.to_numpy()).sum()} vertices),"
        f" total reach length {reaches.length.sum() / 1000:.1f} km"
    )
    run: dict[str, Any] = {"size": size, "reaches": len(reaches), "grids": len(grids)}
    warnings: list[str] = []

    ours: pd.DataFrame | None = None
    run["ours_s"] = run["ours_cpu_s"] = None
    if not args.skip_ours:
        (run["ours_s"], run["ours_cpu_s"]), ours, single = run_ours(reaches, grids, args.repeat)
        run["ours_load"] = _load()
        if not args.skip_parallel:
            run.update(run_parallel(reaches, grids, args, single))
            if not run["parallel_equal"]:
                warnings.append("parallel result differs from the single pass")
    ours_s = run["ours_s"]
    ref, ref_label = ours, "ours"

    run["local_union_s"] = run["local_union_cpu_s"] = None
    if not args.skip_local_union:
        (run["local_union_s"], run["local_union_cpu_s"]), local = run_local_union(reaches, grids)
        run["local_union_load"] = _load()
        if ref is None:
            ref, ref_label = local, "local union"
        elif not compare(f"local union vs {ref_label}", ref, local):
            warnings.append("local union disagrees")

    run["local_successive_s"] = run["local_successive_cpu_s"] = None
    if not args.skip_local_union:
        (run["local_successive_s"], run["local_successive_cpu_s"]), local = run_local_union(
            reaches, grids, successive=True
        )
        run["local_successive_load"] = _load()
        if ref is not None and not compare(f"local successive vs {ref_label}", ref, local):
            warnings.append("local successive disagrees")

    pg: dict[str, tuple[float, float, float]] = {}
    run["postgis_s"] = run["postgis_client_cpu_s"] = None
    if pg_url and not args.skip_postgis:
        engine, conn = pg_connect(pg_url)
        try:
            pg_load(conn, reaches, grids)
            names = {"all": list(PG_FORMULATIONS), "fastest": _PG_FAST}.get(args.pg_formulation, [args.pg_formulation])
            for name in names:
                (wall, cpu), per = pg_run(conn, name)
                pg[name] = (wall, cpu, _load())
                if ref is None:
                    ref, ref_label = per, f"postgis[{name}]"
                elif not compare(f"postgis[{name}] vs {ref_label}", ref, per):
                    warnings.append(f"postgis[{name}] disagrees")
        finally:
            conn.close()
            engine.dispose()
        exact = {k: v for k, v in pg.items() if PG_FORMULATIONS[k]["exact"]} or pg
        best = min(exact, key=lambda k: exact[k][0])
        run["postgis_s"], run["postgis_client_cpu_s"], run["postgis_load"] = pg[best]
        run["postgis_formulation"] = best
        run["postgis_all_s"] = {k: round(v[0], 4) for k, v in pg.items()}
        run["postgis_cpu_note"] = "client (bench process) CPU only; the PostgreSQL server's CPU is not included"

    if ours is not None and not args.skip_incremental:
        build, med, med_cpu, same = run_incremental(reaches, grids, args.repeat)
        run["incremental_s"], run["incremental_build_s"] = med, round(build, 4)
        run["incremental_cpu_s"] = round(med_cpu, 5)
        run["incremental_load"] = _load()
        if not same:
            warnings.append("incremental update differs from a full recheck")
            log("  WARNING: incremental update differs from a full recheck")
    else:
        run["incremental_s"] = run["incremental_cpu_s"] = None

    def ratio(x: float | None) -> float | None:
        return round(x / ours_s, 2) if x is not None and ours_s else None

    run["ratio_local_union"] = ratio(run["local_union_s"])
    run["ratio_local_successive"] = ratio(run["local_successive_s"])
    run["ratio_postgis"] = ratio(run["postgis_s"])
    if LENGTHS_ONLY and run["postgis_s"] is not None:
        run["ours_lengths_only_s"] = round(LENGTHS_ONLY["s"], 4)
        run["ratio_postgis_same_output"] = round(run["postgis_s"] / LENGTHS_ONLY["s"], 2)
    if run.get("parallel_s") and run["postgis_s"] is not None:
        run["ratio_postgis_parallel"] = round(run["postgis_s"] / run["parallel_s"], 2)

    # The old naive baseline (one union of all grids, no index): a footnote, not a main ratio.
    if not args.skip_naive:
        naive_s, extrapolated, naive = run_naive(reaches, grids, args.naive_limit, args.seed)
        naive_ok = ref is None or compare(f"naive vs {ref_label}", ref, naive)
        if not naive_ok:
            warnings.append("naive disagrees")
        run["naive_footnote"] = {
            "naive_s": round(naive_s, 2),
            "extrapolated": extrapolated,
            "ratio": ratio(naive_s),
            "load": _load(),
            "what": "difference against one union_all of all grids, no index (a strawman)",
        }

    run["agree"] = not warnings
    run["warnings"] = warnings
    log(f"  {'approach':<44}{'wall s':>10}{'CPU s':>10}{'load':>7}{'× ours':>9}")
    for label, key in (
        ("ours (check_coverage)", "ours"),
        ("shapely STRtree local union", "local_union"),
        ("shapely STRtree successive difference", "local_successive"),
        (f"postgis [{run.get('postgis_formulation', '-')}] (client CPU)", "postgis"),
        ("incremental update_grid", "incremental"),
    ):
        val = run[f"{key}_s"]
        if val is None:
            continue
        cpu = run.get(f"{key}_cpu_s", run.get(f"{key}_client_cpu_s"))
        r = ratio(val) if key != "incremental" else None
        log(
            f"  {label:<44}{val:>10.4f}{(f'{cpu:.4f}' if cpu is not None else '-'):>10}"
            f"{run.get(f'{key}_load', 0):>7.2f}{(f'{r:.2f}' if r is not None else '-'):>9}"
        )
    if "naive_footnote" in run:
        fn = run["naive_footnote"]
        log(
            f"  footnote: naive shapely {fn['naive_s']} s"
            f"{' (extrapolated)' if fn['extrapolated'] else ''}, × {fn['ratio']}"
        )
    for k in (
        "ours_s",
        "ours_cpu_s",
        "local_union_s",
        "local_union_cpu_s",
        "local_successive_s",
        "local_successive_cpu_s",
        "postgis_s",
        "postgis_client_cpu_s",
        "incremental_s",
    ):
        if run.get(k) is not None:
            run[k] = round(run[k], 4)
    log(json.dumps({"run": run}, ensure_ascii=False))
    return run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=["small", "county", "province", "province5", "both"], default="county")
    p.add_argument("--database-url", default=None)
    p.add_argument(
        "--naive-limit",
        type=int,
        default=None,
        metavar="N",
        help="time naive shapely on N random reaches and extrapolate linearly",
    )
    p.add_argument(
        "--pg-formulation",
        choices=[*PG_FORMULATIONS, "fastest", "all"],
        default=PG_DEFAULT,
        help=f"PostGIS SQL to time (default {PG_DEFAULT}: {' and '.join(_PG_FAST)}; 'all' adds the slower ones)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs of ours (median) and of update_grid (×2, median)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-ours", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-local-union", action="store_true")
    p.add_argument("--skip-postgis", action="store_true")
    p.add_argument("--skip-incremental", action="store_true")
    p.add_argument("--skip-parallel", action="store_true")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="dask workers of (a') (default: cores)")
    p.add_argument("--tile-km", type=float, default=25.0, help="tile side of (a'), km")
    p.add_argument("--scheduler", default=None, help="(a') on this dask scheduler instead of a LocalCluster")
    args = p.parse_args(argv)

    sizes = ["county", "province"] if args.size == "both" else [args.size]
    pg_url = None if args.skip_postgis else resolve_database_url(args.database_url)
    if pg_url is None and not args.skip_postgis:
        log("  no PostGIS available: skipping (c)")
    runs = [bench_size(size, args, pg_url) for size in sizes]
    final = {
        k: runs[-1][k]
        for k in (
            "size",
            "reaches",
            "grids",
            "ours_s",
            "ours_cpu_s",
            "local_union_s",
            "local_union_cpu_s",
            "local_successive_s",
            "local_successive_cpu_s",
            "postgis_s",
            "postgis_client_cpu_s",
            "ratio_local_union",
            "ratio_local_successive",
            "ratio_postgis",
            "incremental_s",
            "incremental_cpu_s",
        )
    }
    for k in (
        "tiled_s",
        "tiled_equal",
        "parallel_s",
        "parallel_cpu_s",
        "parallel_workers",
        "parallel_equal",
        "ratio_postgis_parallel",
        "ours_lengths_only_s",
        "ratio_postgis_same_output",
    ):
        final[k] = runs[-1].get(k)
    final["postgis_formulation"] = runs[-1].get("postgis_formulation")
    final["load"] = _load()
    final["naive_footnote"] = runs[-1].get("naive_footnote")
    final["agree"] = all(r["agree"] for r in runs)
    final["runs"] = runs
    print(json.dumps(final, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
